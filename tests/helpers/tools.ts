import { createServer } from "node:net";
/**
 * Small helpers for tests that run real programs (tier 2 and up).
 *
 * - `requireTool(name)`: is this binary available? Outside CI a missing tool returns false so
 *   the test can `it.skipIf(!requireTool("apache2ctl"))`; in CI (`CI=true`) a missing tool
 *   throws, naming the Debian package: in CI a missing tool is a failure, never a skip.
 * - `run(cmd, args, opts)`: spawnSync without a shell, with a timeout, returning
 *   `{ status, stdout, stderr }`.
 */
import { spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

/** The Debian package that provides each program the tests use (see scripts/ensure-debs.sh). */
export const TOOL_PACKAGES: Readonly<Record<string, string>> = {
  apache2ctl: "apache2",
  mkpasswd: "whois",
  htpasswd: "apache2-utils",
  apache2: "apache2",
  "php-fpm8.2": "php-fpm",
  mariadbd: "mariadb-server",
  mysqld: "mariadb-server",
  "mariadb-install-db": "mariadb-server",
  mariadb: "mariadb-client",
  "named-checkconf": "bind9-utils",
  "named-checkzone": "bind9-utils",
  named: "bind9",
  dig: "bind9-dnsutils",
  delv: "bind9-dnsutils",
  "dnssec-dsfromkey": "bind9-utils",
  rndc: "bind9",
  pebble: "pebble",
  lego: "lego",
  openssl: "openssl",
  "virt-xml-validate": "libvirt-clients",
  virsh: "libvirt-clients",
  xmllint: "libxml2-utils",
  "cloud-init": "cloud-init",
  curl: "curl",
  sshd: "openssh-server",
  useradd: "passwd",
  userdel: "passwd",
  groupadd: "passwd",
  groupdel: "passwd",
  ebtables: "ebtables",
  tcpdump: "tcpdump",
  busybox: "busybox-static",
  borg: "borgbackup",
  cron: "cron",
  setquota: "quota",
  quotaon: "quota",
  quotaoff: "quota",
  quotacheck: "quota",
  quota: "quota",
  "mkfs.ext4": "e2fsprogs",
};

/**
 * Directories searched after $PATH: the sbin directories are often missing from a non-root
 * user's PATH although apache2ctl, php-fpm8.2 and mariadbd live there.
 */
const EXTRA_DIRS = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

export function inCI(): boolean {
  return process.env.CI === "true";
}

/** Absolute path of an executable found on $PATH (then the sbin directories), or undefined. */
export function findTool(name: string): string | undefined {
  if (name.includes("/")) return isExecutable(name) ? name : undefined;
  const dirs = [...(process.env.PATH ?? "").split(delimiter).filter(Boolean), ...EXTRA_DIRS];
  for (const dir of dirs) {
    const p = join(dir, name);
    if (isExecutable(p)) return p;
  }
  return undefined;
}

function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * True when `name` can be run. When it cannot: in CI throws (naming the Debian package to
 * install), otherwise returns false so the caller can skip.
 */
export function requireTool(name: string, debPackage?: string): boolean {
  if (findTool(name)) return true;
  const pkg = debPackage ?? TOOL_PACKAGES[name] ?? "(unknown: find it with `apt-file search`)";
  if (inCI()) {
    throw new Error(
      `required tool "${name}" is not installed: install the Debian package "${pkg}" ` +
        `(bash scripts/ensure-debs.sh, or apt-get install -y --no-install-recommends ${pkg}). ` +
        `In CI a missing tool is a failure, not a skip.`,
    );
  }
  return false;
}

/** Every tool in the list (all are checked, so CI names each missing one). */
export function requireTools(...names: string[]): boolean {
  if (inCI()) {
    const missing = names.filter((n) => !findTool(n));
    if (missing.length > 0) {
      const pkgs = [...new Set(missing.map((n) => TOOL_PACKAGES[n] ?? n))];
      throw new Error(
        `required tools not installed: ${missing.join(", ")}; install the Debian packages ` +
          `${pkgs.join(" ")} (bash scripts/ensure-debs.sh). In CI a missing tool is a failure, not a skip.`,
      );
    }
    return true;
  }
  return names.every((n) => requireTool(n));
}

/**
 * Tests that start daemons as their own users (mariadbd --user=mysql) or create system users
 * (checkFpm) need root. Like requireTool: false outside CI, throws in CI.
 */
export function requireRoot(why: string): boolean {
  if (typeof process.getuid === "function" && process.getuid() === 0) return true;
  if (inCI()) throw new Error(`this test must run as root in CI: ${why}`);
  return false;
}

export interface RunOptions {
  cwd?: string;
  /** Added to (not replacing) process.env. */
  env?: Record<string, string | undefined>;
  /** Written to the child's stdin (secrets go here or in files, never in argv). */
  input?: string;
  /** Default 60 s. The child is killed with SIGKILL when it expires. */
  timeoutMs?: number;
}

export interface RunResult {
  /** Exit status; null when the child was killed (timeout, signal) or could not start. */
  status: number | null;
  stdout: string;
  /** The child's stderr; a line explaining a timeout, signal or spawn error is appended. */
  stderr: string;
}

/** Runs a program directly (never through a shell) and collects its output. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): RunResult {
  const timeout = opts.timeoutMs ?? 60_000;
  const r = spawnSync(cmd, args, {
    cwd: opts.cwd,
    env: opts.env ? { ...process.env, ...opts.env } : process.env,
    input: opts.input ?? "",
    encoding: "utf8",
    timeout,
    killSignal: "SIGKILL",
    maxBuffer: 64 * 1024 * 1024,
    shell: false,
  });
  let stderr = r.stderr ?? "";
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    stderr += `\n[run] ${cmd}: ${code === "ETIMEDOUT" ? `timed out after ${timeout} ms (killed)` : r.error.message}`;
  } else if (r.signal) {
    stderr += `\n[run] ${cmd}: killed by ${r.signal}`;
  }
  return { status: r.error ? null : r.status, stdout: r.stdout ?? "", stderr };
}

/** The command line as text, for messages only (arguments are never joined to be run). */
export function describeCommand(cmd: string, args: readonly string[]): string {
  return [cmd, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(" ");
}

/** A TCP port free on 127.0.0.1 right now (the kernel picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const a = srv.address();
      const port = typeof a === "object" && a ? a.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error("no free port"))));
    });
  });
}
