import type { CheckFailure, DiffResult } from "@pulumi/pulumi/provider";
import type { Target } from "./ssh/connection";

/**
 * One resource type of the globenet provider. Inputs and outputs are plain JSON; every type
 * carries its connection facts (`target`) as an input and its credentials from the
 * provider's environment.
 */
export interface ResourceType<I = Record<string, unknown>, O = Record<string, unknown>> {
  /**
   * Returns the (possibly normalised) inputs, or failures naming the property. `olds`: the
   * inputs the state holds (what this check accepted before), when there is a state.
   */
  check(news: Record<string, unknown>, olds?: Record<string, unknown>): { inputs?: I; failures?: CheckFailure[] };
  diff(id: string, olds: O, news: I): DiffResult;
  create(inputs: I): Promise<{ id: string; outs: O }>;
  /** Live state; undefined when the thing is gone (refresh then drops it from the state). */
  read(id: string, props: O): Promise<O | undefined>;
  update(id: string, olds: O, news: I): Promise<O>;
  delete(id: string, props: O): Promise<void>;
  /**
   * Adoption (provider/adopt-ids.ts): the live object as the engine's import takes it, found
   * from `facts` (the program's inputs without what is read here): its outputs and the inputs
   * that describe it as it runs, so the engine's diff against git shows each difference as an
   * update. Throws, saying what to do, when the object is missing or a part of it cannot be
   * read back (never a guess). Types without it are not adopted (ADOPTION says why).
   */
  adopt?(id: string, facts: Record<string, unknown>): Promise<{ outs: O; inputs: Record<string, unknown> }>;
  /**
   * Dry mode only (provider/dry-run.ts, the bench): the outputs create (no `olds`) or update
   * would return, computed without any host, so the bench's state has the real shape.
   * Without it, dry mode returns the inputs as outputs.
   */
  dryOutputs?(inputs: I, olds?: O): O;
}

export type { Target };

/** The engine's placeholder for a value not known yet (a preview of something computed): checks pass it on. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** Changed top-level keys between two objects (JSON equality). */
export function changedKeys(olds: Record<string, unknown>, news: Record<string, unknown>, ignore: string[] = []): string[] {
  const keys = new Set([...Object.keys(olds), ...Object.keys(news)]);
  return [...keys].filter((k) => !ignore.includes(k) && JSON.stringify(olds[k]) !== JSON.stringify(news[k])).sort();
}
