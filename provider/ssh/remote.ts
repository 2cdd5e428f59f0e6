import type { Target } from "./connection";
import { pool } from "./pool";

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * How long a kind of remote step may take before it is stopped, in seconds. A member's
 * process or file (a FIFO where a step reads, a session holding a lock) can make a step wait
 * forever, while the apply holds the stack's lock: every step has a bound. Each default can be
 * changed in the provider's environment with GLOBENET_TIMEOUT_<KIND>=<seconds> (for example
 * GLOBENET_TIMEOUT_DUMP=43200 for a very large database).
 */
export const TIMEOUT_DEFAULTS = {
  /** Reading a host's state back (refresh, diff of a file set). */
  read: 120,
  /** Converging one resource: an account, a credentials file, a file set. */
  converge: 600,
  /** SQL run as root on a database host. */
  sql: 300,
  /** Archiving a home or a site folder (tar + verification). */
  archive: 3600,
  /** Dumping a database before it is dropped. */
  dump: 6 * 3600,
  /** Anything that names no kind (guest steps copy and convert disks: generous). */
  step: 3600,
} as const;

export type TimeoutKind = keyof typeof TIMEOUT_DEFAULTS;

/** Grace between the remote `timeout` firing and this side giving up on the channel. */
const LOCAL_GRACE_MS = 15_000;
/** How long the remote command may ignore SIGTERM before `timeout` sends SIGKILL. */
const KILL_AFTER_S = 5;

/** The bound of a kind, in seconds: the environment's GLOBENET_TIMEOUT_<KIND> or the default. */
export function timeoutSeconds(kind: TimeoutKind, env: NodeJS.ProcessEnv = process.env): number {
  const name = `GLOBENET_TIMEOUT_${kind.toUpperCase()}`;
  const raw = env[name];
  if (raw === undefined || raw === "") return TIMEOUT_DEFAULTS[kind];
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 7 * 86400) throw new Error(`${name}=${raw.slice(0, 20)} is not a whole number of seconds from 1 to 604800 (unset it to use ${TIMEOUT_DEFAULTS[kind]} s)`);
  return n;
}

/** A remote step that ran out of time; the remote command was stopped. */
export class RemoteTimeout extends Error {
  constructor(
    readonly host: string,
    readonly step: string,
    readonly seconds: number,
    readonly kind: TimeoutKind | "explicit",
  ) {
    const knob = kind === "explicit" ? "" : ` If the step is only slow, raise its bound: GLOBENET_TIMEOUT_${kind.toUpperCase()}=<seconds> in the provider's environment.`;
    super(
      `${host}: ${step} timed out after ${seconds} s and was stopped (its processes on ${host} were killed; nothing after it ran). ` +
        `Something on ${host} kept it waiting: often a member's process or file (a session holding a lock, a FIFO where a file was expected). ` +
        `Look on ${host} (ps, lsof, SHOW PROCESSLIST), stop or remove what blocks, then run the apply again.${knob}`,
    );
    this.name = "RemoteTimeout";
  }
}

export interface RunOptions {
  /** Positional arguments ($1, $2…): validated names only, never secrets (they are visible in ps). */
  args?: string[];
  /** Data for the script: files as tar, SQL, passwords. Never on argv. */
  stdin?: Buffer | string;
  /** Fail (throw) on a non-zero exit; default true. A timeout always throws. */
  check?: boolean;
  /** What the step is, for error messages. */
  what?: string;
  /** Which bound applies (TIMEOUT_DEFAULTS); default "step". */
  kind?: TimeoutKind;
  /** An explicit bound in milliseconds, instead of the kind's. */
  timeoutMs?: number;
}

/** POSIX single-quoting: the one escaping that needs no exceptions. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Error text must never carry secrets: cut long output and drop anything that looks like one. */
export function redact(text: string, secrets: string[] = []): string {
  let t = text;
  for (const s of secrets) if (s) t = t.split(s).join("[secret]");
  return t.length > 4000 ? `${t.slice(0, 4000)}\n…(${t.length - 4000} more characters)` : t;
}

/** The bound of one call, in whole seconds, and where it came from (for the message). */
export function boundOf(opts: Pick<RunOptions, "kind" | "timeoutMs">): { seconds: number; kind: TimeoutKind | "explicit" } {
  if (opts.timeoutMs !== undefined) return { seconds: Math.max(1, Math.ceil(opts.timeoutMs / 1000)), kind: "explicit" };
  const kind = opts.kind ?? "step";
  return { seconds: timeoutSeconds(kind), kind };
}

/**
 * The command line the SSH server runs. GNU `timeout` (coreutils, on every Debian host) puts
 * the script in a process group of its own and, when the bound is reached, signals the whole
 * group (TERM, then KILL after KILL_AFTER_S): the script and everything it started die on the
 * host, even if this side has lost the connection. 124 or 137 is its exit status then.
 */
export function remoteCommand(t: Pick<Target, "user">, script: string, args: string[], seconds: number): string {
  const prefix = t.user === "root" ? "" : "sudo -n ";
  return `${prefix}timeout --kill-after=${KILL_AFTER_S} ${seconds} bash -c ${shellQuote(`set -euo pipefail\n${script}`)} globenet ${args.map(shellQuote).join(" ")}`;
}

/**
 * Runs a constant bash script of the provider's own on a host, as root (through `sudo -n` when
 * the SSH user is not root). Member values arrive as quoted positional arguments or on stdin,
 * never spliced into the script text. Every call is bounded (see TIMEOUT_DEFAULTS): past the
 * bound the remote process group is killed, the channel closed, and RemoteTimeout thrown; the
 * connection stays open for the other steps.
 */
export async function run(t: Target, script: string, opts: RunOptions = {}, secrets: string[] = []): Promise<RunResult> {
  const bound = boundOf(opts);
  const what = opts.what ?? "remote step";
  const command = remoteCommand(t, script, opts.args ?? [], bound.seconds);
  const started = Date.now();
  const result = await pool.with(t, (c) =>
    new Promise<RunResult & { timedOut: boolean }>((resolve, reject) => {
      let settled = false;
      let channel: import("ssh2").ClientChannel | undefined;
      // The remote `timeout` should end the command first; this one covers a host that stopped
      // answering altogether (then the channel is closed and the connection's keepalive ends it).
      const local = setTimeout(() => {
        if (settled) return;
        settled = true;
        if (channel) {
          try {
            channel.signal("KILL");
          } catch {
            /* the server may not take signals; remote timeout still holds */
          }
          channel.close();
        }
        resolve({ code: 255, stdout: "", stderr: "", timedOut: true });
      }, bound.seconds * 1000 + LOCAL_GRACE_MS);
      c.exec(command, (err, ch) => {
        if (err) {
          clearTimeout(local);
          if (!settled) reject(new Error(`${t.name}: cannot open a channel: ${err.message}`));
          settled = true;
          return;
        }
        channel = ch;
        if (settled) {
          ch.close();
          return;
        }
        const out: Buffer[] = [];
        const errb: Buffer[] = [];
        ch.on("data", (d: Buffer) => out.push(d));
        ch.stderr.on("data", (d: Buffer) => errb.push(d));
        ch.on("close", (code: number | null) => {
          clearTimeout(local);
          if (settled) return;
          settled = true;
          const c2 = code ?? 255;
          // 124: timeout's TERM ended it; 137: it needed the KILL. Only believed after the bound.
          const timedOut = (c2 === 124 || c2 === 137) && Date.now() - started >= bound.seconds * 1000 - 500;
          resolve({ code: c2, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(errb).toString("utf8"), timedOut });
        });
        if (opts.stdin !== undefined) ch.end(opts.stdin);
        else ch.end();
      });
    }),
  );
  if (result.timedOut) throw new RemoteTimeout(t.name, what, bound.seconds, bound.kind);
  if ((opts.check ?? true) && result.code !== 0) {
    throw new Error(`${t.name}: ${what} failed (exit ${result.code}):\n${redact(result.stderr || result.stdout, secrets)}`);
  }
  return { code: result.code, stdout: result.stdout, stderr: result.stderr };
}
