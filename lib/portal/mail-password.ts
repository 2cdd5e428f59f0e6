import { spawn } from "node:child_process";
import { mailPasswordHashProblem } from "../schema/mail";

/**
 * Mailbox passwords in the portal (docs/architecture.md, "Member portal"): hashed and checked
 * by Dovecot's own code, `doveadm pw`, the tool members/README.md already asks members to run.
 * The password goes to doveadm on stdin, never in argv (a `ps` would show it), never in a log,
 * never in git: the merge request carries only `{ARGON2ID}$argon2id$…`, the scheme the data's
 * example recommends. Checking a login is `doveadm pw -t HASH` with the password on stdin: every
 * scheme the schema accepts (ARGON2ID/I, BLF-CRYPT, SHA512-CRYPT, CRYPT yescrypt/bcrypt/sha512)
 * is verified the way the mail host verifies it. The portal's host needs `doveadm` (Debian's
 * dovecot-core; its daemon is not started).
 */

/**
 * What a member's new mailbox password must be (a new mailbox's, or a new one for a mailbox):
 * typed the same twice, at least 12 characters of at least 5 different ones, no control
 * character, no space at either end (a mail program may drop it), not containing the mailbox's
 * name. The French message is the form's.
 */
export function mailPasswordProblem(password: string, confirm: string, local: string): string | undefined {
  if (password !== confirm) return "les deux mots de passe ne sont pas identiques";
  if ([...password].length < 12) return "le mot de passe doit avoir au moins 12 caractères (une phrase de plusieurs mots est plus facile à retenir)";
  if ([...password].length > 200) return "le mot de passe doit avoir au plus 200 caractères";
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(password)) return "le mot de passe ne peut pas contenir de caractère de contrôle";
  if (password !== password.trim()) return "le mot de passe ne peut pas commencer ni finir par une espace (un logiciel de courriel pourrait l'enlever)";
  if (new Set(password.toLowerCase()).size < 5) return "le mot de passe est trop simple : trop peu de caractères différents";
  if (local.length > 0 && password.toLowerCase().includes(local.toLowerCase()) && local.length >= 4) return "le mot de passe ne doit pas contenir le nom de la boîte";
  return undefined;
}

function doveadm(args: string[], stdin: string, timeoutMs = 20_000): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    // -c /dev/null: `pw` needs no configuration, and the host's own (a mail host's) is not read.
    const p = spawn("doveadm", ["-c", "/dev/null", ...args], { stdio: ["pipe", "pipe", "pipe"], timeout: timeoutMs });
    let out = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString("utf8")));
    p.stderr.resume();
    p.on("error", reject);
    p.on("close", (code) => resolve({ code: code ?? -1, out }));
    p.stdin.end(stdin);
  });
}

/** `{ARGON2ID}$argon2id$…` of `password`, by `doveadm pw -s ARGON2ID` (the password typed twice on stdin). */
export async function hashMailPassword(password: string): Promise<string> {
  const { code, out } = await doveadm(["pw", "-s", "ARGON2ID"], `${password}\n${password}\n`);
  const hash = out.trim();
  // Never echo doveadm's output in an error: it is only ever a hash, but say nothing of the input.
  if (code !== 0 || mailPasswordHashProblem(hash) !== undefined) throw new Error(`doveadm pw -s ARGON2ID failed (exit ${code}): is dovecot-core installed on the portal's host?`);
  return hash;
}

/** A hash no password matches (checked for unknown addresses, so they cost the same time). */
export const NO_MAILBOX = "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

/** Whether `password` matches the Dovecot `hash` (doveadm pw -t); false for a malformed hash or any failure. */
export async function verifyMailPassword(password: string, hash: string): Promise<boolean> {
  if (mailPasswordHashProblem(hash) !== undefined || /[\r\n]/.test(password)) return false;
  try {
    const { code } = await doveadm(["pw", "-t", hash], `${password}\n`);
    return code === 0 && hash !== NO_MAILBOX;
  } catch {
    return false;
  }
}
