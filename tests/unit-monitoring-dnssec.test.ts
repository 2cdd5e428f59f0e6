// Unit tier: the RRSIG check of signed zones (lib/render/monitoring-dnssec.ts), the node
// exporter's port table (lib/render/monitoring-units.ts renderNodeExporterNft), and the lab's
// user-mode VPS probed through the hypervisor's address or left out (lib/model/monitoring.ts). The script, the units and the
// table pass their own tools in tests/monitoring-checkers.test.ts; for real in tests/lab-multi.test.ts.
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadModel } from "../lib/check/build";
import { REPO_ROOT } from "../lib/base/repo";
import { monitoringPlan } from "../lib/model/monitoring";
import type { Model } from "../lib/model/types";
import { renderAlertRules } from "../lib/render/monitoring";
import { renderDomainXml } from "../lib/render";
import { renderRrsigFiles, renderRrsigTargets, RRSIG_FILES, rrsigTargets } from "../lib/render/monitoring-dnssec";
import { renderNodeExporterDropIn, renderNodeExporterNft } from "../lib/render/monitoring-units";
import { baseFiles, errorsOf, writeTree } from "./helpers/data-tree";

function prodWithMonitor(): Model {
  const { model, errors } = loadModel(REPO_ROOT, "prod");
  if (!model) throw new Error(JSON.stringify(errors));
  model.hosts.find((h) => h.name === "ns2")!.roles.push("monitor");
  return model;
}
const inventory = (extra: string, monitoring = "") => (baseFiles()["Pulumi.test.yaml"] as string).replace("    hosts:\n", `${monitoring}    hosts:\n${extra}`);
const MON = '      mon1:\n        roles: [monitor]\n        fqdn: mon1.globenet.example\n        address: 192.0.2.90\n        ssh: { user: globenet-deploy, host_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIt66hsl0UmhbWOOYYARi4o8U8BR+ZZgOBKkbfMpve29" }\n';
type Rule = { alert: string; expr: string; for: string; labels: Record<string, string> };
const rulesOf = (model: Model) => (parse(renderAlertRules(monitoringPlan(model)!, model)) as { groups: { name: string; rules: Rule[] }[] }).groups.find((g) => g.name === "globenet-dnssec")!.rules;

describe("the RRSIG check follows the data", () => {
  const model = prodWithMonitor();
  const plan = monitoringPlan(model)!;

  it("every signed zone is checked on its primary and each secondary, by address; unsigned zones are not", () => {
    const want = model.zones.filter((z) => z.dnssec).flatMap((z) => [z.primary, ...z.secondaries].map((ns) => `${z.name} ${z.owner} ${ns} ${model.hosts.find((h) => h.name === ns)!.address}`));
    expect(want.length).toBeGreaterThan(1);
    expect(rrsigTargets(plan).map((t) => `${t.zone} ${t.owner} ${t.nameserver} ${t.address}`).sort()).toEqual(want.sort());
    const text = renderRrsigTargets(plan, model);
    expect(text.split("\n").filter((l) => l && !l.startsWith("#")).sort()).toEqual(want.sort());
    // A zone unsigned in git is not checked.
    const one = prodWithMonitor();
    const z = one.zones.find((x) => x.dnssec)!;
    z.dnssec = false;
    expect(rrsigTargets(monitoringPlan(one)!).some((t) => t.zone === z.name)).toBe(false);
    expect(rrsigTargets(monitoringPlan(one)!).length).toBeGreaterThan(0);
  });

  it("the set carries the script as the repository holds it, its targets, a service and a timer", () => {
    const files = renderRrsigFiles(plan, model);
    expect(Object.keys(files).sort()).toEqual(Object.values(RRSIG_FILES).sort());
    expect(files[RRSIG_FILES.script]).toMatch(/^#!\/usr\/bin\/env bash\n/);
    expect(files[RRSIG_FILES.service]).toContain("ExecStart=/bin/bash /etc/prometheus/globenet/dnssec/rrsig-expiry.sh /etc/prometheus/globenet/dnssec/rrsig-targets /var/lib/prometheus/node-exporter/globenet-dnssec.prom\n");
    expect(files[RRSIG_FILES.timer]).toContain("OnUnitActiveSec=15min\n");
  });

  it("a value that could break a label line is refused, naming it", () => {
    const bad = { probes: [{ job: "zone" as const, module: "soa_x", target: "192.0.2.53", labels: { zone: 'x"} 1\nevil', owner: "o", nameserver: "ns1", signed: "true" } }] };
    expect(() => renderRrsigTargets(bad, model)).toThrow(/RRSIG check's targets/);
  });

  it.each([
    { what: "unset: 3 days (BIND re-signs when 5 are left)", monitoring: "", days: 3, down: "5m" },
    { what: "rrsig_days from the inventory", monitoring: "    monitoring: { rrsig_days: 7, down_minutes: 0.1 }\n", days: 7, down: "6s" },
  ])("$what: RrsigExpiresSoon under $days days, for $down", ({ monitoring, days, down }) => {
    const { model: m, errors } = loadModel(writeTree({ "Pulumi.test.yaml": inventory(MON, monitoring) }), "test");
    if (!m) throw new Error(JSON.stringify(errors));
    const rules = rulesOf(m);
    const soon = rules.find((r) => r.alert === "RrsigExpiresSoon")!;
    expect(soon.expr).toBe(`(globenet_dnssec_rrsig_expiry_timestamp_seconds{job="node"} - time()) / 86400 < ${days}`);
    expect(soon.for).toBe(down);
    expect(rules.find((r) => r.alert === "RrsigMissing")!.expr).toBe('globenet_dnssec_rrsig_present{job="node"} == 0');
  });

  it("the check's silence fires only where some zone is signed, naming the monitor host", () => {
    expect(rulesOf(model).find((r) => r.alert === "RrsigCheckNotRunning")?.labels.host).toBe("ns2");
    const unsigned = prodWithMonitor();
    for (const z of unsigned.zones) z.dnssec = false;
    expect(rulesOf(unsigned).map((r) => r.alert)).toEqual(["RrsigMissing", "RrsigInvalid", "RrsigExpiresSoon"]);
    expect(rrsigTargets(monitoringPlan(unsigned)!)).toEqual([]);
  });

  it("a threshold out of range is refused with file:line and a hint", () => {
    expect(errorsOf({ "Pulumi.test.yaml": inventory(MON, "    monitoring: { rrsig_days: 0 }\n") }).join("\n")).toMatch(/Pulumi\.test\.yaml:\d+:\d+ .*monitoring\.rrsig_days: must be at least 1 days/);
  });
});

describe("the node exporter's port: the monitor host only", () => {
  it("one table of its own, replaced in one load: the monitor's IPv4 and IPv6 accepted, anyone else dropped", () => {
    expect(renderNodeExporterNft({ name: "web1" }, { name: "mon1", address: "192.0.2.30", ipv6: "2001:db8::30" })).toBe(
      [
        "# Managed by globenet-infra (FileSet node-exporter): port 9100 of web1 for the monitor host mon1 only (lib/render/monitoring-units.ts).",
        "table inet globenet_node_exporter",
        "delete table inet globenet_node_exporter",
        "table inet globenet_node_exporter {",
        "\tchain input {",
        "\t\ttype filter hook input priority filter; policy accept;",
        "\t\ttcp dport 9100 ip saddr 192.0.2.30 accept",
        "\t\ttcp dport 9100 ip6 saddr 2001:db8::30 accept",
        "\t\ttcp dport 9100 counter drop",
        "\t}",
        "}",
        "",
      ].join("\n"),
    );
    expect(renderNodeExporterNft({ name: "web1" }, { name: "mon1", address: "2001:db8::30" })).not.toContain("ip saddr");
  });

  it("the drop-in loads the table before each start of the exporter", () => {
    const lines = renderNodeExporterDropIn({ name: "web1", address: "192.0.2.10" }).split("\n");
    expect(lines.indexOf("ExecStartPre=/usr/sbin/nft -f /etc/prometheus/globenet-node/node-exporter.nft")).toBeLessThan(lines.indexOf("ExecStart="));
    expect(lines).toContain("ExecStartPre=/usr/sbin/nft -f /etc/prometheus/globenet-node/node-exporter.nft");
  });
});

describe("the lab's VPS (QEMU user-mode network): probed where QEMU forwards their SSH on the hypervisor's address, not when on 127.0.0.1", () => {
  it("lab-multi's VPS on hv1 and on hv2 (each forwarded on its own hypervisor's address, where that host's libvirtd runs it) are SSH probe targets there; prod's are, on their own addresses", () => {
    const { model: lab, errors } = loadModel(REPO_ROOT, "lab-multi");
    if (!lab) throw new Error(JSON.stringify(errors));
    const active = lab.vps.filter((v) => v.status === "active" && v.ipv4);
    expect(active.map((v) => v.hypervisor).sort()).toEqual(["hv1", "hv2"]);
    expect(lab.vps.every((v) => v.network.type === "user")).toBe(true);
    const at = { hv1: "192.0.2.21", hv2: "192.0.2.22" } as Record<string, string>;
    const portOf = (v: (typeof active)[number]) => (v.network.type === "user" ? v.network.sshForwardPort : 0);
    expect(monitoringPlan(lab)!.probes.filter((p) => p.job === "vps-ssh").sort((a, b) => a.target.localeCompare(b.target))).toEqual(
      active.map((v) => ({ job: "vps-ssh", module: "ssh_banner", target: `${at[v.hypervisor]}:${portOf(v)}`, labels: { handle: v.handle, vps: v.name, hypervisor: v.hypervisor } })).sort((a, b) => a.target.localeCompare(b.target)),
    );
    // Each guest's domain XML forwards on its own hypervisor's address, and only there.
    for (const v of active) {
      expect(renderDomainXml(v)).toContain(`hostfwd=tcp:${at[v.hypervisor]}:${portOf(v)}-${v.ipv4!.address}:22`);
      expect(renderDomainXml(v)).not.toContain(`hostfwd=tcp:${at[v.hypervisor === "hv1" ? "hv2" : "hv1"]}:`);
    }
    const prod = prodWithMonitor();
    const vpsProbes = monitoringPlan(prod)!.probes.filter((p) => p.job === "vps-ssh");
    expect(vpsProbes.map((p) => p.target).sort()).toEqual(prod.vps.filter((v) => v.status === "active" && v.ipv4).map((v) => `${v.ipv4!.address}:22`).sort());
  });

  it("a forward address that is neither 127.0.0.1 nor the hypervisor's own is refused with file:line", () => {
    const text = (baseFiles()["Pulumi.test.yaml"] as string).replace("network: { type: bridge, bridge: br0 }", "network: { type: user, ssh_forward_address: 192.0.2.21 }");
    expect(errorsOf({ "Pulumi.test.yaml": text }).join("\n")).toMatch(/Pulumi\.test\.yaml:\d+:\d+ .*libvirt\.network\.ssh_forward_address: must be 127\.0\.0\.1 or this hypervisor's own IPv4 address \(192\.0\.2\.20\)/);
    const own = (baseFiles()["Pulumi.test.yaml"] as string).replace("network: { type: bridge, bridge: br0 }", "network: { type: user, ssh_forward_address: 192.0.2.20 }");
    expect(errorsOf({ "Pulumi.test.yaml": own }).join("\n")).not.toMatch(/ssh_forward_address/);
  });
});
