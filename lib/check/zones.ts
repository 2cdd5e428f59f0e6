import { Report } from "./report";
import type { Ctx } from "./context";
import type { ModelRecord } from "../model/types";
import type { YamlFile } from "../load/yaml-file";
import { absoluteName, ptrName, relativeName, zoneFor } from "../model/dns-names";

/** The handle under which Globenet itself is a member: its own zones and names. */
export const GLOBENET_HANDLE = "globenet";

/**
 * A name that is Globenet's own and never handed to a member, not even by a delegation that
 * Globenet's own zone file writes: the apex of the inventory's domain (only the name itself),
 * `vps.<domain>` (default VPS names), every host's fqdn, and the reverse names of every host's
 * addresses (the other three with everything under them).
 */
export interface ServiceName {
  name: string;
  /** Only the name itself, not what is under it (the domain's apex: members may get sub-zones of it). */
  exact: boolean;
  /** What it is, for messages: "where VPS get their default names". */
  what: string;
  /** The same in French. */
  whatFr: string;
}

export function serviceNames(ctx: Ctx): ServiceName[] {
  const inv = ctx.inventory.value;
  const out: ServiceName[] = [
    { name: inv.domain, exact: true, what: "Globenet's own domain", whatFr: "le domaine propre à Globenet" },
    { name: `vps.${inv.domain}`, exact: false, what: "where VPS get their default names", whatFr: "où les VPS reçoivent leur nom par défaut" },
  ];
  for (const [key, h] of Object.entries(inv.hosts).sort(([a], [b]) => (a < b ? -1 : 1))) {
    out.push({ name: h.fqdn, exact: false, what: `the name of host ${key}`, whatFr: `le nom de l'hôte ${key}` });
    for (const a of new Set([h.address, h.ipv4, h.ipv6].filter((x): x is string => !!x))) {
      out.push({ name: ptrName(a), exact: false, what: `the reverse name of host ${key}'s address ${a}`, whatFr: `le nom inverse de l'adresse ${a} de l'hôte ${key}` });
    }
  }
  return out;
}

/** The service name that `name` is, or lies under. */
export function serviceNameAt(name: string, services: ServiceName[]): ServiceName | undefined {
  return services.find((s) => name === s.name || (!s.exact && name.endsWith(`.${s.name}`)));
}

/** A service name that lies strictly inside `zone` (the zone would take it over). */
function serviceNameInside(zone: string, services: ServiceName[]): ServiceName | undefined {
  return services.find((s) => s.name.endsWith(`.${zone}`));
}

/** "is the name of host ns1" or "is under vps.globenet.example, where …". */
export function serviceWhat(name: string, s: ServiceName): string {
  return name === s.name ? `is ${s.what}` : `is under ${s.name}, ${s.what}`;
}

const NEVER = "Globenet's own names are never handed out, not even by a delegation";
const NEVER_FR = "les noms propres à Globenet ne sont jamais confiés à un membre, même par une délégation";

/** serviceWhat in French. */
function serviceWhatFr(name: string, s: ServiceName): string {
  return name === s.name ? `est ${s.whatFr}` : `est sous ${s.name}, ${s.whatFr}`;
}

/**
 * Zones inside zones. A zone whose closest served ancestor belongs to another member is
 * refused unless that ancestor's file delegates exactly this name to this zone's owner; a
 * zone owned by anyone but Globenet may not be, or lie under, one of Globenet's service
 * names, nor, when carved out of a Globenet zone, hold one. Delegations are checked too: a
 * known, current member other than the zone's owner, never a service name, written in the
 * closest zone. Returns the refused zones: nothing is derived into them, and names inside
 * them raise no further errors (theirs says what to fix).
 */
export function checkZoneNesting(ctx: Ctx): Set<string> {
  const services = serviceNames(ctx);
  const refused = new Set<string>();
  const loaded = new Set([...ctx.tree.zones.keys(), ...ctx.tree.broken.zones]);
  const sorted = [...ctx.tree.zones.entries()].sort(([a], [b]) => (a < b ? -1 : 1));

  for (const [parent, p] of sorted) {
    (p.value.delegations ?? []).forEach((d, i) => {
      const at = ["delegations", i];
      const child = absoluteName(d.name, parent);
      const member = ctx.tree.members.get(d.to);
      if (child.length > 253) {
        ctx.report.at(p.src, [...at, "name"], { en: `makes the sub-zone name ${child.length} characters long, over 253 (shorten it)`, fr: `donne au nom de la sous-zone ${child.length} caractères, plus de 253 (raccourcissez-le)` });
        return;
      }
      const s = d.to === GLOBENET_HANDLE ? undefined : (serviceNameAt(child, services) ?? serviceNameInside(child, services));
      if (s) {
        const what = serviceNameAt(child, services) ? serviceWhat(child, s) : `holds ${s.name}, ${s.what}`;
        const whatFr = serviceNameAt(child, services) ? serviceWhatFr(child, s) : `contient ${s.name}, ${s.whatFr}`;
        ctx.report.at(p.src, [...at, "name"], { en: `${child} ${what} (${NEVER}: remove this delegation)`, fr: `${child} ${whatFr} (${NEVER_FR} : retirez cette délégation)` });
        return;
      }
      const inner = zoneFor(child, loaded);
      if (inner !== undefined && inner !== parent && inner !== child) {
        ctx.report.at(p.src, [...at, "name"], { en: `${child} lies in the zone ${inner}, which has its own file (write the delegation in zones/${inner}.yaml)`, fr: `${child} se trouve dans la zone ${inner}, qui a son propre fichier (écrivez la délégation dans zones/${inner}.yaml)` });
        return;
      }
      if (ctx.tree.broken.members.has(d.to)) return;
      if (!member) ctx.report.at(p.src, [...at, "to"], { en: `unknown member "${d.to}" (a delegation names a member handle, a folder under members/)`, fr: `membre « ${d.to} » inconnu (une délégation nomme l'identifiant d'un membre, un dossier sous members/)` });
      else if (member.value.status === "departed") ctx.report.at(p.src, [...at, "to"], { en: `member "${d.to}" has departed (remove this delegation, or delegate to the member taking the sub-zone over)`, fr: `le membre « ${d.to} » est parti (retirez cette délégation, ou déléguez au membre qui reprend la sous-zone)` });
      else if (d.to === p.value.owner) ctx.report.at(p.src, [...at, "to"], { en: `${d.to} owns this zone already (a sub-zone of your own zone needs no delegation: remove this one)`, fr: `${d.to} possède déjà cette zone (une sous-zone de votre propre zone n'a pas besoin de délégation : retirez celle-ci)` });
    });
  }

  for (const [zone, z] of sorted) {
    const owner = z.value.owner;
    const dot = zone.indexOf(".");
    const parent = dot < 0 ? undefined : zoneFor(zone.slice(dot + 1), loaded);
    const pz = parent === undefined ? undefined : ctx.tree.zones.get(parent);
    const at = owner === GLOBENET_HANDLE ? undefined : serviceNameAt(zone, services);
    const inside = owner !== GLOBENET_HANDLE && pz?.value.owner === GLOBENET_HANDLE ? serviceNameInside(zone, services) : undefined;
    if (at || inside) {
      const what = at ? serviceWhat(zone, at) : `would hold ${inside?.name}, ${inside?.what}`;
      const whatFr = at ? serviceWhatFr(zone, at) : `contiendrait ${inside?.name}, ${inside?.whatFr}`;
      ctx.report.at(z.src, ["owner"], { en: `zone ${zone} ${what} (${NEVER}: choose a zone in your own domain)`, fr: `la zone ${zone} ${whatFr} (${NEVER_FR} : choisissez une zone dans votre propre domaine)` });
      refused.add(zone);
      continue;
    }
    // A parent that failed to load says what to fix itself; one of the same owner needs no consent.
    if (!parent || !pz || pz.value.owner === owner) continue;
    const rel = relativeName(zone, parent);
    const given = (pz.value.delegations ?? []).find((d) => d.name === rel);
    if (given?.to === owner) continue;
    const which = given ? `which delegates "${rel}" to ${given.to}, not to ${owner}` : `which delegates no "${rel}" to ${owner}`;
    ctx.report.at(
      z.src,
      ["owner"],
      {
        en:
          `zone ${zone} lies inside the zone ${parent}, owned by ${pz.value.owner}, ${which} (a zone inside another member's zone needs its owner's consent: ` +
          `they add delegations: [{ name: ${rel}, to: ${owner} }] to zones/${parent}.yaml; or use a domain of your own)`,
        fr:
          `la zone ${zone} se trouve dans la zone ${parent}, qui appartient à ${pz.value.owner} et ${given ? `délègue « ${rel} » à ${given.to}, pas à ${owner}` : `ne délègue pas « ${rel} » à ${owner}`} (une zone dans la zone d'un autre membre demande l'accord de son propriétaire : ` +
          `il ajoute delegations: [{ name: ${rel}, to: ${owner} }] dans zones/${parent}.yaml ; ou utilisez un domaine à vous)`,
      },
    );
    refused.add(zone);
  }
  return refused;
}

/** A record with the place it came from: the zone file for hand-written ones, the source for derived ones. */
export interface PlacedRecord {
  zone: string;
  record: ModelRecord;
  src: YamlFile;
  path: Array<string | number>;
}

/** A zone's owner must be a known member that has not departed. */
export function checkZoneOwners(ctx: Ctx): void {
  for (const [name, z] of [...ctx.tree.zones.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const owner = ctx.tree.members.get(z.value.owner);
    if (ctx.tree.broken.members.has(z.value.owner)) continue;
    if (!owner) ctx.report.at(z.src, ["owner"], { en: `unknown member "${z.value.owner}" (the owner is a member handle, a folder under members/; zone ${name})`, fr: `membre « ${z.value.owner} » inconnu (le propriétaire est l'identifiant d'un membre, un dossier sous members/ ; zone ${name})` });
    else if (owner.value.status === "departed") ctx.report.at(z.src, ["owner"], { en: `member "${z.value.owner}" has departed (transfer the zone to another member, or delete the file to stop serving it)`, fr: `le membre « ${z.value.owner} » est parti (transférez la zone à un autre membre, ou supprimez le fichier pour ne plus la servir)` });
  }
}

function rdataKey(r: ModelRecord): string {
  const { name: _n, ttl: _t, origin: _o, why: _w, ...rest } = r;
  return JSON.stringify(rest);
}

/**
 * Checks that need every record of a zone at once: CNAME at the apex or beside other data,
 * hand-written records colliding with derived ones, apex NS (derived from the inventory),
 * identical records written twice.
 */
export function checkZoneRecords(ctx: Ctx, placed: PlacedRecord[]): void {
  const byName = new Map<string, PlacedRecord[]>();
  for (const p of placed) {
    const key = `${p.zone}\u0000${p.record.name}`;
    const list = byName.get(key) ?? [];
    list.push(p);
    byName.set(key, list);
  }
  for (const list of byName.values()) {
    const seen = new Map<string, PlacedRecord>();
    for (const p of list) {
      const r = p.record;
      const fqdn = absoluteName(r.name, p.zone);
      if (r.origin === "file" && r.type === "NS" && r.name === "@") {
        ctx.report.at(p.src, p.path, { en: `apex NS records are derived from the stack's DNS hosts (remove this record)`, fr: `les enregistrements NS de l'apex sont déduits des hôtes DNS de la pile (retirez cet enregistrement)` });
      }
      if (r.type === "CNAME" && r.name === "@") {
        ctx.report.at(p.src, p.path, { en: `a CNAME cannot be at the zone apex ${fqdn}, which has SOA and NS records (use A/AAAA records, or an ALIAS at your registrar)`, fr: `un CNAME ne peut pas être à l'apex de la zone ${fqdn}, qui a des enregistrements SOA et NS (utilisez des enregistrements A/AAAA, ou un ALIAS chez votre bureau d'enregistrement)` });
        continue;
      }
      if (r.type === "CNAME") {
        const others = list.filter((o) => o !== p);
        const other = others[0];
        if (other) {
          const what = other.record.origin === "file" ? `a ${other.record.type} record at ${Report.where(other.src, other.path)}` : `the ${other.record.type} record derived from ${other.record.why ?? other.record.origin}`;
          ctx.report.at(p.src, p.path, { en: `a CNAME at ${fqdn} cannot stand beside other records, and there is ${what} (keep either the CNAME or the other records)`, fr: `un CNAME en ${fqdn} ne peut pas côtoyer d'autres enregistrements, et il y a ${other.record.origin === "file" ? `un enregistrement ${other.record.type} en ${Report.where(other.src, other.path)}` : `l'enregistrement ${other.record.type} déduit de ${other.record.why ?? other.record.origin}`} (gardez soit le CNAME, soit les autres enregistrements)` });
        }
      }
      const key = `${r.type} ${rdataKey(r)}`;
      const prev = seen.get(key);
      if (prev && (r.type === "A" || r.type === "AAAA" || r.type === "PTR") && (prev.record.origin !== "file" || r.origin !== "file")) {
        const [hand, derived] = r.origin === "file" ? [p, prev] : [prev, p];
        if (hand.record.origin === "file") {
          ctx.report.at(hand.src, hand.path, { en: `collides with the ${r.type} record derived from ${derived.record.why ?? derived.record.origin} (remove it: ${r.type} records for sites, VPS and hosts are written for you)`, fr: `entre en collision avec l'enregistrement ${r.type} déduit de ${derived.record.why ?? derived.record.origin} (retirez-le : les enregistrements ${r.type} des sites, des VPS et des hôtes sont écrits pour vous)` });
        } else {
          ctx.report.at(p.src, p.path, { en: `${fqdn} would get the same ${r.type} record twice: also derived from ${prev.record.why ?? prev.record.origin} (give one of them another name)`, fr: `${fqdn} recevrait deux fois le même enregistrement ${r.type} : il est aussi déduit de ${prev.record.why ?? prev.record.origin} (donnez un autre nom à l'un des deux)` });
        }
        continue;
      }
      if (prev) {
        ctx.report.at(p.src, p.path, { en: `the same ${r.type} record is written twice (also at ${Report.where(prev.src, prev.path)}; remove one)`, fr: `le même enregistrement ${r.type} est écrit deux fois (aussi en ${Report.where(prev.src, prev.path)} ; retirez-en un)` });
        continue;
      }
      seen.set(key, p);
    }
    // Two sources deriving the same name (a VPS dns_name equal to a site name, say).
    const firstDerived = new Map<string, PlacedRecord>();
    const reported = new Set<string>();
    for (const p of list) {
      // PTR clashes are address clashes, reported where the address is written twice.
      if (p.record.origin === "file" || p.record.type === "PTR") continue;
      const prev = firstDerived.get(p.record.type);
      if (prev && prev.record.why !== p.record.why) {
        if (!reported.has(`${p.record.why}`)) {
          reported.add(`${p.record.why}`);
          ctx.report.at(p.src, p.path, { en: `${absoluteName(p.record.name, p.zone)} already gets its address records from ${prev.record.why ?? prev.record.origin} (a name points at one thing; choose another name)`, fr: `${absoluteName(p.record.name, p.zone)} reçoit déjà ses enregistrements d'adresse de ${prev.record.why ?? prev.record.origin} (un nom désigne une seule chose ; choisissez un autre nom)` });
        }
      } else if (!prev) firstDerived.set(p.record.type, p);
    }
    // Hand-written address records beside derived ones of the same type, with other values.
    for (const p of list) {
      if (p.record.origin !== "file" || !["A", "AAAA", "PTR"].includes(p.record.type)) continue;
      const derived = list.find((o) => o.record.origin !== "file" && o.record.type === p.record.type);
      if (derived && rdataKey(derived.record) !== rdataKey(p.record)) {
        ctx.report.at(p.src, p.path, { en: `collides with the ${p.record.type} record derived from ${derived.record.why ?? derived.record.origin} (remove it: ${p.record.type} records for sites, VPS and hosts are written for you)`, fr: `entre en collision avec l'enregistrement ${p.record.type} déduit de ${derived.record.why ?? derived.record.origin} (retirez-le : les enregistrements ${p.record.type} des sites, des VPS et des hôtes sont écrits pour vous)` });
      }
    }
  }
}
