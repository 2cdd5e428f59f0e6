/**
 * The DNS records a mail domain needs, derived so nobody types them (docs/architecture.md,
 * "Mail"): MX to the mail host's public name, SPF (only our MX sends), DMARC and TLS-RPT with
 * reports to Globenet, and RFC 6186 SRV records so mail clients configure themselves
 * (submission 587, submissions 465, IMAPS 993), and in the reports' domain the RFC 7489
 * authorisation to receive another domain's reports. The DKIM key's TXT comes from the mail host
 * (its private key never leaves it) and is not derived here. A hand-written record of the same
 * kind at the same name is an error naming the derived one.
 */
import { forwardZones, invPath, type Ctx } from "./context";
import type { PlacedRecord } from "./zones";
import { Report } from "./report";
import type { HostModel, MailDomainModel, ModelRecord } from "../model/types";
import type { ZoneRecord } from "../schema/zone";
import { absoluteName, relativeName, zoneFor } from "../model/dns-names";
import { MAIL_PORTS, mailPublicName } from "../model/mail";

/** The SPF of the SRS domain (the mail host's public name): the host's own addresses. */
export const SRS_SPF = "v=spf1 a -all";

/** Where DMARC and TLS reports go. */
function mailReportsTo(ctx: Ctx): string {
  return ctx.inventory.value.mail.reports_to ?? `dmarc-reports@${ctx.inventory.value.domain}`;
}

/** RFC 6186 / RFC 8314 services offered, as SRV owner prefix and port (the mail host's ports). */
const MAIL_SRV: ReadonlyArray<readonly [string, number]> = [
  ["_submission._tcp", MAIL_PORTS.submission],
  ["_submissions._tcp", MAIL_PORTS.submissions],
  ["_imaps._tcp", MAIL_PORTS.imaps],
];

export function deriveMailRecords(ctx: Ctx, domains: MailDomainModel[], hosts: HostModel[]): PlacedRecord[] {
  const out: PlacedRecord[] = [];
  const mail = ctx.inventory.value.mail;
  const reports = mailReportsTo(ctx);
  const forward = forwardZones(ctx);
  for (const d of domains) {
    const member = ctx.tree.members.get(d.handle);
    if (!member) continue;
    const i = member.value.mail.findIndex((x) => x.domain === d.domain);
    const path = ["mail", i, "domain"];
    const mx = `${mailPublicName(ctx.inventory.value, hosts, d.mailHost)}.`;
    const why = `mail for ${d.domain} (${d.file})`;
    const at = (prefix: string) => relativeName(prefix ? `${prefix}.${d.domain}` : d.domain, d.zone);
    const add = (r: ZoneRecord) => out.push({ zone: d.zone, record: { ...r, origin: "mail", why } as ModelRecord, src: member.src, path });
    add({ name: at(""), type: "MX", priority: 10, value: mx });
    add({ name: at(""), type: "TXT", value: "v=spf1 mx -all" });
    add({ name: at("_dmarc"), type: "TXT", value: `v=DMARC1; p=${mail.dmarc_policy}; rua=mailto:${reports}; adkim=r; aspf=r` });
    add({ name: at("_smtp._tls"), type: "TXT", value: `v=TLSRPTv1; rua=mailto:${reports}` });
    for (const [prefix, port] of MAIL_SRV) add({ name: at(prefix), type: "SRV", priority: 0, weight: 1, port, value: mx });
    // RFC 7489 7.1: reports to another domain are sent only if that domain says it takes them.
    const reportsDomain = reports.slice(reports.lastIndexOf("@") + 1);
    const rz = reportsDomain === d.domain ? undefined : zoneFor(reportsDomain, forward);
    if (rz) out.push({ zone: rz, record: { name: relativeName(`${d.domain}._report._dmarc.${reportsDomain}`, rz), type: "TXT", value: "v=DMARC1", origin: "mail", why }, src: member.src, path });
  }
  // SRS (docs/architecture.md, "Mail"): forwards leave with a sender at the mail host's public
  // name, whose SPF is then what the receiver checks: its own addresses (`a`: the A/AAAA the MX
  // already points at). In the zone we serve that holds the name, once per mail host.
  for (const host of [...new Set(domains.map((d) => d.mailHost))].sort()) {
    const name = mailPublicName(ctx.inventory.value, hosts, host);
    const zone = zoneFor(name, forward);
    // A member's own mail domain as the public name already has its SPF (mx: the same host).
    if (!zone || domains.some((d) => d.domain === name)) continue;
    const why = `SRS: forwards from ${host} leave with a sender at ${name}`;
    out.push({ zone, record: { name: relativeName(name, zone), type: "TXT", value: SRS_SPF, origin: "mail", why } as ModelRecord, src: ctx.inventory.src, path: invPath(ctx, "hosts", host, "fqdn") });
  }
  return out;
}

/** What marks a TXT record as one of the kinds mail derives (several TXT may share a name). */
const TXT_KINDS: Array<[RegExp, string]> = [
  [/^v=spf1(\s|$)/i, "SPF"],
  [/^v=DMARC1(;|\s|$)/i, "DMARC"],
  [/^v=TLSRPTv1(;|\s|$)/i, "TLS-RPT"],
];
const txtKind = (r: ModelRecord) => (r.type === "TXT" ? TXT_KINDS.find(([re]) => re.test(r.value))?.[1] : undefined);

/**
 * A hand-written MX, SRV, SPF, DMARC or TLS-RPT record where mail derives one, and any
 * hand-written record at a mail domain's DKIM name (<selector>._domainkey.<domain>), whose TXT
 * the apply publishes from the key made on the mail host.
 */
export function checkMailCollisions(ctx: Ctx, placed: PlacedRecord[], domains: MailDomainModel[] = []): void {
  const { dkim_selector: current, dkim_retired_selectors: retired } = ctx.inventory.value.mail;
  const dkim = new Map(domains.flatMap((d) => [current, ...retired].map((selector) => [`${d.zone}\u0000${relativeName(`${selector}._domainkey.${d.domain}`, d.zone)}`, d] as const)));
  for (const p of placed) {
    const d = p.record.origin === "file" ? dkim.get(`${p.zone}\u0000${p.record.name}`) : undefined;
    if (!d) continue;
    const fqdn = absoluteName(p.record.name, p.zone);
    ctx.report.at(p.src, p.path, {
      en: `collides with the DKIM record the apply publishes at ${fqdn} from the key made on the mail host for mail of ${d.domain} (${d.file}): remove it`,
      fr: `entre en collision avec l'enregistrement DKIM que l'application publie en ${fqdn} depuis la clé créée sur l'hôte de courriel pour le courriel de ${d.domain} (${d.file}) : retirez-le`,
    });
  }
  const derived = new Map<string, PlacedRecord>();
  const keyOf = (p: PlacedRecord) => {
    const kind = p.record.type === "TXT" ? txtKind(p.record) : p.record.type === "MX" || p.record.type === "SRV" ? p.record.type : undefined;
    return kind ? `${p.zone}\u0000${p.record.name}\u0000${kind}` : undefined;
  };
  for (const p of placed) {
    if (p.record.origin !== "mail") continue;
    const k = keyOf(p);
    if (k && !derived.has(k)) derived.set(k, p);
  }
  for (const p of placed) {
    if (p.record.origin !== "file") continue;
    const k = keyOf(p);
    const d = k ? derived.get(k) : undefined;
    if (!d) continue;
    const kind = txtKind(p.record) ?? p.record.type;
    const fqdn = absoluteName(p.record.name, p.zone);
    ctx.report.at(p.src, p.path, {
      en: `collides with the ${kind} record derived at ${fqdn} from ${d.record.why} (remove it: a mail domain's ${kind} is written for you; its source is at ${Report.where(d.src, d.path)})`,
      fr: `entre en collision avec l'enregistrement ${kind} déduit en ${fqdn} de ${d.record.why} (retirez-le : le ${kind} d'un domaine de courriel est écrit pour vous ; sa source est en ${Report.where(d.src, d.path)})`,
    });
  }
}
