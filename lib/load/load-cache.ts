import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { readSigned, runCacheFile, writeSigned } from "../base/signed-file";

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

/** Bump when the file's layout changes (2: a signed file, lib/base/signed-file.ts). */
const FORMAT = 2;

/** Where a checkout keeps the cache: beside the shard index and the digest's cache, never in git (.gitignore). */
export function loadCacheFile(root: string, stack: string): string {
  return runCacheFile(root, `${stack}.load-cache.json`);
}

/** The cache's purpose in its signature: no other cache's file verifies as this one. */
const PURPOSE = "globenet-load-cache";

interface Header {
  v: typeof FORMAT;
  stack: string;
  fingerprint: string;
}

/** sha256 of a file's bytes, as recorded. */
export function bytesSha(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * A signed file (lib/base/signed-file.ts): the header (format, stack, schemas' fingerprint) on
 * its first line, checked before any hash, the MAC, then the entries as JSON, parsed once.
 */
export function writeLoadCache(root: string, stack: string, entries: LoadCacheEntries, key: string, fingerprint: string): void {
  writeSigned(loadCacheFile(root, stack), PURPOSE, key, { v: FORMAT, stack, fingerprint } satisfies Header, JSON.stringify(entries));
}

/** The recorded entries, when the MAC verifies with `key` and the cache is this stack's under these schemas. */
export function readLoadCache(root: string, stack: string, key: string, fingerprint: string): LoadCacheEntries | undefined {
  const read = readSigned<Header>(loadCacheFile(root, stack), PURPOSE, key, (h) => h.v === FORMAT && h.stack === stack && h.fingerprint === fingerprint);
  if (!read) return undefined;
  const entries = JSON.parse(read.body) as unknown;
  return entries && typeof entries === "object" ? (entries as LoadCacheEntries) : undefined;
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
