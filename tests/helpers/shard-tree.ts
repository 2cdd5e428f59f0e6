import { setShards, writeShardedSyntheticTree } from "../../lib/bench/sharded-tree";

/**
 * The sharded tests' tree: the synthetic tree with web1 and web2 (members alternating: even on
 * web1, odd on web2), a DNS secondary ns2, and the inventory's `shards` as given.
 */
export function writeShardedTree(root: string, members: number, shards: Record<string, string[]>): void {
  writeShardedSyntheticTree(root, members, 2, shards);
}

export { setShards };
