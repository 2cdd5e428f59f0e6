import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allowancesInRange, allowancesSinceApplied, lastAppliedCommit, parseLog } from "../lib/guard/allowances";
import { parsePlan, stepDiffs, stepFromEvent, type Plan, type PlanStep } from "../lib/guard/plan";
import { allowancesIn, formatVerdict, judge } from "../lib/guard/rules";

const target = (name: string) => ({ name, address: "192.0.2.10", port: 22, user: "globenet-deploy", hostKey: "k" });
const urn = (type: string, name: string, parent = "globenet:member:Member$") => `urn:pulumi:prod::globenet-infra::${parent}${type}::${name}`;
const step = (op: string, type: string, name: string, old?: Record<string, unknown>, nw?: Record<string, unknown>): PlanStep => ({ op, type, name, urn: urn(type, name), old, new: nw });
const members = (names: string[], op = "same") => names.map((n) => step(op, "globenet:member:Member", n));
const db = (op: string, name: string, handle: string) => step(op, "globenet:db:Database", name, { handle, name, target: target("db1"), archiveDir: "/var/backups/globenet-archive" });
const guest = (op: string, domain: string) => step(op, "globenet:vm:Guest", domain, { domain, target: target("hv1"), archiveDir: "/var/backups/globenet-archive" });
const account = (op: string, handle: string) => step(op, "globenet:hosting:Account", handle, { handle, target: target("web1"), archiveDir: "/var/backups/globenet-archive" });
const bind = (before: string[], after: string[]) =>
  step("update", "globenet:files:FileSet", "ns1-bind", { kind: "bind-primary", target: target("ns1"), files: Object.fromEntries(before.map((z) => [`zones/${z}.zone`, "x"])) }, { kind: "bind-primary", files: Object.fromEntries(after.map((z) => [`zones/${z}.zone`, "x"])) });
const plan = (...steps: PlanStep[]): Plan => ({ stack: "prod", steps });
const TEN = ["a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9", "a10"];

describe("the destructive-change guard", () => {
  it.each<[string, Plan, string[], boolean, string[]]>([
    ["an alias and a new database: nothing lost", plan(...members(TEN), db("create", "velo_new", "a1"), step("update", "globenet:files:FileSet", "web1-apache2")), [], true, []],
    ["a database deleted without leave", plan(...members(TEN), db("delete", "velo_wp", "a1")), [], false, ["members/a1/databases/velo_wp"]],
    ["a database deleted, allowed by its path", plan(...members(TEN), db("delete", "velo_wp", "a1")), ["members/a1/databases/velo_wp"], true, []],
    ["a database deleted, allowed by its member", plan(...members(TEN), db("delete", "velo_wp", "a1")), ["members/a1"], true, []],
    ["another member's leave does not count", plan(...members(TEN), db("delete", "velo_wp", "a1")), ["members/a2"], false, ["members/a1/databases/velo_wp"]],
    ["a VPS replaced (new disk) is a loss too", plan(...members(TEN), guest("delete-replaced", "a2--atelier"), guest("create-replacement", "a2--atelier")), [], false, ["members/a2/vps/atelier"]],
    ["a VPS removed, allowed by its file", plan(...members(TEN), guest("delete", "a2--atelier")), ["members/a2/vps/atelier"], true, []],
    ["a member leaving: account, database, VPS and the member", plan(...members(TEN.slice(1)), ...members(["a1"], "delete"), account("delete", "a1"), db("delete", "a1_db", "a1"), guest("delete", "a1--vm")), [], false, ["members/a1"]],
    ["a member leaving, allowed", plan(...members(TEN.slice(1)), ...members(["a1"], "delete"), account("delete", "a1"), db("delete", "a1_db", "a1")), ["members/a1"], true, []],
    ["3 of 10 members without data at once", plan(...members(TEN.slice(3)), ...members(["a1", "a2", "a3"], "delete")), [], false, ["members/a1", "members/a2", "members/a3"]],
    ["1 of 10 members without data: under the share", plan(...members(TEN.slice(1)), ...members(["a1"], "delete")), [], true, []],
    ["2 of 4 zones at once", plan(...members(TEN), bind(["a.example", "b.example", "c.example", "d.example"], ["a.example", "b.example"])), [], false, ["zones/c.example", "zones/d.example"]],
    ["2 of 4 zones, each allowed", plan(...members(TEN), bind(["a.example", "b.example", "c.example", "d.example"], ["a.example", "b.example"])), ["zones/c.example", "zones/d.example"], true, []],
  ])("%s", (_what, p, allowances, ok, wanted) => {
    const v = judge(p, { maxShare: 0.2, allowances });
    expect(v.ok).toBe(ok);
    const text = formatVerdict(v);
    const asked = [...text.matchAll(/^  Allow-Destroy: (.+)$/gm)].map((m) => m[1]).sort();
    expect(asked).toEqual(wanted);
  });

  it("says what would be lost and where the archive goes", () => {
    const text = formatVerdict(judge(plan(...members(TEN), db("delete", "velo_wp", "a1")), { maxShare: 0.2, allowances: [] }));
    expect(text).toContain("guard: BLOCKED");
    expect(text).toContain("members/a1: database velo_wp would be deleted on db1");
    expect(text).toContain("archived first to /var/backups/globenet-archive/databases/velo_wp-<UTC time>.sql.gz on db1");
  });

  it("reads the Allow-Destroy lines of a commit message, trailers or lines kept by a squash template", () => {
    const text = "Départ de l'association.\n\nAllow-Destroy: members/velo-libre/\nallow-destroy: ./members/ondes/vps/stream.yaml, zones/old.example.yaml\nNot-Allow-Destroy: x\n";
    expect(allowancesIn(text)).toEqual(["members/ondes/vps/stream", "members/velo-libre", "zones/old.example"]);
    expect(allowancesIn("no trailer here")).toEqual([]);
    // GitLab's %{all_commits} in a squash template: each commit's lines mid-message.
    expect(allowancesIn("velo-libre leaves (!12)\n\n* velo-libre: departed\n\nAllow-Destroy: members/velo-libre\n\n* fix a typo\n")).toEqual(["members/velo-libre"]);
  });

  it("tells where an allowance must go when it blocks: a commit, not the description", () => {
    const text = formatVerdict(judge(plan(...members(TEN), db("delete", "velo_wp", "a1")), { maxShare: 0.2, allowances: [] }));
    expect(text).toContain("say so in a commit message of the change");
    expect(text).toContain("the merge request's description does not count");
  });

  it("reads the Pulumi CLI's own preview --json as well as ours", () => {
    const cli = JSON.stringify({ steps: [{ op: "delete", urn: urn("globenet:db:Database", "velo_wp"), oldState: { type: "globenet:db:Database", inputs: { handle: "velo-libre", name: "velo_wp", target: target("db1") } } }] });
    const p = parsePlan(cli, "plan.json");
    expect(p.stack).toBe("prod");
    expect(p.steps).toEqual([{ op: "delete", urn: urn("globenet:db:Database", "velo_wp"), type: "globenet:db:Database", name: "velo_wp", old: { handle: "velo-libre", name: "velo_wp", target: target("db1") }, new: undefined }]);
    expect(() => parsePlan("{}", "plan.json")).toThrow('plan.json: no "steps" list');
    expect(() => parsePlan("nope", "plan.json")).toThrow("plan.json: not JSON");
  });

  it("reads accounts' and databases' inputs sent as spec (a JSON text) as the flat ones, from either source, and judges them the same", () => {
    const inputs = { handle: "velo-libre", name: "velo_wp", target: target("db1"), archiveDir: "/var/backups/globenet-archive" };
    const cli = JSON.stringify({ steps: [{ op: "delete", urn: urn("globenet:db:Database", "velo_wp"), oldState: { type: "globenet:db:Database", inputs: { spec: JSON.stringify(inputs) } } }] });
    const p = parsePlan(cli, "plan.json");
    expect(p.steps[0]?.old).toEqual(inputs);
    const v = judge({ stack: "prod", steps: [...members(TEN), ...p.steps] }, { maxShare: 0.2, allowances: [] });
    expect(v.ok).toBe(false);
    expect(formatVerdict(v)).toContain("members/velo-libre: database velo_wp would be deleted on db1");
    // A state written before the program nested them (flat) beside the program's spec; the engine names spec as a whole.
    const flat = { handle: "velo-libre", target: target("web1"), sites: ["a.example", "b.example"], status: "active" };
    const s = stepFromEvent({ urn: urn("globenet:hosting:Account", "velo-libre"), op: "update", old: { inputs: flat }, new: { inputs: { spec: JSON.stringify({ ...flat, sites: ["a.example"] }) } }, diffs: ["spec"] });
    expect(s?.new).toEqual({ ...flat, sites: ["a.example"] });
    expect(() => stepFromEvent({ urn: urn("globenet:hosting:Account", "x"), op: "update", new: { inputs: { spec: "{x" } } })).toThrow(/^spec: not JSON/);
    expect(s?.diffs).toBeUndefined();
    expect(stepDiffs(s as PlanStep)).toEqual(["sites"]);
    // Another type's diffs and inputs pass as they are.
    const set = { kind: "apache", fileStore: "/srv/a/.pulumi/globenet-files", fileManifest: "m1" };
    const f = stepFromEvent({ urn: urn("globenet:files:FileSet", "web1-apache2"), op: "update", old: { inputs: set }, new: { inputs: { ...set, fileManifest: "m2" } }, diffs: ["fileManifest"] });
    expect(f?.diffs).toEqual(["fileManifest"]);
    expect(f?.new).toEqual({ ...set, fileManifest: "m2" });
  });

  it("a guest sent as spec: the plan names the properties in it, never the store's folder of the runner that applied it", () => {
    const guestIn = (memoryMb: number, fileStore: string) => ({ spec: JSON.stringify({ archiveDir: "/var/backups/globenet-archive", diskPath: "/var/lib/libvirt/images/globenet/velo-libre--atelier.qcow2", domain: "velo-libre--atelier", fileStore, memoryMb, target: target("hv1") }) });
    // A drift job's checkout, or another runner, keeps its store elsewhere: that is no change of the guest.
    const g = stepFromEvent({ urn: urn("globenet:vm:Guest", "velo-libre--atelier"), op: "update", old: { inputs: guestIn(512, "/builds/a/.pulumi/globenet-files") }, new: { inputs: guestIn(1024, "/builds/b/.pulumi/globenet-files") }, diffs: ["spec"] });
    expect(g?.diffs).toBeUndefined();
    expect(stepDiffs(g as PlanStep)).toEqual(["memoryMb"]);
    // Deleted in git: the guard's block names the VPS and its disk's archive, read from inside spec.
    const del = stepFromEvent({ urn: urn("globenet:vm:Guest", "velo-libre--atelier"), op: "delete", old: { inputs: guestIn(512, "/builds/a/.pulumi/globenet-files") } });
    const v = judge({ stack: "prod", steps: [...members(TEN), del as PlanStep] }, { maxShare: 0.2, allowances: [] });
    expect(v.ok).toBe(false);
    expect(formatVerdict(v)).toContain("members/velo-libre: VPS atelier would be deleted on hv1");
    expect(formatVerdict(v)).toContain("archived first to /var/backups/globenet-archive/vps/velo-libre--atelier-<UTC time>.qcow2 on hv1");
    expect(formatVerdict(v)).toContain("Allow-Destroy: members/velo-libre/vps/atelier");
  });
});

describe("the last commit applied to a stack, from its update history", () => {
  const A = "a".repeat(40);
  const B = "b".repeat(40);
  const C = "c".repeat(40);
  const u = (version: number, kind: string, result: string, head?: string, message?: string) => ({ version, kind, result, message, environment: (head ? { "git.head": head } : {}) as Record<string, string> });
  it.each<[string, ReturnType<typeof u>[], string | undefined]>([
    ["no update yet", [], undefined],
    ["the newest successful update", [u(1, "update", "succeeded", A), u(2, "update", "succeeded", B)], B],
    ["whatever order the history comes in", [u(3, "update", "succeeded", C), u(1, "update", "succeeded", A), u(2, "update", "succeeded", B)], C],
    ["a failed update is not applied", [u(1, "update", "succeeded", A), u(2, "update", "failed", B)], A],
    ["a refresh or a destroy applies no commit", [u(1, "update", "succeeded", A), u(2, "refresh", "succeeded", B), u(3, "destroy", "succeeded", C)], A],
    ["the driver's message when git.head is missing", [u(1, "update", "succeeded", undefined, "Add velo-libre [commit 3f2a9c1b7d4e, by alice]")], "3f2a9c1b7d4e"],
    ["an update that recorded no commit at all", [u(1, "update", "succeeded", undefined, "by hand")], undefined],
    ["a git.head that is not a commit name is ignored", [u(1, "update", "succeeded", A), u(2, "update", "succeeded", "--output=/tmp/x")], A],
  ])("%s", (_what, history, want) => {
    expect(lastAppliedCommit(history)).toBe(want);
  });

  it("parses git log -z output into commits", () => {
    expect(parseLog(`${A}\0subject\n\nAllow-Destroy: members/x\n\0${B}\0other\n`)).toEqual([
      { sha: A, message: "subject\n\nAllow-Destroy: members/x\n" },
      { sha: B, message: "other\n" },
    ]);
    expect(parseLog("")).toEqual([]);
  });
});

describe("Allow-Destroy lines from a range of commits (a real git repository)", () => {
  let repo: string;
  const sha: Record<string, string> = {};
  const git = (...args: string[]) =>
    execFileSync("git", args, { cwd: repo, encoding: "utf8", env: { ...process.env, GIT_AUTHOR_NAME: "Camille", GIT_AUTHOR_EMAIL: "c@globenet.example", GIT_COMMITTER_NAME: "Camille", GIT_COMMITTER_EMAIL: "c@globenet.example" } }).trim();
  const commit = (name: string, message: string) => {
    git("commit", "-q", "--allow-empty", "-m", message);
    sha[name] = git("rev-parse", "HEAD");
  };

  beforeAll(() => {
    repo = mkdtempSync(join(tmpdir(), "globenet-allow-"));
    git("init", "-q", "-b", "main");
    commit("applied", "already applied\n\nAllow-Destroy: members/old");
    git("checkout", "-q", "-b", "mr");
    commit("mr1", "velo-libre leaves\n\nAllow-Destroy: members/velo-libre");
    commit("mr2", "typo");
    git("checkout", "-q", "main");
    git("merge", "-q", "--no-ff", "mr", "-m", "Merge branch 'mr'\n\nAllow-Destroy: members/ondes");
    sha.merge = git("rev-parse", "HEAD");
  });
  afterAll(() => rmSync(repo, { recursive: true, force: true }));

  it("counts the non-merge commits after the applied one, and says which commit allowed what", () => {
    const r = allowancesInRange(repo, sha.applied as string, sha.merge as string);
    expect(r.problem).toBeUndefined();
    expect(r.allowances).toEqual(["members/velo-libre"]);
    expect(r.commits).toEqual([{ sha: sha.mr1, subject: "velo-libre leaves", paths: ["members/velo-libre"] }]);
    expect(r.range).toBe(`${sha.applied?.slice(0, 12)}..${sha.merge?.slice(0, 12)}`);
  });

  it("from the stack's history: the last successful update's commit", () => {
    const history = [{ version: 1, kind: "update", result: "succeeded", environment: { "git.head": sha.applied as string } }];
    expect(allowancesSinceApplied(repo, history).allowances).toEqual(["members/velo-libre"]);
    // Applied up to the merge: nothing is left to allow.
    expect(allowancesSinceApplied(repo, [...history, { version: 2, kind: "update", result: "succeeded", environment: { "git.head": sha.merge as string } }]).allowances).toEqual([]);
  });

  it("counts nothing, and says why, when the last applied commit is unknown or there is none", () => {
    const unknown = allowancesSinceApplied(repo, [{ version: 1, kind: "update", result: "succeeded", environment: { "git.head": "d".repeat(40) } }]);
    expect(unknown.allowances).toEqual([]);
    expect(unknown.problem).toMatch(/the last applied commit dddddddddddd is not in this repository's history/);
    const none = allowancesSinceApplied(repo, []);
    expect(none.allowances).toEqual([]);
    expect(none.problem).toMatch(/no successful update that recorded its commit/);
  });
});
