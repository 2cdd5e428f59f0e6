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

export class Lockout {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly policy: LockoutPolicy = DEFAULT_LOCKOUT) {}

  /** Milliseconds the name stays locked at `now`, 0 when it may try. */
  lockedFor(name: string, now: number): number {
    const e = this.entries.get(name);
    if (!e?.lockedUntil) return 0;
    if (e.lockedUntil <= now) {
      this.entries.delete(name);
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
    return e.lockedUntil && e.lockedUntil > now ? e.lockedUntil - now : 0;
  }

  /** A right password (while not locked): the count starts again. */
  success(name: string): void {
    this.entries.delete(name);
  }
}
