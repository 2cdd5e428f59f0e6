import type { PoolFieldValues } from "../schema/site-scope";

/** Process manager limits: the same for every pool today (workers on demand, stopped when idle). */
export const PM_DEFAULTS = { mode: "ondemand", maxChildren: 5, processIdleTimeoutSec: 10 } as const;

/** Everything a pool's config file is made of besides its identity and paths. */
export interface FpmPoolSettings {
  phpVersion: string;
  pm: { mode: "ondemand"; maxChildren: number; processIdleTimeoutSec: number };
  /** The per-pool fields written on the sites (all sites of the pool agree, by the check). */
  fromSites: PoolFieldValues;
}

/** A pool's settings from its sites (the first site's values; the check ensures the others agree). */
export function poolSettings(phpVersion: string, sites: readonly { poolFields: PoolFieldValues }[]): FpmPoolSettings {
  return { phpVersion, pm: { ...PM_DEFAULTS }, fromSites: { ...(sites[0]?.poolFields ?? {}) } as PoolFieldValues };
}

/** The key of the pool a site of `handle` on `webHost` belongs to; undefined without PHP (no pool). */
export function poolKey(webHost: string, handle: string, php: string): string | undefined {
  return php === "none" ? undefined : `${webHost}/${php}/${handle}`;
}
