import { rmSync } from "node:fs";
import { join } from "node:path";
import { CRONTAB_ASIDE_DIR, OWNED_DIR } from "../../provider/resources/account-shared";
import { paths } from "../../lib/model/paths";
import { run } from "./tools";

const sh = (cmd: string, args: string[]) => run(cmd, args, { timeoutMs: 30_000 });

/**
 * Takes a test's member accounts off this machine, whatever a failed test left of them: the
 * logs mount on ~/logs, the user and its group, the provider's records of owning them, the home,
 * the crontab (in cron's spool or set aside by a suspension) and the site logs (which the
 * account's delete keeps for Globenet). Also for a test's other users (a local login, the
 * portal's): only what exists is removed.
 */
export function removeTestAccounts(handles: readonly string[]): void {
  for (const u of handles) {
    const logs = join(paths.home(u), "logs");
    for (let n = 0; n < 10 && sh("mountpoint", ["-q", logs]).status === 0; n++) sh("umount", ["--lazy", logs]);
    if (sh("getent", ["passwd", u]).status === 0) sh("userdel", [u]);
    if (sh("getent", ["group", u]).status === 0) sh("groupdel", [u]);
    for (const k of ["user", "group"]) rmSync(join(OWNED_DIR, k, u), { force: true });
    rmSync(paths.home(u), { recursive: true, force: true });
    for (const c of [join(paths.cronSpool, u), join(CRONTAB_ASIDE_DIR, u)]) rmSync(c, { force: true });
    rmSync(join(paths.siteLogRoot, u), { recursive: true, force: true });
  }
}
