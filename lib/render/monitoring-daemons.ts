import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expectedDaemons } from "../model/monitoring-daemons";
import type { MonitoringPlan } from "../model/monitoring";
import type { HostModel, Model } from "../model/types";
import { type CheckUnit, renderCheckService, renderCheckTimer } from "./check-units";
import { lineComment, UnsafeValueError } from "./escape";
import { TEXTFILE_DIR } from "./monitoring-units";
import { generatedNotice, inventoryFile } from "./notice";

/**
 * The daemons' process check of every host (docs/architecture.md, "Monitoring"): the
 * node-exporter set of each host carries a small script (lib/render/scripts/daemons.sh), the
 * list of the daemons its roles expect (lib/model/monitoring-daemons.ts) and a systemd timer
 * that runs it every minute; it writes into the node exporter's textfile directory, like the
 * backup runs and the RRSIG check, and DaemonNotRunning fires with the host and the daemon.
 */

/** The check's files in the node-exporter set, relative to its root (/etc/prometheus/globenet-node). */
export const DAEMON_FILES = {
  script: "daemons/daemons.sh",
  expected: "daemons/expected",
  service: "daemons/globenet-daemons.service",
  timer: "daemons/globenet-daemons.timer",
} as const;

/** What the check writes, read by the host's own node exporter. */
export const DAEMONS_PROM = `${TEXTFILE_DIR}/globenet-daemons.prom`;
/** How often the timer runs it (minutes); a check older than 5 of these fires DaemonCheckNotRunning. */
export const DAEMONS_EVERY_MIN = 1;

/** The node-exporter set's live root on a host. */
export const NODE_SET_LIVE = "/etc/prometheus/globenet-node";

/** The script's input: one line per daemon ("daemon comm user"). */
export function renderExpectedDaemons(host: Pick<HostModel, "name" | "roles">, model: Model): string {
  const lines = expectedDaemons(model, host).map((x) => {
    for (const v of [x.daemon, x.comm, x.user]) {
      // The script writes each value as a label as is: names only.
      if (!/^[A-Za-z0-9.:_-]+$/.test(v)) throw new UnsafeValueError("the daemons' check list", v, "a daemon, process or user name");
    }
    return `${x.daemon} ${x.comm} ${x.user}`;
  });
  return [`# ${lineComment(generatedNotice(inventoryFile(model.stack)))}`, `# The daemons ${host.name}'s roles (${host.roles.join(", ")}) expect: daemon process user (read by daemons.sh).`, ...lines, ""].join("\n");
}

/** The script, as the repository holds it (checked by bash -n and shellcheck like every .sh). */
export function daemonsScript(): string {
  return readFileSync(join(__dirname, "scripts", "daemons.sh"), "utf8");
}

/** The oneshot service and its timer: root (it writes the textfile directory and reads every process), no network, little else. */
const DAEMONS_UNIT: CheckUnit = {
  set: "node-exporter",
  unit: "globenet-daemons",
  what: "the daemons' process check",
  description: "are the daemons of this host's roles running, for the node exporter",
  source: "lib/render/monitoring-daemons.ts",
  command: ["/bin/bash", `${NODE_SET_LIVE}/${DAEMON_FILES.script}`, `${NODE_SET_LIVE}/${DAEMON_FILES.expected}`, DAEMONS_PROM],
  writes: TEXTFILE_DIR,
  network: false,
  everyMin: DAEMONS_EVERY_MIN,
  accuracy: "10s",
};

export const renderDaemonsService = (): string => renderCheckService(DAEMONS_UNIT);
export const renderDaemonsTimer = (): string => renderCheckTimer(DAEMONS_UNIT);

/** The check's four files for one host's node-exporter set. */
export function renderDaemonFiles(host: Pick<HostModel, "name" | "roles">, model: Model): Record<string, string> {
  return {
    [DAEMON_FILES.script]: daemonsScript(),
    [DAEMON_FILES.expected]: renderExpectedDaemons(host, model),
    [DAEMON_FILES.service]: renderDaemonsService(),
    [DAEMON_FILES.timer]: renderDaemonsTimer(),
  };
}

/**
 * The rules: a daemon with no process for `down`; a host whose node exporter answers but whose
 * check has not written for five of its periods (the timer stopped, the textfile directory gone).
 */
export function daemonRuleGroup(plan: Pick<MonitoringPlan, "nodes">, down: string) {
  const rule = (alert: string, expr: string, forDuration: string, summary: string) => ({ alert, expr, for: forDuration, labels: { severity: "page" }, annotations: { summary } });
  const stale = 5 * DAEMONS_EVERY_MIN * 60;
  return {
    name: "globenet-daemons",
    rules: [
      rule("DaemonNotRunning", 'globenet_daemon_running{job="node"} == 0', down, "{{ $labels.daemon }} is not running on {{ $labels.host }} (no process {{ $labels.process }} of user {{ $labels.user }})"),
      ...(plan.nodes.length
        ? [
            rule(
              "DaemonCheckNotRunning",
              `(up{job="node"} == 1 unless on (host) globenet_daemon_check_timestamp_seconds{job="node"}) or (time() - globenet_daemon_check_timestamp_seconds{job="node"}) > ${stale}`,
              `${stale / 60}m`,
              "the daemons' check has not run on {{ $labels.host }} for 5 minutes (globenet-daemons.timer, or the node exporter's textfile directory)",
            ),
          ]
        : []),
    ],
  };
}
