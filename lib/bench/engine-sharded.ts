import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { loadModel } from "../check/build";
import { touchedShards } from "../ci/touched-shards";
import { openStack } from "../engine/driver";
import { shardStackName } from "../model/shards";
import type { Model } from "../model/types";
import { envFor, firstUp, openBare, PREVIEW_RUNS, previews, secs, STACK } from "./engine";
import { writeShardedSyntheticTree } from "./sharded-tree";
import { freshSshPublicKey } from "./synthetic";

/**
 * `npm run bench -- engine --members N --sharded K` (docs/architecture.md, "Sharded stacks"):
 * the synthetic tree over K web hosts, one shard per web host (its members' accounts and
 * databases, its file sets) and a `core` shard (db1's settings, the name servers, the
 * hypervisors and their guests). Measured: `core` and `web1` (the web shards are the same size
 * within a member: the others are not run), each one's no-op preview beside the engine's floor
 * for the same resource count (a bare program of as many trivial resources, same run), then a
 * one-member change (member-00000's SSH key, on web1): the shards it touches
 * (lib/ci/touched-shards.ts) and the preview of each. The provider's dry mode, as the engine
 * bench.
 */
export interface ShardRow {
  shard: string;
  resources: number;
  up: number;
  preview: number;
  floor: number;
  /** The machine's 1-minute load average when the row's figures were taken (a shared machine: read the ratio, not the seconds). */
  load: number;
}

export interface ShardedBench {
  members: number;
  /** How many shards the tree has (only `rows`' were run). */
  shards: number;
  rows: ShardRow[];
  change: { touched: string[]; previews: Array<{ shard: string; s: number; changed: number; load: number }> };
}

export async function shardedEngineBench(opts: { members: number; shards: number; keep?: boolean; log?: (l: string) => void }): Promise<ShardedBench> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const dir = mkdtempSync(join(tmpdir(), "globenet-bench-sharded-"));
  try {
    const data = join(dir, "data");
    const k = opts.shards;
    const hv = Math.max(1, Math.ceil(Math.floor(opts.members / 20) / 200));
    const shards: Record<string, string[]> = { core: ["db1", "ns1", "ns2", ...Array.from({ length: hv }, (_, i) => `hv${i + 1}`)] };
    for (let i = 1; i <= k; i++) shards[`web${i}`] = [`web${i}`];
    const t0 = process.hrtime.bigint();
    writeShardedSyntheticTree(data, opts.members, k, shards);
    log(`N=${opts.members}, ${k + 1} shards: wrote the tree in ${secs(t0).toFixed(2)} s (${dir})`);
    const env = envFor(dir, "program");
    const rows: ShardRow[] = [];
    const stacks = new Map<string, Awaited<ReturnType<typeof openStack>>>();
    // web1 first, each shard's floor right after its previews (a bare program of as many
    // resources): on a shared machine, the figures of a row are taken as close together as can be.
    for (const [i, s] of ["web1", "core"].entries()) {
      const stack = await openStack({ root: data, stack: shardStackName(STACK, s), env });
      stacks.set(s, stack);
      const up = await firstUp(stack, `shard ${s}`, log);
      const p = await previews(stack, `shard ${s}`, up.resources, log);
      const bare = await openBare(dir, up.resources, `bare${i}`);
      const bareUp = await firstUp(bare, `bare ${up.resources}`, log);
      const floor = Math.min(...(await previews(bare, `bare ${up.resources}`, bareUp.resources, log)));
      rows.push({ shard: s, resources: up.resources, up: up.s, preview: Math.min(...p), floor, load: loadavg()[0] as number });
      log(formatShardedTable({ members: opts.members, shards: Object.keys(shards).length, rows, change: { touched: [], previews: [] } }));
    }
    // One member's change: its SSH key.
    const before = loadModel(data, STACK).model as Model;
    const file = join(data, "members", "member-00000", "member.yaml");
    writeFileSync(file, readFileSync(file, "utf8").replace(/ssh_keys: .*/, `ssh_keys: ["${freshSshPublicKey("new@laptop")}"]`));
    const touched = touchedShards(before, loadModel(data, STACK).model as Model);
    const changePreviews: ShardedBench["change"]["previews"] = [];
    for (const s of touched) {
      const t = process.hrtime.bigint();
      const stack = stacks.get(s);
      if (!stack) throw new Error(`the change touches shard ${s}, which this bench did not apply`);
      const r = await stack.preview({ color: "never" });
      const changed = Object.entries(r.changeSummary ?? {}).filter(([op]) => op !== "same").reduce((a, [, n]) => a + (n ?? 0), 0);
      changePreviews.push({ shard: s, s: secs(t), changed, load: loadavg()[0] as number });
      log(`one-member change: preview of shard ${s} in ${secs(t).toFixed(2)} s (${changed} change(s))`);
    }
    return { members: opts.members, shards: Object.keys(shards).length, rows, change: { touched, previews: changePreviews } };
  } finally {
    delete process.env.GLOBENET_PROVIDER_DRY_RUN;
    if (opts.keep) log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

export function formatShardedTable(b: ShardedBench): string {
  const head = ["shard", "resources", "no-op preview s", "floor s", "ratio", "first up s", "load avg"];
  const body = b.rows.map((r) => [r.shard, String(r.resources), r.preview.toFixed(2), r.floor.toFixed(2), (r.preview / r.floor).toFixed(2), r.up.toFixed(2), r.load.toFixed(1)]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((l) => (l[i] as string).length)));
  const line = (l: string[]) => l.map((c, i) => c.padStart(w[i] as number)).join("  ");
  // Beside each change's preview, the floor of that shard's resource count (same run).
  const floor = new Map(b.rows.map((r) => [r.shard, r.floor]));
  const change = b.change.previews
    .map((p) => `${p.shard} ${p.s.toFixed(2)} s (${p.changed} change(s); floor ${floor.get(p.shard)?.toFixed(2) ?? "-"} s, ×${((p.s / (floor.get(p.shard) ?? NaN)) || 0).toFixed(2)}; load avg ${p.load.toFixed(1)})`)
    .join(", ");
  return [
    `N=${b.members}, ${b.shards} shards (core and web1 run; the other web shards are web1's size within a member); no-op previews best of ${PREVIEW_RUNS}; floor: a bare program of the same resource count, same run`,
    line(head),
    ...body.map(line),
    `one-member change (an SSH key): touches ${b.change.touched.join(", ") || "no shard"}; preview ${change || "-"}`,
  ].join("\n");
}
