import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { FileChange } from "./compare";

export class DiffToolError extends Error {}

const octal = (mode: number | undefined) => `0${(mode ?? 0o644).toString(8)}`;

/**
 * The unified diff of one changed file, made by diffutils' `diff -u` (argument array, no
 * shell) on copies written under `tmp`. Labels are a/<host>/<path> and b/<host>/<path>,
 * /dev/null for the missing side; a mode change is a first line "mode 0644 → 0600".
 */
export function unifiedDiff(c: FileChange, tmp: string): string {
  const rel = join(c.host, c.path);
  const write = (side: "a" | "b", content: string) => {
    const p = join(tmp, side, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, content);
    return p;
  };
  const a = c.before ? write("a", c.before.content) : "/dev/null";
  const b = c.after ? write("b", c.after.content) : "/dev/null";
  const la = c.before ? `a/${c.host}/${c.path}` : "/dev/null";
  const lb = c.after ? `b/${c.host}/${c.path}` : "/dev/null";
  const r = spawnSync("diff", ["-u", "--label", la, "--label", lb, "--", a, b], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  if (r.error) {
    const missing = (r.error as NodeJS.ErrnoException).code === "ENOENT";
    throw new DiffToolError(missing ? "the diff command (GNU diffutils) is not installed: install it (apt-get install diffutils) and run this again" : `diff failed: ${r.error.message}`);
  }
  if (r.status !== 0 && r.status !== 1) throw new DiffToolError(`diff failed on ${rel} (exit ${r.status}): ${r.stderr.trim()}`);
  const modeLine = c.before && c.after && (c.before.mode ?? 0o644) !== (c.after.mode ?? 0o644) ? `mode ${octal(c.before.mode)} → ${octal(c.after.mode)}\n` : "";
  return modeLine + r.stdout;
}
