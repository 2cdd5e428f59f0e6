/**
 * One live host read through the import's allowlist (lib/import/remote.ts) and turned into
 * data files: zones from the running BIND, sites from the running Apache, members from the
 * login accounts. Reads only; what it could not express or map is returned as notes, each
 * naming the host's file and line.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ImportMap } from "../schema/import-map";
import { parseAccountDetails, parseAccounts, type AccountDetails, type UnixAccount } from "./accounts";
import { parseApacheS } from "./apache-config";
import { DEBIAN_DEFAULT_ZONES, servedZones } from "./bind-config";
import { handleOf, importMembers, memberAccounts } from "./members";
import { framed, type ReadOnlyRun } from "./remote";
import { docrootsOf, importSites, type LiveSite } from "./sites";
import { importZoneFile, type DerivedRecord, type ImportNote } from "./zone-file";

export type ImportWhat = "zones" | "sites" | "accounts";

export interface DataFile {
  /** Repository-relative path. */
  path: string;
  text: string;
  /** How many TODO(import) comments it carries. */
  todos: number;
}

export interface HostImport {
  files: DataFile[];
  /** Could not be expressed or mapped: reported, not written. */
  notes: ImportNote[];
  /** Left out on purpose (derived records, Debian's default zones, secondaries). */
  derived: ImportNote[];
  /** What stays on the host as it is (DNSSEC keys, crontabs): the adoption keeps it. */
  kept: string[];
}

export interface ReadHostOptions {
  host: string;
  what: ReadonlySet<ImportWhat>;
  map: ImportMap;
  /** The host has the web role in the stack (members' web_host is written then). */
  webHost: boolean;
  /** The web host's addresses in the inventory: the A/AAAA the stack derives for its sites' names. */
  webAddresses?: { ipv4?: string; ipv6?: string };
}

async function readSites(run: ReadOnlyRun, o: ReadHostOptions, members: UnixAccount[]): Promise<{ sites: LiveSite[]; notes: ImportNote[] }> {
  const [listing = ""] = (await run("apache-config")).split("\0");
  const vhosts = parseApacheS(listing);
  if (vhosts.length === 0) return { sites: [], notes: [{ where: `${o.host}:apache2ctl -S`, record: listing.split("\n")[0]?.slice(0, 120) ?? "", why: "apache2ctl -S lists no virtual host" }] };
  const vhostFiles = [...new Set(vhosts.map((v) => v.file))].sort();
  const files = new Map(framed(await run("config-files", vhostFiles)).map((p) => [p.name, p.text]));
  const poolFiles = new Map(framed(await run("fpm-pools")).map((p) => [p.name, p.text]));
  const docroots = docrootsOf(vhosts, files);
  const owners = new Map<string, string>();
  if (docroots.length) {
    for (const l of (await run("path-owners", docroots)).split("\n")) {
      const [p, u] = l.split("\t");
      if (p && u) owners.set(p, u);
    }
  }
  const users = new Set(members.map((a) => a.user));
  const userOfHandle = (h: string) => members.find((a) => handleOf(o.map, a.user) === h)?.user ?? h;
  const siteOwners = new Map(Object.entries(o.map.sites).map(([site, m]) => [site, userOfHandle(m.member)]));
  return importSites({ host: o.host, vhosts, files, poolFiles, owners, members: users, siteOwners, handleOf: (u) => handleOf(o.map, u) });
}

async function readZones(run: ReadOnlyRun, o: ReadHostOptions, sites: readonly LiveSite[], out: HostImport): Promise<void> {
  const conf = servedZones(await run("bind-config"));
  const tmp = mkdtempSync(join(tmpdir(), "gn-import-zones-"));
  try {
    for (const z of conf.zones) {
      const where = `${o.host}:named-checkconf -p`;
      if (DEBIAN_DEFAULT_ZONES.has(z.name)) {
        out.derived.push({ where, record: `zone ${z.name}`, why: "one of Debian's default zones (named.conf.default-zones): served by bind9 itself" });
        continue;
      }
      if (z.type !== "primary") {
        out.derived.push({ where, record: `zone ${z.name} (${z.type})`, why: "not a primary zone on this host: import it from its primary" });
        continue;
      }
      if (!z.file) {
        out.notes.push({ where, record: `zone ${z.name}`, why: "a primary zone without a file: not imported" });
        continue;
      }
      let text: string;
      try {
        text = await run("zone-file", [z.file]);
      } catch (e) {
        out.notes.push({ where: `${o.host}:${z.file}`, record: `zone ${z.name}`, why: `the zone file could not be read as bind: ${(e as Error).message.split("\n").slice(-1)[0]}` });
        continue;
      }
      if (z.dynamic) out.notes.push({ where: `${o.host}:${z.file}`, record: `zone ${z.name}`, why: "dynamic updates are allowed: BIND's journal may hold changes the file does not (run rndc sync on the host, then import again)" });
      const local = join(tmp, `${z.name}.zone`);
      writeFileSync(local, text, { mode: 0o600 });
      const mapped = o.map.zones[z.name]?.owner;
      

      const inZone = (n: string) => n === z.name || n.endsWith(`.${z.name}`);
      const siteNames = sites.flatMap((s) => [s.host, ...s.aliases, ...s.redirects]).filter(inZone);
      const rel = (n: string) => (n === z.name ? "@" : n.slice(0, -z.name.length - 1));
      const why = (n: string) => `site ${sites.find((s) => [s.host, ...s.aliases, ...s.redirects].includes(n))?.host} (imported with it)`;
      const derivedByModel = o.what.has("sites")
        ? siteNames.flatMap((n): DerivedRecord[] => [
            ...(o.webAddresses?.ipv4 ? [{ name: rel(n), type: "A" as const, value: o.webAddresses.ipv4, why: why(n) }] : []),
            ...(o.webAddresses?.ipv6 ? [{ name: rel(n), type: "AAAA" as const, value: o.webAddresses.ipv6, why: why(n) }] : []),
          ])
        : undefined;
      const site = sites.find((s) => [s.host, ...s.aliases, ...s.redirects].some(inZone));
      const guess = !mapped && site ? handleOf(o.map, site.owner) : undefined;
      const r = importZoneFile(z.name, local, `${o.host}:${z.file}`, {
        ...(derivedByModel ? { derivedByModel, siteNames } : {}),
        ...(mapped ? { owner: mapped } : guess ? { owner: guess, ownerGuess: `${guess} serves the site ${site?.host} in this zone` } : {}),
        ...(z.signing ? { signedOnHost: z.signing } : {}),
      });
      if ("error" in r) {
        out.notes.push({ where: `${o.host}:${z.file}`, record: `zone ${z.name}`, why: r.error.replace(local, z.file) });
        continue;
      }
      out.files.push({ path: `zones/${z.name}.yaml`, text: r.yaml, todos: r.todos });
      out.derived.push(...r.derived);
      out.notes.push(...r.unexpressible);
      if (z.signing) out.kept.push(`zone ${z.name}: its DNSSEC keys stay in ${conf.keyDirectory ?? conf.directory} on ${o.host} (${z.signing}); adopting the zone keeps them, git never holds them`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Reads what `o.what` names on the host through `run` and returns the data files and the report. */
export async function readHost(run: ReadOnlyRun, o: ReadHostOptions): Promise<HostImport> {
  const out: HostImport = { files: [], notes: [], derived: [], kept: [] };
  let sites: LiveSite[] = [];
  if (o.what.has("sites") || o.what.has("accounts")) {
    const { accounts } = parseAccounts(await run("accounts"));
    const members = memberAccounts(o.map, accounts);
    if (o.what.has("sites")) {
      const s = await readSites(run, o, members);
      sites = s.sites;
      out.notes.push(...s.notes);
    }
    const details = new Map<string, AccountDetails>();
    if (o.what.has("accounts")) {
      for (const a of members) details.set(a.user, parseAccountDetails(await run("account-details", [a.user])));
      for (const [user, d] of details) if (d.cron.length) out.kept.push(`account ${user}: its crontab (${d.cron.length} line(s)) stays on ${o.host}, as the member's own`);
    }
    const chosen = o.what.has("accounts") ? members : members.filter((a) => sites.some((s) => s.owner === a.user));
    const m = importMembers({ host: o.host, accounts: chosen, details, sites, map: o.map, webHost: o.webHost });
    out.files.push(...m.files.map((f) => ({ path: f.path, text: f.yaml, todos: f.todos })));
    out.notes.push(...m.notes);
  }
  if (o.what.has("zones")) await readZones(run, o, sites, out);
  return out;
}
