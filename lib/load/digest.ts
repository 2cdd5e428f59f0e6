import { createHash, createHmac, timingSafeEqual, type Hash } from "node:crypto";
import { closeSync, constants, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync, type BigIntStats, type Dirent } from "node:fs";
import { dirname, join } from "node:path";
import { programFingerprint } from "../base/program-fingerprint";
import { MAX_FILE_BYTES } from "./yaml-file";
import { runCacheFile } from "../base/signed-file";

/**
 * One sha256 over everything the loader may read for `stack`: Pulumi.<stack>.yaml and every
 * entry under members/ and zones/ (names, folders, and each file's size and sha256; links
 * followed as the loader follows them). Two trees with the same digest load the same, so a
 * result computed from one whole load (lib/check/shard-index.ts) holds for the other. Parses
 * nothing: at most the read part of the parse floor (npm run bench -- data).
 *
 * With `cache` (a key, the stack's passphrase), each file's sha256 is kept between runs in a
 * stat cache signed with that key (`digestCacheFile`), as git's index does: a file whose
 * device, inode, size, modification and change times (nanoseconds) are those recorded is not
 * read again. The change time is the one a user cannot set (utimes itself moves it), so an
 * edit that restores the size and the modification time still misses. A file changed less
 * than RACY_NS before the run (or during it) is hashed but not recorded: a write in the same
 * clock tick as the recorded stat cannot hide behind it. The digest is the same, cache or not
 * (tests/unit-shard-index.test.ts checks it edit by edit).
 *
 * It starts with the program's fingerprint (`program`: lib/base/program-fingerprint.ts), so what
 * is keyed by it (the shard index, the checked model, a shard's rendered files) was computed by
 * this code from this data: the same data after a `git pull` that changed the code has another
 * digest.
 */
export function dataDigest(root: string, stack: string, cache?: DigestCacheOptions, program: string = programFingerprint()): string {
  const h = createHash("sha256").update(`program ${program}\0`);
  const since = BigInt(Date.now()) * 1_000_000n - (cache?.racyNs ?? RACY_NS);
  const walk: Walk = { root, h, old: cache ? readDigestCache(root, stack, cache.key) : undefined, seen: {}, since, counts: cache?.counts ?? { read: 0, cached: 0 } };
  file(walk, `Pulumi.${stack}.yaml`);
  folder(walk, "members");
  folder(walk, "zones");
  if (cache && !sameEntries(walk.old, walk.seen)) {
    try {
      writeDigestCache(root, stack, walk.seen, cache.key);
    } catch {
      // A read-only checkout: the next run reads every file again.
    }
  }
  return h.digest("hex");
}

export interface DigestCacheOptions {
  /** The key that signs the cache (the stack's passphrase). */
  key: string;
  /** Tests only: how recent a change must be to go unrecorded (RACY_NS by default). */
  racyNs?: bigint;
  /** Filled in: files read and hashed, files taken from the cache. */
  counts?: { read: number; cached: number };
}

/** A file changed this close to the run is not recorded in the stat cache (see dataDigest). */
export const RACY_NS = 2_000_000_000n;

/** Path → [device, inode, size, mtime ns, ctime ns, sha256], decimal strings for the bigints. */
export type DigestEntries = Record<string, [string, string, number, string, string, string]>;

interface Walk {
  root: string;
  h: Hash;
  old: DigestEntries | undefined;
  seen: DigestEntries;
  /** Files changed at or after this instant (ns) are not recorded. */
  since: bigint;
  counts: { read: number; cached: number };
}

function statKey(st: BigIntStats): [string, string, number, string, string] {
  return [String(st.dev), String(st.ino), Number(st.size), String(st.mtimeNs), String(st.ctimeNs)];
}

function file(w: Walk, rel: string): void {
  const abs = join(w.root, rel);
  const known = w.old?.[rel];
  if (known) {
    // The cache's way: one stat (links followed, as open does), the recorded hash when every field matches.
    let st: BigIntStats | undefined;
    try {
      st = statSync(abs, { bigint: true });
    } catch {
      st = undefined;
    }
    const key = st?.isFile() ? statKey(st) : undefined;
    if (key && key.every((v, i) => v === known[i])) {
      w.seen[rel] = known;
      w.counts.cached++;
      w.h.update(`${rel}\0${key[2]}\0${known[5]}\0`);
      return;
    }
  }
  // As the loader: one open (O_NONBLOCK: a FIFO is not waited on), then its own stat and bytes.
  let fd: number;
  try {
    fd = openSync(abs, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    w.h.update(`${rel}\0${(e as NodeJS.ErrnoException).code ?? "unreadable"}\0`);
    return;
  }
  try {
    const st = fstatSync(fd, { bigint: true });
    // What the loader refuses (not a regular file, over its size limit) never passes validation.
    if (!st.isFile() || st.size > BigInt(MAX_FILE_BYTES)) {
      w.h.update(`${rel}\0refused ${st.mode} ${st.size}\0`);
      return;
    }
    const bytes = readFileSync(fd);
    w.counts.read++;
    const sha = createHash("sha256").update(bytes).digest("hex");
    w.h.update(`${rel}\0${bytes.length}\0${sha}\0`);
    const key = statKey(st);
    // Recorded only when the bytes read are those of the stat (same size) and the file is not racy.
    if (bytes.length === key[2] && st.mtimeNs < w.since && st.ctimeNs < w.since) w.seen[rel] = [...key, sha];
  } finally {
    closeSync(fd);
  }
}

function folder(w: Walk, rel: string): void {
  let list: Dirent[];
  try {
    list = readdirSync(join(w.root, rel), { withFileTypes: true });
  } catch (e) {
    w.h.update(`${rel}/\0${(e as NodeJS.ErrnoException).code ?? "unreadable"}\0`);
    return;
  }
  w.h.update(`${rel}/\0`);
  for (const d of list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const sub = `${rel}/${d.name}`;
    const dir = d.isSymbolicLink() ? isDir(join(w.root, sub)) : d.isDirectory();
    if (dir) folder(w, sub);
    else file(w, sub);
  }
}

function isDir(abs: string): boolean {
  try {
    return statSync(abs).isDirectory();
  } catch {
    return false;
  }
}

function sameEntries(a: DigestEntries | undefined, b: DigestEntries): boolean {
  if (!a) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => a[k] === b[k]);
}

/** Where a checkout keeps the stat cache: beside the shard index, never in git (.gitignore). */
export function digestCacheFile(root: string, stack: string): string {
  return runCacheFile(root, `${stack}.digest-cache.json`);
}

function cacheMac(body: string, key: string): string {
  return createHmac("sha256", `globenet-digest-cache\0${key}`).update(body).digest("hex");
}

export function writeDigestCache(root: string, stack: string, entries: DigestEntries, key: string): void {
  const file = digestCacheFile(root, stack);
  mkdirSync(dirname(file), { recursive: true });
  const body = JSON.stringify({ v: 1, stack, entries });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify({ mac: cacheMac(body, key), body })}\n`, { mode: 0o600 });
  renameSync(tmp, file);
}

/**
 * The recorded entries, when the cache's MAC verifies with `key`: a cache planted in the
 * checkout (committed under .pulumi/ with `git add -f`, say) could otherwise map a file's stat
 * to the hash of other bytes, and so reuse the index of data that was never validated.
 */
export function readDigestCache(root: string, stack: string, key: string): DigestEntries | undefined {
  let doc: { mac?: unknown; body?: unknown };
  try {
    doc = JSON.parse(readFileSync(digestCacheFile(root, stack), "utf8")) as typeof doc;
  } catch {
    return undefined;
  }
  if (typeof doc?.mac !== "string" || typeof doc.body !== "string") return undefined;
  const want = Buffer.from(cacheMac(doc.body, key), "hex");
  const got = Buffer.from(doc.mac, "hex");
  if (got.length !== want.length || !timingSafeEqual(got, want)) return undefined;
  const body = JSON.parse(doc.body) as { v?: number; stack?: string; entries?: DigestEntries };
  return body.v === 1 && body.stack === stack && body.entries && typeof body.entries === "object" ? body.entries : undefined;
}
