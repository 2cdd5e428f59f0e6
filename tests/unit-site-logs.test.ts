// Unit tier: members' site logs go to the member's own folder, rotate as the inventory says.
import { describe, expect, it } from "vitest";
import { loadModel } from "../lib/check/build";
import { paths } from "../lib/model/paths";
import { renderApacheCommon, renderVhost } from "../lib/render";
import { renderSiteLogrotate } from "../lib/render/site-logrotate";
import { pathProblem } from "../provider/resources/file-set-inputs";
import { baseFiles, errorsOf, writeTree } from "./helpers/data-tree";
import { makeModel } from "./fixtures/model";

const inventoryWith = (extra: string) => (baseFiles()["Pulumi.test.yaml"] as string).replace('    php_versions: ["8.2"]\n', `    php_versions: ["8.2"]\n${extra}`);

describe("site logs", () => {
  it("every vhost, active or suspended, logs into its member's folder, never another's", () => {
    const model = makeModel();
    for (const site of model.sites) {
      const lines = renderVhost(site, model).split("\n").filter((l) => /^\s*(ErrorLog|CustomLog) /.test(l));
      expect(lines.length, site.host).toBeGreaterThan(0);
      for (const l of lines) expect(l, site.host).toMatch(new RegExp(`^\\s*(ErrorLog|CustomLog) \\$\\{GLOBENET_SITE_LOGS\\}/${site.handle}/${site.host.replace(/\./g, "\\.")}-(error|access)\\.log( combined)?$`));
    }
  });

  it("the shared conf defines the folder unless the provider's check defined a scratch one first", () => {
    expect(renderApacheCommon(makeModel())).toContain(`<IfDefine !GLOBENET_SITE_LOGS>\n    Define GLOBENET_SITE_LOGS ${paths.siteLogRoot}\n</IfDefine>`);
  });

  it("rotation keeps the inventory's site_logs.keep_days (default 14)", () => {
    const dflt = renderSiteLogrotate(loadModel(writeTree(), "test").model!);
    expect(dflt).toContain(`${paths.siteLogRoot}/*/*.log {`);
    expect(dflt).toMatch(/^ {4}rotate 14$/m);
    const kept = renderSiteLogrotate(loadModel(writeTree({ "Pulumi.test.yaml": inventoryWith("    site_logs: { keep_days: 90 }\n") }), "test").model!);
    expect(kept).toMatch(/^ {4}rotate 90$/m);
    expect(kept).toMatch(/^ {4}maxage 90$/m);
  });

  it("a keep_days that is not a whole number of days from 1 is refused with file:line", () => {
    expect(errorsOf({ "Pulumi.test.yaml": inventoryWith("    site_logs: { keep_days: 0 }\n") }).join("\n")).toMatch(/Pulumi\.test\.yaml:6:\d+ .*site_logs\.keep_days: must be at least 1 days/);
  });

  it("the apache2 file set takes the rotation file, and nothing else at its top", () => {
    expect(pathProblem("apache2", "logrotate-sites.conf")).toBeUndefined();
    expect(pathProblem("apache2", "logrotate.d/x.conf")).toMatch(/not a file of a apache2 set/);
  });
});
