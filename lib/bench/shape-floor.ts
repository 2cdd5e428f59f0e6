import * as pulumi from "@pulumi/pulumi";
import type { Stack } from "@pulumi/pulumi/automation";
import { BENCH_NOOP_TOKEN, PULUMI_SECRET_SIG, PULUMI_SIG_KEY } from "../base/tokens";
import { splitUrn } from "../base/urn";
import { openBenchStack } from "./engine";

/**
 * The engine's floor for the very resources a shard declares (`npm run bench -- engine
 * --sharded`): the same names, parents, dependencies and inputs, replayed by a program that
 * computes nothing and declares each custom resource as the provider's trivial type (its check
 * takes the inputs as they are, its diff compares them key by key). The bare floor (as many
 * trivial resources of one small input) prices the resource count; this one prices the same
 * resources' properties too, which the SDK, gRPC and the engine pay for whoever declares them.
 * What the real program takes over this floor is ours: loading the data, rendering, our
 * provider's check and diff, the outputs it returns.
 */

/** A resource of a state, as `pulumi stack export` writes it (the fields read here). */
export interface StateResource {
  urn: string;
  type: string;
  custom?: boolean;
  parent?: string;
  dependencies?: string[] | null;
  inputs?: Record<string, unknown>;
}

export interface Replayed {
  urn: string;
  /** The component's own type; custom resources become the trivial type. */
  type: string;
  custom: boolean;
  name: string;
  /** The parent's URN, unless the parent is the stack. */
  parent?: string;
  dependsOn: string[];
  inputs: Record<string, unknown>;
}

/** The resource's name (lib/base/urn.ts), refusing what is not a resource URN. */
export function nameOfUrn(urn: string): string {
  if (urn.split("::").length < 4) throw new Error(`not a resource URN: ${urn}`);
  return splitUrn(urn).name;
}

/**
 * The resources to replay, in the state's order (parents and dependencies first): neither
 * the stack (the replaying program's own) nor providers (the engine's default one serves both).
 */
export function replayPlan(resources: StateResource[]): Replayed[] {
  const stack = resources.find((r) => r.type === "pulumi:pulumi:Stack")?.urn;
  const out: Replayed[] = [];
  const kept = new Set<string>();
  for (const r of resources) {
    if (r.type === "pulumi:pulumi:Stack" || r.type.startsWith("pulumi:providers:")) continue;
    const custom = r.custom === true;
    if (r.parent && r.parent !== stack && !kept.has(r.parent)) throw new Error(`${r.urn}: its parent ${r.parent} comes after it in the state`);
    const dependsOn = (r.dependencies ?? []).filter((d) => d !== stack);
    const late = dependsOn.find((d) => !kept.has(d));
    if (late) throw new Error(`${r.urn}: its dependency ${late} comes after it in the state`);
    out.push({
      urn: r.urn,
      type: custom ? BENCH_NOOP_TOKEN : r.type,
      custom,
      name: nameOfUrn(r.urn),
      ...(r.parent && r.parent !== stack ? { parent: r.parent } : {}),
      dependsOn,
      inputs: custom ? (r.inputs ?? {}) : {},
    });
    kept.add(r.urn);
  }
  return out;
}

/**
 * A decrypted export's secrets ({ <sig>: <secret sig>, plaintext: <JSON> }) as the program
 * declares them: `secret` of the value, so the engine keeps them encrypted as the real run does.
 */
export function reviveSecrets(v: unknown, secret: (x: unknown) => unknown): unknown {
  if (Array.isArray(v)) return v.map((x) => reviveSecrets(x, secret));
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    if (o[PULUMI_SIG_KEY] === PULUMI_SECRET_SIG) {
      if (typeof o.plaintext !== "string") throw new Error("a secret of the state is not decrypted: export it with its secrets (the Automation API's exportStack does)");
      return secret(reviveSecrets(JSON.parse(o.plaintext), secret));
    }
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, reviveSecrets(x, secret)]));
  }
  return v;
}

class Replica extends pulumi.CustomResource {
  constructor(name: string, props: pulumi.Inputs, opts: pulumi.CustomResourceOptions) {
    super(BENCH_NOOP_TOKEN, name, props, opts);
  }
}

class ReplicaComponent extends pulumi.ComponentResource {
  constructor(type: string, name: string, opts: pulumi.ComponentResourceOptions) {
    super(type, name, {}, opts);
    this.registerOutputs({});
  }
}

function replayProgram(plan: Replayed[]): () => Promise<Record<string, unknown>> {
  return async () => {
    const made = new Map<string, pulumi.Resource>();
    const get = (urn: string) => made.get(urn) as pulumi.Resource;
    for (const r of plan) {
      const opts = { ...(r.parent ? { parent: get(r.parent) } : {}), ...(r.dependsOn.length ? { dependsOn: r.dependsOn.map(get) } : {}) };
      const inputs = reviveSecrets(r.inputs, (x) => pulumi.secret(x)) as pulumi.Inputs;
      made.set(r.urn, r.custom ? new Replica(r.name, inputs, opts) : new ReplicaComponent(r.type, r.name, opts));
    }
    return { resources: plan.length };
  };
}

/** A stack (in `dir`, beside the bench's others) whose program replays `plan`. */
export function openShapeFloor(dir: string, plan: Replayed[], name: string): Promise<Stack> {
  return openBenchStack(dir, name, replayProgram(plan));
}
