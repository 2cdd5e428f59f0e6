import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStack, openWorkspace, type StackOptions } from "../lib/engine/driver";
import { movesFromPlans, stateMove } from "../lib/engine/shard-move";
import { previewPlan } from "../lib/guard/collect";
import { judge } from "../lib/guard/rules";
import { setShards, writeShardedTree } from "./helpers/shard-tree";

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
});
