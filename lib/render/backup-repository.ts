import { UnsafeValueError } from "./escape";
import { renderTemplate } from "./handlebars";
import { generatedNotice } from "./notice";

/**
 * The backup host's weekly check of one repository (provider/scripts/backup/repo-check.sh,
 * installed by the backup Repository): a cron.d file. It runs on Saturdays, twelve hours away
 * from the nightly backups, so a long check of a big repository does not hold the lock they need.
 */
export interface RepoCheckCron {
  /** The protected host whose repository it is (inventory name). */
  sourceHost: string;
  /** The account that owns the repositories. */
  account: string;
  /** <backup.path>/<sourceHost>. */
  repository: string;
  /** The nightly backup's HH:MM (backup.time). */
  time: string;
}

export function renderRepoCheckCron(c: RepoCheckCron): string {
  const m = /^([01][0-9]|2[0-3]):([0-5][0-9])$/.exec(c.time);
  if (!m) throw new UnsafeValueError("the backup host's check cron file", c.time, 'the time must be HH:MM like "02:30"');
  // Words of a cron line and a cron.d file name: nothing a shell or cron reads specially.
  if (!/^[a-z0-9][a-z0-9-]{0,31}$/.test(c.sourceHost)) throw new UnsafeValueError("the backup host's check cron file", c.sourceHost, "the host must be an inventory host name");
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(c.account)) throw new UnsafeValueError("the backup host's check cron file", c.account, "the account must be a unix user name");
  if (!/^\/[A-Za-z0-9._/-]+$/.test(c.repository) || c.repository.includes("..")) throw new UnsafeValueError("the backup host's check cron file", c.repository, "the repository must be an absolute path of letters, digits, . _ - /");
  return renderTemplate("backup-repo-cron", {
    notice: generatedNotice("the inventory (Pulumi.<stack>.yaml, backup.time and backup.path)"),
    sourceHost: c.sourceHost,
    account: c.account,
    repository: c.repository,
    hour: String((Number(m[1]) + 12) % 24),
    minute: String(Number(m[2])),
    weekday: "6",
  });
}
