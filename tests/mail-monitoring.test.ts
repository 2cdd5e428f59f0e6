/**
 * Monitoring of the mail hosts (lib/model/monitoring.ts, lib/render/monitoring.ts): four TLS
 * probes per mail host by its public name, its Postfix exporter scraped, the alerts that name the
 * host; the rendered files accepted by promtool and the blackbox exporter's own check, and the
 * queue alert evaluated by promtool test rules.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { loadModel } from "../lib/check/build";
import { MAIL_QUEUE_DEFERRED, monitoringPlan } from "../lib/model/monitoring";
import { MONITORING_FILES, renderAlertRules, renderBlackboxConfig, renderPrometheusConfig } from "../lib/render/monitoring";
import { inventoryWithMailHost, writeTree, baseFiles } from "./helpers/data-tree";
import { requireTools, run } from "./helpers/tools";

function model(mail = true) {
  const inv = (mail ? inventoryWithMailHost("{ public_name: mail.globenet.example }") : (baseFiles()["Pulumi.test.yaml"] as string)).replace("roles: [dns-secondary]", "roles: [dns-secondary, monitor]");
  const { model: m, errors } = loadModel(writeTree({ "Pulumi.test.yaml": inv, "zones/velo-libre.example.yaml": "owner: velo-libre\n", "members/velo-libre/member.yaml": `${baseFiles()["members/velo-libre/member.yaml"]}${mail ? "mail:\n  - domain: velo-libre.example\n    mailboxes: []\n" : ""}` }), "test");
  if (!m) throw new Error(JSON.stringify(errors));
  return m;
}

describe("mail hosts in the monitoring plan", () => {
  it("each mail host: SMTP 25 and submission 587 by STARTTLS, 465 and IMAPS 993 over TLS, by its public name, labelled with the host; its Postfix exporter scraped", () => {
    const m = model();
    const plan = monitoringPlan(m)!;
    expect(plan.probes.filter((p) => p.job === "mail")).toEqual([
      { job: "mail", module: "smtp_starttls", target: "mail.globenet.example:25", labels: { host: "mx1", service: "smtp", mail_name: "mail.globenet.example" } },
      { job: "mail", module: "smtp_starttls", target: "mail.globenet.example:587", labels: { host: "mx1", service: "submission", mail_name: "mail.globenet.example" } },
      { job: "mail", module: "smtps", target: "mail.globenet.example:465", labels: { host: "mx1", service: "submissions", mail_name: "mail.globenet.example" } },
      { job: "mail", module: "imaps", target: "mail.globenet.example:993", labels: { host: "mx1", service: "imaps", mail_name: "mail.globenet.example" } },
    ]);
    expect(plan.postfix).toEqual([{ target: "192.0.2.25:9154", labels: { host: "mx1", roles: "mail" } }]);
    const prom = parse(renderPrometheusConfig(plan, m)) as { scrape_configs: { job_name: string }[] };
    expect(prom.scrape_configs.map((j) => j.job_name)).toEqual(expect.arrayContaining(["postfix", "mail"]));
    const rules = renderAlertRules(plan, m);
    for (const a of ["MailServiceDown", "MailCertificateExpiresSoon", "MailQueueGrowing", "MailQueueNotWatched"]) expect(rules).toContain(`alert: ${a}`);
    // Every mail alert's summary names the host.
    const parsed = parse(rules) as { groups: { rules: { alert: string; annotations: { summary: string } }[] }[] };
    for (const r of parsed.groups[0]!.rules.filter((x) => x.alert.startsWith("Mail"))) expect(r.annotations.summary).toContain("{{ $labels.host }}");
  });

  it("without a mail host: no mail probe, no Postfix job, no mail alert, no mail module", () => {
    const m = model(false);
    const plan = monitoringPlan(m)!;
    expect(plan.probes.some((p) => p.job === "mail")).toBe(false);
    expect(plan.postfix).toEqual([]);
    expect(renderAlertRules(plan, m)).not.toContain("Mail");
    expect(renderBlackboxConfig(plan, m)).not.toContain("smtp_starttls");
    expect(renderPrometheusConfig(plan, m)).not.toContain("job_name: postfix");
  });
});

const ok = requireTools("promtool", "prometheus-blackbox-exporter");

describe.skipIf(!ok)("the mail monitoring passes the daemons' own checkers", () => {
  it("promtool and the blackbox exporter accept the mail probes and rules; MailQueueGrowing fires on a deferred queue over the threshold that grows, not on one that stays or stays small", () => {
    const m = model();
    const plan = monitoringPlan(m)!;
    const dir = mkdtempSync(join(tmpdir(), "globenet-mail-monitoring-"));
    try {
      mkdirSync(join(dir, "rules"));
      writeFileSync(join(dir, MONITORING_FILES.prometheus), renderPrometheusConfig(plan, m));
      writeFileSync(join(dir, MONITORING_FILES.rules), renderAlertRules(plan, m));
      writeFileSync(join(dir, MONITORING_FILES.blackbox), renderBlackboxConfig(plan, m));
      const config = run("promtool", ["check", "config", join(dir, MONITORING_FILES.prometheus)], { timeoutMs: 60_000 });
      expect(config.status, config.stdout + config.stderr).toBe(0);
      const bb = run("prometheus-blackbox-exporter", ["--config.check", `--config.file=${join(dir, MONITORING_FILES.blackbox)}`], { timeoutMs: 60_000 });
      expect(bb.status, bb.stdout + bb.stderr).toBe(0);
      // A planted mistake in a mail module is refused: the check reads them.
      writeFileSync(join(dir, "bad.yml"), renderBlackboxConfig(plan, m).replace("starttls: true", "starttls: maybe"));
      expect(run("prometheus-blackbox-exporter", ["--config.check", `--config.file=${join(dir, "bad.yml")}`], { timeoutMs: 60_000 }).status).not.toBe(0);
      const n = MAIL_QUEUE_DEFERRED;
      const series = (values: string) => ({ series: `postfix_showq_message_age_seconds_count{job="postfix",host="mx1",queue="deferred",instance="192.0.2.25:9154"}`, values });
      const test = {
        rule_files: [MONITORING_FILES.rules],
        evaluation_interval: "1m",
        tests: [
          // Growing past the threshold: from n-10, one more a minute.
          { interval: "1m", input_series: [series(`${n - 10}+1x120`)], alert_rule_test: [{ eval_time: "90m", alertname: "MailQueueGrowing", exp_alerts: [{ exp_labels: { severity: "page", host: "mx1" }, exp_annotations: { summary: `more than ${n} messages are deferred on mx1 and the queue keeps growing (npm run status -- mail shows why)` } }] }] },
          // Over the threshold but steady (being drained as fast as it fills): quiet.
          { interval: "1m", input_series: [series(`${n + 20}+0x120`)], alert_rule_test: [{ eval_time: "90m", alertname: "MailQueueGrowing", exp_alerts: [] }] },
          // Growing but small: quiet.
          { interval: "1m", input_series: [series("0+0.1x120")], alert_rule_test: [{ eval_time: "90m", alertname: "MailQueueGrowing", exp_alerts: [] }] },
        ],
      };
      writeFileSync(join(dir, "test.yml"), stringify(test));
      const r = run("promtool", ["test", "rules", "test.yml"], { timeoutMs: 120_000, cwd: dir });
      expect(r.status, r.stdout + r.stderr).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
