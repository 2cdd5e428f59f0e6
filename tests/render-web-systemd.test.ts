/**
 * System tier: the systemd units that answer mod_md's reload request, checked by systemd itself
 * (the Debian package systemd; split from render-web.test.ts so the unit tier needs no Debian tool).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MD_RELOAD_FLAG, MD_RELOAD_PATH_UNIT, MD_RELOAD_SERVICE_UNIT, MD_RELOAD_UNIT } from "../lib/render/md-reload";
import { requireTool, run } from "./helpers/tools";

describe("mod_md's reload request", () => {
  it.skipIf(!requireTool("systemd-analyze", "systemd"))("the systemd units that answer the request pass systemd-analyze verify", () => {
    const dir = mkdtempSync(join(tmpdir(), "globenet-units-"));
    try {
      writeFileSync(join(dir, `${MD_RELOAD_UNIT}.path`), MD_RELOAD_PATH_UNIT);
      writeFileSync(join(dir, `${MD_RELOAD_UNIT}.service`), MD_RELOAD_SERVICE_UNIT);
      const r = run("systemd-analyze", ["verify", join(dir, `${MD_RELOAD_UNIT}.path`), join(dir, `${MD_RELOAD_UNIT}.service`)]);
      expect(`${r.stdout}${r.stderr}`.trim()).toBe("");
      expect(r.status).toBe(0);
      expect(MD_RELOAD_PATH_UNIT).toContain(`PathExists=${MD_RELOAD_FLAG}\n`);
      expect(MD_RELOAD_SERVICE_UNIT).toMatch(/ExecStart=\/bin\/rm -f -- \S+\nExecStart=\/bin\/systemctl try-reload-or-restart apache2\.service\n$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

});
