import { isRecord } from "./record";
import { PULUMI_SECRET_SIG, PULUMI_SIG_KEY, RESOURCE_TOKENS } from "./tokens";

/**
 * Hosting accounts', databases' and libvirt guests' inputs travel to the engine as one
 * top-level property, `spec`: their inputs as one JSON text (keys sorted). The Node SDK makes
 * an Output, its promises and a `propertyDependencies` entry per top-level input property, and
 * walks every nested value on its way to the engine; at 10,000 members, the 2,500 accounts and
 * databases of a web shard with their thirteen properties each were most of its no-op
 * preview's distance to the engine's floor (docs/architecture.md, "Sharded stacks", has the
 * measures of the flat, the nested and this form; for the guests, about 5 % of `core`'s). The
 * values stay readable: the Pulumi CLI shows a JSON text's change as a structured diff
 * (`~ spec: (json) { ~ sites: … }`), and none of them is secret or an Output (the inputs are
 * plain data; a guest's contents are sha256 refs already). The provider brings `spec` up at
 * its boundary (provider/main.ts), so the types' check, diff, create, update, read and delete
 * see what they saw before, and a state written before (flat inputs, or `spec` as an object)
 * diffs as no change. Their outputs go the same way (specOutputsOf): the inputs' part as one
 * `spec` text, only what is not an input beside it (OUTPUT_ONLY). The guard's plan
 * (lib/guard/plan.ts) and adoption's facts (provider/adopt-ids.ts) bring it up too: they read
 * `target`, `sites`, `status`, `archiveDir`, a guest's `domain` and hardware by name.
 */
export const SPEC_PROPERTY = "spec";

/**
 * The outputs of these types that are not inputs: they stay top-level properties of the state
 * beside `spec`. The program's resources declare `archives` (a guest's `uuid` too) and a
 * database's `password` (a secret, which the engine keeps encrypted on its own), and the CI's
 * drift report reads `drift` (lib/ci/drift.ts). A guest's others are what libvirt says (`state`, `mac`) and
 * the digest of its declared contents (`xmlNormalized`, `xmlFacts`, `nwfilterNormalized`:
 * derived by the provider, never sent). The engine hands every output back to the program and
 * to the provider's diff at each run: fifteen flat properties each, for 2,500 accounts and
 * databases at 10,000 members, were about a second of a web shard's no-op preview
 * (docs/architecture.md, "Sharded stacks").
 */
export const OUTPUT_ONLY: Readonly<Record<string, ReadonlySet<string>>> = {
  [RESOURCE_TOKENS.account]: new Set(["archives", "diskQuotaEnforced", "drift", "marked"]),
  [RESOURCE_TOKENS.database]: new Set(["archives", "drift", "marked", "password"]),
  [RESOURCE_TOKENS.guest]: new Set(["archives", "drift", "mac", "nwfilterNormalized", "state", "uuid", "xmlFacts", "xmlNormalized"]),
};

/** The custom resources whose program sends their inputs as SPEC_PROPERTY: those of OUTPUT_ONLY. */
export const SPEC_INPUT_TOKENS: ReadonlySet<string> = new Set(Object.keys(OUTPUT_ONLY));

type Props = Record<string, unknown>;

/**
 * Objects' keys in order, at any depth: the form the engine hands an object over in (a
 * protobuf Struct's keys come sorted), which the types' diffs compare as JSON text. With
 * `forText`, a secret is refused: the text is stored as it is, a secret in it would be in clear.
 */
function sortedKeys(v: unknown, at: string, forText = false): unknown {
  if (Array.isArray(v)) return v.map((x, i) => sortedKeys(x, `${at}[${i}]`, forText));
  if (v instanceof Promise || (isRecord(v) && ("__pulumiOutput" in v || typeof v.then === "function"))) {
    throw new Error(`${at} is an Output or a promise: an account's, a database's or a guest's inputs go as plain values, one JSON text (lib/base/spec-inputs.ts)`);
  }
  if (!isRecord(v)) return v;
  if (forText && v[PULUMI_SIG_KEY] === PULUMI_SECRET_SIG) {
    throw new Error(`${at} is a secret: it cannot go in \`${SPEC_PROPERTY}\`, whose text the state keeps in clear; keep it a top-level output (OUTPUT_ONLY in lib/base/spec-inputs.ts)`);
  }
  return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortedKeys(v[k], `${at}.${k}`, forText)]));
}

/** A value's JSON text with objects' keys sorted: one text for equal values whatever their keys' order. */
export function sortedJson(v: unknown, at = "value"): string {
  return JSON.stringify(sortedKeys(v, at));
}

/** The JSON text `spec` carries: plain values, keys sorted. An Output, a promise or a secret is refused. */
export function specText(inputs: object): string {
  return JSON.stringify(sortedKeys(inputs, SPEC_PROPERTY, true));
}

/**
 * Inputs with `spec` (its JSON text, or an object) brought up to the top level, a value in
 * `spec` winning; any other form as it is. A `spec` text that is not a JSON object is refused.
 */
export function flatSpec<T extends Props | undefined>(inputs: T): T {
  const raw = inputs?.[SPEC_PROPERTY];
  if (!inputs || raw === undefined) return inputs;
  let spec: unknown = raw;
  if (typeof raw === "string") {
    try {
      spec = sortedKeys(JSON.parse(raw), SPEC_PROPERTY);
    } catch (e) {
      throw new Error(`${SPEC_PROPERTY}: not JSON (${(e as Error).message}): the program sends an account's, a database's or a guest's inputs as one JSON text; run the preview again from the repository's code`);
    }
  }
  if (!isRecord(spec)) {
    if (typeof raw === "string") throw new Error(`${SPEC_PROPERTY}: not a JSON object: the program sends an account's, a database's or a guest's inputs as one JSON object`);
    return inputs;
  }
  const { [SPEC_PROPERTY]: _spec, ...rest } = inputs as Props;
  return { ...rest, ...spec } as T;
}

/**
 * What the provider's types see of `token`'s inputs (provider/main.ts): `spec` brought up for
 * the types the program sends so, any other type's inputs as they are (the bench's trivial
 * type replays a state's `spec` text as one property, as the engine and the SDK carry it).
 */
export function flatSpecFor<T extends Props | undefined>(token: string, inputs: T): T {
  return SPEC_INPUT_TOKENS.has(token) ? flatSpec(inputs) : inputs;
}

/**
 * The top-level properties that differ between two sets of inputs, each in any form (`spec`
 * brought up; objects' keys' order is no change), sorted: what the guard's plan reads as a
 * step's changes (lib/guard/plan.ts), as they were named before `spec`.
 */
export function changedInputs(olds: Props | undefined, news: Props | undefined): string[] {
  const o = flatSpec(olds) ?? {};
  const n = flatSpec(news) ?? {};
  return [...new Set([...Object.keys(o), ...Object.keys(n)])].filter((k) => sortedJson(o[k]) !== sortedJson(n[k])).sort();
}

/** Flat inputs in the form the program sends for `token` (as `spec` for the types above). */
export function specFormOf(token: string, inputs: Props): Props {
  return SPEC_INPUT_TOKENS.has(token) ? { [SPEC_PROPERTY]: specText(inputs) } : inputs;
}

/**
 * A type's outputs in the form the provider answers for `token` (provider/main.ts): for the
 * types above, what is not in OUTPUT_ONLY goes into one `spec` text, as the inputs do; any
 * other type's outputs as they are. flatSpec brings them back.
 */
export function specOutputsOf(token: string, outs: Props): Props {
  const kept = OUTPUT_ONLY[token];
  if (!kept) return outs;
  const spec: Props = {};
  const rest: Props = {};
  for (const [k, v] of Object.entries(outs)) (kept.has(k) ? rest : spec)[k] = v;
  return { [SPEC_PROPERTY]: specText(spec), ...rest };
}
