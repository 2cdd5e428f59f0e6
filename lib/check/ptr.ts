import ipaddr from "ipaddr.js";
import type { Ctx } from "./context";
import { invPath } from "./context";
import type { PlacedRecord } from "./zones";
import type { VpsModel } from "../model/types";
import type { YamlFile } from "../load/yaml-file";
import type { Bilingual } from "../i18n/lang";
import { ptrName, relativeName, zoneFor } from "../model/dns-names";

/**
 * Every address has its PTR (issue 18): each host's address (address, ipv4, ipv6) and each
 * VPS's address needs a reverse zone that Globenet serves (zones/*.in-addr.arpa.yaml,
 * zones/*.ip6.arpa.yaml) holding a PTR for it. PTRs for ipv4/ipv6 of hosts and for VPS are
 * derived (lib/check/records.ts), so what this finds is a reverse zone nobody wrote here (an
 * address in a network whose reverse DNS is someone else's, or a zone file still to add) or
 * a host `address` that is neither its ipv4 nor its ipv6 (no PTR is derived for it). Mail
 * servers and SSH logs look at PTRs; a missing one is a nuisance, not a danger, so by default
 * it is a warning; `checks: { ptr: error }` in the inventory makes it refuse the data.
 * Loopback addresses (the single-address lab's 127.0.0.1) have no public reverse: skipped.
 */
export function checkPtr(ctx: Ctx, placed: PlacedRecord[], vps: VpsModel[], refused: ReadonlySet<string>): void {
  const served = new Set([...ctx.tree.zones.keys()].filter((z) => z.endsWith(".arpa") && !refused.has(z)));
  const quiet = new Set([...ctx.tree.broken.zones].filter((z) => z.endsWith(".arpa")));
  const ptrs = new Set(placed.filter((p) => p.record.type === "PTR").map((p) => `${p.zone} ${p.record.name}`));
  const level = ctx.inventory.value.checks.ptr;
  const report = (src: YamlFile, path: Array<string | number>, m: Bilingual) => (level === "error" ? ctx.report.at(src, path, m) : ctx.report.warnAt(src, path, m));

  const one = (address: string, fqdn: string, src: YamlFile, path: Array<string | number>, derived: boolean) => {
    const parsed = ipaddr.parse(address);
    if (parsed.range() === "loopback") return;
    const ptr = ptrName(address);
    // A reverse zone whose file failed to load has its own error: do not add to it.
    if (zoneFor(ptr, quiet)) return;
    const zone = zoneFor(ptr, served);
    if (!zone) {
      const suggest = suggestedZone(parsed);
      report(src, path, {
        en: `${address} has no PTR: no reverse zone Globenet serves holds ${ptr} (add zones/${suggest}.yaml with owner: globenet and the PTR to ${fqdn} is derived; if that network's reverse DNS is its provider's, ask them for a PTR to ${fqdn})`,
        fr: `${address} n'a pas de PTR : aucune zone inverse servie par Globenet ne contient ${ptr} (ajoutez zones/${suggest}.yaml avec owner: globenet et le PTR vers ${fqdn} est déduit ; si le DNS inverse de ce réseau est celui de son fournisseur, demandez-lui un PTR vers ${fqdn})`,
      });
      return;
    }
    const name = relativeName(ptr, zone);
    if (ptrs.has(`${zone} ${name}`)) return;
    const why = derived ? "" : " (PTRs are derived from a host's ipv4 and ipv6 only, and this address is neither)";
    const whyFr = derived ? "" : " (les PTR ne sont déduits que de l'ipv4 et de l'ipv6 d'un hôte, et cette adresse n'est ni l'une ni l'autre)";
    report(src, path, {
      en: `${address} has no PTR in the reverse zone ${zone}${why} (write { name: "${name}", type: PTR, value: ${fqdn}. } in zones/${zone}.yaml, or make it the host's ipv4/ipv6)`,
      fr: `${address} n'a pas de PTR dans la zone inverse ${zone}${whyFr} (écrivez { name: "${name}", type: PTR, value: ${fqdn}. } dans zones/${zone}.yaml, ou faites-en l'ipv4/ipv6 de l'hôte)`,
    });
  };

  for (const [name, h] of Object.entries(ctx.inventory.value.hosts).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const seen = new Set<string>();
    // The field that says the address: ipv4/ipv6 when written, else address (their default).
    for (const field of ["ipv4", "ipv6", "address"] as const) {
      const a = h[field];
      if (!a || seen.has(a)) continue;
      seen.add(a);
      const derived = field !== "address" || (h.address.includes(":") ? !h.ipv6 : !h.ipv4);
      one(a, h.fqdn, ctx.inventory.src, invPath(ctx, "hosts", name, field), derived);
    }
  }
  for (const v of vps) {
    const src = ctx.tree.members.get(v.handle)?.vps.get(v.name)?.src;
    if (!src) continue;
    if (v.ipv4) one(v.ipv4.address, v.fqdn, src, ["ipv4"], true);
    if (v.ipv6) one(v.ipv6.address, v.fqdn, src, ["ipv6"], true);
  }
}

/** The reverse zone of the address's /24 (IPv4) or /64 (IPv6), as zones/ names them. */
function suggestedZone(a: ipaddr.IPv4 | ipaddr.IPv6): string {
  if (a.kind() === "ipv4") return `${(a as ipaddr.IPv4).octets.slice(0, 3).reverse().join(".")}.in-addr.arpa`;
  const nibbles = (a as ipaddr.IPv6).toByteArray().slice(0, 8).flatMap((b) => [b >> 4, b & 15]).map((n) => n.toString(16));
  return `${nibbles.reverse().join(".")}.ip6.arpa`;
}
