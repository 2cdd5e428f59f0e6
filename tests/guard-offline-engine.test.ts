import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeSyntheticTree } from "../lib/bench/synthetic";
import { openStack } from "../lib/engine/driver";
import { previewPlan } from "../lib/guard/collect";
import { planFromModels } from "../lib/guard/offline";
import { judge } from "../lib/guard/rules";
import { loadModel } from "../lib/check/build";
import type { Model } from "../lib/model/types";

/**
 * System tier (the engine, the provider in its dry mode: no host touched). The offline guard
 * works out from the data alone the steps the engine announces for what the guard judges;
 * here both look at the same change and must agree step by step and on the Allow-Destroy
 * lines. Run under flock /tmp/globenet-real-daemons.lock (it drives the engine).
 */
describe("the offline guard agrees with a real preview", () => {
  let dir: string;
  let data: string;
  let stack: Stack;
  let base: Model;

  const edit = (rel: string, from: string, to: string) => {
    const f = join(data, rel);
    const t = readFileSync(f, "utf8");
    if (!t.includes(from)) throw new Error(`${rel} no longer holds ${from}`);
    writeFileSync(f, t.replace(from, to));
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "globenet-offline-engine-"));
    data = join(dir, "data");
    writeSyntheticTree(data, 40);
    // A second site for member-00003, so that removing it later leaves the account in place.
    edit("members/member-00003/member.yaml", "databases:", "  - host: blog.member-00003.example\n    php: \"8.2\"\ndatabases:");
    stack = await openStack({
      stack: "bench",
      root: data,
      env: { PULUMI_BACKEND_URL: `file://${dir}`, PULUMI_CONFIG_PASSPHRASE: "globenet-offline-engine-throwaway", GLOBENET_PROVIDER_DRY_RUN: "1", PULUMI_HOME: join(dir, "pulumi-home") },
    });
    const up = await stack.up({ color: "never" });
    expect(up.summary.result).toBe("succeeded");
    base = loadModel(data, "bench").model as Model;
  }, 900_000);

  afterAll(() => {
    delete process.env.GLOBENET_PROVIDER_DRY_RUN;
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("a departure, a site removed, a database renamed, a suspension with a VPS, a VPS resized", async () => {
    // member-00000 leaves (its VPS, database, site and zone go); member-00003 drops its blog;
    // member-00004 renames its database; member-00020 (with a VPS) is suspended; its VPS grows.
    writeFileSync(join(data, "members/member-00000/member.yaml"), "handle: member-00000\nname: Association numéro 0\ncontact: { email: bureau@member-00000.example }\nstatus: departed\n");
    rmSync(join(data, "members/member-00000/vps"), { recursive: true });
    rmSync(join(data, "zones/member-00000.example.yaml"));
    edit("members/member-00003/member.yaml", "  - host: blog.member-00003.example\n    php: \"8.2\"\n", "");
    edit("members/member-00004/member.yaml", "- name: db_00004", "- name: db_00004b");
    edit("members/member-00020/member.yaml", "status: active", "status: suspended");
    edit("members/member-00020/vps/vm.yaml", "memory_mb: 2048", "memory_mb: 4096");
    const head = loadModel(data, "bench");
    expect(head.errors).toEqual([]);

    const { plan: engine } = await previewPlan(stack);
    const offline = planFromModels(base, head.model as Model);
    const judged = new Set(["globenet:member:Member", "globenet:hosting:Account", "globenet:db:Database", "globenet:vm:Guest"]);
    // One word per resource: a replacement is announced by the engine as several steps.
    const ops = (steps: typeof engine.steps) => {
      const m = new Map<string, string>();
      for (const s of steps.filter((x) => judged.has(x.type))) {
        const op = ["replace", "create-replacement", "delete-replaced"].includes(s.op) ? "replace" : s.op;
        m.set(`${s.type} ${s.name}`, op);
      }
      return [...m.entries()].filter(([, op]) => op !== "same").sort();
    };
    expect(ops(offline.steps)).toEqual(ops(engine.steps));
    expect(ops(engine.steps)).toContainEqual(["globenet:vm:Guest member-00000--vm", "delete"]);
    expect(ops(engine.steps)).toContainEqual(["globenet:hosting:Account member-00003", "update"]);

    const a = judge(engine, { maxShare: 0.1, allowances: [] });
    const b = judge(offline, { maxShare: 0.1, allowances: [] });
    expect(b.needed).toEqual(a.needed);
    expect(b.needed).toEqual(["members/member-00000", "members/member-00003/sites/blog.member-00003.example", "members/member-00004/databases/db_00004"]);
    expect(b.losses.map((l) => l.description).sort()).toEqual(a.losses.map((l) => l.description).sort());
  }, 600_000);
});
