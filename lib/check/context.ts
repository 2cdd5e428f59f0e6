import type { LoadedMember, LoadedTree, Sourced } from "../load/tree";
import type { Inventory } from "../schema/inventory";
import { Report } from "./report";

/** What every cross-file check gets: the loaded files, the inventory and where to report. */
export interface Ctx {
  tree: LoadedTree;
  inventory: Sourced<Inventory>;
  report: Report;
  /** Members that still have things on our hosts: active and suspended, sorted by handle. */
  current: LoadedMember[];
  /** The same members by handle: a lookup per name, never a scan of every member. */
  currentByHandle: ReadonlyMap<string, LoadedMember>;
}

export function makeCtx(tree: LoadedTree, inventory: Sourced<Inventory>): Ctx {
  const current = [...tree.members.values()].filter((m) => m.value.status !== "departed").sort((a, b) => cmp(a.value.handle, b.value.handle));
  return { tree, inventory, report: new Report(tree.changed), current, currentByHandle: new Map(current.map((m) => [m.value.handle, m])) };
}

export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Path of a field inside the inventory, for messages pointing at Pulumi.<stack>.yaml. */
export function invPath(ctx: Ctx, ...rest: Array<string | number>): Array<string | number> {
  return [...ctx.inventory.at, ...rest] as Array<string | number>;
}

/** The forward (not .arpa) zones the data tree has a file for. */
export function forwardZones(ctx: Ctx): Set<string> {
  return new Set([...ctx.tree.zones.keys()].filter((z) => !z.endsWith(".arpa")));
}
