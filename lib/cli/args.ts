import { existsSync, readdirSync } from "node:fs";

export { REPO_ROOT } from "../base/repo";

/** Stacks that have an inventory file in the data root, sorted (lab first is not implied). */
export function stacksIn(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .map((f) => /^Pulumi\.([a-z0-9-]+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => !!s)
    .sort();
}

export class UsageError extends Error {}

export function seconds(startNs: bigint): string {
  return `${(Number(process.hrtime.bigint() - startNs) / 1e9).toFixed(2)} s`;
}
