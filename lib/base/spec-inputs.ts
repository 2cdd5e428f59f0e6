import { RESOURCE_TOKENS } from "./tokens";

/**
 * Hosting accounts' and databases' inputs travel to the engine under one top-level property,
 * `spec`. The Node SDK makes an Output, its promises and a `propertyDependencies` entry per
 * top-level input property, not per nested value: at 10,000 members, the 2,500 accounts and
 * databases of a web shard with their thirteen properties each cost its no-op preview about a
 * tenth more than the same values under one (docs/architecture.md, "Sharded stacks"). Every
 * value stays a property the preview shows (`spec.sites`); the provider flattens `spec` at its
 * boundary (provider/main.ts), so the types' check, diff, create and update see what they saw
 * before, their outputs stay flat, and a state written before (flat inputs) diffs as no change.
 * The guard's plan (lib/guard/plan.ts) flattens it too: its rules read `target`, `sites`,
 * `status`, `archiveDir` by name.
 */
export const SPEC_PROPERTY = "spec";

/** The custom resources whose program sends their inputs under SPEC_PROPERTY. */
export const SPEC_INPUT_TOKENS: ReadonlySet<string> = new Set([RESOURCE_TOKENS.account, RESOURCE_TOKENS.database]);

type Props = Record<string, unknown>;
const isRecord = (v: unknown): v is Props => typeof v === "object" && v !== null && !Array.isArray(v);

/** Inputs with `spec` (an object) brought up to the top level, a value in `spec` winning; any other form as it is. */
export function flatSpec<T extends Props | undefined>(inputs: T): T {
  if (!inputs || !isRecord(inputs[SPEC_PROPERTY])) return inputs;
  const { [SPEC_PROPERTY]: spec, ...rest } = inputs as Props;
  return { ...rest, ...(spec as Props) } as T;
}

/** Flat inputs in the form the program sends for `token` (under `spec` for the types above). */
export function specFormOf(token: string, inputs: Props): Props {
  return SPEC_INPUT_TOKENS.has(token) ? { [SPEC_PROPERTY]: inputs } : inputs;
}
