import { isDeepStrictEqual } from "node:util";
import { parse } from "yaml";

/**
 * What of a stack file (Pulumi.<stack>.yaml) a merge request may change and still get a prod
 * plan from the trusted mr-plans job: only `config: globenet-infra:inventory`, the hosts,
 * addresses and pools, which the project's schema checks strictly. Everything else in the
 * file steers the engine itself (encryptionsalt, secretsprovider, an ESC environment, other
 * config keys such as pulumi:* settings): code-like, so a change there is planned by nobody
 * before review, and the note says so.
 */
export const INVENTORY_KEY = "globenet-infra:inventory";

type Doc = Record<string, unknown>;

function parsed(text: string, label: string): { doc?: Doc; problem?: string } {
  try {
    const v: unknown = parse(text);
    if (v === null || v === undefined) return { doc: {} };
    if (typeof v !== "object" || Array.isArray(v)) return { problem: `${label} is not a YAML mapping` };
    return { doc: v as Doc };
  } catch (e) {
    return { problem: `${label} is not valid YAML (${(e as Error).message.split("\n")[0]})` };
  }
}

/** The file's settings other than the inventory, flattened one level: "encryptionsalt", "config.pulumi:tags"… */
function outsideInventory(doc: Doc): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const [k, v] of Object.entries(doc)) {
    if (k === "config" && v && typeof v === "object" && !Array.isArray(v)) {
      for (const [ck, cv] of Object.entries(v as Doc)) if (ck !== INVENTORY_KEY) out.set(`config.${ck}`, cv);
    } else {
      out.set(k, v);
    }
  }
  return out;
}

/**
 * The settings outside the inventory that differ between two versions of a stack file, by
 * name (sorted); [] when only the inventory (or nothing) differs. Pure.
 */
export function changesOutsideInventory(before: string, after: string, file: string): string[] {
  const a = parsed(before, `${file} (before)`);
  const b = parsed(after, `${file} (after)`);
  if (a.problem || b.problem) return [a.problem ?? b.problem ?? ""];
  const x = outsideInventory(a.doc as Doc);
  const y = outsideInventory(b.doc as Doc);
  const keys = [...new Set([...x.keys(), ...y.keys()])].sort();
  return keys.filter((k) => !isDeepStrictEqual(x.get(k), y.get(k)));
}
