import type { Diagnostic } from "../load/diagnostic";
import { dataDigest } from "../load/digest";
import { loadTree } from "../load/tree";
import type { MachineFacts } from "../model/facts";
import { shardNames, shardView, splitHosts } from "../model/shards";
import type { Model } from "../model/types";
import { buildModel, loadModel } from "./build";
import { readCheckedModel, writeCheckedModel } from "./checked-model";
import { readSigned, runCacheFile, writeSigned } from "../base/signed-file";

/**
 * A shard's program loads only its shard's part of the data (docs/architecture.md, "Sharded
 * stacks"), once the whole data has passed validation: the checks across files (a site name
 * claimed twice, a database name taken on its host, a zone's owner…) need every file, and run
 * on the whole data once; a shard's program then reads the shard's index to know which member
 * folders hold its objects, and loads those alone.
 *
 * The index says, for the data whose digest it holds (lib/load/digest.ts: every file the loader
 * reads, byte for byte), which member folders each *partial* shard's objects come from. It is
 * written only after a whole load without errors, and read only when the data's digest is the
 * same and its MAC verifies with the stack's passphrase (the key that already guards the
 * stack's secrets): a file planted in a checkout cannot make a shard skip validation. Any
 * mismatch — other data, other passphrase, no index — means the whole load, which writes the
 * index again.
 *
 * A shard is partial when it is a bucket of a web host's members, or when every host it holds is
 * a web host and nothing else: its objects (the
 * members' accounts, crontabs and databases, the hosts' Apache and PHP-FPM sets, node exporter,
 * backup client) are made from its own members and the inventory alone. A shard with a DNS
 * server, the monitor, the mail host, a database host or a hypervisor writes sets that read
 * every member or zone (zones, probes, every database of the host, lab ports across guests),
 * and loads the whole data. `tests/unit-shard-index.test.ts` checks, on synthetic and real data,
 * that a partial shard's resources and files are those the whole load gives.
 */
export interface ShardIndex {
  v: 1;
  stack: string;
  digest: string;
  /** Partial shard → the member folders its objects come from. */
  members: Record<string, string[]>;
}

/** The roles a partial shard's hosts may have (see above). */
const PARTIAL_ROLES: ReadonlySet<string> = new Set(["web"]);

/** Whether `shard`'s objects come from its own members and the inventory alone (a bucket of a web host's members always). */
export function partialShard(model: Pick<Model, "hosts" | "inventory">, shard: string): boolean {
  const rule = model.inventory.shards?.[shard];
  if (rule?.members_of !== undefined) return true;
  const hosts = new Set(rule?.hosts ?? []);
  const mine = model.hosts.filter((h) => hosts.has(h.name));
  return mine.length > 0 && mine.every((h) => h.roles.every((r) => PARTIAL_ROLES.has(r)));
}

/**
 * The index of a whole model that passed validation. A web host's shard reads the members it
 * declares and every member of its hosts (their sites are its vhosts and pools), but for a host
 * whose members are split by hash: their accounts, vhosts and pools are all in the buckets'
 * shards (its part of the host's sets for each), and the host's shard loads none of them.
 */
export function shardIndex(model: Model, digest: string): ShardIndex {
  const members: Record<string, string[]> = {};
  const split = splitHosts(model);
  for (const s of shardNames(model)) {
    if (!partialShard(model, s)) continue;
    const view = new Set(shardView(model, s).members.map((m) => m.handle));
    const hosts = new Set((model.inventory.shards?.[s]?.hosts ?? []).filter((h) => !split.has(h)));
    members[s] = model.members.filter((m) => view.has(m.handle) || (m.webHost !== undefined && hosts.has(m.webHost))).map((m) => m.handle);
  }
  return { v: 1, stack: model.stack, digest, members };
}

/** Where a checkout keeps the index: beside the stacks' local files, never in git (.gitignore). */
export function shardIndexFile(root: string, stack: string): string {
  return runCacheFile(root, `${stack}.json`);
}

/** The index's purpose in its signature (lib/base/signed-file.ts): no other cache's file verifies as an index. */
const PURPOSE = "globenet-shard-index";

/** What is checked before any hash: the stack and the data the index is of. */
type IndexHeader = Pick<ShardIndex, "v" | "stack" | "digest">;

export function writeShardIndex(root: string, index: ShardIndex, key: string): void {
  writeSigned(shardIndexFile(root, index.stack), PURPOSE, key, { v: index.v, stack: index.stack, digest: index.digest } satisfies IndexHeader, JSON.stringify(index));
}

/** The index for this data (`digest`), when there is one and its MAC verifies with `key`. */
export function readShardIndex(root: string, stack: string, digest: string, key: string): ShardIndex | undefined {
  const read = readSigned<IndexHeader>(shardIndexFile(root, stack), PURPOSE, key, (h) => h.v === 1 && h.stack === stack && h.digest === digest);
  if (!read) return undefined;
  const index = JSON.parse(read.body) as ShardIndex;
  // Signed together with its header: the same stack and data, or a bug in what wrote it.
  return index.v === 1 && index.stack === stack && index.digest === digest ? index : undefined;
}

/**
 * The load cache (lib/load/load-cache.ts) holds every valid file's value: reading it costs in
 * proportion to the whole data, parsing a part in proportion to the part. Measured at 10,000
 * members (2 cores): the whole cache 0.15–0.3 s, a member's files parsed and checked about
 * 0.3 ms each, so the cache pays from about 500 members, a twentieth. A web host's own shard
 * whose members are split by hash loads none (0.02 s without the cache, 0.18–0.3 s with it).
 */
export const LOAD_CACHE_SHARE = 20;

/** Whether a part of `size` members loads faster through the load cache than by parsing, for the members the index lists. */
export function loadCachePays(size: number, index: Pick<ShardIndex, "members">): boolean {
  const listed = new Set(Object.values(index.members).flat()).size;
  return size > 0 && size * LOAD_CACHE_SHARE >= listed;
}

export interface ShardLoad {
  model?: Model;
  errors: Diagnostic[];
  /**
   * "part": the shard's members only, by a verified index; "checked": the whole model a whole
   * load of this data kept (lib/check/checked-model.ts), for a shard that is not partial;
   * "whole": every file, every check.
   */
  via: "part" | "checked" | "whole";
  /** The data's digest taken before the load (lib/load/digest.ts), when a key was given: what a cache of this run's results is keyed by. */
  digest?: string;
}

/**
 * The model a shard's program declares from: the shard's part when a verified index covers
 * this data and the shard is partial; for another shard, the checked model of this data when one
 * verifies; else the whole (and the index and checked model written for next time, when `key` is
 * given and the data is valid). Without `key`, always the whole.
 */
export function loadShardModel(root: string, stack: string, shard: string, facts: MachineFacts = {}, key?: string): ShardLoad {
  const digest = key ? dataDigest(root, stack, { key }) : undefined;
  const index = key && digest ? readShardIndex(root, stack, digest, key) : undefined;
  const part = index?.members[shard];
  if (part && index && key) {
    // Its member files' values from the load cache too (lib/load/load-cache.ts) when the part is big enough for that to pay: see loadCachePays.
    const { tree, errors } = loadTree(root, stack, { members: new Set(part) }, loadCachePays(part.length, index) ? { key } : undefined);
    const built = buildModel(tree, facts, true);
    // The whole passed; a part cannot fail unless the files changed since the digest: load the whole.
    if (built.model && errors.length === 0 && built.errors.length === 0) return { model: built.model, errors: [], via: "part", digest };
  }
  const checked = key && digest && !part ? readCheckedModel(root, stack, digest, facts, key) : undefined;
  if (checked) return { model: checked, errors: [], via: "checked", digest };
  // The whole: each file's schema value from the load cache when its bytes are those of a valid file last time.
  const whole = loadModel(root, stack, facts, key ? { cache: { key } } : {});
  if (whole.model && key && digest) indexWhole(root, whole.model, digest, key, facts);
  return { model: whole.model, errors: whole.errors, via: "whole", ...(digest ? { digest } : {}) };
}

/**
 * Writes the index of a whole model loaded without errors from the data whose digest was taken
 * *before* the load (so that data changed during the load gives an index no run will read), and
 * the model itself when a shard reads the whole (lib/check/checked-model.ts). False when they
 * could not be written (a read-only checkout: the next run loads the whole).
 */
export function indexWhole(root: string, model: Model, digest: string, key: string, facts: MachineFacts): boolean {
  try {
    writeShardIndex(root, shardIndex(model, digest), key);
    if (shardNames(model).some((s) => !partialShard(model, s))) writeCheckedModel(root, model, digest, facts, key);
    return true;
  } catch {
    return false;
  }
}

/**
 * The whole data, loaded and checked, and its index written when `key` is given and the data
 * is valid: what CI's `shard-pipeline` job hands its child pipeline's shard jobs as an artifact
 * (`npm run shards -- pipeline`), so that their runs, in checkouts of the same commit, load their
 * part (the digest is of contents, not of the checkout's times or inodes); and what mr-plans
 * validates the merged tree with, so that the touched shards' previews that follow load their
 * part whatever their order. Only for a sharded stack.
 */
export function loadWholeIndexed(root: string, stack: string, key: string | undefined, facts: MachineFacts = {}, opts: { changed?: ReadonlySet<string> } = {}): ReturnType<typeof loadModel> & { indexed: boolean } {
  const digest = key ? dataDigest(root, stack) : undefined;
  const whole = loadModel(root, stack, facts, key ? { ...opts, cache: { key } } : opts);
  const indexed = !!(whole.model && shardNames(whole.model).length > 0 && key && digest && indexWhole(root, whole.model, digest, key, facts));
  return { ...whole, indexed };
}
