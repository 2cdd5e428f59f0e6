import type { z } from "zod";
import { formatDiagnostic, sortDiagnostics } from "../load/diagnostic";
import { parseYamlFile } from "../load/yaml-file";
import { issuesToDiagnostics } from "../load/zod-issues";
import { memberSchema, type Database, type DbLimits, type Member, type Site } from "../schema/member";
import { vpsSchema, type Vps } from "../schema/vps";
import { zoneSchema, type Zone, type ZoneRecord } from "../schema/zone";

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

// ---------------------------------------------------------------- formatting helpers

const MAX_VALUE = 48;

function short(s: string): string {
  return s.length > MAX_VALUE ? `${s.slice(0, MAX_VALUE - 1)}…` : s;
}

/** A scalar for a sentence: `unset` (or the given word) when absent. */
function val(v: unknown, unset = "unset"): string {
  if (v === undefined || v === null) return unset;
  if (typeof v === "string") return short(v);
  return short(JSON.stringify(v));
}

function quoted(v: string | undefined): string {
  return v === undefined ? "unset" : `"${short(v)}"`;
}

function scalar(out: string[], label: string, before: unknown, after: unknown, unit = "", unset = "unset"): void {
  if (before === after) return;
  out.push(`${label} ${val(before, unset)} → ${val(after, unset)}${unit}`);
}

function setChanges(out: string[], label: string, before: readonly string[], after: readonly string[], name: (s: string) => string = (s) => s): void {
  const b = new Set(before);
  const a = new Set(after);
  for (const x of after) if (!b.has(x)) out.push(`${label} ${name(x)} added`);
  for (const x of before) if (!a.has(x)) out.push(`${label} ${name(x)} removed`);
}

/** An SSH public key by its comment, else its type and the end of its key data. */
export function sshKeyLabel(key: string): string {
  const [type = "", data = "", ...comment] = key.trim().split(/\s+/);
  return comment.length > 0 ? comment.join(" ") : `${type} …${data.slice(-8)}`;
}

function limitChanges(out: string[], prefix: string, before: DbLimits | undefined, after: DbLimits | undefined): void {
  for (const k of ["max_user_connections", "max_queries_per_hour", "max_updates_per_hour"] as const) {
    scalar(out, `${prefix}${k}`, before?.[k], after?.[k]);
  }
}

// ---------------------------------------------------------------- members

function siteChanges(out: string[], before: Site, after: Site): void {
  const p = `site ${after.host}:`;
  setChanges(out, `${p} alias`, before.aliases, after.aliases);
  setChanges(out, `${p} redirect`, before.redirects, after.redirects);
  scalar(out, `${p} webroot`, before.webroot, after.webroot);
  scalar(out, `${p} PHP`, before.php, after.php);
  scalar(out, `${p} TLS`, before.tls, after.tls);
  if (before.tls_none_reason !== after.tls_none_reason) out.push(`${p} reason for no TLS ${quoted(before.tls_none_reason)} → ${quoted(after.tls_none_reason)}`);
  scalar(out, `${p} DNS`, before.dns, after.dns);
}

function databaseChanges(out: string[], before: Database, after: Database): void {
  limitChanges(out, `database ${after.name}: `, before.limits, after.limits);
}

function keyed<T>(list: readonly T[], key: (t: T) => string): Map<string, T> {
  return new Map(list.map((t) => [key(t), t]));
}

function listChanges<T>(out: string[], what: string, before: readonly T[], after: readonly T[], key: (t: T) => string, inner: (out: string[], b: T, a: T) => void): void {
  const b = keyed(before, key);
  const a = keyed(after, key);
  for (const t of after) {
    const old = b.get(key(t));
    if (!old) out.push(`${what} ${key(t)} added`);
  }
  for (const t of before) if (!a.has(key(t))) out.push(`${what} ${key(t)} removed`);
  for (const t of after) {
    const old = b.get(key(t));
    if (old) inner(out, old, t);
  }
}

/** A member file's change in words, in the order of the schema's fields. */
export function describeMember(before: Member | undefined, after: Member | undefined): string[] {
  if (!before && !after) return [];
  if (!before) return ["member created"];
  if (!after) return ["member removed"];
  const out: string[] = [];
  if (before.name !== after.name) out.push(`name ${quoted(before.name)} → ${quoted(after.name)}`);
  scalar(out, "contact email", before.contact.email, after.contact.email);
  scalar(out, "backup email", before.contact.backup_email, after.contact.backup_email);
  scalar(out, "status", before.status, after.status);
  if (before.note !== after.note) out.push(`note ${quoted(before.note)} → ${quoted(after.note)}`);
  setChanges(out, "SSH key", before.ssh_keys, after.ssh_keys, sshKeyLabel);
  scalar(out, "web host", before.web_host, after.web_host, "", "default");
  scalar(out, "database host", before.db_host, after.db_host, "", "default");
  scalar(out, "disk quota", before.disk_quota_mb, after.disk_quota_mb, " MB");
  listChanges(out, "site", before.sites, after.sites, (s) => s.host, siteChanges);
  listChanges(out, "database", before.databases, after.databases, (d) => d.name, databaseChanges);
  limitChanges(out, "database limits: ", before.db_limits, after.db_limits);
  return out;
}

// ---------------------------------------------------------------- VPS

/** A VPS file's change in words; `name` is the file's name (the VPS's). */
export function describeVps(name: string, before: Vps | undefined, after: Vps | undefined): string[] {
  const v = `VPS ${name}`;
  if (!before && !after) return [];
  if (!before) {
    const a = after as Vps;
    return [`${v} created: ${a.vcpus} vCPU, ${a.memory_mb} MB memory, ${a.disk_gb} GB disk, ${a.image} on ${a.hypervisor}`];
  }
  if (!after) return [`${v} removed`];
  const out: string[] = [];
  scalar(out, `${v}: hypervisor`, before.hypervisor, after.hypervisor);
  scalar(out, `${v}: vCPU`, before.vcpus, after.vcpus);
  scalar(out, `${v}: memory`, before.memory_mb, after.memory_mb, " MB");
  scalar(out, `${v}: disk`, before.disk_gb, after.disk_gb, " GB");
  scalar(out, `${v}: image`, before.image, after.image);
  scalar(out, `${v}: IPv4`, before.ipv4, after.ipv4);
  scalar(out, `${v}: IPv6`, before.ipv6, after.ipv6);
  scalar(out, `${v}: MAC`, before.mac, after.mac, "", "derived");
  scalar(out, `${v}: DNS name`, before.dns_name, after.dns_name, "", "default");
  if (!before.ssh_keys && after.ssh_keys) out.push(`${v}: SSH keys the member's → its own (${after.ssh_keys.map(sshKeyLabel).join(", ")})`);
  else if (before.ssh_keys && !after.ssh_keys) out.push(`${v}: SSH keys its own → the member's`);
  else if (before.ssh_keys && after.ssh_keys) setChanges(out, `${v}: SSH key`, before.ssh_keys, after.ssh_keys, sshKeyLabel);
  return out;
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
function minus(list: readonly ZoneRecord[], other: readonly ZoneRecord[]): ZoneRecord[] {
  const count = new Map<string, number>();
  for (const r of other) count.set(recordKey(r), (count.get(recordKey(r)) ?? 0) + 1);
  return list.filter((r) => {
    const n = count.get(recordKey(r)) ?? 0;
    if (n > 0) count.set(recordKey(r), n - 1);
    return n === 0;
  });
}

/** A zone file's change in words: records are matched whole; a removed and an added record of the same name and type read as one change. */
export function describeZone(zone: string, before: Zone | undefined, after: Zone | undefined): string[] {
  if (!before && !after) return [];
  if (!before) {
    const n = (after as Zone).records.length;
    return [`zone ${zone} created with ${n} record${n === 1 ? "" : "s"}`];
  }
  if (!after) return [`zone ${zone} removed`];
  const out: string[] = [];
  scalar(out, "owner", before.owner, after.owner);
  scalar(out, "default TTL", before.ttl, after.ttl, " s");
  const removed = minus(before.records, after.records);
  const added = minus(after.records, before.records);
  const changed: string[] = [];
  for (const r of [...removed]) {
    const i = added.findIndex((a) => a.name === r.name && a.type === r.type);
    if (i < 0) continue;
    const [a] = added.splice(i, 1) as [ZoneRecord];
    removed.splice(removed.indexOf(r), 1);
    changed.push(`record ${r.type} ${r.name} changed: ${recordData(r)} → ${recordData(a)}`);
  }
  for (const r of added) out.push(`record ${r.type} ${r.name} added: ${recordData(r)}`);
  for (const r of removed) out.push(`record ${r.type} ${r.name} removed: ${recordData(r)}`);
  out.push(...changed);
  // Who may own a sub-zone is a decision auditors look for.
  const key = (d: { name: string; to: string }) => `${d.name} to ${d.to}`;
  const was = new Set((before.delegations ?? []).map(key));
  const is = new Set((after.delegations ?? []).map(key));
  for (const d of is) if (!was.has(d)) out.push(`sub-zone ${d.replace(/ to /, `.${zone} delegated to `)}`);
  for (const d of was) if (!is.has(d)) out.push(`delegation of ${d.replace(/ to /, `.${zone} to `)} withdrawn`);
  return out;
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

/** The site names a member file declares, valid or not (for counting new sites). */
export function siteHostsIn(text: string | undefined, path = "members/x/member.yaml"): string[] {
  if (text === undefined) return [];
  const side = parseSide(memberSchema, path, text);
  if (side.value) return side.value.sites.map((s) => s.host);
  const sites = isPlainObject(side.raw) ? side.raw.sites : undefined;
  return Array.isArray(sites) ? sites.flatMap((s) => (isPlainObject(s) && typeof s.host === "string" ? [s.host] : [])) : [];
}
