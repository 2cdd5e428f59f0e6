import { createHmac, timingSafeEqual } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

/**
 * The checkout's folder for what a run keeps for the next (never in git: .gitignore's .pulumi/):
 * the shard index, the digest's stat cache, the load cache, the checked model, a shard's
 * rendered files. `name` is the file's name in it.
 */
export function runCacheFile(root: string, name: string): string {
  return join(root, ".pulumi", "globenet-shard-index", name);
}

/**
 * A cache file a run keeps for the next (the checked model, a shard's rendered files): a JSON
 * header line, an HMAC line, the body. The HMAC is keyed by the stack's passphrase and by
 * `purpose`, so a file planted in a checkout, or one cache's file put in another's place, is
 * never read. Written to a temporary file then renamed (a reader sees the old file or the new).
 */
function mac(purpose: string, key: string, header: string, body: string | Uint8Array): string {
  return createHmac("sha256", `${purpose}\0${key}`).update(header).update("\0").update(body).digest("hex");
}

export function writeSigned(file: string, purpose: string, key: string, header: object, body: string): void {
  const headerText = JSON.stringify(header);
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${headerText}\n${mac(purpose, key, headerText, body)}\n${body}`, { mode: 0o600 });
  renameSync(tmp, file);
}

/**
 * The header and body of `file` when its header is the one `wanted` accepts and its HMAC
 * verifies; undefined for a missing, torn, foreign or altered file (the caller computes anew).
 * The header is checked before the HMAC, so a stale file costs no hash of its body.
 */
export function readSigned<H>(file: string, purpose: string, key: string, wanted: (header: Partial<H>) => boolean): { header: H; body: string } | undefined {
  // Read as bytes, the HMAC over the bytes, the body decoded once: reading a 20 MB file as a
  // string and hashing that string (encoded again) took 0.3 s, this 0.12 s (docs/architecture.md,
  // "The digest's folder cache").
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch {
    return undefined;
  }
  const a = bytes.indexOf(0x0a);
  const b = a < 0 ? -1 : bytes.indexOf(0x0a, a + 1);
  if (b < 0) return undefined;
  const headerText = bytes.toString("utf8", 0, a);
  const body = bytes.subarray(b + 1);
  let header: Partial<H>;
  try {
    header = JSON.parse(headerText) as Partial<H>;
  } catch {
    return undefined;
  }
  if (!header || typeof header !== "object" || !wanted(header)) return undefined;
  const want = Buffer.from(mac(purpose, key, headerText, body), "hex");
  const got = Buffer.from(bytes.toString("latin1", a + 1, b), "hex");
  if (got.length !== want.length || !timingSafeEqual(got, want)) return undefined;
  return { header: header as H, body: body.toString("utf8") };
}
