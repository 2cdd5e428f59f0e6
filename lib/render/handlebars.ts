import { readFileSync } from "node:fs";
import { join } from "node:path";
import Handlebars from "handlebars";

/**
 * One Handlebars environment of our own, so no helper or partial registered elsewhere in the
 * process can change what a template prints. `noEscape`: Handlebars' HTML escaping is wrong
 * for every format we write; values arrive already escaped for their format (escape.ts).
 * `strict`: a field missing from the view throws instead of printing nothing.
 */
const handlebars = Handlebars.create();

const cache = new Map<string, Handlebars.TemplateDelegate>();

/** Shared pieces of templates ({{> name }}), compiled with the same options as the templates. */
const PARTIALS = ["live-cert"];
for (const name of PARTIALS) {
  const source = readFileSync(join(__dirname, "templates", `${name}.hbs`), "utf8");
  handlebars.registerPartial(name, handlebars.compile(source, { strict: true, noEscape: true }));
}

/** Renders lib/render/templates/<name>.hbs; each template is read and compiled once. */
export function renderTemplate(name: string, view: object): string {
  let template = cache.get(name);
  if (!template) {
    const source = readFileSync(join(__dirname, "templates", `${name}.hbs`), "utf8");
    template = handlebars.compile(source, { strict: true, noEscape: true });
    cache.set(name, template);
  }
  return template(view);
}
