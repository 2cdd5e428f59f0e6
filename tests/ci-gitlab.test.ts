import { execFileSync, spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../lib/cli/args";
import { cacheDir } from "../lib/engine/toolchain";
import { DRIFT_MARKER, PLAN_MARKER } from "../lib/ci/gitlab";
import { freePort, requireTools, run } from "./helpers/tools";

/**
 * .gitlab-ci.yml, run for real by gitlab-ci-local (shell executor, no Docker): the merge
 * request jobs (validate, plan) and the scheduled drift job against the lab stack, with
 * GitLab's API answered by a fake server on 127.0.0.1 that records what CI posts. The test
 * job itself (npm test) is this suite: it is not run from inside it.
 */
const ok = requireTools("git", "bash");

interface Recorded {
  method: string;
  path: string;
  token?: string;
  body?: Record<string, unknown>;
}

/** The few GitLab API v4 routes CI uses, in memory. */
function fakeGitLab(): { server: Server; requests: Recorded[]; notes: Array<{ id: number; body: string }>; issues: Array<{ iid: number; title: string; description: string; labels: string }> } {
  const requests: Recorded[] = [];
  const notes: Array<{ id: number; body: string }> = [];
  const issues: Array<{ iid: number; title: string; description: string; labels: string }> = [];
  const server = createServer((req, res) => {
    let raw = "";
    req.on("data", (d: Buffer) => (raw += d.toString("utf8")));
    req.on("end", () => {
      const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : undefined;
      const url = new URL(req.url ?? "/", "http://x");
      const token = req.headers["private-token"] as string | undefined;
      requests.push({ method: req.method ?? "", path: url.pathname, token, body });
      const send = (code: number, v: unknown) => {
        res.writeHead(code, { "Content-Type": "application/json" });
        res.end(JSON.stringify(v));
      };
      if (token !== "glpat-test-token") return send(401, { message: "401 Unauthorized" });
      const p = url.pathname;
      let m: RegExpExecArray | null;
      if ((m = /^\/api\/v4\/projects\/42\/merge_requests\/7\/notes(?:\/(\d+))?$/.exec(p))) {
        if (req.method === "GET") return send(200, notes);
        if (req.method === "POST") {
          const n = { id: notes.length + 100, body: String(body?.body) };
          notes.push(n);
          return send(201, n);
        }
        const n = notes.find((x) => x.id === Number(m?.[1]));
        if (req.method === "PUT" && n) {
          n.body = String(body?.body);
          return send(200, n);
        }
      }
      if ((m = /^\/api\/v4\/projects\/42\/issues(?:\/(\d+))?$/.exec(p))) {
        if (req.method === "GET") return send(200, issues.filter(() => url.searchParams.get("labels") === "drift"));
        if (req.method === "POST") {
          const i = { iid: issues.length + 1, title: String(body?.title), description: String(body?.description), labels: String(body?.labels) };
          issues.push(i);
          return send(201, i);
        }
        const i = issues.find((x) => x.iid === Number(m?.[1]));
        if (req.method === "PUT" && i) {
          i.title = String(body?.title);
          i.description = String(body?.description);
          return send(200, i);
        }
      }
      send(404, { message: "404 Not Found" });
    });
  });
  return { server, requests, notes, issues };
}

describe.skipIf(!ok)(".gitlab-ci.yml under gitlab-ci-local, with a fake GitLab API", () => {
  let repo: string;
  let base = "";
  let port = 0;
  const gl = fakeGitLab();
  const git = (...args: string[]) => execFileSync("git", args, { cwd: repo, encoding: "utf8", env: { ...process.env, GIT_AUTHOR_NAME: "Camille", GIT_AUTHOR_EMAIL: "camille@globenet.example", GIT_COMMITTER_NAME: "Camille", GIT_COMMITTER_EMAIL: "camille@globenet.example" } }).trim();

  /**
   * gitlab-ci-local with GitLab's variables for this pipeline; resolves with its exit status and
   * output. Asynchronous: the fake GitLab in this process must answer while the jobs run.
   */
  const pipeline = (source: "merge_request_event" | "schedule", jobs: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> => {
    const vars: Record<string, string> = {
      CI_PIPELINE_SOURCE: source,
      CI_API_V4_URL: `http://127.0.0.1:${port}/api/v4`,
      CI_PROJECT_ID: "42",
      GITLAB_API_TOKEN: "glpat-test-token",
      GLOBENET_STACK: "lab",
      // The Pulumi CLI this machine already has (CI caches it in the project's .cache).
      XDG_CACHE_HOME: dirname(dirname(cacheDir())),
      ...(source === "merge_request_event" ? { CI_MERGE_REQUEST_IID: "7", CI_MERGE_REQUEST_DIFF_BASE_SHA: base, CI_MERGE_REQUEST_DESCRIPTION: "Ajout d'un alias pour Vélo Libre" } : {}),
    };
    const args = [join(REPO_ROOT, "node_modules", ".bin", "gitlab-ci-local"), ...Object.entries(vars).flatMap(([k, v]) => ["--variable", `${k}=${v}`]), ...jobs];
    return new Promise((resolve) => {
      const child = spawn("node", args, { cwd: repo, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
      const timer = setTimeout(() => child.kill("SIGKILL"), 900_000);
      child.on("close", (status) => {
        clearTimeout(timer);
        resolve({ status, stdout, stderr });
      });
    });
  };

  beforeAll(async () => {
    port = await freePort();
    await new Promise<void>((r) => gl.server.listen(port, "127.0.0.1", r));
    // The working tree as it is (tracked and new files, not what git ignores), as a fresh repository.
    repo = join(mkdtempSync(join(tmpdir(), "globenet-ci-")), "globenet-infra");
    const files = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: REPO_ROOT, encoding: "utf8" }).split("\0").filter(Boolean);
    for (const f of files) {
      mkdirSync(dirname(join(repo, f)), { recursive: true });
      try {
        // Times kept: scripts/ensure-npm.sh compares package-lock.json with node_modules.
        cpSync(join(REPO_ROOT, f), join(repo, f), { preserveTimestamps: true });
      } catch {
        // deleted in the working tree but still in the index
      }
    }
    // The packages as hard links: fast, and an npm ci in the copy would only unlink them
    // (a symbolic link would let it empty the checkout's own node_modules).
    const cp = run("cp", ["-al", join(REPO_ROOT, "node_modules"), join(repo, "node_modules")]);
    if (cp.status !== 0) throw new Error(`cp -al node_modules: ${cp.stderr}`);
    git("init", "-q", "-b", "main");
    git("remote", "add", "origin", "https://gitlab.globenet.example/globenet/globenet-infra.git");
    git("add", "-A");
    git("commit", "-q", "-m", "base");
    base = git("rev-parse", "HEAD");
    git("checkout", "-q", "-b", "velo-alias");
    const f = join(repo, "members", "velo-libre", "member.yaml");
    writeFileSync(f, readFileSync(f, "utf8").replace("aliases: [www.velo-libre.example]", "aliases: [www.velo-libre.example, velo.velo-libre.example]"));
    git("commit", "-q", "-am", "velo-libre: alias velo.velo-libre.example");
  }, 120_000);

  afterAll(async () => {
    await new Promise<void>((r) => gl.server.close(() => r()));
    if (repo) rmSync(dirname(repo), { recursive: true, force: true });
  });

  it("a merge request pipeline validates, previews, diffs, guards and posts one note", async () => {
    const r = await pipeline("merge_request_event", ["validate", "plan"]);
    expect(r.status, `${r.stdout}\n${r.stderr}`.slice(-4000)).toBe(0);
    expect(gl.notes).toHaveLength(1);
    const note = gl.notes[0]?.body ?? "";
    expect(note.startsWith(PLAN_MARKER)).toBe(true);
    expect(note).toContain("### Plan for stack `lab` at");
    expect(note).toMatch(/\*\*Preview:\*\* create \d+/);
    expect(note).toContain("**Guard:** OK");
    expect(note).toContain("guard: OK — no member data would be deleted or replaced.");
    // The rendered diff: the new alias in the vhost and in the zone.
    expect(note).toContain("velo.velo-libre.example");
    expect(note).toMatch(/```diff\n[\s\S]*\+\s*ServerAlias[^\n]*velo\.velo-libre\.example/);
    // The token went in the header, on every call, and nowhere in what was posted.
    expect(gl.requests.every((q) => q.token === "glpat-test-token")).toBe(true);
    expect(note).not.toContain("glpat-test-token");
  }, 900_000);

  it("a second pipeline on the same merge request updates the note instead of adding one", async () => {
    const f = join(repo, "zones", "velo-libre.example.yaml");
    writeFileSync(f, `${readFileSync(f, "utf8").trimEnd()}\n  - { name: "@", type: TXT, value: "site-verification=velo" }\n`);
    git("commit", "-q", "-am", "velo-libre.example: TXT for the site verification");
    const before = gl.requests.length;
    const r = await pipeline("merge_request_event", ["plan"]);
    expect(r.status, `${r.stdout}\n${r.stderr}`.slice(-4000)).toBe(0);
    const calls = gl.requests.slice(before).map((q) => `${q.method} ${q.path}`);
    expect(calls).toEqual(["GET /api/v4/projects/42/merge_requests/7/notes", `PUT /api/v4/projects/42/merge_requests/7/notes/${gl.notes[0]?.id}`]);
    expect(gl.notes).toHaveLength(1);
    expect(gl.notes[0]?.body).toContain("site-verification=velo");
  }, 900_000);

  it("the scheduled pipeline opens one drift issue and then keeps it up to date", async () => {
    for (let k = 0; k < 2; k++) {
      const r = await pipeline("schedule", ["drift"]);
      expect(r.status, `${r.stdout}\n${r.stderr}`.slice(-4000)).toBe(0);
    }
    expect(gl.issues).toHaveLength(1);
    expect(gl.issues[0]?.labels).toBe("drift");
    expect(gl.issues[0]?.title).toMatch(/^Drift on stack lab: \d+ resource\(s\) differ from git$/);
    expect(gl.issues[0]?.description.startsWith(DRIFT_MARKER)).toBe(true);
    expect(gl.requests.filter((q) => q.path === "/api/v4/projects/42/issues" && q.method === "POST")).toHaveLength(1);
  }, 900_000);
});
