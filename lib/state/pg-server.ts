/**
 * A PostgreSQL server of our own on 127.0.0.1, for the lab's shared-state option
 * (`npm run lab -- --state postgres`) and the tests: Debian's `postgresql` 15 started by
 * hand (no systemd), as the `postgres` user, listening on 127.0.0.1 only, with its unix
 * socket inside its data folder.
 *
 * - `initdb` with local connections by peer (the postgres OS user administers it over the
 *   socket) and TCP connections by SCRAM password only;
 * - one login role and one database for Pulumi's state; the role's password is set as a
 *   SCRAM verifier computed here, so the clear password never reaches the server, its logs
 *   or any command line;
 * - the server itself is started with `setpriv` (so its PID is the postmaster's) in its own
 *   session, its output in `<data>/server.log`.
 */
import { spawn, spawnSync } from "node:child_process";
import { createHash, createHmac, pbkdf2Sync, randomBytes } from "node:crypto";
import { chownSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync } from "node:fs";
import { connect } from "node:net";
import { dirname, join } from "node:path";

export class PgServerError extends Error {}

export const STATE_ROLE = "globenet_state";
export const STATE_DATABASE = "globenet_state";

/** The newest PostgreSQL server binaries Debian installed (/usr/lib/postgresql/<v>/bin). */
export function pgBinDir(): string | undefined {
  const base = "/usr/lib/postgresql";
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base)
    .filter((v) => /^\d+$/.test(v) && existsSync(join(base, v, "bin", "postgres")))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(base, versions[0], "bin") : undefined;
}

function needBin(name: string): string {
  const dir = pgBinDir();
  if (!dir) throw new PgServerError(`PostgreSQL's server is not installed (no /usr/lib/postgresql/<version>/bin/postgres): install the Debian package postgresql (bash scripts/ensure-debs.sh)`);
  return join(dir, name);
}

function postgresIds(): { uid: number; gid: number } {
  const r = spawnSync("id", ["-u", "postgres"], { encoding: "utf8" });
  const g = spawnSync("id", ["-g", "postgres"], { encoding: "utf8" });
  if (r.status !== 0 || g.status !== 0) throw new PgServerError("there is no postgres user on this machine: install the Debian package postgresql (it creates it)");
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

/** Runs a PostgreSQL program as the postgres user (never through a shell). */
function asPostgres(bin: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync("setpriv", ["--reuid=postgres", "--regid=postgres", "--init-groups", "--", bin, ...args], {
    encoding: "utf8",
    input: opts.input ?? "",
    timeout: opts.timeoutMs ?? 60_000,
    cwd: "/",
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C.UTF-8", LC_ALL: "C.UTF-8" },
  });
  return { status: r.error ? null : r.status, stdout: r.stdout ?? "", stderr: (r.stderr ?? "") + (r.error ? `\n${r.error.message}` : "") };
}

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for a password (RFC 5802/7677, as
 * `ALTER ROLE … PASSWORD` accepts it already hashed).
 */
export function scramVerifier(password: string, salt = randomBytes(16), iterations = 4096): string {
  const salted = pbkdf2Sync(password.normalize("NFKC"), salt, iterations, 32, "sha256");
  const clientKey = createHmac("sha256", salted).update("Client Key").digest();
  const storedKey = createHash("sha256").update(clientKey).digest();
  const serverKey = createHmac("sha256", salted).update("Server Key").digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString("base64")}$${storedKey.toString("base64")}:${serverKey.toString("base64")}`;
}

export function tcpOpen(port: number, host = "127.0.0.1", timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once("connect", () => done(true));
    s.once("error", () => done(false));
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface PgServerOptions {
  /** The data folder (created and given to postgres when missing; initdb when empty). */
  dataDir: string;
  port: number;
  /** The state role's password (set at every start, so the caller's copy is always right). */
  password: string;
  role?: string;
  database?: string;
}

export interface PgServer {
  port: number;
  pid: number;
  dataDir: string;
  /** postgres://<role>@127.0.0.1:<port>/<db>?sslmode=disable — no password: give it as PGPASSWORD. */
  url: string;
  /** Runs SQL as the postgres superuser over the unix socket (SQL on stdin), in `database`. */
  psql(sql: string, database?: string): { status: number | null; stdout: string; stderr: string };
  /** Fast shutdown; waits for the postmaster to exit. */
  stop(): Promise<void>;
  log(): string;
}

function postmasterPid(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
    if (!pid) return undefined;
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

function logTail(dataDir: string, lines = 20): string {
  try {
    return readFileSync(join(dataDir, "server.log"), "utf8").trim().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no server.log)";
  }
}

function makeHandle(o: PgServerOptions, pid: number): PgServer {
  const role = o.role ?? STATE_ROLE;
  const db = o.database ?? STATE_DATABASE;
  const psql = (sql: string, database = "postgres") =>
    asPostgres(needBin("psql"), ["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", o.dataDir, "-p", String(o.port), "-d", database], { input: sql });
  return {
    port: o.port,
    pid,
    dataDir: o.dataDir,
    url: `postgres://${role}@127.0.0.1:${o.port}/${db}?sslmode=disable`,
    psql,
    log: () => logTail(o.dataDir, 40),
    async stop() {
      await stopPostgres(o.dataDir);
    },
  };
}

/** Stops the server running on `dataDir` (fast shutdown: open transactions roll back), if any. */
export async function stopPostgres(dataDir: string, timeoutMs = 30_000): Promise<boolean> {
  const pid = postmasterPid(dataDir);
  if (!pid) return false;
  try {
    process.kill(pid, "SIGINT");
  } catch {
    return false;
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    await sleep(100);
  }
  process.kill(pid, "SIGKILL");
  return true;
}

/** The PID of the server on `dataDir` when it runs. */
export function runningPostgres(dataDir: string): number | undefined {
  return postmasterPid(dataDir);
}

/**
 * Starts (initialising when needed) a PostgreSQL server on 127.0.0.1:`port` with its data in
 * `dataDir`, ensures the state role (with `password`) and database, and resolves once it
 * accepts connections. A server already running on that folder is reused.
 */
export async function startPostgres(o: PgServerOptions, note: (s: string) => void = () => undefined): Promise<PgServer & { started: boolean }> {
  const role = o.role ?? STATE_ROLE;
  const db = o.database ?? STATE_DATABASE;
  if (!/^[a-z_][a-z0-9_]*$/.test(role) || !/^[a-z_][a-z0-9_]*$/.test(db)) throw new PgServerError(`role and database names must be plain identifiers`);
  const { uid, gid } = postgresIds();
  // Folders made above the data folder must let the postgres user through.
  if (!existsSync(dirname(o.dataDir))) mkdirSync(dirname(o.dataDir), { recursive: true, mode: 0o755 });
  if (!existsSync(o.dataDir)) mkdirSync(o.dataDir, { mode: 0o700 });
  if (statSync(o.dataDir).uid !== uid) chownSync(o.dataDir, uid, gid);
  const reach = asPostgres("test", ["-w", o.dataDir]);
  if (reach.status !== 0) throw new PgServerError(`the postgres user cannot write ${o.dataDir}: each folder above it must be searchable by others (chmod o+x), e.g. not inside a 0700 temporary folder`);
  if (!existsSync(join(o.dataDir, "PG_VERSION"))) {
    note(`initdb ${o.dataDir}`);
    const r = asPostgres(needBin("initdb"), ["-D", o.dataDir, "-U", "postgres", "--auth-local=peer", "--auth-host=scram-sha-256", "--encoding=UTF8", "--locale=C.UTF-8", "--no-instructions"], { timeoutMs: 120_000 });
    if (r.status !== 0) throw new PgServerError(`initdb failed on ${o.dataDir}:\n${(r.stderr || r.stdout).trim()}`);
  }
  let pid = postmasterPid(o.dataDir);
  let started = false;
  if (!pid) {
    const logFd = openSync(join(o.dataDir, "server.log"), "a");
    chownSync(join(o.dataDir, "server.log"), uid, gid);
    const child = spawn(
      "setpriv",
      ["--reuid=postgres", "--regid=postgres", "--init-groups", "--", needBin("postgres"), "-D", o.dataDir, "-c", "listen_addresses=127.0.0.1", "-p", String(o.port), "-c", `unix_socket_directories=${o.dataDir}`, "-c", "password_encryption=scram-sha-256"],
      { stdio: ["ignore", logFd, logFd], detached: true, cwd: "/", env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C.UTF-8", LC_ALL: "C.UTF-8" } },
    );
    closeSync(logFd);
    let exited: string | undefined;
    child.once("exit", (code, sig) => (exited = `exit ${code ?? sig}`));
    child.unref();
    started = true;
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (exited) throw new PgServerError(`postgres stopped during start-up (${exited}):\n${logTail(o.dataDir)}`);
      if (existsSync(join(o.dataDir, `.s.PGSQL.${o.port}`)) && (await tcpOpen(o.port))) {
        const r = asPostgres(needBin("pg_isready"), ["-q", "-h", o.dataDir, "-p", String(o.port)]);
        if (r.status === 0) break;
      }
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new PgServerError(`postgres did not accept connections on 127.0.0.1:${o.port} within 60 s:\n${logTail(o.dataDir)}`);
      }
      await sleep(100);
    }
    pid = child.pid ?? postmasterPid(o.dataDir) ?? -1;
  }
  const h = makeHandle(o, pid);
  // Role and database, idempotent; the password only as a verifier.
  const verifier = scramVerifier(o.password);
  const ensureRole = h.psql(
    `SELECT format('CREATE ROLE %I LOGIN', '${role}') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${role}')\n\\gexec\n` +
      `ALTER ROLE ${role} LOGIN PASSWORD '${verifier}';\n` +
      `SELECT format('CREATE DATABASE %I OWNER %I', '${db}', '${role}') WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '${db}')\n\\gexec\n`,
  );
  if (ensureRole.status !== 0) throw new PgServerError(`could not create the state role and database:\n${ensureRole.stderr.trim()}`);
  return { ...h, started };
}
