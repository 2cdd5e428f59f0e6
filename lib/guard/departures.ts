import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";

/**
 * Purges of departure archives declared by a change (docs/architecture.md, "Backups",
 * "Departures"): a departed member whose file says `purge_archives: true` at the head and did
 * not at the base. The guard (./rules.ts) asks `Allow-Destroy: departures/<handle>` for each,
 * as for any deletion: the files are removed later by `npm run backup -- purge-departure`,
 * which checks the same line, but the merge request's plan note shows it now.
 */

function declares(text: string | undefined): boolean {
  if (text === undefined) return false;
  try {
    const v = parse(text) as { status?: unknown; purge_archives?: unknown } | null;
    return v?.status === "departed" && v.purge_archives === true;
  } catch {
    return false;
  }
}

/** The handles whose member file in the data tree `root` declares the purge. */
export function purgesIn(root: string): string[] {
  const dir = join(root, "members");
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((h) => /^[a-z][a-z0-9-]*[a-z0-9]$/.test(h) && existsSync(join(dir, h, "member.yaml")))
    .filter((h) => declares(readFileSync(join(dir, h, "member.yaml"), "utf8")))
    .sort();
}

/**
 * The purges the head's data tree declares that the base commit (in the checkout `repo`) did
 * not: a base git cannot read counts as not declaring (asks for the line rather than miss it).
 */
export function purgesDeclared(headRoot: string, repo: string, baseCommit: string): string[] {
  return purgesIn(headRoot).filter((h) => {
    const r = spawnSync("git", ["-C", repo, "show", `${baseCommit}:members/${h}/member.yaml`], { encoding: "utf8", timeout: 60_000 });
    return !(r.status === 0 && declares(r.stdout));
  });
}
