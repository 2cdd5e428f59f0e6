import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { REPO_ROOT } from "../lib/cli/args";
import { cacheDir } from "../lib/engine/toolchain";
import { DRIFT_MARKER, PLAN_MARKER, STATUS_NAME } from "../lib/ci/gitlab";
import { fetchMrHead, prepareMrTree } from "../lib/ci/mr-tree";
import { noPlanNote, plannedLine, plannedOf } from "../lib/ci/note";
import { changesOutsideInventory } from "../lib/ci/stack-file";
import { fakeGitLab } from "./helpers/fake-gitlab";
import { freePort, requireTools, run } from "./helpers/tools";

/**
 * .gitlab-ci.yml, run for real by gitlab-ci-local (shell executor, no Docker), in its two
 * trust zones:
 * - a merge request whose branch turns scripts/test.sh, package.json's lifecycle scripts,
 *   index.ts and lib/cli/main.ts (every command's entry) into environment dumps runs its pipeline (validate, rendered-diff, test) with only
 *   what GitLab gives an unprotected merge request pipeline: every dump ran, and no prod secret
 *   (passphrase, state database password, SSH key, API token) is in any output or artifact;
 * - the protected mr-plans job, run as GitLab would on the default branch (a clone of a local
 *   bare "origin" holding refs/merge-requests/<iid>/head, the prod-like variables), posts the
 *   plan of the merge request's data computed by the default branch's code, sets the commit
 *   status, and runs none of the merge request's code; a merge request that changes the stack
 *   file outside its inventory gets no plan;
 * - the scheduled drift job keeps one issue.
 * The lab stack stands in for prod (its previews open no SSH); GitLab's API is a fake server
 * in this process. The test job's own suite (npm test) is this suite: the malicious branch's
 * test.sh replaces it.
 */
const ok = requireTools("git", "bash");

const rand = randomBytes(6).toString("hex");
/** The prod-like protected variables, whose values must never reach a merge request's jobs. */
const SECRET = {
  passphrase: `prod-passphrase-${rand}`,
  dbPassword: `prod-db-password-${rand}`,
  sshKey: `prod-ssh-key-${rand}`,
  token: `glpat-${rand}`,
};
const BOT = { id: 99, username: "project_42_bot" };
const MARK = "MR-CODE-RAN";

/** Every file under `dir` (recursively), as text. */
function filesUnder(dir: string): Array<{ file: string; text: string }> {
  if (!existsSync(dir)) return [];
  const out: Array<{ file: string; text: string }> = [];
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const f = join(e.parentPath, e.name);
    if (e.isFile() && statSync(f).size < 20_000_000) out.push({ file: f, text: readFileSync(f, "latin1") });
  }
  return out;
}

describe.skipIf(!ok)(".gitlab-ci.yml under gitlab-ci-local: merge requests untrusted, the default branch trusted", () => {
  let root = "";
  let work = ""; // the merge request author's clone: the unprivileged runner's checkout
  let prod = ""; // the protected runner's clone of the default branch
  let origin = "";
  let log = ""; // where the merge request's code says it ran
  let main = "";
  let port = 0;
  const gl = fakeGitLab(SECRET.token, BOT);
  const author = { GIT_AUTHOR_NAME: "Camille", GIT_AUTHOR_EMAIL: "camille@globenet.example", GIT_COMMITTER_NAME: "Camille", GIT_COMMITTER_EMAIL: "camille@globenet.example" };
  const gitIn = (cwd: string, ...args: string[]) => execFileSync("git", args, { cwd, encoding: "utf8", env: { ...process.env, ...author } }).trim();
  const git = (...args: string[]) => gitIn(work, ...args);

  /**
   * What the runners bring of their own (not GitLab variables): the Pulumi CLI already built,
   * and npm's cache (which the npm ci that installed this checkout filled), used offline.
   */
  const npmCache = (() => {
    const r = run("npm", ["config", "get", "cache"]);
    return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : join(homedir(), ".npm");
  })();
  const runnerSetup = () => ({ XDG_CACHE_HOME: dirname(dirname(cacheDir())), npm_config_cache: npmCache, npm_config_offline: "true" });

  /**
   * gitlab-ci-local in `cwd` with these variables; resolves with its exit status and output.
   * Asynchronous: the fake GitLab in this process must answer while the jobs run.
   */
  const gcl = (cwd: string, vars: Record<string, string>, jobs: string[], extra: string[] = []): Promise<{ status: number | null; out: string }> => {
    const args = [join(REPO_ROOT, "node_modules", ".bin", "gitlab-ci-local"), ...Object.entries(vars).flatMap(([k, v]) => ["--variable", `${k}=${v}`]), ...extra, ...jobs];
    return new Promise((resolve) => {
      const child = spawn("node", args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString("utf8")));
      child.stderr.on("data", (d: Buffer) => (out += d.toString("utf8")));
      const timer = setTimeout(() => child.kill("SIGKILL"), 900_000);
      child.on("close", (status) => {
        clearTimeout(timer);
        resolve({ status, out });
      });
    });
  };

  /** Exactly what GitLab gives a merge request pipeline of an unprotected branch: no protected variable. */
  const mrVars = (): Record<string, string> => ({
    CI_PIPELINE_SOURCE: "merge_request_event",
    CI_MERGE_REQUEST_IID: "7",
    CI_MERGE_REQUEST_DIFF_BASE_SHA: main,
    CI_MERGE_REQUEST_TARGET_BRANCH_NAME: "main",
    CI_MERGE_REQUEST_SOURCE_BRANCH_NAME: "velo-alias",
    // Written by the author, editable after the approvals: it allows nothing.
    CI_MERGE_REQUEST_DESCRIPTION: "Ajout d'un alias pour Vélo Libre\n\nAllow-Destroy: members/velo-libre",
    CI_DEFAULT_BRANCH: "main",
    CI_COMMIT_REF_PROTECTED: "false",
    CI_API_V4_URL: `http://127.0.0.1:${port}/api/v4`,
    CI_PROJECT_ID: "42",
    ...runnerSetup(),
  });

  /** A pipeline of the protected default branch, with the prod-like protected variables (the lab stack stands in for prod). */
  const prodVars = (task: "mr-plans" | "nightly"): Record<string, string> => ({
    CI_PIPELINE_SOURCE: "schedule",
    GLOBENET_TASK: task,
    CI_DEFAULT_BRANCH: "main",
    CI_COMMIT_BRANCH: "main",
    CI_COMMIT_REF_PROTECTED: "true",
    CI_API_V4_URL: `http://127.0.0.1:${port}/api/v4`,
    CI_PROJECT_ID: "42",
    CI_JOB_URL: "https://gitlab.globenet.example/globenet/globenet-infra/-/jobs/4711",
    GLOBENET_STACK: "lab",
    PULUMI_BACKEND_URL: `file://${join(root, "prod-state")}`,
    PGPASSWORD: SECRET.dbPassword,
    PULUMI_CONFIG_PASSPHRASE: SECRET.passphrase,
    GLOBENET_SSH_KEY: `-----BEGIN OPENSSH PRIVATE KEY-----\n${SECRET.sshKey}\n-----END OPENSSH PRIVATE KEY-----`,
    GITLAB_API_TOKEN: SECRET.token,
    ...runnerSetup(),
  });

  const secretsIn = (text: string) => Object.entries(SECRET).filter(([, v]) => text.includes(v)).map(([k]) => k);
  const ranLines = () => (existsSync(log) ? readFileSync(log, "utf8").split("\n").filter(Boolean) : []);
  const ourNote = (iid: number) => (gl.notes.get(iid) ?? []).filter((n) => n.author.id === BOT.id);

  /** Pushes `ref` of the author's clone as GitLab keeps a merge request's head. */
  const publishMr = (iid: number, branch: string) => {
    git("push", "-q", "-f", "origin", `${branch}:refs/heads/${branch}`, `${branch}:refs/merge-requests/${iid}/head`);
    const sha = git("rev-parse", branch);
    const mr = gl.mrs.find((x) => x.iid === iid);
    if (mr) Object.assign(mr, { sha, head_pipeline: { id: 500 + iid, sha } });
    else gl.mrs.push({ iid, sha, target_branch: "main", source_branch: branch, head_pipeline: iid === 7 ? { id: 507, sha } : null });
    return sha;
  };

  beforeAll(async () => {
    port = await freePort();
    await new Promise<void>((r) => gl.server.listen(port, "127.0.0.1", r));
    root = mkdtempSync(join(tmpdir(), "globenet-ci-"));
    work = join(root, "work");
    origin = join(root, "origin.git");
    prod = join(root, "prod");
    log = join(root, "mr-code-ran.log");
    // The working tree as it is (tracked and new files, not what git ignores), as a fresh repository.
    const files = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: REPO_ROOT, encoding: "utf8" }).split("\0").filter(Boolean);
    for (const f of files) {
      mkdirSync(dirname(join(work, f)), { recursive: true });
      try {
        cpSync(join(REPO_ROOT, f), join(work, f), { preserveTimestamps: true });
      } catch {
        // deleted in the working tree but still in the index
      }
    }
    // The lab stack stands in for prod with prod's own (secret) passphrase: without the lab's
    // committed salt, the engine makes one for that passphrase.
    const labFile = join(work, "Pulumi.lab.yaml");
    writeFileSync(labFile, readFileSync(labFile, "utf8").replace(/^encryptionsalt:.*\n/m, ""));
    gitIn(root, "init", "-q", "--bare", "-b", "main", origin);
    git("init", "-q", "-b", "main");
    git("remote", "add", "origin", origin);
    git("add", "-A");
    git("commit", "-q", "-m", "base");
    main = git("rev-parse", "HEAD");
    git("push", "-q", "origin", "main");

    // Merge request !7: a real data change, then code that dumps the environment everywhere it can.
    git("checkout", "-q", "-b", "velo-alias");
    const velo = join(work, "members", "velo-libre", "member.yaml");
    writeFileSync(velo, readFileSync(velo, "utf8").replace("aliases: [www.velo-libre.example]", "aliases: [www.velo-libre.example, velo.velo-libre.example]"));
    mkdirSync(join(work, "members", "atelier-neuf"));
    writeFileSync(
      join(work, "members", "atelier-neuf", "member.yaml"),
      "handle: atelier-neuf\nname: Atelier Neuf\ncontact:\n  email: bureau@atelier-neuf.example\nstatus: active\nssh_keys: []\nsites:\n  - host: atelier-neuf.example\n    php: none\n    dns: external\n",
    );
    git("add", "-A");
    git("commit", "-q", "-m", "velo-libre: alias velo.velo-libre.example; new member atelier-neuf");
    const dump = (what: string) => `echo ${MARK} ${what} >> ${log}; echo '=== environment seen by ${what} ==='; env | sort`;
    writeFileSync(join(work, "scripts", "test.sh"), `#!/usr/bin/env bash\n${dump("scripts/test.sh")}\nexit 0\n`);
    const pkg = JSON.parse(readFileSync(join(work, "package.json"), "utf8")) as { version: string; scripts: Record<string, string> };
    pkg.version = "0.1.1";
    Object.assign(pkg.scripts, {
      preinstall: dump("preinstall"),
      prepare: dump("prepare"),
      // Also into an artifact (validate keeps out/).
      prevalidate: `${dump("prevalidate")}; mkdir -p out && env > out/environment.txt`,
      pretest: dump("pretest"),
    });
    writeFileSync(join(work, "package.json"), `${JSON.stringify(pkg, null, 2)}\n`);
    // A changed lock file: the job's npm ci runs, and with it the lifecycle scripts.
    const lock = JSON.parse(readFileSync(join(work, "package-lock.json"), "utf8")) as { version: string; packages: Record<string, { version?: string }> };
    lock.version = "0.1.1";
    (lock.packages[""] as { version?: string }).version = "0.1.1";
    writeFileSync(join(work, "package-lock.json"), `${JSON.stringify(lock, null, 2)}\n`);
    // The program and the one entry of every npm run command (validate, render, diff run it).
    for (const file of ["index.ts", "lib/cli/main.ts"]) {
      const code = readFileSync(join(work, file), "utf8");
      writeFileSync(
        join(work, file),
        `${code}\nimport { appendFileSync as __mr } from "node:fs";\n__mr(${JSON.stringify(log)}, "${MARK} ${file}\\n");\nconsole.log("=== environment seen by ${file} ===", JSON.stringify(process.env));\n`,
      );
    }
    git("commit", "-q", "-am", "Faster tests");

    // Merge request !8: an alias, and the stack file's encryption salt (code-like: no plan).
    git("checkout", "-q", "-b", "salt", "main");
    writeFileSync(labFile, `${readFileSync(labFile, "utf8").trimEnd()}\nencryptionsalt: v1:AAAAAAAAAAA=:v1:BBBBBBBBBBBBBBBB:CCCCCCCCCCCCCCCCCCCCCCCCCCCCCC==\n`);
    writeFileSync(velo, readFileSync(velo, "utf8").replace("aliases: [www.velo-libre.example]", "aliases: [www.velo-libre.example, salt.velo-libre.example]"));
    git("commit", "-q", "-am", "velo-libre: another alias (and a new salt)");
    git("checkout", "-q", "velo-alias");
    // The packages as hard links: fast, and an npm ci in the copy only unlinks them (a
    // symbolic link would let it empty the checkout's own node_modules).
    const cp = run("cp", ["-al", join(REPO_ROOT, "node_modules"), join(work, "node_modules")]);
    if (cp.status !== 0) throw new Error(`cp -al node_modules: ${cp.stderr}`);
  }, 300_000);

  afterAll(async () => {
    await new Promise<void>((r) => gl.server.close(() => r()));
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it("keeps the zones apart: merge request jobs on the globenet-mr runner without any prod variable, the rest on the protected runner, from the protected default branch only", async () => {
    const ci = parse(readFileSync(join(REPO_ROOT, ".gitlab-ci.yml"), "utf8")) as Record<string, Record<string, unknown>>;
    const mrJobs = ["validate", "rendered-diff", "test"];
    const prodJobs = ["apply", "shard-pipeline", "mr-plans", "drift", "backups", "state-backup"];
    const resolved = (job: string) => ({ ...(ci[String(ci[job]?.extends)] ?? {}), ...ci[job] }) as Record<string, unknown>;
    for (const j of mrJobs) {
      expect(resolved(j).tags, j).toEqual(["globenet-mr"]);
      const text = JSON.stringify(resolved(j));
      for (const v of ["PULUMI_CONFIG_PASSPHRASE", "PULUMI_BACKEND_URL", "PGPASSWORD", "GLOBENET_SSH_KEY", "GITLAB_API_TOKEN"]) expect(text, `${j} uses ${v}`).not.toContain(v);
    }
    for (const j of prodJobs) {
      const r = resolved(j);
      expect(r.tags, j).toEqual(["globenet-prod"]);
      // No GitLab cache (an MR pipeline can write one) and no other job's artifacts.
      expect(r.cache, j).toEqual([]);
      expect(r.dependencies, j).toEqual([]);
      expect(r.before_script, j).toEqual(["bash .ci/trusted-setup"]);
      for (const rule of r.rules as Array<{ if: string }>) expect(rule.if, j).toMatch(/^\$CI_COMMIT_BRANCH == \$CI_DEFAULT_BRANCH && \$CI_COMMIT_REF_PROTECTED == "true"( && |$)/);
    }
    expect(readFileSync(join(REPO_ROOT, ".ci", "trusted-setup"), "utf8")).toMatch(/^npm ci --ignore-scripts/m);
    // Which jobs each kind of pipeline gets, as gitlab-ci-local evaluates the rules.
    const jobsOf = async (vars: Record<string, string>) => {
      const r = await gcl(work, vars, [], ["--list"]);
      expect(r.status, r.out).toBe(0);
      return r.out.split("\n").map((l) => /^(\S+)\s+(check|plan|apply)\s/.exec(l)?.[1]).filter(Boolean);
    };
    const base = { CI_DEFAULT_BRANCH: "main", CI_COMMIT_BRANCH: "main" };
    expect(await jobsOf({ ...base, CI_PIPELINE_SOURCE: "merge_request_event", CI_COMMIT_REF_PROTECTED: "false" })).toEqual(mrJobs);
    expect(await jobsOf({ ...base, CI_PIPELINE_SOURCE: "push", CI_COMMIT_REF_PROTECTED: "true" })).toEqual(["apply"]);
    // A sharded stack: the apply is a child pipeline of one job per touched shard (docs/architecture.md, "Sharded stacks").
    expect(await jobsOf({ ...base, CI_PIPELINE_SOURCE: "push", CI_COMMIT_REF_PROTECTED: "true", GLOBENET_SHARDED: "true" })).toEqual(["shard-pipeline", "apply-shards"]);
    expect(resolved("apply-shards").trigger).toEqual({ include: [{ artifact: "shards-pipeline.yml", job: "shard-pipeline" }], strategy: "depend" });
    expect(resolved("apply-shards").rules).toEqual(resolved("shard-pipeline").rules);
    // The shard jobs get the parent's index of the validated data (lib/check/shard-index.ts).
    expect(resolved("apply-shards").variables).toEqual({ PARENT_PIPELINE_ID: "$CI_PIPELINE_ID" });
    expect((resolved("shard-pipeline").artifacts as { paths: string[] }).paths).toEqual(["shards-pipeline.yml", ".pulumi/globenet-shard-index/$GLOBENET_STACK.json", ".pulumi/globenet-shard-index/$GLOBENET_STACK.load-cache.json", ".pulumi/globenet-shard-index/$GLOBENET_STACK.model.json"]);
    expect(await jobsOf({ ...base, CI_PIPELINE_SOURCE: "schedule", CI_COMMIT_REF_PROTECTED: "true", GLOBENET_TASK: "mr-plans" })).toEqual(["mr-plans"]);
    expect(await jobsOf({ ...base, CI_PIPELINE_SOURCE: "schedule", CI_COMMIT_REF_PROTECTED: "true", GLOBENET_TASK: "nightly" })).toEqual(["drift", "backups", "state-backup"]);
    // The default branch unprotected, or another branch: nothing runs with prod's variables.
    expect(await jobsOf({ ...base, CI_PIPELINE_SOURCE: "push", CI_COMMIT_REF_PROTECTED: "false" })).toEqual([]);
    expect(await jobsOf({ ...base, CI_COMMIT_BRANCH: "velo-alias", CI_PIPELINE_SOURCE: "schedule", CI_COMMIT_REF_PROTECTED: "true", GLOBENET_TASK: "mr-plans" })).toEqual([]);
  }, 300_000);

  it("a merge request whose test script, lifecycle scripts, index.ts and command entry dump the environment: every dump runs, and none holds a prod secret", async () => {
    const outputs: string[] = [];
    for (const job of ["validate", "rendered-diff", "test"]) {
      const r = await gcl(work, mrVars(), [job]);
      outputs.push(r.out);
      expect(r.status, `${job}:\n${r.out.slice(-4000)}`).toBe(0);
    }
    const all = outputs.join("\n");
    // The attack ran, for real: each vector printed the environment it was given.
    const ran = ranLines().map((l) => l.replace(`${MARK} `, ""));
    for (const v of ["preinstall", "prepare", "prevalidate", "lib/cli/main.ts", "pretest", "scripts/test.sh"]) expect(ran, v).toContain(v);
    expect(all).toContain("CI_PIPELINE_SOURCE=merge_request_event");
    expect(all).toContain("=== environment seen by lib/cli/main.ts ===");
    // …and found nothing of prod's: not in any job's output, log or artifact.
    expect(secretsIn(all)).toEqual([]);
    const kept = [...filesUnder(join(work, ".gitlab-ci-local")), ...filesUnder(join(work, "out"))];
    expect(kept.some((f) => f.file.endsWith("environment.txt") && f.text.includes("CI_MERGE_REQUEST_IID=7"))).toBe(true);
    expect(kept.filter((f) => secretsIn(f.text).length > 0).map((f) => `${f.file}: ${secretsIn(f.text).join(", ")}`)).toEqual([]);
    // The rendered diff is there for the author, and no job talked to GitLab's API (no token).
    expect(all).toMatch(/\+\s*ServerAlias[^\n]*velo\.velo-libre\.example/);
    expect(gl.requests).toEqual([]);
  }, 900_000);

  it("the protected mr-plans job posts the prod plan of the merge request's data, computed by the default branch's code; none of the merge request's code runs", async () => {
    const head7 = publishMr(7, "velo-alias");
    const head8 = publishMr(8, "salt");
    // Anyone can post a note that looks like the plan and claims the current head: ignored.
    gl.notes.set(7, [{ id: 1, author: { id: 5 }, body: `${PLAN_MARKER}\n${plannedLine({ head: head7, target: main })}\n**Guard:** OK (forged)` }]);
    gitIn(root, "clone", "-q", "-b", "main", origin, prod);
    const cp = run("cp", ["-al", join(REPO_ROOT, "node_modules"), join(prod, "node_modules")]);
    if (cp.status !== 0) throw new Error(`cp -al node_modules: ${cp.stderr}`);
    const before = ranLines().length;

    const r = await gcl(prod, prodVars("mr-plans"), ["mr-plans"]);
    expect(r.status, r.out.slice(-6000)).toBe(0);
    expect(r.out).toContain("npm ci --ignore-scripts");
    expect(r.out).toMatch(/!7: planned at [0-9a-f]{12}: guard OK/);
    expect(r.out).toMatch(/!8: refused at [0-9a-f]{12}/);
    // None of the merge request's code ran: no marker, no dump.
    expect(ranLines().length).toBe(before);
    expect(r.out).not.toContain(MARK);
    expect(r.out).not.toContain("=== environment seen by");

    // One note of the job's own on !7 (the forged one untouched), holding the plan of !7's data.
    expect(ourNote(7)).toHaveLength(1);
    expect(gl.notes.get(7)?.find((n) => n.id === 1)?.body).toContain("(forged)");
    const note = ourNote(7)[0]?.body ?? "";
    expect(note.startsWith(`${PLAN_MARKER}\n${plannedLine({ head: head7, target: main })}\n`)).toBe(true);
    expect(note).toContain(`### Plan for stack \`lab\`: this merge request at ${head7.slice(0, 12)}, merged into \`main\` at ${main.slice(0, 12)}`);
    expect(note).toMatch(/\*\*Preview:\*\* create \d+/);
    // The preview and the rendered diff show the merge request's data: its new member, its alias.
    expect(note).toMatch(/create +globenet:member:Member atelier-neuf/);
    expect(note).toMatch(/```diff\n[\s\S]*\+\s*ServerAlias[^\n]*velo\.velo-libre\.example/);
    expect(note).toContain("**Guard:** OK");
    expect(note).toMatch(/Allow-Destroy lines read from the commit messages [0-9a-f]{12}\.\.[0-9a-f]{12}/);
    // The code it changes is named, not previewed.
    expect(note).toMatch(/\*\*Not previewed:\*\*[^\n]*\n\n```\nindex\.ts\nlib\/cli\/main\.ts\npackage-lock\.json\npackage\.json\nscripts\/test\.sh\n```/);
    expect(gl.statuses.find((s) => s.sha === head7)).toMatchObject({ state: "success", name: STATUS_NAME, pipeline_id: 507 });

    // !8 changes the stack file outside its inventory: refused, said so, status failed.
    const refused = ourNote(8)[0]?.body ?? "";
    expect(refused).toContain("**No plan: refused.**");
    expect(refused).toMatch(/it changes Pulumi\.lab\.yaml outside `config: globenet-infra:inventory` \(encryptionsalt\)/);
    expect(gl.statuses.find((s) => s.sha === head8)).toMatchObject({ state: "failed", name: STATUS_NAME });

    // No secret in the job's output or in what it posted; the token only ever in the header.
    expect(secretsIn(r.out)).toEqual([]);
    expect(secretsIn(JSON.stringify(gl.requests.map((q) => q.body ?? null)))).toEqual([]);
    expect(gl.requests.every((q) => q.token === SECRET.token)).toBe(true);
  }, 900_000);

  it("plans a merge request again when its head moves, and leaves an unchanged one alone", async () => {
    git("checkout", "-q", "velo-alias");
    const zone = join(work, "zones", "velo-libre.example.yaml");
    writeFileSync(zone, `${readFileSync(zone, "utf8").trimEnd()}\n  - { name: "@", type: TXT, value: "site-verification=velo" }\n`);
    git("commit", "-q", "-am", "velo-libre.example: TXT for the site verification");
    const head7 = publishMr(7, "velo-alias");
    const from = gl.requests.length;
    const statusesBefore = gl.statuses.length;
    const r = await gcl(prod, prodVars("mr-plans"), ["mr-plans"]);
    expect(r.status, r.out.slice(-6000)).toBe(0);
    expect(r.out).toMatch(/!8: unchanged since its last plan/);
    const calls = gl.requests.slice(from).map((q) => `${q.method} ${q.path}`);
    // !7: its note updated in place; !8: read, nothing written.
    expect(calls.filter((c) => c.includes("/merge_requests/7/notes/"))).toEqual([`PUT /api/v4/projects/42/merge_requests/7/notes/${ourNote(7)[0]?.id}`]);
    expect(calls.filter((c) => c.includes("/merge_requests/8/") && !c.startsWith("GET"))).toEqual([]);
    expect(ourNote(7)).toHaveLength(1);
    expect(ourNote(7)[0]?.body).toContain(plannedLine({ head: head7, target: main }));
    expect(ourNote(7)[0]?.body).toContain("site-verification=velo");
    expect(gl.statuses.slice(statusesBefore).map((s) => `${s.sha} ${s.state}`)).toEqual([`${head7} success`]);
  }, 900_000);

  it("the nightly schedule opens one drift issue and then keeps it up to date", async () => {
    for (let k = 0; k < 2; k++) {
      const r = await gcl(prod, prodVars("nightly"), ["drift"]);
      expect(r.status, r.out.slice(-4000)).toBe(0);
      expect(secretsIn(r.out)).toEqual([]);
    }
    expect(gl.issues).toHaveLength(1);
    expect(gl.issues[0]?.labels).toBe("drift");
    expect(gl.issues[0]?.title).toMatch(/^Drift on stack lab: \d+ resource\(s\) differ from git$/);
    expect(gl.issues[0]?.description.startsWith(DRIFT_MARKER)).toBe(true);
    expect(gl.requests.filter((q) => q.path === "/api/v4/projects/42/issues" && q.method === "POST")).toHaveLength(1);
  }, 900_000);
});


describe("what of a stack file a merge request may change and still get a plan", () => {
  const file = (extra: string, inventory = "domain: a.example") => `config:\n  globenet-infra:inventory:\n    ${inventory}\n${extra}`;
  it.each<[string, string, string, string[]]>([
    ["the inventory only", file(""), file("", "domain: b.example"), []],
    ["nothing", file("encryptionsalt: v1:x\n"), file("encryptionsalt: v1:x\n"), []],
    ["the encryption salt", file("encryptionsalt: v1:x\n"), file("encryptionsalt: v1:y\n"), ["encryptionsalt"]],
    ["a secrets provider", file(""), file("secretsprovider: awskms://x\n"), ["secretsprovider"]],
    ["another config key", file(""), file("  pulumi:disable-default-providers: ['*']\n"), ["config.pulumi:disable-default-providers"]],
    ["an ESC environment", file(""), file("environment: [prod-secrets]\n"), ["environment"]],
    ["not YAML any more", file(""), "config: [", ["Pulumi.prod.yaml (after) is not valid YAML (Flow sequence in block collection must be sufficiently indented and end with a ])"]],
  ])("%s", (_what, before, after, want) => {
    const got = changesOutsideInventory(before, after, "Pulumi.prod.yaml");
    if (want[0]?.includes("not valid YAML")) expect(got[0]).toMatch(/^Pulumi\.prod\.yaml \(after\) is not valid YAML/);
    else expect(got).toEqual(want);
  });

  it("a note's planned head and target are read back; a note without them has none", () => {
    const p = { head: "a".repeat(40), target: "b".repeat(40) };
    expect(plannedOf(`x\n${plannedLine(p)}\ny`)).toEqual(p);
    expect(plannedOf("no line")).toBeUndefined();
    const n = noPlanNote({ stack: "prod", planned: p, targetBranch: "main", what: "refused", reasons: ["it changes Pulumi.yaml"], notPreviewed: ["lib/x.ts", "evil` @all [x](http://e.example)"] });
    expect(n).toContain("**No plan: refused.**");
    // File names from the merge request stay inside a fence.
    expect(n).toMatch(/```\nlib\/x\.ts\nevil` @all \[x\]\(http:\/\/e\.example\)\n```/);
  });
});

describe.skipIf(!ok)("a merge request's data, taken out of git without running any of it", () => {
  let dir = "";
  let repo = "";
  let origin = "";
  let main = "";
  const env = { ...process.env, GIT_AUTHOR_NAME: "C", GIT_AUTHOR_EMAIL: "c@globenet.example", GIT_COMMITTER_NAME: "C", GIT_COMMITTER_EMAIL: "c@globenet.example" };
  const git = (...args: string[]) => execFileSync("git", args, { cwd: repo, encoding: "utf8", env }).trim();
  const write = (f: string, text: string) => {
    mkdirSync(dirname(join(repo, f)), { recursive: true });
    writeFileSync(join(repo, f), text);
  };
  /** A merge request !iid made of `change` on top of main, published as GitLab does. */
  const mr = (iid: number, change: () => void): string => {
    git("checkout", "-q", "-B", `mr${iid}`, main);
    change();
    git("add", "-A");
    git("commit", "-q", "-m", `mr ${iid}`);
    git("push", "-q", "-f", "origin", `mr${iid}:refs/merge-requests/${iid}/head`);
    git("checkout", "-q", "main");
    return fetchMrHead(repo, iid);
  };
  const prepare = async (head: string) => {
    const dest = mkdtempSync(join(dir, "dest-"));
    return { tree: await prepareMrTree(repo, { head, target: main, stack: "prod", dest }), dest };
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "globenet-mr-tree-"));
    repo = join(dir, "repo");
    origin = join(dir, "origin.git");
    execFileSync("git", ["init", "-q", "--bare", origin]);
    mkdirSync(repo);
    git("init", "-q", "-b", "main");
    git("remote", "add", "origin", origin);
    write("Pulumi.yaml", "name: globenet-infra\nruntime: nodejs\n");
    write("Pulumi.prod.yaml", "config:\n  globenet-infra:inventory:\n    domain: a.example\n");
    write("members/velo/member.yaml", "handle: velo\n");
    write("zones/velo.example.yaml", "owner: velo\n");
    write("index.ts", "export {};\n");
    git("add", "-A");
    git("commit", "-q", "-m", "base");
    main = git("rev-parse", "HEAD");
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("writes the merged data (members/, zones/, the stack file) and nothing else, and names the code it does not preview", async () => {
    const head = mr(1, () => {
      write("members/velo/member.yaml", "handle: velo\nname: Vélo\n");
      write("Pulumi.prod.yaml", "config:\n  globenet-infra:inventory:\n    domain: b.example\n");
      write("index.ts", "console.log(process.env);\n");
    });
    // main moves on meanwhile: the plan is of both together, as GitLab would merge them.
    write("zones/other.example.yaml", "owner: velo\n");
    git("add", "-A");
    git("commit", "-q", "-m", "main moves on");
    const moved = git("rev-parse", "HEAD");
    const dest = mkdtempSync(join(dir, "dest-"));
    const tree = await prepareMrTree(repo, { head, target: moved, stack: "prod", dest });
    git("reset", "-q", "--hard", main);
    expect(tree.refusals).toEqual([]);
    expect(tree.notPreviewed).toEqual(["index.ts"]);
    expect(readFileSync(join(dest, "members/velo/member.yaml"), "utf8")).toContain("name: Vélo");
    expect(readFileSync(join(dest, "Pulumi.prod.yaml"), "utf8")).toContain("domain: b.example");
    expect(existsSync(join(dest, "zones/other.example.yaml"))).toBe(true);
    expect(existsSync(join(dest, "index.ts"))).toBe(false);
    expect(existsSync(join(dest, "Pulumi.yaml"))).toBe(false);
  });

  it.each<[string, () => void, RegExp]>([
    ["Pulumi.yaml", () => write("Pulumi.yaml", "name: globenet-infra\nruntime: { name: nodejs, options: { nodeargs: --require=/tmp/x } }\n"), /it changes Pulumi\.yaml/],
    ["the stack file outside its inventory", () => write("Pulumi.prod.yaml", "config:\n  globenet-infra:inventory:\n    domain: a.example\nsecretsprovider: hashivault://x\n"), /outside `config: globenet-infra:inventory` \(secretsprovider\)/],
  ])("refuses a plan when the merge request changes %s", async (_what, change, why) => {
    const { tree, dest } = await prepare(mr(2, change));
    expect(tree.refusals.join("\n")).toMatch(why);
    expect(tree.merged).toBeUndefined();
    expect(readdirSync(dest)).toEqual([]);
  });

  it("refuses a merge request that conflicts with the target, and a data file that is a symbolic link", async () => {
    const head = mr(3, () => write("members/velo/member.yaml", "handle: velo\nname: A\n"));
    write("members/velo/member.yaml", "handle: velo\nname: B\n");
    git("commit", "-q", "-am", "conflicting");
    const moved = git("rev-parse", "HEAD");
    const tree = await prepareMrTree(repo, { head, target: moved, stack: "prod", dest: mkdtempSync(join(dir, "dest-")) });
    git("reset", "-q", "--hard", main);
    expect(tree.refusals.join("\n")).toMatch(/conflicts with the target branch/);
    const link = mr(4, () => execFileSync("ln", ["-s", "/etc/shadow", join(repo, "members/velo/shadow.yaml")]));
    await expect(prepare(link)).rejects.toThrow(/members\/velo\/shadow\.yaml: a symbolic link/);
  });
});
