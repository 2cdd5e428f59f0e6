import { createHash, randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "./repo";

/**
 * What the program's caches of a run's results (the shard index, the checked model, a shard's
 * rendered files: lib/check/shard-index.ts, lib/check/checked-model.ts,
 * lib/render/rendered-cache.ts) depend on besides the data: the code that loads, checks, models
 * and renders it. They are keyed by the data's digest (lib/load/digest.ts), which starts with
 * this: a `git pull` that changes a check, a model builder or a template, with the same data,
 * makes every one of them stale at once, and nothing has to be remembered to bump.
 *
 * The sha256 of Node's version and of every file under `PROGRAM_SOURCES` (names and bytes, in
 * order), read from this checkout, and of `package-lock.json` (every library's version). When
 * they cannot be read (a bundle), a random value of this process: its caches hold for itself only.
 */
export const PROGRAM_SOURCES = ["index.ts", "lib", "components", "provider/resources", "package-lock.json"] as const;

let memo: string | undefined;

export function programFingerprint(): string {
  return (memo ??= fingerprintOf(REPO_ROOT));
}

/** The fingerprint of the program sources under `root` (exported for tests). */
export function fingerprintOf(root: string): string {
  const h = createHash("sha256").update(`program fingerprint 1\0node ${process.version}\0`);
  try {
    for (const rel of PROGRAM_SOURCES) add(h, root, rel);
    return h.digest("hex");
  } catch {
    return `unreadable-${randomBytes(16).toString("hex")}`;
  }
}

function add(h: ReturnType<typeof createHash>, root: string, rel: string): void {
  const abs = join(root, rel);
  let entries;
  try {
    entries = readdirSync(abs, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOTDIR") throw e;
    h.update(`${rel}\0`).update(readFileSync(abs)).update("\0");
    return;
  }
  for (const d of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (d.isDirectory()) add(h, root, `${rel}/${d.name}`);
    else if (d.isFile()) h.update(`${rel}/${d.name}\0`).update(readFileSync(join(abs, d.name))).update("\0");
  }
}
