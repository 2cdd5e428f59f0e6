import type { LoadedMember } from "../load/tree";
import type { Ctx } from "./context";
import { POOL_FIELDS } from "../schema/site-scope";
import { Report } from "./report";

type Member = Pick<LoadedMember, "src"> & { value: { handle: string; sites: ReadonlyArray<{ host: string; php: string }> } };

function show(v: unknown): string {
  return v === undefined ? "unset" : JSON.stringify(v);
}

/**
 * The sites of one PHP-FPM pool (one member, one PHP version) share its settings: a per-pool
 * field (lib/schema/site-scope.ts) written differently on two of them would leave one
 * site with the other's setting. Each site that disagrees with the pool's first site is
 * refused, naming both. A member's sites share one web host, so member and PHP version name
 * the pool.
 */
export function checkPoolAgreement(members: readonly Member[], report: Report, fields: readonly string[] = POOL_FIELDS): void {
  if (fields.length === 0) return;
  for (const m of members) {
    const first = new Map<string, number>();
    m.value.sites.forEach((s, i) => {
      if (s.php === "none") return;
      const j = first.get(s.php);
      if (j === undefined) return void first.set(s.php, i);
      const ref = m.value.sites[j] as Record<string, unknown> & { host: string };
      for (const f of fields) {
        const mine = (s as Record<string, unknown>)[f];
        const theirs = ref[f];
        if (JSON.stringify(mine) === JSON.stringify(theirs)) continue;
        const there = Report.where(m.src, ["sites", j, f]);
        report.at(m.src, ["sites", i, f], {
          en: `is ${show(mine)} but site ${ref.host} (${there}) has ${show(theirs)}, and both run in ${m.value.handle}'s PHP ${s.php} pool, which has one ${f} (write the same value on both sites, or give one of them another PHP version)`,
          fr: `vaut ${show(mine)} alors que le site ${ref.host} (${there}) a ${show(theirs)}, et les deux tournent dans le pool PHP ${s.php} de ${m.value.handle}, qui n'a qu'un seul ${f} (écrivez la même valeur sur les deux sites, ou donnez à l'un d'eux une autre version de PHP)`,
        });
      }
    });
  }
}

/** The check on the tree being built. */
export function checkFpmPoolAgreement(ctx: Ctx): void {
  checkPoolAgreement(ctx.current, ctx.report);
}
