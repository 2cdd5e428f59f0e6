import { Report } from "./report";
import type { Ctx } from "./context";
import { invPath } from "./context";
import { absoluteName, relativeName, zoneFor } from "../model/dns-names";
import type { ModelRecord } from "../model/types";
import type { NameClaim } from "./sites";
import type { PlacedRecord } from "./zones";

type Caa = Extract<ModelRecord, { type: "CAA" }>;

/** The names of sites that want a certificate and whose DNS we serve: CAA concerns them. */
function acmeClaims(ctx: Ctx, claims: NameClaim[]): NameClaim[] {
  return claims.filter((c) => {
    if (c.external) return false;
    const site = ctx.currentByHandle.get(c.handle)?.value.sites[c.site];
    return site?.tls === "acme";
  });
}

/** The CA's domain an `issue` value names: what comes before the first ";" (RFC 8659 §4.2). */
export function caaIssuerDomain(value: string): string {
  return (value.split(";")[0] ?? "").trim().toLowerCase().replace(/\.$/, "");
}

/** The methods a `validationmethods=` parameter allows (RFC 8657), or undefined when it is absent. */
export function caaValidationMethods(value: string): string[] | undefined {
  for (const part of value.split(";").slice(1)) {
    const [k, v] = part.split("=").map((x) => x.trim());
    if (k?.toLowerCase() === "validationmethods") return (v ?? "").split(",").map((m) => m.trim().toLowerCase()).filter(Boolean);
  }
  return undefined;
}

/** mod_md proves control of a name with http-01. */
const METHOD = "http-01";

/**
 * Apex CAA records for every zone holding a site name that wants a certificate: only the stack's
 * CA may issue, and it reports problems to the hostmaster. A zone that writes its own CAA at the
 * apex keeps its own (overridable by design); the check below then makes sure it allows the CA.
 */
export function deriveCaa(ctx: Ctx, claims: NameClaim[], placed: PlacedRecord[]): PlacedRecord[] {
  const acme = ctx.inventory.value.acme;
  if (!acme) return [];
  const forward = new Set([...ctx.tree.zones.keys()].filter((z) => !z.endsWith(".arpa")));
  const ownApex = new Set(placed.filter((p) => p.record.type === "CAA" && p.record.name === "@").map((p) => p.zone));
  const out: PlacedRecord[] = [];
  const done = new Set<string>();
  const why = `HTTPS certificates (acme.caa_issuer in ${ctx.inventory.src.file})`;
  for (const c of acmeClaims(ctx, claims)) {
    const zone = zoneFor(c.name, forward);
    if (!zone || done.has(zone) || ownApex.has(zone)) continue;
    done.add(zone);
    const path = invPath(ctx, "acme", "caa_issuer");
    const base = { name: "@", type: "CAA", flags: 0, origin: "site", why } as const;
    out.push({ zone, record: { ...base, tag: "issue", value: acme.caa_issuer }, src: ctx.inventory.src, path });
    out.push({ zone, record: { ...base, tag: "iodef", value: `mailto:${ctx.inventory.value.hostmaster}` }, src: ctx.inventory.src, path });
  }
  return out;
}

/**
 * A CAA set that forbids the stack's CA for a site name is an error on the record that does it:
 * the site would never get its certificate. The set that applies to a name is the one at the
 * closest name at or above it that has CAA records (RFC 8659 §3), within the zone.
 */
export function checkCaa(ctx: Ctx, claims: NameClaim[], placed: PlacedRecord[]): void {
  const acme = ctx.inventory.value.acme;
  const wanting = acmeClaims(ctx, claims);
  if (!acme) {
    const first = wanting[0] ?? claims.find((c) => ctx.currentByHandle.get(c.handle)?.value.sites[c.site]?.tls === "acme");
    if (first) {
      ctx.report.at(
        ctx.inventory.src,
        [],
        { en: `has no acme section, but sites want HTTPS certificates (first: ${first.name} at ${Report.where(first.src, first.path)}; add acme: { directory: …, caa_issuer: … } here, or give those sites tls: none with tls_none_reason)`, fr: `n'a pas de section acme, mais des sites veulent des certificats HTTPS (le premier : ${first.name} en ${Report.where(first.src, first.path)} ; ajoutez ici acme: { directory: …, caa_issuer: … }, ou donnez à ces sites tls: none avec tls_none_reason)` },
      );
    }
    return;
  }
  const caaAt = new Map<string, PlacedRecord[]>();
  for (const p of placed) {
    if (p.record.type !== "CAA") continue;
    const key = absoluteName(p.record.name, p.zone);
    const list = caaAt.get(key);
    if (list) list.push(p);
    else caaAt.set(key, [p]);
  }
  const forward = new Set([...ctx.tree.zones.keys()].filter((z) => !z.endsWith(".arpa")));
  const reported = new Set<PlacedRecord>();
  for (const c of wanting) {
    const zone = zoneFor(c.name, forward);
    if (!zone) continue;
    let name = c.name;
    let set: PlacedRecord[] | undefined;
    for (;;) {
      set = caaAt.get(name);
      if (set || name === zone) break;
      name = name.slice(name.indexOf(".") + 1);
    }
    const issue = (set ?? []).filter((p) => (p.record as Caa).tag === "issue");
    if (issue.length === 0) continue;
    const naming = issue.filter((p) => caaIssuerDomain((p.record as Caa).value) === acme.caa_issuer.toLowerCase());
    const usable = naming.filter((p) => caaValidationMethods((p.record as Caa).value)?.includes(METHOD) ?? true);
    if (usable.length > 0) continue;
    const culprit = naming.find((p) => p.record.origin === "file") ?? issue.find((p) => p.record.origin === "file") ?? issue[0];
    if (!culprit || reported.has(culprit)) continue;
    reported.add(culprit);
    const at = relativeName(name, zone);
    const where = `${c.name} (${Report.where(c.src, c.path)})`;
    ctx.report.at(
      culprit.src,
      [...culprit.path, "value"],
      naming.length > 0
        ? {
            en: `CAA at ${at} allows ${acme.caa_issuer} only with validationmethods=${(caaValidationMethods((culprit.record as Caa).value) ?? []).join(",")}, and the web host proves control with ${METHOD}, so ${where} would never get a certificate (add ${METHOD} to validationmethods, or remove the parameter)`,
            fr: `le CAA en ${at} n'autorise ${acme.caa_issuer} qu'avec validationmethods=${(caaValidationMethods((culprit.record as Caa).value) ?? []).join(",")}, et l'hôte web prouve le contrôle avec ${METHOD} : ${where} n'aurait jamais de certificat (ajoutez ${METHOD} à validationmethods, ou retirez ce paramètre)`,
          }
        : {
            en: `CAA at ${at} does not allow ${acme.caa_issuer}, the CA that issues this stack's certificates, so ${where} would never get one (add a CAA record with tag issue and value "${acme.caa_issuer}" at ${at}, or remove this one)`,
            fr: `le CAA en ${at} n'autorise pas ${acme.caa_issuer}, l'autorité qui délivre les certificats de cette pile : ${where} n'en aurait jamais (ajoutez en ${at} un enregistrement CAA de tag issue et de valeur "${acme.caa_issuer}", ou retirez celui-ci)`,
          },
    );
  }
}
