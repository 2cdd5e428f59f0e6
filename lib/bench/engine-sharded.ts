import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { loadModel } from "../check/build";
import { loadWholeIndexed } from "../check/shard-index";
import { touchedShards } from "../ci/touched-shards";
import { openStack } from "../engine/driver";
import { withoutSdkOverheadWhile } from "../base/sdk-overhead";
import { shardOfObjects, shardStackName } from "../model/shards";
import type { Model } from "../model/types";
import { envFor, firstUp, meetsTarget, noopPreview, openBare, secs, STACK, TARGET_RATIO } from "./engine";
import { alternatedRounds, roundRatio } from "./rounds";
import { openShapeFloor, replayPlan, type StateResource } from "./shape-floor";
import { writeShardedSyntheticTree, type ShardRule } from "./sharded-tree";
import { freshSshPublicKey } from "./synthetic";

/**
 * `npm run bench -- engine --members N --sharded K` (docs/architecture.md, "Sharded stacks"):
 * the synthetic tree over K web hosts, one shard per web host (its members' accounts and
 * databases, its file sets) and a `core` shard (db1's settings, the name servers, the
 * hypervisors and their guests). Measured: `core` and `web1` (the web shards are the same size
 * within a member: the others are not run), each one's no-op preview beside the engine's floor
 * for the same resource count (a bare program of as many trivial resources, same run) and beside
 * the same resources replayed on the trivial type (lib/bench/shape-floor.ts), then two
 * one-member changes (an SSH key of a web1 member with sites only, then of one who has a VPS
 * too; with `--buckets B`, web1's members split by hash into B shards, and both members in the
 * first bucket, which is run before web1's own shard): CI's one whole validation and index of the changed data, the shards the change
 * touches (lib/ci/touched-shards.ts) and the preview of each. The provider's dry mode, as the
 * engine bench.
 */
export interface ShardRow {
  shard: string;
  resources: number;
  up: number;
  /** Best of the rounds. */
  preview: number;
  floor: number;
  /** The same resources' floor: their names, parents, dependencies and inputs replayed on the trivial type (lib/bench/shape-floor.ts). */
  shapeFloor: number;
  /** The median of the rounds' ratios program / bare floor and program / same-shape floor (each within one round). */
  roundRatio: number;
  roundShapeRatio: number;
  /** The machine's 1-minute load average when the row's figures were taken (a shared machine: read the ratio, not the seconds). */
  load: number;
}

export interface ShardedBench {
  members: number;
  /** How many shards the tree has (only `rows`' were run). */
  shards: number;
  rows: ShardRow[];
  /** One-member changes: the member, CI's whole validation and index of the changed data (seconds), the shards it touches and each one's preview. */
  changes: Array<{ member: string; index: number; touched: string[]; previews: Array<{ shard: string; s: number; changed: number; load: number }> }>;
  /** The shards run, in order (web1 and core; with --buckets, web1's first bucket first). */
  run: string[];
}

/** Alternated rounds per shard (lib/bench/rounds.ts): each a no-op preview of the program, of its bare floor and of its same-shape floor. */
export const ROUNDS = 3;

/** A member whose objects are in `shard` (a web shard, or a bucket of web1's members), with or without a VPS. */
function memberIn(model: Model, shard: string, vps: boolean): string {
  const withVps = new Set(model.vps.map((v) => v.handle));
  const at = shardOfObjects(model)?.members;
  const fits = (x: Model["members"][number]) => x.webHost !== undefined && x.status === "active" && withVps.has(x.handle) === vps;
  // A small tree in many buckets may have no member with a VPS in this one: any such member then (its other bucket is not run: said, not previewed).
  const m = model.members.find((x) => fits(x) && at?.get(x.handle) === shard) ?? model.members.find(fits);
  if (!m) throw new Error(`no member ${vps ? "with" : "without"} a VPS in the synthetic tree`);
  return m.handle;
}

/** The shard name of bucket `i` of web1's members (`--buckets`). */
export const bucketShard = (i: number) => `web1-b${i}`;

export async function shardedEngineBench(opts: { members: number; shards: number; buckets?: number; keep?: boolean; log?: (l: string) => void }): Promise<ShardedBench> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const dir = mkdtempSync(join(tmpdir(), "globenet-bench-sharded-"));
  try {
    const data = join(dir, "data");
    const k = opts.shards;
    const hv = Math.max(1, Math.ceil(Math.floor(opts.members / 20) / 200));
    const shards: Record<string, ShardRule> = { core: ["db1", "ns1", "ns2", ...Array.from({ length: hv }, (_, i) => `hv${i + 1}`)] };
    for (let i = 1; i <= k; i++) shards[`web${i}`] = [`web${i}`];
    // --buckets B: web1's members split by hash into B shards; web1's shard keeps its sets (docs/architecture.md, "Members split by hash").
    const buckets = opts.buckets ?? 0;
    for (let i = 0; i < buckets; i++) shards[bucketShard(i)] = { members_of: "web1", bucket: i, buckets };
    const run = buckets ? [bucketShard(0), "web1", "core"] : ["web1", "core"];
    const t0 = process.hrtime.bigint();
    writeShardedSyntheticTree(data, opts.members, k, shards);
    log(`N=${opts.members}, ${k + 1} shards: wrote the tree in ${secs(t0).toFixed(2)} s (${dir})`);
    const env = envFor(dir, "program");
    const rows: ShardRow[] = [];
    const stacks = new Map<string, Awaited<ReturnType<typeof openStack>>>();
    // web1 first, then core; each shard's program and its two floors (a bare program of as many
    // resources, the same resources replayed) in alternated rounds, so that a ratio is read
    // between runs of one round (lib/bench/rounds.ts).
    for (const [i, s] of run.entries()) {
      const stack = await openStack({ root: data, stack: shardStackName(STACK, s), env });
      stacks.set(s, stack);
      const up = await firstUp(stack, `shard ${s}`, log);
      const bare = await openBare(dir, up.resources, `bare${i}`);
      const bareUp = await firstUp(bare, `bare ${up.resources}`, log);
      const shape = await openShapeFloor(dir, replayPlan((await stack.exportStack()).deployment.resources as StateResource[]), `shape${i}`);
      const shapeUp = await firstUp(shape, `shape floor of ${s}`, log);
      if (shapeUp.resources !== up.resources) throw new Error(`the replay of shard ${s} made ${shapeUp.resources} resources, the program ${up.resources}`);
      const [p, b, sh] = (await alternatedRounds(
        [
          (label) => noopPreview(stack, `shard ${s}`, up.resources, log, label),
          (label) => noopPreview(bare, `bare ${up.resources}`, bareUp.resources, log, label),
          (label) => noopPreview(shape, `shape floor of ${s}`, shapeUp.resources, log, label),
        ],
        ROUNDS,
      )) as [number[], number[], number[]];
      rows.push({
        shard: s,
        resources: up.resources,
        up: up.s,
        preview: Math.min(...p),
        floor: Math.min(...b),
        shapeFloor: Math.min(...sh),
        roundRatio: roundRatio(p, b),
        roundShapeRatio: roundRatio(p, sh),
        load: loadavg()[0] as number,
      });
      log(formatShardedTable({ members: opts.members, shards: Object.keys(shards).length, rows, changes: [], run }));
    }
    // One member's change, as a merge request's pipeline sees it: its SSH key, for a member with
    // sites only (its web shard), then for one with a VPS too (its web shard and core, whose
    // hypervisor's guest takes the key). First what CI runs once per change (mr-plans, or the
    // parent shard-pipeline job: the whole loaded, checked and indexed with the load cache), then
    // each touched shard's preview, which loads its part by that index.
    const changes: ShardedBench["changes"] = [];
    // Each change alone: the file is put back after its previews (the states hold the data as first applied).
    const model = loadModel(data, STACK).model as Model;
    for (const handle of [memberIn(model, run[0] as string, false), memberIn(model, run[0] as string, true)]) {
      const file = join(data, "members", handle, "member.yaml");
      const text = readFileSync(file, "utf8");
      writeFileSync(file, text.replace(/ssh_keys: .*/, `ssh_keys: ["${freshSshPublicKey("new@laptop")}"]`));
      const t = process.hrtime.bigint();
      const whole = loadWholeIndexed(data, STACK, env.PULUMI_CONFIG_PASSPHRASE);
      const index = secs(t);
      if (!whole.model || !whole.indexed) throw new Error(`the changed data did not load and index: ${whole.errors.map((e) => e.message).join("; ")}`);
      const touched = touchedShards(model, whole.model);
      log(`one-member change (${handle}'s SSH key): the whole validated and indexed in ${index.toFixed(2)} s; touches ${touched.join(", ")}`);
      const previewsOf: ShardedBench["changes"][number]["previews"] = [];
      for (const s of touched) {
        const t1 = process.hrtime.bigint();
        const stack = stacks.get(s);
        if (!stack) {
          log(`one-member change (${handle}): shard ${s} is not one this bench runs (${run.join(", ")}): not previewed`);
          continue;
        }
        const r = await withoutSdkOverheadWhile(() => stack.preview({ color: "never" }));
        const changed = Object.entries(r.changeSummary ?? {}).filter(([op]) => op !== "same").reduce((a, [, n]) => a + (n ?? 0), 0);
        previewsOf.push({ shard: s, s: secs(t1), changed, load: loadavg()[0] as number });
        log(`one-member change (${handle}): preview of shard ${s} in ${secs(t1).toFixed(2)} s (${changed} change(s))`);
      }
      changes.push({ member: handle, index, touched, previews: previewsOf });
      writeFileSync(file, text);
    }
    return { members: opts.members, shards: Object.keys(shards).length, rows, changes, run };
  } finally {
    delete process.env.GLOBENET_PROVIDER_DRY_RUN;
    if (opts.keep) log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

export function formatShardedTable(b: ShardedBench): string {
  const head = ["shard", "resources", "no-op preview s", "floor s", "ratio", "rounds' ratio", "", "same-shape floor s", "ratio to it", "rounds' ratio", "first up s", "load avg"];
  const body = b.rows.map((r) => [
    r.shard,
    String(r.resources),
    r.preview.toFixed(2),
    r.floor.toFixed(2),
    (r.preview / r.floor).toFixed(2),
    r.roundRatio.toFixed(2),
    meetsTarget(r.preview / r.floor, r.roundRatio) ? "ok" : "OVER",
    r.shapeFloor.toFixed(2),
    (r.preview / r.shapeFloor).toFixed(2),
    r.roundShapeRatio.toFixed(2),
    r.up.toFixed(2),
    r.load.toFixed(1),
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((l) => (l[i] as string).length)));
  const line = (l: string[]) => l.map((c, i) => c.padStart(w[i] as number)).join("  ");
  // Beside each change's preview, the floor of that shard's resource count (same run).
  const floor = new Map(b.rows.map((r) => [r.shard, r.floor]));
  const changes = b.changes.map((c) => {
    const previews = c.previews
      .map((p) => `${p.shard} ${p.s.toFixed(2)} s (${p.changed} change(s); floor ${floor.get(p.shard)?.toFixed(2) ?? "-"} s, ×${((p.s / (floor.get(p.shard) ?? NaN)) || 0).toFixed(2)}; load avg ${p.load.toFixed(1)})`)
      .join(", ");
    return `one-member change (${c.member}'s SSH key): the whole validated and indexed once ${c.index.toFixed(2)} s; touches ${c.touched.join(", ") || "no shard"}; preview ${previews || "-"}`;
  });
  return [
    `N=${b.members}, ${b.shards} shards (${b.run.join(", ")} run; ${b.run.includes(bucketShard(0)) ? `web1's members split by hash, ${bucketShard(0)} one of its buckets, web1 its sets; ` : ""}the other web shards are web1's size within a member); no-op previews in ${ROUNDS} alternated rounds (program, bare floor, same-shape floor; the first one moving each round): the best of each, their ratio, and the median of the rounds' ratios (each within one round); floor: a bare program of the same resource count, same run (target: both ratios <= ${TARGET_RATIO}); same-shape floor: the shard's own resources (names, parents, dependencies, inputs) replayed on the trivial type, same run: what the SDK, gRPC and the engine take for these properties whoever declares them`,
    line(head),
    ...body.map(line),
    ...changes,
  ].join("\n");
}
