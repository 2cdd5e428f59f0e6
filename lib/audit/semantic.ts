import type { z } from "zod";
import { formatDiagnostic, sortDiagnostics } from "../load/diagnostic";
import { parseYamlFile } from "../load/yaml-file";
import { issuesToDiagnostics } from "../load/zod-issues";
import { INVENTORY_KEY, inventorySchema, type Inventory } from "../schema/inventory";
import { inventoryLabels, memberLabels, vpsLabels, zoneLabels } from "../schema/labels";
import { memberSchema, type Member } from "../schema/member";
import { vpsSchema, type Vps } from "../schema/vps";
import { zoneSchema, type Delegation, type Zone, type ZoneRecord } from "../schema/zone";
import { assertLabels, describeFields, short, show, sshKeyLabel, type Custom } from "./fields";

/** What a path in the data tree holds. */
export type FileKind = { kind: "member"; handle: string } | { kind: "vps"; handle: string; name: string } | { kind: "zone"; zone: string } | { kind: "other" };

export function classifyPath(path: string): FileKind {
  let m = /^members\/([^/]+)\/member\.yaml$/.exec(path);
  if (m) return { kind: "member", handle: m[1] as string };
  m = /^members\/([^/]+)\/vps\/([^/]+)\.yaml$/.exec(path);
  if (m) return { kind: "vps", handle: m[1] as string, name: m[2] as string };
  m = /^zones\/([^/]+)\.yaml$/.exec(path);
  if (m) return { kind: "zone", zone: m[1] as string };
  return { kind: "other" };
}

/** One side of a data file: the schema's value when it validates, else the raw YAML data and the first error. */
export interface ParsedSide<T> {
  value?: T;
  raw?: unknown;
  error?: string;
}

export function parseSide<S extends z.ZodType>(schema: S, path: string, text: string): ParsedSide<z.infer<S>> {
  const { yf, errors } = parseYamlFile(path, text);
  if (!yf) return { error: formatDiagnostic(sortDiagnostics(errors)[0] ?? { file: path, line: 0, col: 0, field: "", message: "cannot be read" }) };
  if (errors.length > 0) return { raw: yf.data, error: formatDiagnostic(sortDiagnostics(errors)[0] as (typeof errors)[0]) };
  const r = schema.safeParse(yf.data);
  if (r.success) return { value: r.data, raw: yf.data };
  const diags = sortDiagnostics(issuesToDiagnostics(yf, r.error.issues, [], schema, yf.data));
  return { raw: yf.data, error: diags[0] ? formatDiagnostic(diags[0]) : "does not validate" };
}

// ---------------------------------------------------------------- members

export { sshKeyLabel } from "./fields";

/** A member file's change in words, in the order of the schema's fields. */
export function describeMember(before: Member | undefined, after: Member | undefined): string[] {
  if (!before && !after) return [];
  if (!before) return ["member created"];
  if (!after) return ["member removed"];
  assertLabels(memberSchema, memberLabels);
  return describeFields(memberSchema, before, after, { labels: memberLabels, custom: { sftp_password_hash: passwordHash } });
}

/** An SFTP password hash reads as a password set, changed or removed; its end tells one hash from another. */
const passwordHash: Custom = (before, after, at, name) => {
  const tail = (h: unknown) => `(hash …${String(h).slice(-8)})`;
  if (before === undefined && after !== undefined) return [`${at.prefix}${name} set ${tail(after)}`];
  if (before !== undefined && after === undefined) return [`${at.prefix}${name} removed`];
  return before === after ? [] : [`${at.prefix}${name} changed ${tail(after)}`];
};

// ---------------------------------------------------------------- VPS

/** A VPS without ssh_keys takes its member's: going from one to the other says so. */
const vpsKeys: Custom = (before, after, at, name) => {
  const b = before as string[] | undefined;
  const a = after as string[] | undefined;
  if (!b && a) return [`${at.prefix}SSH keys the member's → its own (${a.map(sshKeyLabel).join(", ")})`];
  if (b && !a) return [`${at.prefix}SSH keys its own → the member's`];
  const out: string[] = [];
  const bs = new Set(b);
  const as = new Set(a);
  for (const k of a ?? []) if (!bs.has(k)) out.push(`${at.prefix}${name} ${sshKeyLabel(k)} added`);
  for (const k of b ?? []) if (!as.has(k)) out.push(`${at.prefix}${name} ${sshKeyLabel(k)} removed`);
  return out;
};

/** A VPS file's change in words; `name` is the file's name (the VPS's). */
export function describeVps(name: string, before: Vps | undefined, after: Vps | undefined): string[] {
  const v = `VPS ${name}`;
  if (!before && !after) return [];
  if (!before) {
    const a = after as Vps;
    return [`${v} created: ${a.vcpus} vCPU, ${a.memory_mb} MB memory, ${a.disk_gb} GB disk, ${a.image} on ${a.hypervisor}`];
  }
  if (!after) return [`${v} removed`];
  assertLabels(vpsSchema, vpsLabels);
  return describeFields(vpsSchema, before, after, { labels: vpsLabels, custom: { ssh_keys: vpsKeys } }, { spath: "", prefix: `${v}: `, rel: [] });
}

// ---------------------------------------------------------------- zones

/** A record's data as a zone file would show it, shortened. */
export function recordData(r: ZoneRecord): string {
  const q = (s: string) => `"${s}"`;
  let data: string;
  switch (r.type) {
    case "MX":
      data = `${r.priority} ${r.value}`;
      break;
    case "TXT":
      data = q(r.value);
      break;
    case "SRV":
      data = `${r.priority} ${r.weight} ${r.port} ${r.value}`;
      break;
    case "CAA":
      data = `${r.flags} ${r.tag} ${q(r.value)}`;
      break;
    case "SSHFP":
      data = `${r.algorithm} ${r.fingerprint_type} ${r.fingerprint}`;
      break;
    case "TLSA":
      data = `${r.usage} ${r.selector} ${r.matching_type} ${r.data}`;
      break;
    default:
      data = r.value;
  }
  return short(data) + (r.ttl !== undefined ? ` (TTL ${r.ttl})` : "");
}

function recordKey(r: ZoneRecord): string {
  return JSON.stringify(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Removes from `list` each record also in `other` (as a multiset), keeping order. */
function minusRecords(list: readonly ZoneRecord[], other: readonly ZoneRecord[]): ZoneRecord[] {
  const count = new Map<string, number>();
  for (const r of other) count.set(recordKey(r), (count.get(recordKey(r)) ?? 0) + 1);
  return list.filter((r) => {
    const n = count.get(recordKey(r)) ?? 0;
    if (n > 0) count.set(recordKey(r), n - 1);
    return n === 0;
  });
}

/**
 * Records are matched whole; a removed and an added record of the same name and type read as
 * one change, naming the fields that changed and showing both as a zone file would.
 */
const records: Custom = (before, after) => {
  const removed = minusRecords((before ?? []) as ZoneRecord[], (after ?? []) as ZoneRecord[]);
  const added = minusRecords((after ?? []) as ZoneRecord[], (before ?? []) as ZoneRecord[]);
  const out: string[] = [];
  const changed: string[] = [];
  for (const r of [...removed]) {
    const i = added.findIndex((a) => a.name === r.name && a.type === r.type);
    if (i < 0) continue;
    const [a] = added.splice(i, 1) as [ZoneRecord];
    removed.splice(removed.indexOf(r), 1);
    const ra = r as Record<string, unknown>;
    const aa = a as Record<string, unknown>;
    const fields = [...new Set([...Object.keys(ra), ...Object.keys(aa)])].filter((k) => JSON.stringify(ra[k]) !== JSON.stringify(aa[k]));
    const names = fields.map((k) => zoneLabels[`records[].${k}`]?.label ?? k).join(", ");
    const was = recordData(r);
    const is = recordData(a);
    // A field recordData does not show still gets its values.
    const detail = was !== is ? `${was} → ${is}` : fields.map((k) => `${show(ra[k])} → ${show(aa[k])}`).join(", ");
    changed.push(`record ${r.type} ${r.name} changed (${names}): ${detail}`);
  }
  for (const r of added) out.push(`record ${r.type} ${r.name} added: ${recordData(r)}`);
  for (const r of removed) out.push(`record ${r.type} ${r.name} removed: ${recordData(r)}`);
  return [...out, ...changed];
};

/** Who may own a sub-zone is a decision auditors look for: said as a sentence. */
const delegations = (zone: string): Custom => (before, after) => {
  const out: string[] = [];
  const key = (d: { name: string; to: string }) => `${d.name} to ${d.to}`;
  const was = new Set(((before ?? []) as Delegation[]).map(key));
  const is = new Set(((after ?? []) as Delegation[]).map(key));
  for (const d of is) if (!was.has(d)) out.push(`sub-zone ${d.replace(/ to /, `.${zone} delegated to `)}`);
  for (const d of was) if (!is.has(d)) out.push(`delegation of ${d.replace(/ to /, `.${zone} to `)} withdrawn`);
  return out;
};

/** A zone file's change in words. */
export function describeZone(zone: string, before: Zone | undefined, after: Zone | undefined): string[] {
  if (!before && !after) return [];
  if (!before) {
    const n = (after as Zone).records.length;
    return [`zone ${zone} created with ${n} record${n === 1 ? "" : "s"}`];
  }
  if (!after) return [`zone ${zone} removed`];
  assertLabels(zoneSchema, zoneLabels);
  return describeFields(zoneSchema, before, after, { labels: zoneLabels, custom: { records, delegations: delegations(zone) } });
}

// ---------------------------------------------------------------- the stack's inventory

/** The inventory part of a Pulumi.<stack>.yaml change; other config keys may be secrets and are only named. */
export function describeInventory(before: Inventory | undefined, after: Inventory | undefined): string[] {
  if (!before && !after) return [];
  if (!before) return ["inventory created"];
  if (!after) return ["inventory removed"];
  assertLabels(inventorySchema, inventoryLabels);
  return describeFields(inventorySchema, before, after, { labels: inventoryLabels }, { spath: "", prefix: "inventory: ", rel: [] });
}

// ---------------------------------------------------------------- any data

const MAX_RAW_LINES = 20;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Field-by-field changes between two parsed YAML documents, for files that do not validate
 * (no schema to read them with): `sites[0].php: "8.2" → 8.2`.
 */
export function rawChanges(before: unknown, after: unknown): string[] {
  const out: string[] = [];
  const j = (v: unknown) => short(JSON.stringify(v) ?? "null");
  const walk = (a: unknown, b: unknown, path: string) => {
    if (sameJson(a, b)) return;
    if (isPlainObject(a) && isPlainObject(b)) {
      for (const k of [...Object.keys(a), ...Object.keys(b).filter((k) => !(k in a))]) {
        const p = path ? `${path}.${k}` : k;
        if (!(k in b)) out.push(`${p} removed`);
        else if (!(k in a)) out.push(`${p} added: ${j(b[k])}`);
        else walk(a[k], b[k], p);
      }
      return;
    }
    if (Array.isArray(a) && Array.isArray(b)) {
      for (let i = 0; i < Math.max(a.length, b.length); i++) {
        const p = `${path}[${i}]`;
        if (i >= b.length) out.push(`${p} removed`);
        else if (i >= a.length) out.push(`${p} added: ${j(b[i])}`);
        else walk(a[i], b[i], p);
      }
      return;
    }
    out.push(`${path || "the whole file"}: ${j(a)} → ${j(b)}`);
  };
  walk(before, after, "");
  return out.length > MAX_RAW_LINES ? [...out.slice(0, MAX_RAW_LINES), `… and ${out.length - MAX_RAW_LINES} more field changes`] : out;
}

/**
 * One file's change in a commit, in words, from its text before and after (undefined: the
 * file did not exist). Data files are read with the project's schemas; a side that does not
 * validate is said so, with its first error, and the change is given field by field.
 */
export function describeFileChange(path: string, before: string | undefined, after: string | undefined): string[] {
  const k = classifyPath(path);
  if (k.kind === "other" && STACK_FILE.test(path) && before !== undefined && after !== undefined) return describeStackFile(path, before, after);
  if (k.kind === "other") return [before === undefined ? `${path} added` : after === undefined ? `${path} removed` : `${path} changed`];
  const schema: z.ZodType = k.kind === "member" ? memberSchema : k.kind === "vps" ? vpsSchema : zoneSchema;
  const b = before === undefined ? undefined : parseSide(schema, path, before);
  const a = after === undefined ? undefined : parseSide(schema, path, after);
  if ((b === undefined || b.value !== undefined) && (a === undefined || a.value !== undefined)) {
    const out =
      k.kind === "member"
        ? describeMember(b?.value as Member | undefined, a?.value as Member | undefined)
        : k.kind === "vps"
          ? describeVps(k.name, b?.value as Vps | undefined, a?.value as Vps | undefined)
          : describeZone(k.zone, b?.value as Zone | undefined, a?.value as Zone | undefined);
    return out.length > 0 ? out : ["no change in meaning (comments or layout only)"];
  }
  const out: string[] = [];
  if (b?.error) out.push(`invalid before this commit: ${b.error}`);
  if (a?.error) out.push(`invalid after this commit: ${a.error}`);
  if (before === undefined) out.push(`${path} added`);
  else if (after === undefined) out.push(`${path} removed`);
  else if (b?.raw !== undefined && a?.raw !== undefined) out.push(...rawChanges(b.raw, a.raw));
  else out.push(`${path} changed`);
  return out;
}

const STACK_FILE = /^Pulumi\.[^./]+\.yaml$/;

/** A stack's config, read as YAML only: its values may be secrets and are never shown. */
function stackConfig(path: string, text: string): { config?: Record<string, unknown>; error?: string } {
  const { yf, errors } = parseYamlFile(path, text);
  if (!yf || errors.length > 0) return { error: formatDiagnostic(sortDiagnostics(errors)[0] ?? { file: path, line: 0, col: 0, field: "", message: "cannot be read" }) };
  const cfg = isPlainObject(yf.data) ? yf.data.config : undefined;
  return { config: isPlainObject(cfg) ? cfg : {} };
}

/** Pulumi.<stack>.yaml: its inventory described field by field, any other config key only named. */
function describeStackFile(path: string, before: string, after: string): string[] {
  const b = stackConfig(path, before);
  const a = stackConfig(path, after);
  if (!b.config || !a.config) return [...(b.error ? [`invalid before this commit: ${b.error}`] : []), ...(a.error ? [`invalid after this commit: ${a.error}`] : []), `${path} changed`];
  const out: string[] = [];
  const bi = inventorySchema.safeParse(b.config[INVENTORY_KEY]);
  const ai = inventorySchema.safeParse(a.config[INVENTORY_KEY]);
  if (bi.success && ai.success) out.push(...describeInventory(bi.data, ai.data));
  else if (!sameJson(b.config[INVENTORY_KEY], a.config[INVENTORY_KEY])) out.push(`inventory changed (${bi.success ? "after" : "before"} this commit it does not validate: npm run validate says why)`);
  for (const key of new Set([...Object.keys(b.config), ...Object.keys(a.config)])) {
    if (key !== INVENTORY_KEY && !sameJson(b.config[key], a.config[key])) out.push(`config ${key} changed`);
  }
  return out.length > 0 ? out : ["no change in meaning (comments or layout only)"];
}

/** The site names a member file declares, valid or not (for counting new sites). */
export function siteHostsIn(text: string | undefined, path = "members/x/member.yaml"): string[] {
  if (text === undefined) return [];
  const side = parseSide(memberSchema, path, text);
  if (side.value) return side.value.sites.map((s) => s.host);
  const sites = isPlainObject(side.raw) ? side.raw.sites : undefined;
  return Array.isArray(sites) ? sites.flatMap((s) => (isPlainObject(s) && typeof s.host === "string" ? [s.host] : [])) : [];
}
