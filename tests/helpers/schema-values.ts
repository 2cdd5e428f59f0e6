import type { z } from "zod";
import { defOf, unwrap } from "../../lib/schema/walk";

/** Values generated from a schema leaf, for tests that change every field (unit tier). */

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK+tBZeYUZ4D98ehwVRHgYI6hfIPcJsByHLI3gzNJUtK bureau@laptop";

const SAMPLES = ["x", "velo", "8.3", "public", "example.org", "a@example.org", "203.0.113.9", "2001:db8::9", "/var/tmp/x", "1h", "04:15", "52:54:00:aa:bb:cc", "0123abcd", "https://ca.example/d", "hello", KEY];

/** Variations of a string one character apart: "8.2" → "8.3", "203.0.113.20" → "203.0.113.21". */
function nearby(s: string): string[] {
  const out: string[] = [];
  for (let i = s.length - 1; i >= 0; i--) {
    const c = s[i] as string;
    let r: string | undefined;
    if (/[0-8]/.test(c)) r = String(Number(c) + 1);
    else if (c === "9") r = "8";
    else if (/[a-y]/.test(c)) r = String.fromCharCode(c.charCodeAt(0) + 1);
    else if (c === "z") r = "y";
    if (r) out.push(s.slice(0, i) + r + s.slice(i + 1));
  }
  return out;
}

/** A value of the leaf's own schema, different from `cur`: another enum member, a number in range, a nearby valid string. */
export function another(leaf: z.ZodType, cur: unknown): unknown {
  const d = defOf(leaf);
  const ok = (v: unknown) => JSON.stringify(v) !== JSON.stringify(cur) && leaf.safeParse(v).success;
  if (d.type === "enum") return Object.values(d.entries ?? {}).find(ok);
  if (d.type === "literal") return d.values?.find(ok);
  if (d.type === "boolean") return !(cur ?? false);
  if (d.type === "number") {
    const n = leaf as unknown as { minValue: number | null; maxValue: number | null };
    const c = typeof cur === "number" ? cur : (n.minValue ?? 0);
    return [c + 1, c - 1, n.minValue, n.maxValue].find(ok);
  }
  if (d.type === "array" && d.element) {
    const list = Array.isArray(cur) ? cur : [];
    const el = unwrap(d.element);
    const fresh = (v: unknown) => v !== undefined && !list.some((x) => JSON.stringify(x) === JSON.stringify(v));
    const pool = defOf(el).type === "enum" ? Object.values(defOf(el).entries ?? {}) : [another(el, list[0]), ...list.map((x) => another(el, x))];
    const item = pool.find(fresh);
    return item === undefined ? undefined : [...list, item];
  }
  if (d.type === "union" && d.options) {
    for (const o of d.options) {
      const v = another(unwrap(o), cur);
      if (v !== undefined && ok(v)) return v;
    }
    return undefined;
  }
  const candidates = [...(typeof cur === "string" ? nearby(cur) : []), ...SAMPLES];
  return candidates.find(ok);
}

