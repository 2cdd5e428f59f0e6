import { Report } from "./report";
import type { Ctx } from "./context";
import type { PlacedRecord } from "./zones";
import { absoluteName, relativeName, zoneFor } from "../model/dns-names";
import type { Bilingual } from "../i18n/lang";
import { groupBy } from "../base/group";

/**
 * DNS rules that need every record of every zone, beyond checkZoneRecords: what BIND would
 * silently rewrite (an RRset with several TTLs), what the RFCs forbid although BIND loads it
 * (an MX, NS or SRV target that is an alias; a null MX beside other MX), and records written
 * where the zone cannot serve them (a name that repeats the zone's name, anything but glue at
 * or below a delegation, NS records for a sub-zone Globenet serves from its own file).
 */
export function checkDnsRules(ctx: Ctx, placed: PlacedRecord[]): void {
  checkZoneFit(ctx, placed);
  checkRecordSets(ctx, placed);
  checkAliasTargets(ctx, placed);
}

const fqdnOf = (p: PlacedRecord) => absoluteName(p.record.name, p.zone);

/** How a message names another record: its file and line, or what it was derived from. */
function other(p: PlacedRecord): Bilingual {
  if (p.record.origin === "file") return { en: Report.where(p.src, p.path), fr: Report.where(p.src, p.path) };
  const why = p.record.why ?? p.record.origin;
  return { en: `the ${p.record.type} record derived from ${why}`, fr: `l'enregistrement ${p.record.type} dérivé de ${why}` };
}

function rdata(p: PlacedRecord): string {
  const { name: _n, ttl: _t, origin: _o, why: _w, ...rest } = p.record;
  return JSON.stringify(rest);
}

/**
 * Members of one RRset (same name and type) must agree: BIND serves a set with one TTL and
 * logs "TTL set to prior TTL" for the others, so what was written is not what is served. A
 * null MX (RFC 7505) says a domain receives no mail: it is the only MX or it means nothing.
 */
export function checkRecordSets(ctx: Ctx, placed: PlacedRecord[]): void {
  for (const set of groupBy(placed, (p) => `${p.zone}\u0000${p.record.name}\u0000${p.record.type}`).values()) {
    if (set.length < 2) continue;
    const zoneTtl = ctx.tree.zones.get(set[0]?.zone ?? "")?.value.ttl ?? 3600;
    const ttl = (p: PlacedRecord) => p.record.ttl ?? zoneTtl;
    // Identical records written twice are reported by checkZoneRecords; one of each here.
    const seen = new Set<string>();
    const byFirst = set.filter((p) => !seen.has(rdata(p)) && !!seen.add(rdata(p)));
    const first = byFirst[0] as PlacedRecord;
    const fqdn = fqdnOf(first);
    const type = first.record.type;
    for (const p of byFirst.slice(1)) {
      if (ttl(p) === ttl(first)) continue;
      const where = other(first);
      const field = p.record.origin === "file" && p.record.ttl !== undefined ? [...p.path, "ttl"] : p.path;
      const own = (t: number | undefined, en: boolean) => (t === undefined ? (en ? `the zone's ${zoneTtl} s` : `le TTL de la zone (${zoneTtl} s)`) : `${t} s`);
      ctx.report.at(p.src, field, {
        en: `the ${type} records at ${fqdn} must share one TTL: this one has ${own(p.record.ttl, true)}, the one at ${where.en} has ${own(first.record.ttl, true)}, and BIND would serve the whole set with one of them (give every ${type} record at this name the same ttl:)`,
        fr: `les enregistrements ${type} de ${fqdn} doivent avoir le même TTL : celui-ci a ${own(p.record.ttl, false)}, celui de ${where.fr} a ${own(first.record.ttl, false)}, et BIND servirait tout l'ensemble avec un seul des deux (donnez le même ttl: à tous les enregistrements ${type} de ce nom)`,
      });
    }
    if (type === "MX") {
      const nulls = byFirst.filter((p) => p.record.type === "MX" && p.record.value === ".");
      const others = byFirst.filter((p) => !nulls.includes(p));
      const o = others[0];
      for (const n of nulls) {
        if (!o) continue;
        ctx.report.at(n.src, [...n.path, "value"], {
          en: `a null MX (value ".") says ${fqdn} receives no mail, so it must be the only MX record there, and there is another at ${other(o).en} (RFC 7505: remove the null MX, or the other MX records)`,
          fr: `un « null MX » (valeur ".") indique que ${fqdn} ne reçoit pas de courrier : il doit donc être le seul enregistrement MX de ce nom, or il y en a un autre à ${other(o).fr} (RFC 7505 : supprimez le null MX, ou les autres MX)`,
        });
      }
    }
  }
}

const TARGETED = new Set(["MX", "NS", "SRV"]);

/**
 * MX, NS and SRV targets must be names with address records, not aliases (RFC 2181 §10.3,
 * RFC 2782): mail servers and resolvers may refuse to follow a CNAME there. Checked against
 * the CNAMEs the data itself writes, in every zone Globenet serves, including a wildcard
 * CNAME that would answer for a target that has no record of its own.
 */
export function checkAliasTargets(ctx: Ctx, placed: PlacedRecord[]): void {
  const cnames = new Map<string, PlacedRecord>();
  const names = new Set<string>();
  for (const p of placed) {
    names.add(fqdnOf(p));
    if (p.record.type === "CNAME" && !cnames.has(fqdnOf(p))) cnames.set(fqdnOf(p), p);
  }
  for (const p of placed) {
    const r = p.record;
    if (r.origin !== "file" || !TARGETED.has(r.type) || !("value" in r) || r.value === ".") continue;
    const target = r.value.replace(/\.$/, "");
    const dot = target.indexOf(".");
    const wildcard = names.has(target) || dot < 0 ? undefined : cnames.get(`*.${target.slice(dot + 1)}`);
    const alias = cnames.get(target) ?? wildcard;
    if (!alias || !("value" in alias.record)) continue;
    const rfc = r.type === "SRV" ? "RFC 2782" : "RFC 2181 §10.3";
    const via = alias === wildcard ? { en: ` through the wildcard ${fqdnOf(alias)}`, fr: ` par le joker ${fqdnOf(alias)}` } : { en: "", fr: "" };
    ctx.report.at(p.src, [...p.path, "value"], {
      en: `${target} is an alias (a CNAME${via.en}, at ${Report.where(alias.src, alias.path)}), and the target of an ${r.type} record must not be one (${rfc}: mail servers and resolvers may refuse to follow it; point it at ${alias.record.value}, where the CNAME leads, or replace the CNAME with A/AAAA records)`,
      fr: `${target} est un alias (un CNAME${via.fr}, à ${Report.where(alias.src, alias.path)}), et la cible d'un enregistrement ${r.type} ne doit pas en être un (${rfc} : les serveurs de courrier et les résolveurs peuvent refuser de le suivre ; pointez vers ${alias.record.value}, là où mène le CNAME, ou remplacez le CNAME par des enregistrements A/AAAA)`,
    });
  }
}

/**
 * Records written where their zone cannot serve them. A relative name that ends with a zone's
 * name was written in full by mistake (the zone's name gets appended again). Below an NS
 * record the zone answers with the delegation, so anything there but the delegation itself
 * and the name servers' addresses (glue) is never served. A sub-zone Globenet serves from its
 * own file gets its NS records derived; hand-written ones would join that set.
 */
export function checkZoneFit(ctx: Ctx, placed: PlacedRecord[]): void {
  const zones = new Set(ctx.tree.zones.keys());
  for (const p of placed) {
    const r = p.record;
    if (r.origin !== "file" || r.name === "@") continue;
    // The zone's own name first, then the longest managed zone the name ends with (label walk: cost is the name's depth).
    const full = r.name === p.zone || r.name.endsWith(`.${p.zone}`) ? p.zone : zoneFor(r.name, zones);
    if (!full) continue;
    const rel = relativeName(r.name, full);
    const fqdn = fqdnOf(p);
    if (full === p.zone) {
      ctx.report.at(p.src, [...p.path, "name"], {
        en: `"${r.name}" is written in full, but names are relative to the zone: this record would be ${fqdn} (write "${rel}")`,
        fr: `« ${r.name} » est écrit en entier, mais les noms sont relatifs à la zone : cet enregistrement serait ${fqdn} (écrivez "${rel}")`,
      });
    } else {
      ctx.report.at(p.src, [...p.path, "name"], {
        en: `"${r.name}" is a name of the zone ${full}, but names here are relative to ${p.zone}: this record would be ${fqdn} (write it in zones/${full}.yaml as "${rel}")`,
        fr: `« ${r.name} » est un nom de la zone ${full}, mais ici les noms sont relatifs à ${p.zone} : cet enregistrement serait ${fqdn} (écrivez-le dans zones/${full}.yaml sous le nom "${rel}")`,
      });
    }
  }

  // Delegations written by hand (NS below the apex), and the names that Globenet's own
  // sub-zone files delegate (derived NS).
  const cuts = new Map<string, PlacedRecord[]>();
  const derivedCuts = new Set<string>();
  for (const p of placed) {
    if (p.record.type !== "NS" || p.record.name === "@") continue;
    if (p.record.origin === "ns") derivedCuts.add(`${p.zone}\u0000${fqdnOf(p)}`);
    else if (p.record.origin === "file") cuts.set(`${p.zone}\u0000${fqdnOf(p)}`, [...(cuts.get(`${p.zone}\u0000${fqdnOf(p)}`) ?? []), p]);
  }
  for (const [key, list] of cuts) {
    if (!derivedCuts.has(key)) continue;
    for (const p of list) {
      const fqdn = fqdnOf(p);
      ctx.report.at(p.src, p.path, {
        en: `${fqdn} has its own zone file, zones/${fqdn}.yaml, so the NS records delegating it are derived from the stack's DNS hosts (remove this record)`,
        fr: `${fqdn} a son propre fichier de zone, zones/${fqdn}.yaml : les enregistrements NS qui le délèguent sont donc dérivés des serveurs DNS du stack (supprimez cet enregistrement)`,
      });
    }
    cuts.delete(key);
  }
  if (cuts.size === 0) return;
  const reported = new Set<string>();
  for (const p of placed) {
    const fqdn = fqdnOf(p);
    for (const [key, nsList] of cuts) {
      const [zone, cut] = key.split("\u0000") as [string, string];
      if (p.zone !== zone || (fqdn !== cut && !fqdn.endsWith(`.${cut}`))) continue;
      if (p.record.type === "NS" && fqdn === cut) continue;
      const glue = (p.record.type === "A" || p.record.type === "AAAA") && nsList.some((ns) => "value" in ns.record && ns.record.value === `${fqdn}.`);
      if (glue) continue;
      const once = `${p.src.file}\u0000${p.path.join(".")}\u0000${cut}`;
      if (reported.has(once)) continue;
      reported.add(once);
      const ns = Report.where((nsList[0] as PlacedRecord).src, (nsList[0] as PlacedRecord).path);
      ctx.report.at(p.src, p.path, p.record.origin === "file"
        ? {
            en: `${fqdn} is at or below ${cut}, which this zone delegates to other name servers (NS at ${ns}): this ${p.record.type} record would never be served (write it in the delegated zone on its name servers; only the addresses of those name servers, "glue", belong here)`,
            fr: `${fqdn} se trouve à ${cut} ou en dessous, nom que cette zone délègue à d'autres serveurs de noms (NS à ${ns}) : cet enregistrement ${p.record.type} ne serait jamais servi (écrivez-le dans la zone déléguée, sur ses serveurs de noms ; seules les adresses de ces serveurs, la « glue », ont leur place ici)`,
          }
        : {
            en: `${fqdn} is at or below ${cut}, which zones/${zone}.yaml delegates to other name servers (NS at ${ns}): the ${p.record.type} record derived for it would never be served (choose a name outside ${cut}, or remove that delegation)`,
            fr: `${fqdn} se trouve à ${cut} ou en dessous, nom que zones/${zone}.yaml délègue à d'autres serveurs de noms (NS à ${ns}) : l'enregistrement ${p.record.type} dérivé pour ce nom ne serait jamais servi (choisissez un nom hors de ${cut}, ou supprimez cette délégation)`,
          });
    }
  }
}
