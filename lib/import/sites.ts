/**
 * A live Apache's virtual hosts turned into members' sites: names, aliases, redirects, PHP
 * version (FPM socket → pool → version and user), TLS, document root, and the unix user who
 * owns each (the pool's user, else the document root's owner, unless the mapping file says).
 * Pure: everything read from the host comes in as values.
 */
import { paths } from "../model/paths";
import { hostnameProblem } from "../schema/names";
import { parseFpmPools, vhostBlock, vhostFacts, type FpmPool, type ListedVhost, type VhostFacts } from "./apache-config";
import type { ImportNote } from "./zone-file";

export interface LiveSite {
  host: string;
  aliases: string[];
  redirects: string[];
  /** "none" or "8.2". */
  php: string;
  tls: "acme" | "none";
  /** Sub-folder of the stack's htdocs, when the live document root is one. */
  webroot?: string;
  /** The unix user the site belongs to. */
  owner: string;
  /** "<file>:<line>" of its main vhost. */
  where: string;
  /** Guesses for a volunteer to check: each becomes a TODO(import) comment. */
  todos: string[];
}

export interface SitesInput {
  host: string;
  vhosts: readonly ListedVhost[];
  /** Text of the vhost files, by path. */
  files: ReadonlyMap<string, string>;
  /** pool.d files: path → text. */
  poolFiles: ReadonlyMap<string, string>;
  /** Document root → its owner ("?" when missing). */
  owners: ReadonlyMap<string, string>;
  /** The unix users that are members (login accounts of the host, not ignored). */
  members: ReadonlySet<string>;
  /** Mapping file: site name → unix user or handle that owns it (already resolved to a unix user). */
  siteOwners: ReadonlyMap<string, string>;
  /** The member's handle for a unix user (for the stack's document root path). */
  handleOf: (user: string) => string;
}

export interface SitesImport {
  sites: LiveSite[];
  /** What the import could not express or map: reported, never dropped silently. */
  notes: ImportNote[];
}

interface Group {
  host: string;
  names: Set<string>;
  facts: VhostFacts[];
  where: string;
  https: boolean;
}

const at = (v: ListedVhost, line = v.line) => `${v.file}:${line}`;

/** The document roots whose owner is needed (sites without a PHP pool, and to check the others). */
export function docrootsOf(vhosts: readonly ListedVhost[], files: ReadonlyMap<string, string>): string[] {
  const out = new Set<string>();
  for (const v of vhosts) {
    const b = vhostBlock(files.get(v.file) ?? "", v.line);
    const d = b && vhostFacts(b.directives).docroot;
    if (d) out.add(d);
  }
  return [...out].sort();
}

export function importSites(input: SitesInput): SitesImport {
  const notes: ImportNote[] = [];
  const note = (where: string, record: string, why: string) => notes.push({ where: `${input.host}:${where}`, record, why });
  const pools: FpmPool[] = [...input.poolFiles].flatMap(([f, t]) => parseFpmPools(f, t));
  const groups = new Map<string, Group>();
  const upgrades = new Set<string>();
  const redirects: Array<{ to: string; names: string[]; where: string }> = [];

  for (const v of input.vhosts) {
    const block = vhostBlock(input.files.get(v.file) ?? "", v.line);
    if (!block) {
      note(at(v), `vhost ${v.name}:${v.port}`, "its <VirtualHost> block could not be read from the file apache2ctl -S names (not imported)");
      continue;
    }
    const f = vhostFacts(block.directives);
    const host = f.serverName ?? v.name;
    const names = [host, ...v.aliases, ...f.aliases];
    for (const u of f.unexpressed) note(`${v.file}:${u.line}`, u.text, `vhost ${host}: the site schema has no field for this directive (it is not carried over: check the site works without it, or ask for the feature)`);
    if (f.redirectTo) {
      redirects.push({ to: f.redirectTo, names, where: at(v) });
      continue;
    }
    if (f.toHttps && !f.docroot) {
      for (const n of names) upgrades.add(n);
      continue;
    }
    const g = groups.get(host) ?? { host, names: new Set<string>(), facts: [], where: at(v), https: false };
    for (const n of names) g.names.add(n);
    g.facts.push(f);
    if (f.ssl) {
      g.https = true;
      g.where = at(v);
    }
    if (f.toHttps) for (const n of names) upgrades.add(n);
    groups.set(host, g);
  }

  const sites: LiveSite[] = [];
  const byDocroot = new Map<string, string[]>();
  for (const g of groups.values()) {
    const todos: string[] = [];
    if (hostnameProblem(g.host)) {
      note(g.where, g.host, `the site's name is refused by the schema (${hostnameProblem(g.host)}): site not imported (Debian's 000-default has no ServerName: that is expected)`);
      continue;
    }
    for (const n of [...g.names].filter((x) => hostnameProblem(x))) note(g.where, n, `a name of site ${g.host} the schema refuses (${hostnameProblem(n)}): left out`);
    const names = [...g.names].filter((n) => !hostnameProblem(n));
    const docroots = [...new Set(g.facts.map((f) => f.docroot).filter((d): d is string => !!d))];
    const sockets = [...new Set(g.facts.map((f) => f.fpmSocket).filter((s): s is string => !!s))];
    if (docroots.length > 1) todos.push(`the http and https vhosts serve different folders (${docroots.join(", ")}): the stack serves one`);
    const docroot = docroots[0];
    const pool = sockets[0] ? pools.find((p) => p.listen === sockets[0]) : undefined;
    if (sockets[0] && !pool) note(g.where, sockets[0], `site ${g.host}: no PHP-FPM pool listens on this socket; written without PHP`);
    const docOwner = docroot ? input.owners.get(docroot) : undefined;
    const mapped = input.siteOwners.get(g.host);
    const owner = mapped ?? pool?.user ?? (docOwner && docOwner !== "?" ? docOwner : undefined);
    if (!mapped && pool?.user && docOwner && docOwner !== "?" && docOwner !== pool.user) {
      todos.push(`PHP runs as ${pool.user} but ${docroot} belongs to ${docOwner}: written under ${pool.user}`);
    }
    if (!owner || !input.members.has(owner)) {
      note(g.where, `site ${g.host}`, `cannot map it to a member: ${owner ? `its owner ${owner} is not a member's login account` : "no PHP pool user and no document root owner"} (say who owns it in the map file: sites: { ${g.host}: { member: <handle> } })`);
      continue;
    }
    if (docroot) byDocroot.set(docroot, [...(byDocroot.get(docroot) ?? []), `${owner} (${g.host}, ${g.where})`]);
    const expected = paths.docroot(input.handleOf(owner), g.host);
    let webroot: string | undefined;
    if (docroot && docroot.startsWith(`${expected}/`)) webroot = docroot.slice(expected.length + 1);
    else if (docroot && docroot !== expected) todos.push(`the files are in ${docroot}; the stack serves ${expected}: move them there when adopting`);
    const tls: "acme" | "none" = g.https ? "acme" : "none";
    if (!g.https) todos.push("the live site has no HTTPS vhost: tls: none kept; remove tls and tls_none_reason to get a certificate");
    const certs = g.facts.map((f) => f.certFile).filter((c): c is string => !!c && !/letsencrypt|\/md\//.test(c));
    if (certs[0]) todos.push(`the live certificate is ${certs[0]} (not from ACME): the stack will get one from the ACME CA`);
    sites.push({
      host: g.host,
      aliases: names.filter((n) => n !== g.host).sort(),
      redirects: [],
      php: pool ? pool.version : "none",
      tls,
      ...(webroot ? { webroot } : {}),
      owner,
      where: g.where,
      todos,
    });
  }
  for (const [docroot, claims] of byDocroot) {
    const users = new Set(claims.map((c) => c.split(" ")[0]));
    if (users.size > 1) note(claims[0]?.replace(/^.*\(.*?, (.*)\)$/, "$1") ?? "", docroot, `two accounts claim this document root: ${claims.join(" and ")} (each site keeps its own folder in the stack: decide whose files these are)`);
  }
  for (const r of redirects) {
    const site = sites.find((s) => s.host === r.to || s.aliases.includes(r.to));
    if (!site) {
      note(r.where, r.names.join(" "), `redirects to ${r.to}, which no imported site serves (not imported)`);
      continue;
    }
    for (const n of r.names) if (!hostnameProblem(n) && n !== site.host && !site.aliases.includes(n) && !site.redirects.includes(n)) site.redirects.push(n);
    site.redirects.sort();
  }
  for (const n of upgrades) if (!sites.some((s) => s.host === n || s.aliases.includes(n) || s.redirects.includes(n))) note("-", n, "an http vhost sends this name to https, but no https site serves it (not imported)");
  return { sites: sites.sort((a, b) => a.host.localeCompare(b.host)), notes };
}
