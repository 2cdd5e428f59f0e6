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

/**
 * Runs a command's entry point and sets the exit code: the command's own, 2 for a usage
 * error (with where to find --help), 1 for anything else.
 */
export function runMain(name: string, command: (argv: string[]) => number | Promise<number>): void {
  Promise.resolve()
    .then(() => command(process.argv.slice(2)))
    .then(
      (code) => {
        process.exitCode = code;
      },
      (e: unknown) => {
        const usage = e instanceof UsageError || (e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS");
        console.error(`error: ${e instanceof Error ? (usage ? e.message : (e.stack ?? e.message)) : String(e)}`);
        if (usage) console.error(`(npm run ${name} -- --help for the options)`);
        process.exitCode = usage ? 2 : 1;
      },
    );
}
