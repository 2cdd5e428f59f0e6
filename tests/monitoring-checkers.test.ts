/**
 * The monitor host's rendered configuration passes the daemons' own checkers (Debian's
 * prometheus, prometheus-alertmanager, prometheus-blackbox-exporter): promtool check config and
 * check rules, amtool check-config, blackbox_exporter --config.check. The prod data with a
 * monitor role, so every kind of probe is there; a planted mistake shows each checker bites.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../lib/base/repo";
import { loadModel } from "../lib/check/build";
import { monitoringPlan } from "../lib/model/monitoring";
import { MONITORING_FILES, renderAlertmanagerConfig, renderAlertRules, renderBlackboxConfig, renderPrometheusConfig } from "../lib/render/monitoring";
import { requireTools, run } from "./helpers/tools";
import { localCheckCommand } from "../provider/resources/file-set";

const ok = requireTools("promtool", "amtool", "prometheus-blackbox-exporter");

describe.skipIf(!ok)("the monitoring configuration passes the daemons' own checkers", () => {
  let dir: string;
  const check = {
    config: () => run("promtool", ["check", "config", join(dir, MONITORING_FILES.prometheus)], { timeoutMs: 60_000 }),
    rules: () => run("promtool", ["check", "rules", join(dir, MONITORING_FILES.rules)], { timeoutMs: 60_000 }),
    alertmanager: () => run("amtool", ["check-config", join(dir, MONITORING_FILES.alertmanager)], { timeoutMs: 60_000 }),
    blackbox: () => run("prometheus-blackbox-exporter", ["--config.check", `--config.file=${join(dir, MONITORING_FILES.blackbox)}`], { timeoutMs: 60_000 }),
  };
  const files: Record<string, string> = {};

  beforeAll(() => {
    const { model, errors } = loadModel(REPO_ROOT, "prod");
    if (!model) throw new Error(JSON.stringify(errors));
    model.hosts.find((h) => h.name === "ns2")!.roles.push("monitor");
    const plan = monitoringPlan(model)!;
    dir = mkdtempSync(join(tmpdir(), "globenet-monitoring-"));
    mkdirSync(join(dir, "rules"));
    files[MONITORING_FILES.prometheus] = renderPrometheusConfig(plan, model);
    files[MONITORING_FILES.rules] = renderAlertRules(plan, model);
    files[MONITORING_FILES.blackbox] = renderBlackboxConfig(plan, model);
    files[MONITORING_FILES.alertmanager] = renderAlertmanagerConfig(plan, model);
    for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("promtool, amtool and the blackbox exporter accept what the data renders", () => {
    for (const [what, r] of Object.entries({ config: check.config(), rules: check.rules(), alertmanager: check.alertmanager(), blackbox: check.blackbox() })) {
      expect(r.status, `${what}: ${r.stdout}${r.stderr}`).toBe(0);
    }
    expect(check.rules().stdout).toMatch(/SUCCESS: 10 rules found/);
  });

  it("each checker refuses a planted mistake (the checks are not a formality)", () => {
    const planted: [keyof typeof check, string, (s: string) => string][] = [
      ["rules", MONITORING_FILES.rules, (s) => s.replace('probe_success{job="site"} == 0', 'probe_success{job="site" == 0')],
      ["config", MONITORING_FILES.prometheus, (s) => s.replace("scrape_interval: 30s", "scrape_interval: thirty")],
      ["alertmanager", MONITORING_FILES.alertmanager, (s) => s.replace("receiver: volunteers", "receiver: nobody")],
      ["blackbox", MONITORING_FILES.blackbox, (s) => s.replace("regexp: ^https://", "regexp: ^(https://")],
    ];
    for (const [what, file, plant] of planted) {
      const original = files[file] as string;
      const broken = plant(original);
      expect(broken, `${what}: the plant did not apply`).not.toBe(original);
      writeFileSync(join(dir, file), broken);
      expect(check[what]().status, what).not.toBe(0);
      writeFileSync(join(dir, file), original);
    }
  });

  it("the provider's own check (file-set.sh check, what the apply runs on the monitor host) accepts the set and names the file it refuses", () => {
    const cmd = () => localCheckCommand("monitoring", undefined, dir);
    const good = run(cmd().file, cmd().args, { timeoutMs: 120_000 });
    expect(good.status, good.stderr).toBe(0);
    const rules = files[MONITORING_FILES.rules] as string;
    writeFileSync(join(dir, MONITORING_FILES.rules), rules.replace('probe_success{job="site"} == 0', 'probe_success{job="site" == 0'));
    try {
      const bad = run(cmd().file, cmd().args, { timeoutMs: 120_000 });
      expect(bad.status).toBe(3);
      // promtool check config reads the rule files too: the file, line and column, shown as the live path.
      expect(bad.stderr).toMatch(/\/etc\/prometheus\/globenet\/rules\/globenet\.yml: \d+:\d+: group "globenet", rule 1, "SiteDown": could not parse expression/);
      expect(bad.stderr).toContain("promtool check config rejects /etc/prometheus/globenet/prometheus.yml");
      expect(bad.stderr).not.toMatch(/globenet-fileset\./);
    } finally {
      writeFileSync(join(dir, MONITORING_FILES.rules), rules);
    }
  });
});
