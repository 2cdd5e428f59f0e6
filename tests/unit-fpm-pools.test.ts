// Unit tier: no root, no daemon, no engine. Sites sharing a PHP-FPM pool agree on its settings.
import { describe, expect, it } from "vitest";
import { checkPoolAgreement } from "../lib/check/fpm-pools";
import { Report } from "../lib/check/report";
import { parseYamlFile } from "../lib/load/yaml-file";
import { PM_DEFAULTS, poolSettings } from "../lib/model/fpm-pool-settings";
import { POOL_FIELDS, SITE_FIELD_SCOPE } from "../lib/schema/site-scope";
import { PHP_DEFAULTS, PHP_MAX, PHP_SETTING_NAMES, sitePhpSettings } from "../lib/schema/php-settings";
import { fpmPools } from "../lib/model/types";
import { site } from "../lib/schema/member";
import { renderFpmPool } from "../lib/render/fpm-pool";
import { unwrap } from "../lib/schema/walk";
import { makeModel } from "./fixtures/model";
import { another } from "./helpers/schema-values";

const FILE = "members/velo-libre/member.yaml";

/** A member file whose sites carry a planted per-pool field, php_memory_mb (no such field exists today). */
function member(sites: string): { src: NonNullable<ReturnType<typeof parseYamlFile>["yf"]>; value: { handle: string; sites: { host: string; php: string }[] } } {
  const text = `handle: velo-libre\nsites:\n${sites}`;
  const { yf, errors } = parseYamlFile(FILE, text);
  if (!yf || errors.length > 0) throw new Error(`fixture does not parse: ${JSON.stringify(errors)}`);
  return { src: yf, value: yf.data as { handle: string; sites: { host: string; php: string }[] } };
}

const PLANTED = ["php_memory_mb"];

describe("sites of one pool agree on its settings", () => {
  const ok: [string, string][] = [
    ["one site", `  - { host: a.example, php: "8.2", php_memory_mb: 256 }\n`],
    ["two sites, same value", `  - { host: a.example, php: "8.2", php_memory_mb: 256 }\n  - { host: b.example, php: "8.2", php_memory_mb: 256 }\n`],
    ["two sites, both unset", `  - { host: a.example, php: "8.2" }\n  - { host: b.example, php: "8.2" }\n`],
    ["other PHP version: another pool", `  - { host: a.example, php: "8.2", php_memory_mb: 256 }\n  - { host: b.example, php: "8.3", php_memory_mb: 512 }\n`],
    ["no PHP: no pool", `  - { host: a.example, php: "8.2", php_memory_mb: 256 }\n  - { host: b.example, php: none, php_memory_mb: 512 }\n`],
  ];
  it.each(ok)("accepts %s", (_what, sites) => {
    const r = new Report();
    checkPoolAgreement([member(sites)], r, PLANTED);
    expect(r.errors).toEqual([]);
  });

  const refused: [string, string, { line: number; field: string; message: string; fr: string }[]][] = [
    [
      "two sites, two values",
      `  - { host: a.example, php: "8.2", php_memory_mb: 256 }\n  - { host: b.example, php: "8.2", php_memory_mb: 512 }\n`,
      [{ line: 4, field: "sites[1].php_memory_mb", message: `is 512 but site a.example (${FILE}:3 sites[0].php_memory_mb) has 256, and both run in velo-libre's PHP 8.2 pool, which has one php_memory_mb (write the same value on both sites, or give one of them another PHP version)`, fr: `vaut 512 alors que le site a.example (${FILE}:3 sites[0].php_memory_mb) a 256, et les deux tournent dans le pool PHP 8.2 de velo-libre, qui n'a qu'un seul php_memory_mb (écrivez la même valeur sur les deux sites, ou donnez à l'un d'eux une autre version de PHP)` }],
    ],
    [
      "set on one site, unset on the other",
      `  - { host: a.example, php: "8.2" }\n  - { host: b.example, php: "8.2", php_memory_mb: 512 }\n`,
      [{ line: 4, field: "sites[1].php_memory_mb", message: expect.stringContaining("is 512 but site a.example (members/velo-libre/member.yaml:3 sites[0].php_memory_mb) has unset") as unknown as string, fr: expect.stringContaining("vaut 512") as unknown as string }],
    ],
    [
      "three sites, the third differs from the first",
      `  - { host: a.example, php: "8.2", php_memory_mb: 256 }\n  - { host: b.example, php: "8.3", php_memory_mb: 512 }\n  - { host: c.example, php: "8.2", php_memory_mb: 128 }\n`,
      [{ line: 5, field: "sites[2].php_memory_mb", message: expect.stringMatching(/^is 128 but site a\.example \(.*:3 sites\[0\]\.php_memory_mb\) has 256/) as unknown as string, fr: expect.any(String) as unknown as string }],
    ],
  ];
  it.each(refused)("refuses %s, naming both sites", (_what, sites, expected) => {
    const r = new Report();
    checkPoolAgreement([member(sites)], r, PLANTED);
    expect(r.errors.map((e) => ({ line: e.line, field: e.field, message: e.message, fr: e.fr }))).toEqual(expected);
    expect(r.errors.every((e) => e.file === FILE)).toBe(true);
  });

  it("two members are two pools, even with the same PHP version", () => {
    const r = new Report();
    const a = member(`  - { host: a.example, php: "8.2", php_memory_mb: 256 }\n`);
    const b = { ...member(`  - { host: b.example, php: "8.2", php_memory_mb: 512 }\n`), value: { handle: "ondes", sites: [{ host: "b.example", php: "8.2", php_memory_mb: 512 }] } };
    checkPoolAgreement([a, b], r, PLANTED);
    expect(r.errors).toEqual([]);
  });
});

describe("the pool's settings live in the model", () => {
  it("every site field says whether it belongs to the site or the pool", () => {
    expect(Object.keys(SITE_FIELD_SCOPE).sort()).toEqual(Object.keys(site.shape).sort());
  });

  it("pools carry their settings, derived from their sites", () => {
    const pools = fpmPools(makeModel());
    expect(pools.length).toBeGreaterThan(0);
    for (const p of pools) expect(p.settings).toEqual({ phpVersion: p.phpVersion, pm: { ...PM_DEFAULTS, maxChildren: 5 }, php: { ...PHP_DEFAULTS }, fromSites: Object.fromEntries(POOL_FIELDS.map((f) => [f, undefined])) });
  });

  const php = { defaults: { ...PHP_DEFAULTS }, max: { ...PHP_MAX } };
  const table: [string, Record<string, number> | undefined, Record<string, number>][] = [
    ["nothing asked: the inventory's defaults", undefined, { ...PHP_DEFAULTS }],
    ["one field asked, the others default", { memory_limit_mb: 256 }, { ...PHP_DEFAULTS, memory_limit_mb: 256 }],
    ["every field asked", { memory_limit_mb: 300, upload_max_mb: 64, max_execution_time_s: 120, max_children: 8 }, { memory_limit_mb: 300, upload_max_mb: 64, max_execution_time_s: 120, max_children: 8 }],
  ];
  it.each(table)("a pool's PHP settings: %s", (_what, asked, expected) => {
    const sites = [{ poolFields: { php_settings: asked } }, { poolFields: { php_settings: asked } }] as Parameters<typeof poolSettings>[1];
    const s = poolSettings("8.2", sites, php);
    expect(s.php).toEqual(expected);
    expect(s.pm).toEqual({ ...PM_DEFAULTS, maxChildren: expected.max_children });
  });

  it("the inventory's defaults are what a pool gets when its sites ask for nothing", () => {
    const s = poolSettings("8.2", [{ poolFields: { php_settings: undefined } }] as Parameters<typeof poolSettings>[1], { defaults: { ...PHP_DEFAULTS, memory_limit_mb: 96 }, max: { ...PHP_MAX } });
    expect(s.php.memory_limit_mb).toBe(96);
  });
});

describe("every per-pool setting reaches the pool's file", () => {
  it("the rendered pool changes with each per-pool field (a field the renderer ignored would pass validation and do nothing)", () => {
    const model = makeModel();
    const pool = fpmPools(model)[0];
    expect(pool).toBeDefined();
    const plain = renderFpmPool(pool as NonNullable<typeof pool>, model);
    const p = pool as NonNullable<typeof pool>;
    // An object field (php_settings) changes one of its own fields at a time.
    const variants = POOL_FIELDS.flatMap((f): [string, unknown][] =>
      f === "php_settings"
        ? PHP_SETTING_NAMES.map((k) => [`${f}.${k}`, { [k]: another(unwrap(sitePhpSettings.shape[k]), PHP_DEFAULTS[k]) }])
        : [[f, another(unwrap(site.shape[f as keyof typeof site.shape]), undefined)]],
    );
    const ignored = variants.filter(([f, value]) => {
      const field = f.split(".")[0] as string;
      const settings = poolSettings(p.phpVersion, [{ poolFields: { ...p.settings.fromSites, [field]: value } }], model.inventory.php);
      return renderFpmPool({ ...p, settings }, model) === plain;
    });
    expect(variants.length).toBeGreaterThanOrEqual(PHP_SETTING_NAMES.length);
    expect(ignored.map(([f]) => f)).toEqual([]);
  });
});
