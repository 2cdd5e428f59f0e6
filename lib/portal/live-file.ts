import { readFileSync, statSync } from "node:fs";
import type { MemberLive } from "./view";

/**
 * The deployed portal's side of the live snapshot (lib/portal/live.ts makes it): the file's
 * name and bounds, its parsing and what a member's dashboard shows of it. Apart from the
 * readers so the shipped bundle (lib/cli/portal-main.ts) holds no SSH code.
 */

/** The snapshot's file name in the portal's state folder. */
export const LIVE_FILE = "live.json";
/** Past this age the snapshot's figures are not shown (the schedule runs every 10 minutes: this is six missed runs). */
export const LIVE_MAX_AGE_MS = 60 * 60_000;
/** The snapshot a host accepts (the script refuses more): ample for ~150 members. */
export const LIVE_MAX_BYTES = 16 * 1024 * 1024;

export interface LiveSnapshot {
  /** ISO time the reads started. */
  taken_at: string;
  stack: string;
  members: Record<string, MemberLive>;
}

/** The dates JSON turned into text, back (certificates' ends, backups' times). */
const DATE_KEYS = new Set(["notAfter", "lastOk", "readAt"]);

/** A snapshot file's text; throws when it is not one. */
export function parseSnapshot(text: string): LiveSnapshot {
  const raw = JSON.parse(text, (k, v: unknown) => (DATE_KEYS.has(k) && typeof v === "string" ? new Date(v) : v)) as Partial<LiveSnapshot> | null;
  if (!raw || typeof raw !== "object" || typeof raw.taken_at !== "string" || Number.isNaN(Date.parse(raw.taken_at)) || typeof raw.stack !== "string" || !raw.members || typeof raw.members !== "object" || Array.isArray(raw.members)) {
    throw new Error("not a live snapshot (taken_at, stack, members)");
  }
  return raw as LiveSnapshot;
}

/**
 * What the dashboard shows of `handle` from a snapshot: their entry with the time it was read;
 * none of the figures once it is older than `maxAgeMs` (stale "old", with its time) or when
 * there is no snapshot, or no entry for them (stale "missing").
 */
export function liveOfSnapshot(snap: LiveSnapshot | undefined, stack: string, handle: string, now: number, maxAgeMs = LIVE_MAX_AGE_MS): MemberLive {
  if (!snap || snap.stack !== stack) return { stale: "missing" };
  const takenAt = new Date(snap.taken_at);
  if (now - takenAt.getTime() > maxAgeMs) return { readAt: takenAt, stale: "old" };
  const mine = Object.prototype.hasOwnProperty.call(snap.members, handle) ? snap.members[handle] : undefined;
  if (!mine) return { stale: "missing" };
  return { ...mine, readAt: takenAt };
}

/**
 * The deployed portal's live reader: `file` looked at each dashboard (absent or unreadable:
 * "missing"); parsed again only when its inode, size or time changed (a new delivery is a new
 * file: seen at the next page), as ~150 members make some 140 KB of JSON.
 */
export function snapshotReader(file: string, stack: string, now: () => number = Date.now, maxAgeMs = LIVE_MAX_AGE_MS): (handle: string) => Promise<MemberLive> {
  let cached: { key: string; snap: LiveSnapshot | undefined } | undefined;
  return async (handle) => {
    let snap: LiveSnapshot | undefined;
    try {
      const st = statSync(file);
      const key = `${st.ino}:${st.size}:${st.mtimeMs}`;
      if (cached?.key !== key) cached = { key, snap: parseSnapshot(readFileSync(file, "utf8")) };
      snap = cached.snap;
    } catch {
      cached = undefined;
      snap = undefined;
    }
    return liveOfSnapshot(snap, stack, handle, now(), maxAgeMs);
  };
}
