/**
 * Which lab topology is up, recorded in .lab/topology.json by `npm run lab` (--topology multi,
 * the default) so that `npm run lab -- down` removes whatever is up, `npm run lab` of the other
 * topology refuses to start beside it (both use the same Apache, MariaDB and BIND files), and
 * the commands that act on a stack default to its stack (lib/cli/stack-default.ts).
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { LabPaths } from "./paths";

export interface TopologyRecord {
  topology: "multi";
  stack: string;
  /** netns.ts's prefix and hosts (inventory hosts plus the lab's own, like "ca"): what down removes. */
  prefix: string;
  hosts: string[];
  /** Files bind-mounted over the machine's in a host's mount namespace (path as the host sees it). */
  files: Array<{ host: string; path: string }>;
}

function file(p: LabPaths): string {
  return join(p.lab, "topology.json");
}

export function readTopology(p: LabPaths): TopologyRecord | undefined {
  const f = file(p);
  if (!existsSync(f)) return undefined;
  return JSON.parse(readFileSync(f, "utf8")) as TopologyRecord;
}

export function writeTopology(p: LabPaths, r: TopologyRecord): void {
  writeFileSync(file(p), JSON.stringify(r, null, 2) + "\n", { mode: 0o600 });
}

export function forgetTopology(p: LabPaths): void {
  rmSync(file(p), { force: true });
}
