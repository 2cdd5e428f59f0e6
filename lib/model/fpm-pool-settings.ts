import type { InventoryPhp, PhpSettings } from "../schema/php-settings";
import type { PoolFieldValues } from "../schema/site-scope";

/** Process manager: workers on demand, stopped when idle, so a quiet site costs no memory. */
export const PM_DEFAULTS = { mode: "ondemand", processIdleTimeoutSec: 10 } as const;

/** Everything a pool's config file is made of besides its identity and paths. */
export interface FpmPoolSettings {
  phpVersion: string;
  pm: { mode: "ondemand"; maxChildren: number; processIdleTimeoutSec: number };
  /** The pool's PHP settings: the sites' php_settings over the inventory's php.defaults. */
  php: PhpSettings;
  /** The per-pool fields written on the sites (all sites of the pool agree, by the check). */
  fromSites: PoolFieldValues;
}

/**
 * A pool's settings from its sites (the first site's values; the check ensures the others
 * agree, and that none is above the inventory's php.max).
 */
export function poolSettings(phpVersion: string, sites: readonly { poolFields: PoolFieldValues }[], php: InventoryPhp): FpmPoolSettings {
  const fromSites = { ...(sites[0]?.poolFields ?? {}) } as PoolFieldValues;
  const asked = Object.fromEntries(Object.entries(fromSites.php_settings ?? {}).filter(([, v]) => v !== undefined));
  const settings: PhpSettings = { ...php.defaults, ...asked };
  return { phpVersion, pm: { ...PM_DEFAULTS, maxChildren: settings.max_children }, php: settings, fromSites };
}

/** The key of the pool a site of `handle` on `webHost` belongs to; undefined without PHP (no pool). */
export function poolKey(webHost: string, handle: string, php: string): string | undefined {
  return php === "none" ? undefined : `${webHost}/${php}/${handle}`;
}
