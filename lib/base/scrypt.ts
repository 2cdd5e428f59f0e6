import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";

/**
 * The member portal's password and its hash (docs/architecture.md, "Member portal"), shared by
 * the provider that makes a member's password at apply (provider/resources/portal-password.ts)
 * and the portal that verifies it (lib/portal/credentials.ts). Node's `crypto.scrypt`, no package.
 * Hash format: `scrypt$<log2 N>$<r>$<p>$<salt b64>$<key b64>`, so the cost can be raised later
 * and old hashes still verify.
 */
export const SCRYPT = { logN: 15, r: 8, p: 1, keyLen: 32 } as const;

function derive(password: string, salt: Buffer, logN: number, r: number, p: number, keyLen: number): Promise<Buffer> {
  const N = 2 ** logN;
  return new Promise((resolve, reject) =>
    scrypt(password, salt, keyLen, { N, r, p, maxmem: 256 * N * r }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, SCRYPT.logN, SCRYPT.r, SCRYPT.p, SCRYPT.keyLen);
  return ["scrypt", SCRYPT.logN, SCRYPT.r, SCRYPT.p, salt.toString("base64"), key.toString("base64")].join("$");
}

/** A hash no password matches, verified for unknown names so they cost the same time as known ones. */
export const NO_ONE = "scrypt$15$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

/** Whether `password` matches `hash`; false (never an exception) for a malformed hash. */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  const m = /^scrypt\$(\d{1,2})\$(\d{1,2})\$(\d{1,2})\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(hash);
  if (!m) return false;
  const [logN, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (logN < 14 || logN > 20 || r < 1 || r > 16 || p < 1 || p > 4) return false;
  const want = Buffer.from(m[5] as string, "base64");
  if (want.length < 16) return false;
  const got = await derive(password, Buffer.from(m[4] as string, "base64"), logN, r, p, want.length);
  return timingSafeEqual(got, want) && hash !== NO_ONE;
}

/** 20 characters from an alphabet without look-alikes (100 bits). */
export function generatePassword(): string {
  const alphabet = "abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRSTUVWXYZ23456789";
  const out: string[] = [];
  while (out.length < 20) {
    const b = randomBytes(32);
    for (const x of b) if (x < alphabet.length * 4 && out.length < 20) out.push(alphabet[x % alphabet.length] as string);
  }
  return out.join("");
}

