import { posix } from "node:path";
import { paths } from "../model/paths";
import type { Model } from "../model/types";
import { apachePath, apacheQuoted, htmlText, lineComment, xmlComment } from "./escape";
import { renderTemplate } from "./handlebars";
import { MD_RELOAD_FLAG, MD_RELOAD_UNIT } from "./md-reload";
import { generatedNotice, inventoryFile } from "./notice";

/** apache2/conf-available/globenet.conf: what every site of a web host relies on. */
export function renderApacheCommon(model: Model): string {
  return renderTemplate("apache-globenet.conf", {
    notice: lineComment(generatedNotice(inventoryFile(model.stack))),
    // The parent of every member's home, e.g. /home.
    homesDir: apacheQuoted(posix.dirname(paths.home("member"))),
    suspendedDir: apacheQuoted(paths.suspendedDir),
    siteLogRoot: apachePath(paths.siteLogRoot),
    itk: { minId: String(paths.webUid), maxId: String(paths.memberIds.max) },
    tlsCiphers: TLS_CIPHERS.join(":"),
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

/** Mozilla's "intermediate" TLS 1.2 ciphers (TLS 1.3's are all AEAD): ECDHE or DHE, GCM or ChaCha20. */
export const TLS_CIPHERS = [
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES128-GCM-SHA256",
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-CHACHA20-POLY1305",
  "ECDHE-RSA-CHACHA20-POLY1305",
  "DHE-RSA-AES128-GCM-SHA256",
  "DHE-RSA-AES256-GCM-SHA384",
  "DHE-RSA-CHACHA20-POLY1305",
];

/** Where the apply puts the apache2 file set (provider/scripts/file-set/file-set.sh). */
const APACHE_SET_ROOT = "/etc/apache2/globenet";
export const MD_EVENT_PATH = "apache2/md-event.sh";
const MD_EVENT_LIVE_PATH = `${APACHE_SET_ROOT}/${MD_EVENT_PATH.slice("apache2/".length)}`;
/** apache2/md-event.sh: mod_md's MDMessageCmd, which asks for renewed certificates to go live (md-reload.ts). */
export function renderMdEvent(model: Model): string {
  return renderTemplate("md-event.sh", {
    notice: lineComment(generatedNotice(`lib/render/templates/md-event.sh.hbs and ${inventoryFile(model.stack)}`)),
    // In Apache's own lock directory (Debian: /var/lock/apache2, the web server user's): members
    // cannot create or remove the request there.
    flag: MD_RELOAD_FLAG,
    unit: lineComment(`${MD_RELOAD_UNIT}.path`),
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
