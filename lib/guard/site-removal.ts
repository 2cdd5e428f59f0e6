import { RESOURCE_TOKENS } from "../base/tokens";
import type { PlanStep } from "./plan";
import type { Loss } from "./rules";

/**
 * A site removed from a member (its host dropped from `sites`, or renamed) is an *update* of
 * the hosting account, never a delete: the provider archives ~<handle>/sites/<host> (verified)
 * and then deletes the folder. An op-based rule does not see it, so the account's site list
 * before and after is compared here: each host that goes is a loss like any other deletion.
 */

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);

export function siteLosses(step: PlanStep): Loss[] {
  // A deleted or replaced account is already a loss as a whole (its home, sites included).
  if (step.type !== RESOURCE_TOKENS.account || step.op !== "update") return [];
  const before = strings(step.old?.sites);
  const after = new Set(strings(step.new?.sites));
  const i = step.new ?? step.old ?? {};
  const handle = typeof i.handle === "string" ? i.handle : step.name;
  const t = i.target;
  const host = t && typeof t === "object" && typeof (t as Record<string, unknown>).name === "string" ? ((t as Record<string, unknown>).name as string) : "?";
  const archiveDir = typeof i.archiveDir === "string" ? i.archiveDir : "<archive_dir>";
  return before
    .filter((s) => !after.has(s))
    .sort()
    .map((site) => ({
      path: `members/${handle}/sites/${site}`,
      coveredBy: [`members/${handle}`],
      description: `members/${handle}: site folder ~${handle}/sites/${site} (its files) would be deleted on ${host}`,
      archive: `${archiveDir}/sites/${handle}--${site}-<UTC time>.tar.gz on ${host}, verified before anything is removed`,
      fr: {
        description: `members/${handle} : le dossier du site ~${handle}/sites/${site} (ses fichiers) serait supprimé sur ${host}`,
        archive: `${archiveDir}/sites/${handle}--${site}-<heure UTC>.tar.gz sur ${host}, vérifiée avant toute suppression`,
      },
    }));
}
