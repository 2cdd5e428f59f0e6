import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { guarded, StackLockedError } from "../lib/engine/lock-retry";
import type { Backend } from "../lib/state/backend";

/** A pid that ran on this machine and has ended. */
function deadPid(): number {
  const r = spawnSync("sh", ["-c", "echo $$"], { encoding: "utf8" });
  return Number(r.stdout.trim());
}

const since = "2026-12-04T23:00:00Z";
const lockedBy = (pid: number) =>
  `error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end or delete the lock file with \`pulumi cancel\`.\n  file:///x/.pulumi/locks/organization/globenet-infra/lab/abc.json: created by root@${hostname()} (pid ${pid}) at ${since}`;

describe("guarded: a lock whose holder has ended", () => {
  let dir = "";
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const backend = (): Backend => ({ url: `file://${dir}`, kind: "file", env: {}, secrets: [], display: dir, origin: "test" });

  const table: { name: string; wait: number; lockRowLeft: boolean; attemptsThatFail: number; attempts: number; outcome: "applies" | "stale" }[] = [
    // Two waiting ups at the same instant: the loser's CLI exits and removes its lock; the other sees a dead pid and no lock row.
    { name: "waiting, holder gone with its lock: over, tried again", wait: 60, lockRowLeft: false, attemptsThatFail: 1, attempts: 2, outcome: "applies" },
    { name: "waiting, holder gone, lock still there: stale, reported at once", wait: 60, lockRowLeft: true, attemptsThatFail: 1, attempts: 1, outcome: "stale" },
    { name: "waiting, retries are bounded: the fifth in a row is reported", wait: 60, lockRowLeft: false, attemptsThatFail: 99, attempts: 5, outcome: "stale" },
    // Not waiting: whoever held the stack when this up looked is reported, even if it has finished since.
    { name: "not waiting, holder gone with its lock: reported at once", wait: 0, lockRowLeft: false, attemptsThatFail: 1, attempts: 1, outcome: "stale" },
  ];
  for (const t of table) {
    it(t.name, async () => {
      dir = mkdtempSync(join(tmpdir(), "lock-collision-"));
      const pid = deadPid();
      if (t.lockRowLeft) {
        const locks = join(dir, ".pulumi", "locks", "organization", "globenet-infra", "lab");
        mkdirSync(locks, { recursive: true });
        writeFileSync(join(locks, "abc.json"), JSON.stringify({ pid, username: "root", hostname: hostname(), timestamp: since }));
      }
      let attempts = 0;
      const run = async () => {
        attempts++;
        if (attempts <= t.attemptsThatFail) throw new Error(lockedBy(pid));
        return "applied";
      };
      const p = guarded("up", { stack: "lab", lockWaitSeconds: t.wait }, backend(), [], run);
      if (t.outcome === "applies") {
        await expect(p).resolves.toBe("applied");
        expect(attempts).toBe(t.attempts);
      } else {
        const e = await p.catch((x: unknown) => x);
        expect(e).toBeInstanceOf(StackLockedError);
        expect((e as StackLockedError).stale).toBe(true);
        expect((e as Error).message).toContain("the lock is stale");
        expect(attempts).toBe(t.attempts);
      }
    }, 60_000);
  }
});
