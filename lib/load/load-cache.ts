import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { runCacheFile } from "../base/signed-file";

/**
 * The schema-checked value of each data file, kept between runs (docs/architecture.md, "A
 * shard's part, measured"): a run that finds a file with the same bytes (sha256) under the same
 * schemas takes the value recorded instead of parsing the YAML and running the schemas again
 * (at issue 24's size, four fifths of a whole load). Only files that loaded without any message
 * are recorded: an error is found again, the long way, at every run. The file's text is still
 * read (it is what is hashed) and kept, so a message that points into a cached file later (a
 * check across files) parses it again for its line and column, as for any file whose syntax
 * tree was let go (releaseSyntax).
 *
 * The cache is signed with the stack's passphrase, like the digest's stat cache beside it
 * (lib/load/digest.ts): a cache planted in the checkout (committed under .pulumi/ with
 * `git add -f`) could otherwise give a refused file the value of a valid one. It is read only
 * when it was written for the same stack and the same `schemaFingerprint()`: the source of the
 * schemas and of the loader, the versions of the libraries they call, and Node's.
 */
export interface LoadCacheOptions {
  /** The key that signs the cache (the stack's passphrase). */
  key: string;
  /** Tests only: the schemas' fingerprint (schemaFingerprint() by default). */
  fingerprint?: string;
  /** Filled in: files parsed and checked, files whose value came from the cache. */
  counts?: { parsed: number; cached: number };
}

/** Path → [sha256 of the file's bytes, the schema's value]. */
export type LoadCacheEntries = Record<string, [string, unknown]>;

/** Bump when the file's layout changes. */
const FORMAT = 1;

/** Where a checkout keeps the cache: beside the shard index and the digest's cache, never in git (.gitignore). */
export function loadCacheFile(root: string, stack: string): string {
  return runCacheFile(root, `${stack}.load-cache.json`);
}

function mac(body: string, key: string): string {
  return createHmac("sha256", `globenet-load-cache\0${key}`).update(body).digest("hex");
}

/** sha256 of a file's bytes, as recorded. */
export function bytesSha(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * The file is the MAC on its first line, then the body (JSON): one parse of the body, no
 * escaped copy of it inside another JSON string.
 */
export function writeLoadCache(root: string, stack: string, entries: LoadCacheEntries, key: string, fingerprint: string): void {
  const file = loadCacheFile(root, stack);
  mkdirSync(dirname(file), { recursive: true });
  const body = JSON.stringify({ v: FORMAT, stack, fingerprint, entries });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${mac(body, key)}\n${body}`, { mode: 0o600 });
  renameSync(tmp, file);
}

/** The recorded entries, when the MAC verifies with `key` and the cache is this stack's under these schemas. */
export function readLoadCache(root: string, stack: string, key: string, fingerprint: string): LoadCacheEntries | undefined {
  let text: string;
  try {
    text = readFileSync(loadCacheFile(root, stack), "utf8");
  } catch {
    return undefined;
  }
  const nl = text.indexOf("\n");
  if (nl !== 64) return undefined;
  const body = text.slice(nl + 1);
  const want = Buffer.from(mac(body, key), "hex");
  const got = Buffer.from(text.slice(0, nl), "hex");
  if (got.length !== want.length || !timingSafeEqual(got, want)) return undefined;
  let doc: { v?: unknown; stack?: unknown; fingerprint?: unknown; entries?: unknown };
  try {
    doc = JSON.parse(body) as typeof doc;
  } catch {
    return undefined;
  }
  if (doc.v !== FORMAT || doc.stack !== stack || doc.fingerprint !== fingerprint || !doc.entries || typeof doc.entries !== "object") return undefined;
  return doc.entries as LoadCacheEntries;
}

let fingerprint: string | null | undefined;

/**
 * What a file's schema value depends on besides its bytes: the schemas' and the loader's source
 * (every .ts file of lib/schema and lib/load, read from this checkout), the versions of the
 * libraries they call (YAML, zod, ssh2's key parser, ipaddr.js, tr46) and Node's. A schema
 * edited in any way, or a library upgraded, makes every recorded value stale; nothing has to be
 * remembered to bump. Undefined (no cache) when the sources cannot be read, as in a bundle.
 */
export function schemaFingerprint(): string | undefined {
  if (fingerprint !== undefined) return fingerprint ?? undefined;
  try {
    const h = createHash("sha256").update(`format ${FORMAT}\0node ${process.version}\0`);
    for (const dir of [join(__dirname, "..", "schema"), __dirname]) {
      for (const f of readdirSync(dir).filter((n) => n.endsWith(".ts")).sort()) h.update(`${f}\0`).update(readFileSync(join(dir, f))).update("\0");
    }
    for (const lib of ["yaml", "zod", "ssh2", "ipaddr.js", "tr46"]) {
      const pkg = JSON.parse(readFileSync(require.resolve(`${lib}/package.json`), "utf8")) as { version?: string };
      h.update(`${lib}@${pkg.version ?? "?"}\0`);
    }
    fingerprint = h.digest("hex");
  } catch {
    fingerprint = null;
  }
  return fingerprint ?? undefined;
}
