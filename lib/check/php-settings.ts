import { PHP_SETTING_NAMES } from "../schema/php-settings";
import { invPath, type Ctx } from "./context";
import { Report } from "./report";

/**
 * A site's php_settings stay within the inventory's php.max: the web host's memory is shared
 * by every member's pool, so what one site may take is the hosting team's decision, written in
 * the inventory, not the member's.
 */
export function checkPhpSettingsWithinMax(ctx: Ctx): void {
  const max = ctx.inventory.value.php.max;
  const where = Report.where(ctx.inventory.src, invPath(ctx, "php", "max"));
  for (const m of ctx.current) {
    m.value.sites.forEach((s, i) => {
      for (const f of PHP_SETTING_NAMES) {
        const v = s.php_settings?.[f];
        if (v === undefined || v <= max[f]) continue;
        ctx.report.at(m.src, ["sites", i, "php_settings", f], {
          en: `is ${v}, above this stack's maximum of ${max[f]} (php.max.${f}, ${where}) (ask the hosting team: they raise php.max in the inventory if the web host has room)`,
          fr: `vaut ${v}, au-dessus du maximum de cette pile, ${max[f]} (php.max.${f}, ${where}) (demandez à l'équipe d'hébergement : elle relève php.max dans l'inventaire si l'hôte web a de la place)`,
        });
      }
    });
  }
}

/**
 * A member's disk_quota_mb and inode_quota stay within the inventory's disk_quota.max_mb and
 * max_inodes (the web host's disk is shared, as its memory is). Unset, they are the inventory's
 * defaults, which its schema keeps within the maxima.
 */
export function checkDiskQuotaWithinMax(ctx: Ctx): void {
  const q = ctx.inventory.value.disk_quota;
  const fields = [
    { field: "disk_quota_mb", max: q.max_mb, key: "max_mb" },
    { field: "inode_quota", max: q.max_inodes, key: "max_inodes" },
  ] as const;
  for (const { field, max, key } of fields) {
    const where = Report.where(ctx.inventory.src, invPath(ctx, "disk_quota", key));
    for (const m of ctx.current) {
      const v = m.value[field];
      if (v === undefined || v <= max) continue;
      ctx.report.at(m.src, [field], {
        en: `is ${v}, above this stack's maximum of ${max} (disk_quota.${key}, ${where}) (ask the hosting team: they raise disk_quota.${key} in the inventory if the web host's disk has room)`,
        fr: `vaut ${v}, au-dessus du maximum de cette pile, ${max} (disk_quota.${key}, ${where}) (demandez à l'équipe d'hébergement : elle relève disk_quota.${key} dans l'inventaire si le disque de l'hôte web a de la place)`,
      });
    }
  }
}

/** A member's quotas as its account gets them: its file's, or the inventory's defaults. */
export function memberQuota(m: { disk_quota_mb?: number; inode_quota?: number }, inv: { disk_quota: { default_mb: number; default_inodes: number } }): { diskQuotaMb: number; inodeQuota: number } {
  return { diskQuotaMb: m.disk_quota_mb ?? inv.disk_quota.default_mb, inodeQuota: m.inode_quota ?? inv.disk_quota.default_inodes };
}
