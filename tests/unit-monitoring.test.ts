// Unit tier: what the monitor host watches follows the data (lib/model/monitoring.ts).
import { describe, expect, it } from "vitest";
import { loadModel } from "../lib/check/build";
import { monitoringPlan, zoneModule } from "../lib/model/monitoring";
import { REPO_ROOT } from "../lib/base/repo";
import { renderAll } from "../lib/render";
import { checkInputs } from "../provider/resources/file-set-inputs";
import { duration, MONITORING_DIR, MONITORING_FILES, renderAlertRules } from "../lib/render/monitoring";
import { parse } from "yaml";
import { NODE_EXPORTER_DIR, NODE_EXPORTER_FILE, NODE_EXPORTER_NFT } from "../lib/render/monitoring-units";
import { RRSIG_FILES } from "../lib/render/monitoring-dnssec";
import { DAEMON_FILES } from "../lib/render/monitoring-daemons";
import type { Model } from "../lib/model/types";
import { baseFiles, errorsOf, writeTree } from "./helpers/data-tree";

/** The repository's prod data with ns2 (a secondary) also watching: the plan from real data. */
function prodWithMonitor(): Model {
  const { model, errors } = loadModel(REPO_ROOT, "prod");
  if (!model) throw new Error(JSON.stringify(errors));
  const ns2 = model.hosts.find((h) => h.name === "ns2")!;
  ns2.roles = [...ns2.roles, "monitor"];
  return model;
}

const inventory = (extra: string) => (baseFiles()["Pulumi.test.yaml"] as string).replace("    hosts:\n", `    hosts:\n${extra}`);
const MON = "      mon1:\n        roles: [monitor]\n        fqdn: mon1.globenet.example\n        address: 192.0.2.90\n        ssh: { user: globenet-deploy, host_key: \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIt66hsl0UmhbWOOYYARi4o8U8BR+ZZgOBKkbfMpve29\" }\n";

describe("the monitoring plan follows the data", () => {
  const model = prodWithMonitor();
  const plan = monitoringPlan(model)!;
  const of = (job: string) => plan.probes.filter((p) => p.job === job);

  it("every site is probed: active ones over HTTPS (and their HTTP redirect), tls: none over HTTP, suspended ones must answer the notice", () => {
    const sites = model.sites.map((s) => s.host).sort();
    expect(of("site").map((p) => p.labels.site).sort()).toEqual(sites);
    for (const s of model.sites) {
      const p = of("site").find((x) => x.labels.site === s.host)!;
      expect(p.labels).toMatchObject({ handle: s.handle, web_host: s.webHost, status: s.status });
      const https = s.tls === "acme";
      expect(p.target).toBe(`${https ? "https" : "http"}://${s.host}/`);
      expect(p.module).toBe(s.status === "suspended" ? (https ? "https_suspended" : "http_suspended") : https ? "https_up" : "http_up");
      expect(of("site-redirect").some((r) => r.labels.site === s.host)).toBe(https && s.status === "active");
    }
    expect(model.sites.some((s) => s.status === "suspended")).toBe(true);
    expect(model.sites.some((s) => s.tls === "none")).toBe(true);
  });

  it("a departed member's sites are not probed at all", () => {
    expect(plan.probes.some((p) => p.labels.handle === "papier-mache")).toBe(false);
  });

  it("every zone is asked on its primary and each secondary, with its own SOA module", () => {
    for (const z of model.zones) {
      const probes = of("zone").filter((p) => p.labels.zone === z.name);
      expect(probes.map((p) => p.labels.nameserver).sort()).toEqual([z.primary, ...z.secondaries].sort());
      expect(new Set(probes.map((p) => p.module))).toEqual(new Set([zoneModule(z.name)]));
      expect(probes.every((p) => p.labels.owner === z.owner)).toBe(true);
    }
    expect(plan.zoneModules.sort()).toEqual(model.zones.map((z) => zoneModule(z.name)).sort());
  });

  it("every running VPS is asked for its SSH banner; every host has its node exporter; database hosts their MariaDB port", () => {
    expect(of("vps-ssh").map((p) => p.labels.vps).sort()).toEqual(model.vps.filter((v) => v.status === "active" && v.ipv4 && v.network.type === "bridge").map((v) => v.name).sort());
    expect(of("vps-ssh").length).toBeGreaterThan(0);
    expect(plan.nodes.map((n) => n.labels.host).sort()).toEqual(model.hosts.map((h) => h.name).sort());
    expect(plan.nodes.find((n) => n.labels.host === "web1")?.target).toBe("192.0.2.10:9100");
    expect(of("mariadb").map((p) => p.labels.host)).toEqual(["db1"]);
  });

  it("a member added in git is probed; removed, it is not (no hand edit)", () => {
    const tree = (extra: Record<string, string | null>) => monitoringPlan(loadModel(writeTree({ "Pulumi.test.yaml": inventory(MON), ...extra }), "test").model!)!;
    const before = tree({});
    expect(before.probes.some((p) => p.labels.site === "velo-libre.example")).toBe(true);
    const added = tree({ "members/nouveau/member.yaml": "handle: nouveau\nname: Nouveau\ncontact: { email: a@nouveau.example }\nstatus: active\nsites:\n  - { host: www.globenet.example.org, dns: external }\n" });
    expect(added.probes.filter((p) => p.labels.handle === "nouveau").map((p) => p.target)).toEqual(["https://www.globenet.example.org/", "http://www.globenet.example.org/"]);
    const removed = tree({ "members/velo-libre/member.yaml": null, "members/velo-libre/vps/atelier.yaml": null, "zones/velo-libre.example.yaml": null });
    expect(removed.probes.some((p) => p.labels.handle === "velo-libre")).toBe(false);
  });

  // What the apply sends to the monitor host (renderAll → the monitoring file set): the same
  // change in git adds or drops the target in prometheus.yml, and nothing else has to be edited.
  it.each([
    { change: "a member added", extra: { "members/nouveau/member.yaml": "handle: nouveau\nname: Nouveau\ncontact: { email: a@nouveau.example }\nstatus: active\nsites:\n  - { host: www.globenet.example.org, dns: external }\n" }, present: ["https://www.globenet.example.org/", "https://velo-libre.example/"], absent: [] },
    { change: "a member removed", extra: { "members/velo-libre/member.yaml": null, "members/velo-libre/vps/atelier.yaml": null, "zones/velo-libre.example.yaml": null }, present: [], absent: ["https://velo-libre.example/", "soa_velo-libre.example", "atelier"] },
    { change: "nothing", extra: {}, present: ["https://velo-libre.example/", "soa_velo-libre.example"], absent: ["www.globenet.example.org"] },
  ])("$change: the monitor host's rendered set follows (renderAll)", ({ extra, present, absent }) => {
    const { model } = loadModel(writeTree({ "Pulumi.test.yaml": inventory(MON), ...(extra as Record<string, string | null>) }), "test");
    const files = renderAll(model!).filter((f) => f.daemon === "monitoring");
    expect(files.map((f) => `${f.host}:${f.path}`).sort()).toEqual([...Object.values(MONITORING_FILES), ...Object.values(RRSIG_FILES)].map((p) => `mon1:${MONITORING_DIR}${p}`).sort());
    const prom = files.find((f) => f.path.endsWith("prometheus.yml"))!.content;
    const blackbox = files.find((f) => f.path.endsWith("blackbox.yml"))!.content;
    for (const p of present) expect(prom + blackbox).toContain(p);
    for (const a of absent) expect(prom + blackbox).not.toContain(a);
  });

  it.each([
    { minutes: 5, want: "5m" },
    { minutes: 0.25, want: "15s" },
    { minutes: 0.05, want: "3s" },
    { minutes: 1.5, want: "90s" },
  ])("a delay of $minutes minutes is written $want for Prometheus", ({ minutes, want }) => {
    expect(duration(minutes)).toBe(want);
  });

  it("no monitor host: no plan; two: refused with file:line", () => {
    expect(monitoringPlan(loadModel(writeTree(), "test").model!)).toBeUndefined();
    const two = inventory(MON + MON.replace(/mon1/g, "mon2").replace("192.0.2.90", "192.0.2.91"));
    expect(errorsOf({ "Pulumi.test.yaml": two }).join("\n")).toMatch(/Pulumi\.test\.yaml:\d+:\d+ .*hosts\.mon2\.roles: only one host may have the monitor role, found mon1, mon2/);
  });

  it("with a monitor host, every host gets its node exporter's set (its own address); without one, none", () => {
    const { model } = loadModel(writeTree({ "Pulumi.test.yaml": inventory(MON) }), "test");
    const files = renderAll(model!).filter((f) => f.daemon === "node-exporter");
    expect(files.map((f) => `${f.host}:${f.path}`).sort()).toEqual(model!.hosts.flatMap((h) => [NODE_EXPORTER_FILE, NODE_EXPORTER_NFT, ...Object.values(DAEMON_FILES)].map((p) => `${h.name}:${NODE_EXPORTER_DIR}${p}`)).sort());
    for (const f of files.filter((x) => x.path.endsWith(NODE_EXPORTER_FILE))) {
      expect(f.content).toContain(`--web.listen-address=${model!.hosts.find((h) => h.name === f.host)!.address}:9100 `);
    }
    // The port's table admits the monitor host's address, whatever host it is on.
    for (const f of files.filter((x) => x.path.endsWith(NODE_EXPORTER_NFT))) expect(f.content).toContain("tcp dport 9100 ip saddr 192.0.2.90 accept");
    expect(renderAll(loadModel(writeTree(), "test").model!).some((f) => f.daemon === "node-exporter")).toBe(false);
  });

  const daemonFiles = Object.fromEntries(Object.values(DAEMON_FILES).map((p) => [p, "x"]));
  it.each([
    { what: "its files", files: { [NODE_EXPORTER_FILE]: "x", [NODE_EXPORTER_NFT]: "x", ...daemonFiles }, problems: [] },
    { what: "its files but the daemons' list", files: { [NODE_EXPORTER_FILE]: "x", [NODE_EXPORTER_NFT]: "x", [DAEMON_FILES.script]: "x", [DAEMON_FILES.service]: "x", [DAEMON_FILES.timer]: "x" }, problems: ["files"] },
    { what: "the drop-in without the port's table", files: { [NODE_EXPORTER_FILE]: "x" }, problems: ["files"] },
    { what: "another file", files: { [NODE_EXPORTER_FILE]: "x", [NODE_EXPORTER_NFT]: "x", ...daemonFiles, "override.conf": "x" }, problems: ['files["override.conf"]'] },
    { what: "nothing", files: {}, problems: ["files"] },
  ])("the provider's node-exporter file set takes $what: problems $problems", ({ files, problems }) => {
    const target = { name: "web1", address: "192.0.2.10", port: 22, user: "globenet-deploy", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIt66hsl0UmhbWOOYYARi4o8U8BR+ZZgOBKkbfMpve29" };
    expect(checkInputs({ target, kind: "node-exporter", files }).failures.map((f) => f.property)).toEqual(problems);
  });

  const RRSIG = Object.fromEntries(Object.values(RRSIG_FILES).map((p) => [p, "x"]));
  it.each([
    { what: "the rendered files", files: { "prometheus.yml": "x", "rules/globenet.yml": "x", "blackbox.yml": "x", "alertmanager.yml": "x", ...RRSIG }, problems: [] },
    { what: "a file outside the set", files: { "prometheus.yml": "x", "rules/globenet.yml": "x", "blackbox.yml": "x", "alertmanager.yml": "x", ...RRSIG, "rules/../../shadow": "x" }, problems: ['files["rules/../../shadow"]'] },
    { what: "another rule file", files: { "prometheus.yml": "x", "rules/globenet.yml": "x", "blackbox.yml": "x", "alertmanager.yml": "x", ...RRSIG, "rules/other.yml": "x" }, problems: ['files["rules/other.yml"]'] },
    { what: "alertmanager.yml missing", files: { "prometheus.yml": "x", "rules/globenet.yml": "x", "blackbox.yml": "x", ...RRSIG }, problems: ["files"] },
    { what: "the RRSIG check's script missing", files: { "prometheus.yml": "x", "rules/globenet.yml": "x", "blackbox.yml": "x", "alertmanager.yml": "x", ...Object.fromEntries(Object.entries(RRSIG).filter(([p]) => p !== RRSIG_FILES.script)) }, problems: ["files"] },
  ])("the provider's monitoring file set takes $what: problems $problems", ({ files, problems }) => {
    const target = { name: "mon1", address: "192.0.2.90", port: 22, user: "globenet-deploy", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIt66hsl0UmhbWOOYYARi4o8U8BR+ZZgOBKkbfMpve29" };
    expect(checkInputs({ target, kind: "monitoring", files }).failures.map((f) => f.property)).toEqual(problems);
  });
});

describe("backup age alerts (the backup runs' textfile metrics)", () => {
  const BK = "      bk1:\n        roles: [backup]\n        fqdn: bk1.globenet.example\n        address: 192.0.2.80\n        ssh: { user: globenet-deploy, host_key: \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIt66hsl0UmhbWOOYYARi4o8U8BR+ZZgOBKkbfMpve29\" }\n";
  type Rule = { alert: string; expr: string; for: string; labels: Record<string, string>; annotations: { summary: string } };
  const rulesOf = (hosts: string, monitoring = "") => {
    const backup = hosts.includes("bk1:") ? "    backup: {}\n" : "";
    const text = inventory(hosts).replace("    hosts:\n", `${backup}${monitoring}    hosts:\n`);
    const { model, errors } = loadModel(writeTree({ "Pulumi.test.yaml": text }), "test");
    if (!model) throw new Error(JSON.stringify(errors));
    const plan = monitoringPlan(model)!;
    return { plan, rules: (parse(renderAlertRules(plan, model)) as { groups: { rules: Rule[] }[] }).groups[0]!.rules };
  };

  it.each([
    { what: "unset: backup.max_age_hours (26 by default), the threshold of status -- backups", monitoring: "", hours: 26, down: "5m" },
    { what: "backup_hours from the inventory", monitoring: "    monitoring: { backup_hours: 48, down_minutes: 0.1 }\n", hours: 48, down: "6s" },
  ])("$what: BackupTooOld fires past $hours hours, on every source but the run, the check and the homes archive", ({ monitoring, hours, down }) => {
    const { rules } = rulesOf(MON + BK, monitoring);
    const old = rules.find((r) => r.alert === "BackupTooOld")!;
    expect(old.expr).toBe(`(time() - globenet_backup_last_success_timestamp_seconds{job="node",kind!~"run|check|homes"}) / 3600 > ${hours}`);
    expect(old.for).toBe(down);
    expect(old.annotations.summary).toBe(`the last good backup of {{ $labels.source }}{{ with $labels.handle }} ({{ . }}){{ end }} on {{ $labels.backup_host }} is more than ${hours} hours old`);
    expect(rules.find((r) => r.alert === "BackupNeverSucceeded")!.expr).toContain("unless on (backup_host, source)");
  });

  it.each([
    { what: "a backup host: every protected host must report its run", hosts: MON + BK, reporting: ["hv1", "ns1", "web1"] },
    { what: "no backup host: nothing is expected", hosts: MON, reporting: [] },
  ])("$what ($reporting)", ({ hosts, reporting }) => {
    const { plan, rules } = rulesOf(hosts);
    expect(plan.backupHosts).toEqual(reporting);
    const notRunning = rules.filter((r) => r.alert === "BackupNotRunning");
    expect(notRunning.map((r) => r.labels.host)).toEqual(reporting);
    for (const r of notRunning) {
      expect(r.expr).toBe(`absent(globenet_backup_last_run_timestamp_seconds{job="node",backup_host="${r.labels.host}",source="run"})`);
      expect(r.for).toBe("26h");
    }
  });

  it("a threshold out of range is refused with file:line and a hint", () => {
    const text = inventory(MON).replace("    hosts:\n", "    monitoring: { backup_hours: 0 }\n    hosts:\n");
    expect(errorsOf({ "Pulumi.test.yaml": text }).join("\n")).toMatch(/Pulumi\.test\.yaml:\d+:\d+ .*monitoring\.backup_hours: must be at least 1 hours/);
  });
});
