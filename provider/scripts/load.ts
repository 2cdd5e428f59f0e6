import { readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * The remote scripts are real .sh files in this folder (provider/scripts/<area>/<name>.sh), so
 * `bash -n` and shellcheck read them as they run (tests/shell-scripts.test.ts). The compiled
 * provider finds them here too: lib/engine/provider-build.ts copies every .sh file next to
 * this module in provider/dist.
 *
 * `loadScript(...parts)` is one script: the named files, relative to this folder, joined in
 * order (shared functions first, the script itself last). Modules call it once, at load time,
 * so a missing file fails the provider's start, not an apply. What varies never enters the
 * text: provider/ssh/remote.ts passes it as quoted positional arguments or on stdin.
 */
export function loadScript(...parts: string[]): string {
  if (parts.length === 0) throw new Error("loadScript: name at least one .sh file");
  return parts.map((p) => readFileSync(join(__dirname, p), "utf8")).join("");
}
