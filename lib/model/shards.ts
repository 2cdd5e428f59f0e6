import { createHash } from "node:crypto";
import type { BackupPlan } from "./backup";
import { STACK_SECRETS, type Inventory, type StackSecretName } from "../schema/inventory";
import type { MemberModel, Model } from "./types";

/** What the shard rule reads: the stack's name and its inventory's `shards`. */
type Sharded = { stack: string; inventory: Pick<Inventory, "shards"> };

/**
 * Sharded stacks (docs/architecture.md, "Sharded stacks"): the inventory's `shards` maps each
 * shard to the hosts it owns; every object of the program belongs to exactly one shard, and a
 * shard is a stack of its own, `<stack>.<shard>`, with its own state and lock.
 *
 * Where each object goes (the one rule, `shardOfObjects` below):
 * - what is written host-wide (a host's file sets — Apache's vhosts, a PHP version's pools,
 *   BIND's zones, monitoring, the node exporter, mail —, MariaDB's server settings, the host's
 *   backup client and its repository on the backup host): the shard of that host;
 * - a member's account, crontab and databases: the shard of the member's web host (the
 *   Apache and FPM sets that use its user are there too, and a database writes its credentials
 *   into the home, after the account); a member without a web host: its first database's host,
 *   else its first VPS's hypervisor; when that host's members are split (`members_of:` shards),
 *   the shard of the member's bucket (memberBucket), with the member's vhosts and pools in its
 *   bucket's part of the host's Apache and PHP-FPM sets (shardParts), after the host's own shard
 *   (shardPrerequisites: it wires the parts in);
 * - a VPS's guest: the shard of its hypervisor (every guest there defines the same network
 *   filter, a hypervisor-wide object);
 * - the parts bound to no host (a member with nothing on any host, which is a node of the
 *   resource tree only): the first shard the inventory lists.
 * A member's tree node (its ComponentResource) is declared in every shard that holds one
 * of its objects: it is a grouping only, written nowhere.
 */

/** `<stack>.<shard>`: stack names never hold a dot (inventory identifiers), so the split is unique. */
export const SHARD_SEPARATOR = ".";

export function shardStackName(stack: string, shard: string): string {
  return `${stack}${SHARD_SEPARATOR}${shard}`;
}

/** The data stack (its Pulumi.<stack>.yaml) and the shard of an engine stack name. */
export function splitStackName(name: string): { stack: string; shard?: string } {
  const at = name.indexOf(SHARD_SEPARATOR);
  return at < 0 ? { stack: name } : { stack: name.slice(0, at), shard: name.slice(at + 1) };
}

/** The inventory's shards in its order; empty when the stack is not sharded. */
export function shardNames(model: Pick<Sharded, "inventory">): string[] {
  return Object.keys(model.inventory.shards ?? {});
}

/** Host name → its shard (the inventory's `hosts:` shards; a host listed twice keeps its first: validate refuses that). */
export function hostShards(model: Pick<Sharded, "inventory">): Map<string, string> {
  const out = new Map<string, string>();
  for (const [shard, s] of Object.entries(model.inventory.shards ?? {})) for (const h of s.hosts ?? []) if (!out.has(h)) out.set(h, shard);
  return out;
}

/**
 * The bucket of a member's handle among `buckets`: Lamping and Veach's jump consistent hash
 * ("A Fast, Minimal Memory, Consistent Hash Algorithm", 2014; its published loop, a dozen lines)
 * of the first 64 bits of the handle's sha256. It reads the handle alone, so a member's bucket
 * never moves when others come or go; going from n to n + 1 buckets moves about 1/(n + 1) of
 * the members, all into the new bucket (a plain modulo would move n/(n + 1) of them). Those
 * moves are an explicit shard move (`npm run shards -- move`).
 */
export function memberBucket(handle: string, buckets: number): number {
  let key = createHash("sha256").update(handle).digest().readBigUInt64BE(0);
  let b = -1;
  let j = 0;
  while (j < buckets) {
    b = j;
    key = (key * 2862933555777941757n + 1n) & 0xffffffffffffffffn;
    j = Math.floor((b + 1) * (2 ** 31 / (Number(key >> 33n) + 1)));
  }
  return b;
}

/** Host → its `members_of:` shards by bucket number, for the hosts whose members are split (a gap: validate refuses it). */
export function bucketShards(model: Pick<Sharded, "inventory">): Map<string, Array<string | undefined>> {
  const out = new Map<string, Array<string | undefined>>();
  for (const [shard, s] of Object.entries(model.inventory.shards ?? {})) {
    if (s.members_of === undefined || s.bucket === undefined || s.buckets === undefined) continue;
    const list = out.get(s.members_of) ?? Array<string | undefined>(s.buckets).fill(undefined);
    list[s.bucket] ??= shard;
    out.set(s.members_of, list);
  }
  return out;
}

/**
 * The part of a split web host's Apache and PHP-FPM sets that bucket `bucket` holds: its
 * members' vhosts and pools, live beside the host's own set (FileSetInputs.part). Named by the
 * bucket's number, so renaming a shard moves nothing on the host.
 */
export function bucketPart(bucket: number): string {
  return `b${bucket}`;
}

/** Host → its number of buckets, for the hosts whose members are split. */
export function splitHosts(model: Pick<Sharded, "inventory">): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of Object.values(model.inventory.shards ?? {})) if (s.members_of !== undefined && s.buckets !== undefined && !out.has(s.members_of)) out.set(s.members_of, s.buckets);
  return out;
}

/** The web parts a shard declares: a bucket's, on the host whose members it holds (none for a `hosts:` shard). */
export function shardParts(model: Pick<Sharded, "inventory">, shard: string): Array<{ host: string; part: string }> {
  const s = model.inventory.shards?.[shard];
  return s?.members_of !== undefined && s.bucket !== undefined ? [{ host: s.members_of, part: bucketPart(s.bucket) }] : [];
}

/**
 * Whether a rendered file belongs to the sets of a shard holding these hosts and web parts: a
 * split host's member file (its vhost or pool, with the part of the member's bucket) to the
 * bucket's shard, any other file to its host's shard.
 */
export function ownsFile(hosts: ReadonlySet<string>, parts: ReadonlyArray<{ host: string; part: string }>): (f: { host: string; part?: string }) => boolean {
  return (f) => (f.part === undefined ? hosts.has(f.host) : parts.some((p) => p.host === f.host && p.part === f.part));
}

/**
 * Bucket → its host's own shard, which holds the host's Apache set (the shared settings, the
 * wiring, the notice page) that the bucket's part needs live first (a part is refused until
 * then: provider/scripts/file-set). CI orders a bucket after it when that host is new there
 * (lib/ci/shard-pipeline.ts, applyOrder). Within a bucket, a member's account comes before its
 * pool and vhost, and a departing member's pool and vhost go before its account, as in any one
 * stack.
 */
export function shardPrerequisites(model: Pick<Sharded, "inventory">): Map<string, string[]> {
  const hosts = hostShards(model);
  const out = new Map<string, string[]>();
  for (const [host, buckets] of bucketShards(model)) {
    const shard = hosts.get(host);
    if (shard === undefined) continue;
    for (const b of buckets) if (b !== undefined) out.set(b, [shard]);
  }
  return out;
}

export interface ShardAssignment {
  /** Hosts whose host-wide objects each shard owns. */
  hosts: Map<string, string>;
  /** Each member's own objects (account, crontab, databases). */
  members: Map<string, string>;
  /** Each VPS's guest, by libvirt domain. */
  vps: Map<string, string>;
}

/** The shard of every object of the model (see the rule above); undefined when the stack has no shards. */
export function shardOfObjects(model: Pick<Model, "inventory" | "members" | "databases" | "vps">): ShardAssignment | undefined {
  const names = shardNames(model);
  if (names.length === 0) return undefined;
  const hosts = hostShards(model);
  const split = bucketShards(model);
  const shared = names[0] as string;
  const firstDb = new Map<string, string>();
  for (const d of model.databases) if (!firstDb.has(d.handle)) firstDb.set(d.handle, d.dbHost);
  const firstVps = new Map<string, string>();
  for (const v of model.vps) if (!firstVps.has(v.handle)) firstVps.set(v.handle, v.hypervisor);
  const members = new Map<string, string>();
  for (const m of model.members) {
    const host = m.webHost ?? firstDb.get(m.handle) ?? firstVps.get(m.handle);
    const buckets = host === undefined ? undefined : split.get(host);
    const bucket = buckets && buckets[memberBucket(m.handle, buckets.length)];
    members.set(m.handle, bucket ?? (host && hosts.get(host)) ?? shared);
  }
  const vps = new Map<string, string>();
  for (const v of model.vps) vps.set(v.domain, hosts.get(v.hypervisor) ?? shared);
  return { hosts, members, vps };
}

/** What one shard's program declares: the model cut down to its objects (rendering still reads the whole model). */
export interface ShardView {
  shard: string;
  /** The hosts whose host-wide objects the shard declares. */
  hosts: Model["hosts"];
  /** Members with at least one object here; `webHost` cleared when the account is elsewhere. */
  members: MemberModel[];
  sites: Model["sites"];
  databases: Model["databases"];
  vps: Model["vps"];
  mail: Model["mail"];
}

/** The view of `shard` (which must be one of the inventory's: see unknownShard). */
export function shardView(model: Model, shard: string): ShardView {
  const a = shardOfObjects(model);
  if (!a) throw new Error(`stack ${model.stack} has no shards`);
  const mine = (s: string | undefined) => s === shard;
  const vps = model.vps.filter((v) => mine(a.vps.get(v.domain)));
  const withVps = new Set(vps.map((v) => v.handle));
  const members = model.members.flatMap((m) => {
    const own = mine(a.members.get(m.handle));
    if (own) return [m];
    // Only a guest here: the member's node, without its account (that is in its own shard).
    return withVps.has(m.handle) ? [{ ...m, webHost: undefined, cron: [] }] : [];
  });
  const owning = new Set(model.members.filter((m) => mine(a.members.get(m.handle))).map((m) => m.handle));
  return {
    shard,
    hosts: model.hosts.filter((h) => mine(a.hosts.get(h.name))),
    members,
    sites: model.sites.filter((s) => owning.has(s.handle)),
    databases: model.databases.filter((d) => owning.has(d.handle)),
    vps,
    mail: model.mail.filter((d) => mine(a.hosts.get(d.mailHost))),
  };
}

/** The whole model as one view (a stack without shards). */
export function wholeView(model: Model): ShardView {
  return { shard: "", hosts: model.hosts, members: model.members, sites: model.sites, databases: model.databases, vps: model.vps, mail: model.mail };
}

/** The backups of the shard's hosts: a host's client and its repository on the backup host go with the host. */
export function shardBackups(plan: BackupPlan | undefined, view: Pick<ShardView, "hosts">): BackupPlan | undefined {
  if (!plan) return undefined;
  const hosts = new Set(view.hosts.map((h) => h.name));
  const mine = plan.hosts.filter((h) => hosts.has(h.host));
  return mine.length > 0 ? { ...plan, hosts: mine } : undefined;
}

/** Why `shard` cannot be opened for this model, or undefined. */
export function shardProblem(model: Sharded, shard: string | undefined): string | undefined {
  const names = shardNames(model);
  if (shard === undefined) {
    return names.length === 0 ? undefined : `stack ${model.stack} is sharded: name one shard with --shard (${names.join(", ")}); each is the stack ${shardStackName(model.stack, "<shard>")} with its own state and lock`;
  }
  if (names.length === 0) return `stack ${model.stack} has no shards (no \`shards:\` in Pulumi.${model.stack}.yaml): run it without --shard`;
  if (!names.includes(shard)) return `stack ${model.stack} has no shard "${shard}" (its shards: ${names.join(", ")})`;
  return undefined;
}

/**
 * The stack's secrets (Pulumi.<stack>.yaml, `secure:`) the shard's program reads: each goes to
 * the shard holding a host of its role (STACK_SECRETS), and to no other, so a shard's stack
 * never holds a secret its objects do not use (docs/architecture.md, "Sharded stacks").
 */
export function shardSecretNames(inventory: Pick<Inventory, "shards" | "hosts"> & Partial<Pick<Inventory, "portal">>, shard: string): StackSecretName[] {
  // A `members_of:` shard holds no host: none of the stack's secrets.
  const hosts = inventory.shards?.[shard]?.hosts ?? [];
  const roles = new Set(hosts.flatMap((h) => inventory.hosts[h]?.roles ?? []));
  // The portal's token: only to the shard holding the portal's own web host, not to every web host's.
  return (Object.keys(STACK_SECRETS) as StackSecretName[]).filter((k) => roles.has(STACK_SECRETS[k]) && (k !== "portalToken" || (!!inventory.portal && hosts.includes(inventory.portal.host))));
}
