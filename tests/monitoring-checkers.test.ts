/**
 * The monitor host's rendered configuration passes the daemons' own checkers (Debian's
 * prometheus, prometheus-alertmanager, prometheus-blackbox-exporter): promtool check config and
 * check rules, amtool check-config, blackbox_exporter --config.check. The prod data with a
 * monitor role, so every kind of probe is there; a planted mistake shows each checker bites.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { stringify } from "yaml";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../lib/base/repo";
import { loadModel } from "../lib/check/build";
import { monitoringPlan } from "../lib/model/monitoring";
import { ALERT_MAIL_TEMPLATE, MONITORING_FILES, renderAlertmanagerConfig, renderAlertRules, renderBlackboxConfig, renderMonitoring, renderPrometheusConfig } from "../lib/render/monitoring";
import { requireTools, run } from "./helpers/tools";
import { inventoryWithMailHost, writeTree } from "./helpers/data-tree";
import { mailPlan } from "../lib/model/mail";
import { mailSetFiles, renderMailFiles } from "../lib/render/mail";
import { localCheckCommand } from "../provider/resources/file-set";
import { ALERT_BRIDGE_UNIT, NODE_EXPORTER_FILE, NODE_EXPORTER_NFT, renderAlertBridgeUnit, renderNodeExporterDropIn, renderNodeExporterNft } from "../lib/render/monitoring-units";
import { renderRrsigService, renderRrsigTimer, RRSIG_FILES } from "../lib/render/monitoring-dnssec";
import { DAEMON_FILES, daemonsScript, renderDaemonsService, renderDaemonsTimer } from "../lib/render/monitoring-daemons";

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
    mkdirSync(join(dir, "dnssec"));
    // The whole set as the apply sends it (the RRSIG check's files too), for file-set.sh's check.
    for (const [f, text] of Object.entries(renderMonitoring(plan, model))) writeFileSync(join(dir, f), text);
    for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  /** promtool test rules on the rendered rules: `tests` evaluated every minute, each at a 1 min step. */
  const ruleTest = (name: string, tests: unknown[]) => {
    const file = join(dir, `${name}.test.yml`);
    writeFileSync(file, stringify({ rule_files: [MONITORING_FILES.rules], evaluation_interval: "1m", tests: tests.map((t) => ({ interval: "1m", ...(t as object) })) }, { lineWidth: 0 }));
    const r = run("promtool", ["test", "rules", file], { timeoutMs: 120_000, cwd: dir });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/SUCCESS/);
  };

  it("promtool, amtool and the blackbox exporter accept what the data renders", () => {
    for (const [what, r] of Object.entries({ config: check.config(), rules: check.rules(), alertmanager: check.alertmanager(), blackbox: check.blackbox() })) {
      expect(r.status, `${what}: ${r.stdout}${r.stderr}`).toBe(0);
    }
    // 10, the backup runs' two, one BackupNotRunning per protected host (db1, hv1, hv2, mail1 for
    // its maildirs, ns1, web1), the RRSIG check's four (prod has signed zones), the mail host's four
    // (mail1) and the daemons' two.
    expect(check.rules().stdout).toMatch(/SUCCESS: 28 rules found/);
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

  it("with monitoring.mail, the set's mail template passes amtool check-config and file-set.sh check; a template Go cannot parse is refused, naming the set's file", () => {
    const { model, errors } = loadModel(REPO_ROOT, "prod");
    if (!model) throw new Error(JSON.stringify(errors));
    model.hosts.find((h) => h.name === "ns2")!.roles.push("monitor");
    model.inventory.monitoring.mail = { to: "benevoles@globenet.example", from: "alertes@globenet.example", require_tls: true };
    const set = renderMonitoring(monitoringPlan(model)!, model);
    expect(Object.keys(set)).toContain(ALERT_MAIL_TEMPLATE);
    const d = mkdtempSync(join(tmpdir(), "globenet-monitoring-mail-"));
    try {
      for (const [f, text] of Object.entries(set)) {
        mkdirSync(dirname(join(d, f)), { recursive: true });
        writeFileSync(join(d, f), text);
      }
      const am = () => run("amtool", ["check-config", join(d, MONITORING_FILES.alertmanager)], { timeoutMs: 60_000 });
      const good = am();
      expect(good.status, good.stdout + good.stderr).toBe(0);
      expect(good.stdout).toMatch(/1 templates/);
      const cmd = localCheckCommand("monitoring", undefined, d);
      expect(run(cmd.file, cmd.args, { timeoutMs: 120_000 }).status).toBe(0);
      // One {{ end }} too few: Go's parser refuses the file, and so does the apply's check.
      writeFileSync(join(d, ALERT_MAIL_TEMPLATE), set[ALERT_MAIL_TEMPLATE]!.replace(/\{\{ end \}\}\s*$/, ""));
      expect(am().status).not.toBe(0);
      const bad = run(cmd.file, cmd.args, { timeoutMs: 120_000 });
      expect(bad.status).toBe(3);
      expect(bad.stderr).toContain("amtool check-config rejects /etc/prometheus/globenet/alertmanager.yml");
      expect(bad.stderr).toMatch(/mail\.tmpl/);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  // promtool test rules: the rendered rules evaluated on series as the backup runs write them
  // (provider/scripts/backup/run.sh write_metrics; tests/provider-backup.test.ts checks the file).
  it("the backup alerts fire when they should (promtool test rules): a source older than backup.max_age_hours (26 h in prod), a source never saved, a host that never reports", () => {
    const hosts = ["db1", "hv1", "hv2", "mail1", "ns1", "web1"];
    const lbl = (source: string, kind: string, extra = "") => `{job="node",host="web1",backup_host="web1",source="${source}",kind="${kind}",name="x"${extra}}`;
    const every = (v: string) => `${v}x2400`; // a sample a minute for 40 hours
    ruleTest("backup-alerts", [
        {
          input_series: [
            // velo's home saved at time 0 and never again: 27 h later it is late.
            { series: `globenet_backup_last_success_timestamp_seconds${lbl("home--velo", "home", ',handle="velo"')}`, values: every("0+0") },
            { series: `globenet_backup_last_run_ok${lbl("home--velo", "home", ',handle="velo"')}`, values: every("0+0") },
            // A database saved every minute: never late.
            { series: `globenet_backup_last_success_timestamp_seconds${lbl("database--velo_wp", "database")}`, values: every("0+60") },
            // A database whose every run fails and that was never saved.
            { series: `globenet_backup_last_run_ok${lbl("database--neuf", "database")}`, values: every("0+0") },
            // The check and the run as a whole are old too, but are not sources: no alert of theirs.
            { series: `globenet_backup_last_success_timestamp_seconds${lbl("check", "check")}`, values: every("0+0") },
            { series: `globenet_backup_last_run_timestamp_seconds${lbl("run", "run")}`, values: every("0+60") },
          ],
          alert_rule_test: [
            { eval_time: "25h", alertname: "BackupTooOld", exp_alerts: [] },
            {
              eval_time: "27h",
              alertname: "BackupTooOld",
              exp_alerts: [{ exp_labels: { severity: "page", job: "node", host: "web1", backup_host: "web1", source: "home--velo", kind: "home", name: "x", handle: "velo" }, exp_annotations: { summary: "the last good backup of home--velo (velo) on web1 is more than 26 hours old" } }],
            },
            { eval_time: "2m", alertname: "BackupNeverSucceeded", exp_alerts: [] },
            { eval_time: "10m", alertname: "BackupNeverSucceeded", exp_alerts: [{ exp_labels: { severity: "page", job: "node", host: "web1", backup_host: "web1", source: "database--neuf", kind: "database", name: "x" }, exp_annotations: { summary: "database--neuf on web1 has never been backed up: its runs fail" } }] },
            { eval_time: "25h", alertname: "BackupNotRunning", exp_alerts: [] },
            { eval_time: "27h", alertname: "BackupNotRunning", exp_alerts: hosts.filter((h) => h !== "web1").map((h) => ({ exp_labels: { severity: "page", host: h, job: "node", backup_host: h, source: "run" }, exp_annotations: { summary: `${h} has not reported a backup run for 26 hours (globenet-backup's cron, or the node exporter's textfile directory)` } })) },
          ],
        },
    ]);
  });

  // The RRSIG check's series as rrsig-expiry.sh writes them, read by the monitor host's (here ns2's) node exporter.
  it("the RRSIG alerts fire when they should (promtool test rules): a signature under rrsig_days (3 in prod), one missing, the check silent for an hour", () => {
    const lbl = (ns: string) => `{job="node",host="ns2",zone="velo-libre.example",owner="velo-libre",nameserver="${ns}"}`;
    const fourDays = 4 * 86400;
    ruleTest("rrsig-alerts", [
        {
          input_series: [
            // ns1's signature expires 4 days after time 0: under 3 days left from 24 h on.
            { series: `globenet_dnssec_rrsig_expiry_timestamp_seconds${lbl("ns1")}`, values: `${fourDays}x1600` },
            { series: `globenet_dnssec_rrsig_present${lbl("ns1")}`, values: "1x1600" },
            // ns2 answers without a signature.
            { series: `globenet_dnssec_rrsig_present${lbl("ns2")}`, values: "0x1600" },
            { series: 'globenet_dnssec_rrsig_check_timestamp_seconds{job="node",host="ns2"}', values: "0+60x1600" },
          ],
          alert_rule_test: [
            { eval_time: "23h", alertname: "RrsigExpiresSoon", exp_alerts: [] },
            {
              eval_time: "26h",
              alertname: "RrsigExpiresSoon",
              exp_alerts: [{ exp_labels: { severity: "page", job: "node", host: "ns2", zone: "velo-libre.example", owner: "velo-libre", nameserver: "ns1" }, exp_annotations: { summary: "the RRSIG of velo-libre.example (velo-libre) on ns1 expires in less than 3 days: BIND no longer re-signs it, or the server no longer follows its primary" } }],
            },
            { eval_time: "2m", alertname: "RrsigMissing", exp_alerts: [] },
            { eval_time: "10m", alertname: "RrsigMissing", exp_alerts: [{ exp_labels: { severity: "page", job: "node", host: "ns2", zone: "velo-libre.example", owner: "velo-libre", nameserver: "ns2" }, exp_annotations: { summary: "ns2 answers the SOA of the signed zone velo-libre.example (velo-libre) without its RRSIG, or does not answer" } }] },
            { eval_time: "20h", alertname: "RrsigCheckNotRunning", exp_alerts: [] },
          ],
        },
        {
          // The check ran once, at time 0, and never again (the timer stopped).
          input_series: [{ series: 'globenet_dnssec_rrsig_check_timestamp_seconds{job="node",host="ns2"}', values: "0x200" }],
          alert_rule_test: [
            { eval_time: "1h", alertname: "RrsigCheckNotRunning", exp_alerts: [] },
            { eval_time: "2h", alertname: "RrsigCheckNotRunning", exp_alerts: [{ exp_labels: { severity: "page", job: "node", host: "ns2" }, exp_annotations: { summary: "the RRSIG check of the signed zones has not run on ns2 for an hour (globenet-rrsig.timer, or the node exporter's textfile directory)" } }] },
          ],
        },
    ]);
  });
});

// The systemd pieces (lib/render/monitoring-units.ts), checked by systemd's own verifier, which
// works here without systemd running: the node exporter's drop-in over Debian's own unit, the
// alert bridge's unit; and the node-exporter file set's check (the exporter parses its flags).
describe.skipIf(!requireTools("systemd-analyze", "prometheus-node-exporter", "node", "nft"))("the monitoring's systemd units pass systemd-analyze verify", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "globenet-units-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const DEBIAN_UNIT = "/lib/systemd/system/prometheus-node-exporter.service";
  /** systemd-analyze verify of `unit` in a unit folder of its own (SYSTEMD_UNIT_PATH), with its drop-ins. */
  const verify = (name: string, unit: string, dropIn?: string) => {
    const units = mkdtempSync(join(dir, "u-"));
    writeFileSync(join(units, name), unit);
    if (dropIn !== undefined) {
      mkdirSync(join(units, `${name}.d`));
      writeFileSync(join(units, `${name}.d`, "globenet.conf"), dropIn);
    }
    return run("systemd-analyze", ["verify", join(units, name)], { timeoutMs: 60_000, env: { ...process.env, SYSTEMD_UNIT_PATH: `${units}:`, SYSTEMD_LOG_LEVEL: "notice" } });
  };

  it("the node exporter's drop-in over Debian's unit is accepted; without its ExecStart= reset, refused", () => {
    const debian = readFileSync(DEBIAN_UNIT, "utf8");
    const dropIn = renderNodeExporterDropIn({ name: "web1", address: "192.0.2.10" });
    const good = verify("prometheus-node-exporter.service", debian, dropIn);
    expect(good.status, good.stdout + good.stderr).toBe(0);
    const bad = verify("prometheus-node-exporter.service", debian, dropIn.replace("ExecStart=\n", ""));
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/more than one ExecStart= setting/);
  });

  it("the alert bridge's unit is accepted; a relative command, refused", () => {
    const unit = renderAlertBridgeUnit({ monitor: { name: "mon1" }, settings: {} } as unknown as Parameters<typeof renderAlertBridgeUnit>[0]) as string;
    const good = verify(ALERT_BRIDGE_UNIT, unit);
    expect(good.status, good.stdout + good.stderr).toBe(0);
    const bad = verify(ALERT_BRIDGE_UNIT, unit.replace("ExecStart=/usr/bin/node ", "ExecStart=node-bin/node "));
    expect(bad.status).not.toBe(0);
  });

  it("the RRSIG check's service and timer are accepted together; a service whose command is missing, refused", () => {
    const units = mkdtempSync(join(dir, "u-"));
    writeFileSync(join(units, "globenet-rrsig.service"), renderRrsigService());
    writeFileSync(join(units, "globenet-rrsig.timer"), renderRrsigTimer());
    const env = { ...process.env, SYSTEMD_UNIT_PATH: `${units}:`, SYSTEMD_LOG_LEVEL: "notice" };
    const good = run("systemd-analyze", ["verify", join(units, "globenet-rrsig.service"), join(units, "globenet-rrsig.timer")], { timeoutMs: 60_000, env });
    expect(good.status, good.stdout + good.stderr).toBe(0);
    writeFileSync(join(units, "globenet-rrsig.service"), renderRrsigService().replace("ExecStart=/bin/bash ", "ExecStart=/bin/bash-missing "));
    const bad = run("systemd-analyze", ["verify", join(units, "globenet-rrsig.service"), join(units, "globenet-rrsig.timer")], { timeoutMs: 60_000, env });
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/bash-missing/);
  });

  it("the node-exporter file set's check (file-set.sh, what the apply runs on each host): the exporter parses the flags, nft -c the port's table; a wrong one of each is refused naming the file", () => {
    const set = mkdtempSync(join(dir, "set-"));
    const cmd = localCheckCommand("node-exporter", undefined, set);
    const nft = renderNodeExporterNft({ name: "web1" }, { name: "mon1", address: "192.0.2.30", ipv6: "2001:db8::30" });
    writeFileSync(join(set, NODE_EXPORTER_NFT), nft.replace("ip saddr 192.0.2.30", "ip saddr 192.0.2.300"));
    writeFileSync(join(set, NODE_EXPORTER_FILE), renderNodeExporterDropIn({ name: "web1", address: "192.0.2.10" }));
    mkdirSync(join(set, "daemons"));
    writeFileSync(join(set, DAEMON_FILES.script), daemonsScript());
    writeFileSync(join(set, DAEMON_FILES.expected), "ssh sshd root\n");
    writeFileSync(join(set, DAEMON_FILES.service), renderDaemonsService());
    writeFileSync(join(set, DAEMON_FILES.timer), renderDaemonsTimer());
    const badNft = run(cmd.file, cmd.args, { timeoutMs: 60_000 });
    expect(badNft.status).toBe(3);
    expect(badNft.stderr).toContain("nft -c rejects /etc/prometheus/globenet-node/node-exporter.nft");
    writeFileSync(join(set, NODE_EXPORTER_NFT), nft);
    const good = run(cmd.file, cmd.args, { timeoutMs: 60_000 });
    expect(good.status, good.stderr).toBe(0);
    writeFileSync(join(set, NODE_EXPORTER_FILE), renderNodeExporterDropIn({ name: "web1", address: "192.0.2.10" }).replace("--collector.textfile.directory", "--collector.textfile.dir"));
    const bad = run(cmd.file, cmd.args, { timeoutMs: 60_000 });
    expect(bad.status).toBe(3);
    expect(bad.stderr).toContain("prometheus-node-exporter refuses the flags of /etc/prometheus/globenet-node/prometheus-node-exporter.conf");
    writeFileSync(join(set, NODE_EXPORTER_FILE), renderNodeExporterDropIn({ name: "web1", address: "192.0.2.10" }));
    // The daemons' check: a script bash cannot parse is refused, naming it.
    writeFileSync(join(set, DAEMON_FILES.script), daemonsScript().replace("done < \"$expected\"", "< \"$expected\""));
    const badScript = run(cmd.file, cmd.args, { timeoutMs: 60_000 });
    expect(badScript.status).toBe(3);
    expect(badScript.stderr).toContain("bash -n rejects /etc/prometheus/globenet-node/daemons/daemons.sh");
  });

  it("the daemons' check's service and timer are accepted together; a service whose command is missing, refused", () => {
    const units = mkdtempSync(join(dir, "u-"));
    writeFileSync(join(units, "globenet-daemons.service"), renderDaemonsService());
    writeFileSync(join(units, "globenet-daemons.timer"), renderDaemonsTimer());
    const env = { ...process.env, SYSTEMD_UNIT_PATH: `${units}:`, SYSTEMD_LOG_LEVEL: "notice" };
    const both = () => run("systemd-analyze", ["verify", join(units, "globenet-daemons.service"), join(units, "globenet-daemons.timer")], { timeoutMs: 60_000, env });
    const good = both();
    expect(good.status, good.stdout + good.stderr).toBe(0);
    writeFileSync(join(units, "globenet-daemons.service"), renderDaemonsService().replace("ExecStart=/bin/bash ", "ExecStart=/bin/bash-missing "));
    const bad = both();
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/bash-missing/);
  });
});

// The RRSIG check's script (lib/render/scripts/rrsig-expiry.sh) on answers as dig prints them
// (a stand-in dig first on PATH; the real one runs in tests/lab-multi.test.ts against the lab's BIND).
describe.skipIf(!requireTools("promtool", "bash"))("the RRSIG check writes what the rules read", () => {
  it("earliest SOA signature per zone and name server, 0 without one or without an answer, a bad line skipped; promtool check metrics accepts the file", () => {
    const d = mkdtempSync(join(tmpdir(), "globenet-rrsig-"));
    try {
      mkdirSync(join(d, "bin"));
      const soa = "velo-libre.example.\t3600\tIN\tSOA\tns1.globenet.example. hostmaster.globenet.example. 2026120501 3600 900 1209600 3600";
      const dnskey = "velo-libre.example.\t3600\tIN\tDNSKEY\t257 3 13 YWJjZGVm Z2hpamtsbW5vcA==";
      const sig = (exp: string, alg: number) => `velo-libre.example.\t3600\tIN\tRRSIG\tSOA ${alg} 2 3600 ${exp} 20261205000000 12345 velo-libre.example. YWJj/ZGVm+==`;
      writeFileSync(
        join(d, "bin", "dig"),
        ["#!/bin/bash", 'case "$*" in', `  *@192.0.2.53*DNSKEY) printf '%s\\n' '${dnskey}' ;;`, `  *@192.0.2.53*) printf '%s\\n' '${soa}' '${sig("20261219010203", 13)}' '${sig("20261218000000", 8)}' ;;`, `  *@198.51.100.53*) printf '%s\\n' '${soa}' ;;`, "  *) exit 9 ;;", "esac", ""].join("\n"),
        { mode: 0o755 },
      );
      // delv as it ends a good answer, only when given the zone's KSK (from ns1, the first line) as the anchor.
      writeFileSync(
        join(d, "bin", "delv"),
        ["#!/bin/bash", 'a=""; prev=""; for x in "$@"; do [ "$prev" = -a ] && a=$x; prev=$x; done', 'grep -q \'"velo-libre.example." static-key 257 3 13 "YWJjZGVmZ2hpamtsbW5vcA=="\' "$a" || { echo "; resolution failed: no anchor"; exit 1; }', 'echo "; fully validated"', ""].join("\n"),
        { mode: 0o755 },
      );
      writeFileSync(join(d, "targets"), ["# zone owner nameserver address", "velo-libre.example velo-libre ns1 192.0.2.53", "velo-libre.example velo-libre ns2 198.51.100.53", "velo-libre.example velo-libre ns9 192.0.2.99", 'evil"} x ns1 192.0.2.53', ""].join("\n"));
      const out = join(d, "globenet-dnssec.prom");
      const script = join(REPO_ROOT, "lib", "render", RRSIG_FILES.script.replace("dnssec/", "scripts/"));
      const r = run("bash", [script, join(d, "targets"), out], { timeoutMs: 30_000, env: { ...process.env, PATH: `${join(d, "bin")}:${process.env.PATH}` } });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toContain("unexpected characters");
      const text = readFileSync(out, "utf8");
      const l = (ns: string) => `{zone="velo-libre.example",owner="velo-libre",nameserver="${ns}"}`;
      expect(text).toContain(`globenet_dnssec_rrsig_expiry_timestamp_seconds${l("ns1")} ${Date.UTC(2026, 11, 18) / 1000}\n`);
      expect(text).toContain(`globenet_dnssec_rrsig_present${l("ns1")} 1\n`);
      expect(text).toContain(`globenet_dnssec_rrsig_present${l("ns2")} 0\n`);
      // Validated with the KSK ns1 serves (its base64 joined); no validity without a signature.
      expect(text).toContain(`globenet_dnssec_rrsig_valid${l("ns1")} 1\n`);
      expect(text).not.toMatch(/rrsig_valid\{[^}]*nameserver="ns[29]"/);
      expect(text).toContain(`globenet_dnssec_rrsig_present${l("ns9")} 0\n`);
      expect(text).not.toMatch(/expiry_timestamp_seconds\{[^}]*nameserver="ns[29]"/);
      expect(text).not.toContain("evil");
      expect(text).toMatch(/^globenet_dnssec_rrsig_check_timestamp_seconds \d+$/m);
      const m = run("bash", ["-c", 'promtool check metrics < "$1"', "check", out], { timeoutMs: 30_000 });
      expect(m.status, m.stdout + m.stderr).toBe(0);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});

// The mail set's Postfix exporter files (lib/render/mail-exporter.ts), checked with the whole mail
// set by its file set's check (file-set.sh, what the apply runs on the mail host): the exporter
// parses the ARGS, nft -c the port's table; a wrong one of each is refused naming the file.
describe.skipIf(!requireTools("postmap", "postconf", "doveconf", "opendkim", "prometheus-postfix-exporter", "nft"))("the mail set's Postfix exporter passes the mail file set's check", () => {
  const MON = '      mon1:\n        roles: [monitor]\n        fqdn: mon1.globenet.example\n        address: 192.0.2.90\n        ipv6: 2001:db8::90\n        ssh: { user: globenet-deploy, host_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIt66hsl0UmhbWOOYYARi4o8U8BR+ZZgOBKkbfMpve29" }\n';
  let set = "";
  afterAll(() => {
    if (set) rmSync(set, { recursive: true, force: true });
  });

  it("the rendered set passes; flags the exporter does not know, a word with a $, a bad monitor address and a missing drop-in are refused, each naming its file", () => {
    const { model, errors } = loadModel(writeTree({ "Pulumi.test.yaml": inventoryWithMailHost().replace("    hosts:\n", `    hosts:\n${MON}`) }), "test");
    if (!model) throw new Error(JSON.stringify(errors));
    // Postfix's own listen address must be this machine's for postconf: the loopback; the exporter's stays the host's.
    const files = mailSetFiles(renderMailFiles(mailPlan(model, "mx1", { listen: ["127.0.0.1"] }), 5000, 1024, "hostmaster@globenet.example"));
    set = mkdtempSync(join(tmpdir(), "globenet-mail-exporter-"));
    const write = (over: Record<string, string | undefined> = {}) => {
      rmSync(set, { recursive: true, force: true });
      for (const [p, c] of Object.entries({ ...files, ...over })) {
        if (c === undefined) continue;
        mkdirSync(dirname(join(set, p)), { recursive: true });
        writeFileSync(join(set, p), c);
      }
    };
    const cmd = localCheckCommand("mail", undefined, set);
    const check = () => run(cmd.file, cmd.args, { timeoutMs: 120_000 });
    const args = files["exporter/prometheus-postfix-exporter"] as string;
    expect(args).toContain("--web.listen-address=192.0.2.25:9154");
    write();
    const good = check();
    expect(good.status, good.stderr).toBe(0);
    const LIVE = "/etc/globenet/mail/conf/exporter";
    for (const { over, says } of [
      { over: { "exporter/prometheus-postfix-exporter": args.replace("--postfix.logfile_path", "--postfix.logfile") }, says: `prometheus-postfix-exporter refuses the flags of ${LIVE}/prometheus-postfix-exporter` },
      { over: { "exporter/prometheus-postfix-exporter": args.replace('ARGS="', 'ARGS="$(id) ') }, says: `${LIVE}/prometheus-postfix-exporter is not one ARGS="…" line of flags` },
      { over: { "exporter/prometheus-postfix-exporter": `${args}ARGS="--web.listen-address=:9154"\n` }, says: `${LIVE}/prometheus-postfix-exporter is not one ARGS="…" line of flags` },
      { over: { "exporter/postfix-exporter.nft": (files["exporter/postfix-exporter.nft"] as string).replace("192.0.2.90", "192.0.2.900") }, says: `nft -c rejects ${LIVE}/postfix-exporter.nft` },
      { over: { "exporter/globenet.conf": undefined }, says: `${LIVE}/globenet.conf is missing from the set` },
    ]) {
      write(over);
      const bad = check();
      expect(bad.status, says).toBe(3);
      expect(bad.stderr).toContain(says);
    }
  });
});
