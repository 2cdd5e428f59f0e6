import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Temporary directories made by tests, removed after each file by tests/setup/temp-dirs.ts.
 * A `process.on("exit")` hook is not enough: vitest ends its workers without that event, and
 * the suite left about 500 trees in /tmp per run.
 */
const made: string[] = [];

/** A new directory under the system's temporary directory, removed when the test file ends. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** Removes every directory made by `tempDir` so far in this worker; returns how many. One that resists is said, not fatal: the file's tests have passed. */
export function removeTempDirs(): number {
  const n = made.length;
  for (const dir of made.splice(0)) {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    } catch (e) {
      process.stderr.write(`could not remove the test's temporary directory ${dir}: ${(e as Error).message}\n`);
    }
  }
  return n;
}
