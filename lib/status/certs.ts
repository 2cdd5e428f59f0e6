/**
 * Certificates as the web hosts hold them: mod_md's store (acme.store_dir), read over SSH. For
 * each site with tls: acme, the live certificate (domains/<site>/pubcert.pem: the one Apache
 * serves since its last start or reload) and mod_md's last attempt (job.json), so the view says
 * both what is served and why a certificate is missing.
 */
import { X509Certificate } from "node:crypto";
import type { Model, SiteModel } from "../model/types";
import { loadScript } from "../../provider/scripts/load";
import { hostsWith, onHost } from "./remote";

/** Prints, NUL-separated, for each MD name: name, base64 pubcert.pem, base64 of the newest job.json. */
const READ_STORE = loadScript("status/read-certs.sh");

export const WARN_DAYS = 20;

export interface CertStatus {
  site: string;
  host: string;
  names: string[];
  /** Issuer's common name, names on the certificate, and its end of validity. */
  cert?: { issuer: string; names: string[]; notAfter: Date; daysLeft: number };
  /** Names of the site the live certificate lacks (added since, or never issued). */
  missing: string[];
  /** Names on the live certificate the site no longer has: mod_md drops them at its next renewal. */
  extra: string[];
  /** mod_md's last problem for this site, when its last attempt failed. */
  error?: string;
  /** What a volunteer can do about a missing or incomplete certificate. */
  next?: string;
  state: "ok" | "expiring" | "pending" | "missing";
}

interface Job {
  errors?: number;
  finished?: boolean;
  last?: { status?: number; detail?: string; problem?: string; "status-description"?: string };
  log?: { entries?: Array<{ type?: string; detail?: string; problem?: string }> };
}

export function siteNames(s: SiteModel): string[] {
  return [s.host, ...s.aliases, ...s.redirects];
}

/** The first certificate of a PEM chain, as the status view shows it. */
export function describeCert(pem: string, now: Date): CertStatus["cert"] {
  const first = pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/)?.[0];
  if (!first) return undefined;
  const x = new X509Certificate(first);
  const names = (x.subjectAltName ?? "")
    .split(/,\s*/)
    .filter((n) => n.startsWith("DNS:"))
    .map((n) => n.slice(4));
  const issuer = x.issuer.split("\n").find((l) => l.startsWith("CN="))?.slice(3) ?? x.issuer.replace(/\n/g, ", ");
  const notAfter = new Date(x.validTo);
  return { issuer, names, notAfter, daysLeft: Math.floor((notAfter.getTime() - now.getTime()) / 86_400_000) };
}

/** What went wrong last, in mod_md's own words (ACME problem and detail). */
export function jobError(job: Job | undefined): string | undefined {
  if (!job || !job.errors) return undefined;
  const entries = job.log?.entries ?? [];
  // The newest entry that names what failed (a name's authorization, an ACME problem) says more
  // than the generic last status ("Error waiting on domain names to be validated").
  const specific = entries.find((e) => e.problem || /authorization for|problem|refused|NXDOMAIN|timeout/i.test(e.detail ?? ""));
  const what = specific ? [specific.problem, specific.detail?.replace(/^[^:]*: (?=domain authorization)/, "")].filter(Boolean).join(": ") : (job.last?.detail ?? job.last?.["status-description"] ?? "failed");
  return `${what} (${job.errors} failed attempt${job.errors === 1 ? "" : "s"}; mod_md retries by itself)`;
}

export function classify(site: SiteModel, host: string, pem: string, job: Job | undefined, now: Date, address = "the web host"): CertStatus {
  const names = siteNames(site);
  const cert = pem ? describeCert(pem, now) : undefined;
  const missing = cert ? names.filter((n) => !cert.names.includes(n)) : names;
  const extra = cert ? cert.names.filter((n) => !names.includes(n)).sort() : [];
  const error = jobError(job);
  const state: CertStatus["state"] = !cert ? "missing" : missing.length ? "pending" : cert.daysLeft < WARN_DAYS ? "expiring" : "ok";
  const lacking = (cert ? missing : names).join(", ");
  const next =
    state === "ok"
      ? undefined
      : state === "expiring"
        ? `mod_md renews by itself before the end; if this stays, read its error here and in Apache's error log on ${host}`
        : site.dns === "external"
          ? `the site's DNS is not ours (dns: external): the member must point ${lacking} at ${address} at their DNS provider; then mod_md gets the certificate by itself`
          : `the zone derives ${lacking} → ${address}: check that the zone is served (dig @<primary> ${site.host}) and that the domain is delegated to our name servers; then wait for mod_md's next attempt`;
  return { site: site.host, host, names, cert, missing, extra, error, next, state };
}

/** Every tls: acme site of the model, read from its web host's store. */
export async function readCerts(root: string, model: Model, now = new Date()): Promise<CertStatus[]> {
  const acme = model.inventory.acme;
  if (!acme) return [];
  const out: CertStatus[] = [];
  for (const h of hostsWith(model, "web")) {
    const sites = model.sites.filter((s) => s.webHost === h.name && s.tls === "acme");
    if (sites.length === 0) continue;
    const raw = await onHost(root, h, READ_STORE, [acme.store_dir, ...sites.map((s) => s.host)], `read mod_md's store on ${h.name}`);
    const f = raw.split("\0");
    for (let i = 0; i + 2 < f.length; i += 3) {
      const site = sites.find((s) => s.host === f[i]);
      if (!site) continue;
      const pem = Buffer.from(f[i + 1] ?? "", "base64").toString("utf8");
      let job: Job | undefined;
      try {
        job = f[i + 2] ? (JSON.parse(Buffer.from(f[i + 2] as string, "base64").toString("utf8")) as Job) : undefined;
      } catch {
        job = undefined;
      }
      out.push(classify(site, h.name, pem, job, now, [h.ipv4, h.ipv6].filter(Boolean).join(" / ") || h.address));
    }
  }
  return out.sort((a, b) => (a.site < b.site ? -1 : a.site > b.site ? 1 : 0));
}

export function formatCerts(rows: CertStatus[]): string {
  if (rows.length === 0) return "no site asks for a certificate (tls: acme) on this stack";
  const lines = rows.map((r) => {
    const head = `${r.state === "ok" ? "ok      " : r.state === "expiring" ? "EXPIRING" : r.state === "pending" ? "PENDING " : "MISSING "} ${r.site} (${r.host})`;
    const cert = r.cert ? `  issuer ${r.cert.issuer}; names ${r.cert.names.join(", ")}; not after ${r.cert.notAfter.toISOString().slice(0, 10)} (${r.cert.daysLeft} days left)` : "  no certificate yet: the site answers on HTTP only";
    const more = [
      r.missing.length && r.cert ? `  not on the certificate yet: ${r.missing.join(", ")}` : "",
      r.extra.length ? `  still on the certificate, no longer in git: ${r.extra.join(", ")} (harmless; the next certificate, at mod_md's renewal, leaves them out)` : "",
      r.state === "expiring" ? `  under ${WARN_DAYS} days left` : "",
      r.error && r.state !== "ok" ? `  last attempt failed: ${r.error}` : "",
      r.next ? `  what to do: ${r.next}` : "",
    ].filter(Boolean);
    return [head, cert, ...more].join("\n");
  });
  const bad = rows.filter((r) => r.state !== "ok").length;
  return `${lines.join("\n")}\n${rows.length} site(s), ${bad === 0 ? "all certificates live" : `${bad} need attention`}`;
}
