import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { engineCommand } from "../lib/cli/engine";
import { writeSyntheticTree } from "../lib/bench/synthetic";
import { openStack } from "../lib/engine/driver";
import { lastAppliedCommit } from "../lib/guard/allowances";
import { requireTools } from "./helpers/tools";

/**
 * `npm run up` re-runs the guard on its own fresh plan: a destructive change that no
 * merge-request plan showed (here: commits straight on the checkout, as when two merge
 * requests are merged in a row) is refused before anything changes, unless a commit since the
 * stack's last successful update allows it. The real engine and the real provider's check and
 * diff, in the provider's dry mode (stack "bench": create/update/delete touch no host, the
 * state records them as if they had).
 */
const ok = requireTools("git");

describe.skipIf(!ok)("apply re-runs the guard on its own plan", () => {
  let dir: string;
  let data: string;
  const saved: Record<string, string | undefined> = {};
  const env: Record<string, string> = {};
  const git = (...args: string[]) =>
    execFileSync("git", args, { cwd: data, encoding: "utf8", env: { ...process.env, GIT_AUTHOR_NAME: "Camille", GIT_AUTHOR_EMAIL: "camille@globenet.example", GIT_COMMITTER_NAME: "Camille", GIT_COMMITTER_EMAIL: "camille@globenet.example" } }).trim();

  /** npm run up -- --stack bench --root DATA, as the CLI runs it; its exit status and everything it printed. */
  async function up(...extra: string[]): Promise<{ code: number; out: string }> {
    const lines: string[] = [];
    const keep = (...a: unknown[]) => void lines.push(a.map(String).join(" "));
    const log = vi.spyOn(console, "log").mockImplementation(keep);
    const err = vi.spyOn(console, "error").mockImplementation(keep);
    const write = vi.spyOn(process.stdout, "write").mockImplementation((s: string | Uint8Array) => (lines.push(String(s)), true));
    try {
      const code = await engineCommand("up", ["--stack", "bench", "--root", data, ...extra]);
      return { code, out: lines.join("\n") };
    } finally {
      log.mockRestore();
      err.mockRestore();
      write.mockRestore();
    }
  }

  /** The URNs in the stack's state, and its update count. */
  async function state(): Promise<{ urns: string[]; updates: number }> {
    const stack = await openStack({ stack: "bench", root: data });
    const d = (await stack.exportStack()) as unknown as { deployment: { resources?: Array<{ urn: string }> } };
    const h = await stack.history(100);
    return { urns: (d.deployment.resources ?? []).map((r) => r.urn), updates: h.length };
  }
  const member0 = (urns: string[]) => urns.filter((u) => /::member-00000$|::member-00000--vm$|::db_00000$/.test(u));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "globenet-guard-apply-"));
    data = join(dir, "data");
    writeSyntheticTree(data, 20);
    Object.assign(env, { PULUMI_BACKEND_URL: `file://${join(dir, "state")}`, PULUMI_CONFIG_PASSPHRASE: "globenet-guard-apply-throwaway", GLOBENET_PROVIDER_DRY_RUN: "1", PULUMI_HOME: join(dir, "pulumi-home") });
    for (const [k, v] of Object.entries(env)) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
    execFileSync("mkdir", ["-p", join(dir, "state")]);
    git("init", "-q", "-b", "main");
    git("add", "-A");
    // An allowance in a commit applied by the first test: it must not count again after.
    git("commit", "-q", "-m", "20 members\n\nAllow-Destroy: members/member-00000");
  }, 120_000);

  afterAll(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("applies a change that loses nothing, and records the commit it applied", async () => {
    const r = await up();
    expect(r.code, r.out.slice(-3000)).toBe(0);
    expect(r.out).toContain("guard: OK — no member data would be deleted or replaced.");
    const stack = await openStack({ stack: "bench", root: data });
    expect(lastAppliedCommit(await stack.history(10))).toBe(git("rev-parse", "HEAD"));
    expect(member0((await state()).urns).length).toBeGreaterThanOrEqual(3);
  }, 600_000);

  it("refuses, before changing anything, a departure no commit since the last apply allows (a description, a merge commit or an applied commit do not count)", async () => {
    const applied = git("rev-parse", "HEAD");
    git("checkout", "-q", "-b", "depart");
    rmSync(join(data, "members", "member-00000"), { recursive: true });
    rmSync(join(data, "zones", "member-00000.example.yaml"));
    git("add", "-A");
    git("commit", "-q", "-m", "member-00000 leaves (ticket #42)");
    git("checkout", "-q", "main");
    // What a maintainer may write when merging, after every review: not counted.
    git("merge", "-q", "--no-ff", "depart", "-m", "Merge branch 'depart' into 'main'\n\nAllow-Destroy: members/member-00000");
    // What GitLab puts in a merge request pipeline's environment: never read.
    process.env.CI_MERGE_REQUEST_DESCRIPTION = "Member 0 leaves.\n\nAllow-Destroy: members/member-00000\n";
    const before = await state();
    try {
      const r = await up();
      expect(r.code, r.out.slice(-3000)).toBe(1);
      expect(r.out).toContain("guard: BLOCKED");
      expect(r.out).toMatch(/members\/member-00000: database db_00000 would be deleted on db1/);
      expect(r.out).toContain(`Allow-Destroy lines read from the commit messages ${applied.slice(0, 12)}..`);
      expect(r.out).toContain("refused by the guard before changing anything");
      expect([...r.out.matchAll(/^ {2}Allow-Destroy: (.+)$/gm)].map((m) => m[1])).toEqual(["members/member-00000"]);
    } finally {
      delete process.env.CI_MERGE_REQUEST_DESCRIPTION;
    }
    // Nothing changed: the same resources, and no update recorded.
    const after = await state();
    expect(after.urns.sort()).toEqual(before.urns.sort());
    expect(member0(after.urns).length).toBeGreaterThanOrEqual(3);
    expect(after.updates).toBe(before.updates);
  }, 600_000);

  it("applies the departure once a commit since the last apply allows it", async () => {
    git("commit", "-q", "--allow-empty", "-m", "Allow member-00000's departure\n\nTicket #42: the association is dissolved.\n\nAllow-Destroy: members/member-00000");
    const r = await up();
    expect(r.code, r.out.slice(-3000)).toBe(0);
    expect(r.out).toContain("guard: OK — every destructive change is allowed explicitly");
    expect(r.out).toMatch(/Allow member-00000's departure: members\/member-00000/);
    expect(member0((await state()).urns)).toEqual([]);
  }, 600_000);

  it("an allowance given by hand (--allow) also counts, and only for what it names", async () => {
    const f = join(data, "members", "member-00001", "member.yaml");
    writeFileSync(f, readFileSync(f, "utf8").replace(/^databases:\n {2}- name: db_00001\n?/m, ""));
    git("commit", "-q", "-am", "member-00001: database db_00001 removed");
    const wrong = await up("--allow", "members/member-00002");
    expect(wrong.code, wrong.out.slice(-3000)).toBe(1);
    expect(wrong.out).toContain("Allowed by hand (--allow): members/member-00002");
    expect(wrong.out).toMatch(/BLOCKED  members\/member-00001: database db_00001 would be deleted/);
    const right = await up("--allow", "members/member-00001/databases/db_00001");
    expect(right.code, right.out.slice(-3000)).toBe(0);
  }, 600_000);
});
