/**
 * Opening a stack from this machine: the engine knows no stack's SSH keys and never looks at
 * the machine; the lab does. For the lab stack this adds the lab's deploy key (made on first
 * use in .lab/ssh, never committed) unless GLOBENET_SSH_KEY_FILE already names one, and for
 * every stack this machine's facts (guest acceleration for `domain_type: auto`). Production
 * gets its key from CI's variables, exactly as before.
 *
 * The commands (lib/cli) and the lab open stacks and read hosts through here; the layers below
 * (lib/engine, lib/status) take the key and the facts as arguments.
 */
import { resolve } from "node:path";
import { REPO_ROOT } from "../base/repo";
import * as driver from "../engine/driver";
import type { StackOptions } from "../engine/driver";
import * as ops from "../engine/state-ops";
import { detectAccel } from "../host/accel";
import type { MachineFacts } from "../model/facts";
import * as remote from "../status/remote";
import type { Stack } from "@pulumi/pulumi/automation";
import { DataError } from "../load/diagnostic";
import { LabError } from "../base/proc";
import { ensureLabKeys } from "./keys";
import { loadModel } from "../check/build";
import { splitStackName } from "../model/shards";
import { mustStayOnMachine } from "./reach";

/** The stacks the lab applies: the single-address lab and the multi-host one (npm run lab -- --topology multi). */
const LAB_STACKS = new Set(["lab", "lab-multi"]);

/** This machine's facts, for the model of a stack applied from here. */
export function machineFacts(): MachineFacts {
  return { accel: detectAccel().domainType };
}

/** Whether `stack` is one the lab applies (lab, lab-multi): its deploy key, and npm run up without the guard. */
export function isLabStack(stack: string): boolean {
  return LAB_STACKS.has(stack);
}

/** The environment the lab gives a stack: its deploy key for the lab stack, nothing for the others. */
export function labKeyEnv(root: string, stack: string, given: Record<string, string> = {}): Record<string, string> {
  if (!isLabStack(stack)) return {};
  // The host key file Pulumi.lab.yaml pins must exist even when the deploy key comes from
  // elsewhere (CI's variables): the program reads it to build every host's target.
  const keys = ensureLabKeys(root);
  if (given.GLOBENET_SSH_KEY_FILE || process.env.GLOBENET_SSH_KEY_FILE) return {};
  return { GLOBENET_SSH_KEY_FILE: keys.deployKey };
}

/** `o` with the lab's key (lab stack) and this machine's facts added; what the caller gave wins. */
export function stackOptions(o: StackOptions): StackOptions {
  const root = resolve(o.root ?? REPO_ROOT);
  // A shard's stack (<stack>.<shard>) is its stack's: the same keys.
  return { ...o, env: { ...labKeyEnv(root, splitStackName(o.stack).stack, o.env), ...o.env }, facts: o.facts ?? machineFacts() };
}

export const openStack = (o: StackOptions) => driver.openStack(stackOptions(o));
export const openWorkspace = (o: StackOptions) => driver.openWorkspace(stackOptions(o));
export const migrateStack = (ctx: Parameters<typeof ops.migrateStack>[0]) => ops.migrateStack({ stackOptions, ...ctx });
export const recoverStack = (ctx: Parameters<typeof ops.recoverStack>[0]) => ops.recoverStack({ stackOptions, ...ctx });

/**
 * Before anything reaches the hosts of the multi-host lab's stack (its addresses are prod's): each
 * must be routed through a lab link (reach.ts), else a LabError and nothing is sent. After a
 * reboot .lab/topology.json may still name lab-multi while its namespaces are gone: `npm run up`
 * or `npm run status` would otherwise connect out through the gateway. Other stacks: nothing.
 */
export function mustReachLabHosts(root: string, stack: string): void {
  if (stack !== "lab-multi") return;
  const { model } = loadModel(resolve(root), stack, machineFacts());
  // Data errors are the command's own to report, with their places.
  for (const h of model?.hosts ?? []) {
    for (const a of new Set([h.address, h.ipv4, h.ipv6].filter((x): x is string => !!x))) mustStayOnMachine(a, `stack ${stack}, host ${h.name}`);
  }
}

/** Runs `fn`, which reads the stack's hosts (lib/status/remote.ts), with the lab's deploy key for the lab stack. */
export function onStackHosts<T>(root: string, stack: string, fn: () => Promise<T>, opts: { lingerMs?: number } = {}): Promise<T> {
  mustReachLabHosts(root, stack);
  return remote.withHostConnections(labKeyEnv(root, stack).GLOBENET_SSH_KEY_FILE, fn, opts);
}

/** A lab stack through the project's driver; its errors (no CLI, no Go…) already say what to do. */
export async function openLabStackNamed(stack: string, root: string): Promise<Stack> {
  try {
    return await openStack({ stack, root });
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw new LabError(`the engine could not open stack ${stack}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Resources of the stack, without the stack itself and the provider instances. */
export async function stackResources(stack: Stack): Promise<Array<{ type: string; urn: string }>> {
  const d = await stack.exportStack();
  return ((d.deployment as { resources?: Array<{ type: string; urn: string }> }).resources ?? []).filter((r) => r.type !== "pulumi:pulumi:Stack" && !r.type.startsWith("pulumi:providers:"));
}
