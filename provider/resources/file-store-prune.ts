import { closeSync, lstatSync, openSync, readdirSync, rmSync, utimesSync } from "node:fs";
import { join } from "node:path";
import { isRef, TOUCH_AFTER_MS } from "./file-store";

/**
 * The content store's cleanup (docs/architecture.md, "Sharded stacks": "The store's cleanup").
 * Every content a run needs is written (or its time set, file-store.ts's keptAsIs) by the
 * program of that run before the engine gets its ref, and the provider reads contents only for
 * the refs of the run's own inputs: a state's older refs are compared, never read. So the
 * store only has to keep what recent runs used, whichever shard or stack they were of: a file
 * no run has used for PRUNE_AFTER_DAYS is removed. A shard that runs again after longer
 * writes its files again (the program's store step finds them missing), nothing else changes.
 */
export const PRUNE_AFTER_DAYS = 30;

const DAY_MS = 24 * 3600 * 1000;

/** Stamped by the last cleanup: one a day is enough, and each run pays one stat for it. */
export const PRUNE_MARK = ".pruned";

export interface PruneResult {
  removed: number;
  bytes: number;
  kept: number;
}

function statOf(file: string): { mtimeMs: number; size: number; isFile: boolean; isDirectory: boolean } | undefined {
  try {
    const st = lstatSync(file);
    return { mtimeMs: st.mtimeMs, size: st.size, isFile: st.isFile(), isDirectory: st.isDirectory() };
  } catch {
    return undefined;
  }
}

/**
 * Removes from `store` the contents no run used for `afterDays` and temporary files left by a
 * run cut short (older than a day); undefined when there is no store, when it is not a folder
 * (the store step refuses it, saying so) or when a cleanup ran less than a day ago. Only names
 * the store makes (a sha256, `.tmp-…`) are looked at, never through a link; anything else in
 * the folder is left as it is.
 */
export function pruneStore(store: string, opts: { now?: number; afterDays?: number } = {}): PruneResult | undefined {
  const now = opts.now ?? Date.now();
  if (!statOf(store)?.isDirectory) return undefined;
  const mark = join(store, PRUNE_MARK);
  const last = statOf(mark);
  if (last && now - last.mtimeMs < DAY_MS) return undefined;
  const cutoff = now - (opts.afterDays ?? PRUNE_AFTER_DAYS) * DAY_MS;
  const result: PruneResult = { removed: 0, bytes: 0, kept: 0 };
  for (const name of readdirSync(store)) {
    // (isRef narrows a string to never when false: the name is looked at as the store made it.)
    const content = isRef(name as unknown);
    if (!content && !name.startsWith(".tmp-")) continue;
    const file = join(store, name);
    const st = statOf(file);
    if (!st?.isFile) continue;
    // A run sets the time of what it uses at most once a day (TOUCH_AFTER_MS): so the limit is never under two days.
    const old = content ? st.mtimeMs < Math.min(cutoff, now - 2 * TOUCH_AFTER_MS) : st.mtimeMs < now - DAY_MS;
    if (!old) {
      if (content) result.kept++;
      continue;
    }
    rmSync(file, { force: true });
    result.removed++;
    result.bytes += st.size;
  }
  closeSync(openSync(mark, "a", 0o600));
  utimesSync(mark, now / 1000, now / 1000);
  return result;
}
