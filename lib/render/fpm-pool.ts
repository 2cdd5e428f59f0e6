import { memberOf, type FpmPoolModel, type Model } from "../model/types";
import { fpmIniValue, lineComment } from "./escape";
import { renderTemplate } from "./handlebars";
import { generatedNotice } from "./notice";

/**
 * One member's PHP-FPM pool for one PHP version on one web host. PHP runs as the member's
 * unix user, confined to the home by open_basedir, with its temporary files and sessions in
 * <home>/tmp so that no member can read another's through the shared /tmp.
 */
export function renderFpmPool(pool: FpmPoolModel, model: Model): string {
  const member = memberOf(model, pool.handle);
  const home = pool.home.replace(/\/+$/, "");
  const php = pool.settings.php;
  return renderTemplate("fpm-pool.conf", {
    notice: lineComment(generatedNotice(member?.file ?? `members/${pool.handle}/member.yaml`)),
    name: fpmIniValue(pool.handle),
    user: fpmIniValue(pool.handle),
    socket: fpmIniValue(pool.socket),
    basedir: fpmIniValue(`${home}/`),
    tmp: fpmIniValue(`${home}/tmp`),
    pm: fpmIniValue(pool.settings.pm.mode),
    maxChildren: pool.settings.pm.maxChildren,
    idleTimeout: `${pool.settings.pm.processIdleTimeoutSec}s`,
    terminateTimeout: `${2 * php.max_execution_time_s}s`,
    memoryLimit: `${php.memory_limit_mb}M`,
    uploadMax: `${php.upload_max_mb}M`,
    // The request body is the file plus the form around it.
    postMax: `${php.upload_max_mb + 1}M`,
    maxExecutionTime: php.max_execution_time_s,
  });
}

/** php/<version>/fpm/pool.d/globenet-<handle>.conf, as under /etc. */
export function fpmPoolPath(pool: FpmPoolModel): string {
  return `php/${pool.phpVersion}/fpm/pool.d/globenet-${pool.handle}.conf`;
}
