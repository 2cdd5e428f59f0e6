import { labDown, labStatus, labUp } from "../lab/commands";
import { multiDown, multiStatus, multiUp } from "../lab/multi";
import { labPaths } from "../lab/paths";
import { readTopology } from "../lab/topology-record";
import { LabError } from "../base/proc";
import { REPO_ROOT, UsageError } from "./args";
import type { Args, Io } from "./command";

/** npm run lab (table entry and help: lib/cli/commands.ts). */
export async function runLab(a: Args, _io: Io): Promise<number> {
  const values = { "skip-packages": a.flag("skip-packages"), force: a.flag("force"), state: a.str("state"), topology: a.str("topology") };
  const positionals = a.positionals;
  if (positionals.length > 1) throw new UsageError(`lab takes one action (up, down or status), not "${positionals.join(" ")}"`);
  const action = positionals[0] ?? "up";
  if (values.state !== undefined && values.state !== "file" && values.state !== "postgres") throw new UsageError(`--state takes file or postgres (got "${values.state}")`);
  if (values.topology !== undefined && values.topology !== "single" && values.topology !== "multi") throw new UsageError(`--topology takes single or multi (got "${values.topology}")`);
  if (values.topology !== undefined && action !== "up") throw new UsageError("--topology is for up: down and status act on whatever topology is up (.lab/topology.json)");
  // Up starts the multi-host lab unless --topology single (docs/architecture.md, "Multi-host lab":
  // it fits CI's time); down and status follow whatever is up.
  const multi = action === "up" ? values.topology !== "single" : readTopology(labPaths(REPO_ROOT))?.topology === "multi";
  if (multi && action === "up" && values.state !== undefined) {
    throw new UsageError(
      `--state is for the single-address lab (stack lab): the multi-host lab, the default, keeps stack lab-multi's state in .lab/state. For the lab's state in PostgreSQL: npm run lab -- --topology single --state ${values.state}`,
    );
  }
  switch (action) {
    case "up":
      if (multi) return await multiUp({ root: REPO_ROOT, skipPackages: values["skip-packages"] });
      return await labUp({ root: REPO_ROOT, skipPackages: values["skip-packages"], state: values.state as "file" | "postgres" | undefined });
    case "down":
      if (multi) return await multiDown({ root: REPO_ROOT, force: values.force });
      return await labDown({ root: REPO_ROOT, force: values.force });
    case "status":
      if (multi) return await multiStatus({ root: REPO_ROOT });
      return await labStatus({ root: REPO_ROOT });
    default:
      throw new UsageError(`unknown lab action "${action}" (up, down or status)`);
  }
}

/** Shown as the error and what to do next (exit 1). */
export const expected = [LabError];
