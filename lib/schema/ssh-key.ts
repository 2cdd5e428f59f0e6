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

/** How many answers are kept (tests). */
export function sshKeyAnswersKept(): number {
  return answered.size;
}

function keyLineProblem(line: string): string | undefined {
  if (/PRIVATE KEY/.test(line)) return "is a PRIVATE key (never share it: paste the public key, the .pub file, instead)";
  if (/[\r\n]/.test(line)) return "contains a line break (put each key on one line, as in the .pub file)";
  const parts = line.trim().split(/\s+/);
  const type = parts[0] ?? "";
  if (!ALLOWED.has(type)) {
    if (type === "ssh-dss") return "is a DSA key, which OpenSSH no longer accepts (generate one with: ssh-keygen -t ed25519)";
    if (/[=,"]/.test(type)) return "starts with authorized_keys options (give the bare key: type, base64, comment)";
    return `has unknown key type "${type.slice(0, 40)}" (use an ssh-ed25519, ecdsa or ssh-rsa public key)`;
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f`$\\"]/.test(line)) return "contains a control character, quote, backslash, backtick or `$` (copy the key again from the .pub file)";
  if (type === "ssh-ed25519" && canonicalEd25519(line.trim())) return undefined;
  const parsed = utils.parseKey(line.trim());
  if (parsed instanceof Error) return "is not a valid OpenSSH public key (copy the whole line of the .pub file)";
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key.isPrivateKey()) return "is a PRIVATE key (never share it: paste the public key, the .pub file, instead)";
  if (key.type === "ssh-rsa") {
    const bits = rsaBits(key.getPublicSSH());
    if (bits < MIN_RSA_BITS) return `is an RSA key of ${bits} bits, under the ${MIN_RSA_BITS} required (generate one with: ssh-keygen -t ed25519)`;
  }
  return undefined;
}

/** ssh2's grammar of a one-line OpenSSH public key (keyParser.js, OpenSSH_Public), for the one type read here without it. */
const ED25519_LINE = /^ssh-ed25519 ([A-Z0-9a-z/+=]+)(?:$|\s+(?:\S.*)?)$/;

/**
 * The line in the exact form of an ssh-ed25519 key (RFC 8709: the string "ssh-ed25519", then a
 * string of 32 bytes, nothing after): ssh2 accepts all of these, and checks an ed25519 key no
 * further than its length, but builds a PEM for each (about 50 µs a key: half of a member's
 * schema check at 10,000 members, `npm run bench -- data`). Anything else still goes to ssh2,
 * which also accepts looser forms (a longer type, bytes after the key).
 */
export function canonicalEd25519(trimmed: string): boolean {
  const m = ED25519_LINE.exec(trimmed);
  if (!m) return false;
  const blob = Buffer.from(m[1] as string, "base64");
  return (
    blob.length === 4 + 11 + 4 + 32 &&
    blob.readUInt32BE(0) === 11 &&
    blob.toString("latin1", 4, 15) === "ssh-ed25519" &&
    blob.readUInt32BE(15) === 32
  );
}

/** Bit length of the modulus in an ssh-rsa wire blob: string type, mpint e, mpint n. */
function rsaBits(blob: Buffer): number {
  let off = 0;
  const next = () => {
    const len = blob.readUInt32BE(off);
    const v = blob.subarray(off + 4, off + 4 + len);
    off += 4 + len;
    return v;
  };
  next();
  next();
  const n = next();
  let i = 0;
  while (i < n.length && n[i] === 0) i++;
  if (i === n.length) return 0;
  return (n.length - i - 1) * 8 + (32 - Math.clz32(n[i] as number));
}
