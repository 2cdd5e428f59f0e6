import type { Site } from "./member";

/**
 * A PHP-FPM pool serves every site of one member with one PHP version on its web host
 * (lib/model/types.ts, fpmPools). What is set per site but applies to the whole pool must
 * therefore be the same on all of those sites; lib/check/fpm-pools.ts refuses sites that
 * disagree. It sits beside the schema so that the model and the checks both read it from below.
 *
 * Every field of a site says here where it applies. The type makes the list complete: a field
 * added to the site schema without a line here fails `npx tsc` (docs/architecture.md,
 * "Adding a field").
 * - "site": the site's own (its vhost).
 * - "pool-key": chooses the pool (sites with another PHP version are in another pool).
 * - "pool": a setting of the pool; the sites of one pool must agree on it.
 */
export const SITE_FIELD_SCOPE = {
  host: "site",
  aliases: "site",
  redirects: "site",
  webroot: "site",
  php: "pool-key",
  php_settings: "pool",
  tls: "site",
  tls_none_reason: "site",
  dns: "site",
} as const satisfies { readonly [K in keyof Site]-?: "site" | "pool-key" | "pool" };

type Scope = typeof SITE_FIELD_SCOPE;

/** The site fields that are settings of the pool. */
export type PoolField = { [K in keyof Scope]: Scope[K] extends "pool" ? K : never }[keyof Scope];
export type PoolFieldValues = Pick<Site, PoolField>;

export const POOL_FIELDS: readonly string[] = Object.entries(SITE_FIELD_SCOPE)
  .filter(([, scope]) => (scope as string) === "pool")
  .map(([field]) => field);

/** A site's values for the pool's settings (its pool's, once the check has passed). */
export function poolFieldsOf(site: Site): PoolFieldValues {
  return Object.fromEntries(POOL_FIELDS.map((f) => [f, (site as Record<string, unknown>)[f]])) as PoolFieldValues;
}

