import { createHash } from "node:crypto";
import { SERIAL_TOKEN } from "../../lib/render/bind-zone";

/**
 * Pure helpers of the FileSet resource: SOA serials (the provider owns them), serial
 * substitution and the generation hash. No I/O here, so all of it is unit-tested.
 */

const TWO_32 = 2 ** 32;
const TWO_31 = 2 ** 31;

/** A zone file of a bind-primary set: `zones/<zone>.zone`. */
export function isZoneFile(path: string): boolean {
  return /^zones\/[^/]+\.zone$/.test(path);
}

/** YYYYMMDD01 for the given instant's UTC date. */
export function todaySerial(now: Date): number {
  return (now.getUTCFullYear() * 10_000 + (now.getUTCMonth() + 1) * 100 + now.getUTCDate()) * 100 + 1;
}

/** RFC 1982 serial number arithmetic (32 bits): is `a` after `b`? */
export function serialAfter(a: number, b: number): boolean {
  const d = (((a - b) % TWO_32) + TWO_32) % TWO_32;
  return d !== 0 && d < TWO_31;
}

/**
 * The serial of a zone whose content changed: max(old + 1, today's YYYYMMDD01), "max" in
 * RFC 1982 terms so the result is always after `old` for the secondaries, wrapping within
 * 32 bits. No old serial: today's.
 */
export function nextSerial(old: number | undefined, today: number): number {
  if (old === undefined) return today;
  const plusOne = (old + 1) % TWO_32;
  return serialAfter(today, old) ? today : plusOne;
}

export interface SerialHistory {
  serials: Record<string, number>;
  /** The zone files as last applied, token form (states from before `hashes`; tests). */
  files?: Record<string, string>;
  /** Or: sha256 of each file as applied, serials in place (FileSetOutputs.hashes). */
  hashes?: Record<string, string>;
}

/** Was this zone applied before, and is its content (token form) the same as then? */
function compare(previous: SerialHistory | undefined, path: string, content: string): { known: boolean; same: boolean } {
  if (!previous) return { known: false, same: false };
  if (previous.files) return { known: previous.files[path] !== undefined, same: previous.files[path] === content };
  const applied = previous.hashes?.[path];
  if (applied === undefined) return { known: false, same: false };
  const serial = previous.serials[path];
  // The old serial put into the new content gives the old file exactly when only the serial could differ.
  return { known: true, same: serial !== undefined && sha256Hex(content.split(SERIAL_TOKEN).join(String(serial))) === applied };
}

/**
 * Serials for every zone file of `files`:
 * - no history (create), or a zone new in this set: today's YYYYMMDD01;
 * - content (token form) unchanged and a serial known: the same serial;
 * - content changed: nextSerial(old, today).
 */
export function planSerials(files: Record<string, string>, now: Date, previous?: SerialHistory): Record<string, number> {
  const today = todaySerial(now);
  const out: Record<string, number> = {};
  for (const path of Object.keys(files).filter(isZoneFile).sort()) {
    const old = previous?.serials[path];
    const { known, same } = compare(previous, path, files[path] as string);
    if (old !== undefined && same) out[path] = old;
    else out[path] = known ? nextSerial(old, today) : today;
  }
  return out;
}

/** A zone file as it goes to the host: SERIAL_TOKEN replaced by its serial. */
export function withSerial(content: string, serial: number): string {
  return content.split(SERIAL_TOKEN).join(String(serial));
}

/** The files as they go to the host: each zone file's SERIAL_TOKEN replaced by its serial. */
export function substituteSerials(files: Record<string, string>, serials: Record<string, number>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [path, content] of Object.entries(files)) {
    const serial = serials[path];
    out[path] = serial === undefined ? content : withSerial(content, serial);
  }
  return out;
}

/**
 * A set's manifest: each path and the sha256 of its content in token form (before any serial
 * goes in), one `<path>\0<sha256>\n` line per file in path order. Paths cannot hold a NUL or a
 * newline (pathProblem), so the text says exactly one set of refs. The program stores it in the
 * content store like any file and hands the engine its sha256 alone (`fileManifest`).
 */
export function manifestText(refs: Record<string, string>): string {
  let text = "";
  for (const path of Object.keys(refs).sort()) text += `${path}\0${refs[path]}\n`;
  return text;
}

/** The refs a manifest says; a message saying what is wrong with it otherwise (not `<path>\0<sha256>` lines in path order). */
export function parseManifest(text: string): Record<string, string> | string {
  const refs: Record<string, string> = {};
  if (text === "") return refs;
  if (!text.endsWith("\n")) return "its last line is cut short";
  let previous: string | undefined;
  for (const [k, line] of text.slice(0, -1).split("\n").entries()) {
    const m = /^([^\0]+)\0([0-9a-f]{64})$/.exec(line);
    if (!m) return `line ${k + 1} is not "<path>\\0<sha256>"`;
    const path = m[1] as string;
    if (previous !== undefined && !(previous < path)) return `line ${k + 1}: ${JSON.stringify(path)} is out of order or given twice`;
    refs[path] = m[2] as string;
    previous = path;
  }
  return refs;
}

/**
 * One sha256 over a set's files as refs in token form: the sha256 of its manifest. What the
 * outputs keep of the inputs they were applied from (FileSetOutputs.tokenDigest), so a preview
 * of the same refs needs no content, and what a set's `fileManifest` is.
 */
export function tokenDigestOf(refs: Record<string, string>): string {
  return sha256Hex(manifestText(refs));
}

export function sha256Hex(content: string | Buffer): string {
  return createHash("sha256").update(content).digest("hex");
}

/**
 * Short hash of a set of files, from each file's sha256 (so it can be computed from a host's
 * `sha256sum` listing as well as from the content).
 */
export function generationOfHashes(hashes: Record<string, string>): string {
  const h = createHash("sha256");
  for (const path of Object.keys(hashes).sort()) h.update(`${hashes[path]}  ${path}\0`);
  return h.digest("hex").slice(0, 16);
}

/**
 * Path → sha256 of each file as it goes to the host, from the refs of its token form: a file
 * with a serial is its content (`contentOf`) with the serial put in, hashed; every other file
 * is its ref. So only the zones with a serial are read and hashed again.
 */
export function servedHashes(refs: Record<string, string>, serials: Record<string, number>, contentOf: (path: string, ref: string) => string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [path, ref] of Object.entries(refs)) {
    const serial = serials[path];
    out[path] = serial === undefined ? ref : sha256Hex(withSerial(contentOf(path, ref), serial));
  }
  return out;
}

/** Path → sha256 of each file. */
export function hashesOf(files: Record<string, string>): Record<string, string> {
  const hashes: Record<string, string> = {};
  for (const [p, c] of Object.entries(files)) hashes[p] = sha256Hex(c);
  return hashes;
}

export function generationOf(files: Record<string, string>): string {
  return generationOfHashes(hashesOf(files));
}

/**
 * Serials at create time when the host may already serve some of the zones (a replaced or
 * re-imported set): a zone whose live file is exactly the new content with its live serial
 * keeps that serial; one that differs gets nextSerial(live serial, today); a zone not on the
 * host (or whose live serial cannot be read) gets today's YYYYMMDD01. So a new resource never
 * moves a serial backwards, which the secondaries would ignore.
 */
export function serialsOverLive(files: Record<string, string>, live: Record<string, string>, liveSerials: Record<string, number>, now: Date): Record<string, number> {
  const today = todaySerial(now);
  const out: Record<string, number> = {};
  for (const path of Object.keys(files).filter(isZoneFile).sort()) {
    const s = liveSerials[path];
    const content = files[path] as string;
    if (s === undefined) out[path] = today;
    else if (content.split(SERIAL_TOKEN).join(String(s)) === live[path]) out[path] = s;
    else out[path] = nextSerial(s, today);
  }
  return out;
}
