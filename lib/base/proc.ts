/**
 * Small process helpers for the lab: commands without a shell, PIDs checked through /proc,
 * polling, and the progress lines every lab step prints with its duration.
 */
import { execFile, spawnSync } from "node:child_process";
import { accessSync, constants, existsSync, readdirSync, readFileSync } from "node:fs";
import { connect as tcpConnect, type Socket } from "node:net";
import { delimiter, join } from "node:path";

export class LabError extends Error {
  /** What the volunteer should do next; printed under the error. */
  readonly next?: string;
  constructor(message: string, next?: string) {
    super(message);
    this.next = next;
  }
}

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
  error?: Error;
}

/** The sbin folders are missing from some PATHs although the daemons live there. */
const SBIN = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

export function findTool(name: string): string | undefined {
  for (const dir of [...(process.env.PATH ?? "").split(delimiter).filter(Boolean), ...SBIN]) {
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // next folder
    }
  }
  return undefined;
}

/** spawnSync without a shell; stdout/stderr as text; never throws. */
export function run(cmd: string, args: readonly string[], opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {}): RunResult {
  const bin = cmd.includes("/") ? cmd : findTool(cmd) ?? cmd;
  const r = spawnSync(bin, args, {
    encoding: "utf8",
    input: opts.input,
    timeout: opts.timeoutMs ?? 120_000,
    env: opts.env ?? process.env,
    cwd: opts.cwd,
    stdio: [opts.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
  });
  return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "", error: r.error };
}

/** Like run, but asynchronous: used while the engine runs in this process (a sync call would stall it). */
export function runAsync(cmd: string, args: readonly string[], timeoutMs = 10_000): Promise<RunResult> {
  const bin = cmd.includes("/") ? cmd : findTool(cmd) ?? cmd;
  return new Promise((resolve) => {
    execFile(bin, args, { encoding: "utf8", timeout: timeoutMs }, (err, stdout, stderr) => {
      const status = err ? (typeof (err as { code?: unknown }).code === "number" ? ((err as { code: number }).code) : null) : 0;
      resolve({ status, stdout: stdout ?? "", stderr: stderr ?? "", error: err && status === null ? err : undefined });
    });
  });
}

/** The first useful lines of a failed command, for messages. */
export function why(r: RunResult, lines = 12): string {
  const text = (r.error ? r.error.message : `${r.stderr}\n${r.stdout}`).trim();
  return text.split("\n").filter(Boolean).slice(0, lines).join("\n") || `exit ${r.status}`;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls until `probe` gives a truthy value; undefined on timeout. */
export async function waitFor<T>(probe: () => T | Promise<T>, timeoutMs: number, everyMs = 100): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) return undefined;
    await sleep(everyMs);
  }
}

// ─── PIDs ──────────────────────────────────────────────────────────────────────────────────────

/**
 * A live process: a zombie (killed, not yet reaped — PID 1 here may be slow to reap the
 * orphans of a killed driver) counts as gone. Used by the lab's daemons and the driver's locks.
 */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    // No /proc at all (not Linux): kill(0) said it exists.
    return !existsSync("/proc/self");
  }
}

export function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
}

/** The process's start time in clock ticks since boot (/proc/PID/stat field 22): with the PID, it names one process for good. */
export function startTicks(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? "";
  } catch {
    return "";
  }
}

export function pidFrom(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const n = Number(readFileSync(file, "utf8").trim().split(/\s+/)[0]);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/** A live process whose command name starts with `name`, from a daemon's pid file. */
export function livePid(file: string, name: string): number | undefined {
  const pid = pidFrom(file);
  return pid !== undefined && pidAlive(pid) && comm(pid).startsWith(name) ? pid : undefined;
}

/** SIGTERM, then (if allowed) SIGKILL after `graceMs`. True when the process is gone. */
export async function stopPid(pid: number, graceMs: number, kill = true): Promise<boolean> {
  if (!pidAlive(pid)) return true;
  process.kill(pid, "SIGTERM");
  if (await waitFor(() => !pidAlive(pid), graceMs, 100)) return true;
  if (!kill) return false;
  process.kill(pid, "SIGKILL");
  return (await waitFor(() => !pidAlive(pid), 5_000, 50)) ?? false;
}

/** The session a process belongs to (/proc/PID/stat field 6), or undefined once it is gone. */
export function sessionOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const n = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[3]);
    return Number.isInteger(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

/** Live processes of session `sid` (its leader included while it lives). */
export function sessionMembers(sid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    const pid = Number(d);
    if (sessionOf(pid) === sid && pidAlive(pid)) out.push(pid);
  }
  return out;
}

/**
 * What is left of a daemon's session once its leader is gone: SIGTERM, then SIGKILL after
 * `graceMs`. A child that outlived its master keeps the listening sockets it inherited; the next
 * start of the daemon would find its ports taken. Resolves with the PIDs still alive (none, normally).
 */
export async function stopSession(sid: number, graceMs: number): Promise<number[]> {
  const signal = (sig: NodeJS.Signals) => {
    for (const pid of sessionMembers(sid)) {
      try {
        process.kill(pid, sig);
      } catch {
        // gone meanwhile
      }
    }
  };
  if (sessionMembers(sid).length === 0) return [];
  signal("SIGTERM");
  if (await waitFor(() => sessionMembers(sid).length === 0, graceMs, 100)) return [];
  signal("SIGKILL");
  await waitFor(() => sessionMembers(sid).length === 0, 5_000, 50);
  return sessionMembers(sid);
}

/** A text file's last `n` lines that `keep` keeps (after trimming its ends), or undefined when it cannot be read. */
export function fileTail(file: string, n: number, keep: (l: string) => boolean = () => true): string[] | undefined {
  try {
    return readFileSync(file, "utf8").trim().split("\n").filter(keep).slice(-n);
  } catch {
    return undefined;
  }
}

// ─── sockets ───────────────────────────────────────────────────────────────────────────────────

/** The first bytes a TCP server sends within `ms` ("" when it sends nothing, undefined when nothing accepts). */
export function tcpHello(host: string, port: number, ms = 1_000): Promise<string | undefined> {
  return new Promise((resolve) => {
    let accepted = false;
    const s: Socket = tcpConnect({ host, port }, () => (accepted = true));
    const done = (v: string | undefined) => {
      s.destroy();
      resolve(v);
    };
    s.setTimeout(ms);
    s.once("data", (d) => done(d.toString("latin1")));
    s.once("error", () => done(accepted ? "" : undefined));
    s.once("timeout", () => done(accepted ? "" : undefined));
    // Accepted and closed without a byte (QEMU's forward while the guest's port is shut): no
    // timeout would ever fire on a closed socket.
    s.once("close", () => done(accepted ? "" : undefined));
  });
}

/** Whether something accepts connections on a unix socket (a stale socket file refuses). */
export function unixSocketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect(path);
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

// ─── progress ──────────────────────────────────────────────────────────────────────────────────

export function secs(ms: number): string {
  return ms < 60_000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.floor(ms / 60_000)} min ${((ms % 60_000) / 1000).toFixed(1)} s`;
}

export function say(text: string): void {
  process.stdout.write(`[lab] ${text}\n`);
}

/** Runs one step, printing its start, its duration and whether it failed. Returns its result and duration. */
export async function step<T>(label: string, fn: () => T | Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = Date.now();
  say(`${label} …`);
  try {
    const value = await fn();
    const ms = Date.now() - t0;
    say(`${label}: done in ${secs(ms)}`);
    return { value, ms };
  } catch (e) {
    say(`${label}: FAILED after ${secs(Date.now() - t0)}`);
    throw e;
  }
}
