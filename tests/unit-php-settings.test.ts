// Unit tier: no root, no daemon. A site's PHP settings: within the inventory's maxima, on a
// site with PHP, agreed by the sites of one pool, and rendered as admin values of its pool.
import { describe, expect, it } from "vitest";
import { loadModel } from "../lib/check/build";
import { fpmPools } from "../lib/model/types";
import { renderFpmPool } from "../lib/render/fpm-pool";
import { baseFiles, errorsOf, memberWith, writeTree } from "./helpers/data-tree";

const M = "members/velo-libre/member.yaml";
const site = (settings: string) => memberWith('    php: "8.2"\n', `    php: "8.2"\n    php_settings: ${settings}\n`);
const inventoryWith = (php: string) => (baseFiles()["Pulumi.test.yaml"] as string).replace('    php_versions: ["8.2"]\n', `    php_versions: ["8.2"]\n    php: ${php}\n`);

describe("php_settings are refused with file:line and what to do", () => {
  const refused: [string, Record<string, string>, string][] = [
    ["above the stack's default maximum", { [M]: site("{ memory_limit_mb: 1024 }") }, `${M}:11:38 sites[0].php_settings.memory_limit_mb: is 1024, above this stack's maximum of 512 (php.max.memory_limit_mb, Pulumi.test.yaml:3 config["globenet-infra:inventory"].php.max) (ask the hosting team: they raise php.max in the inventory if the web host has room)`],
    ["above a maximum the inventory lowered", { [M]: site("{ max_children: 9 }"), "Pulumi.test.yaml": inventoryWith("{ max: { max_children: 8 } }") }, `${M}:11:35 sites[0].php_settings.max_children: is 9, above this stack's maximum of 8 (php.max.max_children, Pulumi.test.yaml:6 config["globenet-infra:inventory"].php.max)`],
    ["above the schema's ceiling", { [M]: site("{ upload_max_mb: 99999 }") }, `${M}:11:36 sites[0].php_settings.upload_max_mb: must be at most 4096 MB (ask the hosting team if you need more)`],
    ["a number in quotes", { [M]: site('{ memory_limit_mb: "256M" }') }, `${M}:11:38 sites[0].php_settings.memory_limit_mb: must be a whole number of MB (write a number without quotes)`],
    ["a field that does not exist", { [M]: site("{ display_errors: 1 }") }, `${M}:11:21 sites[0].php_settings.display_errors: unknown key (allowed here: memory_limit_mb, upload_max_mb, max_execution_time_s, max_children)`],
    ["on a site without PHP", { [M]: memberWith('    php: "8.2"\n', "    php_settings: { memory_limit_mb: 256 }\n") }, `${M}:10:19 sites[0].php_settings: only makes sense on a site with PHP (add php: "8.2", or remove php_settings)`],
    ["an inventory default above its maximum", { "Pulumi.test.yaml": inventoryWith("{ defaults: { memory_limit_mb: 600 } }") }, 'Pulumi.test.yaml:6:41 config["globenet-infra:inventory"].php.defaults.memory_limit_mb: is 600, above php.max.memory_limit_mb (512): a site asking for nothing would already be over the limit (lower the default or raise the maximum)'],
  ];
  it.each(refused)("%s", (_what, files, expected) => {
    const errors = errorsOf(files);
    expect(errors.some((e) => e.startsWith(expected)), errors.join("\n")).toBe(true);
  });

  it("two sites of one pool asking for different settings are refused, naming both", () => {
    const two = site("{ memory_limit_mb: 256 }") + '  - host: blog.velo-libre.example\n    php: "8.2"\n    php_settings: { memory_limit_mb: 384 }\n';
    const errors = errorsOf({ [M]: two.replace("databases:\n  - name: velo_wp\n", "") + "databases:\n  - name: velo_wp\n" });
    expect(errors.join("\n")).toContain("php_settings: is {\"memory_limit_mb\":384} but site velo-libre.example");
  });

  it("within the maximum: valid, and the pool gets it as admin values", () => {
    const root = writeTree({ [M]: site("{ memory_limit_mb: 256, upload_max_mb: 64, max_execution_time_s: 120, max_children: 8 }") });
    const { model, errors } = loadModel(root, "test");
    expect(errors).toEqual([]);
    const pool = fpmPools(model!).find((p) => p.handle === "velo-libre")!;
    const text = renderFpmPool(pool, model!);
    for (const line of ["pm.max_children = 8", "php_admin_value[memory_limit] = 256M", "php_admin_value[upload_max_filesize] = 64M", "php_admin_value[post_max_size] = 65M", "php_admin_value[max_execution_time] = 120", "request_terminate_timeout = 240s"]) {
      expect(text.split("\n")).toContain(line);
    }
  });

  it("nothing asked: the inventory's defaults, which the inventory may change", () => {
    const { model } = loadModel(writeTree({ "Pulumi.test.yaml": inventoryWith("{ defaults: { memory_limit_mb: 96 } }") }), "test");
    const text = renderFpmPool(fpmPools(model!).find((p) => p.handle === "velo-libre")!, model!);
    expect(text.split("\n")).toEqual(expect.arrayContaining(["php_admin_value[memory_limit] = 96M", "php_admin_value[upload_max_filesize] = 16M", "pm.max_children = 5", "request_terminate_timeout = 60s"]));
  });
});
