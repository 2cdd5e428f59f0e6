/**
 * Unit tier. The one rule for the stack a command acts on without --stack (lib/cli/stack-default.ts):
 * the one named, else the lab that is up (.lab/topology.json: lab-multi), else lab. Then the same
 * rule seen through the commands themselves, on a data tree of the test's own (no engine, no root).
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { defaultStack, givenOrUpLab, stackOrUpLab } from "../lib/cli/stack-default";
import { labPaths } from "../lib/lab/paths";
import { writeTopology } from "../lib/lab/topology-record";
import { cli } from "./helpers/cli";

const up = { stack: "lab-multi" };

describe("stackOrUpLab: the rule", () => {
  it.each([
    ["nothing named, no lab up", undefined, undefined, "lab"],
    ["nothing named, the multi-host lab up", undefined, up, "lab-multi"],
    ["lab named, the multi-host lab up", "lab", up, "lab"],
    ["prod named, the multi-host lab up", "prod", up, "prod"],
    ["lab-multi named, no lab up", "lab-multi", undefined, "lab-multi"],
    ["prod named, no lab up", "prod", undefined, "prod"],
  ] as const)("%s → %s", (_what, given, record, want) => {
    expect(stackOrUpLab(given, record)).toBe(want);
  });
});

describe("defaultStack and givenOrUpLab read the data tree's .lab/topology.json", () => {
  const none = mkdtempSync(join(tmpdir(), "gn-stack-none-"));
  const multi = mkdtempSync(join(tmpdir(), "gn-stack-multi-"));
  mkdirSync(join(multi, ".lab"), { recursive: true });
  writeTopology(labPaths(multi), { topology: "multi", stack: "lab-multi", prefix: "gn", hosts: ["web1"], files: [] });
  afterAll(() => {
    rmSync(none, { recursive: true, force: true });
    rmSync(multi, { recursive: true, force: true });
  });

  it.each([
    ["no .lab", none, undefined, "lab", undefined],
    ["the multi-host lab recorded", multi, undefined, "lab-multi", "lab-multi"],
    ["a stack named wins", multi, "prod", "prod", "prod"],
    ["lab named while multi is up", multi, "lab", "lab", "lab"],
  ] as const)("%s", (_what, root, given, want, audit) => {
    expect(defaultStack(given, root)).toBe(want);
    expect(givenOrUpLab(given, root)).toBe(audit);
  });

  it("npm run status without --stack reads the multi-host lab's stack; with --stack lab, lab's", async () => {
    // The test's trees have no inventory: the error names the stack the command chose.
    const r = await cli(["status", "certs", "--root", multi]);
    expect([r.status, r.stderr]).toEqual([2, expect.stringContaining("npm run validate -- --stack lab-multi")]);
    const l = await cli(["status", "certs", "--root", multi, "--stack", "lab"]);
    expect(l.stderr).toContain("npm run validate -- --stack lab\n");
    const n = await cli(["status", "certs", "--root", none]);
    expect(n.stderr).toContain("npm run validate -- --stack lab\n");
  });

  it("npm run up without --stack takes the multi-host lab's, which runs without the guard like lab", async () => {
    const r = await cli(["up", "--root", multi, "--allow", "members/x"]);
    expect([r.status, r.stderr.trim()]).toEqual([2, expect.stringContaining("--allow is for the guard: add --guard (the lab's stack lab-multi runs without it by default)")]);
  });

  it("npm run destroy without --stack asks to confirm the stack of the lab that is up", async () => {
    expect((await cli(["destroy", "--root", multi])).stderr).toContain("confirm with --confirm lab-multi");
    expect((await cli(["destroy", "--root", none])).stderr).toContain("confirm with --confirm lab");
  });

  it("the help of each such command says the default", async () => {
    for (const c of ["preview", "up", "refresh", "destroy", "history", "state", "status", "backup", "dnssec"]) {
      expect((await cli([c, "--help"])).stdout, c).toMatch(/--stack NAME[\s\S]*\(default: the lab that is up: lab-multi after npm run lab, else lab\)/);
    }
    expect((await cli(["render", "--help"])).stdout).toMatch(/--stack NAME +whose inventory to use \(default: lab\)/);
  });
});

describe("npm run lab's topology", () => {
  it("up is multi by default: --state (the single lab's) is refused naming what to type", async () => {
    const r = await cli(["lab", "up", "--state", "postgres"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("npm run lab -- --topology single --state postgres");
    expect((await cli(["lab", "--topology", "multi", "--state", "file"])).stderr).toContain("npm run lab -- --topology single --state file");
  });

  it("the help says multi is the default and single is stack lab", async () => {
    const h = (await cli(["lab", "--help"])).stdout;
    expect(h).toMatch(/--topology single\|multi[\s\S]*\(default: multi\)/);
    expect(h).toContain("--topology single puts every host on\n127.0.0.1 instead (stack lab, Pulumi.lab.yaml)");
  });
});
