import { createHash } from "node:crypto";
import { changedKeys, type ResourceType } from "./types";
import { BENCH_NOOP_TOKEN } from "../lib/base/tokens";
import { splitStackName } from "../lib/model/shards";

/**
 * Dry mode of the provider, for `npm run bench -- engine` only: it needs a stack with state
 * (a no-op preview diffs against it) without contacting any host.
 *
 * Enabled only by GLOBENET_PROVIDER_DRY_RUN=1 exactly, and only on the stack named "bench"
 * (any other stack fails at its first resource). Then `create` returns the outputs the real
 * one would (the type's dryOutputs, else the inputs) under an id derived from the type and the
 * inputs, `update` likewise from the new inputs, `read`
 * returns the stored props and `delete` does nothing: no SSH at all. `check` and `diff` stay
 * the real ones, so a no-op preview measures the real path. The type globenet:bench:Noop (the
 * bench's engine floor: a trivial resource) exists only in this mode.
 */
export const DRY_RUN = process.env.GLOBENET_PROVIDER_DRY_RUN === "1";
export const DRY_RUN_STACK = "bench";
export const NOOP_TOKEN = BENCH_NOOP_TOKEN;

if (DRY_RUN) {
  // Loud on purpose: this mode records resources in the state that exist nowhere.
  process.stderr.write(
    `\n!!!!! globenet provider: DRY RUN (GLOBENET_PROVIDER_DRY_RUN=1): create/update/delete touch NO host; ` +
      `the state will claim resources that do not exist. For the "${DRY_RUN_STACK}" stack of npm run bench only. !!!!!\n\n`,
  );
}

/** Deterministic id: the type and the inputs (the bench's inputs differ per resource). */
function dryId(token: string, inputs: unknown): string {
  return `dry-${createHash("sha256").update(token).update("\0").update(JSON.stringify(inputs)).digest("hex").slice(0, 24)}`;
}

/** The real check and diff; create/read/update/delete that touch nothing. */
function dry(token: string, real: ResourceType<any, any>): ResourceType<any, any> {
  return {
    check: (news, olds) => real.check(news, olds),
    diff: (id, olds, news) => real.diff(id, olds, news),
    create: async (inputs) => ({ id: dryId(token, inputs), outs: real.dryOutputs ? real.dryOutputs(inputs) : inputs }),
    read: async (_id, props) => props,
    update: async (_id, olds, news) => (real.dryOutputs ? real.dryOutputs(news, olds) : news),
    delete: async () => undefined,
  };
}

/** A trivial resource: its inputs are its outputs. */
const noopType: ResourceType = dry(NOOP_TOKEN, {
  check: (news) => ({ inputs: news }),
  diff: (_id, olds, news) => {
    const diffs = changedKeys(olds, news);
    return { changes: diffs.length > 0, diffs };
  },
  create: async () => {
    throw new Error("unreachable");
  },
  read: async () => undefined,
  update: async () => ({}),
  delete: async () => undefined,
});

const wrapped = new Map<string, ResourceType<any, any>>();

/**
 * The implementation the provider uses for `token` of resource `urn`: `real` itself unless
 * dry mode is on; then the dry wrapper (or the Noop type), refused outside the bench stack.
 */
export function dryRunImpl(urn: string, token: string, real: ResourceType<any, any> | undefined): ResourceType<any, any> | undefined {
  if (!DRY_RUN) return real;
  // urn:pulumi:<stack>::<project>::<type>::<name>
  const stack = urn.split("::")[0]?.split(":")[2];
  // The bench's shards (bench.<shard>: docs/architecture.md, "Sharded stacks") are the bench stack too.
  if (splitStackName(stack ?? "").stack !== DRY_RUN_STACK) {
    throw new Error(`GLOBENET_PROVIDER_DRY_RUN=1 is set, and stack "${stack}" is not the "${DRY_RUN_STACK}" stack: refusing to fake resources (unset GLOBENET_PROVIDER_DRY_RUN)`);
  }
  if (token === NOOP_TOKEN) return noopType;
  if (!real) return undefined;
  let w = wrapped.get(token);
  if (!w) wrapped.set(token, (w = dry(token, real)));
  return w;
}
