import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatText, renderedDiff, SideError, toJson, type RenderedDiff } from "../lib/diff";
import { compareRenders, groupChanges } from "../lib/diff/compare";
import type { RenderedFile } from "../lib/render";
import { cli } from "./helpers/cli";
import { DataRepo } from "./helpers/data-repo";


/** The shared throwaway repository, with its data imported in a first commit. */
async function dataRepo(): Promise<DataRepo> {
  const r = await new DataRepo("globenet-diff-test-").init();
  await r.commit("alice", "2026-01-05T09:00:00+01:00", "Import of the data");
  return r;
}

/** The lines a diff adds and removes, without its headers. */
function changedLines(diff: string): string[] {
  return diff.split("\n").filter((l) => /^[-+]/.test(l) && !/^(---|\+\+\+) /.test(l));
}

function listing(r: RenderedDiff): string[] {
  return r.changes.map((c) => `${c.status} ${c.host} ${c.daemon} ${c.path}`);
}

describe("compareRenders (pure)", () => {
  const f = (host: string, daemon: RenderedFile["daemon"], path: string, content: string, mode?: number): RenderedFile => ({ host, daemon, path, content, mode });
  it("finds added, removed, changed and mode-only changes, sorted by host, daemon order, path", () => {
    const before = [f("web1", "php-fpm", "php/8.2/fpm/pool.d/a.conf", "a"), f("web1", "apache2", "apache2/sites-available/b.conf", "b"), f("ns1", "bind", "bind/zones/x.zone", "x"), f("web1", "mariadb", "mariadb/db.sql", "s", 0o600)];
    const after = [f("web1", "apache2", "apache2/sites-available/b.conf", "B"), f("web1", "apache2", "apache2/sites-available/a.conf", "a"), f("ns1", "bind", "bind/zones/x.zone", "x"), f("web1", "mariadb", "mariadb/db.sql", "s", 0o644)];
    const changes = compareRenders(before, after);
    expect(changes.map((c) => `${c.status} ${c.host} ${c.daemon} ${c.path}`)).toEqual([
      "added web1 apache2 apache2/sites-available/a.conf",
      "changed web1 apache2 apache2/sites-available/b.conf",
      "removed web1 php-fpm php/8.2/fpm/pool.d/a.conf",
      "changed web1 mariadb mariadb/db.sql",
    ]);
    expect(groupChanges(changes).map((g) => `${g.host}: ${g.daemons.map((d) => `${d.daemon}×${d.changes.length}`).join(", ")}`)).toEqual(["web1: apache2×2, php-fpm×1, mariadb×1"]);
  });
});

describe("npm run diff on a throwaway repository", () => {
  let repo: DataRepo;
  const commits: Record<string, string> = {};

  beforeAll(async () => {
    repo = await dataRepo();
    commits.import = (await repo.git.revparse(["HEAD"])).trim();
    repo.edit("members/velo-libre/member.yaml", "aliases: [www.velo-libre.example]", "aliases: [www.velo-libre.example, blog.velo-libre.example]");
    commits.alias = await repo.commit("alice", "2026-01-10T10:00:00+01:00", "Alias blog.velo-libre.example");
    repo.edit("members/velo-libre/vps/atelier.yaml", "memory_mb: 2048", "memory_mb: 4096");
    commits.memory = await repo.commit("alice", "2026-01-12T14:00:00+01:00", "More memory for atelier");
    repo.edit("members/velo-libre/member.yaml", "status: active", "status: suspended");
    commits.suspend = await repo.commit("alice", "2026-01-15T09:00:00+01:00", "Suspend velo-libre");
    repo.write("members/lecture-menil/member.yaml", "handle: lecture-menil\nname: Lecture au Ménil\ncontact: { email: bureau@lecture-menil.example }\nstatus: active\nsites:\n  - host: lecture-menil.example\n    dns: external\n    php: \"8.2\"\n");
    commits.member = await repo.commit("alice", "2026-01-20T11:00:00+01:00", "New member lecture-menil");
  });
  afterAll(() => repo?.remove());

  it("says so when nothing rendered changes", async () => {
    const r = await renderedDiff({ root: repo.dir, stack: "lab", base: "HEAD" });
    expect(r.changes).toEqual([]);
    expect(formatText("lab", r.base, r.head, r.changes, r.diffs)).toBe(`rendered diff of stack lab: HEAD (${commits.member?.slice(0, 12)}) → HEAD (${commits.member?.slice(0, 12)})\nno rendered change\n`);
    expect(toJson(r.changes, r.diffs)).toEqual([]);
  });

  it("an alias changes the vhost and the zone, nothing else", async () => {
    const r = await renderedDiff({ root: repo.dir, stack: "lab", base: commits.import as string, head: commits.alias });
    expect(listing(r)).toEqual(["changed lab apache2 apache2/sites-available/velo-libre.example.conf", "changed lab bind bind/zones/velo-libre.example.zone"]);
    const [vhost = "", zone = ""] = r.changes.map((c) => r.diffs.get(c) as string);
    expect(vhost.split("\n").slice(0, 2)).toEqual(["--- a/lab/apache2/sites-available/velo-libre.example.conf", "+++ b/lab/apache2/sites-available/velo-libre.example.conf"]);
    // The alias joins the certificate's names and both virtual hosts (HTTP and HTTPS).
    expect(changedLines(vhost)).toEqual([
      "-MDomain velo-libre.example www.velo-libre.example",
      "+MDomain velo-libre.example www.velo-libre.example blog.velo-libre.example",
      "+    ServerAlias blog.velo-libre.example",
      "+    ServerAlias blog.velo-libre.example",
    ]);
    expect(changedLines(zone)).toEqual(["+blog              IN A     127.0.0.1 ; derived: site velo-libre.example (members/velo-libre/member.yaml)"]);
    // Prod's web host has both families: A and AAAA.
    const prod = await renderedDiff({ root: repo.dir, stack: "prod", base: commits.import as string, head: commits.alias });
    const prodZone = prod.changes.find((c) => c.daemon === "bind");
    expect(changedLines(prod.diffs.get(prodZone as never) ?? "").map((l) => l.split(/\s+/).slice(0, 3).join(" "))).toEqual(["+blog IN A", "+blog IN AAAA"]);
  });

  it("prints per host, then per daemon, then per file", async () => {
    const r = await renderedDiff({ root: repo.dir, stack: "lab", base: commits.import as string, head: commits.memory });
    const text = formatText("lab", r.base, r.head, r.changes, r.diffs);
    const headings = text.split("\n").filter((l) => /^(#|rendered|\d+ files?)/.test(l));
    expect(headings).toEqual([
      `rendered diff of stack lab: ${commits.import} (${commits.import?.slice(0, 12)}) → ${commits.memory} (${commits.memory?.slice(0, 12)})`,
      "3 files differ on 2 hosts: 0 added, 0 removed, 3 changed",
      "# host hv1",
      "## hv1 / libvirt",
      "### changed: libvirt/velo-libre--atelier.xml",
      "# host lab",
      "## lab / apache2",
      "### changed: apache2/sites-available/velo-libre.example.conf",
      "## lab / bind",
      "### changed: bind/zones/velo-libre.example.zone",
    ]);
    expect(changedLines(r.diffs.get(r.changes[0] as never) as string)).toEqual([
      "-  <memory unit='MiB'>2048</memory>",
      "-  <currentMemory unit='MiB'>2048</currentMemory>",
      "+  <memory unit='MiB'>4096</memory>",
      "+  <currentMemory unit='MiB'>4096</currentMemory>",
    ]);
  });

  it("a new member adds its files; --stack prod renders prod's hosts", async () => {
    const lab = await renderedDiff({ root: repo.dir, stack: "lab", base: commits.suspend as string });
    expect(listing(lab)).toEqual(["added lab apache2 apache2/sites-available/lecture-menil.example.conf", "added lab php-fpm php/8.2/fpm/pool.d/globenet-lecture-menil.conf"]);
    const added = lab.changes[0];
    expect(lab.diffs.get(added as never)?.split("\n").slice(0, 2)).toEqual(["--- /dev/null", "+++ b/lab/apache2/sites-available/lecture-menil.example.conf"]);
    expect(changedLines(lab.diffs.get(added as never) ?? "").every((l) => l.startsWith("+"))).toBe(true);
    const prod = await renderedDiff({ root: repo.dir, stack: "prod", base: commits.suspend as string });
    expect(listing(prod)).toEqual(["added web1 apache2 apache2/sites-available/lecture-menil.example.conf", "added web1 php-fpm php/8.2/fpm/pool.d/globenet-lecture-menil.conf"]);
  });

  it("reverting the base to an older commit shows removals", async () => {
    const r = await renderedDiff({ root: repo.dir, stack: "lab", base: commits.member as string, head: commits.suspend });
    expect(r.changes.filter((c) => c.status === "removed").map((c) => `${c.host} ${c.path}`)).toEqual(["lab apache2/sites-available/lecture-menil.example.conf", "lab php/8.2/fpm/pool.d/globenet-lecture-menil.conf"]);
    const json = toJson(r.changes, r.diffs);
    const removed = json.find((j) => j.status === "removed");
    expect(removed && Object.keys(removed)).toEqual(["host", "daemon", "path", "status", "diff"]);
    expect(removed?.diff.split("\n")[1]).toBe("+++ /dev/null");
  });

  it("--worktree includes uncommitted edits; without it they are listed as left out", async () => {
    repo.edit("members/velo-libre/vps/atelier.yaml", "vcpus: 2", "vcpus: 4");
    try {
      const committed = await renderedDiff({ root: repo.dir, stack: "lab", base: "HEAD" });
      expect(committed.changes).toEqual([]);
      expect(committed.uncommitted).toEqual(["members/velo-libre/vps/atelier.yaml"]);
      const wt = await renderedDiff({ root: repo.dir, stack: "lab", base: "HEAD", worktree: true });
      expect(wt.head).toEqual({ label: "working tree" });
      expect(listing(wt)).toEqual(["changed hv1 libvirt libvirt/velo-libre--atelier.xml"]);
      expect(changedLines(wt.diffs.get(wt.changes[0] as never) as string)).toEqual(["-  <vcpu placement='static'>2</vcpu>", "+  <vcpu placement='static'>4</vcpu>"]);
    } finally {
      await repo.git.raw(["checkout", "--", "members/velo-libre/vps/atelier.yaml"]);
    }
  });

  it("invalid data at either side is an error naming the side, file and line", async () => {
    const broken = await dataRepo();
    try {
      broken.edit("members/velo-libre/member.yaml", 'php: "8.2"', "php: 8.2");
      const bad = await broken.commit("alice", "2026-02-01T10:00:00+01:00", "Unquoted PHP version");
      broken.edit("members/velo-libre/member.yaml", "php: 8.2", 'php: "8.2"');
      await broken.commit("alice", "2026-02-01T11:00:00+01:00", "Quote it again");
      const err = await renderedDiff({ root: broken.dir, stack: "lab", base: bad }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SideError);
      const lines = (err as Error).message.split("\n");
      expect(lines[0]).toBe(`the base (${bad}, ${bad.slice(0, 12)}) has 1 data error(s), so it cannot be rendered:`);
      expect(lines[1]).toMatch(/^ {2}members\/velo-libre\/member\.yaml:\d+:\d+ sites\[0\]\.php: must be quoted, like php: "8\.2"/);
      expect(lines[2]).toBe("(the base itself is broken: compare with another --base, such as the last commit that validates)");
      const headErr = await renderedDiff({ root: broken.dir, stack: "lab", base: "HEAD", head: bad }).catch((e: unknown) => e);
      expect((headErr as Error).message.split("\n")[0]).toBe(`the head (${bad}, ${bad.slice(0, 12)}) has 1 data error(s), so it cannot be rendered:`);
    } finally {
      broken.remove();
    }
  });

  it("the command: exit codes, JSON, and errors that say what to do", async () => {
    const run = (...args: string[]) => cli(["diff", "--root", repo.dir, ...args]);
    const same = await run("--base", "HEAD", "--stack", "lab");
    expect([same.status, same.stdout]).toEqual([0, `rendered diff of stack lab: HEAD (${commits.member?.slice(0, 12)}) → HEAD (${commits.member?.slice(0, 12)})\nno rendered change\n`]);
    const json = await run("--base", commits.alias as string, "--head", commits.memory as string, "--stack", "lab", "--json");
    expect(json.status).toBe(0);
    expect((JSON.parse(json.stdout) as { host: string; daemon: string; path: string; status: string }[]).map((c) => [c.host, c.daemon, c.path, c.status])).toEqual([["hv1", "libvirt", "libvirt/velo-libre--atelier.xml", "changed"]]);
    const unknown = await run("--base", "no-such-branch");
    expect([unknown.status, unknown.stderr]).toEqual([1, 'error: unknown git ref "no-such-branch" (give a branch, tag or commit, like origin/main or HEAD~1; in CI fetch it first: git fetch origin main)\n']);
    // Without --base or --stack: what CI compares, the merge base with main, on the stack CI previews (prod).
    const byDefault = await run();
    expect(byDefault.status).toBe(0);
    expect(byDefault.stdout.split("\n")[0]).toMatch(/^rendered diff of stack prod: merge-base of HEAD and (origin\/)?main \([0-9a-f]{12}\) → HEAD \([0-9a-f]{12}\)$/);
  });
});
