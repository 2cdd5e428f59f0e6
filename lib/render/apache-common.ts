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
