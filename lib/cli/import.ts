import { existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { targetOf } from "../../components/target";
import { importReasonFr } from "../i18n/import-catalog";
import { say, volunteerLang } from "../i18n/lang";
import { readImportMap } from "../import/map-file";
import { readHost, type HostImport, type ImportWhat, type ReadHostOptions } from "../import/read-host";
import { readOnlyRunner } from "../import/remote";
import { writeDataFiles, type WriteResult } from "../import/write-files";
import type { ImportNote } from "../import/zone-file";
import { onStackHosts } from "../lab/open-stack";
import { loadTree } from "../load/tree";
import { dbClientHost } from "../model/db-client";
import type { HostModel } from "../model/types";
import type { Host, Inventory, Role } from "../schema/inventory";
import { REPO_ROOT, UsageError } from "./args";
import type { Args, Io } from "./command";

const IMPORTABLE: readonly ImportWhat[] = ["zones", "sites", "accounts", "databases", "guests", "mail"];

/** The inventory (read from the stack file alone: the data may hold unreviewed imports) and its host named --host. */
function inventoryOf(root: string, stack: string, name: string): { inv: Inventory; host: HostModel } {
  const { tree, errors } = loadTree(root, stack);
  const inv = tree.inventory?.value;
  if (!inv) throw new UsageError(`the inventory of stack ${stack} cannot be read: ${errors.find((e) => e.file.startsWith("Pulumi."))?.message ?? `Pulumi.${stack}.yaml is missing`} (npm run validate -- --stack ${stack})`);
  const h = inv.hosts[name];
  if (!h) throw new UsageError(`no host ${name} in Pulumi.${stack}.yaml (its hosts: ${Object.keys(inv.hosts).sort().join(", ")})`);
  return { inv, host: { name, roles: h.roles, fqdn: h.fqdn, address: h.address, host: h } };
}

const ipv4Of = (h: Host) => h.ipv4 ?? (h.address.includes(":") ? undefined : h.address);
const ipv6Of = (h: Host) => h.ipv6 ?? (h.address.includes(":") ? h.address : undefined);

/** The facts of the inventory the readers need: the web addresses, the db client host, the hypervisor's. */
function hostFacts(inv: Inventory, host: HostModel): Pick<ReadHostOptions, "webAddresses" | "dbClientHost" | "guests"> {
  const h = host.host;
  const webs = Object.values(inv.hosts).filter((x) => x.roles.includes("web"));
  const web = h.roles.includes("web") ? h : webs[0];
  const client = web ? dbClientHost({ address: web.address, ipv4: ipv4Of(web), ipv6: ipv6Of(web) }, { address: h.address }) : undefined;
  const lv = h.libvirt;
  return {
    webAddresses: { ipv4: ipv4Of(h), ipv6: ipv6Of(h) },
    ...(client ? { dbClientHost: client } : {}),
    ...(lv
      ? {
          guests: {
            hypervisor: host.name,
            imagesDir: lv.images_dir,
            network: lv.network.type === "bridge" ? { type: "bridge" as const, bridge: lv.network.bridge } : { type: "user" as const },
            ...(lv.domain_type !== "auto" ? { domainType: lv.domain_type } : {}),
            images: Object.fromEntries(Object.entries(inv.images).map(([k, v]) => [k, v.path])),
            macPrefix: inv.mac_prefix,
          },
        }
      : {}),
  };
}

/** Each zone of the data and its owner (zones that do not load are left out). */
function zoneOwners(root: string, stack: string): Map<string, string> {
  return new Map([...loadTree(root, stack).tree.zones].map(([name, z]) => [name, z.value.owner]));
}

/** The member folders already in the data root. */
function knownMembers(root: string): string[] {
  const dir = join(root, "members");
  return existsSync(dir) ? readdirSync(dir).filter((d) => existsSync(join(dir, d, "member.yaml"))) : [];
}

/** What `all` reads on a host, by its roles: zones (dns-primary), sites and accounts (web), databases (db), guests (hypervisor), mail (mail). */
export function allFor(host: Pick<HostModel, "roles">): ImportWhat[] {
  const role: Record<ImportWhat, Role> = { zones: "dns-primary", sites: "web", accounts: "web", databases: "db", guests: "hypervisor", mail: "mail" };
  return IMPORTABLE.filter((w) => host.roles.includes(role[w]));
}

function noteLines(title: { en: string; fr: string }, notes: readonly ImportNote[]): string[] {
  if (notes.length === 0) return [];
  const fr = volunteerLang() === "fr";
  return [say(title), ...notes.map((n) => `  ${n.where}  ${n.record}\n      ${(fr && importReasonFr(n.why)) || n.why}`)];
}

/** The summary a volunteer reads: what was written, what was guessed, what could not be expressed. */
export function importSummary(host: string, res: HostImport, w: WriteResult, out: string): string {
  const todos = w.written.reduce((n, f) => n + f.todos, 0);
  const lines = [
    say({ en: `npm run import: ${w.written.length} file(s) written under ${out}, ${todos} guess(es) marked TODO(import)`, fr: `npm run import : ${w.written.length} fichier(s) écrit(s) dans ${out}, ${todos} supposition(s) marquée(s) TODO(import)` }),
    ...w.written.map((f) => `  ${say({ en: "wrote", fr: "écrit" })} ${f.path}${f.todos ? ` (${f.todos} TODO(import))` : ""}`),
    ...w.kept.map((f) => `  ${say({ en: "kept (already there; --force replaces it)", fr: "gardé (existe déjà ; --force le remplace)" })} ${f.path}`),
    ...noteLines({ en: `Could not be expressed or mapped (${res.notes.length}), not written:`, fr: `Impossible à exprimer ou à attribuer (${res.notes.length}), non écrit :` }, res.notes),
    ...noteLines({ en: `Left out on purpose (${res.derived.length}): derived by the stack or not this host's to import:`, fr: `Laissé de côté exprès (${res.derived.length}) : dérivé par la pile ou pas à importer depuis cette machine :` }, res.derived),
    ...(res.toAdd.length
      ? [
          say({ en: `To add to member files this run did not write (review, then paste; validate refuses the TODO(import) marks):`, fr: `À ajouter aux fichiers d'adhérents que cet import n'a pas écrits (relire, puis coller ; validate refuse les marques TODO(import)) :` }),
          ...res.toAdd.flatMap((f) => [`  ${f.path}:`, ...f.text.trimEnd().split("\n").map((l) => `    ${l}`)]),
        ]
      : []),
    ...(res.kept.length ? [say({ en: `Stays on ${host} as it is:`, fr: `Reste tel quel sur ${host} :` }), ...res.kept.map((k) => `  ${k}`)] : []),
    say({
      en: "next: review each file, check and remove every TODO(import) comment (npm run validate refuses them until then), then commit",
      fr: "ensuite : relisez chaque fichier, vérifiez puis supprimez chaque commentaire TODO(import) (npm run validate les refuse jusque-là), puis commitez",
    }),
  ];
  return lines.join("\n");
}

/** npm run import (table entry and help: lib/cli/commands.ts). */
export async function runImport(a: Args, io: Io): Promise<number> {
  const [what, extra] = a.positionals;
  const choices = [...IMPORTABLE, "all"];
  if (!what || !choices.includes(what)) throw new UsageError(`say what to import: ${choices.join(", ")} (got ${what ?? "nothing"})`);
  if (extra) throw new UsageError(`npm run import takes one thing to import, not "${extra}"`);
  const hostName = a.str("host");
  if (!hostName) throw new UsageError("name the host to read: --host <inventory host>");
  const root = resolve(a.str("root") ?? REPO_ROOT);
  const stack = a.str("stack") ?? "lab";
  const out = resolve(a.str("out") ?? root);
  const map = readImportMap(a.str("map"));
  const { inv, host } = inventoryOf(root, stack, hostName);
  if (what === "guests" && !host.host.libvirt) throw new UsageError(`host ${hostName} is not a hypervisor in Pulumi.${stack}.yaml: guests are read on a host with the hypervisor role`);
  const set = new Set<ImportWhat>(what === "all" ? allFor(host) : [what as ImportWhat]);
  if (set.size === 0) throw new UsageError(`host ${hostName} has none of the roles web, db, dns-primary, hypervisor or mail in Pulumi.${stack}.yaml: nothing for all to import (name what to read)`);
  const res = await onStackHosts(root, stack, () => readHost(readOnlyRunner(targetOf(host, root)), { host: hostName, what: set, map, webHost: host.roles.includes("web"), knownMembers: knownMembers(root), zoneOwners: zoneOwners(root, stack), ...hostFacts(inv, host) }));
  const w = writeDataFiles(out, res.files, a.flag("force"));
  io.out(importSummary(hostName, res, w, out));
  return 0;
}
