// Unit tier: the daemons each host's roles expect (lib/model/monitoring-daemons.ts) and the
// process check's files in every node-exporter set (lib/render/monitoring-daemons.ts). The script
// runs against real daemons in tests/monitoring-daemons.test.ts; the rules pass promtool there.
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadModel } from "../lib/check/build";
import { REPO_ROOT } from "../lib/base/repo";
import { monitoringPlan } from "../lib/model/monitoring";
import { commOf, expectedDaemons } from "../lib/model/monitoring-daemons";
import type { Model } from "../lib/model/types";
import { renderAll } from "../lib/render";
import { ALERT_MAIL_TEMPLATE, alertMailTemplate, MONITORING_FILES, renderAlertmanagerConfig, renderAlertRules, renderMonitoring } from "../lib/render/monitoring";
import { DAEMON_FILES, renderExpectedDaemons } from "../lib/render/monitoring-daemons";
import { NODE_EXPORTER_DIR } from "../lib/render/monitoring-units";
import { UnsafeValueError } from "../lib/render/escape";
import { baseFiles, errorsOf, inventoryWithMailHost, writeTree } from "./helpers/data-tree";

function prodWithMonitor(): Model {
  const { model, errors } = loadModel(REPO_ROOT, "prod");
  if (!model) throw new Error(JSON.stringify(errors));
  model.hosts.find((h) => h.name === "ns2")!.roles.push("monitor");
  return model;
}
const listOf = (model: Model, host: string) => expectedDaemons(model, model.hosts.find((h) => h.name === host)!).map((d) => `${d.daemon} ${d.comm} ${d.user}`);

describe("each host's daemons follow its roles", () => {
  const model = prodWithMonitor();

  it.each([
    ["web1", ["ssh sshd root", "apache2 apache2 root", "php8.2-fpm php-fpm8.2 root"]],
    ["db1", ["ssh sshd root", "mariadb mariadbd mysql"]],
    ["ns1", ["ssh sshd root", "named named bind"]],
    // ns2 is a secondary here, and the monitor host of this test: Debian's three daemons, comm cut at 15 characters.
    ["ns2", ["ssh sshd root", "named named bind", "prometheus prometheus prometheus", "prometheus-alertmanager prometheus-aler prometheus", "prometheus-blackbox-exporter prometheus-blac prometheus"]],
    ["hv1", ["ssh sshd root", "libvirtd libvirtd root"]],
    ["mail1", ["ssh sshd root", "postfix master root", "dovecot dovecot root", "opendkim opendkim opendkim"]],
  ])("%s: %j", (host, want) => {
    expect(listOf(model, host)).toEqual(want);
  });

  it("a PHP version no site uses any more has no FPM master to expect; a new one has", () => {
    const m = prodWithMonitor();
    for (const s of m.sites.filter((x) => x.webHost === "web1")) s.php = "none";
    expect(listOf(m, "web1")).toEqual(["ssh sshd root", "apache2 apache2 root"]);
    const m2 = prodWithMonitor();
    const one = m2.sites.find((x) => x.webHost === "web1" && x.php !== "none")!;
    one.php = "8.4";
    expect(listOf(m2, "web1")).toContain("php8.4-fpm php-fpm8.4 root");
  });

  it("the kernel's comm is the program's first 15 characters", () => {
    expect(commOf("prometheus-node-exporter")).toBe("prometheus-node");
    expect(commOf("named")).toBe("named");
  });

  it("every host's node-exporter set carries the check, its list from the host's roles", () => {
    const files = renderAll(model).filter((f) => f.daemon === "node-exporter" && f.path === `${NODE_EXPORTER_DIR}${DAEMON_FILES.expected}`);
    expect(files.map((f) => f.host).sort()).toEqual(model.hosts.map((h) => h.name).sort());
    const ns1 = files.find((f) => f.host === "ns1")!.content;
    expect(ns1.split("\n").filter((l) => l && !l.startsWith("#"))).toEqual(["ssh sshd root", "named named bind"]);
    expect(ns1).toContain("# The daemons ns1's roles (dns-primary) expect");
  });

  it("a value that would break a label line is refused", () => {
    const m = prodWithMonitor();
    const site = m.sites.find((x) => x.webHost === "web1" && x.php !== "none")!;
    site.php = '8.2"}';
    expect(() => renderExpectedDaemons(m.hosts.find((h) => h.name === "web1")!, m)).toThrow(UnsafeValueError);
  });

  it("DaemonNotRunning names the host and the daemon; the check's silence is an alert of its own", () => {
    const groups = (parse(renderAlertRules(monitoringPlan(model)!, model)) as { groups: { name: string; rules: { alert: string; expr: string; annotations: { summary: string } }[] }[] }).groups;
    const rules = groups.find((g) => g.name === "globenet-daemons")!.rules;
    expect(rules.map((r) => r.alert)).toEqual(["DaemonNotRunning", "DaemonCheckNotRunning"]);
    expect(rules[0]!.annotations.summary).toContain("{{ $labels.daemon }} is not running on {{ $labels.host }}");
  });
});

// The optional mail of Alertmanager (monitoring.mail): rendered from the inventory; amtool and a
// real Alertmanager sending to an SMTP sink in tests/monitoring-daemons.test.ts.
describe("Alertmanager's mail follows the inventory", () => {
  const inventory = (base: string, monitoring: string) => base.replace("    hosts:\n", `${monitoring}    hosts:\n`);
  const MON = '      mon1:\n        roles: [monitor]\n        fqdn: mon1.globenet.example\n        address: 192.0.2.90\n        ssh: { user: globenet-deploy, host_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIt66hsl0UmhbWOOYYARi4o8U8BR+ZZgOBKkbfMpve29" }\n';
  const withMon = (inv: string) => inv.replace("    hosts:\n", `    hosts:\n${MON}`);
  const receiver = (inv: string) => {
    const { model, errors } = loadModel(writeTree({ "Pulumi.test.yaml": inv }), "test");
    if (!model) throw new Error(JSON.stringify(errors));
    return (parse(renderAlertmanagerConfig(monitoringPlan(model)!, model)) as { receivers: { name: string; webhook_configs: unknown[]; email_configs?: Record<string, unknown>[] }[] }).receivers[0]!;
  };
  const MAIL = "    monitoring: { mail: { to: benevoles@globenet.example, from: alertes@globenet.example } }\n";

  it("unset: the webhook alone", () => {
    expect(receiver(withMon(baseFiles()["Pulumi.test.yaml"] as string)).email_configs).toBeUndefined();
  });

  it("with a mail host: through it on port 25 by its public name, STARTTLS required, resolutions too", () => {
    expect(receiver(inventory(withMon(inventoryWithMailHost()), MAIL)).email_configs).toEqual([
      {
        to: "benevoles@globenet.example",
        from: "alertes@globenet.example",
        smarthost: "mail.globenet.example:25",
        hello: "mon1.globenet.example",
        require_tls: true,
        send_resolved: true,
        headers: { Subject: '{{ template "globenet.mail.subject" . }}' },
        text: '{{ template "globenet.mail.text" . }}',
        html: "",
      },
    ]);
  });

  it("with mail, the set carries the bilingual mail template and alertmanager.yml names it; without, neither", () => {
    const files = (inv: string) => {
      const { model, errors } = loadModel(writeTree({ "Pulumi.test.yaml": inv }), "test");
      if (!model) throw new Error(JSON.stringify(errors));
      return renderMonitoring(monitoringPlan(model), model);
    };
    const withMail = files(inventory(withMon(inventoryWithMailHost()), MAIL));
    expect(withMail[ALERT_MAIL_TEMPLATE]).toBe(alertMailTemplate());
    expect((parse(withMail[MONITORING_FILES.alertmanager]!) as { templates: string[] }).templates).toEqual(["alertmanager/mail.tmpl"]);
    const without = files(withMon(baseFiles()["Pulumi.test.yaml"] as string));
    expect(without[ALERT_MAIL_TEMPLATE]).toBeUndefined();
    expect((parse(without[MONITORING_FILES.alertmanager]!) as { templates?: string[] }).templates).toBeUndefined();
  });

  it("the mail template has a French sentence for every alert the prod rules can fire, and none for an alert that no longer exists", () => {
    const { model, errors } = loadModel(REPO_ROOT, "prod");
    if (!model) throw new Error(JSON.stringify(errors));
    model.hosts.find((h) => h.name === "ns2")!.roles.push("monitor");
    const groups = (parse(renderAlertRules(monitoringPlan(model)!, model)) as { groups: { rules: { alert: string }[] }[] }).groups;
    const alerts = [...new Set(groups.flatMap((g) => g.rules.map((r) => r.alert)))].sort();
    // Prod has signed zones, a mail host and backups: every kind of rule is there.
    expect(alerts).toEqual(expect.arrayContaining(["SiteDown", "VpsSshDown", "MailQueueGrowing", "RrsigExpiresSoon", "DaemonNotRunning", "BackupTooOld"]));
    const french = [...alertMailTemplate().matchAll(/eq \$a "([A-Za-z]+)"/g)].map((m) => m[1]).sort();
    expect(french).toEqual(alerts);
  });

  it("a smarthost named: through it, require_tls as written", () => {
    const mail = "    monitoring: { mail: { to: benevoles@globenet.example, from: alertes@globenet.example, smarthost: \"relay.globenet.example:587\", require_tls: false } }\n";
    expect(receiver(inventory(withMon(baseFiles()["Pulumi.test.yaml"] as string), mail)).email_configs?.[0]).toMatchObject({ smarthost: "relay.globenet.example:587", require_tls: false });
  });

  it.each([
    ["no mail host and no smarthost", MAIL, /Pulumi\.test\.yaml:\d+:\d+ .*monitoring\.mail: no host has the mail role to send the alerts' mail through: add smarthost/],
    ["a smarthost without its port", "    monitoring: { mail: { to: benevoles@globenet.example, from: alertes@globenet.example, smarthost: relay.globenet.example } }\n", /monitoring\.mail\.smarthost: must be a host name and a port/],
    ["a bad address", "    monitoring: { mail: { to: benevoles, from: alertes@globenet.example } }\n", /monitoring\.mail\.to: /],
  ])("refused with file:line: %s", (_what, monitoring, want) => {
    expect(errorsOf({ "Pulumi.test.yaml": inventory(withMon(baseFiles()["Pulumi.test.yaml"] as string), monitoring) }).join("\n")).toMatch(want);
  });
});
