/**
 * A stack's lock, made readable. Pure.
 *
 * Pulumi's DIY backends (file, PostgreSQL) lock a stack for an update by writing
 * `.pulumi/locks/<org>/<project>/<stack>/<id>.json` = { pid, username, hostname, timestamp }
 * (the pid is the Pulumi CLI's). Another update that finds such a lock fails with
 *   the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end
 *   or delete the lock file with `pulumi cancel`.
 *     postgres://****:****@127.0.0.1:5432/db/.pulumi/locks/organization/p/lab/<id>.json: created by root@ci-3 (pid 4242) at 2025-01-31T12:00:03Z
 * `parseLockError` reads that text, `readLockFile` a lock's JSON, and `lockAdvice` says who
 * holds it, since when, and what to do: wait, or cancel only once the holder is gone.
 */

export interface LockHolder {
  user: string;
  host: string;
  /** The Pulumi CLI process that took the lock. */
  pid: number;
  /** When the lock was taken. */
  since: Date;
  /** Where the lock lives (credentials masked by the CLI), when known. */
  where?: string;
}

const LOCKED = /the stack is currently locked by (\d+) lock\(s\)/;
const HOLDER = /^\s*(.*?): created by (.*)@([^@\s]+) \(pid (\d+)\) at (\S+)\s*$/;

/** The holders named in a "currently locked" error, or undefined when the text is not one. */
export function parseLockError(text: string): LockHolder[] | undefined {
  if (!LOCKED.test(text)) return undefined;
  const holders: LockHolder[] = [];
  for (const line of text.split("\n")) {
    const m = HOLDER.exec(line);
    if (!m) continue;
    const since = new Date(m[5] as string);
    const h: LockHolder = { where: m[1] || undefined, user: m[2] as string, host: m[3] as string, pid: Number(m[4]), since: Number.isNaN(since.getTime()) ? new Date(0) : since };
    // The engine's error carries the CLI's stdout and stderr, which may both name a lock.
    if (!holders.some((x) => x.where === h.where && x.pid === h.pid && x.host === h.host && x.since.getTime() === h.since.getTime())) holders.push(h);
  }
  return holders;
}

/** A lock file's JSON ({ pid, username, hostname, timestamp }), or undefined when it is not one. */
export function readLockFile(json: string, where?: string): LockHolder | undefined {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (!v || typeof v !== "object") return undefined;
  const o = v as Record<string, unknown>;
  if (typeof o.pid !== "number" || typeof o.hostname !== "string") return undefined;
  const since = new Date(typeof o.timestamp === "string" ? o.timestamp : 0);
  return { pid: o.pid, user: typeof o.username === "string" ? o.username : "?", host: o.hostname, since: Number.isNaN(since.getTime()) ? new Date(0) : since, where };
}

export type HolderState = "running-here" | "gone" | "elsewhere";

export interface LockView {
  holder: LockHolder;
  /** running-here: the holder's process runs on this machine; gone: it was on this machine and has ended; elsewhere: another machine, unknown. */
  state: HolderState;
  /** One line: who, where, since when and how long ago. */
  line: string;
}

/** "41 s", "12 min", "3 h 5 min", "2 d 4 h". */
export function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 90) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h${m % 60 ? ` ${m % 60} min` : ""}`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

export interface Here {
  hostname: string;
  now: Date;
  /** Whether a process with this PID runs on this machine. */
  pidAlive(pid: number): boolean;
}

export function viewLock(h: LockHolder, here: Here): LockView {
  const state: HolderState = h.host !== here.hostname ? "elsewhere" : here.pidAlive(h.pid) ? "running-here" : "gone";
  const when = h.since.getTime() > 0 ? `since ${h.since.toISOString().replace(/\.\d{3}Z$/, "Z")} (${age(here.now.getTime() - h.since.getTime())} ago)` : "since an unknown time";
  const status = state === "gone" ? "; that process no longer runs here: the lock is stale" : state === "running-here" ? "; that process is still running on this machine" : "";
  return { holder: h, state, line: `${h.user}@${h.host}, pid ${h.pid}, ${when}${status}` };
}

/**
 * What to tell someone who found stack `stack` locked: who holds it, since when, and what to
 * do.
 */
export function lockAdvice(stack: string, holders: readonly LockHolder[], here: Here): string {
  const views = holders.map((x) => viewLock(x, here));
  const lines = [`stack ${stack} is locked: another update holds it`];
  if (views.length === 0) lines.push("  (the backend did not say by whom)");
  for (const v of views) lines.push(`  held by ${v.line}`);
  const st = stack === "lab" ? [] : ["--stack", stack];
  if (views.length > 0 && views.every((v) => v.state === "gone")) {
    lines.push(
      `next: the update that held it was killed before it could unlock (its state may list operations it left pending).`,
      `      Recover with: ${npmRun("state", ["recover", ...st])}`,
      `      (it checks the holder is gone, removes the lock and reads the hosts back into the state);`,
      `      then ${npmRun("up", st)} and ${npmRun("preview", [...st, "--expect-no-changes"])}`,
    );
  } else if (views.some((v) => v.state === "running-here")) {
    lines.push(`next: wait for it to finish (or run again with --lock-wait SECONDS to wait here). Never remove a lock whose holder still runs.`);
  } else {
    const hosts = [...new Set(views.map((v) => v.holder.host))].join(", ") || "the holder's machine";
    lines.push(
      `next: wait for it to finish (run again with --lock-wait SECONDS to wait here; CI waits on its own).`,
      `      Only once you have checked that nothing runs Pulumi for stack ${stack} on ${hosts} any more`,
      `      (the CI job was cancelled, the laptop is off): ${npmRun("state", ["recover", ...st, "--holder-gone"])}`,
    );
  }
  return lines.join("\n");
}

/** How a volunteer types a project command: `npm run up -- --stack prod`. */
export function npmRun(script: string, args: readonly string[] = []): string {
  return `npm run ${script}${args.length ? ` -- ${args.join(" ")}` : ""}`;
}
