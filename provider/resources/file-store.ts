import { chmodSync, closeSync, lstatSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, utimesSync, writeSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { randomBytes } from "node:crypto";
import { manifestText, parseManifest, sha256Hex } from "./file-set-serials";
import { isRecord } from "../../lib/base/record";

/**
 * The file sets' content store (docs/architecture.md, "Sharded stacks": "File sets carry sha256 refs, not contents"): the program writes each
 * file's content (token form: zone files keep SERIAL_TOKEN) under its sha256 on the runner,
 * and hands the engine `fileRefs` (path → sha256) and the store's folder (`fileStore`) instead
 * of the contents. The provider, which the engine starts on the same runner, reads them back
 * here, checking each against its hash: a file planted or altered in the store is refused,
 * never applied. So the contents cross no protobuf message, no state and no event stream.
 *
 * One folder per data root, `<root>/.pulumi/globenet-files` (.gitignore has `.pulumi/`),
 * mode 0700, files 0600, each written to a temporary name and renamed (shards of one checkout
 * write it at once; a reader never sees half a file). Content-addressed, so a name always
 * means one content: a file already there with the right size is kept (storeFiles says why
 * the program reads nothing back), and every read checks the hash.
 */

/** The store's folder inside a data root. */
export const FILE_STORE_FOLDER = join(".pulumi", "globenet-files");

export function fileStoreOf(root: string): string {
  return join(root, FILE_STORE_FOLDER);
}

const SHA256 = /^[0-9a-f]{64}$/;

export function isRef(v: unknown): v is string {
  return typeof v === "string" && SHA256.test(v);
}

/** A content the store cannot give: missing, or not what its hash says. Names the set's path, and what to do. */
export class FileStoreError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(reason);
    this.name = "FileStoreError";
  }
}

/**
 * Contents checked in this process, by store file: the provider's check and diff (and the
 * apply) of one set read each file once. Only verified contents enter it.
 */
const verified = new Map<string, string>();

/** Forgets what this process has checked (tests that alter the store between two reads). */
export function forgetVerified(): void {
  verified.clear();
}

function ensureFolder(store: string): void {
  mkdirSync(store, { recursive: true, mode: 0o700 });
  const st = lstatSync(store);
  // A link in its place would have the contents written (and the mode set) wherever it points.
  if (!st.isDirectory()) throw new Error(`the file store ${store} is not a folder (a link?): remove it and run again; the program makes it anew`);
  // A folder made by someone else (or an older umask) is tightened: the contents are the hosts' config.
  if ((st.mode & 0o777) !== 0o700) chmodSync(store, 0o700);
}

/** The content of the store file `file` when its sha256 is `ref`; undefined when missing, not a regular file, or another content. */
function readChecked(file: string, ref: string): string | undefined {
  let bytes: Buffer;
  try {
    // A link in the store is never followed: only a regular file of ours is read.
    if (!lstatSync(file).isFile()) return undefined;
    bytes = readFileSync(file);
  } catch {
    return undefined;
  }
  return sha256Hex(bytes) === ref ? bytes.toString("utf8") : undefined;
}

/**
 * Writes `bytes` as `<store>/<ref>`: a new temporary file (0600, never an existing one) renamed
 * over the name. No fsync: a file cut short by a crash has another size (the program writes it
 * again) or another hash (the provider refuses it), and 10,000 fsyncs took seconds.
 */
function writeAtomic(store: string, ref: string, bytes: Buffer): void {
  const tmp = join(store, `.tmp-${process.pid}-${randomBytes(6).toString("hex")}`);
  const fd = openSync(tmp, "wx", 0o600);
  try {
    writeSync(fd, bytes);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(tmp, join(store, ref));
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** How old a kept store file's time may get before a run that uses it sets it to now (file-store-prune.ts reads it). */
export const TOUCH_AFTER_MS = 24 * 3600 * 1000;

/**
 * A regular file of this size at `file` (never following a link). Its time is the last run
 * that used it, to within a day (file-store-prune.ts removes what no run used for a month):
 * set again at most once a day, so a preview of 10,000 files does not pay 10,000 writes.
 */
function keptAsIs(file: string, size: number, now: number): boolean {
  try {
    const st = lstatSync(file);
    if (!st.isFile() || st.size !== size) return false;
    if (now - st.mtimeMs > TOUCH_AFTER_MS) utimesSync(file, now / 1000, now / 1000);
    return true;
  } catch {
    return false;
  }
}

/**
 * Puts each content into the store (the program, before it registers a set) and returns
 * path → sha256. A regular store file of the right size is kept, anything else (missing, cut
 * short, a link, a folder) is written anew. The program does not read back what is there:
 * the provider checks each content against its ref whenever it reads one, and refuses one
 * altered to the same size, saying to remove it (then this writes it again). Reading every
 * file back here cost 0.5 s a preview for a primary of 10,000 zones.
 */
export function storeFiles(store: string, files: Record<string, string>): Record<string, string> {
  ensureFolder(store);
  const refs: Record<string, string> = {};
  const now = Date.now();
  for (const path of Object.keys(files).sort()) {
    const bytes = Buffer.from(files[path] as string, "utf8");
    const ref = sha256Hex(bytes);
    refs[path] = ref;
    const file = join(store, ref);
    // Looked at every run, even by a driver process that runs the program again and again: a
    // file removed meanwhile (as the provider's refusal says to) is written again.
    if (!keptAsIs(file, bytes.length, now)) writeAtomic(store, ref, bytes);
  }
  return refs;
}

/** The content of one ref, checked against it; throws FileStoreError naming `path` (as `where`: the property that holds the ref) and what to do. */
export function loadRef(store: string, path: string, ref: string, where = `fileRefs[${JSON.stringify(path)}]`): string {
  if (!isRef(ref)) throw new FileStoreError(path, `${where}: not a sha256 (64 lowercase hex digits): ${JSON.stringify(ref)}`);
  if (!isAbsolute(store)) throw new FileStoreError(path, `fileStore must be an absolute folder (the program's <data root>/${FILE_STORE_FOLDER}); got ${JSON.stringify(store)}`);
  const file = join(store, ref);
  const known = verified.get(file);
  if (known !== undefined) return known;
  let exists = true;
  try {
    lstatSync(file);
  } catch {
    exists = false;
  }
  const content = exists ? readChecked(file, ref) : undefined;
  if (content === undefined) {
    throw new FileStoreError(
      path,
      exists
        ? `${where}: the store file ${file} does not hold the content of sha256 ${ref} (altered or planted, or not a regular file): it is refused, nothing is applied from it. Remove it and run again: the program writes the store anew`
        : `${where}: ${file} is missing from the file store (the program writes it before it registers the set; a store removed or a checkout moved since): run again from the checkout the program runs in`,
    );
  }
  verified.set(file, content);
  return content;
}

/**
 * Stores the files and their manifest (file-set-serials.ts, manifestText): returns the
 * manifest's sha256, all the engine needs of the set (`fileManifest`). 10,000 refs in the
 * inputs, and as many hashes and serials in the outputs, cost a primary's preview seconds in
 * the engine and the SDK for no decision (docs/architecture.md, "One manifest per set").
 */
export function storeManifest(store: string, files: Record<string, string>): string {
  const refs = storeFiles(store, files);
  const text = manifestText(refs);
  return storeFiles(store, { manifest: text }).manifest as string;
}

/** The refs of the manifest `digest`, read from the store and checked (FileStoreError, as `where`, when it cannot be read, was altered, or is not a manifest). */
export function loadManifest(store: string, digest: string, where = "fileManifest"): Record<string, string> {
  const text = loadRef(store, "(manifest)", digest, where);
  const refs = parseManifest(text);
  if (typeof refs === "string") throw new FileStoreError("(manifest)", `${where}: the store file ${join(store, digest)} is not a file set's manifest (${refs}): it is refused. Remove it and run again: the program writes the store anew`);
  return refs;
}

/** path → content for path → ref, each checked (FileStoreError on the first that fails). */
export function loadFiles(store: string, refs: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const path of Object.keys(refs).sort()) out[path] = loadRef(store, path, refs[path] as string);
  return out;
}

/** A file set's contents in either form its inputs carry. */
export interface SetContents {
  /** Contents (states written before the store; tests, and callers that pass contents). */
  files?: unknown;
  /** path → sha256 of the content in `fileStore`. */
  fileRefs?: unknown;
  /** Or the sha256 of the set's manifest in `fileStore` (storeManifest). */
  fileManifest?: unknown;
  fileStore?: unknown;
}

/** The set's paths, from any form, reading no file's content (of a manifest form, the manifest alone, checked); undefined when none is known (unknown, secret, a manifest the store cannot give). */
export function setPaths(p: SetContents | undefined): string[] | undefined {
  const r = isRecord(p?.files) ? p.files : setRefs(p);
  return r ? Object.keys(r) : undefined;
}

/** A set's refs: its `fileRefs`, or its manifest's when the store gives it (checked); undefined otherwise (contents, unknown, a manifest gone or altered). */
export function setRefs(p: SetContents | undefined): Record<string, unknown> | undefined {
  if (isRecord(p?.fileRefs)) return p.fileRefs;
  if (!isRef(p?.fileManifest) || typeof p?.fileStore !== "string") return undefined;
  try {
    return loadManifest(p.fileStore, p.fileManifest);
  } catch (e) {
    if (e instanceof FileStoreError) return undefined;
    throw e;
  }
}

/**
 * The one accessor of a set's contents (path → content, token form), from `files` or from
 * `fileRefs` (or `fileManifest`'s refs) read from `fileStore` and checked against each hash (FileStoreError names the
 * path when one cannot be read or was altered). undefined when the inputs carry neither as
 * plain strings (a value not known yet in a preview, a secret shown as "[secret]").
 */
export function setFiles(p: SetContents | undefined): Record<string, string> | undefined {
  if (isRecord(p?.files)) {
    const files = p.files;
    return Object.values(files).every((c) => typeof c === "string") ? (files as Record<string, string>) : undefined;
  }
  if (isRecord(p?.fileRefs) && typeof p.fileStore === "string") {
    const refs = p.fileRefs;
    if (!Object.values(refs).every((r) => typeof r === "string")) return undefined;
    return loadFiles(p.fileStore, refs as Record<string, string>);
  }
  if (isRef(p?.fileManifest) && typeof p.fileStore === "string") return loadFiles(p.fileStore, loadManifest(p.fileStore, p.fileManifest));
  return undefined;
}
