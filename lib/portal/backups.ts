import type { BackupPlan, BackupSource } from "../model/backup";
import type { BackupRow, BackupState } from "../status/backups";

/**
 * The last backup of each of a member's objects (docs/architecture.md, "Member portal"): the
 * backup plan of the member's own model (`modelOf`), restricted to the sources that are theirs
 * (their home, their databases, their VPS disks: the sources that carry their handle), read by
 * `npm run status -- backups`' own code (readBackups) and judged the same way. The hosts'
 * shared lines (a run, a check, the homes archive, the mail store, the backup host's checks)
 * are not the member's and are left out. Pure but for the read, which the caller does.
 */
export type MemberSourceKind = "home" | "database" | "vps-disk";

export interface MemberBackup {
  kind: MemberSourceKind;
  /** The source's name: the handle (home), the database, the VPS's libvirt domain. */
  name: string;
  host: string;
  lastOk?: Date;
  ageHours?: number;
  /** As the status view judges it; "unread" when the host's status could not be read. */
  state: BackupState | "unread";
}

const isMine = (s: BackupSource, handles: ReadonlySet<string>): s is Extract<BackupSource, { handle: string }> => "handle" in s && handles.has(s.handle);

/** The plan with only `handle`'s own sources (or those of several members: the snapshot's); hosts left without any are dropped. */
export function memberPlan(plan: BackupPlan, handle: string | readonly string[]): BackupPlan {
  const handles = new Set(typeof handle === "string" ? [handle] : handle);
  return {
    ...plan,
    hosts: plan.hosts.map((h) => ({ ...h, sources: h.sources.filter((s) => isMine(s, handles)) })).filter((h) => h.sources.length > 0),
  };
}

/** One entry per source of the member's plan, from readBackups' rows (a host it could not reach: "unread"). */
export function memberBackups(plan: BackupPlan, handle: string, rows: readonly BackupRow[]): MemberBackup[] {
  const out: MemberBackup[] = [];
  for (const hp of memberPlan(plan, handle).hosts) {
    const unreachable = rows.some((r) => r.host === hp.host && r.id === "run" && r.result?.startsWith("unreachable"));
    for (const s of hp.sources) {
      const kind = s.kind as MemberSourceKind;
      const row = rows.find((r) => r.host === hp.host && r.id === `${s.kind}--${s.name}`);
      if (unreachable || !row) out.push({ kind, name: s.name, host: hp.host, state: "unread" });
      else out.push({ kind, name: s.name, host: hp.host, state: row.state, ...(row.lastOk ? { lastOk: row.lastOk } : {}), ...(row.ageHours !== undefined ? { ageHours: row.ageHours } : {}) });
    }
  }
  return out;
}
