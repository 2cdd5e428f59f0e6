/**
 * A throwaway MariaDB server for one test (file): its own datadir under /tmp, its own Unix
 * socket, no TCP unless asked, started directly (not through mysqld_safe) so the test holds
 * its PID, and removed with everything it wrote by `stop()`.
 *
 *   const db = await startMariaDB();
 *   db.exec("CREATE DATABASE velo_wp");                       // as root (unix_socket auth)
 *   db.exec("SELECT 1", { user: "velo_wp", password, database: "velo_wp" });
 *   await db.stop();
 *
 * Needs root (mariadbd switches to the `mysql` user itself) and the Debian packages
 * mariadb-server and mariadb-client. Works on a machine where MariaDB was never started:
 * nothing under /etc/mysql, /var/lib/mysql or /run/mysqld is read or written (`--no-defaults`).
 *
 * Accounts: the server has root@localhost with unix_socket authentication only (as on Debian),
 * so `exec` without `user` works when the test runs as OS root. Connections over the socket
 * match accounts `@'localhost'`, which is what our SQL creates; with `tcp: true` the server
 * also listens on 127.0.0.1 (accounts `@'127.0.0.1'` then match TCP clients).
 *
 * Passwords never reach argv: each `exec` writes a temporary option file (mode 0600) with the
 * socket, user and password, passed as `--defaults-file`, and the SQL goes on stdin.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { findTool, freePort, run, type RunResult } from "./tools";

export interface ExecOptions {
  /** MariaDB account; default root (unix_socket auth: the test must run as OS root). */
  user?: string;
  password?: string;
  database?: string;
  /** Print column names (default: batch output without them, one row per line, tab-separated). */
  columnNames?: boolean;
  /** Connect over TCP to 127.0.0.1:port instead of the socket (needs `tcp: true` at start). */
  tcp?: boolean;
  timeoutMs?: number;
}

export interface MariaDB {
  /** The server's Unix socket. */
  socket: string;
  /** TCP port on 127.0.0.1 when started with `tcp: true`. */
  port?: number;
  /** The server's PID (mariadbd itself). */
  pid: number;
  /** Temp dir holding datadir, socket, pid file and error log; removed by stop(). */
  dir: string;
  /**
   * Runs SQL (on stdin) with the `mariadb` client; stops at the first error (status 1).
   * Output is `--batch`: tab-separated rows, no column names unless asked.
   */
  exec(sql: string, opts?: ExecOptions): RunResult;
  /** The last lines of the server's error log (for messages). */
  logTail(lines?: number): string;
  /** Stops the server by PID (SIGTERM, then SIGKILL after 30 s), waits, removes the temp dir. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Also listen on 127.0.0.1 on a free port. Default: Unix socket only (--skip-networking). */
  tcp?: boolean;
  /** How long to wait for the server to answer `select 1`. Default 60 s. */
  startTimeoutMs?: number;
  /** Extra server options, e.g. ["--max-connections=20"]. */
  serverArgs?: string[];
  /** Listen on this address, port 3306, as a db host does (with `wrap`: in that host's namespace). */
  bindAddress?: string;
  /** Runs mariadbd through this, e.g. lib/lab/netns.ts's onHost (nsenter execs: the PID stays the server's). */
  wrap?: (cmd: string, args: string[]) => [string, string[]];
}

/** Servers still running in this process: killed if the process exits without stop(). */
const live = new Map<number, { child: ChildProcess; dir: string }>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const [pid, { dir }] of live) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        /* already gone */
      }
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        /* best effort */
      }
    }
  });
}

function lookupId(flag: "-u" | "-g", user: string): number {
  const r = run("id", [flag, user], { timeoutMs: 5_000 });
  const n = Number(r.stdout.trim());
  if (r.status !== 0 || !Number.isInteger(n)) {
    throw new Error(`no "${user}" system user (is the Debian package mariadb-server installed?): ${r.stderr.trim()}`);
  }
  return n;
}


const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A value in a MariaDB option file: quoted, with \ and " escaped; no line breaks allowed. */
function optionValue(v: string, what: string): string {
  if (/[\r\n\0]/.test(v)) throw new Error(`${what} must not contain line breaks or NUL`);
  return `"${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

function tail(text: string, lines: number): string {
  return text.split("\n").slice(-lines - 1).join("\n").trim();
}

export async function startMariaDB(opts: StartOptions = {}): Promise<MariaDB> {
  const server = findTool("mariadbd") ?? findTool("mysqld");
  const installDb = findTool("mariadb-install-db") ?? findTool("mysql_install_db");
  const client = findTool("mariadb") ?? findTool("mysql");
  if (!server || !installDb) throw new Error("mariadbd/mariadb-install-db not found: install the Debian package mariadb-server");
  if (!client) throw new Error("the mariadb client was not found: install the Debian package mariadb-client");
  if (typeof process.getuid !== "function" || process.getuid() !== 0) {
    throw new Error("startMariaDB needs root (mariadbd --user=mysql, root@localhost via unix_socket)");
  }
  const uid = lookupId("-u", "mysql");
  const gid = lookupId("-g", "mysql");

  const dir = mkdtempSync("/tmp/globenet-mariadb-");
  chownSync(dir, uid, gid); // mkdtemp makes it 0700: mariadbd (as mysql) must get in
  const datadir = join(dir, "data");
  const socket = join(dir, "mysqld.sock");
  const pidFile = join(dir, "mysqld.pid");
  const errorLog = join(dir, "error.log");
  const readLog = (lines = 30): string => {
    try {
      return tail(readFileSync(errorLog, "utf8"), lines);
    } catch {
      return "(no error log)";
    }
  };

  let child: ChildProcess | undefined;
  try {
    const inst = run(
      installDb,
      [
        "--no-defaults",
        "--user=mysql",
        `--datadir=${datadir}`,
        "--auth-root-authentication-method=socket",
        "--skip-test-db",
      ],
      { timeoutMs: 120_000 },
    );
    if (inst.status !== 0) {
      throw new Error(`mariadb-install-db failed (status ${inst.status}):\n${tail(inst.stdout + "\n" + inst.stderr, 30)}`);
    }

    const port = opts.tcp ? await freePort() : undefined;
    const args = [
      "--no-defaults", // must come first: ignore /etc/mysql entirely
      "--user=mysql",
      `--datadir=${datadir}`,
      `--socket=${socket}`,
      `--pid-file=${pidFile}`,
      `--log-error=${errorLog}`,
      ...(opts.bindAddress ? [`--bind-address=${opts.bindAddress}`, "--port=3306", "--skip-name-resolve"] : port ? ["--bind-address=127.0.0.1", `--port=${port}`] : ["--skip-networking"]),
      "--innodb-buffer-pool-size=32M",
      ...(opts.serverArgs ?? []),
    ];
    const [cmd, argv] = opts.wrap ? opts.wrap(server, args) : [server, args];
    const proc = spawn(cmd, argv, { stdio: ["ignore", "pipe", "pipe"] });
    child = proc;
    const pid = proc.pid ?? -1;
    let early = "";
    proc.stdout?.on("data", (b: Buffer) => (early = (early + b.toString()).slice(-8_000)));
    proc.stderr?.on("data", (b: Buffer) => (early = (early + b.toString()).slice(-8_000)));
    let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    const exitPromise = new Promise<void>((resolve) =>
      proc.once("exit", (code, signal) => {
        exited = { code, signal };
        live.delete(pid);
        resolve();
      }),
    );
    const spawnError = new Promise<Error>((resolve) => proc.once("error", resolve));
    let failedToSpawn: Error | undefined;
    void spawnError.then((e) => (failedToSpawn = e));
    if (pid > 0) {
      installExitHook();
      live.set(pid, { child: proc, dir });
    }

    let optCounter = 0;
    const exec = (sql: string, o: ExecOptions = {}): RunResult => {
      const lines = ["[client]"];
      if (o.tcp) {
        if (!port) throw new Error("exec({ tcp: true }) needs startMariaDB({ tcp: true })");
        lines.push("protocol=TCP", "host=127.0.0.1", `port=${port}`);
      } else {
        lines.push(`socket=${optionValue(socket, "socket")}`);
      }
      lines.push(`user=${optionValue(o.user ?? "root", "user")}`);
      if (o.password !== undefined) lines.push(`password=${optionValue(o.password, "password")}`);
      const cnf = join(dir, `client-${process.pid}-${++optCounter}.cnf`);
      writeFileSync(cnf, lines.join("\n") + "\n", { mode: 0o600, flag: "wx" });
      try {
        const args = [`--defaults-file=${cnf}`, "--batch", "--connect-timeout=10"];
        if (!o.columnNames) args.push("--skip-column-names");
        if (o.database) args.push(`--database=${o.database}`);
        return run(client, args, { input: sql, timeoutMs: o.timeoutMs ?? 60_000 });
      } finally {
        try {
          unlinkSync(cnf);
        } catch {
          /* already gone */
        }
      }
    };

    const deadline = Date.now() + (opts.startTimeoutMs ?? 60_000);
    let last: RunResult | undefined;
    for (;;) {
      if (failedToSpawn) throw new Error(`could not start ${server}: ${failedToSpawn.message}`);
      if (exited) {
        throw new Error(
          `mariadbd exited during start-up (code ${exited.code}, signal ${exited.signal}).\n` +
            `--- server output ---\n${tail(early, 20)}\n--- error log (${errorLog}) ---\n${readLog()}`,
        );
      }
      if (existsSync(socket)) {
        last = exec("select 1", { timeoutMs: 10_000 });
        if (last.status === 0 && last.stdout.trim() === "1") break;
      }
      if (Date.now() > deadline) {
        throw new Error(
          `mariadbd did not answer "select 1" within ${opts.startTimeoutMs ?? 60_000} ms` +
            (last ? ` (last client error: ${last.stderr.trim()})` : " (socket never appeared)") +
            `\n--- error log (${errorLog}) ---\n${readLog()}`,
        );
      }
      await sleep(100);
    }

    let stopped = false;
    const stop = async (): Promise<void> => {
      if (stopped) return;
      stopped = true;
      if (!exited) {
        try {
          proc.kill("SIGTERM");
        } catch {
          /* gone */
        }
        const killed = await Promise.race([exitPromise.then(() => true), sleep(30_000).then(() => false)]);
        if (!killed) {
          try {
            proc.kill("SIGKILL");
          } catch {
            /* gone */
          }
          await Promise.race([exitPromise, sleep(10_000)]);
        }
      }
      live.delete(pid);
      rmSync(dir, { recursive: true, force: true });
    };

    const db: MariaDB = { socket, pid, dir, exec, logTail: readLog, stop };
    if (port) db.port = port;
    return db;
  } catch (e) {
    // Leave nothing behind when start-up fails.
    if (child && child.exitCode === null && child.signalCode === null) {
      const gone = new Promise<void>((r) => child?.once("exit", () => r()));
      child.kill("SIGKILL");
      await Promise.race([gone, sleep(10_000)]);
    }
    if (child?.pid) live.delete(child.pid);
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
