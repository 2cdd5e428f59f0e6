import type { Ctx } from "./context";
import { invPath } from "./context";
import type { HostModel, ModelRecord, SiteModel, VpsModel } from "../model/types";
import type { NameClaim } from "./sites";
import { GLOBENET_HANDLE, serviceNameAt, serviceNames, serviceWhat, type PlacedRecord } from "./zones";
import { absoluteName, ptrName, relativeName, zoneFor } from "../model/dns-names";

interface Inputs {
  claims: NameClaim[];
  sites: SiteModel[];
  vps: VpsModel[];
  hosts: HostModel[];
  nameservers: string[];
  /** Zones refused by checkZoneNesting: served by no one, and quiet (their own error says why). */
  refused: ReadonlySet<string>;
}

/**
 * Every record of every zone: those written in zones/*.yaml, and those derived so nobody
 * types them by hand — A/AAAA for site names (to their web host), VPS and host names, PTR for
 * VPS and host addresses, NS delegations to sub-zones we also serve.
 */
export function deriveRecords(ctx: Ctx, inp: Inputs): PlacedRecord[] {
  const zones = [...ctx.tree.zones.keys()].filter((z) => !inp.refused.has(z)).sort();
  const services = serviceNames(ctx);
  const all = new Set(zones);
  const forward = new Set(zones.filter((z) => !z.endsWith(".arpa")));
  const reverse = new Set(zones.filter((z) => z.endsWith(".arpa")));
  // Names under a zone file that failed to load or was refused: its own errors say what to fix.
  const quiet = new Set([...ctx.tree.broken.zones, ...inp.refused]);
  const withBroken = new Set([...forward, ...[...quiet].filter((z) => !z.endsWith(".arpa"))]);
  const inBroken = (name: string) => {
    const z = zoneFor(name, withBroken);
    return z !== undefined && quiet.has(z);
  };
  const out: PlacedRecord[] = [];

  // Hand-written records.
  for (const zone of zones) {
    const z = ctx.tree.zones.get(zone);
    if (!z) continue;
    z.value.records.forEach((r, i) => {
      const path = ["records", i];
      const fqdn = absoluteName(r.name, zone);
      if (fqdn.length > 253) {
        ctx.report.at(z.src, [...path, "name"], { en: `makes the name ${fqdn.length} characters long with the zone, over 253 (shorten it)`, fr: `donne avec la zone un nom de ${fqdn.length} caractères, plus de 253 (raccourcissez-le)` });
        return;
      }
      const inner = zoneFor(fqdn, all);
      if (inner && inner !== zone && !(r.type === "NS" && fqdn === inner)) {
        ctx.report.at(z.src, [...path, "name"], { en: `${fqdn} lies in the zone ${inner}, which has its own file (move the record to zones/${inner}.yaml)`, fr: `${fqdn} se trouve dans la zone ${inner}, qui a son propre fichier (déplacez l'enregistrement dans zones/${inner}.yaml)` });
        return;
      }
      out.push({ zone, record: { ...r, origin: "file" } as ModelRecord, src: z.src, path });
    });
  }

  const add = (zone: string, rec: ModelRecord, src: PlacedRecord["src"], path: Array<string | number>) => out.push({ zone, record: rec, src, path });

  // Sites: every managed name answers on the web host's public addresses.
  const siteByName = new Map<string, SiteModel>();
  for (const s of inp.sites) for (const n of [s.host, ...s.aliases, ...s.redirects]) siteByName.set(n, s);
  for (const c of inp.claims) {
    // Served here or not, a host's or a default VPS name on a member's site would get it a certificate.
    const service = c.handle === GLOBENET_HANDLE ? undefined : serviceNameAt(c.name, services);
    if (service) {
      ctx.report.at(c.src, c.path, { en: `"${c.name}" ${serviceWhat(c.name, service)} (Globenet's own names are never a member's site: use a name in your own domain)`, fr: `« ${c.name} » ${c.name === service.name ? "est" : `est sous ${service.name},`} ${service.whatFr} (les noms propres à Globenet ne sont jamais le site d'un membre : utilisez un nom dans votre propre domaine)` });
      continue;
    }
    if (inBroken(c.name)) continue;
    const zone = zoneFor(c.name, forward);
    const zoneOwner = zone === undefined ? undefined : ctx.tree.zones.get(zone)?.value.owner;
    if (c.external) {
      if (zone && zoneOwner !== c.handle && zoneOwner !== undefined && ctx.tree.members.has(zoneOwner)) {
        ctx.report.at(c.src, c.path, { en: `"${c.name}" is in the zone ${zone}, owned by ${zoneOwner} (names in a zone belong to its owner, wherever their DNS is: ask them, or transfer the zone)`, fr: `« ${c.name} » est dans la zone ${zone}, qui appartient à ${zoneOwner} (les noms d'une zone sont à son propriétaire, où que soit leur DNS : demandez-lui, ou transférez la zone)` });
      } else if (zone) ctx.report.at(c.src, c.path, { en: `"${c.name}" is in the zone ${zone} that Globenet serves (remove dns: external so its records are derived)`, fr: `« ${c.name} » est dans la zone ${zone} que sert Globenet (retirez dns: external pour que ses enregistrements soient déduits)` });
      continue;
    }
    if (!zone) {
      ctx.report.at(c.src, c.path, { en: `"${c.name}" is in no zone Globenet serves (add zones/<domain>.yaml for its domain, or set dns: external on the site if its DNS is hosted elsewhere)`, fr: `« ${c.name} » n'est dans aucune zone que sert Globenet (ajoutez zones/<domaine>.yaml pour son domaine, ou mettez dns: external sur le site si son DNS est hébergé ailleurs)` });
      continue;
    }
    const owner = ctx.tree.zones.get(zone)?.value.owner;
    // An unknown owner is reported on the zone file itself.
    if (owner !== c.handle && owner !== undefined && ctx.tree.members.has(owner)) {
      ctx.report.at(c.src, c.path, { en: `"${c.name}" is in the zone ${zone}, owned by ${owner} (names in a zone belong to its owner: ask them, or transfer the zone)`, fr: `« ${c.name} » est dans la zone ${zone}, qui appartient à ${owner} (les noms d'une zone sont à son propriétaire : demandez-lui, ou transférez la zone)` });
      continue;
    }
    const site = siteByName.get(c.name);
    const web = site ? inp.hosts.find((h) => h.name === site.webHost) : undefined;
    if (!web) continue;
    const name = relativeName(c.name, zone);
    const why = `site ${site?.host} (${c.src.file})`;
    if (web.ipv4) add(zone, { name, type: "A", value: web.ipv4, origin: "site", why }, c.src, c.path);
    if (web.ipv6) add(zone, { name, type: "AAAA", value: web.ipv6, origin: "site", why }, c.src, c.path);
  }

  // VPS: their name where we serve it, and PTR for their addresses.
  for (const v of inp.vps) {
    const m = ctx.tree.members.get(v.handle);
    const vsrc = m?.vps.get(v.name)?.src;
    if (!vsrc) continue;
    const declared = m?.vps.get(v.name)?.value.dns_name !== undefined;
    const namePath = declared ? ["dns_name"] : [];
    // A declared name is the member's choice; the default one is Globenet's gift, under vps.<domain>.
    const service = declared && v.handle !== GLOBENET_HANDLE ? serviceNameAt(v.fqdn, services) : undefined;
    if (service) {
      ctx.report.at(vsrc, namePath, { en: `"${v.fqdn}" ${serviceWhat(v.fqdn, service)} (Globenet's own names are never a member's: use a name in your own zone, or remove dns_name)`, fr: `« ${v.fqdn} » ${v.fqdn === service.name ? "est" : `est sous ${service.name},`} ${service.whatFr} (les noms propres à Globenet ne sont jamais ceux d'un membre : utilisez un nom dans votre propre zone, ou retirez dns_name)` });
      continue;
    }
    if (inBroken(v.fqdn)) continue;
    const zone = zoneFor(v.fqdn, forward);
    const why = `VPS ${v.handle}/${v.name} (${vsrc.file})`;
    if (zone) {
      const owner = ctx.tree.zones.get(zone)?.value.owner;
      if (declared && owner !== v.handle) {
        ctx.report.at(vsrc, namePath, { en: `"${v.fqdn}" is in the zone ${zone}, owned by ${owner} (use a name in your own zone, or remove dns_name)`, fr: `« ${v.fqdn} » est dans la zone ${zone}, qui appartient à ${owner} (utilisez un nom dans votre propre zone, ou retirez dns_name)` });
      } else {
        const name = relativeName(v.fqdn, zone);
        if (v.ipv4) add(zone, { name, type: "A", value: v.ipv4.address, origin: "vps", why }, vsrc, namePath);
        if (v.ipv6) add(zone, { name, type: "AAAA", value: v.ipv6.address, origin: "vps", why }, vsrc, namePath);
      }
    }
    for (const [field, a] of [["ipv4", v.ipv4?.address], ["ipv6", v.ipv6?.address]] as const) {
      if (!a) continue;
      const ptr = ptrName(a);
      const rz = zoneFor(ptr, reverse);
      if (rz) add(rz, { name: relativeName(ptr, rz), type: "PTR", value: `${v.fqdn}.`, origin: "vps", why }, vsrc, [field]);
    }
  }

  // Hosts: their own name and reverse.
  for (const h of inp.hosts) {
    const why = `host ${h.name} (${ctx.inventory.src.file})`;
    const path = invPath(ctx, "hosts", h.name, "fqdn");
    const zone = zoneFor(h.fqdn, forward);
    if (zone) {
      const name = relativeName(h.fqdn, zone);
      if (h.ipv4) add(zone, { name, type: "A", value: h.ipv4, origin: "host", why }, ctx.inventory.src, path);
      if (h.ipv6) add(zone, { name, type: "AAAA", value: h.ipv6, origin: "host", why }, ctx.inventory.src, path);
    }
    for (const a of [h.ipv4, h.ipv6]) {
      if (!a) continue;
      const ptr = ptrName(a);
      const rz = zoneFor(ptr, reverse);
      if (rz) add(rz, { name: relativeName(ptr, rz), type: "PTR", value: `${h.fqdn}.`, origin: "host", why }, ctx.inventory.src, path);
    }
  }

  // Sub-zones we serve are delegated to our name servers from their parent.
  for (const child of zones) {
    const dot = child.indexOf(".");
    const parent = dot < 0 ? undefined : zoneFor(child.slice(dot + 1), all);
    const src = ctx.tree.zones.get(child)?.src;
    if (!parent || !src) continue;
    for (const ns of inp.nameservers) {
      add(parent, { name: relativeName(child, parent), type: "NS", value: `${ns}.`, origin: "ns", why: `sub-zone ${child}` }, src, []);
    }
  }
  return out;
}

const TYPE_ORDER = ["NS", "A", "AAAA", "CNAME", "MX", "TXT", "SRV", "CAA", "PTR", "SSHFP", "TLSA"];

/**
 * Apex first, then names in order; within a name by type, then value. Deterministic. Each
 * record's keys are made once (not at every comparison of the sort).
 */
export function sortRecords(records: ModelRecord[]): ModelRecord[] {
  const keyed = records.map((r) => ({ r, name: r.name === "@" ? "" : r.name.split(".").reverse().join("."), type: TYPE_ORDER.indexOf(r.type), value: undefined as string | undefined }));
  const value = (k: (typeof keyed)[number]) => (k.value ??= JSON.stringify({ ...k.r, origin: undefined, why: undefined }));
  return keyed
    .sort((a, b) => {
      if (a.name !== b.name) return a.name < b.name ? -1 : 1;
      if (a.type !== b.type) return a.type - b.type;
      const va = value(a);
      const vb = value(b);
      return va < vb ? -1 : va > vb ? 1 : 0;
    })
    .map((k) => k.r);
}
