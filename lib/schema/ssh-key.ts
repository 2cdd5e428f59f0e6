import { createPublicKey } from "node:crypto";
import { utils } from "ssh2";

const ALLOWED = new Set([
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "sk-ssh-ed25519@openssh.com",
  "sk-ecdsa-sha2-nistp256@openssh.com",
  "ssh-rsa",
]);

export const MIN_RSA_BITS = 2048;

/**
 * Answers already given in this process: the same lines come back many times (a host's pinned
 * key is in every account's and database's target, which the provider's check validates at each
 * preview: 3,750 parses of one key on a web shard of 10,000 members). Bounded; the answer is a
 * function of the line alone.
 */
const answered = new Map<string, string | undefined>();
const ANSWERS_KEPT = 10_000;

/** Validates one OpenSSH public key line (`type base64 [comment]`); returns the problem or undefined. */
export function sshPublicKeyProblem(line: string): string | undefined {
  if (answered.has(line)) return answered.get(line);
  const problem = keyLineProblem(line);
  if (answered.size >= ANSWERS_KEPT) answered.clear();
  answered.set(line, problem);
  return problem;
}

/** A host's own key, pinned (the inventory's host_key): never a security key (FIDO), which a person holds and no sshd serves. */
export function sshHostKeyProblem(line: string): string | undefined {
  if (line.trim().startsWith("sk-")) return "is a security-key (FIDO) key, which a person holds; a host key is the host's own (get it with: ssh-keyscan -t ed25519 HOST)";
  return sshPublicKeyProblem(line);
}

/** How many answers are kept (tests). */
export function sshKeyAnswersKept(): number {
  return answered.size;
}

function keyLineProblem(line: string): string | undefined {
  if (/PRIVATE KEY/.test(line)) return "is a PRIVATE key (never share it: paste the public key, the .pub file, instead)";
  if (/[\r\n]/.test(line)) return "contains a line break (put each key on one line, as in the .pub file)";
  const trimmed = line.trim();
  const parts = trimmed.split(/\s+/);
  const type = parts[0] ?? "";
  if (!ALLOWED.has(type)) {
    if (type === "ssh-dss") return "is a DSA key, which OpenSSH no longer accepts (generate one with: ssh-keygen -t ed25519)";
    if (/[=,"]/.test(type)) return "starts with authorized_keys options (give the bare key: type, base64, comment)";
    return `has unknown key type "${type.slice(0, 40)}" (use an ssh-ed25519, ecdsa or ssh-rsa public key)`;
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f`$\\"]/.test(line)) return "contains a control character, quote, backslash, backtick or `$` (copy the key again from the .pub file)";
  if (type === "ssh-ed25519" && canonicalEd25519(trimmed)) return undefined;
  if (type.startsWith("sk-")) return securityKeyLine(trimmed) ? undefined : NOT_A_KEY;
  const parsed = utils.parseKey(trimmed);
  if (parsed instanceof Error) return NOT_A_KEY;
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key.isPrivateKey()) return "is a PRIVATE key (never share it: paste the public key, the .pub file, instead)";
  if (key.type === "ssh-rsa") {
    const bits = rsaBits(key.getPublicSSH());
    if (bits < MIN_RSA_BITS) return `is an RSA key of ${bits} bits, under the ${MIN_RSA_BITS} required (generate one with: ssh-keygen -t ed25519)`;
  }
  return undefined;
}

const NOT_A_KEY = "is not a valid OpenSSH public key (copy the whole line of the .pub file)";

/**
 * ssh2's grammar of a one-line OpenSSH public key (keyParser.js, OpenSSH_Public): the type, one
 * space, the base64, an optional comment. For the types read here without ssh2.
 */
function keyLineGrammar(types: string[]): RegExp {
  return new RegExp(`^(${types.map((t) => t.replace(/[.]/g, "\\.")).join("|")}) ([A-Z0-9a-z/+=]+)(?:$|\\s+(?:\\S.*)?)$`);
}

/** The two security-key (FIDO) types OpenSSH makes (`ssh-keygen -t ed25519-sk | ecdsa-sk`). */
const SK_LINE = keyLineGrammar(["sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com"]);
const ED25519_LINE = keyLineGrammar(["ssh-ed25519"]);

/** One SSH wire string (RFC 4251): its length on four bytes, then the bytes. */
export function wireString(bytes: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(bytes.length);
  return Buffer.concat([len, bytes]);
}

/** The SSH wire strings of a key blob, in order; undefined when a length runs past the end. */
export function wireStrings(blob: Buffer): Buffer[] | undefined {
  const out: Buffer[] = [];
  let at = 0;
  while (at < blob.length) {
    if (blob.length - at < 4) return undefined;
    const len = blob.readUInt32BE(at);
    if (blob.length - at - 4 < len) return undefined;
    out.push(blob.subarray(at + 4, at + 4 + len));
    at += 4 + len;
  }
  return out;
}

/**
 * A security-key public key line (OpenSSH's PROTOCOL.u2f): its type, then for ed25519-sk the
 * 32-byte key, for ecdsa-sk the curve "nistp256" and a point on it, then the application
 * (`ssh:` by default; OpenSSH takes any bytes, a NUL only last), nothing after. ssh2 parses
 * neither type (it answers "Unsupported key format"), so a member's FIDO key was refused as
 * invalid although listed as allowed; what sshd itself accepts, `ssh-keygen -l` says
 * (tests/unit-ssh-key-sk.test.ts holds this to it).
 */
export function securityKeyLine(trimmed: string): boolean {
  const m = SK_LINE.exec(trimmed);
  if (!m) return false;
  const parts = wireStrings(Buffer.from(m[2] as string, "base64"));
  if (!parts || parts[0]?.toString("latin1") !== m[1]) return false;
  // The application is a C string to OpenSSH (sshbuf_get_cstring): any bytes, even none, a NUL only as the last.
  const application = parts[parts.length - 1] as Buffer;
  const nul = application.indexOf(0);
  if (nul !== -1 && nul !== application.length - 1) return false;
  if (m[1] === "sk-ssh-ed25519@openssh.com") return parts.length === 3 && parts[1]?.length === 32;
  return parts.length === 4 && parts[1]?.toString("latin1") === "nistp256" && onP256(parts[2] as Buffer);
}

/** An uncompressed point of P-256 that OpenSSL takes as a public key (on the curve, not the identity). */
function onP256(q: Buffer): boolean {
  if (q.length !== 65 || q[0] !== 4) return false;
  try {
    createPublicKey({ key: { kty: "EC", crv: "P-256", x: q.subarray(1, 33).toString("base64url"), y: q.subarray(33).toString("base64url") }, format: "jwk" });
    return true;
  } catch {
    return false;
  }
}

/**
 * The line in the exact form of an ssh-ed25519 key (RFC 8709: the string "ssh-ed25519", then a
 * string of 32 bytes, nothing after): ssh2 accepts all of these, and checks an ed25519 key no
 * further than its length, but builds a PEM for each (about 50 µs a key: half of a member's
 * schema check at 10,000 members, `npm run bench -- data`). Anything else still goes to ssh2,
 * which also accepts looser forms (a longer type, bytes after the key).
 */
export function canonicalEd25519(trimmed: string): boolean {
  const m = ED25519_LINE.exec(trimmed);
  const parts = m ? wireStrings(Buffer.from(m[2] as string, "base64")) : undefined;
  return parts?.length === 2 && parts[0]?.toString("latin1") === "ssh-ed25519" && parts[1]?.length === 32;
}

/** Bit length of the modulus in an ssh-rsa wire blob: string type, mpint e, mpint n. */
function rsaBits(blob: Buffer): number {
  const n = wireStrings(blob)?.[2];
  if (!n) return 0;
  let i = 0;
  while (i < n.length && n[i] === 0) i++;
  if (i === n.length) return 0;
  return (n.length - i - 1) * 8 + (32 - Math.clz32(n[i] as number));
}
