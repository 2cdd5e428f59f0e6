import { DriverError, onBackend, type OpenedWorkspace } from "./driver";

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
