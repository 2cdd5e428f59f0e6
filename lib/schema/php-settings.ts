import { z } from "zod";
import { positiveInt } from "./common";

/**
 * A PHP-FPM pool's settings that a site may ask for (docs/architecture.md, "PHP per site").
 * The hard ceilings here are the schema's; the inventory's `php.max` sets the host's own, lower
 * ones, and `php.defaults` what a site gets when it asks for nothing.
 */
const fields = {
  /** PHP's memory_limit for one request, in MB. */
  memory_limit_mb: positiveInt("MB", 4096),
  /** upload_max_filesize in MB; post_max_size follows (one MB more, for the form around the file). */
  upload_max_mb: positiveInt("MB", 4096),
  /** max_execution_time in seconds (CPU time of the script); the pool ends a request after twice that, wall-clock. */
  max_execution_time_s: positiveInt("seconds", 3600),
  /** pm.max_children: how many requests of the pool run at once. */
  max_children: positiveInt("processes", 200),
} as const;

export type PhpSettingName = keyof typeof fields;
export const PHP_SETTING_NAMES = Object.keys(fields) as PhpSettingName[];

/** On a site: each field optional, the inventory's default otherwise. */
export const sitePhpSettings = z.strictObject({
  memory_limit_mb: fields.memory_limit_mb.optional(),
  upload_max_mb: fields.upload_max_mb.optional(),
  max_execution_time_s: fields.max_execution_time_s.optional(),
  max_children: fields.max_children.optional(),
});

/** Debian's php.ini values for FPM, and the pool size this repository always had. */
export const PHP_DEFAULTS = { memory_limit_mb: 128, upload_max_mb: 16, max_execution_time_s: 30, max_children: 5 } as const;
/** What a site may ask for without the inventory saying more. */
export const PHP_MAX = { memory_limit_mb: 512, upload_max_mb: 256, max_execution_time_s: 300, max_children: 20 } as const;

const complete = (d: Record<PhpSettingName, number>) =>
  z.strictObject({
    memory_limit_mb: fields.memory_limit_mb.default(d.memory_limit_mb),
    upload_max_mb: fields.upload_max_mb.default(d.upload_max_mb),
    max_execution_time_s: fields.max_execution_time_s.default(d.max_execution_time_s),
    max_children: fields.max_children.default(d.max_children),
  });

/** In the inventory: what sites get (defaults) and the most they may ask for (max). */
export const inventoryPhp = z
  .strictObject({
    defaults: complete(PHP_DEFAULTS).prefault({}),
    max: complete(PHP_MAX).prefault({}),
  })
  .superRefine((p, ctx) => {
    for (const f of PHP_SETTING_NAMES) {
      if (p.defaults[f] > p.max[f]) ctx.addIssue({ code: "custom", path: ["defaults", f], message: `is ${p.defaults[f]}, above php.max.${f} (${p.max[f]}): a site asking for nothing would already be over the limit (lower the default or raise the maximum)` });
    }
  });

export type SitePhpSettings = z.infer<typeof sitePhpSettings>;
export type InventoryPhp = z.infer<typeof inventoryPhp>;
export type PhpSettings = Record<PhpSettingName, number>;
