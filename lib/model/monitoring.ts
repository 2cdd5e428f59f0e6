import { bracket } from "./address";
import { backupPlan } from "./backup";
import { MAIL_PORTS, mailPublicName } from "./mail";
import type { HostModel, Model } from "./types";

/**
 * What the monitor host watches, derived from the data (docs/architecture.md, "Monitoring"):
 * every site (HTTPS with its certificate, or HTTP for tls: none; the redirect from HTTP to
 * HTTPS; a suspended member's site must answer the notice, 503), every zone on every name
 * server of the inventory (SOA and its serial), every running VPS (its SSH banner), every
 * database host (MariaDB's port), every mail host (SMTP on 25 and submission on 587 through
 * STARTTLS, 465 and IMAPS on 993 over TLS, each certificate's days left; its queue through
 * Debian's Postfix exporter), every host (node exporter). Departed members are not in the
 * model, so nothing of theirs is probed; a suspended member's VPS is stopped on purpose.
 * Labels name the member and the object, so an alert says whose it is.
 */

export type ProbeJob = "site" | "site-redirect" | "zone" | "vps-ssh" | "mariadb" | "mail";

export interface Probe {
  job: ProbeJob;
  /** The blackbox exporter's module (blackbox.yml). */
  module: string;
  /** What the blackbox exporter probes: a URL, or host:port / an address for DNS. */
  target: string;
  labels: Record<string, string>;
}

export interface NodeTarget {
  /** address:9100, bracketed for IPv6. */
  target: string;
  labels: { host: string; roles: string };
}

export interface MonitoringPlan {
  monitor: HostModel;
  probes: Probe[];
  nodes: NodeTarget[];
  /** One DNS module per zone: blackbox's DNS query is part of the module. */
  zoneModules: string[];
  /** Each mail host's Postfix exporter (address:9154): the queue by state (postfix_showq_*). */
  postfix: NodeTarget[];
  /**
   * The hosts that back up to the backup host (lib/model/backup.ts): each one's run writes its
   * sources' last good archive time for the node exporter's textfile collector.
   */
  backupHosts: string[];
  /** Hours after which a source's last good archive is too old: monitoring.backup_hours, else backup.max_age_hours. */
  backupHours: number;
  settings: Model["inventory"]["monitoring"];
}

/** Ports the exporters and daemons listen on (Debian's defaults). */
export const PORTS = { node: 9100, blackbox: 9115, prometheus: 9090, alertmanager: 9093, mariadb: 3306, ssh: 22, dns: 53, postfixExporter: 9154 } as const;

/** Deferred messages on a mail host above which a queue that keeps growing fires MailQueueGrowing. */
export const MAIL_QUEUE_DEFERRED = 50;

/** The mail services probed on each mail host: blackbox module, port, and the service label. */
export const MAIL_PROBES: ReadonlyArray<{ service: string; module: string; port: number }> = [
  { service: "smtp", module: "smtp_starttls", port: MAIL_PORTS.smtp },
  { service: "submission", module: "smtp_starttls", port: MAIL_PORTS.submission },
  { service: "submissions", module: "smtps", port: MAIL_PORTS.submissions },
  { service: "imaps", module: "imaps", port: MAIL_PORTS.imaps },
];

const hostPort = (address: string, port: number) => `${bracket(address)}:${port}`;

/** The DNS module of one zone: its SOA, asked without recursion. */
export function zoneModule(zone: string): string {
  return `soa_${zone}`;
}

/** The plan, or undefined when no host has the monitor role. */
export function monitoringPlan(model: Model): MonitoringPlan | undefined {
  const monitor = model.hosts.find((h) => h.roles.includes("monitor"));
  if (!monitor) return undefined;
  const byName = new Map(model.hosts.map((h) => [h.name, h]));
  const acme = !!model.inventory.acme;
  const probes: Probe[] = [];

  for (const s of model.sites) {
    const labels = { handle: s.handle, site: s.host, web_host: s.webHost, status: s.status };
    const https = s.tls === "acme" && acme;
    if (s.status === "suspended") {
      probes.push({ job: "site", module: https ? "https_suspended" : "http_suspended", target: `${https ? "https" : "http"}://${s.host}/`, labels });
      continue;
    }
    probes.push({ job: "site", module: https ? "https_up" : "http_up", target: `${https ? "https" : "http"}://${s.host}/`, labels });
    if (https) probes.push({ job: "site-redirect", module: "http_to_https", target: `http://${s.host}/`, labels });
  }

  const zoneModules: string[] = [];
  for (const z of model.zones) {
    zoneModules.push(zoneModule(z.name));
    for (const ns of [z.primary, ...z.secondaries]) {
      const h = byName.get(ns);
      if (!h) continue;
      probes.push({ job: "zone", module: zoneModule(z.name), target: h.address, labels: { zone: z.name, owner: z.owner, nameserver: ns, signed: String(z.dnssec) } });
    }
  }

  for (const v of model.vps) {
    if (v.status !== "active" || !v.ipv4) continue;
    const labels = { handle: v.handle, vps: v.name, hypervisor: v.hypervisor };
    if (v.network.type === "bridge") {
      probes.push({ job: "vps-ssh", module: "ssh_banner", target: hostPort(v.ipv4.address, PORTS.ssh), labels });
      continue;
    }
    // A guest on QEMU's user-mode network (the lab's) has its address inside QEMU only. Its SSH
    // is probed where QEMU forwards it when that is the hypervisor's own address (the
    // multi-host lab); forwarded on 127.0.0.1, no monitor can reach it, so no probe (it would
    // fire VpsSshDown for what git says is intended).
    if (v.network.sshForwardAddress === "127.0.0.1") continue;
    probes.push({ job: "vps-ssh", module: "ssh_banner", target: hostPort(v.network.sshForwardAddress, v.network.sshForwardPort), labels });
  }

  for (const h of model.hosts.filter((x) => x.roles.includes("db") && model.databases.some((d) => d.dbHost === x.name))) {
    probes.push({ job: "mariadb", module: "tcp_connect", target: hostPort(h.address, PORTS.mariadb), labels: { host: h.name } });
  }

  // Each mail host as a client sees it: by its public name (the certificate's), on each port.
  const mailHosts = model.hosts.filter((h) => h.roles.includes("mail"));
  for (const h of mailHosts) {
    const name = mailPublicName(model.inventory, model.hosts, h.name);
    for (const m of MAIL_PROBES) probes.push({ job: "mail", module: m.module, target: `${name}:${m.port}`, labels: { host: h.name, service: m.service, mail_name: name } });
  }
  const postfix = mailHosts.map((h) => ({ target: hostPort(h.address, PORTS.postfixExporter), labels: { host: h.name, roles: h.roles.join(",") } }));

  const nodes = model.hosts.map((h) => ({ target: hostPort(h.address, PORTS.node), labels: { host: h.name, roles: h.roles.join(",") } }));
  const backupHosts = (backupPlan(model)?.hosts ?? []).map((h) => h.host);
  const backupHours = model.inventory.monitoring.backup_hours ?? model.inventory.backup?.max_age_hours ?? 26;
  return { monitor, probes, nodes, postfix, zoneModules, backupHosts, backupHours, settings: model.inventory.monitoring };
}
