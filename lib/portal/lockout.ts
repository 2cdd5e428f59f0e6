/**
 * Lockout per login name (docs/architecture.md, "Member portal"): after `maxFailures` wrong
 * passwords within `windowMs`, the name is refused for `lockMs`, whatever the password, even
 * the right one, and from any address. Unknown names are counted the same way, so the
 * answers never tell which names exist. Per-address rate limiting (@fastify/rate-limit) is
 * the other half: it slows one address trying many names.
 */
export interface LockoutPolicy {
  maxFailures: number;
  windowMs: number;
  lockMs: number;
  /** Names remembered at most; the oldest entries go first (memory bound under a spray of names). */
  maxEntries: number;
}

export const DEFAULT_LOCKOUT: LockoutPolicy = { maxFailures: 5, windowMs: 15 * 60_000, lockMs: 15 * 60_000, maxEntries: 10_000 };

interface Entry {
  failures: number[];
  lockedUntil?: number;
}

/** A name's entry as the store keeps it (lib/portal/store.ts: lockouts survive a restart). */
export type StoredLockout = [name: string, entry: Entry];

export class Lockout {
  private readonly entries = new Map<string, Entry>();
  /** Called after each change (a failure, a success, a lock that ended). */
  onChange: () => void = () => {};

  constructor(private readonly policy: LockoutPolicy = DEFAULT_LOCKOUT) {}

  /** Milliseconds the name stays locked at `now`, 0 when it may try. */
  lockedFor(name: string, now: number): number {
    const e = this.entries.get(name);
    if (!e?.lockedUntil) return 0;
    if (e.lockedUntil <= now) {
      this.entries.delete(name);
      this.onChange();
      return 0;
    }
    return e.lockedUntil - now;
  }

  /** A wrong password for `name` at `now`; returns the lock time it starts (0: none yet). */
  failure(name: string, now: number): number {
    const e = this.entries.get(name) ?? { failures: [] };
    this.entries.delete(name);
    e.failures = [...e.failures.filter((t) => now - t < this.policy.windowMs), now];
    if (e.failures.length >= this.policy.maxFailures) {
      e.lockedUntil = now + this.policy.lockMs;
      e.failures = [];
    }
    this.entries.set(name, e);
    while (this.entries.size > this.policy.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
    this.onChange();
    return e.lockedUntil && e.lockedUntil > now ? e.lockedUntil - now : 0;
  }

  /** A right password (while not locked): the count starts again. */
  success(name: string): void {
    if (this.entries.delete(name)) this.onChange();
  }

  /** What still counts at `now`: locks not ended, failures within the window (oldest name first). */
  snapshot(now: number): StoredLockout[] {
    const out: StoredLockout[] = [];
    for (const [name, e] of this.entries) {
      const failures = e.failures.filter((t) => now - t < this.policy.windowMs);
      const locked = e.lockedUntil !== undefined && e.lockedUntil > now;
      if (locked || failures.length) out.push([name, { failures, ...(locked ? { lockedUntil: e.lockedUntil } : {}) }]);
    }
    return out;
  }

  /** Entries read back from the store; ended or malformed ones are left out. */
  restore(list: unknown, now: number): void {
    if (!Array.isArray(list)) return;
    for (const x of list as unknown[]) {
      if (!Array.isArray(x) || typeof x[0] !== "string" || !x[1] || typeof x[1] !== "object") continue;
      const raw = x[1] as { failures?: unknown; lockedUntil?: unknown };
      const failures = Array.isArray(raw.failures) ? raw.failures.filter((t): t is number => typeof t === "number" && now - t < this.policy.windowMs) : [];
      const lockedUntil = typeof raw.lockedUntil === "number" && raw.lockedUntil > now ? raw.lockedUntil : undefined;
      if (failures.length || lockedUntil) this.entries.set(x[0], { failures, ...(lockedUntil ? { lockedUntil } : {}) });
    }
    while (this.entries.size > this.policy.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
  }
}
