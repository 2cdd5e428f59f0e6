import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStack, openWorkspace, type StackOptions } from "../lib/engine/driver";
import { movesFromPlans, removedShardPlans, stateMove } from "../lib/engine/shard-move";
import { previewPlan } from "../lib/guard/collect";
import { judge } from "../lib/guard/rules";
import { setShards, writeShardedTree } from "./helpers/shard-tree";
import { RESOURCE_TOKENS } from "../lib/base/tokens";

/**
 * Sharded stacks on the real engine (docs/architecture.md, "Sharded stacks"): two shards of the
 * "bench" stack, each its own stack (bench.one, bench.two) in a file backend of the test's own,
 * the real provider's check and diff with its dry mode for create/read/update/delete (no host
 * is touched; read gives back what the state holds).
 */

type Res = { urn: string; id?: string; type: string; custom?: boolean; outputs?: Record<string, unknown> };

describe("sharded stacks on the real engine", () => {
  let dir: string;
  let data: string;
  let opts: (stack: string) => StackOptions;
  const stacks: Record<string, Stack> = {};

  const resources = async (s: Stack): Promise<Res[]> => ((await s.exportStack()).deployment as { resources?: Res[] }).resources ?? [];
  const ours = (rs: Res[]) => rs.filter((r) => r.type.startsWith("globenet:") && r.custom);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "globenet-shards-engine-"));
    data = join(dir, "data");
    writeShardedTree(data, 20, { one: ["web1", "db1", "ns1", "ns2"], two: ["web2", "hv1"] });
    const env = { PULUMI_BACKEND_URL: `file://${dir}/state`, PULUMI_CONFIG_PASSPHRASE: "globenet-shards-test-throwaway", GLOBENET_PROVIDER_DRY_RUN: "1", PULUMI_HOME: join(dir, "pulumi-home") };
    opts = (stack) => ({ stack, root: data, env });
    for (const s of ["one", "two"]) stacks[s] = await openStack(opts(`bench.${s}`));
  }, 300_000);

  afterAll(() => {
    delete process.env.GLOBENET_PROVIDER_DRY_RUN;
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("two shards apply at the same time, each under its own lock, and write disjoint objects", async () => {
    const locks = join(dir, "state", ".pulumi", "locks");
    // Which stacks hold a lock, sampled while both updates run.
    const seen: string[][] = [];
    let running = true;
    const sample = (async () => {
      while (running) {
        const held: string[] = [];
        if (existsSync(locks)) {
          for (const org of readdirSync(locks)) for (const proj of readdirSync(join(locks, org))) for (const st of readdirSync(join(locks, org, proj))) if (readdirSync(join(locks, org, proj, st)).length > 0) held.push(st);
        }
        seen.push(held.sort());
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    const t0 = Date.now();
    const [a, b] = await Promise.all([stacks.one!.up({ color: "never" }), stacks.two!.up({ color: "never" })]);
    running = false;
    await sample;
    expect(a.summary.result).toBe("succeeded");
    expect(b.summary.result).toBe("succeeded");
    // Both held their own lock at one instant: neither waited for the other.
    expect(seen.some((h) => h.includes("bench.one") && h.includes("bench.two"))).toBe(true);
    expect(new Set(seen.flat())).toEqual(new Set(["bench.one", "bench.two"]));
    console.log(`two shards applied concurrently in ${((Date.now() - t0) / 1000).toFixed(1)} s; ${seen.length} lock samples`);
    const one = ours(await resources(stacks.one!));
    const two = ours(await resources(stacks.two!));
    const key = (r: Res) => r.urn.split("::").slice(2).join("::");
    const shared = one.map(key).filter((k) => two.map(key).includes(k));
    expect(shared).toEqual([]);
    expect(one.some((r) => r.urn.endsWith("::web1-apache2"))).toBe(true);
    expect(two.some((r) => r.urn.endsWith("::web2-apache2"))).toBe(true);
    expect(two.some((r) => r.urn.endsWith("::member-00001"))).toBe(true);
    expect(one.some((r) => r.urn.endsWith("::member-00001"))).toBe(false);
  }, 600_000);

  it("the whole stack is refused while it is sharded, naming its shards", async () => {
    const whole = await openStack(opts("bench"));
    await expect(whole.preview({ color: "never" })).rejects.toThrow(/stack bench is sharded: name one shard with --shard \(one, two\)/);
  }, 300_000);

  it("moving a host's members to another shard recreates nothing: the state moves, ids kept, and the provider reads the same objects", async () => {
    const before = ours(await resources(stacks.two!)).filter((r) => !r.urn.includes("hv1") && !r.urn.includes("--vm"));
    setShards(data, { one: ["web1", "web2", "db1", "ns1", "ns2"], two: ["hv1"] });
    const plans: Record<string, Awaited<ReturnType<typeof previewPlan>>["plan"]> = {};
    for (const s of ["one", "two"]) plans[s] = (await previewPlan(stacks[s]!)).plan;
    // Applied as is, shard two would delete members' accounts and databases: the guard blocks it.
    expect(judge(plans.two!, { maxShare: 0.1, allowances: [] }).ok).toBe(false);
    const moves = movesFromPlans({ one: plans.one!.steps, two: plans.two!.steps });
    expect(moves.map((m) => `${m.from}→${m.to}`)).toEqual(["two→one"]);
    expect(moves[0]!.urns.filter((u) => u.endsWith("::member-00001")).length).toBeGreaterThan(0);
    const w = await openWorkspace(opts("bench.two"));
    await stateMove(w, "bench.two", "bench.one", moves[0]!.urns);
    for (const s of ["one", "two"]) {
      const { plan } = await previewPlan(stacks[s]!);
      expect(plan.steps.filter((st) => st.op !== "same").map((st) => `${st.op} ${st.name}`)).toEqual([]);
    }
    // The provider's read (refresh) finds every moved object, under the same id and outputs.
    const r = await stacks.one!.refresh({ color: "never" });
    expect(r.summary.result).toBe("succeeded");
    expect(Object.keys(r.summary.resourceChanges ?? {}).filter((k) => k !== "same")).toEqual([]);
    const after = new Map(ours(await resources(stacks.one!)).map((x) => [x.urn.split("::").slice(2).join("::"), x]));
    expect(before.length).toBeGreaterThan(10);
    for (const b of before) {
      const a = after.get(b.urn.split("::").slice(2).join("::"));
      expect(a?.id, b.urn).toBe(b.id);
      expect(a?.outputs, b.urn).toEqual(b.outputs);
    }
    expect(ours(await resources(stacks.two!)).every((x) => x.urn.includes("hv1") || x.urn.includes("--vm"))).toBe(true);
  }, 600_000);

  it("splitting web1's members into two buckets by hash moves their objects out of shard one, recreating nothing; their vhosts and pools go from web1's sets to the buckets' parts", async () => {
    const before = ours(await resources(stacks.one!));
    setShards(data, { one: ["web1", "web2", "db1", "ns1", "ns2"], two: ["hv1"], "one-a": { members_of: "web1", bucket: 0, buckets: 2 }, "one-b": { members_of: "web1", bucket: 1, buckets: 2 } });
    for (const s of ["one-a", "one-b"]) stacks[s] = await openStack(opts(`bench.${s}`));
    const plans: Record<string, Awaited<ReturnType<typeof previewPlan>>["plan"]> = {};
    for (const s of ["one", "two", "one-a", "one-b"]) plans[s] = (await previewPlan(stacks[s]!)).plan;
    // Applied as is, shard one would delete web1's members' accounts and databases: the guard blocks it.
    expect(judge(plans.one!, { maxShare: 0.1, allowances: [] }).ok).toBe(false);
    const moves = movesFromPlans(Object.fromEntries(Object.entries(plans).map(([s, p]) => [s, p.steps])));
    expect(moves.map((m) => `${m.from}→${m.to}`)).toEqual(["one→one-a", "one→one-b"]);
    const w = await openWorkspace(opts("bench.one"));
    for (const m of moves) await stateMove(w, "bench.one", `bench.${m.to}`, m.urns);
    // What is left to apply is the files' move: each bucket makes its part of both sets (taking
    // the vhosts and pools over from web1's, byte for byte), web1's own Apache set drops the
    // members' vhosts and its pools go. Nothing else, and nothing replaced.
    const left: Record<string, string[]> = {};
    for (const s of ["one", "two", "one-a", "one-b"]) left[s] = (await previewPlan(stacks[s]!)).plan.steps.filter((st) => st.op !== "same").map((st) => `${st.op} ${st.name}`).sort();
    const versions = [...new Set(before.filter((r) => /::web1-php[0-9.]+$/.test(r.urn)).map((r) => r.urn.split("::web1-php").pop()))];
    expect(versions.length).toBeGreaterThan(0);
    expect(left.one).toEqual(["update web1-apache2", ...versions.map((v) => `delete web1-php${v}`)].sort());
    expect(left.two).toEqual([]);
    for (const [s, part] of [["one-a", "b0"], ["one-b", "b1"]] as const) expect(left[s], s).toEqual([`create web1-${part}`, `create web1-${part}-apache2`, ...versions.map((v) => `create web1-${part}-php${v}`)].sort());
    const key = (r: Res) => r.urn.split("::").slice(2).join("::");
    const [a, b, one] = await Promise.all(["one-a", "one-b", "one"].map(async (s) => ours(await resources(stacks[s]!))));
    // Even members are on web1: each is in one bucket, its account there under the same id.
    const where = (handle: string) => ["one-a", "one-b", "one"].filter((_, i) => [a, b, one][i]!.some((r) => r.urn.endsWith(`::${handle}`) && r.type === RESOURCE_TOKENS.account));
    for (const h of ["member-00000", "member-00002", "member-00004", "member-00006"]) expect(where(h), h).toHaveLength(1);
    expect(where("member-00001")).toEqual(["one"]);
    expect(a!.length).toBeGreaterThan(0);
    expect(b!.length).toBeGreaterThan(0);
    expect(one!.some((r) => r.urn.endsWith("::web1-apache2"))).toBe(true);
    const was = new Map(before.map((r) => [key(r), r]));
    for (const r of [...a!, ...b!]) expect(was.get(key(r))?.id, r.urn).toBe(r.id);
    expect(a!.length + b!.length + one!.length).toBe(before.length);
    // Applied in CI's order (lib/ci/shard-pipeline.ts, applyOrder: both buckets at once, then web1's shard), every shard's next preview is empty.
    for (const r of await Promise.all(["one-a", "one-b"].map((s) => stacks[s]!.up({ color: "never" })))) expect(r.summary.result).toBe("succeeded");
    expect((await stacks.one!.up({ color: "never" })).summary.result).toBe("succeeded");
    for (const s of ["one", "two", "one-a", "one-b"]) {
      const { plan } = await previewPlan(stacks[s]!);
      expect(plan.steps.filter((st) => st.op !== "same").map((st) => `${st.op} ${st.name}`), s).toEqual([]);
    }
    expect(ours(await resources(stacks["one-a"]!)).some((r) => r.urn.endsWith("::web1-b0-apache2"))).toBe(true);
  }, 600_000);

  it("taking a bucket away (buckets: 2 → 1): its members' state moves to the bucket that now holds them, nothing recreated; its stack keeps only its part of web1's sets, which its destroy removes", async () => {
    const before = ours(await resources(stacks["one-b"]!));
    setShards(data, { one: ["web1", "web2", "db1", "ns1", "ns2"], two: ["hv1"], "one-a": { members_of: "web1", bucket: 0, buckets: 1 } });
    const plans: Record<string, ReadonlyArray<{ op: string; urn: string }>> = {};
    for (const s of ["one", "two", "one-a"]) plans[s] = (await previewPlan(stacks[s]!)).plan.steps;
    // one-b is no longer a shard: no program of it runs; its state is what it would delete.
    const removed = await removedShardPlans(await openWorkspace(opts("bench.one")), "bench", ["one", "two", "one-a"]);
    expect(Object.keys(removed)).toEqual(["one-b"]);
    const moves = movesFromPlans({ ...plans, ...removed });
    expect(moves.map((m) => `${m.from}→${m.to}`)).toEqual(["one-b→one-a"]);
    await stateMove(await openWorkspace(opts("bench.one-b")), "bench.one-b", "bench.one-a", moves[0]!.urns);
    // What stays in one-b is its part (the component and its sets), which no other shard makes.
    const left = ours(await resources(stacks["one-b"]!)).map((r) => r.urn.split("::").pop()).sort();
    expect(left.length).toBeGreaterThan(0);
    expect(left.every((n) => n?.startsWith("web1-b1-"))).toBe(true);
    // The bucket that took its members first (on a host its part takes their sites over), then the rest goes.
    expect((await stacks["one-a"]!.up({ color: "never" })).summary.result).toBe("succeeded");
    expect((await stacks["one-b"]!.destroy({ color: "never" })).summary.result).toBe("succeeded");
    for (const s of ["one", "two", "one-a"]) {
      const { plan } = await previewPlan(stacks[s]!);
      expect(plan.steps.filter((st) => st.op !== "same").map((st) => `${st.op} ${st.name}`), s).toEqual([]);
    }
    // Every account one-b had is in one-a under the same id.
    const now = new Map(ours(await resources(stacks["one-a"]!)).map((r) => [r.urn.split("::").slice(2).join("::"), r.id]));
    const accounts = before.filter((r) => r.type === RESOURCE_TOKENS.account);
    expect(accounts.length).toBeGreaterThan(0);
    for (const a of accounts) expect(now.get(a.urn.split("::").slice(2).join("::")), a.urn).toBe(a.id);
  }, 600_000);
});
