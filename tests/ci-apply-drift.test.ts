import { createHash, randomBytes } from "node:crypto";
import { execFileSync, spawn } from "node:child_process";
import { chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { tempDir } from "./helpers/temp-dir";
import { REPO_ROOT } from "../lib/cli/args";
import { DRIFT_MARKER } from "../lib/ci/gitlab";
import { cacheDir } from "../lib/engine/toolchain";
import { labUp } from "../lib/lab/commands";
import { ensureLabKeys } from "../lib/lab/keys";
import { labBackendRecord, labPostgresUrl, writeLabBackendRecord } from "../lib/state/lab-backend";
import { stopPostgres } from "../lib/state/pg-server";
import { loadModel } from "../lib/check/build";
import { cli } from "./helpers/cli";
import { fakeGitLab } from "./helpers/fake-gitlab";
import { labTestTeardown, prepareLabTest, sh } from "./helpers/lab-run";
import { LAB_SSHD } from "./helpers/lab-tree";
import { freePort, requireRoot, requireTools, run } from "./helpers/tools";
import { phaseTimer } from "./helpers/timings";

/**
 * Issue 18's CI paths on a real lab and its real state: .gitlab-ci.yml's protected `apply` and
 * `drift` jobs run by gitlab-ci-local (shell executor) against the lab's daemons, with the
 * stack's state in the lab's own PostgreSQL reached through PULUMI_BACKEND_URL and PGPASSWORD,
 * as prod's jobs reach Globenet's (the closest the lab gets to prod: the postgres:// backend,
 * its locks in the database, a passphrase and an SSH key given as CI variables); then
 * `npm run refresh` and `npm run up` as a volunteer runs them after a hand edit. One lab run is
 * shared by every step; GitLab's API is a fake server in this process.
 */
const ok =
  requireTools("git", "bash", "sshd", "ssh-keygen", "apache2ctl", "named", "dig", "curl", "mariadbd", "libvirtd", "useradd", "sudo", "initdb", "postgres") &&
  requireRoot("the lab starts system daemons and manages users on this machine");

const rand = randomBytes(6).toString("hex");
/** What the protected jobs get as protected, masked variables: none may reach a job's log. */
const SECRET = { passphrase: `ci-lab-passphrase-${rand}`, token: `glpat-${rand}` };
const BOT = { id: 77, username: "project_42_bot" };
const HANDLE = "velo-ci";
const DOMAIN = "velo-ci.test";
const BLOG = `blog.${DOMAIN}`;
/** The live files, through the file sets' roots (symbolic links to their live generation), as a volunteer edits them. */
const VHOST = `/etc/apache2/globenet/sites-available/${DOMAIN}.conf`;
const ZONE_FILE = `/etc/bind/globenet/zones/${DOMAIN}.zone`;
/** The lab's PostgreSQL for this test only: a stack left in the shared one by another run would hold another passphrase's salt. */
const PG_DATA = `/var/lib/globenet-lab/ci-apply-drift-pg`;

interface Tree {
  blog: boolean;
  txt: string[];
}

function inventory(hostKey: string): string {
  return `config:
  globenet-infra:inventory:
    domain: globenet.example
    hostmaster: hostmaster@globenet.example
    archive_dir: /var/lib/globenet-lab/ci-apply-drift/archive
    php_versions: ["8.2"]
    images: {}
    pools: {}
    resolvers: [192.0.2.35]
    dnssec: { dnskey_ttl: 10s, zone_propagation_delay: 1s, parent_ds_ttl: 10s, parent_propagation_delay: 1s, retire_safety: 1s, publish_safety: 1s }
    hosts:
      lab:
        roles: [web, db, dns-primary]
        fqdn: lab.globenet.example
        address: 127.0.0.1
        home_quota: warn
        ssh:
          user: globenet-deploy
          port: 2222
          host_key: ${hostKey}
        sshd: { dropin_dir: ${LAB_SSHD.dropinDir}, pid_file: ${LAB_SSHD.pidFile} }
`;
}

function dataFiles(t: Tree): Record<string, string | null> {
  const site = (host: string) => `  - host: ${host}\n    tls: none\n    tls_none_reason: "the CI test's lab has no certificate authority"\n`;
  return {
    "members/globenet/member.yaml": "handle: globenet\nname: Globenet\ncontact: { email: bureau@globenet.example }\nstatus: active\n",
    [`members/${HANDLE}/member.yaml`]: `handle: ${HANDLE}\nname: Vélo CI\ncontact: { email: bureau@${DOMAIN} }\nstatus: active\nsites:\n${site(DOMAIN)}${t.blog ? site(BLOG) : ""}`,
    [`zones/${DOMAIN}.yaml`]: `owner: ${HANDLE}\nrecords:\n${t.txt.map((v) => `  - { name: "@", type: TXT, value: ${JSON.stringify(v)} }\n`).join("")}`,
  };
}

function dig(name: string, type: string): string {
  return sh("dig", ["@127.0.0.1", "+short", "+time=2", "+tries=2", name, type]).stdout.trim();
}

/** A visitor's page through the lab's Apache, by name. */
function page(host: string): { status: number; body: string } {
  const r = sh("curl", ["-sS", "-m", "10", "-o", "-", "-w", "\n%{http_code}", "--resolve", `${host}:80:127.0.0.1`, `http://${host}/`]);
  const i = r.stdout.lastIndexOf("\n");
  return { status: Number(r.stdout.slice(i + 1)), body: r.stdout.slice(0, i) };
}

/** What the member publishes: a page of its own, owned by its unix user. */
function publish(site: string, title: string): void {
  const dir = `/home/${HANDLE}/sites/${site}/htdocs`;
  const st = statSync(`/home/${HANDLE}`);
  writeFileSync(join(dir, "index.html"), `<html><head><title>${title}</title></head><body>${title}</body></html>\n`);
  chownSync(join(dir, "index.html"), st.uid, st.gid);
}

/** Every file under `dir` (recursively), as text. */
function filesUnder(dir: string): Array<{ file: string; text: string }> {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .filter((f) => statSync(f).size < 20_000_000)
    .map((f) => ({ file: f, text: readFileSync(f, "latin1") }));
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

describe.skipIf(!ok)("CI's apply and drift jobs, and npm run refresh, on a real lab with its state in PostgreSQL", () => {
  let root = ""; // holds the clones, origin and the CI variables file
  let work = ""; // the volunteers' checkout: the lab runs from it (its .lab holds keys, PIDs, the state's record)
  let prod = ""; // the protected runner's checkout of the default branch
  let origin = "";
  let port = 0;
  let tree: Tree = { blog: false, txt: ["v=spf1 -all"] };
  let pgPassword = "";
  let deployKey = "";
  let downDone = false;
  const savedPassphrase = process.env.PULUMI_CONFIG_PASSPHRASE;
  const gl = fakeGitLab(SECRET.token, BOT);
  const { timings, timed } = phaseTimer();
  const author = { GIT_AUTHOR_NAME: "Camille", GIT_AUTHOR_EMAIL: "camille@globenet.example", GIT_COMMITTER_NAME: "Camille", GIT_COMMITTER_EMAIL: "camille@globenet.example" };
  const gitIn = (cwd: string, ...args: string[]) => execFileSync("git", args, { cwd, encoding: "utf8", env: { ...process.env, ...author } }).trim();

  const writeTree = () => {
    for (const [rel, content] of Object.entries(dataFiles(tree))) {
      const f = join(work, rel);
      if (content === null) rmSync(f, { force: true });
      else {
        mkdirSync(dirname(f), { recursive: true });
        writeFileSync(f, content);
      }
    }
  };

  /** A merge into the default branch: committed in the volunteers' clone, pushed, fetched by the protected runner. */
  const merge = (message: string) => {
    gitIn(work, "add", "-A");
    gitIn(work, "commit", "-q", "-m", message);
    gitIn(work, "push", "-q", "origin", "main");
    gitIn(prod, "pull", "-q", "--ff-only", "origin", "main");
  };

  const npmCache = (() => {
    const r = run("npm", ["config", "get", "cache"]);
    return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : join(homedir(), ".npm");
  })();

  /** A pipeline of the protected default branch with the lab standing in for prod (its variables as GitLab gives them). */
  const prodVars = (source: "push" | "schedule"): Record<string, string> => ({
    CI_PIPELINE_SOURCE: source,
    ...(source === "schedule" ? { GLOBENET_TASK: "nightly" } : {}),
    CI_DEFAULT_BRANCH: "main",
    CI_COMMIT_BRANCH: "main",
    CI_COMMIT_REF_PROTECTED: "true",
    CI_API_V4_URL: `http://127.0.0.1:${port}/api/v4`,
    CI_PROJECT_ID: "42",
    CI_JOB_URL: "https://gitlab.globenet.example/globenet/globenet-infra/-/jobs/4712",
    GLOBENET_STACK: "lab",
    // The runner's own toolchain and npm cache (used offline), as ci-gitlab.test.ts gives them.
    XDG_CACHE_HOME: dirname(dirname(cacheDir())),
    npm_config_cache: npmCache,
    npm_config_offline: "true",
  });

  /** The protected, masked variables, in gitlab-ci-local's variables file: the SSH key as a File variable scoped to the environment prod. */
  const writeProtectedVariables = () => {
    const block = (text: string) => text.trimEnd().split("\n").map((l) => `      ${l}`).join("\n");
    const rec = labBackendRecord(work);
    if (!rec) throw new Error("the lab's state is not in its PostgreSQL");
    writeFileSync(
      join(root, "protected-variables.yml"),
      [
        `PULUMI_BACKEND_URL: ${JSON.stringify(labPostgresUrl(rec))}`,
        `PGPASSWORD: ${JSON.stringify(pgPassword)}`,
        `PULUMI_CONFIG_PASSPHRASE: ${JSON.stringify(SECRET.passphrase)}`,
        `GITLAB_API_TOKEN: ${JSON.stringify(SECRET.token)}`,
        "GLOBENET_SSH_KEY:",
        "  type: file",
        "  values:",
        "    prod: |",
        block(readFileSync(deployKey, "utf8")),
        "",
      ].join("\n"),
      { mode: 0o600 },
    );
  };

  const secretsIn = (text: string) => {
    const all: Record<string, string> = { ...SECRET, pgPassword, sshKey: readFileSync(deployKey, "utf8").split("\n")[1] ?? "" };
    return Object.entries(all).filter(([, v]) => v && text.includes(v)).map(([k]) => k);
  };

  /** gitlab-ci-local in the protected runner's checkout; resolves with its exit status and output (the fake GitLab answers meanwhile). */
  const gcl = (vars: Record<string, string>, job: string): Promise<{ status: number | null; out: string }> => {
    const args = [join(REPO_ROOT, "node_modules", ".bin", "gitlab-ci-local"), "--variables-file", "../protected-variables.yml", ...Object.entries(vars).flatMap(([k, v]) => ["--variable", `${k}=${v}`]), job];
    return new Promise((resolve) => {
      const child = spawn("node", args, { cwd: prod, stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString("utf8")));
      child.stderr.on("data", (d: Buffer) => (out += d.toString("utf8")));
      const timer = setTimeout(() => child.kill("SIGKILL"), 600_000);
      child.on("close", (status) => {
        clearTimeout(timer);
        resolve({ status, out });
      });
    });
  };

  const job = async (name: "apply" | "drift") => {
    const r = await timed(`${name} job (gitlab-ci-local)`, () => gcl(prodVars(name === "apply" ? "push" : "schedule"), name));
    expect(r.status, `${name}:\n${r.out.slice(-6000)}`).toBe(0);
    expect(secretsIn(r.out), `${name} printed a secret`).toEqual([]);
    return r.out;
  };

  /** The lab stack's state as `npm run state -- backup` exports it. */
  const stateExport = async (): Promise<Array<{ urn: string; type: string; outputs?: Record<string, unknown>; inputs?: Record<string, unknown> }>> => {
    const dir = mkdtempSync(join(root, "state-"));
    const r = await cli(["state", "backup", "--stack", "lab", "--root", work, "--dir", dir]);
    expect(r.status, r.stderr).toBe(0);
    const file = readdirSync(dir).find((f) => f.startsWith("lab-") && f.endsWith(".json") && !f.endsWith(".history.json"));
    if (!file) throw new Error(`npm run state -- backup wrote nothing in ${dir}: ${r.stdout}`);
    const doc = JSON.parse(readFileSync(join(dir, file), "utf8")) as { deployment?: { resources?: [] }; checkpoint?: { latest?: { resources?: [] } } };
    return (doc.deployment?.resources ?? doc.checkpoint?.latest?.resources ?? []) as never;
  };

  beforeAll(async () => {
    port = await freePort();
    await new Promise<void>((r) => gl.server.listen(port, "127.0.0.1", r));
    root = tempDir("globenet-ci-lab-");
    work = join(root, "work");
    origin = join(root, "origin.git");
    prod = join(root, "prod");
    // The repository as it is (tracked and new files), with the test's own small data tree instead of the examples.
    const files = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: REPO_ROOT, encoding: "utf8" }).split("\0").filter(Boolean);
    for (const f of files) {
      if (/^(members|zones)\//.test(f)) continue;
      mkdirSync(dirname(join(work, f)), { recursive: true });
      try {
        cpSync(join(REPO_ROOT, f), join(work, f), { preserveTimestamps: true });
      } catch {
        // deleted in the working tree but still in the index
      }
    }
    // The packages as hard links (the engine runs the provider from this checkout).
    const cp = run("cp", ["-al", join(REPO_ROOT, "node_modules"), join(work, "node_modules")]);
    if (cp.status !== 0) throw new Error(`cp -al node_modules: ${cp.stderr}`);
    const keys = ensureLabKeys(work);
    deployKey = keys.deployKey;
    // Pinned like prod's hosts (host_key, not a file the runner would not have).
    writeFileSync(join(work, "Pulumi.lab.yaml"), inventory(readFileSync(keys.hostKeyPub, "utf8").trim().split(/\s+/).slice(0, 2).join(" ")));
    writeTree();
    const { errors } = loadModel(work, "lab");
    if (errors.length) throw new Error(`the test's data tree does not validate:\n${errors.map((e) => JSON.stringify(e)).join("\n")}`);
    await prepareLabTest(work);
    // The lab's state in a PostgreSQL of this test's own.
    rmSync(PG_DATA, { recursive: true, force: true });
    writeLabBackendRecord(work, { port: await freePort(), dataDir: PG_DATA });
    process.env.PULUMI_CONFIG_PASSPHRASE = SECRET.passphrase;
  }, 300_000);

  afterAll(async () => {
    const spy = vi.spyOn(console, "log").mockImplementation(() => undefined);
    try {
      if (work) await labTestTeardown(work, downDone);
    } finally {
      spy.mockRestore();
      if (savedPassphrase === undefined) delete process.env.PULUMI_CONFIG_PASSPHRASE;
      else process.env.PULUMI_CONFIG_PASSPHRASE = savedPassphrase;
      await stopPostgres(PG_DATA).catch(() => undefined);
      rmSync(PG_DATA, { recursive: true, force: true });
      rmSync("/var/lib/globenet-lab/ci-apply-drift", { recursive: true, force: true });
      await new Promise<void>((r) => gl.server.close(() => r()));
    }
    console.log(`ci-apply-drift timings:\n${timings.map(([w, ms]) => `  ${w.padEnd(44)}${(ms / 1000).toFixed(1).padStart(7)} s`).join("\n")}`);
  }, 600_000);

  it("the lab comes up on the test's tree with its state in the lab's PostgreSQL, and the default branch is what it applied", async () => {
    const spy = vi.spyOn(console, "log").mockImplementation(() => undefined);
    try {
      expect(await timed("lab up (daemons + first apply)", () => labUp({ root: work, skipPackages: true, state: "postgres" }))).toBe(0);
    } finally {
      spy.mockRestore();
    }
    pgPassword = readFileSync(join(work, ".lab", "postgres", "password"), "utf8").trim();
    publish(DOMAIN, "Vélo CI");
    expect(page(DOMAIN)).toMatchObject({ status: 200, body: expect.stringContaining("Vélo CI") });
    // The stack's salt is in Pulumi.lab.yaml now (as prod's is committed): the default branch holds it.
    gitIn(root, "init", "-q", "--bare", "-b", "main", origin);
    gitIn(work, "init", "-q", "-b", "main");
    gitIn(work, "remote", "add", "origin", origin);
    gitIn(work, "add", "-A");
    gitIn(work, "commit", "-q", "-m", "base");
    gitIn(work, "push", "-q", "origin", "main");
    gitIn(root, "clone", "-q", "-b", "main", origin, prod);
    const cp = run("cp", ["-al", join(REPO_ROOT, "node_modules"), join(prod, "node_modules")]);
    if (cp.status !== 0) throw new Error(`cp -al node_modules: ${cp.stderr}`);
    writeProtectedVariables();
  }, 900_000);

  it("apply: a merge adding a site and a DNS record is converged on the lab's hosts by the apply job", async () => {
    tree = { ...tree, blog: true, txt: [...tree.txt, "ci-apply=merged"] };
    writeTree();
    merge("velo-ci: a blog, and a TXT record");
    const out = await job("apply");
    expect(out).toContain("npm ci --ignore-scripts");
    expect(out).toMatch(/guard: previewing stack lab before the update/);
    expect(out).toMatch(/up of lab: [^\n]*update \d+/);
    // On the real host: the new site's vhost serves its own folder, and the zone has the record.
    publish(BLOG, "Le blog du vélo");
    expect(page(BLOG)).toMatchObject({ status: 200, body: expect.stringContaining("Le blog du vélo") });
    expect(dig(DOMAIN, "TXT")).toContain('"ci-apply=merged"');
    // The stack's history records the merged commit, as the protected runner's checkout had it.
    const merged = gitIn(prod, "rev-parse", "HEAD");
    const h = await cli(["history", "--stack", "lab", "--root", work, "--limit", "1"]);
    expect(h.stdout).toMatch(new RegExp(`^#\\d+ .* update +succeeded .*commit ${merged.slice(0, 12)}`, "m"));
  }, 900_000);

  let issueIid = 0;
  it("drift: a hand edit of a vhost opens one issue naming the resource and the property; the next run updates it", async () => {
    const git = readFileSync(VHOST, "utf8");
    expect(git).toContain(`ServerName ${DOMAIN}`);
    // A volunteer, as root on the web host, adds an alias by hand.
    writeFileSync(VHOST, git.replace(`ServerName ${DOMAIN}`, `ServerName ${DOMAIN}\n    ServerAlias hand-edit.${DOMAIN}`));
    await job("drift");
    const open = gl.issues.filter((i) => i.state === "opened");
    expect(open).toHaveLength(1);
    const issue = open[0]!;
    issueIid = issue.iid;
    expect(issue.labels).toBe("drift");
    expect(issue.description.startsWith(DRIFT_MARKER)).toBe(true);
    expect(issue.title).toBe("Drift on stack lab: 1 resource(s) differ from git");
    // The resource and what of it drifted: the file set's files, and which file.
    expect(issue.description).toMatch(new RegExp(`update +globenet:files:FileSet lab-apache2\n +files: sites-available/${DOMAIN.replace(/\./g, "\\.")}\\.conf \\(changed on the host\\)\n`));
    const first = issue.description;

    await job("drift");
    expect(gl.issues).toHaveLength(1);
    expect(gl.requests.filter((q) => q.method === "POST" && q.path.endsWith("/issues"))).toHaveLength(1);
    expect(gl.requests.filter((q) => q.method === "PUT" && q.path.endsWith(`/issues/${issueIid}`)).length).toBeGreaterThanOrEqual(1);
    expect(gl.issues[0]?.state).toBe("opened");
    expect(gl.issues[0]?.description).not.toBe(first); // its time changed
  }, 900_000);

  it("drift: once up -- --refresh puts git's version back, the next drift run closes the issue", async () => {
    // A plain up compares git with the state, which the drift job's preview did not change: the hand edit stays.
    const plain = await timed("npm run up (volunteer)", () => cli(["up", "--stack", "lab", "--root", work]));
    expect(plain.status, plain.stderr + plain.stdout.slice(-3000)).toBe(0);
    expect(readFileSync(VHOST, "utf8")).toContain("hand-edit");
    const r = await timed("npm run up -- --refresh (volunteer)", () => cli(["up", "--stack", "lab", "--root", work, "--refresh"]));
    expect(r.status, r.stderr + r.stdout.slice(-3000)).toBe(0);
    expect(r.stdout).toMatch(/up of lab: [^\n]*update 1\b/);
    expect(readFileSync(VHOST, "utf8")).not.toContain("hand-edit");
    const out = await job("drift");
    expect(out).toMatch(/stack lab: no drift; drift issue #\d+ closed/);
    expect(gl.issues).toHaveLength(1);
    expect(gl.issues[0]).toMatchObject({ iid: issueIid, state: "closed" });
    expect(gl.issues[0]?.description).toMatch(/\*\*Resolved:\*\* the scheduled preview of `lab` on \S+ found the hosts match the repository again/);
    // The token only ever in the header; no secret in what the jobs posted or in what gitlab-ci-local kept of them.
    expect(gl.requests.every((q) => q.token === SECRET.token)).toBe(true);
    expect(secretsIn(JSON.stringify(gl.requests.map((q) => q.body ?? null)))).toEqual([]);
    const kept = filesUnder(join(prod, ".gitlab-ci-local"));
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.filter((f) => secretsIn(f.text).length > 0).map((f) => `${f.file}: ${secretsIn(f.text).join(", ")}`)).toEqual([]);
  }, 900_000);

  it("refresh: a zone record changed by hand shows in the state; the next up puts git's version back", async () => {
    const zoneFile = ZONE_FILE;
    expect(readFileSync(zoneFile, "utf8")).toContain("ci-apply=merged");
    // As applied, the state keeps the primary's zones' names and the manifest's digest, not each file's hash (the host has it).
    const before = (await stateExport()).find((r) => r.type === "globenet:files:FileSet" && String(r.outputs?.zoneNames ?? "").split("\n").includes(DOMAIN));
    expect(before).toBeDefined();
    expect(before?.outputs?.hashes).toBeUndefined();
    expect(before?.outputs?.tokenDigest).toMatch(/^[0-9a-f]{64}$/);
    const key = `zones/${DOMAIN}.zone`;
    const gitHash = sha256(readFileSync(zoneFile, "utf8"));
    // As root on the DNS host: the TXT record changed by hand.
    writeFileSync(zoneFile, readFileSync(zoneFile, "utf8").replace("ci-apply=merged", "ci-apply=by-hand"));
    const edited = readFileSync(zoneFile, "utf8");

    const r = await timed("npm run refresh", () => cli(["refresh", "--stack", "lab", "--root", work]));
    expect(r.status, r.stderr + r.stdout.slice(-3000)).toBe(0);
    expect(r.stdout).toMatch(/refresh of lab: [^\n]*update 1/);
    const after = (await stateExport()).find((x) => x.urn === before?.urn);
    // The refresh saw the host differ: each file's hash as the host has it, and no digest to hide the edit.
    const liveHash = (after?.outputs?.hashes as Record<string, string>)[key];
    expect(liveHash).not.toBe(gitHash);
    expect(liveHash).toBe(sha256(edited));
    expect(after?.outputs?.tokenDigest).toBeUndefined();

    const up = await timed("npm run up (volunteer)", () => cli(["up", "--stack", "lab", "--root", work]));
    expect(up.status, up.stderr + up.stdout.slice(-3000)).toBe(0);
    expect(readFileSync(zoneFile, "utf8")).toContain("ci-apply=merged");
    expect(readFileSync(zoneFile, "utf8")).not.toContain("ci-apply=by-hand");
    expect(dig(DOMAIN, "TXT")).toContain('"ci-apply=merged"');
    expect(dig(DOMAIN, "TXT")).not.toContain("by-hand");
  }, 900_000);
});
