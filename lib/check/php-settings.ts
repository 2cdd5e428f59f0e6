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
