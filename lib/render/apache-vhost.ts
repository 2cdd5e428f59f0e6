import { paths } from "../model/paths";
import type { Model, SiteModel } from "../model/types";
import { apacheQuoted, apacheToken, lineComment } from "./escape";
import { renderTemplate } from "./handlebars";
import { generatedNotice } from "./notice";

/**
 * The Apache file of one site: apache2/sites-available/<host>.conf. An active member's site
 * serves its docroot (PHP through the member's own FPM pool); a suspended member's site keeps
 * every name but answers 503 with the notice page, and refers to nothing of the member's.
 */
export function renderVhost(site: SiteModel, _model: Model): string {
  const common = {
    notice: lineComment(generatedNotice(site.file)),
    tls: lineComment(tlsNote(site)),
    host: apacheToken(site.host),
  };
  if (site.status !== "active") {
    return renderTemplate("apache-vhost-suspended.conf", {
      ...common,
      handle: lineComment(site.handle),
      aliases: [...site.aliases, ...site.redirects].map(apacheToken),
      suspendedDir: apacheQuoted(paths.suspendedDir),
    });
  }
  return renderTemplate("apache-vhost.conf", {
    ...common,
    aliases: site.aliases.map(apacheToken),
    docroot: apacheQuoted(site.docroot),
    fpmHandler: site.php !== "none" && site.fpmSocket ? apacheQuoted(`proxy:unix:${site.fpmSocket}|fcgi://localhost`) : null,
    redirect:
      site.redirects.length > 0
        ? { name: apacheToken(site.redirects[0] as string), aliases: site.redirects.slice(1).map(apacheToken) }
        : null,
  });
}

/** TLS is not rendered yet (mod_md comes later); the comment says what the site asked for. */
function tlsNote(site: SiteModel): string {
  return site.tls === "acme"
    ? "TLS: acme (certificate through mod_md, not rendered yet: port 80 only for now)"
    : "TLS: none (the member chose plain HTTP, see tls_none_reason)";
}

/** apache2/sites-available/<site host>.conf */
export function vhostPath(site: SiteModel): string {
  return `apache2/sites-available/${site.host}.conf`;
}
