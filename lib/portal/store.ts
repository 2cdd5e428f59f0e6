import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Lockout } from "./lockout";
import type { Sessions } from "./sessions";

/**
 * The portal's sessions and lockouts in a small file of its state folder (docs/architecture.md,
 * "Member portal"), so a restart (an apply that changes the portal, a crash restarted by systemd)
 * neither logs everyone out nor forgets a lock. One JSON file, 0600 (its folder 0700), replaced
 * atomically at each change; expired sessions and ended locks are left out when it is written
 * and when it is read. Session ids are kept as their SHA-256 only (lib/portal/sessions.ts), so
 * the file holds no cookie. One process per portal: the file is its own, not shared.
 */
export const STORE_VERSION = 1;

export interface StoreFile {
  version: number;
  /** The CSRF tokens' HMAC key (base64, 32 bytes): kept too, so a form opened before a restart still posts. */
  csrfKey: string;
  sessions: unknown;
  lockouts: unknown;
}

/**
 * Reads `file` into `sessions` and `lockout` (absent: nothing), then keeps it written at each of
 * their changes. Returns the CSRF key the file holds (a new one when it had none).
 */
export function attachStore(file: string, sessions: Sessions, lockout: Lockout, now: () => number): { save: () => void; csrfKey: Buffer } {
  let csrfKey: Buffer | undefined;
  if (existsSync(file)) {
    let raw: Partial<StoreFile> | undefined;
    try {
      raw = JSON.parse(readFileSync(file, "utf8")) as Partial<StoreFile>;
    } catch {
      // A torn or hand-edited file: start empty (everyone logs in again) rather than not start.
      raw = undefined;
    }
    if (raw && raw.version === STORE_VERSION) {
      const k = typeof raw.csrfKey === "string" ? Buffer.from(raw.csrfKey, "base64") : undefined;
      if (k?.length === 32) csrfKey = k;
      sessions.restore(raw.sessions, now());
      lockout.restore(raw.lockouts, now());
    }
  }
  const key = csrfKey ?? randomBytes(32);
  const save = () => writeStore(file, { version: STORE_VERSION, csrfKey: key.toString("base64"), sessions: sessions.snapshot(now()), lockouts: lockout.snapshot(now()) });
  sessions.onChange = save;
  lockout.onChange = save;
  save();
  return { save, csrfKey: key };
}

function writeStore(file: string, content: StoreFile): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(content) + "\n", { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}
