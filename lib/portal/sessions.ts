import { randomBytes } from "node:crypto";

/**
 * Server-side sessions: the cookie holds only a random id (256 bits); who is logged in lives
 * here, in the portal's memory (a restart logs everyone out, which is acceptable for a page
 * used a few times a month). An id is good for `idleMs` after its last use and `maxMs` after
 * login; logout deletes it, so a copied cookie is worth nothing afterwards.
 */
export interface Session {
  id: string;
  handle: string;
  /** The mailbox address the member logged in with, when not the portal credential. */
  via?: string;
  created: number;
  seen: number;
}

export const SESSION_COOKIE = "__Host-globenet-portal";

export class Sessions {
  private readonly byId = new Map<string, Session>();

  constructor(
    private readonly idleMs = 30 * 60_000,
    private readonly maxMs = 8 * 3600_000,
  ) {}

  create(handle: string, now: number, via?: string): Session {
    const s: Session = { id: randomBytes(32).toString("base64url"), handle, ...(via ? { via } : {}), created: now, seen: now };
    this.byId.set(s.id, s);
    return s;
  }

  /** The live session of `id` at `now` (its idle clock restarts), or undefined. */
  get(id: string | undefined, now: number): Session | undefined {
    if (!id) return undefined;
    const s = this.byId.get(id);
    if (!s) return undefined;
    if (now - s.seen > this.idleMs || now - s.created > this.maxMs) {
      this.byId.delete(id);
      return undefined;
    }
    s.seen = now;
    return s;
  }

  delete(id: string | undefined): void {
    if (id) this.byId.delete(id);
  }

  get size(): number {
    return this.byId.size;
  }
}
