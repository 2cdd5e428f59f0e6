import { isAbsolute, join } from "node:path/posix";
import { parseNamedConfStatements, type NamedConfStatement } from "../../lib/model/named-conf";
import { nextSerial, serialAfter, todaySerial } from "./file-set-serials";

/**
 * The takeover steps of an adoption (docs/architecture.md, "Adoption: taking over hand-made
 * definitions"), pure. A host configured by hand defines the zones and sites Globenet now
 * manages: BIND refuses a zone defined twice, and Apache answers a name with the first vhost
 * that has it. When an apache2 or bind-primary FileSet is adopted with `takeover` (the names it
 * takes over; only `npm run up -- --adopt` sets it), its update disables the hand-made
 * definitions of those names in the same checked reload that brings Globenet's in:
 * - BIND: each hand-made `zone "<name>"` statement of /etc/bind/named.conf* is commented out
 *   (the original file kept as a backup), the whole configuration checked with
 *   named-checkconf -z, the zone's DNSSEC keys copied into Globenet's key directory (never
 *   made anew), its serial carried past the one served;
 * - Apache: the sites-enabled entry of each hand-made vhost of those names is moved to a
 *   backup folder (a2dissite's effect, the file in sites-available untouched), the whole
 *   configuration checked with apache2ctl -t, one graceful reload;
 * - PHP-FPM: a hand-made pool file of pool.d defining a pool of Globenet's name (`[<handle>]`;
 *   FPM would silently merge the two sections into one pool) is moved to a backup folder, the
 *   whole configuration as it will be checked with php-fpm -t, one graceful reload (USR2).
 * This module decides what to disable from what the host shows; provider/scripts/file-set/file-set.sh does it.
 */

export type TakeoverKind = "apache2" | "bind-primary" | "bind-secondary" | "php-fpm";

/** A zone or site name as a takeover names it: lowercase DNS name characters only. */
export const TAKEOVER_NAME = /^(?=.{1,253}$)[a-z0-9_*]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/;

/**
 * The names a set takes over: its zones (bind-primary: its zone files; bind-secondary: the zone
 * statements of its named.conf.globenet), its pools (php-fpm), or every ServerName and
 * ServerAlias of its vhosts (apache2).
 */
export function takeoverNames(kind: TakeoverKind, files: Record<string, string>): string[] {
  const names = new Set<string>();
  for (const [path, content] of Object.entries(files)) {
    if (kind === "bind-secondary") {
      if (path === "named.conf.globenet") for (const s of parseNamedConfStatements(content)) if (s.words[0] === "zone" && s.words[1]) names.add(zoneName(s.words[1]));
    } else if (kind === "bind-primary") {
      const m = /^zones\/(.+)\.zone$/.exec(path);
      if (m) names.add((m[1] as string).toLowerCase());
    } else if (kind === "php-fpm") {
      if (/^pool\.d\/[^/]+\.conf$/.test(path)) for (const sec of fpmSections(content)) names.add(sec.name.toLowerCase());
    } else if (/^sites-available\/[^/]+\.conf$/.test(path)) {
      for (const m of content.matchAll(/^\s*Server(?:Name|Alias)\s+([^\n#]+)/gim)) for (const n of (m[1] as string).trim().split(/\s+/)) names.add(n.toLowerCase().replace(/:\d+$/, ""));
    }
  }
  return [...names].filter((n) => TAKEOVER_NAME.test(n)).sort();
}

/** Prefix of the lines a takeover comments out of a hand-made named.conf file. */
export const BIND_TAKEOVER_MARK = "// globenet takeover: ";

export interface BindTakeoverZone {
  name: string;
  /** The file and line of the hand-made statement. */
  where: string;
  /** Where BIND keeps this zone's DNSSEC keys on the host (key-directory, else the options' directory). */
  keyDirectory: string;
  /** The statement's type, said the new way (primary, secondary, …). */
  type: string;
  /** The zone's file on the host, absolute (relative names are under the options' directory); none for a zone kept in memory only. */
  file?: string;
  /** The file's format: masterfile-format, else BIND's default for the type (raw for a secondary's copy, text otherwise). */
  format: "text" | "raw";
}

export interface BindTakeoverPlan {
  /** Path → the file's new content (the hand-made statements commented out). */
  edits: Record<string, string>;
  zones: BindTakeoverZone[];
  /** Why it cannot be done, naming the file and line; nothing is applied while one stands. */
  problems: string[];
}

const zoneName = (w: string | undefined) => (w ?? "").toLowerCase().replace(/(.)\.$/, "$1");
const valueOf = (block: readonly NamedConfStatement[] | undefined, key: string) => block?.find((s) => s.words[0] === key)?.words[1];
/** The old names of zone types (named.conf still accepts them). */
const ZONE_TYPES: Record<string, string> = { master: "primary", slave: "secondary" };
const lineAt = (text: string, offset: number) => text.slice(0, offset).split("\n").length;

/**
 * What a BIND takeover changes: `files` are the host's /etc/bind/named.conf* (path → content),
 * `names` the zones the set takes over. A statement is commented out line by line, so it must
 * have its lines to itself; a zone inside a `view` is refused (the stack has no views).
 */
export function planBindTakeover(files: Record<string, string>, names: readonly string[]): BindTakeoverPlan {
  const wanted = new Set(names);
  const edits: Record<string, string> = {};
  const zones: BindTakeoverZone[] = [];
  const problems: string[] = [];
  const parsed = Object.entries(files).map(([path, text]) => ({ path, text, top: parseNamedConfStatements(text) }));
  const options = parsed.flatMap((f) => f.top).find((s) => s.words[0] === "options")?.block;
  const directory = valueOf(options, "directory") ?? "/var/cache/bind";
  const abs = (p: string) => (isAbsolute(p) ? p : join(directory, p));
  const globalKeys = valueOf(options, "key-directory");
  for (const { path, text, top } of parsed) {
    const lines = text.split("\n");
    const off = new Set<number>();
    for (const s of top) {
      const where = `${path}:${lineAt(text, s.start)}`;
      if (s.words[0] === "view") {
        for (const z of s.block ?? []) if (z.words[0] === "zone" && wanted.has(zoneName(z.words[1]))) problems.push(`${where}: zone ${zoneName(z.words[1])} is defined inside view ${s.words[1] ?? "?"}: the stack has no views; move it out of the view by hand, then adopt again`);
        continue;
      }
      if (s.words[0] !== "zone" || !wanted.has(zoneName(s.words[1]))) continue;
      const name = zoneName(s.words[1]);
      const first = lineAt(text, s.start);
      const last = lineAt(text, s.end - 1);
      const before = (lines[first - 1] as string).slice(0, s.start - text.lastIndexOf("\n", s.start - 1) - 1);
      const after = (lines[last - 1] as string).slice(s.end - text.lastIndexOf("\n", s.end - 1) - 1);
      if (before.trim() !== "" || (after.trim() !== "" && !/^\s*(\/\/|#)/.test(after))) {
        problems.push(`${where}: the zone ${name} statement shares its lines with another statement: put it on lines of its own, then adopt again`);
        continue;
      }
      for (let l = first; l <= last; l++) off.add(l);
      const keyDir = valueOf(s.block, "key-directory") ?? globalKeys;
      const type = ZONE_TYPES[(valueOf(s.block, "type") ?? "").toLowerCase()] ?? (valueOf(s.block, "type") ?? "").toLowerCase();
      const file = valueOf(s.block, "file");
      const fmt = (valueOf(s.block, "masterfile-format") ?? valueOf(options, "masterfile-format") ?? (type === "secondary" ? "raw" : "text")).toLowerCase();
      zones.push({ name, where, keyDirectory: keyDir ? abs(keyDir) : directory, type, ...(file ? { file: abs(file) } : {}), format: fmt === "raw" ? "raw" : "text" });
    }
    if (off.size > 0) edits[path] = lines.map((l, i) => (off.has(i + 1) ? `${BIND_TAKEOVER_MARK}${l}` : l)).join("\n");
  }
  const seen = new Map<string, string>();
  for (const z of zones) {
    const prev = seen.get(z.name);
    if (prev) problems.push(`${z.where}: zone ${z.name} is defined twice by hand (also ${prev}): BIND would refuse it already; remove one, then adopt again`);
    seen.set(z.name, z.where);
  }
  return { edits, zones, problems };
}

/** A path the apply script takes as an argument: absolute, plain characters, no `..`. */
const PLAIN_PATH = /^\/(?!.*\/\.\.(\/|$))[A-Za-z0-9/._+-]+$/;

export interface SecondaryCopy {
  zone: string;
  /** The hand-made zone's file (absolute) and its format. */
  from: string;
  format: "text" | "raw";
}

/**
 * A secondary's takeover keeps answering: each hand-made zone's copy (the file named wrote from
 * its last transfer, or a primary's file on a host that served the zone itself) becomes
 * Globenet's copy of that zone before the reload, so the secondary serves it from the first
 * second and the signed transfer only brings what is newer. A zone kept in memory only (no
 * `file`) has nothing to copy: it would stop answering until its first transfer, so it is
 * refused (give it a file by hand, let it transfer, adopt again); so is a file path the script
 * would not take.
 */
export function planSecondaryCopies(zones: readonly BindTakeoverZone[]): { copies: SecondaryCopy[]; problems: string[] } {
  const copies: SecondaryCopy[] = [];
  const problems: string[] = [];
  for (const z of zones) {
    if (!z.file) problems.push(`${z.where}: the hand-made zone ${z.name} has no file, so its copy exists in memory only and the takeover could not keep serving it: add a file "…" line to it by hand, rndc reconfig, wait for its transfer, then adopt again`);
    else if (!PLAIN_PATH.test(z.file)) problems.push(`${z.where}: the hand-made zone ${z.name}'s file ${JSON.stringify(z.file)} is not a plain absolute path the takeover copies from: rename it by hand, then adopt again`);
    else copies.push({ zone: z.name, from: z.file, format: z.format });
  }
  return { copies, problems };
}

/** One virtual host of `apache2ctl -S`: a name it answers and the file and line defining it. */
export interface ApacheVhostName {
  name: string;
  file: string;
  line: number;
}

/** The names of `apache2ctl -S` output, each with its vhost's file and line (the default server's lines are not names). */
export function parseApacheS(text: string): ApacheVhostName[] {
  const out: ApacheVhostName[] = [];
  let current: { file: string; line: number } | undefined;
  for (const raw of text.split("\n")) {
    const l = raw.trim();
    const vhost = /^(?:port \d+ namevhost|\S+:\d+)\s+(\S+)\s+\((\/[^:()]+):(\d+)\)$/.exec(l);
    if (vhost) {
      current = { file: vhost[2] as string, line: Number(vhost[3]) };
      out.push({ name: (vhost[1] as string).toLowerCase(), ...current });
      continue;
    }
    const alias = /^alias\s+(\S+)$/.exec(l);
    if (alias && current) out.push({ name: (alias[1] as string).toLowerCase(), ...current });
    else if (!alias) current = /^(?:port \d+ namevhost|\S+:\d+)\s/.test(l) ? current : undefined;
  }
  return out;
}

export interface ApacheTakeoverPlan {
  /** Entries of /etc/apache2/sites-enabled to disable (their names there). */
  disable: string[];
  /** For the report: each disabled entry with the names it served. */
  vhosts: { entry: string; names: string[] }[];
  problems: string[];
}

const SITES_ENABLED = "/etc/apache2/sites-enabled/";

/**
 * Which hand-made vhosts to disable for `names`: every vhost outside Globenet's set that
 * answers one of them. Its whole sites-enabled entry goes, so each name that entry serves
 * must be one Globenet takes over (else the takeover would stop serving a name: refused,
 * naming it); a vhost defined outside sites-enabled is refused too (disable it by hand).
 */
export function planApacheTakeover(vhosts: readonly ApacheVhostName[], names: readonly string[]): ApacheTakeoverPlan {
  const wanted = new Set(names);
  const hand = vhosts.filter((v) => !v.file.startsWith("/etc/apache2/globenet/") && !v.file.startsWith("/etc/apache2/globenet.d/"));
  const problems: string[] = [];
  const entries = new Map<string, Set<string>>();
  for (const v of hand.filter((x) => wanted.has(x.name))) {
    if (!v.file.startsWith(SITES_ENABLED) || v.file.slice(SITES_ENABLED.length).includes("/")) {
      problems.push(`${v.file}:${v.line}: the hand-made vhost of ${v.name} is not a sites-enabled entry: disable it by hand (keep a copy), then adopt again`);
      continue;
    }
    entries.set(v.file.slice(SITES_ENABLED.length), new Set());
  }
  for (const v of hand) {
    const entry = v.file.startsWith(SITES_ENABLED) ? v.file.slice(SITES_ENABLED.length) : "";
    entries.get(entry)?.add(v.name);
  }
  const out: ApacheTakeoverPlan["vhosts"] = [];
  for (const [entry, served] of [...entries].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const lost = [...served].filter((n) => !wanted.has(n)).sort();
    if (lost.length > 0) problems.push(`${SITES_ENABLED}${entry}: it also serves ${lost.join(", ")}, which the data does not: disabling it would stop serving ${lost.length > 1 ? "them" : "it"}; add ${lost.length > 1 ? "them" : "it"} to a member's site or split the file by hand, then adopt again`);
    else out.push({ entry, names: [...served].sort() });
  }
  return { disable: out.map((v) => v.entry), vhosts: out, problems };
}

/** `rndc zonestatus` output: the highest serial it shows (a signed zone shows the unsigned and the signed one). */
export function servedSerialOf(zonestatus: string): number | undefined {
  const all = [...zonestatus.matchAll(/^(?:signed )?serial:\s*(\d+)\s*$/gm)].map((m) => Number(m[1]));
  if (all.length === 0) return undefined;
  return all.reduce((a, b) => (serialAfter(b, a) ? b : a));
}

/**
 * Serials of a takeover: each zone's planned serial, unless the hand-made zone serves one that
 * is not before it (RFC 1982): then the next after the served one (nextSerial), so the
 * secondaries take the new zone.
 */
export function carryServedSerials(planned: Record<string, number>, served: Record<string, number>, now: Date): Record<string, number> {
  const out: Record<string, number> = { ...planned };
  for (const [path, s] of Object.entries(served)) {
    const p = out[path];
    if (p === undefined || !serialAfter(p, s)) out[path] = nextSerial(s, todaySerial(now));
  }
  return out;
}

/** One `[name]` section of a PHP-FPM configuration file, with its line (1-based). */
export interface FpmSection {
  name: string;
  line: number;
}

/** The sections of an FPM ini file (`;` and `#` comments skipped; `[global]` included). */
export function fpmSections(text: string): FpmSection[] {
  const out: FpmSection[] = [];
  text.split("\n").forEach((l, i) => {
    const m = /^\s*\[([^\]\n]+)\]\s*(?:[;#].*)?$/.exec(l);
    if (m) out.push({ name: (m[1] as string).trim(), line: i + 1 });
  });
  return out;
}

export interface FpmTakeoverPlan {
  /** File names in pool.d to move aside. */
  disable: string[];
  problems: string[];
}

/**
 * The hand-made pool files to move aside so Globenet's pools `names` are FPM's only ones:
 * `confs` maps each hand-made file (php-fpm.conf and pool.d/*.conf, absolute paths) to its text.
 * A pool of those names in php-fpm.conf itself, or in a file that also defines a pool the data
 * does not have, is refused with its file and line (moving the file would stop that pool).
 */
export function planFpmTakeover(confs: Readonly<Record<string, string>>, names: readonly string[]): FpmTakeoverPlan {
  const wanted = new Set(names.map((n) => n.toLowerCase()));
  const disable: string[] = [];
  const problems: string[] = [];
  for (const [path, text] of Object.entries(confs).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const sections = fpmSections(text).filter((x) => x.name !== "global");
    const ours = sections.filter((x) => wanted.has(x.name.toLowerCase()));
    if (ours.length === 0) continue;
    const m = /^\/etc\/php\/[^/]+\/fpm\/pool\.d\/([A-Za-z0-9_][A-Za-z0-9._-]*\.conf)$/.exec(path);
    if (!m) {
      for (const x of ours) problems.push(`${path}:${x.line}: the hand-made pool [${x.name}] is not in a pool.d file of its own: move it into one by hand (keep a copy), then adopt again`);
      continue;
    }
    const others = sections.filter((x) => !wanted.has(x.name.toLowerCase()));
    if (others.length > 0) {
      const first = ours[0] as FpmSection;
      problems.push(`${path}:${first.line}: the hand-made pool [${first.name}] shares its file with ${others.map((o) => `[${o.name}] (line ${o.line})`).join(", ")}, which the data does not have: moving the file aside would stop ${others.length > 1 ? "them" : "it"}; split the file by hand, then adopt again`);
      continue;
    }
    disable.push(m[1] as string);
  }
  return { disable, problems };
}

/** A hand-made certificate mod_md's store gets for one managed domain, before the takeover's reload. */
export interface MdSeed {
  /** The managed domain's name (its MDomain line's first name: the site's host). */
  name: string;
  /** The hand-made vhost's SSLCertificateFile, SSLCertificateKeyFile (else the certificate's own file) and SSLCertificateChainFile, on the host. */
  cert: string;
  key: string;
  chain?: string;
  /** The hand-made vhost's file and line. */
  where: string;
}

/** One `<VirtualHost>` block of a hand-made site file: the names it answers and its certificate files. */
interface HandTlsVhost {
  names: string[];
  cert?: string;
  key?: string;
  chain?: string;
  line: number;
}

function handVhosts(text: string): HandTlsVhost[] {
  const out: HandTlsVhost[] = [];
  let cur: HandTlsVhost | undefined;
  text.split("\n").forEach((raw, i) => {
    const l = raw.replace(/^\s+/, "");
    if (l.startsWith("#")) return;
    if (/^<VirtualHost\b/i.test(l)) cur = { names: [], line: i + 1 };
    else if (/^<\/VirtualHost>/i.test(l)) {
      if (cur) out.push(cur);
      cur = undefined;
    } else if (cur) {
      const m = /^(ServerName|ServerAlias|SSLCertificateFile|SSLCertificateKeyFile|SSLCertificateChainFile)\s+(.+?)\s*$/i.exec(l);
      if (!m) return;
      const [key, value] = [(m[1] as string).toLowerCase(), (m[2] as string).replace(/^"(.*)"$/, "$1")];
      if (key === "servername" || key === "serveralias") cur.names.push(...value.split(/\s+/).map((n) => n.toLowerCase().replace(/:\d+$/, "")));
      else if (key === "sslcertificatefile") cur.cert = value;
      else if (key === "sslcertificatekeyfile") cur.key = value;
      else cur.chain = value;
    }
  });
  return out;
}

/**
 * The HTTPS takeover keeps answering (docs/architecture.md, "Adoption: taking over hand-made
 * definitions"): a site Globenet serves with mod_md (an `MDomain` line in its file of the set)
 * whose hand-made vhost, disabled by this takeover, served HTTPS with its own certificate gets
 * that certificate and key in mod_md's store (`<MDStoreDir>/domains/<name>/`) before the reload,
 * so Globenet's vhost serves HTTPS with it and redirects HTTP from the first request, until
 * mod_md renews it. `sites` maps each sites-enabled entry (absolute path) to its text,
 * `disabled` the entries the takeover disables, `setFiles` the set's files. A certificate path
 * the apply script would not take is refused, naming the file and line.
 */
export function planMdSeeds(sites: Readonly<Record<string, string>>, disabled: readonly string[], setFiles: Readonly<Record<string, string>>): { store?: string; seeds: MdSeed[]; problems: string[] } {
  const store = Object.values(setFiles)
    .map((t) => /^\s*MDStoreDir\s+"?([^"\s]+)"?\s*$/m.exec(t)?.[1])
    .find((s) => s !== undefined);
  const seeds: MdSeed[] = [];
  const problems: string[] = [];
  if (!store) return { seeds, problems };
  const mds = Object.entries(setFiles)
    .filter(([p]) => /^sites-available\/[^/]+\.conf$/.test(p))
    .flatMap(([, t]) => [...t.matchAll(/^\s*MDomain\s+(\S+)/gm)].map((m) => (m[1] as string).toLowerCase()));
  const tls = disabled.flatMap((e) => {
    const path = `${SITES_ENABLED}${e}`;
    return handVhosts(sites[path] ?? "").filter((v) => v.cert).map((v) => ({ ...v, where: `${path}:${v.line}` }));
  });
  for (const name of [...new Set(mds)].sort()) {
    const v = tls.find((x) => x.names[0] === name) ?? tls.find((x) => x.names.includes(name));
    if (!v || !v.cert) continue;
    const files = { cert: v.cert, key: v.key ?? v.cert, ...(v.chain ? { chain: v.chain } : {}) };
    const bad = Object.values(files).filter((f) => !PLAIN_PATH.test(f) || f.includes(":"));
    if (bad.length > 0 || !PLAIN_PATH.test(store)) {
      problems.push(`${v.where}: the hand-made certificate files of ${name} (${bad.join(", ") || store}) are not plain absolute paths the takeover copies from: rename them by hand, then adopt again`);
      continue;
    }
    seeds.push({ name, ...files, where: v.where });
  }
  return { store, seeds, problems };
}
