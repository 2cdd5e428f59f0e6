import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { INVENTORY_KEY } from "../schema/inventory";

/**
 * The shard names of Pulumi.<stack>.yaml's inventory, read without loading the data (a command
 * checks --shard before the engine starts; the program checks again on the whole model).
 * Empty when the file is missing or has no shards: the program then reports its own errors.
 */
export function inventoryShards(root: string, stack: string): Record<string, { hosts: string[] }> | undefined {
  let doc: unknown;
  try {
    doc = parse(readFileSync(join(root, `Pulumi.${stack}.yaml`), "utf8"));
  } catch {
    return undefined;
  }
  const inv = (doc as { config?: Record<string, unknown> } | null)?.config?.[INVENTORY_KEY] as { shards?: unknown } | undefined;
  const shards = inv?.shards;
  return shards && typeof shards === "object" && !Array.isArray(shards) ? (shards as Record<string, { hosts: string[] }>) : undefined;
}
