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
import { databasesYaml, importDatabases, readMariaDB, type DatabaseEntry } from "./databases";
import { importGuests, readGuests, type GuestImportOptions } from "./guests";
import { importMail, mailYaml, parseMailRead } from "./mail";
import { asRunScript, framed, type ReadOnlyRun } from "./remote";
import { docrootsOf, importSites, type LiveSite } from "./sites";
import { importZoneFile, type DerivedRecord, type ImportNote } from "./zone-file";

export type ImportWhat = "zones" | "sites" | "accounts" | "databases" | "guests" | "mail";

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
  /** What stays on the host as it is (DNSSEC keys, crontabs, database passwords): the adoption keeps it. */
  kept: string[];
  /** Blocks for member files this run did not write (a db host's databases): to paste after review. */
  toAdd: DataFile[];
}

export interface ReadHostOptions {
  host: string;
  what: ReadonlySet<ImportWhat>;
  map: ImportMap;
  /** The host has the web role in the stack (members' web_host is written then). */
  webHost: boolean;
  /** The web host's addresses in the inventory: the A/AAAA the stack derives for its sites' names. */
  webAddresses?: { ipv4?: string; ipv6?: string };
  /** Members already in the repository: owners of databases and guests are guessed among them too. */
  knownMembers?: readonly string[];
  /** For databases: the host part the model gives members' accounts (lib/model/db-client.ts). */
  dbClientHost?: string;
  /** For guests: this hypervisor's facts from the inventory. */
  guests?: Omit<GuestImportOptions, "mapping" | "members">;
  /** For mail: each zone of the data and its owner (a mail domain goes to its zone's owner). */
  zoneOwners?: ReadonlyMap<string, string>;
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

async function readDatabases(run: ReadOnlyRun, o: ReadHostOptions, members: readonly string[], out: HostImport): Promise<Map<string, DatabaseEntry[]>> {
  const live = await readMariaDB(asRunScript(run));
  const pick = (r: Readonly<Record<string, { member: string }>>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.member]));
  const r = importDatabases(live, { host: o.host, clientHost: o.dbClientHost ?? "localhost", mapping: { databases: pick(o.map.databases), prefixes: pick(o.map.database_prefixes) }, members });
  const where = `${o.host}:mariadb`;
  out.notes.push(...[...r.refused, ...r.unexpressible].map((n) => ({ where, record: n.what, why: n.why })));
  out.derived.push(...r.leftOut.map((n) => ({ where, record: n.what, why: n.why })));
  out.kept.push(...r.keepPassword.map((k) => `database ${k.database}: its account ${k.account} keeps its live password (the adoption reads it into the state as a secret; never into git)`));
  return r.byMember;
}

async function readGuestsInto(run: ReadOnlyRun, o: ReadHostOptions, members: readonly string[], out: HostImport): Promise<void> {
  if (!o.guests) throw new Error(`${o.host} is not a hypervisor of the inventory (no libvirt facts): guests cannot be imported from it`);
  const g = importGuests(await readGuests(asRunScript(run)), { ...o.guests, mapping: { domains: o.map.domains }, members });
  out.files.push(...g.vps.map((v) => ({ path: v.file, text: v.yaml, todos: v.todos.length })));
  out.notes.push(...[...g.refused, ...g.unexpressible].map((n) => ({ where: `${o.host}:domain ${n.domain}`, record: n.element, why: n.why })));
}

/** Reads what `o.what` names on the host through `run` and returns the data files and the report. */
export async function readHost(run: ReadOnlyRun, o: ReadHostOptions): Promise<HostImport> {
  const out: HostImport = { files: [], notes: [], derived: [], kept: [], toAdd: [] };
  let sites: LiveSite[] = [];
  const readsAccounts = o.what.has("sites") || o.what.has("accounts");
  const members = readsAccounts ? memberAccounts(o.map, parseAccounts(await run("accounts")).accounts) : [];
  const known = [...new Set([...(o.knownMembers ?? []), ...members.map((a) => handleOf(o.map, a.user))])].sort();
  const dbs = o.what.has("databases") ? await readDatabases(run, o, known, out) : undefined;
  if (o.what.has("guests")) await readGuestsInto(run, o, known, out);
  if (readsAccounts) {
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
    const m = importMembers({ host: o.host, accounts: chosen, details, sites, map: o.map, webHost: o.webHost, ...(dbs ? { databases: { byMember: dbs, dbHost: o.host } } : {}) });
    out.files.push(...m.files.map((f) => ({ path: f.path, text: f.yaml, todos: f.todos })));
    out.notes.push(...m.notes);
  }
  // Databases of members whose file this run did not write: their block, to add after review.
  const written = new Set(out.files.map((f) => f.path));
  for (const [handle, entries] of dbs ?? []) {
    const path = `members/${handle}/member.yaml`;
    if (!written.has(path)) out.toAdd.push({ path, text: `db_host: ${o.host}\n${databasesYaml(entries)}`, todos: entries.reduce((n, e) => n + e.todos.length, 0) });
  }
  if (o.what.has("zones")) await readZones(run, o, sites, out);
  if (o.what.has("mail")) {
    const m = importMail(parseMailRead(await run("mail-read")), { host: o.host, zoneOwners: o.zoneOwners ?? new Map() });
    out.notes.push(...m.notes);
    out.derived.push(...m.derived);
    for (const [handle, domains] of m.byMember) {
      const y = mailYaml(domains);
      out.toAdd.push({ path: `members/${handle}/member.yaml`, text: y.text, todos: y.todos });
    }
  }
  return out;
}
