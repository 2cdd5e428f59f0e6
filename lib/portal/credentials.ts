import { generatePassword, hashPassword } from "../base/scrypt";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/**
 * The member portal's credentials (docs/architecture.md, "Member portal"): one password per
 * member, generated here (never chosen, so never reused from elsewhere or guessable), shown
 * once to whoever issues it, kept only as a scrypt hash in the portal's own file (0600,
 * outside git: `.lab/portal/credentials.json` in the lab). Node's `crypto.scrypt`, no package.
 *
 * Hash format: `scrypt$<log2 N>$<r>$<p>$<salt b64>$<key b64>`, so the cost can be raised later
 * and old hashes still verify.
 */

export { SCRYPT, NO_ONE, generatePassword, hashPassword, verifyPassword } from "../base/scrypt";

/** handle → hash, as the portal's credentials file holds them. */
export type Credentials = Map<string, string>;

export function readCredentials(file: string): Credentials {
  if (!existsSync(file)) return new Map();
  const raw = JSON.parse(readFileSync(file, "utf8")) as unknown;
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) throw new Error(`${file}: not a JSON object of member handle to hash`);
  const out: Credentials = new Map();
  for (const [k, v] of Object.entries(raw)) if (typeof v === "string") out.set(k, v);
  return out;
}

/** Writes the file 0600 (its folder 0700), replacing it atomically. */
export function writeCredentials(file: string, creds: Credentials): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(Object.fromEntries([...creds].sort(([a], [b]) => a.localeCompare(b))), null, 2) + "\n", { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}

/** A new password for `handle`: its hash replaces any earlier one in `file`; the password is returned once. */
export async function issuePassword(file: string, handle: string): Promise<string> {
  const creds = readCredentials(file);
  const password = generatePassword();
  creds.set(handle, await hashPassword(password));
  writeCredentials(file, creds);
  return password;
}
