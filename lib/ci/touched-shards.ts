import { createHash } from "node:crypto";
import { ownsFile, shardNames, shardParts, shardView } from "../model/shards";
import type { Model } from "../model/types";
import { renderAll } from "../render";

/**
 * Which shards a change touches (docs/architecture.md, "Sharded stacks"): a shard is touched
 * when anything its program reads for its own objects differs between the two models — the
 * objects of its view (hosts, members, sites, databases, VPS, mail domains), the files rendered
 * for its sets (its hosts', a bucket's part of its host's vhosts and pools), or the inventory's settings (the same for every shard, so a change there
 * touches them all). An object moved between shards changes both views. Pure.
 */
export function shardFingerprints(model: Model): Map<string, string> {
  const files = renderAll(model, { serial: () => 0 });
  const { shards: _rule, ...settings } = model.inventory;
  const out = new Map<string, string>();
  for (const shard of shardNames(model)) {
    const view = shardView(model, shard);
    const owns = ownsFile(new Set(view.hosts.map((h) => h.name)), shardParts(model, shard));
    const h = createHash("sha256");
    h.update(JSON.stringify(settings));
    h.update(JSON.stringify(view));
    for (const f of files) if (owns(f)) h.update(`\0${f.host}\0${f.path}\0${f.content}`);
    out.set(shard, h.digest("hex"));
  }
  return out;
}

/** The shards of `head` whose fingerprint differs from `base`'s (all of them without a base), in the inventory's order. */
export function touchedShards(base: Model | undefined, head: Model): string[] {
  const after = shardFingerprints(head);
  if (!base) return [...after.keys()];
  const before = shardFingerprints(base);
  return [...after.keys()].filter((s) => before.get(s) !== after.get(s));
}
