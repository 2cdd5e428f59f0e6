/**
 * The unix accounts of a live host, as the import reads them: `getent passwd` within the
 * host's own UID_MIN..UID_MAX (/etc/login.defs), each user's authorized_keys, crontab and
 * quota. Pure parsers (lib/import/read-host.ts fetches the text).
 */
import { sshPublicKeyProblem } from "../schema/ssh-key";

export interface UnixAccount {
  user: string;
  uid: number;
  gid: number;
  /** The GECOS field's first part (often the member's name). */
  gecos: string;
  home: string;
  shell: string;
  /** Line in getent's output (for reports). */
  line: number;
}

/** The login accounts of `accounts.sh` output: "UID_MIN n", "UID_MAX n", then passwd lines. */
export function parseAccounts(text: string): { uidMin: number; uidMax: number; accounts: UnixAccount[] } {
  const lines = text.split("\n");
  const num = (key: string, dflt: number) => {
    const m = new RegExp(`^${key}\\s+(\\d+)\\s*$`, "m").exec(text);
    return m ? Number(m[1]) : dflt;
  };
  const uidMin = num("UID_MIN", 1000);
  const uidMax = num("UID_MAX", 60000);
  const accounts: UnixAccount[] = [];
  lines.forEach((l, i) => {
    const f = l.split(":");
    if (f.length !== 7) return;
    const uid = Number(f[2]);
    if (!Number.isInteger(uid) || uid < uidMin || uid > uidMax) return;
    accounts.push({ user: f[0] as string, uid, gid: Number(f[3]), gecos: (f[4] ?? "").split(",")[0]?.trim() ?? "", home: f[5] as string, shell: f[6] as string, line: i + 1 });
  });
  return { uidMin, uidMax, accounts };
}

export interface AccountDetails {
  /** Keys the schema accepts, as written (options-free lines). */
  keys: string[];
  /** Lines of authorized_keys the schema cannot hold (options, unknown types), with why. */
  refusedKeys: Array<{ line: number; why: string }>;
  /** The crontab's active lines (no comments, no blank lines). */
  cron: string[];
  /** The hard block limit in MB, when quotas are on for the user. */
  quotaMb?: number;
  /** Why no quota was read ("no quota tool", "no limit"). */
  quotaNote?: string;
}

/** A key line's problem for the schema, or undefined: options before the key type are not expressible. */
function keyProblem(line: string): string | undefined {
  if (!/^(ssh-|ecdsa-|sk-)/.test(line)) return "has options before the key (from=, command=, restrict…): the member file holds plain keys only";
  return sshPublicKeyProblem(line);
}

/** The three NUL-separated parts of `account-details.sh` output. */
export function parseAccountDetails(out: string): AccountDetails {
  const [keysText = "", cronText = "", quotaText = ""] = out.split("\0");
  const d: AccountDetails = { keys: [], refusedKeys: [], cron: [] };
  keysText.split("\n").forEach((raw, i) => {
    const l = raw.trim();
    if (!l || l.startsWith("#")) return;
    const bad = keyProblem(l);
    if (bad) d.refusedKeys.push({ line: i + 1, why: bad });
    else d.keys.push(l);
  });
  d.cron = cronText.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  const q = parseQuota(quotaText);
  if (q.mb !== undefined) d.quotaMb = q.mb;
  else d.quotaNote = q.note;
  return d;
}

/**
 * `quota -w -u USER` output: the first file system's hard block limit (1 KiB blocks) in MB,
 * rounded up. "no quota tool", "none" (no limits set) or an unreadable table give a note.
 */
export function parseQuota(text: string): { mb?: number; note: string } {
  const t = text.trim();
  if (!t || /no quota tool/.test(t)) return { note: "no quota tool on the host" };
  if (/\bnone\b/i.test(t)) return { note: "no quota set" };
  // Filesystem  blocks   quota   limit   grace   files   quota   limit   grace
  const row = t.split("\n").find((l) => /^\s*\/\S+\s+\d+\*?\s+\d+\s+\d+/.test(l));
  if (!row) return { note: `quota's output not understood: ${t.split("\n")[0]?.slice(0, 80)}` };
  const f = row.trim().split(/\s+/);
  const hard = Number(f[3]);
  const soft = Number(f[2]);
  const kb = hard || soft;
  if (!kb) return { note: "no quota set" };
  return { mb: Math.ceil(kb / 1024), note: "" };
}
