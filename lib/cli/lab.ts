import { labDown, labStatus, labUp } from "../lab/commands";
import { LabError } from "../base/proc";
import { REPO_ROOT, UsageError } from "./args";
import type { Args, Io } from "./command";

/** npm run lab (table entry and help: lib/cli/commands.ts). */
export async function runLab(a: Args, _io: Io): Promise<number> {
  const values = { "skip-packages": a.flag("skip-packages"), force: a.flag("force"), state: a.str("state") };
  const positionals = a.positionals;
  if (positionals.length > 1) throw new UsageError(`lab takes one action (up, down or status), not "${positionals.join(" ")}"`);
  const action = positionals[0] ?? "up";
  if (values.state !== undefined && values.state !== "file" && values.state !== "postgres") throw new UsageError(`--state takes file or postgres (got "${values.state}")`);
  switch (action) {
    case "up":
      return await labUp({ root: REPO_ROOT, skipPackages: values["skip-packages"], state: values.state as "file" | "postgres" | undefined });
    case "down":
      return await labDown({ root: REPO_ROOT, force: values.force });
    case "status":
      return await labStatus({ root: REPO_ROOT });
    default:
      throw new UsageError(`unknown lab action "${action}" (up, down or status)`);
  }
}

/** Shown as the error and what to do next (exit 1). */
export const expected = [LabError];
