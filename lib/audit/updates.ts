import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import type { openStack as OpenStack } from "../engine/driver";
import { cacheDir, PULUMI_VERSION } from "../engine/toolchain";

/** One entry of a stack's update history, reduced to what the audit needs. */
export interface Update {
  version: number;
  /** update, refresh, destroy, … */
  kind: string;
  /** succeeded, failed, in-progress */
  result: string;
  /** ISO 8601, UTC. */
  start: string;
  end?: string;
  /** The commit the engine ran from (environment "git.head"). */
  head?: string;
  /** The working tree had uncommitted changes (environment "git.dirty"). */
  dirty: boolean;
  message: string;
}

export interface UpdateHistory {
  stack?: string;
  /** The file it was read from, when not from the engine. */
  source?: string;
  updates: Update[];
  /** Why there is no history, as printed after "no update history: ". */
  unavailable?: string;
}

function isoTime(v: unknown): string | undefined {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? undefined : v.toISOString();
  if (typeof v === "number") return new Date(v * 1000).toISOString();
  if (typeof v === "string" && v) {
    const d = new Date(v);
    return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
  }
  return undefined;
}

/**
 * Updates from Stack.history() or from `pulumi stack history --json` (same shape; times as
 * Date, RFC 3339 text or Unix seconds), oldest first. Entries without a version or a time
 * are dropped. Pure.
 */
export function normalizeUpdates(raw: unknown): Update[] {
  if (!Array.isArray(raw)) throw new Error("an update history is a JSON list (the output of pulumi stack history --json)");
  const out: Update[] = [];
  for (const u of raw as Record<string, unknown>[]) {
    if (!u || typeof u !== "object") continue;
    const start = isoTime(u.startTime);
    if (typeof u.version !== "number" || !start) continue;
    const env = (u.environment && typeof u.environment === "object" ? u.environment : {}) as Record<string, unknown>;
    const head = typeof env["git.head"] === "string" && /^[0-9a-f]{40,64}$/.test(env["git.head"]) ? env["git.head"] : undefined;
    out.push({
      version: u.version,
      kind: String(u.kind ?? ""),
      result: String(u.result ?? ""),
      start,
      end: isoTime(u.endTime),
      head,
      dirty: env["git.dirty"] === "true",
      message: typeof u.message === "string" ? u.message : "",
    });
  }
  return out.sort((a, b) => a.version - b.version);
}

/** Updates that applied something: kind update, result succeeded, with a known commit. */
export function applyingUpdates(updates: readonly Update[]): Update[] {
  return updates.filter((u) => u.kind === "update" && u.result === "succeeded" && !!u.head);
}

function versionOf(bin: string): string | undefined {
  const r = spawnSync(bin, ["version"], { encoding: "utf8", env: { ...process.env, PULUMI_SKIP_UPDATE_CHECK: "true" }, timeout: 30_000 });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/**
 * Whether the Pulumi CLI the project pins is already here (on PATH or in the cache), so that
 * reading the history never starts ensureEngine's build.
 */
export function engineInstalled(): boolean {
  const cached = join(cacheDir(), "pulumi");
  if (existsSync(cached) && versionOf(cached) === PULUMI_VERSION) return true;
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    const p = dir ? join(dir, "pulumi") : "";
    if (p && existsSync(p)) return versionOf(p) === PULUMI_VERSION;
  }
  return false;
}

/** Whether the lab stack has a state: in <root>/.lab/state (file backend), or in the lab's PostgreSQL (.lab/state-backend.json). */
export function labStateExists(root: string): boolean {
  if (existsSync(join(root, ".lab", "state-backend.json"))) return true;
  const dir = join(root, ".lab", "state", ".pulumi", "stacks", "globenet-infra");
  return existsSync(dir) && readdirSync(dir).some((f) => /^lab\.json(\.gz)?$/.test(f));
}

export interface HistoryOptions {
  root: string;
  /** Named by the user: read this stack's history even without a lab state. */
  stack?: string;
  /** A saved `pulumi stack history --json`, read instead of asking the engine. */
  historyFile?: string;
}

/** The stack's update history, or why there is none. Never builds the engine. */
export async function loadUpdateHistory(opts: HistoryOptions): Promise<UpdateHistory> {
  if (opts.historyFile) {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(opts.historyFile, "utf8"));
    } catch (e) {
      return { stack: opts.stack, source: opts.historyFile, updates: [], unavailable: `cannot read ${opts.historyFile}: ${(e as Error).message.split("\n")[0]} (give the JSON of pulumi stack history --json)` };
    }
    try {
      return { stack: opts.stack, source: opts.historyFile, updates: normalizeUpdates(raw) };
    } catch (e) {
      return { stack: opts.stack, source: opts.historyFile, updates: [], unavailable: `${opts.historyFile}: ${(e as Error).message}` };
    }
  }
  if (!opts.stack && !labStateExists(opts.root)) {
    return { updates: [], unavailable: "no lab state in .lab/state (npm run lab makes one; or name a stack with --stack)" };
  }
  const stack = opts.stack ?? "lab";
  if (!engineInstalled()) {
    return { stack, updates: [], unavailable: "engine not installed (npm run engine builds it once; or give a saved history with --history FILE)" };
  }
  try {
    // Loaded only here: the driver pulls in the Pulumi program and SDK.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { openStack } = require("../engine/driver") as { openStack: typeof OpenStack };
    const s = await openStack({ root: opts.root, stack });
    return { stack, updates: normalizeUpdates(await s.history(undefined, undefined, false)) };
  } catch (e) {
    const msg = (e instanceof Error ? e.message : String(e)).split("\n").find((l) => l.trim()) ?? "unknown error";
    return { stack, updates: [], unavailable: `stack ${stack}: ${msg}` };
  }
}
