/**
 * The status file a protected host's backup run writes (/var/lib/globenet/backup/status, by
 * provider/scripts/backup/run.sh), read back: one line per source (`home--velo-libre`) and for
 * `prune`, `check` and `run`, then `key=value` fields without spaces. Pure, so a status view
 * reads it the same way the tests do.
 */
export type BackupResult = "ok" | "warning" | "failed" | "absent" | "unsupported";

export interface BackupStatusLine {
  /** `<kind>--<name>` of a source, or `prune`, `check`, `run`. */
  id: string;
  result: BackupResult | string;
  /** The last good run (ISO 8601, UTC), undefined when never. */
  lastOk?: string;
  lastRun?: string;
  durationSeconds?: number;
  /** Bytes read (original size) and added after deduplication, for sources. */
  size?: number;
  added?: number;
  archive?: string;
  /** `run` only: the sources and steps that failed. */
  failed?: string[];
}

const num = (v: string | undefined): number | undefined => (v === undefined || v === "-" || !/^\d+$/.test(v) ? undefined : Number(v));
const val = (v: string | undefined): string | undefined => (v === undefined || v === "-" || v === "" ? undefined : v);

export function parseBackupStatus(text: string): BackupStatusLine[] {
  const out: BackupStatusLine[] = [];
  for (const line of text.split("\n")) {
    const [id, ...fields] = line.trim().split(/ +/);
    if (!id || fields.length === 0) continue;
    const f = new Map(fields.map((x) => [x.slice(0, x.indexOf("=")), x.slice(x.indexOf("=") + 1)] as const).filter(([k]) => k !== ""));
    const s: BackupStatusLine = { id, result: f.get("result") ?? "unknown" };
    const lastOk = val(f.get("last_ok"));
    if (lastOk) s.lastOk = lastOk;
    const lastRun = val(f.get("last_run"));
    if (lastRun) s.lastRun = lastRun;
    const d = num(f.get("duration"));
    if (d !== undefined) s.durationSeconds = d;
    const size = num(f.get("size"));
    if (size !== undefined) s.size = size;
    const added = num(f.get("added"));
    if (added !== undefined) s.added = added;
    const archive = val(f.get("archive"));
    if (archive) s.archive = archive;
    const failed = val(f.get("failed"));
    if (failed) s.failed = failed.split(",");
    out.push(s);
  }
  return out;
}

/**
 * Why a line needs a volunteer's eye, or undefined: its last run failed, it was never backed
 * up, or its last good run is older than the inventory's max_age_hours. `absent` (a folder
 * with nothing yet) is not a problem.
 */
export function backupProblem(s: BackupStatusLine, maxAgeHours: number, now: Date): string | undefined {
  if (s.result === "absent") return undefined;
  if (s.result === "failed") return `the last run failed${s.lastOk ? ` (last good ${s.lastOk})` : " and it never succeeded"}`;
  if (s.result === "unsupported") return "not backed up (this kind is not supported yet)";
  if (!s.lastOk) return "never backed up";
  const age = (now.getTime() - Date.parse(s.lastOk)) / 3_600_000;
  if (!Number.isFinite(age)) return `its last good time "${s.lastOk}" cannot be read`;
  if (age > maxAgeHours) return `the last good run is ${Math.floor(age)} h old (limit ${maxAgeHours} h)`;
  return undefined;
}
