import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { MonitoringPlan } from "../model/monitoring";
import type { Model } from "../model/types";
import { type CheckUnit, renderCheckService, renderCheckTimer } from "./check-units";
import { lineComment, UnsafeValueError } from "./escape";
import { TEXTFILE_DIR } from "./monitoring-units";
import { generatedNotice, inventoryFile } from "./notice";

/**
 * The RRSIG check of signed zones (docs/architecture.md, "Monitoring"): the blackbox exporter's
 * DNS prober can say an answer came, not when its signature expires. So the monitoring set
 * carries a small script (lib/render/scripts/rrsig-expiry.sh) and the list of what it asks
 * (every signed zone on each of its name servers, from the data), run by a systemd timer of the
 * set on the monitor host; it writes into the node exporter's textfile directory, and the rules
 * below fire with the zone, its owner and the name server as labels.
 */

/** The set's files for the check, relative to its root (/etc/prometheus/globenet). */
export const RRSIG_FILES = {
  script: "dnssec/rrsig-expiry.sh",
  targets: "dnssec/rrsig-targets",
  service: "dnssec/globenet-rrsig.service",
  timer: "dnssec/globenet-rrsig.timer",
} as const;

/** What the check writes, read by the monitor host's own node exporter. */
export const RRSIG_PROM = `${TEXTFILE_DIR}/globenet-dnssec.prom`;
/** How often the timer runs it (minutes); a check older than 4 of these fires RrsigCheckNotRunning. */
export const RRSIG_EVERY_MIN = 15;

const LIVE = "/etc/prometheus/globenet";

export interface RrsigTarget {
  zone: string;
  owner: string;
  nameserver: string;
  address: string;
}

/** Every signed zone on its primary and each secondary: the zone probes of the plan whose zone is signed. */
export function rrsigTargets(plan: Pick<MonitoringPlan, "probes">): RrsigTarget[] {
  return plan.probes
    .filter((p) => p.job === "zone" && p.labels.signed === "true")
    .map((p) => ({ zone: p.labels.zone as string, owner: p.labels.owner as string, nameserver: p.labels.nameserver as string, address: p.target }));
}

/** The script's input: one line per zone and name server ("zone owner nameserver address"). */
export function renderRrsigTargets(plan: Pick<MonitoringPlan, "probes">, model: Model): string {
  const lines = rrsigTargets(plan).map((t) => {
    for (const v of [t.zone, t.owner, t.nameserver, t.address]) {
      // The script writes each value as a label as is: names, handles and addresses only.
      if (!/^[A-Za-z0-9.:_-]+$/.test(v)) throw new UnsafeValueError("the RRSIG check's targets", v, "a zone, handle, host name or address");
    }
    return `${t.zone} ${t.owner} ${t.nameserver} ${t.address}`;
  });
  return [`# ${lineComment(generatedNotice(inventoryFile(model.stack)))}`, "# Signed zones and the name servers that serve them: zone owner nameserver address (read by rrsig-expiry.sh).", ...lines, ""].join("\n");
}

/** The script, as the repository holds it (checked by bash -n and shellcheck like every .sh). */
export function rrsigScript(): string {
  return readFileSync(join(__dirname, "scripts", "rrsig-expiry.sh"), "utf8");
}

/** The oneshot service and its timer: root (it writes the textfile directory), DNS to the name servers, little else. */
const RRSIG_UNIT: CheckUnit = {
  set: "monitoring",
  unit: "globenet-rrsig",
  what: "the RRSIG check of the signed zones",
  description: "RRSIG of each signed zone on each name server, for the node exporter",
  source: "lib/render/monitoring-dnssec.ts",
  command: ["/bin/bash", `${LIVE}/${RRSIG_FILES.script}`, `${LIVE}/${RRSIG_FILES.targets}`, RRSIG_PROM],
  writes: TEXTFILE_DIR,
  network: true,
  everyMin: RRSIG_EVERY_MIN,
};

export const renderRrsigService = (): string => renderCheckService(RRSIG_UNIT);
export const renderRrsigTimer = (): string => renderCheckTimer(RRSIG_UNIT);

/** The set's four files of the check (the targets may list nothing: no signed zone). */
export function renderRrsigFiles(plan: Pick<MonitoringPlan, "probes">, model: Model): Record<string, string> {
  return {
    [RRSIG_FILES.script]: rrsigScript(),
    [RRSIG_FILES.targets]: renderRrsigTargets(plan, model),
    [RRSIG_FILES.service]: renderRrsigService(),
    [RRSIG_FILES.timer]: renderRrsigTimer(),
  };
}

/**
 * The rules of the check, in their own group: an RRSIG missing on a name server, one expiring
 * within monitoring.rrsig_days (for `down`, like the other alerts), and the check itself
 * silent for four of its periods (only when some zone is signed).
 */
export function rrsigRuleGroup(plan: Pick<MonitoringPlan, "probes" | "settings" | "monitor">, down: string) {
  const days = plan.settings.rrsig_days;
  const rule = (alert: string, expr: string, forDuration: string, summary: string, labels: Record<string, string> = {}) => ({ alert, expr, for: forDuration, labels: { severity: "page", ...labels }, annotations: { summary } });
  const signed = rrsigTargets(plan).length > 0;
  return {
    name: "globenet-dnssec",
    rules: [
      rule("RrsigMissing", 'globenet_dnssec_rrsig_present{job="node"} == 0', down, "{{ $labels.nameserver }} answers the SOA of the signed zone {{ $labels.zone }} ({{ $labels.owner }}) without its RRSIG, or does not answer"),
      rule("RrsigInvalid", 'globenet_dnssec_rrsig_valid{job="node"} == 0', down, "the RRSIG of {{ $labels.zone }} ({{ $labels.owner }}) on {{ $labels.nameserver }} does not verify with the zone's keys (delv): resolvers that validate get SERVFAIL"),
      rule("RrsigExpiresSoon", `(globenet_dnssec_rrsig_expiry_timestamp_seconds{job="node"} - time()) / 86400 < ${days}`, down, `the RRSIG of {{ $labels.zone }} ({{ $labels.owner }}) on {{ $labels.nameserver }} expires in less than ${days} days: BIND no longer re-signs it, or the server no longer follows its primary`),
      ...(signed
        ? [
            rule(
              "RrsigCheckNotRunning",
              `absent(globenet_dnssec_rrsig_check_timestamp_seconds{job="node"}) or (time() - globenet_dnssec_rrsig_check_timestamp_seconds{job="node"}) > ${4 * RRSIG_EVERY_MIN * 60}`,
              `${RRSIG_EVERY_MIN}m`,
              `the RRSIG check of the signed zones has not run on ${plan.monitor.name} for an hour (globenet-rrsig.timer, or the node exporter's textfile directory)`,
              { host: plan.monitor.name },
            ),
          ]
        : []),
    ],
  };
}
