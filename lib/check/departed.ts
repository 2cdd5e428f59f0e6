import type { Ctx } from "../model/context";
import type { Bilingual } from "../i18n/lang";

/**
 * A departed member keeps its member.yaml (the handle stays taken) and nothing else: the model
 * leaves departed members out, so a site, database, key or VPS still written there would be
 * silently ignored while the volunteer believes it is served or kept. Each one is an error
 * saying what to remove (members/README.md, "A member leaves"). VPS files are reported by
 * checkPlacement (lib/check/vps.ts), zones owned by a departed member and delegations to one
 * by the zone checks.
 */
export function checkDepartedLeftovers(ctx: Ctx): void {
  const departed = [...ctx.tree.members.values()].filter((m) => m.value.status === "departed").sort((a, b) => (a.value.handle < b.value.handle ? -1 : 1));
  for (const m of departed) {
    const v = m.value;
    const h = v.handle;
    const guide = 'see members/README.md, "A member leaves"';
    const guideFr = 'voir docs/guide-benevole.md, 3.7 « Un adhérent part »';
    const leftovers: Array<[string, number, Bilingual]> = [
      ["sites", v.sites.length, {
        en: `${h} has departed: these ${v.sites.length} site(s) are no longer served, and their folders are archived, then deleted with the home (remove sites:; ${guide})`,
        fr: `${h} est parti : ces ${v.sites.length} site(s) ne sont plus servis, et leurs dossiers sont archivés puis effacés avec le dossier personnel (supprimez sites: ; ${guideFr})`,
      }],
      ["databases", v.databases.length, {
        en: `${h} has departed: these ${v.databases.length} database(s) are dumped to the archive, then dropped (remove databases:; ${guide})`,
        fr: `${h} est parti : ces ${v.databases.length} base(s) de données sont sauvegardées dans l'archive, puis supprimées (supprimez databases: ; ${guideFr})`,
      }],
      ["ssh_keys", v.ssh_keys.length, {
        en: `${h} has departed: these ${v.ssh_keys.length} SSH key(s) open nothing any more (remove ssh_keys:; ${guide})`,
        fr: `${h} est parti : ces ${v.ssh_keys.length} clé(s) SSH n'ouvrent plus rien (supprimez ssh_keys: ; ${guideFr})`,
      }],
    ];
    for (const [field, count, message] of leftovers) if (count > 0) ctx.report.at(m.src, [field], message);
  }
}
