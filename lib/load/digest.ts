import { createHash, type Hash } from "node:crypto";
import { closeSync, constants, fstatSync, openSync, readdirSync, readFileSync, statSync, type Dirent, type Stats } from "node:fs";
import { join } from "node:path";
import { programFingerprint } from "../base/program-fingerprint";
import { MAX_FILE_BYTES } from "./yaml-file";
import { readSigned, runCacheFile, writeSigned } from "../base/signed-file";

/**
 * One sha256 over everything the loader may read for `stack`: Pulumi.<stack>.yaml and every
 * entry under members/ and zones/ (names, folders, and each file's size and sha256; links
 * followed as the loader follows them). Two trees with the same digest load the same, so a
 * result computed from one whole load (lib/check/shard-index.ts) holds for the other. Parses
 * nothing: at most the read part of the parse floor (npm run bench -- data).
 *
 * With `cache` (a key, the stack's passphrase), each file's sha256 is kept between runs in a
 * stat cache signed with that key (`digestCacheFile`), as git's index does: a file whose
 * device, inode, size, modification and change times are those recorded is not read again.
 * The change time is the one a user cannot set (utimes itself moves it), so an edit that
 * restores the size and the modification time still misses. A file changed less than RACY_MS
 * before the run (or during it) is hashed but not recorded: a write in the same clock tick as
 * the recorded stat cannot hide behind it. The same rule makes the times' precision (a double
 * of milliseconds, about a quarter of a microsecond today) enough: any change after a file was
 * recorded sets its change time to the clock, at least RACY_MS past the recorded one; numbers
 * make a file's stat key one short string. The digest is the same, cache or not
 * (tests/unit-digest-cache.test.ts checks it edit by edit).
 *
 * The cache also keeps each folder's listing under its stat (device, inode, modification and
 * change times), as git's untracked cache does: adding, removing or renaming an entry moves
 * its folder's modification time, so a folder whose stat is the one recorded is not read
 * again. One stat costs less than a readdir: at 10,000 members, the 10,000 member folders'
 * readdirs were 40% of a warm digest (docs/architecture.md, "The digest's folder cache"). A
 * link's kind is not kept: where it points is looked up at every run, as without the cache.
 *
 * It starts with the program's fingerprint (`program`: lib/base/program-fingerprint.ts), so what
 * is keyed by it (the shard index, the checked model, a shard's rendered files) was computed by
 * this code from this data: the same data after a `git pull` that changed the code has another
 * digest.
 */
export function dataDigest(root: string, stack: string, cache?: DigestCacheOptions, program: string = programFingerprint()): string {
  const h = createHash("sha256").update(`program ${program}\0`);
  const since = Date.now() - (cache?.racyMs ?? RACY_MS);
  const old = cache ? readCacheBody(root, stack, cache.key) : undefined;
  const walk: Walk = {
    root,
    h,
    cached: !!cache,
    old: old?.entries,
    oldDirs: old?.dirs,
    seen: {},
    dirs: {},
    since,
    counts: cache?.counts ?? { read: 0, cached: 0 },
    folders: cache?.folders ?? { listed: 0, kept: 0 },
  };
  file(walk, `Pulumi.${stack}.yaml`);
  folder(walk, "members");
  folder(walk, "zones");
  if (cache && !(sameEntries(walk.old, walk.seen) && sameEntries(walk.oldDirs, walk.dirs))) {
    try {
      writeDigestCache(root, stack, walk.seen, cache.key, walk.dirs);
    } catch {
      // A read-only checkout: the next run reads every file again.
    }
  }
  return h.digest("hex");
}

export interface DigestCacheOptions {
  /** The key that signs the cache (the stack's passphrase). */
  key: string;
  /** Tests only: how recent a change must be to go unrecorded (RACY_MS by default). */
  racyMs?: number;
  /** Filled in: files read and hashed, files taken from the cache. */
  counts?: { read: number; cached: number };
  /** Filled in: folders read (readdir), folders whose listing came from the cache. */
  folders?: { listed: number; kept: number };
}

/** A file changed this close to the run is not recorded in the stat cache (see dataDigest). */
export const RACY_MS = 2_000;

/**
 * Path → "<sha256> <stat key>" (statKey: device, inode, size, modification and change times).
 * One string a file: the cache of 10,000 members is parsed once per run, in about a tenth of a
 * second, and a file's check is one comparison.
 */
export type DigestEntries = Record<string, string>;

/** An entry's kind in a folder's listing: a folder, a symbolic link (followed at each run), anything else. */
type EntryKind = "d" | "l" | "f";
/** A folder's entries sorted by name, each its kind's letter then its name (a name holds no "/" and no NUL). */
type Listing = string[];

/** Folder path → [its stat key (device, inode, modification and change times), its listing]. */
export type DigestFolders = Record<string, [string, Listing]>;

interface Walk {
  root: string;
  h: Hash;
  /** Whether the run keeps a cache (folders are stat'ed for it). */
  cached: boolean;
  old: DigestEntries | undefined;
  oldDirs: DigestFolders | undefined;
  seen: DigestEntries;
  dirs: DigestFolders;
  /** Files changed at or after this instant (ms) are not recorded. */
  since: number;
  counts: { read: number; cached: number };
  folders: { listed: number; kept: number };
}

function statKey(st: Stats): string {
  return `${st.dev} ${st.ino} ${st.size} ${st.mtimeMs} ${st.ctimeMs}`;
}

const SHA_HEX = 64;

/** The recorded sha256 when `known` was recorded under this stat key. */
function recordedSha(known: string | undefined, key: string): string | undefined {
  return known !== undefined && known.length === SHA_HEX + 1 + key.length && known.endsWith(key) ? known.slice(0, SHA_HEX) : undefined;
}

function file(w: Walk, rel: string): void {
  const abs = join(w.root, rel);
  const known = w.old?.[rel];
  if (known) {
    // The cache's way: one stat (links followed, as open does), the recorded hash when every field matches.
    const st = statOf(abs);
    const sha = st?.isFile() ? recordedSha(known, statKey(st)) : undefined;
    if (st && sha) {
      w.seen[rel] = known;
      w.counts.cached++;
      w.h.update(`${rel}\0${st.size}\0${sha}\0`);
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
    const st = fstatSync(fd);
    // What the loader refuses (not a regular file, over its size limit) never passes validation.
    if (!st.isFile() || st.size > MAX_FILE_BYTES) {
      w.h.update(`${rel}\0refused ${st.mode} ${st.size}\0`);
      return;
    }
    const bytes = readFileSync(fd);
    w.counts.read++;
    const sha = createHash("sha256").update(bytes).digest("hex");
    w.h.update(`${rel}\0${bytes.length}\0${sha}\0`);
    // Recorded only when the bytes read are those of the stat (same size) and the file is not racy.
    if (bytes.length === st.size && st.mtimeMs < w.since && st.ctimeMs < w.since) w.seen[rel] = `${sha} ${statKey(st)}`;
  } finally {
    closeSync(fd);
  }
}

function folder(w: Walk, rel: string): void {
  const list = listing(w, rel);
  if (typeof list === "string") {
    w.h.update(`${rel}/\0${list}\0`);
    return;
  }
  w.h.update(`${rel}/\0`);
  for (const entry of list) {
    const kind = entry[0] as EntryKind;
    const sub = `${rel}/${entry.slice(1)}`;
    const dir = kind === "l" ? isDir(join(w.root, sub)) : kind === "d";
    if (dir) folder(w, sub);
    else file(w, sub);
  }
}

/**
 * A folder's entries sorted by name, with their kinds, or the error that kept it from being
 * read. The folder is stat'ed before it is read: a change between the two moves its times past
 * the recorded ones, so the next run reads it again.
 */
function listing(w: Walk, rel: string): Listing | string {
  const abs = join(w.root, rel);
  const st = w.cached ? statOf(abs) : undefined;
  const key = st?.isDirectory() ? `${st.dev} ${st.ino} ${st.mtimeMs} ${st.ctimeMs}` : undefined;
  const known = w.oldDirs?.[rel];
  if (known && key && known[0] === key) {
    w.dirs[rel] = known;
    w.folders.kept++;
    return known[1];
  }
  let list: Dirent[];
  try {
    list = readdirSync(abs, { withFileTypes: true });
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? "unreadable";
  }
  w.folders.listed++;
  const entries: Listing = list
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((d) => `${d.isSymbolicLink() ? "l" : d.isDirectory() ? "d" : "f"}${d.name}`);
  // Not recorded when changed within the racy window, as a file.
  if (st && key && st.mtimeMs < w.since && st.ctimeMs < w.since) w.dirs[rel] = [key, entries];
  return entries;
}

/** A stat following links; undefined for any error (the read that follows says which, in the digest). */
function statOf(abs: string): Stats | undefined {
  try {
    return statSync(abs);
  } catch {
    return undefined;
  }
}

function isDir(abs: string): boolean {
  return statOf(abs)?.isDirectory() ?? false;
}

/** Same keys, each the very value read from the cache (a run keeps the recorded values it matched). */
function sameEntries<T>(a: Record<string, T> | undefined, b: Record<string, T>): boolean {
  if (!a) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => a[k] === b[k]);
}

/** Where a checkout keeps the stat cache: beside the shard index, never in git (.gitignore). */
export function digestCacheFile(root: string, stack: string): string {
  return runCacheFile(root, `${stack}.digest-cache.json`);
}

/** The cache's purpose in its signature (lib/base/signed-file.ts): no other cache's file verifies as this one. */
const PURPOSE = "globenet-digest-cache";

interface Header {
  v: 2;
  stack: string;
}

export function writeDigestCache(root: string, stack: string, entries: DigestEntries, key: string, dirs: DigestFolders = {}): void {
  writeSigned(digestCacheFile(root, stack), PURPOSE, key, { v: 2, stack } satisfies Header, JSON.stringify({ entries, dirs }));
}

/**
 * The recorded entries, when the cache's MAC verifies with `key`: a cache planted in the
 * checkout (committed under .pulumi/ with `git add -f`, say) could otherwise map a file's stat
 * to the hash of other bytes, and so reuse the index of data that was never validated.
 */
export function readDigestCache(root: string, stack: string, key: string): DigestEntries | undefined {
  return readCacheBody(root, stack, key)?.entries;
}

/** The recorded files and folders, when the MAC verifies (a cache of the layout before, v1, is not read: its first run reads every file again). */
function readCacheBody(root: string, stack: string, key: string): { entries: DigestEntries; dirs: DigestFolders } | undefined {
  const read = readSigned<Header>(digestCacheFile(root, stack), PURPOSE, key, (h) => h.v === 2 && h.stack === stack);
  if (!read) return undefined;
  const doc = JSON.parse(read.body) as { entries?: DigestEntries; dirs?: DigestFolders };
  return doc.entries && typeof doc.entries === "object" && doc.dirs && typeof doc.dirs === "object" ? { entries: doc.entries, dirs: doc.dirs } : undefined;
}
