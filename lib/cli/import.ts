import { resolve } from "node:path";
import { targetOf } from "../../components/target";
import { say, volunteerLang } from "../i18n/lang";
import { readImportMap } from "../import/map-file";
import { readHost, type HostImport, type ImportWhat } from "../import/read-host";
import { readOnlyRunner } from "../import/remote";
import { writeDataFiles, type WriteResult } from "../import/write-files";
import type { ImportNote } from "../import/zone-file";
import { onStackHosts } from "../lab/open-stack";
import { loadTree } from "../load/tree";
import type { HostModel } from "../model/types";
import { REPO_ROOT, UsageError } from "./args";
import type { Args, Io } from "./command";

/**
 * What the other importers will add: lib/import/databases.ts (MariaDB databases, users and
 * grants) and lib/import/guests.ts (libvirt domains) are pure parsers written beside this
 * command; wiring them is adding their read step to lib/import/read-host.ts (through the same
 * ReadOnlyRun) and their name here to IMPORTABLE.
 */
const NOT_YET = ["databases", "guests"] as const;
const IMPORTABLE: readonly ImportWhat[] = ["zones", "sites", "accounts"];

/** The inventory host named --host, read from the stack file alone (the data may hold unreviewed imports). */
function inventoryHost(root: string, stack: string, name: string): HostModel {
  const { tree, errors } = loadTree(root, stack);
  const inv = tree.inventory?.value;
  if (!inv) throw new UsageError(`the inventory of stack ${stack} cannot be read: ${errors.find((e) => e.file.startsWith("Pulumi."))?.message ?? `Pulumi.${stack}.yaml is missing`} (npm run validate -- --stack ${stack})`);
  const h = inv.hosts[name];
  if (!h) throw new UsageError(`no host ${name} in Pulumi.${stack}.yaml (its hosts: ${Object.keys(inv.hosts).sort().join(", ")})`);
  return { name, roles: h.roles, fqdn: h.fqdn, address: h.address, host: h };
}

/** What `all` reads on a host: sites and accounts on a web host, zones on a primary name server. */
export function allFor(host: Pick<HostModel, "roles">): ImportWhat[] {
  return IMPORTABLE.filter((w) => (w === "zones" ? host.roles.includes("dns-primary") : host.roles.includes("web")));
}

function noteLines(title: { en: string; fr: string }, notes: readonly ImportNote[]): string[] {
  if (notes.length === 0) return [];
  return [say(title), ...notes.map((n) => `  ${n.where}  ${n.record}\n      ${n.why}`)];
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
  const choices = [...IMPORTABLE, "all", ...NOT_YET];
  if (!what || !choices.includes(what)) throw new UsageError(`say what to import: ${choices.join(", ")} (got ${what ?? "nothing"})`);
  if (extra) throw new UsageError(`npm run import takes one thing to import, not "${extra}"`);
  const hostName = a.str("host");
  if (!hostName) throw new UsageError("name the host to read: --host <inventory host>");
  if ((NOT_YET as readonly string[]).includes(what)) {
    io.out(say({ en: `npm run import -- ${what}: not yet (its reader is being written: lib/import/${what}.ts); nothing was read`, fr: `npm run import -- ${what} : pas encore (sa lecture est en cours d'écriture : lib/import/${what}.ts) ; rien n'a été lu` }));
    return 0;
  }
  const root = resolve(a.str("root") ?? REPO_ROOT);
  const stack = a.str("stack") ?? "lab";
  const out = resolve(a.str("out") ?? root);
  const map = readImportMap(a.str("map"));
  const host = inventoryHost(root, stack, hostName);
  const set = new Set<ImportWhat>(what === "all" ? allFor(host) : [what as ImportWhat]);
  if (set.size === 0) throw new UsageError(`host ${hostName} has neither the web nor the dns-primary role in Pulumi.${stack}.yaml: nothing for all to import (name zones, sites or accounts to read them anyway)`);
  const res = await onStackHosts(root, stack, () => readHost(readOnlyRunner(targetOf(host, root)), { host: hostName, what: set, map, webHost: host.roles.includes("web"), webAddresses: { ipv4: host.host.ipv4 ?? (host.address.includes(":") ? undefined : host.address), ipv6: host.host.ipv6 ?? (host.address.includes(":") ? host.address : undefined) } }));
  const w = writeDataFiles(out, res.files, a.flag("force"));
  io.out(importSummary(hostName, res, w, out));
  if (what === "all") io.out(say({ en: `(databases and guests: not yet imported by npm run import)`, fr: `(bases de données et invités : pas encore importés par npm run import)` }, volunteerLang()));
  return 0;
}
