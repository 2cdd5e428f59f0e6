import type { Ctx } from "./context";
import type { Bilingual } from "../i18n/lang";

/**
 * A departed member keeps its member.yaml (the handle stays taken) and nothing else: the model
 * leaves departed members out, so a site, database, key or VPS still written there would be
 * silently ignored while the volunteer believes it is served or kept. Each one is an error
 * saying what to remove (members/README.md, "A member leaves"). VPS files are reported by
 * vpsEntries (lib/check/vps.ts), zones owned by a departed member and delegations to one
 * by the zone checks.
 */
export function checkDepartedLeftovers(ctx: Ctx): void {
  // Purging archives is for a member that has left: on anyone else it is a mistake.
  for (const m of ctx.tree.members.values()) {
    if (m.value.purge_archives && m.value.status !== "departed") {
      ctx.report.at(m.src, ["purge_archives"], {
        en: `purge_archives is only for a departed member (status: departed); ${m.value.handle} is ${m.value.status} and its archives are kept (remove purge_archives)`,
        fr: `purge_archives ne vaut que pour un adhérent parti (status: departed) ; ${m.value.handle} est ${m.value.status} et ses archives sont gardées (retirez purge_archives)`,
      });
    }
  }
  const departed = [...ctx.tree.members.values()].filter((m) => m.value.status === "departed").sort((a, b) => (a.value.handle < b.value.handle ? -1 : 1));
  for (const m of departed) {
    const v = m.value;
    const h = v.handle;
    const guide = 'see members/README.md, "A member leaves"';
    const guideFr = 'voir docs/guide-benevole.md, 3.7 « Un adhérent part »';
    const one = (n: number) => n === 1;
    const sites = v.sites.length;
    const dbs = v.databases.length;
    const keys = v.ssh_keys.length;
    const leftovers: Array<[string, number, Bilingual]> = [
      ["sites", sites, {
        en: `${h} has departed: ${one(sites) ? `its site ${v.sites[0]?.host} is no longer served, and its folder is` : `its ${sites} sites are no longer served, and their folders are`} archived, then deleted with the home (remove sites:; ${guide})`,
        fr: `${h} est parti : ${one(sites) ? `son site ${v.sites[0]?.host} n'est plus servi, et son dossier est archivé puis effacé` : `ses ${sites} sites ne sont plus servis, et leurs dossiers sont archivés puis effacés`} avec le dossier personnel (supprimez sites: ; ${guideFr})`,
      }],
      ["databases", dbs, {
        en: `${h} has departed: ${one(dbs) ? `its database ${v.databases[0]?.name} is` : `its ${dbs} databases are`} dumped to the archive, then dropped (remove databases:; ${guide})`,
        fr: `${h} est parti : ${one(dbs) ? `sa base de données ${v.databases[0]?.name} est sauvegardée dans l'archive, puis supprimée` : `ses ${dbs} bases de données sont sauvegardées dans l'archive, puis supprimées`} (supprimez databases: ; ${guideFr})`,
      }],
      ["ssh_keys", keys, {
        en: `${h} has departed: ${one(keys) ? "its SSH key opens" : `its ${keys} SSH keys open`} nothing any more (remove ssh_keys:; ${guide})`,
        fr: `${h} est parti : ${one(keys) ? "sa clé SSH n'ouvre" : `ses ${keys} clés SSH n'ouvrent`} plus rien (supprimez ssh_keys: ; ${guideFr})`,
      }],
    ];
    if (v.sftp_password_hash) {
      leftovers.push(["sftp_password_hash", 1, {
        en: `${h} has departed: its SFTP password opens nothing any more (remove sftp_password_hash: and access:; ${guide})`,
        fr: `${h} est parti : son mot de passe SFTP n'ouvre plus rien (supprimez sftp_password_hash: et access: ; ${guideFr})`,
      }]);
    }
    for (const [field, count, message] of leftovers) if (count > 0) ctx.report.at(m.src, [field], message);
  }
}
