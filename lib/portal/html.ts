import { renderTemplate } from "../render/handlebars";
import { htmlText } from "../render/escape";

/**
 * HTML escaping for the portal's pages. The project's one Handlebars instance compiles every
 * template with `noEscape` (its escaping is wrong for the config formats it writes), so here
 * escaping is code: every string of a view is escaped before it reaches a template, leaves
 * and all, except what is wrapped in `Raw` (a page already rendered by this module, a
 * constant the portal writes itself). A member's name, a site or an alias holding `<script>`
 * or quotes arrives in the page as text (tests/portal-unit.test.ts, and over HTTPS in
 * tests/portal-https.test.ts).
 */

/** Markup the portal made itself (a rendered template): printed as is. */
export class Raw {
  constructor(readonly html: string) {}
}

// eslint-disable-next-line no-control-regex
const NOT_IN_HTML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\ufffe\uffff]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Text or attribute value in a page: & < > " ' escaped; characters HTML cannot carry become U+FFFD. */
export function html(s: string): string {
  return htmlText(s.replace(NOT_IN_HTML, "\uFFFD"));
}

/** A copy of `v` where every string is escaped and every Raw is its markup; numbers and booleans stay. */
export function escapeView(v: unknown): unknown {
  if (typeof v === "string") return html(v);
  if (v instanceof Raw) return v.html;
  if (Array.isArray(v)) return v.map(escapeView);
  if (v instanceof Date) return html(v.toISOString());
  if (v && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = escapeView(x);
    return out;
  }
  return v;
}

/** lib/render/templates/portal/<name>.hbs with `view` escaped. */
export function renderPage(name: string, view: object): string {
  return renderTemplate(`portal/${name}`, escapeView(view) as object);
}
