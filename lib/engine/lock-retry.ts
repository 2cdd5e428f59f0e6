/**
 * What an update does when another holds the stack's lock (lib/engine/driver.ts runs every
 * operation through `guarded`): wait, retry a tie, or say who holds it. No engine here, so the
 * unit tier tests it with a real lock directory.
 */
import { hostname } from "node:os";
import type { Backend } from "../state/backend";
import { lockAdvice, parseLockError, type LockHolder } from "../state/lock";
import { mask } from "../state/mask";
import { readLocks } from "../state/store";
import { pidAlive } from "../base/proc";

/** The part of a stack's options that says how to meet a lock (lib/engine/driver.ts's StackOptions). */
export interface LockWaitOptions {
  stack: string;
  lockWaitSeconds?: number;
  onLockWait?: (line: string) => void;
}

export class DriverError extends Error {}

/** The stack is locked by another update: the message says who, since when, and what to do. */
export class StackLockedError extends DriverError {
  constructor(
    message: string,
    readonly holders: LockHolder[],
    /** Every holder was a process of this machine that has ended: a stale lock. */
    readonly stale: boolean,
  ) {
    super(message);
  }
}

/** The engine's errors with the backend's password and the passphrase hidden (message and stack). */
export function masked(e: unknown, secrets: readonly string[]): unknown {
  if (!(e instanceof Error)) return new Error(mask(String(e), secrets));
  e.message = mask(e.message, secrets);
  if (e.stack) e.stack = mask(e.stack, secrets);
  return e;
}

export function lockedOrMasked(e: unknown, stackName: string, secrets: readonly string[]): unknown {
  const err = masked(e, secrets) as Error;
  const holders = parseLockError(err.message ?? "");
  if (!holders) return err;
  const here = { hostname: hostname(), now: new Date(), pidAlive };
  const stale = holders.length > 0 && holders.every((h) => h.host === here.hostname && !pidAlive(h.pid));
  return new StackLockedError(lockAdvice(stackName, holders, here), holders, stale);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** A random pause that grows with each collision, so two contenders stop meeting. */
const backoffMs = (collisions: number) => 150 + Math.random() * 400 * 2 ** collisions;

/** Whether any of these holders' locks is still in the backend (true when it cannot be read: then it is no collision we can prove). */
async function holdersStillThere(backend: Backend, stack: string, holders: readonly LockHolder[]): Promise<boolean> {
  if (backend.kind !== "file" && backend.kind !== "postgres") return true;
  try {
    const now = await readLocks(backend, stack);
    // The error gives the time to the second, the lock row to the nanosecond.
    return now.some((l) => holders.some((h) => h.pid === l.pid && h.host === l.host && Math.abs(h.since.getTime() - l.since.getTime()) < 1000));
  } catch {
    return true;
  }
}

/**
 * Runs an operation; when another update holds the stack, waits up to lockWaitSeconds for it
 * (saying who holds it every 30 s), then fails with who, since when and what to do. Two
 * updates that start at the same instant can each see the other's lock and both back off
 * (Pulumi's DIY lock writes, then checks): without --lock-wait, a random pause and a look at
 * the lock rows tell that apart from a real holder (whose lock is still there), and only then
 * is the operation tried again (at most 4 times, pausing longer each time). A lock whose holder
 * ran here and is gone is reported at once as stale, unless the update waits (--lock-wait) and
 * the lock is gone too: then that update is over and the operation is tried again (bounded alike).
 */
export async function guarded<T>(op: string, opts: LockWaitOptions, backend: Backend, secrets: readonly string[], run: () => Promise<T>): Promise<T> {
  const waitMs = Math.max(0, (opts.lockWaitSeconds ?? 0) * 1000);
  const t0 = Date.now();
  let lastSaid = 0;
  let collisions = 0;
  for (;;) {
    try {
      return await run();
    } catch (e) {
      const err = lockedOrMasked(e, opts.stack, secrets);
      if (!(err instanceof StackLockedError)) throw err;
      if (err.stale) {
        // Waiting (--lock-wait), a holder gone with its lock gone is over: a contender that lost
        // the same tie (its CLI ends at once and removes its lock) or an update that has finished.
        // Try again (seen in CI: both waiting ups failed as stale). Not waiting, it is reported at once.
        if (waitMs > 0 && collisions < 4 && !(await holdersStillThere(backend, opts.stack, err.holders))) {
          collisions++;
          await sleep(backoffMs(collisions));
          continue;
        }
        throw err;
      }
      const waited = Date.now() - t0;
      if (waitMs === 0 && collisions < 4) {
        // Backing off for a random, growing time breaks a tie between contenders; a holder whose
        // lock is still there is a real update, reported at once.
        collisions++;
        await sleep(backoffMs(collisions));
        if (!(await holdersStillThere(backend, opts.stack, err.holders))) continue;
        throw err;
      }
      if (waited >= waitMs) {
        if (waitMs > 0) err.message = `${err.message}\n(waited ${Math.round(waited / 1000)} s, the limit set by --lock-wait)`;
        throw err;
      }
      if (lastSaid === 0 || Date.now() - lastSaid >= 30_000) {
        lastSaid = Date.now();
        const who = err.holders.map((h) => `${h.user}@${h.host} (pid ${h.pid}, since ${h.since.toISOString().replace(/\.\d{3}Z$/, "Z")})`).join(", ") || "another update";
        (opts.onLockWait ?? ((l: string) => console.error(l)))(`${op}: stack ${opts.stack} is locked by ${who}; waiting (${Math.round(waited / 1000)} s of at most ${Math.round(waitMs / 1000)} s) …`);
      }
      await sleep(Math.min(3000 + Math.random() * 2000, Math.max(250, waitMs - waited)));
    }
  }
}
