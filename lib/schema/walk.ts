import type { z } from "zod";

/**
 * Reading the zod schemas as data, so that what describes a field (audit) and what tests a
 * field (tests/unit-schema-fields.test.ts) follow the schemas instead of a hand-kept copy.
 *
 * A schema path names a field independent of the file's values: `sites[].php` (a field of
 * every element of the list), `hosts{}.roles` (a field of every entry of a map). The options
 * of a discriminated union share their parent's path: `records[].priority`.
 */

type Any = z.ZodType;
interface Def {
  type: string;
  innerType?: Any;
  in?: Any;
  shape?: Record<string, Any>;
  element?: Any;
  valueType?: Any;
  options?: Any[];
  discriminator?: string;
  values?: unknown[];
  entries?: Record<string, string>;
}

export function defOf(s: Any): Def {
  return (s as unknown as { _zod: { def: Def } })._zod.def;
}

const WRAPPERS = new Set(["optional", "default", "prefault", "nullable", "readonly", "catch", "nonoptional"]);

/** The schema under optional/default/… wrappers (and the input side of a pipe). */
export function unwrap(s: Any): Any {
  let cur = s;
  for (;;) {
    const d = defOf(cur);
    if (WRAPPERS.has(d.type) && d.innerType) cur = d.innerType;
    else if (d.type === "pipe" && d.in) cur = d.in;
    else return cur;
  }
}

export function isOptional(s: Any): boolean {
  let cur = s;
  for (;;) {
    const d = defOf(cur);
    if (d.type === "optional" || d.type === "default" || d.type === "prefault") return true;
    if (WRAPPERS.has(d.type) && d.innerType) cur = d.innerType;
    else return false;
  }
}

/** The options of a union whose options are all objects (a choice of shapes), else undefined. */
export function objectOptions(s: Any): Any[] | undefined {
  const d = defOf(s);
  if (d.type !== "union" || !d.options) return undefined;
  const opts = d.options.map(unwrap);
  return opts.every((o) => defOf(o).type === "object") ? opts : undefined;
}

/** The literal value a union option carries in its discriminator field. */
export function discriminatorValue(option: Any, discriminator: string): unknown {
  const field = defOf(option).shape?.[discriminator];
  const values = field ? defOf(unwrap(field)).values : undefined;
  return values?.[0];
}

/** The option of a discriminated union that a value belongs to (by its discriminator). */
export function optionFor(s: Any, value: unknown): Any | undefined {
  const opts = objectOptions(s);
  const disc = defOf(s).discriminator;
  if (!opts || !disc || !value || typeof value !== "object") return undefined;
  const v = (value as Record<string, unknown>)[disc];
  return opts.find((o) => discriminatorValue(o, disc) === v);
}

/** Object-like: an object, or a union of objects. */
export function isObjectLike(s: Any): boolean {
  const u = unwrap(s);
  return defOf(u).type === "object" || objectOptions(u) !== undefined;
}

export type NodeKind = "object" | "list" | "map" | "leaf";

export interface SchemaNode {
  /** `sites[].php`; "" for the root. */
  path: string;
  kind: NodeKind;
  schema: Any;
}

export function joinPath(parent: string, key: string): string {
  return parent ? `${parent}.${key}` : key;
}

/**
 * Every node of a schema: objects, lists (`x`, their elements at `x[]`), maps (`x`, their
 * entries at `x{}`) and leaves. A list of scalars is a leaf: its items have no fields.
 */
export function schemaNodes(schema: Any): SchemaNode[] {
  const out = new Map<string, SchemaNode>();
  const visit = (s: Any, path: string) => {
    const u = unwrap(s);
    const d = defOf(u);
    const opts = objectOptions(u);
    if (d.type === "object" || opts) {
      if (!out.has(path)) out.set(path, { path, kind: "object", schema: u });
      for (const o of opts ?? [u]) for (const [k, child] of Object.entries(defOf(o).shape ?? {})) visit(child, joinPath(path, k));
      return;
    }
    if (d.type === "array" && d.element && isObjectLike(d.element)) {
      out.set(path, { path, kind: "list", schema: u });
      visit(d.element, `${path}[]`);
      return;
    }
    if (d.type === "record" && d.valueType) {
      out.set(path, { path, kind: "map", schema: u });
      visit(d.valueType, `${path}{}`);
      return;
    }
    out.set(path, { path, kind: "leaf", schema: u });
  };
  visit(schema, "");
  return [...out.values()];
}
