/**
 * What putting a saved state back would change, resource by resource. Pure.
 * Deployments are Pulumi's export format ({ version, deployment: { resources: [...] } }).
 */

import { PULUMI_SIG_KEY } from "../base/tokens";

export interface DeploymentFile {
  version?: number;
  deployment?: { resources?: Array<{ urn: string; type?: string; inputs?: unknown; outputs?: unknown; [k: string]: unknown }>; pending_operations?: unknown[]; [k: string]: unknown };
}

export interface StateComparison {
  /** In the file, not in the current state: the restore brings them back. */
  added: string[];
  /** In the current state, not in the file: the restore forgets them (they stay on the hosts). */
  removed: string[];
  /** In both, with other inputs or outputs. */
  changed: string[];
  same: number;
}

/** "type name" from a URN: urn:pulumi:<stack>::<project>::<type chain>::<name>. */
export function urnLabel(urn: string): string {
  const parts = urn.split("::");
  const name = parts[parts.length - 1] ?? urn;
  const type = (parts[parts.length - 2] ?? "").split("$").pop() ?? "";
  return `${type} ${name}`;
}

/**
 * A stable text of a value. Secrets compare as equal whatever their ciphertext: every import
 * encrypts them again (with a new nonce), and a saved state cannot be decrypted to compare.
 */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object" && PULUMI_SIG_KEY in (v as object)) return '"<secret>"';
  if (v && typeof v === "object") {
    return `{${Object.keys(v as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v);
}

export function resourcesOf(d: DeploymentFile | undefined): Array<{ urn: string; inputs?: unknown; outputs?: unknown }> {
  return d?.deployment?.resources ?? [];
}

/** Resources other than the stack itself and provider instances: what `npm run lab -- status` counts. */
export function managedCount(d: DeploymentFile | undefined): number {
  return resourcesOf(d).filter((r) => {
    const t = urnLabel(r.urn).split(" ")[0] ?? "";
    return t !== "pulumi:pulumi:Stack" && !t.startsWith("pulumi:providers:");
  }).length;
}

export function compareDeployments(current: DeploymentFile | undefined, file: DeploymentFile): StateComparison {
  const now = new Map(resourcesOf(current).map((r) => [r.urn, r]));
  const want = new Map(resourcesOf(file).map((r) => [r.urn, r]));
  const out: StateComparison = { added: [], removed: [], changed: [], same: 0 };
  for (const [urn, r] of want) {
    const cur = now.get(urn);
    if (!cur) out.added.push(urnLabel(urn));
    else if (canonical({ i: cur.inputs, o: cur.outputs }) !== canonical({ i: r.inputs, o: r.outputs })) out.changed.push(urnLabel(urn));
    else out.same++;
  }
  for (const urn of now.keys()) if (!want.has(urn)) out.removed.push(urnLabel(urn));
  for (const l of [out.added, out.removed, out.changed]) l.sort();
  return out;
}
