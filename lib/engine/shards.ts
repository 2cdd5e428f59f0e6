import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { INVENTORY_KEY, type Inventory } from "../schema/inventory";
import { shardSecretNames } from "../model/shards";

/**
 * The shard names of Pulumi.<stack>.yaml's inventory, read without loading the data (a command
 * checks --shard before the engine starts; the program checks again on the whole model).
 * Empty when the file is missing or has no shards: the program then reports its own errors.
 */
export function inventoryShards(root: string, stack: string): Inventory["shards"] {
  const shards = (stackConfig(root, stack)?.[INVENTORY_KEY] as { shards?: unknown } | undefined)?.shards;
  return shards && typeof shards === "object" && !Array.isArray(shards) ? (shards as Inventory["shards"]) : undefined;
}

/** Pulumi.<stack>.yaml's `config:` as written (secrets as `secure:` ciphertext); undefined when unreadable. */
export function stackConfig(root: string, stack: string): Record<string, unknown> | undefined {
  try {
    const cfg = (parse(readFileSync(join(root, `Pulumi.${stack}.yaml`), "utf8")) as { config?: unknown } | null)?.config;
    return cfg && typeof cfg === "object" && !Array.isArray(cfg) ? (cfg as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The stack's secrets a shard's program needs (shardSecretNames) that Pulumi.<stack>.yaml
 * holds, by their config keys. The inventory as written: validate has checked it, or the
 * program refuses it. `project`: the config keys' prefix (the Pulumi project's name).
 */
export function shardSecretKeys(root: string, stack: string, shard: string, project: string): string[] {
  const cfg = stackConfig(root, stack) ?? {};
  const inv = cfg[INVENTORY_KEY] as { shards?: Inventory["shards"]; hosts?: Inventory["hosts"]; portal?: Inventory["portal"] } | undefined;
  if (!inv || typeof inv !== "object") return [];
  const names = shardSecretNames({ shards: inv.shards, hosts: inv.hosts ?? {}, portal: inv.portal }, shard);
  return names.map((n) => `${project}:${n}`).filter((k) => cfg[k] !== undefined);
}
