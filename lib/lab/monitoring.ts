/**
 * The multi-host lab's monitoring daemons (issue 21), started by hand as the other lab daemons
 * (no systemd): a node exporter on every host, and on the monitor host Prometheus, Alertmanager
 * and the blackbox exporter (each under supervise.sh, which keeps its PID where the monitoring
 * file set's reload sends SIGHUP, /run/globenet-monitoring/<daemon>.pid, and waits for the
 * configuration the first apply writes), the lab's fake GitLab API and the alert bridge
 * (`npm run monitor -- bridge`) pointed at it. Prometheus' and Alertmanager's UIs answer on the
 * monitor host's address; the exporters and the bridge on its loopback, as Prometheus' and
 * Alertmanager's configuration names them (lib/render/monitoring.ts).
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "../base/repo";
import { LabError, run, sleep, waitFor } from "../base/proc";
import { PORTS } from "../model/monitoring";
import { MAIL_SET_ROOT } from "../render/mail";
import { MAIL_EXPORTER_DIR, MAIL_EXPORTER_FILES, postfixExporterArgs } from "../render/mail-exporter";
import { MONITORING_FILES } from "../render/monitoring";
import { RRSIG_FILES, RRSIG_PROM } from "../render/monitoring-dnssec";
import { DAEMON_FILES, DAEMONS_PROM, NODE_SET_LIVE } from "../render/monitoring-daemons";
import { detachedChild, logTail, need, type LabDaemon, type Place } from "./daemons";
import type { LabPaths } from "./paths";
import { pebbleRootFile } from "./pebble";
import { labHello } from "./reach";
import { bracket } from "./netns";

/** Where the monitoring file set lives on the monitor host (file-set-inputs.ts liveRoot). */
const LIVE = "/etc/prometheus/globenet";
/** Where the file set's reload finds each daemon's PID on a host without systemd (file-set.sh MON_PIDS). */
export const MONITOR_PIDS = "/run/globenet-monitoring";
/** The lab's fake GitLab API on the monitor host (every address of its namespace). */
export const LAB_GITLAB_PORT = 8929;
/** The project the fake GitLab serves (fake-gitlab.ts). */
export const LAB_GITLAB_PROJECT = "42";
const SUPERVISE = join(REPO_ROOT, "lib", "lab", "scripts", "supervise.sh");
const TSX = join(REPO_ROOT, "node_modules", ".bin", "tsx");

/** The token the lab's fake GitLab accepts and the bridge sends: made once, kept in .lab (0600). */
export function labGitlabToken(p: LabPaths): string {
  const f = join(p.lab, "gitlab-token");
  if (!existsSync(f)) writeFileSync(f, `${randomBytes(24).toString("hex")}\n`, { mode: 0o600 });
  return readFileSync(f, "utf8").trim();
}

/** A foreground daemon under supervise.sh, started through `place`; its record is the supervisor's. */
function supervised(
  p: LabPaths,
  place: Place,
  o: { name: string; where: string; pidName?: string; config?: string; dataDir?: string; cmd: () => string[]; env?: () => NodeJS.ProcessEnv; answers?: () => Promise<boolean> },
): LabDaemon {
  return {
    name: o.name,
    where: o.where,
    comm: "bash",
    graceMs: 15_000,
    killAfterGrace: true,
    // Only the lab's own (recorded) instance counts: another one would watch another configuration.
    async running() {
      return undefined;
    },
    async start() {
      mkdirSync(MONITOR_PIDS, { recursive: true, mode: 0o755 });
      if (o.dataDir) mkdirSync(o.dataDir, { recursive: true, mode: 0o755 });
      const pidFile = o.pidName ? join(MONITOR_PIDS, `${o.pidName}.pid`) : "-";
      const child = detachedChild(p, o.name, ...place.wrap("bash", [SUPERVISE, pidFile, o.config ?? "-", ...o.cmd()]), { ...process.env, ...o.env?.() });
      await sleep(300);
      if (child.exited || child.pid < 0) throw new LabError(`${o.name} did not start (${child.exited ?? "no pid"}):\n${logTail(p, o.name)}`);
      if (o.answers && !(await waitFor(o.answers, 30_000, 200))) throw new LabError(`${o.name} does not answer on ${o.where} after 30 s:\n${logTail(p, o.name)}`);
      return child.pid;
    },
  };
}

/**
 * Debian's Postfix exporter on the mail host (port 9154, its address): the queue, read from
 * Postfix's showq socket, for MailQueueGrowing. Started after the apply, once Postfix runs, with
 * the flags of the mail set's ARGS file, the one a prod host's /etc/default/prometheus-postfix-exporter
 * gets (lib/render/mail-exporter.ts): what the lab runs is what prod runs. The apply loaded the
 * table that keeps its port to the monitor host.
 */
export function postfixExporter(p: LabPaths, place: Place): LabDaemon {
  const at = place.addresses[0] ?? "127.0.0.1";
  const argsFile = join(MAIL_SET_ROOT, MAIL_EXPORTER_DIR, MAIL_EXPORTER_FILES.args);
  return {
    ...supervised(p, place, {
      name: `postfix-exporter${place.suffix}`,
      where: `${bracket(at)}:${PORTS.postfixExporter}`,
      config: argsFile,
      cmd: () => {
        if (!existsSync(argsFile)) throw new LabError(`${argsFile} is missing: the mail set has no exporter (the lab's inventory needs a monitor host)`);
        return [need("prometheus-postfix-exporter", "prometheus-postfix-exporter"), ...postfixExporterArgs(readFileSync(argsFile, "utf8"), argsFile)];
      },
      // Listening in its namespace: a hello from this machine would be dropped by the port's table
      // (the monitor host only); Prometheus' scrape (up{job="postfix"}) is what shows it answers.
      answers: async () => run(...place.wrap("ss", ["-Hltn", `( sport = :${PORTS.postfixExporter} )`]), { timeoutMs: 10_000 }).stdout.includes(`${bracket(at)}:${PORTS.postfixExporter}`),
    }),
    afterApply: true,
  };
}

/** Debian's node exporter on one lab host, on every address of its namespace (port 9100). */
export function nodeExporter(p: LabPaths, place: Place): LabDaemon {
  const at = place.addresses[0] ?? "127.0.0.1";
  return supervised(p, place, {
    name: `node-exporter${place.suffix}`,
    where: `${bracket(at)}:${PORTS.node}`,
    cmd: () => [need("prometheus-node-exporter", "prometheus-node-exporter"), `--web.listen-address=:${PORTS.node}`],
    answers: async () => (await labHello(at, PORTS.node, 500, "node exporter: waiting for it")) !== undefined,
  });
}

/**
 * The daemons' check of a lab host, as globenet-daemons.timer runs it in prod (every minute):
 * the set's own script and list, every 15 s here, writing the host's textfile folder. The lab's
 * hosts share this machine's process table, so here it proves the path (script → textfile →
 * exporter → rules; no DaemonCheckNotRunning) more than each host's own processes, which
 * tests/monitoring-daemons.test.ts shows on real daemons.
 */
export function daemonsCheck(p: LabPaths, place: Place): LabDaemon {
  const expected = join(NODE_SET_LIVE, DAEMON_FILES.expected);
  return supervised(p, place, {
    name: `daemons-check${place.suffix}`,
    where: `${DAEMONS_PROM} on ${place.host ?? "this machine"} (every 15 s)`,
    config: expected,
    cmd: () => ["bash", "-c", 'bash "$1" "$2" "$3"; sleep 15', "daemons-check", join(NODE_SET_LIVE, DAEMON_FILES.script), expected, DAEMONS_PROM],
  });
}

/** The monitor host's daemons, in start order (the fake GitLab's token: .lab/gitlab-token). */
export function monitorDaemons(p: LabPaths, place: Place): LabDaemon[] {
  const at = place.addresses[0] ?? "127.0.0.1";
  const data = join(p.lab, "monitoring");
  const token = () => labGitlabToken(p);
  return [
    supervised(p, place, {
      name: "blackbox-exporter",
      where: `127.0.0.1:${PORTS.blackbox} on ${place.host ?? "this machine"}`,
      pidName: "prometheus-blackbox-exporter",
      config: join(LIVE, MONITORING_FILES.blackbox),
      cmd: () => [need("prometheus-blackbox-exporter", "prometheus-blackbox-exporter"), `--config.file=${join(LIVE, MONITORING_FILES.blackbox)}`, `--web.listen-address=127.0.0.1:${PORTS.blackbox}`],
      // The sites' certificates and the mail host's come from the lab's pebble (lib/lab/mail.ts):
      // its root, and only it, is what the probes trust.
      env: () => ({ SSL_CERT_FILE: pebbleRootFile(p) }),
    }),
    supervised(p, place, {
      name: "alertmanager",
      where: `http://${bracket(at)}:${PORTS.alertmanager}/ (UI and API)`,
      pidName: "prometheus-alertmanager",
      config: join(LIVE, MONITORING_FILES.alertmanager),
      dataDir: join(data, "alertmanager"),
      cmd: () => [need("prometheus-alertmanager", "prometheus-alertmanager"), `--config.file=${join(LIVE, MONITORING_FILES.alertmanager)}`, `--storage.path=${join(data, "alertmanager")}`, `--web.listen-address=:${PORTS.alertmanager}`, "--cluster.listen-address="],
    }),
    // --rules.alert.resend-delay 2 s (Debian's default 1 min): an alert that ends with a rule
    // change (cert_days put back) is sent as resolved at the next resend, so within seconds here.
    supervised(p, place, {
      name: "prometheus",
      where: `http://${bracket(at)}:${PORTS.prometheus}/ (UI and API)`,
      pidName: "prometheus",
      config: join(LIVE, MONITORING_FILES.prometheus),
      dataDir: join(data, "prometheus"),
      cmd: () => [need("prometheus", "prometheus"), `--config.file=${join(LIVE, MONITORING_FILES.prometheus)}`, `--storage.tsdb.path=${join(data, "prometheus")}`, `--web.listen-address=:${PORTS.prometheus}`, "--rules.alert.resend-delay=2s"],
    }),
    supervised(p, place, {
      name: "fake-gitlab",
      where: `http://${bracket(at)}:${LAB_GITLAB_PORT}/api/v4 (the lab's stand-in for GitLab)`,
      cmd: () => [TSX, join(REPO_ROOT, "lib", "lab", "fake-gitlab-serve.ts")],
      env: () => ({ GLOBENET_LAB_GITLAB_TOKEN: token(), GLOBENET_LAB_GITLAB_LISTEN: `0.0.0.0:${LAB_GITLAB_PORT}` }),
      answers: async () => (await labHello(at, LAB_GITLAB_PORT, 500, "fake GitLab: waiting for it")) !== undefined,
    }),
    // The RRSIG check of the signed zones, as globenet-rrsig.timer runs it in prod (every 15 min):
    // the set's own script and targets, every 5 s here, writing mon1's textfile folder.
    supervised(p, place, {
      name: "rrsig-check",
      where: `${RRSIG_PROM} on ${place.host ?? "this machine"} (every 5 s)`,
      config: join(LIVE, RRSIG_FILES.targets),
      cmd: () => ["bash", "-c", 'bash "$1" "$2" "$3"; sleep 5', "rrsig-check", join(LIVE, RRSIG_FILES.script), join(LIVE, RRSIG_FILES.targets), RRSIG_PROM],
    }),
    // The token travels in the environment, never in argv (lib/ci/gitlab.ts gitlabFromEnv).
    supervised(p, place, {
      name: "alert-bridge",
      where: `127.0.0.1:9099/alerts on ${place.host ?? "this machine"} → the fake GitLab`,
      cmd: () => [TSX, join(REPO_ROOT, "lib", "cli", "main.ts"), "monitor", "bridge", "--listen", "127.0.0.1:9099"],
      env: () => ({ CI_API_V4_URL: `http://127.0.0.1:${LAB_GITLAB_PORT}/api/v4`, CI_PROJECT_ID: LAB_GITLAB_PROJECT, GITLAB_API_TOKEN: token() }),
    }),
  ];
}
