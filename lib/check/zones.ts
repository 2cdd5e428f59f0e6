import { Report } from "./report";
import type { Ctx } from "../model/context";
import type { ModelRecord } from "../model/types";
import type { YamlFile } from "../load/yaml-file";
import { absoluteName } from "../model/dns-names";

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
    if (!owner) ctx.report.at(z.src, ["owner"], `unknown member "${z.value.owner}" (the owner is a member handle, a folder under members/; zone ${name})`);
    else if (owner.value.status === "departed") ctx.report.at(z.src, ["owner"], `member "${z.value.owner}" has departed (transfer the zone to another member, or delete the file to stop serving it)`);
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
        ctx.report.at(p.src, p.path, `apex NS records are derived from the stack's DNS hosts (remove this record)`);
      }
      if (r.type === "CNAME" && r.name === "@") {
        ctx.report.at(p.src, p.path, `a CNAME cannot be at the zone apex ${fqdn}, which has SOA and NS records (use A/AAAA records, or an ALIAS at your registrar)`);
        continue;
      }
      if (r.type === "CNAME") {
        const others = list.filter((o) => o !== p);
        const other = others[0];
        if (other) {
          const what = other.record.origin === "file" ? `a ${other.record.type} record at ${Report.where(other.src, other.path)}` : `the ${other.record.type} record derived from ${other.record.why ?? other.record.origin}`;
          ctx.report.at(p.src, p.path, `a CNAME at ${fqdn} cannot stand beside other records, and there is ${what} (keep either the CNAME or the other records)`);
        }
      }
      const key = `${r.type} ${rdataKey(r)}`;
      const prev = seen.get(key);
      if (prev && (r.type === "A" || r.type === "AAAA" || r.type === "PTR") && (prev.record.origin !== "file" || r.origin !== "file")) {
        const [hand, derived] = r.origin === "file" ? [p, prev] : [prev, p];
        if (hand.record.origin === "file") {
          ctx.report.at(hand.src, hand.path, `collides with the ${r.type} record derived from ${derived.record.why ?? derived.record.origin} (remove it: ${r.type} records for sites, VPS and hosts are written for you)`);
        } else {
          ctx.report.at(p.src, p.path, `${fqdn} would get the same ${r.type} record twice: also derived from ${prev.record.why ?? prev.record.origin} (give one of them another name)`);
        }
        continue;
      }
      if (prev) {
        ctx.report.at(p.src, p.path, `the same ${r.type} record is written twice (also at ${Report.where(prev.src, prev.path)}; remove one)`);
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
          ctx.report.at(p.src, p.path, `${absoluteName(p.record.name, p.zone)} already gets its address records from ${prev.record.why ?? prev.record.origin} (a name points at one thing; choose another name)`);
        }
      } else if (!prev) firstDerived.set(p.record.type, p);
    }
    // Hand-written address records beside derived ones of the same type, with other values.
    for (const p of list) {
      if (p.record.origin !== "file" || !["A", "AAAA", "PTR"].includes(p.record.type)) continue;
      const derived = list.find((o) => o.record.origin !== "file" && o.record.type === p.record.type);
      if (derived && rdataKey(derived.record) !== rdataKey(p.record)) {
        ctx.report.at(p.src, p.path, `collides with the ${p.record.type} record derived from ${derived.record.why ?? derived.record.origin} (remove it: ${p.record.type} records for sites, VPS and hosts are written for you)`);
      }
    }
  }
}
