import { isRecord } from "../base/record";
import { splitUrn } from "../base/urn";
import { changedInputs, flatSpec, SPEC_PROPERTY } from "../base/spec-inputs";
import { STORE_FOLDER_PROPERTY } from "../base/tokens";

/**
 * A preview's plan in one shape, whichever way it was obtained: from the Automation API's
 * engine events (`npm run preview -- --plan-json`) or from the Pulumi CLI's own
 * `pulumi preview --json` (steps with oldState/newState). Only what the guard needs is kept.
 */
export interface PlanStep {
  /** Pulumi's op: same, create, update, delete, replace, create-replacement, delete-replaced… */
  op: string;
  urn: string;
  type: string;
  name: string;
  /** Inputs before and after (what the state held, what the program asks for), flat: an account's, database's or guest's `spec` brought up. */
  old?: Record<string, unknown>;
  new?: Record<string, unknown>;
  /**
   * Outputs before (what the state held; after a refresh, what the host has): the drift job
   * names from them what differs from git (a file set's live hashes, an account's drift list).
   */
  oldOutputs?: Record<string, unknown>;
  /** The properties the provider or the engine says differ, when it says so. */
  diffs?: string[];
}

export interface Plan {
  stack: string;
  steps: PlanStep[];
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json | undefined => (isRecord(v) ? v : undefined);
const strings = (v: unknown): string[] | undefined => (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === "string") ? (v as string[]) : undefined);
/** Inputs (and outputs) as the rules read them: an account's, database's or guest's `spec` brought up (lib/base/spec-inputs.ts). */
const inputsOf = (v: unknown): Json | undefined => flatSpec(obj(v));
/** The engine's list names `spec` as a whole: the rules need the properties in it, which stepDiffs finds from the flat inputs. */
const diffsOf = (v: unknown): string[] | undefined => {
  const d = strings(v);
  return d?.includes(SPEC_PROPERTY) ? undefined : d;
};

/**
 * The properties a step changes: the engine's own list when it gives one, else the top-level
 * inputs that differ between before and after (the engine leaves the list empty for some
 * steps, such as an update or a replacement following an adoption's import).
 */
export function stepDiffs(s: PlanStep): string[] {
  if (s.diffs?.length) return s.diffs;
  if (!s.old || !s.new) return [];
  // The store's folder is where the runner that applied kept the contents, not a host's setting:
  // the provider's diffs ignore it, and so does this one (a drift job's checkout elsewhere is no change).
  return changedInputs(s.old, s.new).filter((k) => k !== STORE_FOLDER_PROPERTY);
}

/** One engine event's resourcePreEvent.metadata (StepEventMetadata), as a step. */
export function stepFromEvent(meta: Json): PlanStep | undefined {
  const urn = typeof meta.urn === "string" ? meta.urn : undefined;
  const op = typeof meta.op === "string" ? meta.op : undefined;
  if (!urn || !op) return undefined;
  const { type, name } = splitUrn(urn);
  return { op, urn, type: typeof meta.type === "string" ? meta.type : type, name, old: inputsOf(obj(meta.old)?.inputs), new: inputsOf(obj(meta.new)?.inputs), oldOutputs: inputsOf(obj(meta.old)?.outputs), diffs: diffsOf(meta.diffs) };
}

/** Reads a plan file: ours ({ stack, steps }) or `pulumi preview --json` ({ steps: [{ op, urn, oldState, newState }] }). */
export function parsePlan(text: string, file: string): Plan {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not JSON (${(e as Error).message}): pass the output of npm run preview -- --plan-json FILE or pulumi preview --json`);
  }
  const o = obj(raw);
  const steps = Array.isArray(o?.steps) ? (o?.steps as unknown[]) : undefined;
  if (!o || !steps) throw new Error(`${file}: no "steps" list: pass the output of npm run preview -- --plan-json FILE or pulumi preview --json`);
  const out: PlanStep[] = [];
  for (const s of steps) {
    const st = obj(s);
    // A refresh step is the engine reading a resource (preview --refresh), not a change (lib/guard/collect.ts).
    if (!st || typeof st.urn !== "string" || typeof st.op !== "string" || st.op === "refresh") continue;
    const { type, name } = splitUrn(st.urn);
    out.push({
      op: st.op,
      urn: st.urn,
      type: typeof st.type === "string" ? st.type : type,
      name: typeof st.name === "string" ? st.name : name,
      old: inputsOf(st.old) ?? inputsOf(obj(st.oldState)?.inputs),
      new: inputsOf(st.new) ?? inputsOf(obj(st.newState)?.inputs),
      oldOutputs: inputsOf(st.oldOutputs) ?? inputsOf(obj(st.oldState)?.outputs),
      diffs: diffsOf(st.diffs),
    });
  }
  const stack = typeof o.stack === "string" ? o.stack : (out[0]?.urn.split(":")[2] ?? "");
  return { stack, steps: out };
}
