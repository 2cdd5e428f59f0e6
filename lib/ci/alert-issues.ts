import { createHash } from "node:crypto";
import type { Alert } from "../schema/alertmanager";
import { closeMarkedIssue, upsertMarkedIssue, type GitLab } from "./gitlab";

/**
 * One GitLab issue per alert (issue 21): opened when Alertmanager says it fires, updated while
 * it keeps firing, closed when it is resolved. The issue is found again by a marker made from
 * the alert's name and the labels that say whose and what it is — not Alertmanager's
 * fingerprint, which changes with any other label — so the same failure of the same site
 * always lands in the same issue.
 */

export const ALERT_LABEL = "alert";

/** The labels that name the member and the object (lib/model/monitoring.ts sets them). */
const IDENTITY = ["handle", "site", "zone", "nameserver", "vps", "host", "mountpoint", "backup_host", "source"] as const;

export function alertKey(a: Pick<Alert, "labels">): string {
  return [a.labels.alertname, ...IDENTITY.filter((k) => a.labels[k] !== undefined).map((k) => `${k}=${a.labels[k]}`)].join(" ");
}

export function alertMarker(a: Pick<Alert, "labels">): string {
  return `<!-- globenet-infra:alert:${createHash("sha256").update(alertKey(a)).digest("hex").slice(0, 20)} -->`;
}

/** Markdown of a value from an alert: one line, no HTML or link syntax that could make the issue lie. */
function plain(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f]/g, " ").replace(/[<>[\]`|*_]/g, (c) => `\\${c}`).slice(0, 300);
}

export function alertIssue(a: Alert): { title: string; body: string } {
  // A backup source (BackupTooOld…) is named with the host that sends it: two sources of one host are two issues.
  const backup = a.labels.source && a.labels.backup_host ? `${a.labels.source} on ${a.labels.backup_host}` : undefined;
  // A zone on one name server (ZoneNotAnswered, the RRSIG alerts) is named with it: one issue per server.
  const zone = a.labels.zone && a.labels.nameserver ? `${a.labels.zone} on ${a.labels.nameserver}` : a.labels.zone;
  const who = [a.labels.site ?? zone ?? a.labels.vps ?? backup ?? a.labels.host, a.labels.handle ? `(${a.labels.handle})` : ""].filter(Boolean).join(" ");
  const title = `Alert ${plain(a.labels.alertname ?? "")}: ${plain(who || "Globenet")}`.slice(0, 250);
  const summary = plain(a.annotations.summary ?? a.labels.alertname ?? "");
  const rows = IDENTITY.filter((k) => a.labels[k] !== undefined).map((k) => `| ${k} | ${plain(a.labels[k] as string)} |`);
  const body = [
    `**${summary}**`,
    "",
    `Firing since ${plain(a.startsAt)} (Prometheus on the monitor host; this issue closes itself when it is resolved).`,
    "",
    `En alerte depuis ${plain(a.startsAt)} (Prometheus sur l'hôte de supervision ; ce ticket se ferme tout seul quand c'est résolu).`,
    "",
    "| label | value |",
    "|---|---|",
    ...rows,
  ].join("\n");
  return { title, body };
}

/** What the bridge did with one alert, for its log. */
export type AlertAction = "created" | "updated" | "closed" | "none open";

export async function handleAlert(gl: GitLab, a: Alert): Promise<AlertAction> {
  const marker = alertMarker(a);
  if (a.status === "firing") {
    const { title, body } = alertIssue(a);
    return upsertMarkedIssue(gl, marker, ALERT_LABEL, title, body);
  }
  const closed = await closeMarkedIssue(gl, marker, ALERT_LABEL, `\n\nResolved at ${plain(a.endsAt ?? "")} / résolu à ${plain(a.endsAt ?? "")}.`);
  return closed === undefined ? "none open" : "closed";
}
