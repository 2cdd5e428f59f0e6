import { paths } from "../model/paths";
import type { Model, SiteModel } from "../model/types";
import { apachePath, apacheQuoted, apacheToken, lineComment } from "./escape";
import { renderTemplate } from "./handlebars";
import { HTACCESS_DIRECTIVES, HTACCESS_OVERRIDE } from "./htaccess-policy";
import { generatedNotice } from "./notice";

/**
 * The Apache file of one site: apache2/sites-available/<host>.conf. An active member's site
 * serves its docroot (PHP through the member's own FPM pool); a suspended member's site keeps
 * every name but answers 503 with the notice page, and refers to nothing of the member's.
 */
export function renderVhost(site: SiteModel, model: Model): string {
  const acme = site.tls === "acme" && !!model.inventory.acme;
  const common = {
    notice: lineComment(generatedNotice(site.file)),
    tls: lineComment(tlsNote(site, acme)),
    host: apacheToken(site.host),
    // The member's own log folder under GLOBENET_SITE_LOGS (paths.siteLogRoot): what it may read.
    logDir: apacheToken(site.handle),
    // One certificate per site, for every name it answers to (redirects included).
    mdomain: acme ? [site.host, ...site.aliases, ...site.redirects].map(apacheToken).join(" ") : null,
    // mod_md's certificate of this site, live or staged to go live at this very (re)load.
    liveCert: acme ? liveCertFiles(model, site.host) : null,
    listeners: acme
      ? [
          { port: 80, tls: false, scheme: "http" },
          { port: 443, tls: true, scheme: "https" },
        ]
      : [{ port: 80, tls: false, scheme: "http" }],
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
    // mpm-itk's AssignUserID: the member's user and its own group.
    user: apacheToken(site.handle),
    docroot: apacheQuoted(site.docroot),
    // Constants of our own (htaccess-policy.ts), not member values.
    override: HTACCESS_OVERRIDE.join(" "),
    overrideList: HTACCESS_DIRECTIVES.join(" "),
    fpmHandler: site.php !== "none" && site.fpmSocket ? apacheQuoted(`proxy:unix:${site.fpmSocket}|fcgi://localhost`) : null,
    redirect:
      site.redirects.length > 0
        ? { name: apacheToken(site.redirects[0] as string), aliases: site.redirects.slice(1).map(apacheToken) }
        : null,
  });
}

/** Where mod_md keeps a site's certificate: in use (domains/) or going live at the next load (staging/). */
export function liveCertFiles(model: Model, host: string): string[] {
  const store = model.inventory.acme?.store_dir ?? "";
  return ["domains", "staging"].map((d) => apachePath(`${store}/${d}/${apacheToken(host)}/pubcert.pem`));
}

function tlsNote(site: SiteModel, acme: boolean): string {
  if (acme) return "TLS: acme (certificate from the stack's ACME CA through mod_md; HTTPS once it is issued)";
  return site.tls === "acme"
    ? "TLS: acme asked, but the stack has no acme section: HTTP only"
    : "TLS: none (the member chose plain HTTP, see tls_none_reason)";
}

/** apache2/sites-available/<site host>.conf */
export function vhostPath(site: SiteModel): string {
  return `apache2/sites-available/${site.host}.conf`;
}
