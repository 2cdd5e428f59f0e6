import { readFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { MAIL_QUEUE_DEFERRED, PORTS, type MonitoringPlan, type ProbeJob } from "../model/monitoring";
import { mailPublicName } from "../model/mail";
import type { Model } from "../model/types";
import { lineComment } from "./escape";
import { daemonRuleGroup } from "./monitoring-daemons";
import { renderRrsigFiles, rrsigRuleGroup } from "./monitoring-dnssec";
import { generatedNotice, inventoryFile } from "./notice";

/**
 * The monitor host's configuration (docs/architecture.md, "Monitoring"): Prometheus' scrape
 * configuration and alert rules, the blackbox exporter's modules, Alertmanager's routing.
 * Written with the yaml library rather than a template: these files are lists of targets and
 * labels built from the data, and the library quotes every value as YAML needs (a template
 * would need an escaper per position). Checked by the daemons' own tools before use:
 * promtool check config / check rules, amtool check-config, blackbox_exporter --config.check.
 */

/** Folder layout of the set, relative to its root (the monitor host's /etc/prometheus/globenet). */
export const MONITORING_FILES = {
  prometheus: "prometheus.yml",
  rules: "rules/globenet.yml",
  blackbox: "blackbox.yml",
  alertmanager: "alertmanager.yml",
} as const;

/** Alertmanager's mail template: in the set with monitoring.mail only (so not among the files every set has); named relative to alertmanager.yml. */
export const ALERT_MAIL_TEMPLATE = "alertmanager/mail.tmpl";

/** The mail template, shipped as is: a Go template of Alertmanager's (lib/render/alertmanager/mail.tmpl). */
export function alertMailTemplate(): string {
  return readFileSync(join(__dirname, "alertmanager", "mail.tmpl"), "utf8");
}

/** A Prometheus duration: whole minutes as such, else whole seconds (the lab's short delays). */
export function duration(minutes: number): string {
  return Number.isInteger(minutes) ? `${minutes}m` : `${Math.max(1, Math.round(minutes * 60))}s`;
}

const header = (model: Model, what: string) => `# ${lineComment(generatedNotice(inventoryFile(model.stack)))}\n# ${what}\n`;

const JOBS: ProbeJob[] = ["site", "site-redirect", "zone", "vps-ssh", "mariadb", "mail"];

/** prometheus.yml: the node exporters, then one blackbox job per kind of probe. */
export function renderPrometheusConfig(plan: MonitoringPlan, model: Model): string {
  const blackbox = `127.0.0.1:${PORTS.blackbox}`;
  const probeJob = (job: ProbeJob) => ({
    job_name: job,
    metrics_path: "/probe",
    static_configs: plan.probes
      .filter((p) => p.job === job)
      .map((p) => ({ targets: [p.target], labels: { __param_module: p.module, ...p.labels } })),
    relabel_configs: [
      { source_labels: ["__address__"], target_label: "__param_target" },
      { source_labels: ["__param_target"], target_label: "instance" },
      { target_label: "__address__", replacement: blackbox },
    ],
  });
  const config = {
    global: { scrape_interval: `${plan.settings.scrape_interval_sec}s`, evaluation_interval: `${plan.settings.scrape_interval_sec}s` },
    rule_files: [MONITORING_FILES.rules],
    alerting: { alertmanagers: [{ static_configs: [{ targets: [`127.0.0.1:${PORTS.alertmanager}`] }] }] },
    scrape_configs: [
      { job_name: "node", static_configs: plan.nodes.map((n) => ({ targets: [n.target], labels: n.labels })) },
      ...(plan.postfix.length ? [{ job_name: "postfix", static_configs: plan.postfix.map((n) => ({ targets: [n.target], labels: n.labels })) }] : []),
      ...JOBS.filter((j) => plan.probes.some((p) => p.job === j)).map(probeJob),
    ],
  };
  return header(model, `What ${plan.monitor.name} scrapes: node exporters, mail hosts' Postfix exporters, and the blackbox exporter's probes of every site, zone, VPS, database host and mail service.`) + stringify(config, { lineWidth: 0 });
}

/** rules/globenet.yml: one alert per way a member's service fails, thresholds from the inventory. */
export function renderAlertRules(plan: MonitoringPlan, model: Model): string {
  const s = plan.settings;
  const down = duration(s.down_minutes);
  const rule = (alert: string, expr: string, forDuration: string, summary: string) => ({ alert, expr, for: forDuration, labels: { severity: "page" }, annotations: { summary } });
  const groups = [
    {
      name: "globenet",
      rules: [
        rule("SiteDown", 'probe_success{job="site"} == 0', down, "{{ $labels.site }} of {{ $labels.handle }} does not answer as it should ({{ $labels.status }}) on {{ $labels.web_host }}"),
        rule("SiteNotRedirectedToHttps", 'probe_success{job="site-redirect"} == 0', down, "http://{{ $labels.site }}/ of {{ $labels.handle }} does not redirect to HTTPS"),
        rule("CertificateExpiresSoon", `(probe_ssl_earliest_cert_expiry{job="site"} - time()) / 86400 < ${s.cert_days}`, down, `the certificate of {{ $labels.site }} ({{ $labels.handle }}) expires in less than ${s.cert_days} days`),
        rule("ZoneNotAnswered", 'probe_success{job="zone"} == 0', down, "{{ $labels.nameserver }} does not answer the SOA of {{ $labels.zone }} ({{ $labels.owner }})"),
        rule("ZoneSerialBehind", 'max by (zone, owner) (probe_dns_serial{job="zone"}) - min by (zone, owner) (probe_dns_serial{job="zone"}) > 0', duration(s.serial_lag_minutes), "a name server serves an older serial of {{ $labels.zone }} ({{ $labels.owner }}): a secondary stopped following its primary"),
        rule("VpsSshDown", 'probe_success{job="vps-ssh"} == 0', down, "the VPS {{ $labels.vps }} of {{ $labels.handle }} does not answer SSH (on {{ $labels.hypervisor }})"),
        rule("MariaDBUnreachable", 'probe_success{job="mariadb"} == 0', down, "MariaDB on {{ $labels.host }} does not accept connections"),
        rule("HostDown", 'up{job="node"} == 0', down, "{{ $labels.host }} does not answer (node exporter)"),
        ...(plan.probes.some((p) => p.job === "mail")
          ? [
              rule("MailServiceDown", 'probe_success{job="mail"} == 0', down, "{{ $labels.service }} on {{ $labels.host }} ({{ $labels.instance }}) does not answer with its greeting over TLS"),
              rule("MailCertificateExpiresSoon", `(probe_ssl_earliest_cert_expiry{job="mail"} - time()) / 86400 < ${s.cert_days}`, down, `the certificate of {{ $labels.service }} on {{ $labels.host }} ({{ $labels.instance }}) expires in less than ${s.cert_days} days`),
              // Debian's Postfix exporter reads the queue (showq): deferred mail piling up means delivery fails somewhere.
              rule(
                "MailQueueGrowing",
                `sum by (host) (postfix_showq_message_age_seconds_count{job="postfix",queue="deferred"}) > ${MAIL_QUEUE_DEFERRED} and sum by (host) (delta(postfix_showq_message_age_seconds_count{job="postfix",queue="deferred"}[30m])) > 0`,
                down,
                `more than ${MAIL_QUEUE_DEFERRED} messages are deferred on {{ $labels.host }} and the queue keeps growing (npm run status -- mail shows why)`,
              ),
              rule("MailQueueNotWatched", 'up{job="postfix"} == 0', down, "the Postfix exporter of {{ $labels.host }} does not answer: its queue is not watched"),
            ]
          : []),
        rule("DiskFull", `100 * (1 - node_filesystem_avail_bytes{job="node",fstype!~"tmpfs|overlay|squashfs"} / node_filesystem_size_bytes{job="node",fstype!~"tmpfs|overlay|squashfs"}) > ${s.disk_percent}`, "15m", `{{ $labels.mountpoint }} on {{ $labels.host }} is more than ${s.disk_percent} % full`),
        rule("InodesFull", `100 * (1 - node_filesystem_files_free{job="node",fstype!~"tmpfs|overlay|squashfs"} / node_filesystem_files{job="node",fstype!~"tmpfs|overlay|squashfs"}) > ${s.disk_percent}`, "15m", `{{ $labels.mountpoint }} on {{ $labels.host }} has used more than ${s.disk_percent} % of its inodes`),
        // The backup runs' textfile metrics (provider/scripts/backup/run.sh, write_metrics): a
        // source's last good archive too old; a source never saved; a host whose run never wrote.
        // The borg check (source "check", every check_every_days) and the run as a whole are not
        // sources: the per-source alerts say which one is late.
        rule("BackupTooOld", `(time() - globenet_backup_last_success_timestamp_seconds{job="node",kind!~"run|check|homes"}) / 3600 > ${plan.backupHours}`, down, `the last good backup of {{ $labels.source }}{{ with $labels.handle }} ({{ . }}){{ end }} on {{ $labels.backup_host }} is more than ${plan.backupHours} hours old`),
        rule("BackupNeverSucceeded", 'globenet_backup_last_run_ok{job="node",kind!~"run|check|homes"} == 0 unless on (backup_host, source) globenet_backup_last_success_timestamp_seconds{job="node"}', down, "{{ $labels.source }}{{ with $labels.handle }} ({{ . }}){{ end }} on {{ $labels.backup_host }} has never been backed up: its runs fail"),
        ...plan.backupHosts.map((h) => ({ ...rule("BackupNotRunning", `absent(globenet_backup_last_run_timestamp_seconds{job="node",backup_host=${JSON.stringify(h)},source="run"})`, `${plan.backupHours}h`, `${h} has not reported a backup run for ${plan.backupHours} hours (globenet-backup's cron, or the node exporter's textfile directory)`), labels: { severity: "page", host: h } })),
      ],
    },
    rrsigRuleGroup(plan, down),
    daemonRuleGroup(plan, down),
  ];
  return header(model, "Alerts: each names the member and the object from the data (labels handle, site, zone, vps, host, backup_host, source, service, daemon).") + stringify({ groups }, { lineWidth: 0 });
}

/** blackbox.yml: how each kind of probe is made; one DNS module per zone. */
export function renderBlackboxConfig(plan: MonitoringPlan, model: Model): string {
  const answering = [200, 201, 202, 203, 204, 206, 301, 302, 303, 307, 308, 401, 403, 404];
  const modules: Record<string, unknown> = {
    https_up: { prober: "http", timeout: "10s", http: { valid_status_codes: answering, fail_if_not_ssl: true, follow_redirects: false, preferred_ip_protocol: "ip4" } },
    http_up: { prober: "http", timeout: "10s", http: { valid_status_codes: answering, follow_redirects: false, preferred_ip_protocol: "ip4" } },
    https_suspended: { prober: "http", timeout: "10s", http: { valid_status_codes: [503], fail_if_not_ssl: true, follow_redirects: false, preferred_ip_protocol: "ip4" } },
    http_suspended: { prober: "http", timeout: "10s", http: { valid_status_codes: [503], follow_redirects: false, preferred_ip_protocol: "ip4" } },
    http_to_https: {
      prober: "http",
      timeout: "10s",
      http: { valid_status_codes: [301, 302, 307, 308], follow_redirects: false, preferred_ip_protocol: "ip4", fail_if_header_not_matches: [{ header: "Location", regexp: "^https://" }] },
    },
    ssh_banner: { prober: "tcp", timeout: "10s", tcp: { query_response: [{ expect: "^SSH-2.0-" }], preferred_ip_protocol: "ip4" } },
    tcp_connect: { prober: "tcp", timeout: "5s", tcp: { preferred_ip_protocol: "ip4" } },
  };
  if (plan.probes.some((p) => p.job === "mail")) {
    // SMTP on 25 and 587: the greeting, EHLO offers STARTTLS, TLS is set up (the certificate checked), then QUIT.
    const ehlo = `EHLO ${plan.monitor.fqdn}`;
    modules.smtp_starttls = {
      prober: "tcp",
      timeout: "10s",
      tcp: { preferred_ip_protocol: "ip4", query_response: [{ expect: "^220 " }, { send: ehlo }, { expect: "^250[- ]STARTTLS" }, { send: "STARTTLS" }, { expect: "^220 " }, { starttls: true }, { send: ehlo }, { expect: "^250 " }, { send: "QUIT" }] },
    };
    modules.smtps = { prober: "tcp", timeout: "10s", tcp: { preferred_ip_protocol: "ip4", tls: true, query_response: [{ expect: "^220 " }, { send: ehlo }, { expect: "^250 " }, { send: "QUIT" }] } };
    modules.imaps = { prober: "tcp", timeout: "10s", tcp: { preferred_ip_protocol: "ip4", tls: true, query_response: [{ expect: "^\\* OK" }, { send: "a1 LOGOUT" }] } };
  }
  for (const z of plan.zoneModules) {
    const zone = z.slice("soa_".length);
    modules[z] = { prober: "dns", timeout: "5s", dns: { query_name: zone, query_type: "SOA", recursion_desired: false, valid_rcodes: ["NOERROR"], preferred_ip_protocol: "ip4", validate_answer_rrs: { fail_if_not_matches_regexp: [`^${zone.replace(/\./g, "\\.")}\\.\\s.*\\sSOA\\s`] } } };
  }
  return header(model, "The blackbox exporter's modules: sites, redirects, suspended notices, SSH banners, TCP, mail over TLS, and each zone's SOA.") + stringify({ modules }, { lineWidth: 0 });
}

/** alertmanager.yml: every alert to the webhook (the GitLab issue bridge), resolved ones too. */
export function renderAlertmanagerConfig(plan: MonitoringPlan, model: Model): string {
  const url = plan.settings.webhook ?? "http://127.0.0.1:9099/alerts";
  const config = {
    route: {
      receiver: "volunteers",
      group_by: ["alertname", "handle", "site", "zone", "vps", "host", "backup_host", "source", "service"],
      group_wait: `${plan.settings.group_wait_sec}s`,
      group_interval: `${plan.settings.group_interval_sec}s`,
      repeat_interval: "12h",
    },
    receivers: [{ name: "volunteers", webhook_configs: [{ url, send_resolved: true }], ...alertMail(plan, model) }],
    ...(plan.settings.mail ? { templates: [ALERT_MAIL_TEMPLATE] } : {}),
  };
  const mail = plan.settings.mail ? ", and a mail to the volunteers' address for each firing and resolved group" : "";
  return header(model, `Where alerts go: one webhook, which opens a GitLab issue per alert and closes it when resolved${mail}.`) + stringify(config, { lineWidth: 0 });
}

/**
 * The optional mail of Alertmanager (monitoring.mail): to the volunteers' address, through the
 * smarthost named, else the inventory's mail host on port 25 by its public name (the name its
 * certificate carries, so STARTTLS is verified); resolved groups are mailed too. Subject and
 * text from the set's mail template (French, then English, naming the member and the object);
 * plain text only (html empty: Alertmanager then sends no HTML part).
 */
export function alertMail(plan: MonitoringPlan, model: Model): { email_configs?: object[] } {
  const m = plan.settings.mail;
  if (!m) return {};
  const mailHost = model.hosts.find((h) => h.roles.includes("mail"));
  const smarthost = m.smarthost ?? (mailHost ? `${mailPublicName(model.inventory, model.hosts, mailHost.name)}:25` : undefined);
  // lib/check/hosts.ts refuses mail: without a smarthost nor a mail host, naming the inventory's line.
  if (!smarthost) return {};
  return {
    email_configs: [
      {
        to: m.to,
        from: m.from,
        smarthost,
        hello: plan.monitor.fqdn,
        require_tls: m.require_tls,
        send_resolved: true,
        headers: { Subject: '{{ template "globenet.mail.subject" . }}' },
        text: '{{ template "globenet.mail.text" . }}',
        html: "",
      },
    ],
  };
}

/** The monitor host's folder in a rendered tree (the set's files below it; live root /etc/prometheus/globenet). */
export const MONITORING_DIR = "prometheus/globenet/";

/** The files of the monitor host's set (the four configurations, the mail template with monitoring.mail, the RRSIG check), relative to its root, or {} without a monitor host. */
export function renderMonitoring(plan: MonitoringPlan | undefined, model: Model): Record<string, string> {
  if (!plan) return {};
  return {
    [MONITORING_FILES.prometheus]: renderPrometheusConfig(plan, model),
    [MONITORING_FILES.rules]: renderAlertRules(plan, model),
    [MONITORING_FILES.blackbox]: renderBlackboxConfig(plan, model),
    [MONITORING_FILES.alertmanager]: renderAlertmanagerConfig(plan, model),
    ...(plan.settings.mail ? { [ALERT_MAIL_TEMPLATE]: alertMailTemplate() } : {}),
    ...renderRrsigFiles(plan, model),
  };
}
