import { bracket } from "../model/address";
import { PORTS, type MonitoringPlan } from "../model/monitoring";
import type { HostModel } from "../model/types";
import { UnsafeValueError } from "./escape";

/**
 * The systemd pieces of the monitoring a prod host needs (docs/architecture.md, "Monitoring"):
 * the node exporter's drop-in on every host of the inventory (Debian's prometheus-node-exporter,
 * listening on the host's own address, reading the backup runs' metrics from Debian's textfile
 * directory), and the alert bridge's unit on the monitor host, whose GitLab token comes from an
 * EnvironmentFile (root:root 0600, read by systemd before it drops to the unit's user): never
 * argv, never the unit file. Checked by `systemd-analyze verify` (tests/monitoring-checkers.test.ts).
 */

/** Debian's textfile directory (the package's default; provider/scripts/backup/run.sh writes there). */
export const TEXTFILE_DIR = "/var/lib/prometheus/node-exporter";

/** The node-exporter file set: its one file, and its folder in a rendered tree (live root /etc/prometheus/globenet-node). */
export const NODE_EXPORTER_FILE = "prometheus-node-exporter.conf";
export const NODE_EXPORTER_DIR = "prometheus/globenet-node/";

/**
 * The node-exporter set's second file: the nftables table that keeps port 9100 to the monitor
 * host's addresses (nft -f; loaded by the apply, and by the drop-in before each start).
 */
export const NODE_EXPORTER_NFT = "node-exporter.nft";
/** The table's name (file-set.sh deletes it with the set). */
export const NODE_EXPORTER_TABLE = "globenet_node_exporter";
const NODE_EXPORTER_LIVE = "/etc/prometheus/globenet-node";

/** Where provider/scripts/file-set/file-set.sh copies it on a host run by systemd. */
export const NODE_EXPORTER_DROPIN = "/etc/systemd/system/prometheus-node-exporter.service.d/globenet.conf";

/** The alert bridge's unit name, its environment file and the checkout it runs from. */
export const ALERT_BRIDGE_UNIT = "globenet-alert-bridge.service";
export const ALERT_BRIDGE_ENV = "/etc/globenet/alert-bridge.env";
export const ALERT_BRIDGE_CHECKOUT = "/opt/globenet-infra";

/** The node exporter on one host: its own address only (not every interface), the textfile collector on. */
export function renderNodeExporterDropIn(host: Pick<HostModel, "name" | "address">): string {
  return [
    `# Managed by globenet-infra (FileSet node-exporter): the node exporter of ${host.name}, scraped by the monitor host (lib/render/monitoring-units.ts).`,
    "[Service]",
    // The port's filter first: the exporter never listens without it (a reboot flushes nftables).
    `ExecStartPre=/usr/sbin/nft -f ${NODE_EXPORTER_LIVE}/${NODE_EXPORTER_NFT}`,
    "ExecStart=",
    // $ARGS stays for systemd to expand from Debian's /etc/default/prometheus-node-exporter.
    `ExecStart=/usr/bin/prometheus-node-exporter --web.listen-address=${bracket(host.address)}:${PORTS.node} --collector.textfile.directory=${TEXTFILE_DIR} $ARGS`,
    "",
  ].join("\n");
}

/** A port open to the monitor host only: the set that loads the table, the table's name, the port, the renderer. */
export interface MonitorOnlyPort {
  set: string;
  table: string;
  port: number;
  source: string;
}

/**
 * An exporter's port open to the monitor host only (docs/architecture.md, "Monitoring"): a
 * table of its own in the inet family, so the host's other rules (Debian's
 * /etc/nftables.conf, a volunteer's) stay as they are; its drop is final whatever other tables
 * accept. Loading the file replaces the table at once (declare, delete, define: one transaction).
 * Checked by `nft -c` in its file set (provider/scripts/file-set/file-set.sh).
 */
export function renderMonitorOnlyNft(p: MonitorOnlyPort, host: Pick<HostModel, "name">, monitor: Pick<HostModel, "name" | "address" | "ipv6">): string {
  const v4 = [monitor.address, monitor.ipv6].filter((a): a is string => !!a && !a.includes(":"));
  const v6 = [monitor.address, monitor.ipv6].filter((a): a is string => !!a && a.includes(":"));
  for (const a of [...v4, ...v6]) if (!/^[0-9A-Fa-f.:]+$/.test(a)) throw new UnsafeValueError(`the nftables table ${p.table}`, a, "an IPv4 or IPv6 address");
  return [
    `# Managed by globenet-infra (FileSet ${p.set}): port ${p.port} of ${host.name} for the monitor host ${monitor.name} only (${p.source}).`,
    `table inet ${p.table}`,
    `delete table inet ${p.table}`,
    `table inet ${p.table} {`,
    "\tchain input {",
    "\t\ttype filter hook input priority filter; policy accept;",
    ...v4.map((a) => `\t\ttcp dport ${p.port} ip saddr ${a} accept`),
    ...v6.map((a) => `\t\ttcp dport ${p.port} ip6 saddr ${a} accept`),
    `\t\ttcp dport ${p.port} counter drop`,
    "\t}",
    "}",
    "",
  ].join("\n");
}

/** The node exporter's port 9100, open to the monitor host only. */
export function renderNodeExporterNft(host: Pick<HostModel, "name">, monitor: Pick<HostModel, "name" | "address" | "ipv6">): string {
  return renderMonitorOnlyNft({ set: "node-exporter", table: NODE_EXPORTER_TABLE, port: PORTS.node, source: "lib/render/monitoring-units.ts" }, host, monitor);
}

/**
 * Where the bridge listens: the webhook's loopback address and port (monitoring.webhook, default
 * http://127.0.0.1:9099/alerts), or undefined when the webhook is elsewhere (no bridge on the monitor host).
 */
export function bridgeListen(plan: Pick<MonitoringPlan, "settings">): string | undefined {
  const url = new URL(plan.settings.webhook ?? "http://127.0.0.1:9099/alerts");
  if (url.hostname !== "127.0.0.1" && url.hostname !== "[::1]") return undefined;
  return `${url.hostname}:${url.port || (url.protocol === "https:" ? "443" : "80")}`;
}

/** The alert bridge's unit on the monitor host, or undefined when Alertmanager sends elsewhere. */
export function renderAlertBridgeUnit(plan: Pick<MonitoringPlan, "settings" | "monitor">): string | undefined {
  const listen = bridgeListen(plan);
  if (!listen) return undefined;
  return `# Managed by globenet-infra: Alertmanager's webhook to GitLab issues on ${plan.monitor.name} (lib/render/monitoring-units.ts).
[Unit]
Description=globenet-infra: the alert bridge (npm run monitor -- bridge), one GitLab issue per alert
After=network-online.target prometheus-alertmanager.service
Wants=network-online.target

[Service]
Type=simple
# The token: read by systemd (root) from a root:root 0600 file, given in the environment only.
EnvironmentFile=${ALERT_BRIDGE_ENV}
DynamicUser=yes
WorkingDirectory=${ALERT_BRIDGE_CHECKOUT}
ExecStart=/usr/bin/node ${ALERT_BRIDGE_CHECKOUT}/node_modules/tsx/dist/cli.mjs lib/cli/main.ts monitor bridge --listen ${listen}
Restart=on-failure
RestartSec=5
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
RestrictAddressFamilies=AF_INET AF_INET6

[Install]
WantedBy=multi-user.target
`;
}

/** The GitLab connection the bridge reads (lib/ci/gitlab.ts gitlabFromEnv). */
export interface BridgeEnv {
  api: string;
  project: string;
  token: string;
}

/**
 * The bridge's EnvironmentFile (to be written root:root 0600). Each value is checked for the
 * one-line KEY=value syntax systemd reads; a bad token is refused without being shown.
 */
export function renderAlertBridgeEnv(e: BridgeEnv): string {
  if (!/^https?:\/\/[A-Za-z0-9.:[\]/_-]+$/.test(e.api)) throw new UnsafeValueError("the alert bridge's environment file", e.api, "the GitLab API URL must be like https://gitlab.example/api/v4");
  if (!/^[A-Za-z0-9._%/-]+$/.test(e.project)) throw new UnsafeValueError("the alert bridge's environment file", e.project, "the project must be its id or its path, like 42 or globenet/infra");
  if (!/^[A-Za-z0-9_-]{8,200}$/.test(e.token)) throw new UnsafeValueError("the alert bridge's environment file", "[token]", "the GitLab token must be 8 to 200 letters, digits, - or _ (a project access token)");
  return `CI_API_V4_URL=${e.api}\nCI_PROJECT_ID=${e.project}\nGITLAB_API_TOKEN=${e.token}\n`;
}
