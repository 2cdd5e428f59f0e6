/**
 * Real Apache, BIND and PHP-FPM on 127.0.0.1 for the provider's file-set tests.
 *
 * The provider edits the machine's own configuration (/etc/apache2, /etc/bind/named.conf.local,
 * /etc/php/<v>/fpm/php-fpm.conf) and reloads the daemons that read it, so these daemons run
 * from the machine's real configuration, moved onto loopback ports:
 * - `snapshotPaths` copies what the test may change and puts it back afterwards (call it
 *   before starting anything, restore after stopping everything);
 * - Apache: ports.conf becomes `Listen 127.0.0.1:<port>`, then `apache2ctl start`;
 * - BIND: `named -g -u bind -c <temp conf>` listening on 127.0.0.1:<port>, including
 *   /etc/bind/named.conf.local (where the provider wires its include), controlled through
 *   /etc/bind/rndc.conf on a free control port with the machine's rndc key (rndc-confgen -a
 *   makes one when missing), so the provider's plain `rndc` talks to this named;
 * - PHP-FPM: `php-fpm<v> --nodaemonize --fpm-config /etc/php/<v>/fpm/php-fpm.conf`.
 * Every daemon is stopped by its PID. Refuses to start when one already runs from the same
 * configuration (it would be a lab's or another test's).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chownSync, chmodSync, closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { findTool, freePort, run } from "./tools";

export { freePort };


export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns a truthy value; throws with `what` (and the last value) on timeout. */
export async function waitFor<T>(what: string, probe: () => T | Promise<T>, timeoutMs = 15_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await probe();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
    await sleep(everyMs);
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function pidFrom(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const n = Number(readFileSync(file, "utf8").trim());
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
async function stopPid(pid: number, graceMs = 10_000): Promise<void> {
  if (!pidAlive(pid)) return;
  process.kill(pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (pidAlive(pid) && Date.now() < deadline) await sleep(50);
  if (pidAlive(pid)) {
    process.kill(pid, "SIGKILL");
    while (pidAlive(pid)) await sleep(50);
  }
}

async function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((r) => child.once("exit", () => r()));
  child.kill("SIGTERM");
  const t = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await gone;
  clearTimeout(t);
}

// ─────────────────────────────────────── snapshots of /etc etc. ───────────────────────────────────────

export interface Snapshot {
  /** Puts every path back as it was (removing those that did not exist). Idempotent. */
  restore(): void;
}

/** Copies each path (if it exists) with `cp -a`; `restore` removes the path and copies it back. */
export function snapshotPaths(paths: readonly string[]): Snapshot {
  const dir = mkdtempSync("/tmp/globenet-snapshot-");
  const saved = new Map<string, string | undefined>();
  paths.forEach((p, i) => {
    if (existsSync(p)) {
      const copy = join(dir, String(i));
      const r = run("cp", ["-a", p, copy]);
      if (r.status !== 0) throw new Error(`cannot snapshot ${p}: ${r.stderr}`);
      saved.set(p, copy);
    } else saved.set(p, undefined);
  });
  let restored = false;
  return {
    restore() {
      if (restored) return;
      const problems: string[] = [];
      for (const [p, copy] of saved) {
        rmSync(p, { recursive: true, force: true });
        if (copy) {
          const r = run("cp", ["-a", copy, p]);
          if (r.status !== 0) problems.push(`${p}: ${r.stderr}`);
        }
      }
      if (problems.length > 0) throw new Error(`could not restore (the copies are kept in ${dir}):\n${problems.join("\n")}`);
      rmSync(dir, { recursive: true, force: true });
      restored = true;
    },
  };
}

// ─────────────────────────────────────────────── Apache ───────────────────────────────────────────────

export interface Daemon {
  pid: number;
  stop(): Promise<void>;
}

export interface Apache extends Daemon {
  port: number;
  /** The master's PID now (a restart for an MPM change makes a new master). */
  currentPid(): number | undefined;
}

function apachePidFile(): string {
  const r = spawnSync("bash", ["-c", '. /etc/apache2/envvars >/dev/null 2>&1; echo "${APACHE_PID_FILE:-/var/run/apache2/apache2.pid}"'], { encoding: "utf8", env: { ...process.env, APACHE_CONFDIR: "" } });
  return (r.stdout ?? "").trim() || "/var/run/apache2/apache2.pid";
}

/** The machine's Apache (real /etc/apache2) listening on 127.0.0.1:<port> only. Overwrites ports.conf: snapshot /etc/apache2 first. */
export async function startApache(port: number): Promise<Apache> {
  const ctl = findTool("apache2ctl");
  if (!ctl) throw new Error("apache2ctl not found: install apache2");
  const pidFile = apachePidFile();
  const running = pidFrom(pidFile);
  if (running && pidAlive(running) && comm(running).startsWith("apache2")) {
    throw new Error(`an Apache from /etc/apache2 already runs (pid ${running}, ${pidFile}): stop it before this test, which reconfigures that Apache`);
  }
  writeFileSync("/etc/apache2/ports.conf", `# globenet-infra test: loopback only (restored after the test)\nListen 127.0.0.1:${port}\n`);
  const logFile = join(mkdtempSync("/tmp/globenet-apache-start-"), "start.log");
  const fd = openSync(logFile, "w");
  // Apache daemonizes: its output goes to a file so no pipe is held open.
  const r = spawnSync(ctl, ["start"], { stdio: ["ignore", fd, fd], env: { ...process.env, APACHE_CONFDIR: "" }, timeout: 60_000 });
  closeSync(fd);
  const log = readFileSync(logFile, "utf8");
  if (r.status !== 0) throw new Error(`apache2ctl start failed (exit ${r.status}):\n${log}`);
  const pid: number = await waitFor(`Apache's pid file ${pidFile}`, () => {
    const p = pidFrom(pidFile);
    return p !== undefined && pidAlive(p) ? p : 0;
  });
  await waitFor(`Apache on 127.0.0.1:${port}`, () => run("curl", ["-s", "-o", "/dev/null", "-m", "2", `http://127.0.0.1:${port}/`]).status === 0);
  return {
    port,
    pid,
    currentPid() {
      const now = pidFrom(pidFile);
      return now !== undefined && pidAlive(now) && comm(now).startsWith("apache2") ? now : undefined;
    },
    async stop() {
      await stopPid(pid);
      // graceful keeps the master's pid; a restart from the provider (if ours died) would not.
      const now = pidFrom(pidFile);
      if (now && now !== pid && pidAlive(now) && comm(now).startsWith("apache2")) await stopPid(now);
      rmSync(join(logFile, ".."), { recursive: true, force: true });
    },
  };
}

// ──────────────────────────────────────────────── BIND ────────────────────────────────────────────────

export interface Bind extends Daemon {
  port: number;
  controlPort: number;
  /** named's own output (-g), for failure messages. */
  log(): string;
}

function bindIds(): { uid: number; gid: number } {
  const uid = Number(run("id", ["-u", "bind"]).stdout.trim());
  const gid = Number(run("id", ["-g", "bind"]).stdout.trim());
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new Error("no unix user bind: install bind9");
  return { uid, gid };
}

/**
 * named as user bind on 127.0.0.1:<port>, reading /etc/bind/named.conf.local, with rndc on
 * a free control port; writes /etc/bind/rndc.conf so plain `rndc` reaches it (snapshot /etc/bind first).
 */
export async function startBind(): Promise<Bind> {
  const named = findTool("named");
  const rndc = findTool("rndc");
  if (!named || !rndc) throw new Error("named/rndc not found: install bind9 bind9-utils");
  if (!existsSync("/etc/bind/rndc.key")) {
    const g = run(findTool("rndc-confgen") ?? "rndc-confgen", ["-a"]);
    if (g.status !== 0) throw new Error(`rndc-confgen -a failed: ${g.stderr}`);
  }
  const probe = run(rndc, ["status"], { timeoutMs: 10_000 });
  if (probe.status === 0) throw new Error("an existing named answers rndc: stop it before this test, which reconfigures it");
  const [port, controlPort] = [await freePort(), await freePort()];
  const dir = mkdtempSync("/tmp/globenet-named-");
  const { uid, gid } = bindIds();
  chmodSync(dir, 0o755);
  chownSync(dir, uid, gid);
  const conf = join(dir, "named.conf");
  writeFileSync(
    conf,
    [
      "// globenet-infra test named",
      "options {",
      `  directory "${dir}";`,
      `  pid-file "${dir}/named.pid";`,
      `  listen-on port ${port} { 127.0.0.1; };`,
      "  listen-on-v6 { none; };",
      "  recursion no;",
      "  dnssec-validation no;",
      "};",
      'include "/etc/bind/rndc.key";',
      `controls { inet 127.0.0.1 port ${controlPort} allow { 127.0.0.1; } keys { "rndc-key"; }; };`,
      'include "/etc/bind/named.conf.local";',
      "",
    ].join("\n"),
  );
  chmodSync(conf, 0o644);
  writeFileSync(
    "/etc/bind/rndc.conf",
    ['// globenet-infra test (restored after the test)', 'include "/etc/bind/rndc.key";', `options { default-key "rndc-key"; default-server 127.0.0.1; default-port ${controlPort}; };`, ""].join("\n"),
  );
  const child = spawn(named, ["-g", "-u", "bind", "-c", conf], { stdio: ["ignore", "ignore", "pipe"] });
  let out = "";
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  try {
    await waitFor("named to answer rndc status", () => {
      if (child.exitCode !== null) throw new Error(`named exited (${child.exitCode}):\n${out}`);
      return run(rndc, ["status"], { timeoutMs: 5_000 }).status === 0;
    });
  } catch (e) {
    await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    port,
    controlPort,
    pid: child.pid ?? 0,
    log: () => out,
    async stop() {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ────────────────────────────────────────────── PHP-FPM ───────────────────────────────────────────────

/** php-fpm<v> in the foreground from the real /etc/php/<v>/fpm/php-fpm.conf (it writes its usual pid file, which the provider signals). */
export async function startFpm(version = "8.2"): Promise<Daemon> {
  const bin = findTool(`php-fpm${version}`);
  if (!bin) throw new Error(`php-fpm${version} not found: install php${version}-fpm`);
  const pidFile = `/run/php/php${version}-fpm.pid`;
  const running = pidFrom(pidFile);
  if (running && pidAlive(running) && comm(running).startsWith("php-fpm")) {
    throw new Error(`a php-fpm${version} already runs (pid ${running}): stop it before this test, which reconfigures it`);
  }
  run("install", ["-d", "-m", "0755", "/run/php"]);
  const child = spawn(bin, ["--nodaemonize", "--fpm-config", `/etc/php/${version}/fpm/php-fpm.conf`], { stdio: ["ignore", "ignore", "pipe"] });
  let out = "";
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  try {
    await waitFor(`php-fpm${version}'s pid file`, () => {
      if (child.exitCode !== null) throw new Error(`php-fpm${version} exited (${child.exitCode}):\n${out}`);
      return pidFrom(pidFile) === child.pid;
    });
  } catch (e) {
    await stopChild(child);
    throw e;
  }
  return {
    pid: child.pid ?? 0,
    async stop() {
      await stopChild(child);
      // None ran before (refused above): one the pid file names now was started during the test
      // (the provider starts FPM when it finds none, after ours died), and must not outlive it:
      // every later test that needs PHP-FPM would refuse to start beside it.
      const now = pidFrom(pidFile);
      if (now && now !== child.pid && pidAlive(now) && comm(now).startsWith("php-fpm")) await stopPid(now);
    },
  };
}
