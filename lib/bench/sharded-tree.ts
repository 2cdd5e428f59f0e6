import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeSyntheticTree } from "./synthetic";

/**
 * A synthetic tree (writeSyntheticTree, stack "bench") with `webHosts` web hosts (web1…webK),
 * a DNS secondary (ns2), members spread over the web hosts in turn (member i on web(i mod K)+1),
 * and the inventory's `shards` as given (docs/architecture.md, "Sharded stacks").
 */
export function writeShardedSyntheticTree(root: string, members: number, webHosts: number, shards: Record<string, ShardRule>): void {
  writeSyntheticTree(root, members);
  const file = join(root, "Pulumi.bench.yaml");
  let inv = readFileSync(file, "utf8");
  const web1 = /      web1:\n(?:        .*\n)+/.exec(inv)?.[0];
  if (!web1) throw new Error("no web1 in the synthetic inventory");
  const more = Array.from({ length: webHosts - 1 }, (_, k) => web1.replace(/web1/g, `web${k + 2}`).replace("192.0.2.10", `192.0.2.${20 + k}`)).join("");
  const ns2 = web1.replace(/web1/g, "ns2").replace("[web]", "[dns-secondary]").replace("192.0.2.10", "192.0.2.14");
  inv = inv.replace(web1, web1 + more + ns2);
  writeFileSync(file, inv);
  setShards(root, shards);
  if (webHosts < 2) return;
  for (let i = 0; i < members; i++) {
    const m = join(root, "members", `member-${String(i).padStart(5, "0")}`, "member.yaml");
    writeFileSync(m, readFileSync(m, "utf8").replace("sites:\n", `web_host: web${(i % webHosts) + 1}\nsites:\n`));
  }
}

/** A shard's rule as setShards writes it: its hosts, or its fields as given (`members_of:`, `bucket:`, `buckets:`). */
export type ShardRule = string[] | Record<string, string | number>;

/** Rewrites the inventory's `shards` block of a synthetic tree. */
export function setShards(root: string, shards: Record<string, ShardRule>): void {
  const file = join(root, "Pulumi.bench.yaml");
  const lines = readFileSync(file, "utf8").replace(/    shards:\n(?:      .*\n)*/, "").replace(/\n*$/, "\n").split("\n");
  // Inside the inventory: before the next top-level key (the engine may have added encryptionsalt).
  const end = lines.findIndex((l, i) => i > 0 && /^\S/.test(l));
  const flow = (rule: ShardRule) => (Array.isArray(rule) ? `hosts: [${rule.join(", ")}]` : Object.entries(rule).map(([k, v]) => `${k}: ${v}`).join(", "));
  const block = ["    shards:", ...Object.entries(shards).map(([s, rule]) => `      ${s}: { ${flow(rule)} }`)];
  lines.splice(end < 0 ? lines.length - 1 : end, 0, ...block);
  writeFileSync(file, lines.join("\n"));
}
