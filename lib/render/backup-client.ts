import { bracket } from "../model/address";
import type { BackupSource } from "../model/backup";
import { UnsafeValueError } from "./escape";
import { renderTemplate } from "./handlebars";
import { generatedNotice } from "./notice";

/**
 * What a protected host's backup run reads (provider/scripts/backup/run.sh): a line-based
 * sources file, so bash reads it with `IFS=$'\t' read -r -a` and never parses JSON, and the
 * cron.d file that starts the run. The provider's backup Client writes both under
 * /etc/globenet/backup and /etc/cron.d (docs/architecture.md, "Backups").
 */
export interface BackupClientConfig {
  /** The protected host (inventory name), for comments. */
  host: string;
  /** Where the repository is: the backup host's SSH account, address and port, and the path there. */
  backup: { address: string; port: number; user: string; repository: string };
  sources: BackupSource[];
  retention: { daily: number; weekly: number; monthly: number };
  checkEveryDays: number;
  /** HH:MM, the host's local time. */
  time: string;
  /** The MariaDB server's unix socket for the dumps; none: the client's default. */
  socket?: string;
}

/** One field of a sources line: printable, no tab or line break (the line format's only delimiters). */
function field(s: string, what: string): string {
  // eslint-disable-next-line no-control-regex
  if (s === "" || /[\u0000-\u001f\u007f]/.test(s)) throw new UnsafeValueError("the backup sources file", s, `${what} must be non-empty, without tabs, line breaks or control characters`);
  return s;
}

function num(n: number, what: string): string {
  if (!Number.isInteger(n) || n < 0) throw new UnsafeValueError("the backup sources file", String(n), `${what} must be a whole number`);
  return String(n);
}

/** borg's ssh:// URL of the repository (an IPv6 address goes in brackets). */
export function repositoryUrl(b: BackupClientConfig["backup"]): string {
  return `ssh://${b.user}@${bracket(b.address)}:${b.port}${b.repository}`;
}

/** The sources file's lines, without the comments. */
export function backupSourceLines(c: BackupClientConfig): string[][] {
  const lines: string[][] = [
    ["repository", repositoryUrl(c.backup)],
    ["retention", num(c.retention.daily, "retention.daily"), num(c.retention.weekly, "retention.weekly"), num(c.retention.monthly, "retention.monthly")],
    ["check_every_days", num(c.checkEveryDays, "checkEveryDays")],
  ];
  if (c.socket) lines.push(["socket", c.socket]);
  for (const s of c.sources) {
    if (s.kind === "home") lines.push(["home", s.name, s.path, ...s.excludes]);
    // The member's handle last, when known: run.sh reads it only for the metrics' labels (write_metrics).
    else if (s.kind === "database") lines.push(["database", s.name, ...(s.handle ? [s.handle] : [])]);
    else if (s.kind === "path") lines.push(["path", s.name, s.path]);
    else lines.push(["vps-disk", s.name, s.domain, s.disk, s.base, ...(s.handle ? [s.handle] : [])]);
  }
  return lines.map((l) => l.map((f, i) => field(f, `${l[0]} field ${i}`)));
}

export function renderBackupSources(c: BackupClientConfig): string {
  return renderTemplate("backup-sources", {
    notice: generatedNotice("the inventory (Pulumi.<stack>.yaml, backup:) and members/"),
    host: field(c.host, "host"),
    lines: backupSourceLines(c).map((l) => l.join("\t")),
  });
}

export function renderBackupCron(c: Pick<BackupClientConfig, "host" | "time" | "checkEveryDays">): string {
  const m = /^([01][0-9]|2[0-3]):([0-5][0-9])$/.exec(c.time);
  // In a cron line and a cron.d file name: an inventory host name only.
  if (!/^[a-z0-9][a-z0-9-]{0,31}$/.test(c.host)) throw new UnsafeValueError("the backup cron file", c.host, "the host must be an inventory host name");
  if (!m) throw new UnsafeValueError("the backup cron file", c.time, 'the time must be HH:MM like "02:30"');
  return renderTemplate("backup-cron", {
    notice: generatedNotice("the inventory (Pulumi.<stack>.yaml, backup.time and backup.check_every_days)"),
    host: field(c.host, "host"),
    // cron reads 02 as 2 either way; without the zero it reads as cron's own examples do.
    hour: String(Number(m[1])),
    minute: String(Number(m[2])),
    checkEveryDays: num(c.checkEveryDays, "checkEveryDays"),
  });
}
