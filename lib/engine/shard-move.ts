import { Stack } from "@pulumi/pulumi/automation";
import { DriverError, onBackend, type OpenedWorkspace } from "./driver";
import { SHARD_SEPARATOR } from "../model/shards";

/**
 * Moving objects between shards (docs/architecture.md, "Sharded stacks") without recreating
 * anything: after the inventory's `shards` changed, each shard's preview creates what the rule
 * now puts there and deletes what it took away. An object deleted in one shard and created,
 * under the same type, parents and name, in another is the same object moved: its state (id,
 * inputs, outputs, secrets) is moved between the two stacks with the engine's own
 * `pulumi state move`, which keeps ids, so the next previews show nothing to create or delete.
 * Anything else a preview shows stays for the guarded apply.
 */

export interface ShardMove {
  from: string;
  to: string;
  /** URNs in the source shard's stack. */
  urns: string[];
}

/** urn:pulumi:<stack>::<project>::<types>::<name> → the part after the stack. */
export function urnKey(urn: string): string {
  return urn.split("::").slice(1).join("::");
}

/**
 * The moves that make each shard's plan a no-op for moved objects: per shard, the steps of its
 * preview. A create with no delete elsewhere (a new object) or a delete with no create (a
 * removed one) is no move. Pure; ordered by source, target, URN.
 */
export function movesFromPlans(plans: Record<string, ReadonlyArray<{ op: string; urn: string }>>): ShardMove[] {
  const created = new Map<string, string>();
  for (const [shard, steps] of Object.entries(plans)) for (const s of steps) if (s.op === "create") created.set(urnKey(s.urn), shard);
  const moves = new Map<string, ShardMove>();
  for (const [shard, steps] of Object.entries(plans)) {
    for (const s of steps) {
      if (s.op !== "delete") continue;
      const to = created.get(urnKey(s.urn));
      if (to === undefined || to === shard) continue;
      const id = `${shard}\0${to}`;
      const m = moves.get(id) ?? { from: shard, to, urns: [] };
      m.urns.push(s.urn);
      moves.set(id, m);
    }
  }
  return [...moves.values()].map((m) => ({ ...m, urns: [...m.urns].sort() })).sort((a, b) => (a.from + a.to < b.from + b.to ? -1 : a.from + a.to > b.from + b.to ? 1 : 0));
}

/** What a stack would delete were its shard gone from the program: every resource its state holds but the stack and its providers. Pure. */
export function deletesOfState(resources: ReadonlyArray<{ urn: string; type: string }>): Array<{ op: "delete"; urn: string }> {
  return resources.filter((r) => r.type !== "pulumi:pulumi:Stack" && !r.type.startsWith("pulumi:providers:")).map((r) => ({ op: "delete", urn: r.urn }));
}

/**
 * The shards of `stack` that have a stack in the backend but are no longer in the inventory
 * (`shards`): a bucket taken away by a smaller `buckets:`. No program of theirs runs, so their
 * "plan" is their state, all of it deleted (deletesOfState): what another shard now creates is
 * moved there like any move, and what is left (a bucket's part of its host's sets) goes with
 * the stack's destroy (`npm run destroy -- --shard NAME`, allowed for a shard no longer listed).
 */
export async function removedShardPlans(w: Pick<OpenedWorkspace, "ws" | "backend" | "secrets">, stack: string, shards: readonly string[]): Promise<Record<string, Array<{ op: "delete"; urn: string }>>> {
  const names = (await onBackend(w, stack, () => w.ws.listStacks())).map((s) => s.name);
  const out: Record<string, Array<{ op: "delete"; urn: string }>> = {};
  for (const name of names.sort()) {
    // A backend may qualify the name (organization/project/stack).
    const short = name.slice(name.lastIndexOf("/") + 1);
    if (!short.startsWith(`${stack}${SHARD_SEPARATOR}`)) continue;
    const shard = short.slice(stack.length + 1);
    if (shards.includes(shard)) continue;
    const dep = await onBackend(w, name, async () => (await Stack.select(name, w.ws)).exportStack());
    const resources = ((dep.deployment as { resources?: Array<{ urn: string; type: string }> } | undefined)?.resources ?? []);
    out[shard] = deletesOfState(resources);
  }
  return out;
}

/**
 * Moves `urns` from stack `source` to stack `dest` of the workspace's backend (both stacks
 * take their locks for the move, as an update does). The engine refuses a resource whose
 * URN the destination already has.
 */
export async function stateMove(w: Pick<OpenedWorkspace, "ws" | "backend" | "secrets">, source: string, dest: string, urns: readonly string[]): Promise<string> {
  if (urns.length === 0) return "";
  const cmd = w.ws.pulumiCommand as unknown as { run(args: string[], cwd: string, env: Record<string, string>): Promise<{ stdout: string; stderr: string }> };
  try {
    const r = await onBackend(w, source, () => cmd.run(["state", "move", "--source", source, "--dest", dest, "--yes", "--non-interactive", "--color", "never", ...urns], w.ws.workDir, w.ws.envVars));
    return r.stdout;
  } catch (e) {
    if (e instanceof DriverError) throw e;
    throw new DriverError(`moving ${urns.length} resource(s) from ${source} to ${dest} failed: ${(e as Error).message.split("\n").slice(-8).join("\n")}`);
  }
}
