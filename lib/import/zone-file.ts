/**
 * Importing a zone that already runs (issue 19, first piece): an existing BIND zone file
 * becomes a zones/<zone>.yaml for a volunteer to review. BIND's own parser reads the file
 * (named-checkzone -D -s full: $TTL, $ORIGIN, relative names, parentheses, comments and
 * escapes resolved into one absolute record per line), and this turns that canonical dump into
 * the zone schema's records: every record the schema can express is kept, the records this
 * repository derives are left out (with why), and what the schema cannot hold is reported
 * with the original file and line. Values only ever reach named-checkzone as a file, its
 * arguments as argv: nothing goes through a shell.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Document, isMap, isSeq, type YAMLMap } from "yaml";
import { run } from "../base/proc";
import { zoneNameProblem } from "../load/tree";
import type { ZoneModel } from "../model/types";
import { recordSchema, zoneSchema, type Zone, type ZoneRecord } from "../schema/zone";
import { SourceIndex, sourceRecords, unquote } from "./zone-source";

export { unquote };

/** One canonical record as named-checkzone prints it. */
export interface CanonicalRecord {
  /** Absolute, with the final dot, as BIND prints it (escapes kept). */
  owner: string;
  ttl: number;
  type: string;
  /** The rdata tokens; quoted strings keep their quotes and escapes. */
  rdata: string[];
}

/** A line of the original file and what the import did with it. */
export interface ImportNote {
  /** "<file>:<line>"; "<file>:?" when the record could not be found in the source (say, made by $GENERATE). */
  where: string;
  /** The record as BIND printed it. */
  record: string;
  /** Why it was left out, or why it cannot be expressed. */
  why: string;
}

export interface ZoneImport {
  zone: Zone;
  /** The zones/<zone>.yaml text, with a `# TODO(import): …` comment wherever the import guessed. */
  yaml: string;
  /** Records the repository derives itself, left out on purpose. */
  derived: ImportNote[];
  /** Records the schema cannot express: reported, not written. */
  unexpressible: ImportNote[];
  /** How many TODO(import) comments the YAML carries. */
  todos: number;
}

/** The records the model derives in `zone` (everything not written in zones/<zone>.yaml): what derivedByModel wants. */
export function derivedOf(zone: ZoneModel): DerivedRecord[] {
  return zone.records.filter((r) => r.origin !== "file").map(({ origin: _o, ...r }) => r as DerivedRecord);
}

/** A record the model derives for this zone (lib/check/records.ts, caa.ts): name relative to the zone. */
export type DerivedRecord = ZoneRecord & { why?: string };

export interface ImportOptions {
  /** The zone's name, without the final dot. */
  zone: string;
  /** The original zone file's text (for line numbers only). */
  source: string;
  /** How reports name the original file, e.g. "ns1:/etc/bind/db.example.org". */
  sourceFile: string;
  /** The canonical dump (compileZone's output). */
  canonical: string;
  /** The member who will own the zone; absent: a placeholder with a TODO. */
  owner?: string;
  /**
   * The records the target stack derives in this zone (the model's records with origin other
   * than "file"). Given, A/AAAA/CAA/NS/PTR equal to one of them are left out exactly; absent,
   * the rule below applies and every A/AAAA is kept with a TODO asking whether it is a site's.
   */
  derivedByModel?: readonly DerivedRecord[];
  /** With `owner`: why the import chose it (a guess), written as a TODO beside it. */
  ownerGuess?: string;
  /** The live server signs the zone itself (inline signing: the file holds no DNSKEY): what it uses, e.g. "dnssec-policy default". */
  signedOnHost?: string;
  /** Names of the sites imported with the zone (no final dot): a CNAME there is replaced by the site's derived A/AAAA. */
  siteNames?: readonly string[];
}

/** DNSSEC records: BIND makes and keeps them (inline signing with the stack's policy). TYPE65534 is BIND's signing state. */
const DNSSEC = new Set(["DNSKEY", "RRSIG", "NSEC", "NSEC3", "NSEC3PARAM", "CDS", "CDNSKEY", "TYPE65534", "KEY", "SIG"]);

/** The zone schema's TTL bounds (lib/schema/common.ts, dnsTtl). */
const TTL_MIN = 60;
const TTL_MAX = 604800;

/**
 * Runs BIND's parser on `file` for `zone` and returns its canonical dump. named-checkzone is
 * named-compilezone with checking defaults (same binary, bind9-utils), already a unit-tier
 * tool; `-D -s full` dumps one absolute record per line. $INCLUDE is refused before BIND sees
 * the file: it would read a file of this machine into the import.
 */
export function compileZone(zone: string, file: string): { ok: true; canonical: string } | { ok: false; error: string } {
  const bad = zoneNameProblem(zone);
  if (bad) return { ok: false, error: `the zone name "${oneLine(zone)}" ${bad} (give the zone's name, like example.org)` };
  const text = readFileSync(file, "utf8");
  const inc = text.split(/\r?\n/).findIndex((l) => /^\s*\$INCLUDE\b/i.test(l));
  if (inc >= 0) return { ok: false, error: `${file}:${inc + 1}: $INCLUDE is not followed by the import (it would read a file of this machine; paste the included file in its place, then import again)` };
  const dir = mkdtempSync(join(tmpdir(), "gn-import-"));
  try {
    const out = join(dir, "canonical.zone");
    // -k/-m/-M/-S/-n warn: a legacy zone BIND serves today may break today's stricter name checks; the schema judges names.
    const r = run("named-checkzone", ["-D", "-s", "full", "-k", "warn", "-m", "warn", "-M", "warn", "-S", "warn", "-n", "warn", "-r", "warn", "-o", out, "--", zone, file], { timeoutMs: 60_000 });
    if (r.status !== 0) {
      const why = `${r.stdout}\n${r.stderr}`.split("\n").filter((l) => l.trim() && l.trim() !== "OK").join("; ");
      return { ok: false, error: `${file}: BIND refuses the zone ${zone}: ${why || r.error?.message || `exit ${r.status}`} (fix the file, or check that the zone name is right)` };
    }
    return { ok: true, canonical: readFileSync(out, "utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Splits one canonical line; quoted strings stay one token with their quotes. */
export function parseCanonical(line: string): CanonicalRecord | undefined {
  const toks: string[] = [];
  let cur = "";
  let inQ = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (c === "\\" && i + 1 < line.length) {
      cur += c + line[i + 1];
      i++;
    } else if (c === '"') {
      inQ = !inQ;
      cur += c;
    } else if (!inQ && /\s/.test(c)) {
      if (cur) toks.push(cur);
      cur = "";
    } else cur += c;
  }
  if (cur) toks.push(cur);
  const [owner, ttl, cls, type, ...rdata] = toks;
  if (!owner || !ttl || !cls || !type || !/^\d+$/.test(ttl)) return undefined;
  return { owner, ttl: Number(ttl), type: type.toUpperCase(), rdata };
}

/** `owner` relative to `zone` ("@" at the apex), unescaped and lowercase. */
function relative(owner: string, zone: string): string {
  const o = unquote(owner).toLowerCase().replace(/\.$/, "");
  const z = zone.toLowerCase();
  return o === z ? "@" : o.endsWith(`.${z}`) ? o.slice(0, -(z.length + 1)) : o;
}

/** The schema record a canonical record maps to, or why it has none. */
function toRecord(c: CanonicalRecord, zone: string): { record: Record<string, unknown>; guess?: string } | { why: string } {
  const name = relative(c.owner, zone);
  const base = { name };
  const d = c.rdata;
  const target = (t: string | undefined) => (t === undefined ? "" : unquote(t).toLowerCase());
  switch (c.type) {
    case "A":
    case "AAAA":
      return { record: { ...base, type: c.type, value: d[0] } };
    case "CNAME":
    case "NS":
    case "PTR":
      return { record: { ...base, type: c.type, value: target(d[0]) } };
    case "MX":
      return { record: { ...base, type: "MX", priority: Number(d[0]), value: target(d[1]) } };
    case "SRV":
      return { record: { ...base, type: "SRV", priority: Number(d[0]), weight: Number(d[1]), port: Number(d[2]), value: target(d[3]) } };
    case "TXT": {
      const parts = d.map(unquote);
      // The schema holds one string and splits it at 255 bytes; other boundaries are lost, which matters only to a few uses (not SPF, DKIM, DMARC).
      const guess = parts.length > 1 && parts.slice(0, -1).some((p) => Buffer.byteLength(p) !== 255) ? `was ${parts.length} strings (${parts.map((p) => JSON.stringify(p.slice(0, 20))).join(", ")}…), joined into one: check that what reads it wants them joined` : undefined;
      return { record: { ...base, type: "TXT", value: parts.join("") }, guess };
    }
    case "CAA":
      return { record: { ...base, type: "CAA", flags: Number(d[0]), tag: (d[1] ?? "").toLowerCase(), value: unquote(d.slice(2).join(" ")) } };
    case "SSHFP":
      return { record: { ...base, type: "SSHFP", algorithm: Number(d[0]), fingerprint_type: Number(d[1]), fingerprint: d.slice(2).join("").toLowerCase() } };
    case "TLSA":
      return { record: { ...base, type: "TLSA", usage: Number(d[0]), selector: Number(d[1]), matching_type: Number(d[2]), data: d.slice(3).join("").toLowerCase() } };
    default:
      return { why: `the zone schema has no ${c.type} records (lib/schema/zone.ts lists the types it holds)` };
  }
}

/** Same record, ignoring TTL and derivation notes. */
function same(a: Record<string, unknown>, b: DerivedRecord): boolean {
  const { ttl: _a, why: _w, ...x } = a as Record<string, unknown> & { why?: string };
  const { ttl: _b, why: _v, ...y } = b as DerivedRecord & Record<string, unknown>;
  const norm = (o: Record<string, unknown>) => JSON.stringify(Object.keys(o).sort().map((k) => [k, typeof o[k] === "string" ? (o[k] as string).toLowerCase() : o[k]]));
  const xx = x.type === "CAA" && x.flags === undefined ? { ...x, flags: 0 } : x;
  const yy = y.type === "CAA" && (y as { flags?: number }).flags === undefined ? { ...y, flags: 0 } : y;
  return norm(xx) === norm(yy as Record<string, unknown>);
}

/** The most common TTL of the kept records within the schema's bounds: the zone's default. */
function zoneTtl(ttls: number[]): number {
  const count = new Map<number, number>();
  for (const t of ttls) if (t >= TTL_MIN && t <= TTL_MAX) count.set(t, (count.get(t) ?? 0) + 1);
  let best = 3600;
  let n = 0;
  for (const [t, k] of [...count].sort((a, b) => a[0] - b[0])) if (k > n) [best, n] = [t, k];
  return best;
}

/** A comment's text on one line: control characters shown escaped, so nothing in it can start a YAML line. */
export function oneLine(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Turns the canonical dump into the zone file's value, its YAML and the reports. */
export function importZone(opts: ImportOptions): ZoneImport {
  const zone = opts.zone.toLowerCase().replace(/\.$/, "");
  const index = new SourceIndex(sourceRecords(opts.source, zone));
  const derived: ImportNote[] = [];
  const unexpressible: ImportNote[] = [];
  const kept: Array<{ record: Record<string, unknown>; ttl: number; todo: string[] }> = [];
  let signed = false;

  const canon = opts.canonical.split(/\r?\n/).filter((l) => l.trim() && !l.startsWith(";") && !l.startsWith("$"));
  for (const line of canon) {
    const c = parseCanonical(line);
    if (!c) continue;
    const src = index.take(unquote(c.owner), c.type, c.type === "TXT" ? unquote(c.rdata[0] ?? "") : (c.rdata[0] ?? ""));
    const note = (why: string): ImportNote => ({ where: `${opts.sourceFile}:${src?.line ?? "?"}`, record: oneLine(line.replace(/\s+/g, " ").trim()), why });
    const apex = relative(c.owner, zone) === "@";
    if (c.type === "SOA") {
      derived.push(note("SOA: written by the stack (name servers, hostmaster, timers); BIND keeps the serial increasing"));
      continue;
    }
    if (DNSSEC.has(c.type)) {
      if (c.type === "DNSKEY") signed = true;
      derived.push(note(`${c.type}: DNSSEC records are made by BIND's inline signing (the keys themselves are adopted with the zone, not written here)`));
      continue;
    }
    if (c.type === "NS" && apex) {
      derived.push(note("apex NS: derived from the stack's DNS hosts (Pulumi.<stack>.yaml)"));
      continue;
    }
    const mapped = toRecord(c, zone);
    if ("why" in mapped) {
      unexpressible.push(note(mapped.why));
      continue;
    }
    const owner = unquote(c.owner).toLowerCase().replace(/\.$/, "");
    if (c.type === "CNAME" && opts.siteNames?.includes(owner)) {
      derived.push(note(`CNAME: ${owner} is a name of an imported site, whose A/AAAA the stack derives (to its web host)`));
      continue;
    }
    const model = opts.derivedByModel?.find((d) => same(mapped.record, d));
    if (model) {
      derived.push(note(`${c.type}: derived from ${model.why ?? "the stack"}`));
      continue;
    }
    const checked = recordSchema.safeParse({ ...mapped.record });
    if (!checked.success) {
      const issue = checked.error.issues[0];
      unexpressible.push(note(`the zone schema refuses it: ${issue?.path.join(".") || "record"} ${issue?.message ?? "is invalid"}`));
      continue;
    }
    const todo: string[] = [];
    let ttl = c.ttl;
    if (ttl < TTL_MIN || ttl > TTL_MAX) {
      // Kept (the record itself is fine) with the nearest TTL the schema holds, reported and marked.
      const to = ttl < TTL_MIN ? TTL_MIN : TTL_MAX;
      unexpressible.push(note(`TTL ${ttl} is outside the schema's ${TTL_MIN}..${TTL_MAX} seconds: written with ttl ${to}`));
      todo.push(`the live TTL was ${ttl}, outside ${TTL_MIN}..${TTL_MAX}: ${to} written, choose`);
      ttl = to;
    }
    if (mapped.guess) todo.push(mapped.guess);
    if ((c.type === "A" || c.type === "AAAA") && !opts.derivedByModel) {
      todo.push(`if ${relative(c.owner, zone)} is a site, VPS or host name of the stack, remove this record: its ${c.type} is derived`);
    }
    todo.unshift(`from ${opts.sourceFile}:${src?.line ?? "?"}`);
    kept.push({ record: checked.data as Record<string, unknown>, ttl, todo });
  }

  // In the original file's order (BIND's dump is in DNSSEC order), unknown lines last.
  const byLine = (a: ImportNote, b: ImportNote) => lineOf(a) - lineOf(b);
  derived.sort(byLine);
  unexpressible.sort(byLine);
  const ttl = zoneTtl(kept.map((k) => k.ttl));
  const records = kept.map((k) => ({ ...k.record, ...(k.ttl !== ttl ? { ttl: k.ttl } : {}) }));
  const owner = opts.owner ?? "to-be-decided";
  // BIND's built-in policy on the live server: kept, so its keys are (the stack's policy would make new ones).
  const policy = opts.signedOnHost === "default" ? { dnssec_policy: "default" as const } : {};
  const value = zoneSchema.parse({ owner, ttl, dnssec: true, ...policy, records });

  // The YAML: a Document so every value is quoted by the yaml library as needed, comments attached to their records.
  const ordered = { owner, dnssec: true, ...policy, ttl, records: records.map(orderKeys) };
  const doc = new Document(ordered);
  doc.commentBefore = oneLine(` Imported from ${opts.sourceFile} (lib/import/zone-file.ts). Review it, then resolve each import TODO below.`);
  let todos = 0;
  const root = doc.contents as YAMLMap;
  const at = (key: string) => root.items.find((p) => (p.key as { value?: unknown }).value === key);
  if (!opts.owner || opts.ownerGuess) {
    const p = at("owner");
    const why = opts.owner && opts.ownerGuess ? `the owner is a guess: ${oneLine(opts.ownerGuess)}` : "the member who owns this zone (their handle)";
    if (p) (p.key as { commentBefore?: string }).commentBefore = ` TODO(import): ${why}`;
    todos++;
  }
  if (opts.signedOnHost) {
    const p = at("dnssec");
    if (p) (p.key as { commentBefore?: string }).commentBefore = oneLine(` Signed on the live server (${opts.signedOnHost}): its keys stay on the host and are adopted with the zone.`);
  } else if (!signed) {
    const p = at("dnssec");
    if (p) (p.key as { commentBefore?: string }).commentBefore = " TODO(import): the live zone is unsigned; true signs it (then publish the DS: npm run dnssec -- ds <zone>), false keeps it unsigned";
    todos++;
  }
  const seq = at("records")?.value;
  if (isSeq(seq)) {
    seq.items.forEach((item, i) => {
      if (isMap(item)) item.flow = true;
      const k = kept[i];
      if (!k) return;
      const lines = [` ${oneLine(k.todo[0] ?? "")}`, ...k.todo.slice(1).map((t) => ` TODO(import): ${oneLine(t)}`)];
      todos += k.todo.length - 1;
      (item as { commentBefore?: string }).commentBefore = lines.join("\n");
    });
  }
  const yaml = doc.toString({ lineWidth: 0 });
  return { zone: value, yaml, derived, unexpressible, todos };
}

function lineOf(n: ImportNote): number {
  const l = Number(n.where.slice(n.where.lastIndexOf(":") + 1));
  return Number.isFinite(l) ? l : Number.MAX_SAFE_INTEGER;
}

/** name, type first, then the type's fields, ttl last: the order the hand-written zone files use. */
function orderKeys(r: Record<string, unknown>): Record<string, unknown> {
  const { name, type, ttl, ...rest } = r;
  return { name, type, ...rest, ...(ttl !== undefined ? { ttl } : {}) };
}

/** Both steps for a file on this machine (a copy fetched from the live host). */
export function importZoneFile(zone: string, file: string, sourceFile: string, rest: Omit<ImportOptions, "zone" | "source" | "sourceFile" | "canonical"> = {}): ZoneImport | { error: string } {
  const c = compileZone(zone, file);
  if (!c.ok) return { error: c.error };
  return importZone({ ...rest, zone, source: readFileSync(file, "utf8"), sourceFile, canonical: c.canonical });
}

