import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { engineCommand } from "../lib/cli/engine";
import { stateCommand } from "../lib/cli/state";
import { openStack } from "../lib/lab/open-stack";
import { managedCount, resourcesOf, type DeploymentFile } from "../lib/state/compare";
import { backupAll } from "../lib/engine/state-ops";
import { migrateStack } from "../lib/lab/open-stack";
import { startPostgres, type PgServer } from "../lib/state/pg-server";
import { member, RealHosts, writeSmallTree } from "./helpers/small-tree";
import type { Sshd } from "./helpers/sshd";
import { freePort, requireRoot, requireTools, run } from "./helpers/tools";

/**
 * The stacks' state in a real PostgreSQL (Debian's postgresql 15, started by this test on
 * 127.0.0.1 as the postgres user, stopped afterwards), with the real engine applying a small
 * data tree to real sshd, Apache, PHP-FPM, BIND and MariaDB on 127.0.0.1 (as
 * tests/engine-e2e.test.ts): a stack migrated from the file backend, updates on PostgreSQL,
 * the lock under two concurrent updates and after a kill -9, backup and restore after the
 * table is dropped, and the history of the commits applied.
 */
const ok =
  requireTools("sshd", "ssh-keygen", "apache2ctl", "named", "named-checkzone", "dig", "curl", "php-fpm8.2", "mariadbd", "mariadb", "mariadb-dump", "useradd", "git", "setpriv") &&
  requireTools("/usr/lib/postgresql/15/bin/postgres", "/usr/lib/postgresql/15/bin/initdb", "/usr/lib/postgresql/15/bin/psql") &&
  requireRoot("the provider manages users and daemons on this machine; PostgreSQL runs as the postgres user");

const REPO = join(__dirname, "..");
const TSX = join(REPO, "node_modules", ".bin", "tsx");
const MEMBERS = ["velo-libre", "ondes", "tiers"];
const PG_PASSWORD = `state-test-${Math.random().toString(36).slice(2)}-pw`;

const NO_TLS = "state test without an ACME CA";

interface Ran {
  code: number | null;
  out: string;
  err: string;
}

/** A driver process (tests/helpers/state-runner.ts) loaded and waiting for "go" on stdin. */
interface Runner {
  go(): void;
  done: Promise<Ran>;
  pid: number;
  /** Its standard error so far. */
  err(): string;
}

async function readyRunner(args: string[]): Promise<Runner> {
  const child = spawn(TSX, [join(REPO, "tests", "helpers", "state-runner.ts"), ...args], { cwd: REPO, env: process.env, stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout?.on("data", (b: Buffer) => (out += b.toString()));
  child.stderr?.on("data", (b: Buffer) => (err += b.toString()));
  const done = new Promise<Ran>((r) => child.once("exit", (code) => r({ code, out, err })));
  const deadline = Date.now() + 120_000;
  while (!out.startsWith("ready")) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the driver process did not get ready:\n${out}\n${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { go: () => child.stdin?.write("go\n"), done, pid: child.pid as number, err: () => err };
}

/** Console output of an in-process command. */
async function captured(fn: () => Promise<number>): Promise<{ code: number; text: string }> {
  const lines: string[] = [];
  const log = vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => void lines.push(a.map(String).join(" ")));
  const err = vi.spyOn(console, "error").mockImplementation((...a: unknown[]) => void lines.push(a.map(String).join(" ")));
  try {
    const code = await fn();
    return { code, text: lines.join("\n") };
  } finally {
    log.mockRestore();
    err.mockRestore();
  }
}

/** Every process below `pid` (through /proc), children first found first. */
function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      /* gone */
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [c, pp] of parent) if (pp === p) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

const timings: Record<string, number> = {};
async function timed<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const t = Date.now();
  try {
    return await fn();
  } finally {
    timings[name] = (Date.now() - t) / 1000;
  }
}

describe.skipIf(!ok)("the stacks' state in PostgreSQL, with the real engine", () => {
  const hosts = new RealHosts();
  let sshd: Sshd;
  let pg: PgServer;
  let pgDir: string;
  let root: string;
  let archive: string;
  const savedEnv: Record<string, string | undefined> = {};
  const commits: Record<string, string> = {};

  const write = (rel: string, content: string) => {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), content);
  };
  const git = (...args: string[]) => {
    const r = run("git", ["-C", root, ...args]);
    if (r.status !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr}`);
    return r.stdout.trim();
  };
  const commit = (name: string, message: string) => {
    git("add", "-A", "members", "zones", "Pulumi.lab.yaml");
    git("commit", "-q", "-m", message);
    commits[name] = git("rev-parse", "HEAD");
  };
  const setEnv = (k: string, v: string | undefined) => {
    if (!(k in savedEnv)) savedEnv[k] = process.env[k];
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  };
  const lab = () => openStack({ stack: "lab", root });
  const stateRows = (like: string) => pg.psql(`SELECT count(*) FROM pulumi_state WHERE key LIKE '${like}';`, "globenet_state").stdout.trim();
  /**
   * Releases `a`, waits for its lock on stack lab, pauses its whole process tree (driver, Pulumi
   * CLI, provider) with SIGSTOP, runs `during`, then resumes it: the second update meets the
   * lock however fast or slow this machine is, where releasing both at once raced (on a loaded
   * CI machine the first could finish before the second asked for the lock).
   */
  const whileLockHeld = async <T>(a: Runner, during: () => Promise<T>): Promise<T> => {
    a.go();
    const deadline = Date.now() + 300_000;
    while (Number(stateRows("%.pulumi/locks/%/lab/%")) === 0) {
      const exited = await Promise.race([a.done.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 20))]);
      if (exited || Date.now() > deadline) throw new Error(`the first up never held the lock:\n${a.err()}`);
    }
    const tree = [a.pid, ...descendants(a.pid)];
    const signal = (sig: NodeJS.Signals) => {
      for (const pid of tree) {
        try {
          process.kill(pid, sig);
        } catch {
          /* already gone */
        }
      }
    };
    signal("SIGSTOP");
    try {
      return await during();
    } finally {
      signal("SIGCONT");
    }
  };

  beforeAll(async () => {
    await hosts.start();
    sshd = hosts.sshd as Sshd;
    pgDir = mkdtempSync(join(tmpdir(), "globenet-pg-"));
    // The postgres user must reach its data folder inside.
    chmodSync(pgDir, 0o711);
    pg = await startPostgres({ dataDir: join(pgDir, "data"), port: await freePort(), password: PG_PASSWORD });
    root = mkdtempSync(join(tmpdir(), "globenet-state-"));
    archive = join(root, "archive");
    writeSmallTree(root, sshd, archive, NO_TLS);
    write(".gitignore", ".lab/\narchive/\n");
    git("init", "-q", "-b", "main");
    git("config", "user.name", "Alice Bénévole");
    git("config", "user.email", "alice@globenet.test");
    git("add", ".gitignore");
    commit("first", "Add velo-libre and ondes\n\nSee merge request globenet/infra!12");
    // Every driver, in this process or a child, reaches the hosts with this key and the
    // database with this password (never in a URL, argv or log).
    setEnv("GLOBENET_SSH_KEY_FILE", sshd.keyFile);
    setEnv("PGPASSWORD", PG_PASSWORD);
    setEnv("PULUMI_BACKEND_URL", undefined);
    setEnv("CI_MERGE_REQUEST_IID", undefined);
    setEnv("GITLAB_USER_LOGIN", undefined);
  }, 600_000);

  afterAll(async () => {
    if (!hosts.owned) return;
    for (const [k, v] of Object.entries(savedEnv)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await pg?.stop().catch(() => undefined);
    await hosts.stop(MEMBERS);
    if (pgDir) rmSync(pgDir, { recursive: true, force: true });
    if (root) rmSync(root, { recursive: true, force: true });
    console.log(`[state-postgres] timings (s): ${JSON.stringify(timings)}`);
  }, 120_000);

  it("applies on the file backend, then migrates the stack to PostgreSQL: same resources, no-change preview", async () => {
    const up = await timed("file: first up", async () => (await lab()).up({ color: "never" }));
    expect(up.summary.resourceChanges?.create).toBeGreaterThanOrEqual(11);
    await timed("file: no-op preview", async () => (await lab()).preview({ color: "never", expectNoChanges: true }));
    await timed("file: no-op up", async () => (await lab()).up({ color: "never" }));
    const fileCount = managedCount((await (await lab()).exportStack()) as DeploymentFile);

    const said: string[] = [];
    const m = await timed("migrate file → postgres", () => migrateStack({ root, stack: "lab", to: pg.url, say: (s) => said.push(s) }));
    expect(m.resources).toBe(fileCount);
    expect(m.previewChanges).toBe(0);
    expect(said.join("\n")).toContain(`3. the target holds the same ${fileCount} resources, identical`);
    expect(said.join("\n")).toContain("4. preview on the target: no changes");
    expect(said.join("\n")).not.toContain(PG_PASSWORD);

    // From now on the lab stack's state is the database's.
    setEnv("PULUMI_BACKEND_URL", pg.url);
    const r = await timed("postgres: no-op preview", async () => (await lab()).preview({ color: "never", expectNoChanges: true }));
    expect(Object.keys(r.changeSummary).filter((k) => k !== "same")).toEqual([]);
    expect(Number(stateRows("%.pulumi/stacks/%/lab.json"))).toBeGreaterThanOrEqual(1);
    // The state in the table keeps the generated database password encrypted only.
    const blob = pg.psql(`SELECT data->>'data' FROM pulumi_state WHERE key LIKE '%.pulumi/stacks/%/lab.json';`, "globenet_state").stdout.trim();
    const state = Buffer.from(blob, "base64").toString("utf8");
    const cnf = readFileSync("/home/velo-libre/.my.cnf.d/velo_libre_db.cnf", "utf8");
    const password = /password\s*=\s*"?([^"\n]+)"?/.exec(cnf)?.[1] ?? "";
    expect(password.length).toBeGreaterThanOrEqual(24);
    expect(state).toContain("ciphertext");
    expect(state).not.toContain(password);
  }, 900_000);

  it("up on PostgreSQL applies a change and records the commit and its merge request", async () => {
    await timed("postgres: no-op up", async () => (await lab()).up({ color: "never" }));
    write("members/velo-libre/member.yaml", member("velo-libre", "velo-libre.test", ["www.velo-libre.test", "velo.velo-libre.test"], NO_TLS));
    commit("alias", "velo-libre: add velo.velo-libre.test (!13)");
    const up = await timed("postgres: up of a change (2 file sets)", async () => (await lab()).up({ color: "never" }));
    expect(up.summary.resourceChanges?.update).toBe(2);
    const page = run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Host: velo.velo-libre.test", "http://127.0.0.1:80/"]);
    expect(page.stdout).toMatch(/^[2-4]\d\d$/);
    const h = await (await lab()).history(1);
    expect(h[0]?.environment?.["git.head"]).toBe(commits.alias);
    expect(h[0]?.message).toContain(`commit ${commits.alias?.slice(0, 12)}, MR !13, by `);
  }, 600_000);

  it("two concurrent ups: exactly one applies, the other names the lock's holder; nothing is lost", async () => {
    write("members/ondes/member.yaml", member("ondes", "ondes.test", ["www.ondes.test"], NO_TLS));
    commit("race", "ondes: add www.ondes.test");
    const a = await readyRunner(["up", "--root", root]);
    const b = await readyRunner(["up", "--root", root]);
    const t = Date.now();
    // B starts while A holds the lock, whatever this machine's speed (A paused until B is done).
    const bDone = await whileLockHeld(a, async () => {
      b.go();
      return b.done;
    });
    const results = [await a.done, bDone];
    timings["two concurrent ups"] = (Date.now() - t) / 1000;
    const applied = results.filter((x) => x.code === 0);
    const refused = results.filter((x) => x.code !== 0);
    expect(applied, results.map((x) => `exit ${x.code}: ${x.err.slice(-2000)}`).join("\n---\n")).toHaveLength(1);
    expect(/up of lab: ([^(]*)/.exec(applied[0]?.out ?? "")?.[1]).toContain("update 2");
    expect(refused).toHaveLength(1);
    const msg = refused[0]?.err ?? "";
    expect(msg).toContain("stack lab is locked: another update holds it");
    expect(msg).toMatch(new RegExp(`held by \\S+@${hostname().replace(/\./g, "\\.")}, pid \\d+, since \\d{4}-\\d\\d-\\d\\dT`));
    expect(msg).toContain("--lock-wait");
    expect(msg).not.toContain(PG_PASSWORD);
    // Nothing lost: the state is whole and the hosts match it.
    const p = await (await lab()).preview({ color: "never", expectNoChanges: true });
    expect(Object.keys(p.changeSummary).filter((k) => k !== "same")).toEqual([]);
    expect(run("dig", ["+short", "-p", String(hosts.bindPort), "@127.0.0.1", "www.ondes.test", "A"]).stdout.trim()).toBe("127.0.0.1");
  }, 600_000);

  it("with --lock-wait the second up waits for the first instead of failing", async () => {
    write("zones/ondes.test.yaml", 'owner: ondes\nrecords:\n  - { name: "@", type: TXT, value: "v=spf1 -all" }\n');
    commit("wait", "ondes: SPF record");
    const a = await readyRunner(["up", "--root", root, "--lock-wait", "300"]);
    const b = await readyRunner(["up", "--root", root, "--lock-wait", "300"]);
    // B starts while A holds the lock and A resumes once B says it waits.
    await whileLockHeld(a, async () => {
      b.go();
      const deadline = Date.now() + 120_000;
      while (!/waiting \(\d+ s of at most 300 s\)/.test(b.err())) {
        if (Date.now() > deadline) throw new Error(`the second up never said it waits:\n${b.err()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    });
    const results = await Promise.all([a.done, b.done]);
    expect(results.map((x) => x.code), results.map((x) => `exit ${x.code}: ${x.err.slice(-2000)}`).join("\n---\n")).toEqual([0, 0]);
    const summaries = results.map((x) => /up of lab: ([^(]*)/.exec(x.out)?.[1]?.trim() ?? "").sort();
    expect(summaries.filter((s) => s.includes("update 1"))).toHaveLength(1);
    expect(summaries.filter((s) => !s.includes("update"))).toHaveLength(1);
    expect(results.map((x) => x.err).join("\n")).toMatch(/up: stack lab is locked by \S+ \(pid \d+, since [^)]+\); waiting \(\d+ s of at most 300 s\)/);
  }, 600_000);

  it("kill -9 of the driver mid-up: the next run reports the stale lock; the documented recovery converges", async () => {
    write("members/tiers/member.yaml", member("tiers", "tiers.test", [], NO_TLS));
    write("zones/tiers.test.yaml", "owner: tiers\n");
    commit("killed", "Add tiers");
    const child: ChildProcess = spawn(TSX, [join(REPO, "lib", "cli", "main.ts"), "up", "--root", root], { cwd: REPO, env: process.env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout?.on("data", (b: Buffer) => (out += b.toString()));
    child.stderr?.on("data", (b: Buffer) => (out += b.toString()));
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    const deadline = Date.now() + 300_000;
    while (!/globenet:\S+\s+\S+\s+creating/.test(out)) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the up never started creating:\n${out}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    // A moment for the engine to record the step as pending (it does so as the step starts).
    await new Promise((r) => setTimeout(r, 300));
    // The whole driver, as when a CI job is killed: node, the Pulumi CLI it runs, the provider.
    const tree = descendants(child.pid as number);
    for (const pid of [child.pid as number, ...tree]) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        /* already gone */
      }
    }
    await exited;
    expect(tree.length).toBeGreaterThanOrEqual(2);
    const keys = pg.psql("SELECT key FROM pulumi_state ORDER BY key;", "globenet_state").stdout;
    expect(keys.split("\n").filter((k) => /\.pulumi\/locks\/.*\/lab\/[^/]+\.json$/.test(k)), keys).toHaveLength(1);

    const next = await captured(() => engineCommand("up", ["--root", root]));
    expect(next.code).toBe(1);
    expect(next.text).toContain("stack lab is locked");
    expect(next.text).toContain("that process no longer runs here: the lock is stale");
    expect(next.text).toContain("npm run state -- recover");

    const rec = await timed("recover", () => captured(() => stateCommand(["recover", "--root", root])));
    expect(rec.text).toContain("removed 1 lock(s)");
    expect(rec.code, rec.text).toBe(0);
    // How many operations the kill left pending (0 when it fell between two steps): reported, not required.
    timings["kill -9: operations left pending"] = Number(/(\d+) operation\(s\) left pending/.exec(rec.text)?.[1] ?? 0);
    expect(Number(stateRows("%.pulumi/locks/%/lab/%"))).toBe(0);

    const up = await captured(() => engineCommand("up", ["--root", root]));
    expect(up.code, `${rec.text}\n${up.text}`).toBe(0);
    const prev = await captured(() => engineCommand("preview", ["--root", root, "--expect-no-changes"]));
    expect(prev.code, prev.text).toBe(0);
    // No resource lost or twice: every member's account and database once, the host has them.
    const urns = resourcesOf((await (await lab()).exportStack()) as DeploymentFile).map((r) => r.urn);
    expect(new Set(urns).size).toBe(urns.length);
    for (const m of MEMBERS) {
      expect(urns.filter((u) => u.endsWith(`globenet:hosting:Account::${m}`))).toHaveLength(1);
      expect(urns.filter((u) => u.endsWith(`globenet:db:Database::${m.replace(/-/g, "_")}_db`))).toHaveLength(1);
      expect(run("id", [m]).status).toBe(0);
    }
    expect(hosts.db?.exec("SHOW DATABASES").stdout).toContain("tiers_db");
  }, 900_000);

  it("history shows, for the last updates, the commit that was applied and its merge request", async () => {
    const h = await captured(() => engineCommand("history", ["--root", root, "--limit", "8"]));
    expect(h.code).toBe(0);
    const lines = h.text.split("\n").filter((l) => l.startsWith("#"));
    const applied = lines.filter((l) => / update +succeeded/.test(l));
    const heads = applied.map((l) => /commit ([0-9a-f]{12})/.exec(l)?.[1]);
    for (const c of ["killed", "wait", "race", "alias"]) expect(heads).toContain(commits[c]?.slice(0, 12));
    expect(applied.find((l) => l.includes(commits.alias?.slice(0, 12) as string))).toContain("MR !13");
    expect(applied.find((l) => l.includes(commits.killed?.slice(0, 12) as string))).toContain('"Add tiers"');
  }, 300_000);

  it("backup, drop the table, restore: the preview finds nothing to change", async () => {
    const dir = join(root, "backups");
    const said: string[] = [];
    const b = await timed("backup", () => backupAll({ root, stack: "lab", dir, say: (s) => said.push(s) }));
    expect(b.files.map((f) => f.stack)).toEqual(["lab"]);
    const file = b.files[0]?.file as string;
    expect(file).toMatch(/lab-\d{8}T\d{6}Z\.json$/);
    const text = readFileSync(file, "utf8");
    const cnf = readFileSync("/home/tiers/.my.cnf.d/tiers_db.cnf", "utf8");
    expect(text).toContain("ciphertext");
    expect(text).not.toContain(/password\s*=\s*"?([^"\n]+)"?/.exec(cnf)?.[1] ?? "no password?");
    const before = managedCount(JSON.parse(text) as DeploymentFile);
    const all = resourcesOf(JSON.parse(text) as DeploymentFile).length;

    const drop = pg.psql("DROP TABLE pulumi_state;", "globenet_state");
    expect(drop.status).toBe(0);
    const status = await captured(() => stateCommand(["status", "--root", root]));
    expect(status.text).toContain("stacks there: none");

    const dry = await captured(() => stateCommand(["restore", file, "--root", root]));
    expect(dry.code).toBe(0);
    expect(dry.text).toContain(`brought back (${all})`);
    expect(dry.text).toContain("nothing changed. To put the file back");

    const res = await timed("restore", () => captured(() => stateCommand(["restore", file, "--root", root, "--yes"])));
    expect(res.code).toBe(0);
    expect(res.text).toContain(`restored: stack lab holds the file's ${before} resources`);
    const prev = await captured(() => engineCommand("preview", ["--root", root, "--expect-no-changes"]));
    expect(prev.code, prev.text).toBe(0);
    expect(readdirSync(dir).filter((f) => f.includes("before-restore"))).toEqual([]);
    // The table's history went with it; the backup kept it beside the state, for the audit.
    const kept = JSON.parse(readFileSync(file.replace(/\.json$/, ".history.json"), "utf8")) as Array<{ environment?: Record<string, string> }>;
    expect(kept.map((u) => u.environment?.["git.head"])).toContain(commits.killed);
  }, 600_000);

});
