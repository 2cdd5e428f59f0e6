import type { z } from "zod";

type AnyDef = { type: string; innerType?: unknown; element?: unknown; shape?: Record<string, unknown>; options?: unknown[]; in?: unknown; valueType?: unknown; schema?: unknown };

function def(s: unknown): AnyDef | undefined {
  return (s as { _zod?: { def?: AnyDef } })?._zod?.def;
}

/** Peels optional/default/pipe/refinement wrappers off a schema. */
function unwrap(s: unknown): unknown {
  for (let i = 0; i < 20; i++) {
    const d = def(s);
    if (!d) return s;
    if (d.innerType) s = d.innerType;
    else if (d.type === "pipe" && d.in) s = d.in;
    else return s;
  }
  return s;
}

/**
 * The keys allowed by the object schema found at `path` inside `schema`, for "did you mean"
 * hints on unknown keys. `data` picks the branch of discriminated unions.
 */
export function allowedKeysAt(schema: z.ZodType, path: ReadonlyArray<PropertyKey>, data: unknown): string[] {
  let s: unknown = unwrap(schema);
  let value: unknown = data;
  for (const seg of path) {
    s = branch(s, value);
    const d = def(s);
    if (!d) return [];
    if (d.type === "object" && d.shape) s = unwrap(d.shape[String(seg)]);
    else if (d.type === "array" && d.element) s = unwrap(d.element);
    else if (d.type === "record" && d.valueType) s = unwrap(d.valueType);
    else return [];
    value = (value as Record<PropertyKey, unknown> | undefined)?.[seg as never];
  }
  s = branch(s, value);
  const d = def(s);
  return d?.type === "object" && d.shape ? Object.keys(d.shape) : [];
}

function branch(s: unknown, value: unknown): unknown {
  const d = def(s);
  if (d?.type !== "union" || !d.options) return s;
  const type = (value as { type?: unknown } | undefined)?.type;
  for (const o of d.options) {
    const od = def(unwrap(o));
    const lit = def(unwrap(od?.shape?.type)) as { values?: unknown[] } | undefined;
    if (lit?.values?.includes(type)) return unwrap(o);
  }
  return unwrap(d.options[0]);
}

/** The closest allowed key, when the typo is small enough to be one. */
export function closest(key: string, allowed: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const a of allowed) {
    const d = distance(key.toLowerCase(), a);
    if (d < bestD) {
      bestD = d;
      best = a;
    }
  }
  return bestD <= Math.max(1, Math.floor(key.length / 3)) ? best : undefined;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j] as number;
      row[j] = Math.min((row[j] as number) + 1, (row[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length] as number;
}
