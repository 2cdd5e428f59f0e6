import type { z } from "zod";
import { inventorySchema } from "./inventory";
import { memberSchema } from "./member";
import { vpsSchema } from "./vps";
import { schemaNodes } from "./walk";
import { zoneSchema } from "./zone";

/**
 * What a volunteer calls the fields of the data files, for `npm run audit`'s sentences. Keyed
 * by schema path (lib/schema/walk.ts): `sites[].php`. A field left out is still described, by
 * its path and values (`site velo.example: new_field unset → 3`); a label only makes the
 * sentence friendlier. A label for a path the schema does not have is an error
 * (labelProblems, checked by tests/unit-schema-fields.test.ts and on first use by audit).
 */
export interface FieldLabel {
  /** The words for the field; "" for an object whose fields read as its parent's. */
  label: string;
  /** After the value: " MB". */
  unit?: string;
  /** The word for an absent value ("default", "derived"); "unset" when not given. */
  unset?: string;
  /** Free text: shown in quotes. */
  quote?: boolean;
  /** A list of objects: the field that names an item (a site by its host). */
  key?: string;
  /** A list of scalars: how an item is named ("ssh-key": by its comment). */
  item?: "ssh-key";
  /** A list whose order matters: a reordering is a change. */
  ordered?: boolean;
  /** A value never written in a sentence (a password hash: no offline guessing from an MR note). */
  hidden?: boolean;
}

export type Labels = Readonly<Record<string, FieldLabel>>;

const dbLimits = (prefix: string): Labels => ({
  [`${prefix}max_user_connections`]: { label: "max_user_connections" },
  [`${prefix}max_queries_per_hour`]: { label: "max_queries_per_hour" },
  [`${prefix}max_updates_per_hour`]: { label: "max_updates_per_hour" },
});

export const memberLabels: Labels = {
  name: { label: "name", quote: true },
  "contact.email": { label: "contact email" },
  "contact.backup_email": { label: "backup email" },
  status: { label: "status" },
  note: { label: "note", quote: true },
  purge_archives: { label: "departure archives purged" },
  ssh_keys: { label: "SSH key", item: "ssh-key" },
  access: { label: "access" },
  sftp_password_hash: { label: "SFTP password" },
  web_host: { label: "web host", unset: "default" },
  db_host: { label: "database host", unset: "default" },
  disk_quota_mb: { label: "disk quota", unit: " MB", unset: "default" },
  inode_quota: { label: "inode quota", unit: " inodes", unset: "default" },
  sites: { label: "site", key: "host" },
  "sites[].aliases": { label: "alias" },
  "sites[].redirects": { label: "redirect" },
  "sites[].webroot": { label: "webroot" },
  "sites[].php": { label: "PHP" },
  "sites[].tls": { label: "TLS" },
  "sites[].tls_none_reason": { label: "reason for no TLS", quote: true },
  "sites[].dns": { label: "DNS" },
  databases: { label: "database", key: "name" },
  "databases[].limits": { label: "" },
  ...dbLimits("databases[].limits."),
  db_limits: { label: "database limits" },
  ...dbLimits("db_limits."),
  mail: { label: "mail domain", key: "domain" },
  "mail[].mailboxes": { label: "mailbox", key: "local" },
  "mail[].mailboxes[].quota_mb": { label: "quota", unit: " MB", unset: "default" },
  "mail[].mailboxes[].password_hash": { label: "password", hidden: true },
  "mail[].aliases": { label: "alias", key: "local" },
  "mail[].aliases[].to": { label: "to" },
  "mail[].catch_all": { label: "catch-all", unset: "off" },
};

export const vpsLabels: Labels = {
  hypervisor: { label: "hypervisor" },
  vcpus: { label: "vCPU" },
  memory_mb: { label: "memory", unit: " MB" },
  disk_gb: { label: "disk", unit: " GB" },
  image: { label: "image" },
  ipv4: { label: "IPv4" },
  ipv6: { label: "IPv6" },
  mac: { label: "MAC", unset: "derived" },
  dns_name: { label: "DNS name", unset: "default" },
  ssh_keys: { label: "SSH key", item: "ssh-key" },
};

export const zoneLabels: Labels = {
  owner: { label: "owner" },
  ttl: { label: "default TTL", unit: " s" },
  dnssec: { label: "DNSSEC signing" },
  dnssec_policy: { label: "DNSSEC policy kept from the adopted server" },
  records: { label: "record" },
  "records[].name": { label: "name" },
  "records[].type": { label: "type" },
  "records[].ttl": { label: "TTL" },
  "records[].value": { label: "value" },
  "records[].priority": { label: "priority" },
  "records[].weight": { label: "weight" },
  "records[].port": { label: "port" },
  "records[].flags": { label: "flags" },
  "records[].tag": { label: "tag" },
  "records[].algorithm": { label: "algorithm" },
  "records[].fingerprint_type": { label: "fingerprint type" },
  "records[].fingerprint": { label: "fingerprint" },
  "records[].usage": { label: "usage" },
  "records[].selector": { label: "selector" },
  "records[].matching_type": { label: "matching type" },
  "records[].data": { label: "data" },
  delegations: { label: "delegation" },
  "delegations[].name": { label: "sub-zone" },
  "delegations[].to": { label: "delegated to" },
};

export const inventoryLabels: Labels = {
  domain: { label: "Globenet's domain" },
  hostmaster: { label: "hostmaster" },
  archive_dir: { label: "archive folder" },
  php_versions: { label: "PHP version offered", ordered: true },
  images: { label: "image" },
  shards: { label: "shard" },
  "shards{}.hosts": { label: "host" },
  "pools.ipv4": { label: "IPv4 pool" },
  "pools.ipv6": { label: "IPv6 pool" },
  resolvers: { label: "VPS resolver", ordered: true },
  mac_prefix: { label: "MAC prefix" },
  acme: { label: "ACME" },
  "acme.directory": { label: "directory" },
  "acme.caa_issuer": { label: "CAA issuer" },
  dnssec: { label: "DNSSEC policy" },
  backup: { label: "backups" },
  "backup.path": { label: "backup repositories folder" },
  "backup.user": { label: "backup account" },
  "backup.time": { label: "daily backup time" },
  "backup.retention.daily": { label: "daily backups kept" },
  "backup.retention.weekly": { label: "weekly backups kept" },
  "backup.retention.monthly": { label: "monthly backups kept" },
  "backup.max_age_hours": { label: "backup age limit", unit: " h" },
  "backup.check_every_days": { label: "backup check interval", unit: " days" },
  "backup.home_excludes": { label: "excluded from home backups" },
  "backup.state.host": { label: "state backups' host" },
  "backup.state.path": { label: "state backups folder" },
  "checks.ptr": { label: "missing-PTR check" },
  hosts: { label: "host" },
  "hosts{}.roles": { label: "role" },
  "hosts{}.address": { label: "SSH address" },
  "hosts{}.ssh.host_key": { label: "pinned SSH host key" },
  "hosts{}.capacity.vcpus": { label: "capacity vCPU" },
  "hosts{}.capacity.memory_mb": { label: "capacity memory", unit: " MB" },
  "hosts{}.capacity.disk_gb": { label: "capacity disk", unit: " GB" },
};

/** The four kinds of data file, each with its schema and labels. */
export const DATA_SCHEMAS = {
  member: { schema: memberSchema as z.ZodType, labels: memberLabels },
  vps: { schema: vpsSchema as z.ZodType, labels: vpsLabels },
  zone: { schema: zoneSchema as z.ZodType, labels: zoneLabels },
  inventory: { schema: inventorySchema as z.ZodType, labels: inventoryLabels },
} as const;

export type DataKind = keyof typeof DATA_SCHEMAS;

/** Labels that name no field of the schema (a renamed or removed field left its label behind). */
export function labelProblems(schema: z.ZodType, labels: Labels): string[] {
  const nodes = new Map(schemaNodes(schema).map((n) => [n.path, n]));
  const out: string[] = [];
  for (const [path, l] of Object.entries(labels)) {
    const n = nodes.get(path);
    if (!n) {
      out.push(`label "${path}" names no field of the schema (rename it to the field's path, like "sites[].php", or remove it)`);
      continue;
    }
    if (l.key !== undefined && !nodes.has(`${path}[].${l.key}`)) out.push(`label "${path}": key "${l.key}" is not a field of its items`);
    if ((l.item !== undefined || l.ordered) && n.kind !== "leaf") out.push(`label "${path}": item and ordered are for lists of plain values`);
  }
  return out;
}
