import { paths } from "../model/paths";
import type { Model } from "../model/types";
import { lineComment, UnsafeValueError } from "./escape";
import { renderTemplate } from "./handlebars";
import { generatedNotice, inventoryFile } from "./notice";

/** In the apache2 file set; the set's wiring copies it to /etc/logrotate.d/globenet-sites. */
export const SITE_LOGROTATE_PATH = "apache2/logrotate-sites.conf";

/** logrotate's configuration for the members' site logs (paths.siteLogRoot), kept the inventory's site_logs.keep_days. */
export function renderSiteLogrotate(model: Model): string {
  // A constant of ours; logrotate reads a path with spaces or quotes differently.
  if (!/^\/[A-Za-z0-9._/-]+$/.test(paths.siteLogRoot)) throw new UnsafeValueError("logrotate", paths.siteLogRoot, "not a plain absolute path");
  return renderTemplate("site-logrotate.conf", {
    notice: lineComment(generatedNotice(inventoryFile(model.stack))),
    root: paths.siteLogRoot,
    days: String(model.inventory.site_logs.keep_days),
  });
}
