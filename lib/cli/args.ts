import { existsSync, readdirSync } from "node:fs";
import { resolve } from "node:path";

/** The repository root: where package.json sits, two levels above this file. */
export const REPO_ROOT = resolve(__dirname, "..", "..");

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
