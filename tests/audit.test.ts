import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli } from "./helpers/cli";
import { DataRepo } from "./helpers/data-repo";


describe("npm run audit on a throwaway repository", () => {
  const repo = new DataRepo("globenet-audit-test-");
  const c: Record<string, string> = {};
  let historyFile = "";
  let importedRecords = 0;

  beforeAll(async () => {
    await repo.init();
    importedRecords = (parse(repo.read("zones/velo-libre.example.yaml")) as { records: unknown[] }).records.length;
    c.import = await repo.commit("seed", "2026-01-05T09:00:00+01:00", "Import of the data");

    // A merge request: one commit on a branch, merged by GitLab with a merge commit.
    await repo.git.checkoutLocalBranch("alias-blog");
    repo.edit("members/velo-libre/member.yaml", "aliases: [www.velo-libre.example]", "aliases: [www.velo-libre.example, blog.velo-libre.example]");
    c.alias = await repo.commit("alice", "2026-01-10T10:00:00+01:00", "Alias blog.velo-libre.example for Vélo Libre");
    await repo.git.checkout("main");
    c.aliasMerge = await repo.merge("bob", "2026-01-11T09:30:00+01:00", "alias-blog", "Merge branch 'alias-blog' into 'main'\n\nAlias blog.velo-libre.example\n\nSee merge request globenet/infra!12");

    // Straight on main, the merge request named in the subject (a squash).
    repo.edit("members/velo-libre/vps/atelier.yaml", "memory_mb: 2048", "memory_mb: 4096");
    c.memory = await repo.commit("bob", "2026-01-12T14:00:00+01:00", "More memory for atelier (!13)");
    repo.edit("members/velo-libre/member.yaml", "status: active", 'status: suspended\nnote: "dues unpaid since December"');
    c.suspend = await repo.commit("alice", "2026-01-15T09:00:00+01:00", "Suspend velo-libre: dues unpaid");
    repo.write("zones/velo-libre.example.yaml", `${repo.read("zones/velo-libre.example.yaml")}  - { name: "@", type: TXT, value: "google-site-verification=abc123" }\n`);
    c.txt = await repo.commit("bob", "2026-01-16T16:30:00+01:00", "TXT record for velo-libre.example");

    // A new member over two commits of one merge request.
    await repo.git.checkoutLocalBranch("lecture-menil");
    repo.write(
      "members/lecture-menil/member.yaml",
      'handle: lecture-menil\nname: Lecture au Ménil\ncontact: { email: bureau@lecture-menil.example }\nstatus: active\nsites:\n  - host: lecture-menil.example\n    php: "8.2"\n',
    );
    repo.write("zones/lecture-menil.example.yaml", 'owner: lecture-menil\nrecords:\n  - { name: "@", type: MX, priority: 10, value: mail.globenet.example. }\n');
    c.member = await repo.commit("alice", "2026-01-20T11:00:00+01:00", "New member lecture-menil");
    repo.edit("members/lecture-menil/member.yaml", '    php: "8.2"\n', '    php: "8.2"\n  - host: lire.lecture-menil.example\n');
    repo.write("members/lecture-menil/vps/liseuse.yaml", "hypervisor: hv1\nvcpus: 1\nmemory_mb: 1024\ndisk_gb: 10\nimage: debian-12\nipv4: 203.0.113.30\n");
    c.vps = await repo.commit("alice", "2026-01-21T10:00:00+01:00", "lecture-menil: second site and a VPS");
    await repo.git.checkout("main");
    c.memberMerge = await repo.merge("bob", "2026-01-22T15:00:00+01:00", "lecture-menil", "Merge branch 'lecture-menil' into 'main'\n\nSee merge request globenet/infra!14");

    // After the last update: not applied yet.
    repo.edit("members/velo-libre/member.yaml", "email: bureau@velo-libre.example", "email: contact@velo-libre.example");
    c.contact = await repo.commit("alice", "2026-01-25T18:00:00+01:00", "velo-libre: new contact address");

    const u = (version: number, kind: string, result: string, start: string, end: string, head: string, dirty = false) => ({
      version,
      kind,
      result,
      startTime: start,
      endTime: end,
      message: "",
      environment: { "git.head": head, "git.dirty": String(dirty) },
      config: {},
    });
    historyFile = repo.path("history.json");
    writeFileSync(
      historyFile,
      JSON.stringify([
        u(6, "update", "succeeded", "2026-01-22T14:40:00Z", "2026-01-22T14:45:00Z", c.memberMerge as string),
        u(5, "update", "succeeded", "2026-01-13T08:00:00Z", "2026-01-13T08:04:00Z", c.memory as string, true),
        u(4, "update", "failed", "2026-01-12T14:00:00Z", "2026-01-12T14:01:00Z", c.memory as string),
        u(3, "update", "succeeded", "2026-01-11T09:00:00Z", "2026-01-11T09:05:00Z", c.aliasMerge as string),
        u(2, "refresh", "succeeded", "2026-01-11T08:00:00Z", "2026-01-11T08:01:00Z", c.alias as string),
        u(1, "update", "succeeded", "2026-01-05T08:30:00Z", "2026-01-05T08:32:00Z", c.import as string),
      ]),
    );
  });
  afterAll(() => repo.remove());

  /** Runs the command as npm run audit does, with no Pulumi CLI to be found unless `engine`. */
  function audit(args: string[], env: Record<string, string> = {}) {
    return cli(["audit", "--root", repo.dir, ...args], env);
  }
  /** Short hashes in the output become the commit's name in `c`, so expectations stay readable. */
  function named(text: string): string {
    let out = text;
    for (const [name, hash] of Object.entries(c)) out = out.split(hash.slice(0, 12)).join(`<${name}>`);
    return out.split(historyFile).join("HISTORY");
  }

  it("tells a member's story with each change in words, merges and applies", async () => {
    const r = await audit(["velo-libre", "--history", historyFile, "--stack", "lab"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(named(r.stdout)).toBe(`Story of member velo-libre (members/velo-libre/) on main, oldest first
update history of stack lab (from HISTORY): 6 updates

2026-01-05 09:00 +01:00 · Seed Maintainers · Import of the data (<import>)
    member created
    VPS atelier created: 2 vCPU, 2048 MB memory, 20 GB disk, debian-12 on hv1
    committed on main (no merge commit) · applied 2026-01-05 08:32 UTC (update #1 of lab)

2026-01-10 10:00 +01:00 · Alice Martin · globenet/infra!12 · Alias blog.velo-libre.example for Vélo Libre (<alias>)
    site velo-libre.example: alias blog.velo-libre.example added
    merged 2026-01-11 09:30 +01:00 (<aliasMerge>) · applied 2026-01-11 09:05 UTC (update #3 of lab)

2026-01-12 14:00 +01:00 · Bob Durand · !13 · More memory for atelier (!13) (<memory>)
    VPS atelier: memory 2048 → 4096 MB
    committed on main (no merge commit) · applied 2026-01-13 08:04 UTC (update #5 of lab, from a working tree with uncommitted changes)

2026-01-15 09:00 +01:00 · Alice Martin · Suspend velo-libre: dues unpaid (<suspend>)
    status active → suspended
    note unset → "dues unpaid since December"
    committed on main (no merge commit) · applied 2026-01-22 14:45 UTC (update #6 of lab)

2026-01-25 18:00 +01:00 · Alice Martin · velo-libre: new contact address (<contact>)
    contact email bureau@velo-libre.example → contact@velo-libre.example
    committed on main (no merge commit) · not applied yet

5 commits, 2 merge requests, 4 applied
`);
  });

  it("tells a zone's story; --since leaves older commits out", async () => {
    const all = await audit(["velo-libre.example", "--history", historyFile]);
    expect(all.status).toBe(0);
    expect(named(all.stdout).split("\n").slice(0, 6)).toEqual([
      "Story of zone velo-libre.example (zones/velo-libre.example.yaml) on main, oldest first",
      "update history of the stack (from HISTORY): 6 updates",
      "",
      "2026-01-05 09:00 +01:00 · Seed Maintainers · Import of the data (<import>)",
      `    zone velo-libre.example created with ${importedRecords} records`,
      "    committed on main (no merge commit) · applied 2026-01-05 08:32 UTC (update #1)",
    ]);
    const since = await audit(["velo-libre.example", "--since", "2026-01-06"]);
    expect(named(since.stdout)).toBe(`Story of zone velo-libre.example (zones/velo-libre.example.yaml) on main since 2026-01-06, oldest first
no update history: no lab state in .lab/state (npm run lab makes one; or name a stack with --stack)

2026-01-16 16:30 +01:00 · Bob Durand · TXT record for velo-libre.example (<txt>)
    record TXT @ added: "google-site-verification=abc123"
    committed on main (no merge commit)

1 commit, 0 merge requests
`);
  });

  it("finds a VPS by its name, and a path", async () => {
    const byName = await audit(["atelier"]);
    const byPath = await audit(["members/velo-libre/vps/atelier.yaml"]);
    expect(byName.stdout).toBe(byPath.stdout);
    expect(named(byName.stdout).split("\n").filter((l) => l.startsWith("    "))).toEqual([
      "    VPS atelier created: 2 vCPU, 2048 MB memory, 20 GB disk, debian-12 on hv1",
      "    committed on main (no merge commit)",
      "    VPS atelier: memory 2048 → 4096 MB",
      "    committed on main (no merge commit)",
    ]);
    expect(byName.stdout.split("\n")[0]).toBe("Story of VPS atelier of velo-libre (members/velo-libre/vps/atelier.yaml) on main, oldest first");
  });

  it("a merge request's commits carry the merge commit's number and time", async () => {
    const r = await audit(["lecture-menil", "--json"]);
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout) as { target: unknown; history: unknown; commits: { hash: string; mergeRequest: string; merged: unknown; applied: unknown; changes: unknown }[] };
    expect(j.target).toEqual({ kind: "member", label: "member lecture-menil", paths: ["members/lecture-menil/"] });
    expect(j.history).toEqual({ stack: null, updates: 0, unavailable: "no lab state in .lab/state (npm run lab makes one; or name a stack with --stack)" });
    expect(j.commits.map((x) => [x.hash, x.mergeRequest, x.merged, x.applied, x.changes])).toEqual([
      [c.member, "globenet/infra!14", { hash: c.memberMerge, date: "2026-01-22T15:00:00+01:00", direct: false }, null, [{ path: "members/lecture-menil/member.yaml", changes: ["member created"] }]],
      [
        c.vps,
        "globenet/infra!14",
        { hash: c.memberMerge, date: "2026-01-22T15:00:00+01:00", direct: false },
        null,
        [
          { path: "members/lecture-menil/member.yaml", changes: ["site lire.lecture-menil.example added"] },
          { path: "members/lecture-menil/vps/liseuse.yaml", changes: ["VPS liseuse created: 1 vCPU, 1024 MB memory, 10 GB disk, debian-12 on hv1"] },
        ],
      ],
    ]);
  });

  it("without the engine, says so and tells what git knows", async () => {
    const empty = mkdtempSync(join(tmpdir(), "globenet-no-engine-"));
    try {
      const r = await audit(["velo-libre", "--stack", "lab", "--since", "2026-01-14"], { XDG_CACHE_HOME: empty, PATH: `${dirname(process.execPath)}:/usr/bin:/bin` });
      expect(r.status).toBe(0);
      expect(named(r.stdout).split("\n").slice(0, 2)).toEqual([
        "Story of member velo-libre (members/velo-libre/) on main since 2026-01-14, oldest first",
        "no update history: engine not installed (npm run engine builds it once; or give a saved history with --history FILE)",
      ]);
      expect(r.stdout).not.toContain("applied");
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it("lead time per kind of change, with medians, from git and the update history", async () => {
    const r = await audit(["--lead-time", "--since", "2026-01-06", "--history", historyFile, "--stack", "lab"]);
    expect(r.stderr).toBe("");
    expect(named(r.stdout)).toBe(`Lead time on main since 2026-01-06: request (first commit) → merge → applied
update history of stack lab (from HISTORY): 6 updates

kind        count  request → merge  merge → applied  request → applied
new member      1          2 d 4 h           45 min            2 d 4 h
new site        2         1 d 16 h           45 min           1 d 17 h
new VPS         1          1 d 5 h           45 min            1 d 5 h
new zone        1          2 d 4 h           45 min            2 d 4 h

medians over the changes that reached each step ("-": none did)

2026-01-20 11:00 +01:00  new member lecture-menil (<member>) · merged 2026-01-22 15:00 +01:00, after 2 d 4 h · applied 2026-01-22 14:45 UTC by update #6, 45 min after the merge
2026-01-20 11:00 +01:00  new site lecture-menil.example (<member>) · merged 2026-01-22 15:00 +01:00, after 2 d 4 h · applied 2026-01-22 14:45 UTC by update #6, 45 min after the merge
2026-01-20 11:00 +01:00  new zone lecture-menil.example (<member>) · merged 2026-01-22 15:00 +01:00, after 2 d 4 h · applied 2026-01-22 14:45 UTC by update #6, 45 min after the merge
2026-01-21 10:00 +01:00  new site lire.lecture-menil.example (<vps>) · merged 2026-01-22 15:00 +01:00, after 1 d 5 h · applied 2026-01-22 14:45 UTC by update #6, 45 min after the merge
2026-01-21 10:00 +01:00  new VPS lecture-menil/liseuse (<vps>) · merged 2026-01-22 15:00 +01:00, after 1 d 5 h · applied 2026-01-22 14:45 UTC by update #6, 45 min after the merge
`);
  });

  it("lead time without history is request → merge only", async () => {
    const r = await audit(["--lead-time", "--since", "2026-01-06", "--json"]);
    const j = JSON.parse(r.stdout) as { history: { unavailable: string }; kinds: { kind: string; count: number; medianRequestToMergeMs: number | null; medianMergeToAppliedMs: number | null }[] };
    expect(j.history.unavailable).toMatch(/^no lab state/);
    expect(j.kinds.map((k) => [k.kind, k.count, k.medianRequestToMergeMs, k.medianMergeToAppliedMs])).toEqual([
      ["new member", 1, 52 * 3_600_000, null],
      ["new site", 2, 40.5 * 3_600_000, null],
      ["new VPS", 1, 29 * 3_600_000, null],
      ["new zone", 1, 52 * 3_600_000, null],
    ]);
    const text = await audit(["--lead-time", "--since", "2026-01-06"]);
    expect(text.stdout.split("\n").slice(0, 6)).toEqual([
      "Lead time on main since 2026-01-06: request (first commit) → merge",
      "no update history: no lab state in .lab/state (npm run lab makes one; or name a stack with --stack)",
      "so lead time is request → merge only",
      "",
      "kind        count  request → merge",
      "new member      1          2 d 4 h",
    ]);
  });

  it("errors say what to give instead", async () => {
    expect(await audit(["nobody"])).toEqual({
      status: 1,
      stdout: "",
      stderr:
        'error: no member, zone or VPS named "nobody" in the history of HEAD (a member is its handle, like velo-libre; a zone its domain, like velo-libre.example; or give a path, like members/velo-libre/vps/atelier.yaml)\n',
    });
    expect(await audit([])).toMatchObject({ status: 2, stderr: "error: name what to audit: a member handle (velo-libre), a zone (velo-libre.example), a VPS or a path; or --lead-time\n(npm run audit -- --help for the options)\n" });
    expect(await audit(["velo-libre", "--since", "last week"])).toMatchObject({ status: 2, stderr: expect.stringContaining('--since takes a date like 2026-01-31 (or 2026-01-31T14:00Z), got "last week"') });
  });
});
