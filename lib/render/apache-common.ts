import { posix } from "node:path";
import { paths } from "../model/paths";
import type { Model } from "../model/types";
import { apacheQuoted, htmlText, lineComment, xmlComment } from "./escape";
import { renderTemplate } from "./handlebars";
import { generatedNotice, inventoryFile } from "./notice";

/** apache2/conf-available/globenet.conf: what every site of a web host relies on. */
export function renderApacheCommon(model: Model): string {
  return renderTemplate("apache-globenet.conf", {
    notice: lineComment(generatedNotice(inventoryFile(model.stack))),
    // The parent of every member's home, e.g. /home.
    homesDir: apacheQuoted(posix.dirname(paths.home("member"))),
    suspendedDir: apacheQuoted(paths.suspendedDir),
    itk: { minId: String(paths.webUid), maxId: String(paths.memberIds.max) },
    acme: model.inventory.acme
      ? {
          directory: apacheQuoted(model.inventory.acme.directory),
          contact: apacheQuoted(model.inventory.hostmaster),
          storeDir: apacheQuoted(model.inventory.acme.store_dir),
          caTrust: model.inventory.acme.ca_trust ? apacheQuoted(model.inventory.acme.ca_trust) : null,
          retryDelay: `${model.inventory.acme.retry_delay_sec}s`,
          eventScript: apacheQuoted(MD_EVENT_LIVE_PATH),
        }
      : null,
  });
}

/** Where the apply puts the apache2 file set (provider/resources/file-set-script.ts). */
const APACHE_SET_ROOT = "/etc/apache2/globenet";
export const MD_EVENT_PATH = "apache2/md-event.sh";
const MD_EVENT_LIVE_PATH = `${APACHE_SET_ROOT}/${MD_EVENT_PATH.slice("apache2/".length)}`;
/** Installed by the apache2 file set's wiring (file-set-script.ts), for md-event.sh. */
export const MD_SUDOERS_FILE = "/etc/sudoers.d/globenet-apache-reload";

/** apache2/md-event.sh: mod_md's MDMessageCmd, which puts renewed certificates live. */
export function renderMdEvent(model: Model): string {
  return renderTemplate("md-event.sh", {
    notice: lineComment(generatedNotice(`lib/render/templates/md-event.sh.hbs and ${inventoryFile(model.stack)}`)),
    sudoersFile: lineComment(MD_SUDOERS_FILE),
    // Apache's own lock directory (Debian: /var/lock/apache2, owned by the web server's user):
    // not /run/lock, where any member's PHP could take the lock and block every reload.
    lock: "/var/lock/apache2/globenet-md-reload.lock",
    delay: 5,
  });
}

export const APACHE_COMMON_PATH = "apache2/conf-available/globenet.conf";

/**
 * www/globenet-suspended/index.html: the notice every name of a suspended member's site
 * shows (with status 503). Static apart from the contact address, in French and English.
 */
export function renderSuspendedPage(model: Model): string {
  return renderTemplate("suspended-page.html", {
    notice: xmlComment(generatedNotice(`lib/render/templates/suspended-page.html.hbs and ${inventoryFile(model.stack)}`)),
    contact: htmlText(model.inventory.hostmaster),
    mailto: htmlText(`mailto:${model.inventory.hostmaster}`),
  });
}

/** Relative to the host's folder; paths.suspendedDir is where the CLI's www/ tree lands. */
export const SUSPENDED_PAGE_PATH = `www/${posix.basename(paths.suspendedDir)}/index.html`;
