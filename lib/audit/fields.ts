import type { z } from "zod";
import type { FieldLabel, Labels } from "../schema/labels";
import { labelProblems } from "../schema/labels";
import { defOf, isObjectLike, joinPath, objectOptions, optionFor, unwrap } from "../schema/walk";

/**
 * A data file's change in words, field by field, by walking its schema: every field the schema
 * has is compared, so a field added to a schema is described from the day it exists — with
 * its label from lib/schema/labels.ts when it has one, else by its path. Nothing here lists
 * the fields by hand.
 */

const MAX_VALUE = 48;

export function short(s: string): string {
  return s.length > MAX_VALUE ? `${s.slice(0, MAX_VALUE - 1)}…` : s;
}

/** An SSH public key by its comment, else its type and the end of its key data. */
export function sshKeyLabel(key: string): string {
  const [type = "", data = "", ...comment] = key.trim().split(/\s+/);
  return comment.length > 0 ? comment.join(" ") : `${type} …${data.slice(-8)}`;
}

/** Where a value sits: its schema path (for labels) and how a sentence names it. */
export interface At {
  /** Schema path, `sites[].php`. */
  spath: string;
  /** Words before the field's name: "site velo.example: ". */
  prefix: string;
  /** Keys since the last labelled object, for a field without a label: ["contact", "phone"]. */
  rel: string[];
}

/** A field whose sentence is written by hand (records read as a zone file does). */
export type Custom = (before: unknown, after: unknown, at: At, name: string) => string[];

export interface Describer {
  labels: Labels;
  custom?: Readonly<Record<string, Custom>>;
}

const checked = new WeakSet<Labels>();

/** Fails loudly on a label that names no field: a stale label would hide the field it meant. */
export function assertLabels(schema: z.ZodType, labels: Labels): void {
  if (checked.has(labels)) return;
  const problems = labelProblems(schema, labels);
  if (problems.length > 0) throw new Error(`lib/schema/labels.ts: ${problems.join("; ")}`);
  checked.add(labels);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** A value for a sentence: `unset` (or the label's word) when absent. */
export function show(v: unknown, l?: FieldLabel): string {
  if (v === undefined || v === null) return l?.unset ?? "unset";
  if (typeof v === "string") return l?.quote ? `"${short(v)}"` : short(v);
  return short(JSON.stringify(v));
}

function itemName(v: unknown, l?: FieldLabel): string {
  if (l?.item === "ssh-key" && typeof v === "string") return sshKeyLabel(v);
  return typeof v === "string" ? v : short(JSON.stringify(v));
}

/** How the field at `at` is named in a sentence: its label, else its path. */
export function fieldName(at: At, labels: Labels): string {
  const l = labels[at.spath];
  return l && l.label !== "" ? l.label : at.rel.join(".");
}

export function describeFields(schema: z.ZodType, before: unknown, after: unknown, d: Describer, at: At = { spath: "", prefix: "", rel: [] }): string[] {
  const out: string[] = [];
  walk(schema, before, after, d, at, out);
  return out;
}

function walk(schema: z.ZodType, before: unknown, after: unknown, d: Describer, at: At, out: string[]): void {
  if (same(before, after)) return;
  const l = d.labels[at.spath];
  const name = fieldName(at, d.labels);
  const custom = d.custom?.[at.spath];
  if (custom) {
    out.push(...custom(before, after, at, name));
    return;
  }
  const s = unwrap(schema);
  const def = defOf(s);
  if (objectOptions(s)) {
    const ob = optionFor(s, before);
    const oa = optionFor(s, after);
    if (ob && ob === oa) return walk(ob, before, after, d, at, out);
    out.push(`${at.prefix}${name} ${show(before, l)} → ${show(after, l)}`);
    return;
  }
  if (def.type === "object" && (isPlainObject(before) || isPlainObject(after))) {
    const b = isPlainObject(before) ? before : {};
    const a = isPlainObject(after) ? after : {};
    const base = l ? { prefix: l.label ? `${at.prefix}${l.label}: ` : at.prefix, rel: [] } : { prefix: at.prefix, rel: at.rel };
    for (const [k, child] of Object.entries(def.shape ?? {})) {
      walk(child, b[k], a[k], d, { spath: joinPath(at.spath, k), prefix: base.prefix, rel: [...base.rel, k] }, out);
    }
    return;
  }
  if (def.type === "array" && def.element && (Array.isArray(before) || Array.isArray(after))) {
    const b = Array.isArray(before) ? before : [];
    const a = Array.isArray(after) ? after : [];
    if (isObjectLike(def.element)) objectList(def.element, b, a, d, at, name, out);
    else scalarList(b, a, l, `${at.prefix}${name}`, out);
    return;
  }
  if (def.type === "record" && def.valueType && (isPlainObject(before) || isPlainObject(after))) {
    const b = isPlainObject(before) ? before : {};
    const a = isPlainObject(after) ? after : {};
    for (const k of Object.keys(a)) if (!(k in b)) out.push(`${at.prefix}${name} ${k} added`);
    for (const k of Object.keys(b)) if (!(k in a)) out.push(`${at.prefix}${name} ${k} removed`);
    for (const k of Object.keys(a)) {
      if (k in b) walk(def.valueType, b[k], a[k], d, { spath: `${at.spath}{}`, prefix: `${at.prefix}${name} ${k}: `, rel: [] }, out);
    }
    return;
  }
  if (l?.hidden) {
    out.push(`${at.prefix}${name} ${before === undefined ? "set" : after === undefined ? "removed" : "replaced"} (not shown)`);
    return;
  }
  const unit = l?.unit ?? "";
  let [b, a] = [show(before, l), show(after, l)];
  // Two long values cut the same (a rotated SSH host key) would read as no change: show their ends.
  if (b === a && typeof before === "string" && typeof after === "string") [b, a] = [`…${before.slice(-(MAX_VALUE - 1))}`, `…${after.slice(-(MAX_VALUE - 1))}`];
  // The unit once, after the last number: "1024 → 2048 MB", "256 MB → unset".
  if (after === undefined && before !== undefined) b += unit;
  out.push(`${at.prefix}${name} ${b} → ${a}${after === undefined ? "" : unit}`);
}

function scalarList(b: unknown[], a: unknown[], l: FieldLabel | undefined, what: string, out: string[]): void {
  const key = (v: unknown) => JSON.stringify(v);
  const bs = new Set(b.map(key));
  const as = new Set(a.map(key));
  for (const x of a) if (!bs.has(key(x))) out.push(`${what} ${itemName(x, l)} added`);
  for (const x of b) if (!as.has(key(x))) out.push(`${what} ${itemName(x, l)} removed`);
  // Same items in another order: resolvers are tried in order, PHP versions are listed in order.
  if (l?.ordered && bs.size === as.size && [...bs].every((x) => as.has(x)) && !same(b, a)) {
    out.push(`${what} order ${b.map((x) => itemName(x, l)).join(", ")} → ${a.map((x) => itemName(x, l)).join(", ")}`);
  }
}

/**
 * A list of objects: items named by their key field are matched by it (a site by its host);
 * other lists are matched whole, and what is left is paired in order and compared field by field.
 */
function objectList(element: z.ZodType, b: unknown[], a: unknown[], d: Describer, at: At, name: string, out: string[]): void {
  const what = `${at.prefix}${name}`;
  const keyField = d.labels[at.spath]?.key;
  const inner = (x: unknown, y: unknown, label: string) => walk(element, x, y, d, { spath: `${at.spath}[]`, prefix: `${what} ${label}: `, rel: [] }, out);
  if (keyField) {
    const id = (v: unknown) => (isPlainObject(v) ? String(v[keyField]) : JSON.stringify(v));
    const bm = new Map(b.map((v) => [id(v), v]));
    const am = new Map(a.map((v) => [id(v), v]));
    for (const v of a) if (!bm.has(id(v))) out.push(`${what} ${id(v)} added`);
    for (const v of b) if (!am.has(id(v))) out.push(`${what} ${id(v)} removed`);
    for (const v of a) if (bm.has(id(v))) inner(bm.get(id(v)), v, id(v));
    return;
  }
  const removed = minus(b, a);
  const added = minus(a, b);
  const pairs = Math.min(removed.length, added.length);
  for (const v of added.slice(pairs)) out.push(`${what} added: ${show(v)}`);
  for (const v of removed.slice(pairs)) out.push(`${what} removed: ${show(v)}`);
  for (let i = 0; i < pairs; i++) inner(removed[i], added[i], String(a.indexOf(added[i] as unknown) + 1));
}

/** `list` without the items also in `other` (as a multiset), in order. */
export function minus<T>(list: readonly T[], other: readonly T[]): T[] {
  const key = (v: T) => JSON.stringify(v);
  const count = new Map<string, number>();
  for (const r of other) count.set(key(r), (count.get(key(r)) ?? 0) + 1);
  return list.filter((r) => {
    const n = count.get(key(r)) ?? 0;
    if (n > 0) count.set(key(r), n - 1);
    return n === 0;
  });
}
