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
