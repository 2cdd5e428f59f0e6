import { resolve } from "node:path";
import { labPaths } from "../lab/paths";
import { readTopology, type TopologyRecord } from "../lab/topology-record";
import { REPO_ROOT } from "./args";

/**
 * THE rule for the stack a command acts on when no --stack is given: the lab that is up in the
 * data tree's .lab/ (lib/lab/topology-record.ts: `npm run lab` records lab-multi there), else
 * lab (the single-address lab, or no lab up). Commands that read or change what runs (preview,
 * up, refresh, destroy, history, state, status, backup, dnssec, audit's update history) use it;
 * render and validate do not (nothing that is up changes what the data renders to).
 */
export function stackOrUpLab(given: string | undefined, up: Pick<TopologyRecord, "stack"> | undefined): string {
  return given ?? up?.stack ?? "lab";
}

/** What `root`'s .lab/topology.json says is up (the multi-host lab), or undefined; read only when no stack is given. */
function upRecord(given: string | undefined, root: string | undefined): Pick<TopologyRecord, "stack"> | undefined {
  return given === undefined ? readTopology(labPaths(resolve(root ?? REPO_ROOT))) : undefined;
}

/** --stack as given, else the lab that is up in `root` (lab-multi), else lab. */
export function defaultStack(given: string | undefined, root?: string): string {
  return stackOrUpLab(given, upRecord(given, root));
}

/** For npm run audit, whose fallback is its own (lab only when .lab/state has one): the stack given, else the multi-host lab's when it is up. */
export function givenOrUpLab(given: string | undefined, root?: string): string | undefined {
  return given ?? upRecord(given, root)?.stack;
}
