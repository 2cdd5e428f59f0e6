import { createHash, randomBytes } from "node:crypto";

/**
 * Server-side sessions: the cookie holds only a random id (256 bits); who is logged in lives
 * here. An id is good for `idleMs` after its last use and `maxMs` after login; logout deletes
 * it, so a copied cookie is worth nothing afterwards. Entries are keyed by the id's SHA-256, so
 * the portal's store file (lib/portal/store.ts: sessions survive a restart) holds no usable
 * cookie: whoever reads the file cannot log in with it.
 */
export interface Session {
  id: string;
  handle: string;
  /** The mailbox address the member logged in with, when not the portal credential. */
  via?: string;
  created: number;
  seen: number;
}

/** A session as kept and stored: the id's hash, never the id. */
export interface StoredSession {
  key: string;
  handle: string;
  via?: string;
  created: number;
  seen: number;
}

export const SESSION_COOKIE = "__Host-globenet-portal";

const keyOf = (id: string) => createHash("sha256").update(id).digest("base64url");

/** A session's idle clock is saved again only after this long (not at every page). */
const SEEN_SAVE_MS = 60_000;

export class Sessions {
  private readonly byKey = new Map<string, StoredSession>();
  /** Called after a change worth keeping (login, logout, an expiry, the idle clock moved on). */
  onChange: () => void = () => {};

  constructor(
    private readonly idleMs = 30 * 60_000,
    private readonly maxMs = 8 * 3600_000,
  ) {}

  create(handle: string, now: number, via?: string): Session {
    const id = randomBytes(32).toString("base64url");
    this.byKey.set(keyOf(id), { key: keyOf(id), handle, ...(via ? { via } : {}), created: now, seen: now });
    this.onChange();
    return { id, handle, ...(via ? { via } : {}), created: now, seen: now };
  }

  private expired(s: StoredSession, now: number): boolean {
    return now - s.seen > this.idleMs || now - s.created > this.maxMs;
  }

  /** The live session of `id` at `now` (its idle clock restarts), or undefined. */
  get(id: string | undefined, now: number): Session | undefined {
    if (!id) return undefined;
    const key = keyOf(id);
    const s = this.byKey.get(key);
    if (!s) return undefined;
    if (this.expired(s, now)) {
      this.byKey.delete(key);
      this.onChange();
      return undefined;
    }
    const save = now - s.seen > SEEN_SAVE_MS;
    s.seen = now;
    if (save) this.onChange();
    return { id, handle: s.handle, ...(s.via ? { via: s.via } : {}), created: s.created, seen: s.seen };
  }

  delete(id: string | undefined): void {
    if (id && this.byKey.delete(keyOf(id))) this.onChange();
  }

  /** The live sessions at `now` (expired ones dropped): what the store writes. */
  snapshot(now: number): StoredSession[] {
    for (const [k, s] of this.byKey) if (this.expired(s, now)) this.byKey.delete(k);
    return [...this.byKey.values()].map((s) => ({ ...s }));
  }

  /** Sessions read back from the store; expired or malformed ones are left out. */
  restore(list: unknown, now: number): void {
    if (!Array.isArray(list)) return;
    for (const x of list as Partial<StoredSession>[]) {
      if (!x || typeof x.key !== "string" || !/^[A-Za-z0-9_-]{43}$/.test(x.key) || typeof x.handle !== "string") continue;
      if (typeof x.created !== "number" || typeof x.seen !== "number") continue;
      if (x.via !== undefined && (typeof x.via !== "string" || x.via.length > 320)) continue;
      const s: StoredSession = { key: x.key, handle: x.handle, ...(x.via ? { via: x.via } : {}), created: x.created, seen: x.seen };
      if (!this.expired(s, now)) this.byKey.set(s.key, s);
    }
  }

  get size(): number {
    return this.byKey.size;
  }
}
