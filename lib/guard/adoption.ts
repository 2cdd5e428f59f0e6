import { RESOURCE_TOKENS } from "../base/tokens";
import type { Bilingual, Lang } from "../i18n/lang";
import { stepDiffs, type Plan } from "./plan";
import { RESTARTING_KEYS } from "../../provider/resources/guest-check";
import { formatMpmSwitches, mpmSwitches, type MpmSwitch } from "./mpm";

/**
 * The guard of an adoption (npm run up -- --adopt; docs/architecture.md, "Adoption"): the
 * first `up` after an import takes over what runs and changes only what git says differently,
 * as updates. Any step that would delete or replace something (a resource, or a component
 * grouping them) is refused, whatever Allow-Destroy lines say: adoption is not the time, and
 * the message says what to do instead.
 */

/** Steps that remove or remake something. */
const REFUSED = new Set(["delete", "replace", "create-replacement", "delete-replaced", "import-replacement", "read-replacement", "discard", "discard-replaced"]);

export interface AdoptionRefusal {
  urn: string;
  type: string;
  name: string;
  op: string;
  message: Bilingual;
}

export interface AdoptionVerdict {
  ok: boolean;
  refused: AdoptionRefusal[];
  /** Names of the resources taken over from their hosts. */
  imported: string[];
  /** `type name: property, …` of the resources the adoption changes, each an update. */
  updated: string[];
  /** Names of the resources the adoption makes (types adoption creates anew; provider/adopt-ids.ts). */
  created: string[];
  /** Web hosts whose Apache the adoption would restart to switch its MPM (./mpm.ts): refused unless allowed. */
  restarts: MpmSwitch[];
  /** VPS the adoption's update stops and starts (what git changes needs it), with those properties: said, not refused. */
  guestRestarts: { name: string; keys: string[] }[];
  /**
   * Secondary name servers whose hand-made zones the adoption takes over, with those zones: said,
   * not refused (their hand-made copies keep being served until the first signed transfer).
   */
  secondaryTakeovers: { host: string; zones: string[] }[];
}

const stringsOf = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);

/** A bind-secondary set's update that takes over zones: its host and the zones not taken over before. */
function secondaryTakeover(s: Plan["steps"][number], diffs: readonly string[]): { host: string; zones: string[] } | undefined {
  if (s.type !== RESOURCE_TOKENS.fileSet || s.new?.kind !== "bind-secondary" || !diffs.includes("takeover")) return undefined;
  const before = new Set(stringsOf(s.old?.takeover));
  const zones = stringsOf(s.new?.takeover).filter((z) => !before.has(z));
  const target = s.new?.target && typeof s.new.target === "object" ? (s.new.target as Record<string, unknown>) : {};
  return zones.length ? { host: typeof target.name === "string" ? target.name : s.name, zones } : undefined;
}

function refusal(op: string, type: string, name: string, diffs: string[]): Bilingual {
  const what = `${type} ${name}`;
  if (op === "delete" || op === "discard") {
    return {
      en: `${what} would be deleted: it is in the state but not in the data. Adoption deletes nothing: put it back in the data (npm run import writes it), adopt, then remove it in a change of its own, which the guard judges as any removal.`,
      fr: `${what} serait supprimé : il est dans l'état mais plus dans les données. L'adoption ne supprime rien : remettez-le dans les données (npm run import l'écrit), adoptez, puis retirez-le dans un changement à part, que le garde-fou juge comme tout retrait.`,
    };
  }
  const props = diffs.length ? diffs.join(", ") : "a property that cannot change in place";
  return {
    en: `${what} would be replaced (made anew) because of ${props}: adoption keeps what runs. Make the data say what the host has for ${props} (npm run import writes it), adopt, then change it in a change of its own, which the guard judges as any replacement.`,
    fr: `${what} serait remplacé (refait à neuf) à cause de ${props} : l'adoption garde ce qui tourne. Faites dire aux données ce que l'hôte a pour ${props} (npm run import l'écrit), adoptez, puis changez-le dans un changement à part, que le garde-fou juge comme tout remplacement.`,
  };
}

const PROVIDER_TYPES = new Set<string>(Object.values(RESOURCE_TOKENS));

/** `allowances`: Allow-Destroy/Allow-Restart paths (and --allow); only `restart/<host>` counts here. */
export function judgeAdoption(plan: Plan, allowances: readonly string[] = []): AdoptionVerdict {
  const refused: AdoptionRefusal[] = [];
  const imported: string[] = [];
  const updated: string[] = [];
  const created: string[] = [];
  const guestRestarts: AdoptionVerdict["guestRestarts"] = [];
  const secondaryTakeovers: AdoptionVerdict["secondaryTakeovers"] = [];
  // A replacement is announced in several steps (its "delete original" without diffs): one refusal per resource, with every step's diffs.
  const refusedSteps = new Map<string, { step: (typeof plan.steps)[number]; diffs: Set<string> }>();
  for (const s of plan.steps) {
    if (s.type === "pulumi:pulumi:Stack" || s.type.startsWith("pulumi:providers:")) continue;
    if (REFUSED.has(s.op)) {
      const r = refusedSteps.get(s.urn) ?? { step: s, diffs: new Set<string>() };
      for (const d of stepDiffs(s)) r.diffs.add(d);
      refusedSteps.set(s.urn, r);
    } else if (s.op === "import") imported.push(s.name);
    else if (s.op === "update") {
      const diffs = stepDiffs(s);
      updated.push(`${s.type} ${s.name}${diffs.length ? `: ${diffs.join(", ")}` : ""}`);
      const keys = s.type === RESOURCE_TOKENS.guest ? diffs.filter((d) => RESTARTING_KEYS.includes(d)) : [];
      if (keys.length) guestRestarts.push({ name: s.name, keys });
      const secondary = secondaryTakeover(s, diffs);
      if (secondary) secondaryTakeovers.push(secondary);
    }
    else if (s.op === "create" && PROVIDER_TYPES.has(s.type)) created.push(s.name);
  }
  for (const { step: s, diffs } of refusedSteps.values()) refused.push({ urn: s.urn, type: s.type, name: s.name, op: s.op, message: refusal(s.op, s.type, s.name, [...diffs].sort()) });
  const restarts = mpmSwitches(plan, allowances);
  return { ok: refused.length === 0 && restarts.every((r) => r.allowedBy), refused, imported, updated, created, restarts, guestRestarts, secondaryTakeovers };
}


export function formatAdoption(v: AdoptionVerdict, lang: Lang = "en"): string {
  const fr = lang === "fr";
  const lines: string[] = [];
  lines.push(
    v.ok
      ? fr
        ? `adoption : OK — ${v.imported.length} objet(s) repris des hôtes, ${v.updated.length} mis à jour vers git, ${v.created.length} créé(s) ; rien n'est remplacé ni supprimé.`
        : `adoption: OK — ${v.imported.length} object(s) taken over from the hosts, ${v.updated.length} updated to git, ${v.created.length} created; nothing is replaced or deleted.`
      : v.refused.length === 0
        ? fr
          ? "adoption : REFUSÉE — elle redémarrerait Apache pour changer son MPM, sans autorisation ; rien n'a été changé :"
          : "adoption: REFUSED — it would restart Apache to change its MPM, which is not allowed; nothing was changed:"
        : fr
          ? "adoption : REFUSÉE — ce plan remplacerait ou supprimerait ce qui tourne ; rien n'a été changé :"
          : "adoption: REFUSED — this plan would replace or delete what runs; nothing was changed:",
  );
  for (const r of v.refused) lines.push(`  ${fr ? r.message.fr : r.message.en}`);
  if (v.restarts.length) lines.push(formatMpmSwitches(v.restarts, lang));
  if (v.ok) for (const u of v.updated) lines.push(`  ${fr ? "mise à jour" : "update"}  ${u}`);
  // A guest as git describes it is adopted without a restart; one git changes is restarted by its update.
  if (v.ok) {
    for (const g of v.guestRestarts) {
      lines.push(
        fr
          ? `  redémarrage  VPS ${g.name} : sa mise à jour l'arrête puis le redémarre pour appliquer ${g.keys.join(", ")} (faites dire aux données ce qui tourne pour l'adopter sans redémarrage, et changez-le plus tard à une heure creuse)`
          : `  restart  VPS ${g.name}: its update stops and starts it to apply ${g.keys.join(", ")} (make the data say what runs to adopt it without a restart, and change it later at a quiet hour)`,
      );
    }
  }
  // A secondary taken over keeps answering: said, so a volunteer knows what to watch (dig @<host> <zone> SOA).
  if (v.ok) {
    for (const t of v.secondaryTakeovers) {
      lines.push(
        fr
          ? `  secondaire  ${t.host} : ses copies faites à la main de ${t.zones.join(", ")} deviennent celles de Globenet avant son rechargement ; il les sert jusqu'au premier transfert signé avec la clé de Globenet, qui apporte le nouveau numéro de série du primaire (son ancienne clé et ses transferts par adresse ne servent plus)`
          : `  secondary  ${t.host}: its hand-made copies of ${t.zones.join(", ")} become Globenet's before its reload; it serves them until the first transfer signed with Globenet's key brings the primary's new serial (its old key and transfers by address are no longer used)`,
      );
    }
  }
  return lines.join("\n");
}

/**
 * After `up --adopt`: where the takeover kept the hand-made files it disabled, one line per
 * host (the file sets' `takeoverBackup` outputs, from the state). Putting them back is the way
 * back; removing them for good is the runbook's last step.
 */
export function takeoverBackupLines(resources: ReadonlyArray<{ type: string; outputs?: Record<string, unknown> }>, lang: Lang = "en"): string[] {
  const byHost = new Map<string, string[]>();
  for (const r of resources) {
    const o = r.outputs ?? {};
    const backup = typeof o.takeoverBackup === "string" ? o.takeoverBackup : undefined;
    const target = o.target && typeof o.target === "object" ? (o.target as Record<string, unknown>) : {};
    const host = typeof target.name === "string" ? target.name : undefined;
    if (r.type !== RESOURCE_TOKENS.fileSet || !backup || !host) continue;
    byHost.set(host, [...(byHost.get(host) ?? []), backup]);
  }
  return [...byHost.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([host, dirs]) => {
      const list = [...new Set(dirs)].sort().join(", ");
      return lang === "fr"
        ? `reprise : sur ${host}, les définitions faites à la main qui ont été désactivées sont gardées dans ${list} (les remettre est le retour en arrière ; les effacer est la dernière étape du guide)`
        : `takeover: on ${host}, the hand-made definitions it disabled are kept in ${list} (putting them back is the way back; removing them is the runbook's last step)`;
    });
}
