import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { guardCommand } from "../lib/cli/guard";
import { writeSyntheticTree } from "../lib/bench/synthetic";
import { openStack } from "../lib/engine/driver";
import { previewPlan } from "../lib/guard/collect";
import { judge } from "../lib/guard/rules";

/**
 * The guard on real previews: the real engine and the real provider's check and diff, on a
 * state made by a dry `up` (the provider's dry mode, stack "bench" only: no host is touched).
 */
describe("the guard on real previews", () => {
  let dir: string;
  let data: string;
  let stack: Stack;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "globenet-guard-"));
    data = join(dir, "data");
    writeSyntheticTree(data, 20);
    stack = await openStack({
      stack: "bench",
      root: data,
      env: { PULUMI_BACKEND_URL: `file://${dir}`, PULUMI_CONFIG_PASSPHRASE: "globenet-guard-test-throwaway", GLOBENET_PROVIDER_DRY_RUN: "1", PULUMI_HOME: join(dir, "pulumi-home") },
    });
    const up = await stack.up({ color: "never" });
    expect(up.summary.result).toBe("succeeded");
  }, 600_000);

  afterAll(() => {
    delete process.env.GLOBENET_PROVIDER_DRY_RUN;
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("lets an ordinary change through", async () => {
    writeFileSync(join(data, "zones", "member-00003.example.yaml"), 'owner: member-00003\nrecords:\n  - { name: "@", type: TXT, value: "hello" }\n');
    const { plan } = await previewPlan(stack);
    const v = judge(plan, { maxShare: 0.1, allowances: [] });
    expect(v.losses).toEqual([]);
    expect(v.ok).toBe(true);
    expect(plan.steps.filter((s) => s.op !== "same").map((s) => `${s.op} ${s.name}`)).toEqual(["update ns1-bind"]);
  }, 300_000);

  it("blocks a member's departure until a commit of the change allows it (the description never does), saying what is lost and where it goes", async () => {
    const git = (...args: string[]) => execFileSync("git", args, { cwd: data, encoding: "utf8", env: { ...process.env, GIT_AUTHOR_NAME: "Camille", GIT_AUTHOR_EMAIL: "c@globenet.example", GIT_COMMITTER_NAME: "Camille", GIT_COMMITTER_EMAIL: "c@globenet.example" } }).trim();
    git("init", "-q", "-b", "main");
    git("add", "-A");
    git("commit", "-q", "-m", "before");
    const base = git("rev-parse", "HEAD");
    rmSync(join(data, "members", "member-00000"), { recursive: true });
    rmSync(join(data, "zones", "member-00000.example.yaml"));
    const { plan } = await previewPlan(stack);
    const file = join(dir, "plan.json");
    writeFileSync(file, JSON.stringify(plan));
    const out: string[] = [];
    const log = vi.spyOn(console, "log").mockImplementation((s: unknown) => void out.push(String(s)));
    try {
      expect(await guardCommand(["--plan", file])).toBe(1);
      const text = out.join("\n");
      expect(text).toContain("guard: BLOCKED");
      expect(text).toMatch(/members\/member-00000: database db_00000 would be deleted on \S+/);
      expect(text).toMatch(/members\/member-00000: VPS vm would be deleted on \S+/);
      expect(text).toMatch(/archived first to \/var\/backups\/globenet-archive\/vps\/member-00000--vm-<UTC time>\.qcow2/);
      expect([...text.matchAll(/^  Allow-Destroy: (.+)$/gm)].map((m) => m[1])).toEqual(["members/member-00000"]);
      // The merge request's description (editable after the approvals) allows nothing.
      out.length = 0;
      process.env.CI_MERGE_REQUEST_DESCRIPTION = "Member 0 leaves (ticket #42).\n\nAllow-Destroy: members/member-00000\n";
      git("add", "-A");
      git("commit", "-q", "-m", "member-00000 leaves");
      expect(await guardCommand(["--plan", file, "--base", base, "--root", data])).toBe(1);
      expect(out.join("\n")).toContain("guard: BLOCKED");
      // A commit of the change does.
      out.length = 0;
      git("commit", "-q", "--allow-empty", "-m", "Member 0 leaves (ticket #42)\n\nAllow-Destroy: members/member-00000");
      expect(await guardCommand(["--plan", file, "--base", base, "--root", data])).toBe(0);
      expect(out.join("\n")).toContain("guard: OK — every destructive change is allowed explicitly");
      expect(out.join("\n")).toMatch(/Member 0 leaves \(ticket #42\): members\/member-00000/);
    } finally {
      log.mockRestore();
      delete process.env.CI_MERGE_REQUEST_DESCRIPTION;
    }
  }, 300_000);

  it("blocks removing a large share of the zones at once", async () => {
    for (const i of ["05", "06", "07"]) rmSync(join(data, "zones", `member-000${i}.example.yaml`));
    // Their sites' names then lie in no zone we serve: the members say their DNS is elsewhere.
    for (const i of ["05", "06", "07"]) {
      const f = join(data, "members", `member-000${i}`, "member.yaml");
      writeFileSync(f, readFileSync(f, "utf8").replace('    php: "8.2"', '    php: "8.2"\n    dns: external'));
    }
    const { plan } = await previewPlan(stack);
    const v = judge(plan, { maxShare: 0.1, allowances: ["members/member-00000"] });
    expect(v.ok).toBe(false);
    expect(v.share.join("\n")).toMatch(/4 of 21 zones on \S+ would stop being served at once/);
  }, 300_000);

  it("blocks a site's removal, an update of its account, until its path is allowed", async () => {
    // Renaming the site: the old name's folder is archived, then deleted.
    const f = join(data, "members", "member-00010", "member.yaml");
    writeFileSync(f, readFileSync(f, "utf8").replace("  - host: member-00010.example", "  - host: shop.member-00010.example"));
    const { plan } = await previewPlan(stack);
    expect(plan.steps.filter((s) => s.name === "member-00010" && s.type === "globenet:hosting:Account").map((s) => s.op)).toEqual(["update"]);
    const mine = (allowances: string[]) => judge(plan, { maxShare: 1, allowances }).losses.filter((l) => l.path.startsWith("members/member-00010"));
    expect(mine([]).map((l) => [l.path, l.description, l.allowedBy])).toEqual([
      ["members/member-00010/sites/member-00010.example", "members/member-00010: site folder ~member-00010/sites/member-00010.example (its files) would be deleted on web1", undefined],
    ]);
    expect(mine(["members/member-00010/sites/member-00010.example"]).map((l) => l.allowedBy)).toEqual(["members/member-00010/sites/member-00010.example"]);
  }, 300_000);
});
