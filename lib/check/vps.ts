import ipaddr from "ipaddr.js";
import { Report } from "./report";
import { invPath, type Ctx } from "./context";
import type { LoadedMember, Sourced } from "../load/tree";
import type { Vps } from "../schema/vps";
import type { YamlFile } from "../load/yaml-file";
import { derivedMac } from "../model/mac";

export interface VpsEntry {
  member: LoadedMember;
  name: string;
  vps: Sourced<Vps>;
  mac: string;
  pool4?: { prefixLength: number; gateway: string };
  pool6?: { prefixLength: number; gateway: string };
}

/** Every VPS of current members, sorted by handle then name. Departed members may keep none. */
export function vpsEntries(ctx: Ctx): VpsEntry[] {
  const out: VpsEntry[] = [];
  for (const m of [...ctx.tree.members.values()].sort((a, b) => (a.value.handle < b.value.handle ? -1 : 1))) {
    for (const [name, v] of [...m.vps.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (m.value.status === "departed") {
        ctx.report.at(v.src, [], { en: `member ${m.value.handle} has departed and keeps no VPS (delete this file; the apply archives the disk before removing the VPS)`, fr: `le membre ${m.value.handle} est parti et ne garde aucun VPS (supprimez ce fichier ; l'application archive le disque avant de retirer le VPS)` });
        continue;
      }
      out.push({ member: m, name, vps: v, mac: v.value.mac ?? derivedMac(ctx.inventory.value.mac_prefix, m.value.handle, name) });
    }
  }
  return out;
}

/** Hypervisor exists and has the role, the image is offered, and capacity is not exceeded. */
export function checkPlacement(ctx: Ctx, entries: VpsEntry[]): void {
  const inv = ctx.inventory.value;
  const hvNames = Object.entries(inv.hosts).filter(([, h]) => h.roles.includes("hypervisor")).map(([n]) => n).sort();
  const used = new Map<string, { vcpus: number; memory: number; disk: number }>();
  for (const e of entries) {
    const v = e.vps.value;
    const host = inv.hosts[v.hypervisor];
    if (!host || !host.roles.includes("hypervisor")) {
      ctx.report.at(e.vps.src, ["hypervisor"], { en: `"${v.hypervisor}" is ${host ? "not a hypervisor" : "not a host of this stack"} (use one of: ${hvNames.join(", ") || "none"})`, fr: `« ${v.hypervisor} » ${host ? "n'est pas un hyperviseur" : "n'est pas un hôte de cette pile"} (utilisez l'un de : ${hvNames.join(", ") || "aucun"})` });
    } else if (host.capacity) {
      const u = used.get(v.hypervisor) ?? { vcpus: 0, memory: 0, disk: 0 };
      u.vcpus += v.vcpus;
      u.memory += v.memory_mb;
      u.disk += v.disk_gb;
      used.set(v.hypervisor, u);
      const c = host.capacity;
      const over = (what: string, field: string, total: number, cap: number, unit: string) =>
        ctx.report.at(e.vps.src, [field], { en: `${v.hypervisor} would be over its ${what} capacity: ${total} ${unit} asked in all, ${cap} available (pick another hypervisor or lower it)`, fr: `${v.hypervisor} dépasserait sa capacité (${({ vCPU: "vCPU", memory: "mémoire", disk: "disque" } as Record<string, string>)[what] ?? what}) : ${total} ${unit.replace("MB", "Mo").replace("GB", "Go")} demandés en tout, ${cap} disponibles (choisissez un autre hyperviseur ou baissez la valeur)` });
      if (u.vcpus > c.vcpus) over("vCPU", "vcpus", u.vcpus, c.vcpus, "vCPUs");
      if (u.memory > c.memory_mb) over("memory", "memory_mb", u.memory, c.memory_mb, "MB");
      if (u.disk > c.disk_gb) over("disk", "disk_gb", u.disk, c.disk_gb, "GB");
    }
    if (host?.libvirt?.network.type === "user" && !v.ipv4) {
      ctx.report.at(e.vps.src, [], { en: `${v.hypervisor} uses QEMU's user-mode network (lab), whose SSH forward needs an IPv4 address (add ipv4:)`, fr: `${v.hypervisor} utilise le réseau en mode utilisateur de QEMU (lab), dont la redirection SSH demande une adresse IPv4 (ajoutez ipv4:)` });
    }
    if (!inv.images[v.image]) {
      ctx.report.at(e.vps.src, ["image"], { en: `image "${v.image}" is not offered on this stack (use one of: ${Object.keys(inv.images).sort().join(", ")})`, fr: `l'image « ${v.image} » n'est pas proposée sur cette pile (utilisez l'une de : ${Object.keys(inv.images).sort().join(", ")})` });
    }
  }
}

/**
 * Each VPS address lies in a pool and is none of its network, broadcast or gateway
 * addresses; addresses and MACs are unique among VPS and hosts.
 */
export function checkAddresses(ctx: Ctx, entries: VpsEntry[]): void {
  const inv = ctx.inventory.value;
  // A host's address is named as the host; a VPS's as the place it is written.
  const seen = new Map<string, { src: YamlFile; path: Array<string | number>; host?: string }>();
  for (const [name, h] of Object.entries(inv.hosts).sort(([a], [b]) => (a < b ? -1 : 1))) {
    for (const f of ["ipv4", "ipv6"] as const) {
      const a = h[f];
      if (a) seen.set(a, { src: ctx.inventory.src, path: invPath(ctx, "hosts", name, f), host: name });
    }
  }
  for (const e of entries) {
    for (const field of ["ipv4", "ipv6"] as const) {
      const address = e.vps.value[field];
      if (!address) continue;
      const placed = placeInPool(ctx, e, field, address);
      if (placed) e[field === "ipv4" ? "pool4" : "pool6"] = placed;
      const here = { src: e.vps.src, path: [field] };
      const prev = seen.get(address);
      if (!prev) seen.set(address, here);
      else if (prev.host) {
        ctx.report.at(e.vps.src, [field], { en: `${address} is already used by host ${prev.host} in ${prev.src.file} (each address is used once)`, fr: `${address} est déjà l'adresse de l'hôte ${prev.host} dans ${prev.src.file} (chaque adresse ne sert qu'une fois)` });
      } else {
        ctx.report.duplicate(prev, here, (other) => ({ en: `${address} is already used by ${Report.where(other.src, other.path)} (each address is used once)`, fr: `${address} est déjà utilisée en ${Report.where(other.src, other.path)} (chaque adresse ne sert qu'une fois)` }));
      }
    }
  }
  const macs = new Map<string, VpsEntry>();
  for (const e of entries) {
    const prev = macs.get(e.mac);
    if (prev) {
      const place = (x: VpsEntry) => ({ src: x.vps.src, path: x.vps.value.mac !== undefined ? ["mac"] : [], entry: x });
      ctx.report.duplicate(place(prev), place(e), (other) => {
        const declared = (other.entry === prev ? e : prev).vps.value.mac !== undefined;
        const vps = `${other.entry.member.value.handle}/${other.entry.name}`;
        return {
          en: `MAC ${e.mac} is already used by VPS ${vps} (${declared ? "use another MAC" : "set mac: to a free address, the derived one collides"})`,
          fr: `l'adresse MAC ${e.mac} est déjà celle du VPS ${vps} (${declared ? "prenez une autre adresse MAC" : "indiquez dans mac: une adresse libre, celle dérivée entre en collision"})`,
        };
      });
    } else macs.set(e.mac, e);
  }
  for (const field of ["ipv4", "ipv6"] as const) {
    for (const [i, p] of inv.pools[field].entries()) {
      if (!ipaddr.parse(p.gateway).match(ipaddr.parseCIDR(p.cidr))) ctx.report.at(ctx.inventory.src, invPath(ctx, "pools", field, i, "gateway"), { en: `${p.gateway} is outside ${p.cidr} (the gateway must be on the VPS's network)`, fr: `${p.gateway} est hors de ${p.cidr} (la passerelle doit être sur le réseau des VPS)` });
    }
  }
}

/**
 * The pool holding a VPS address, if the address is one a guest may take: not the pool's
 * gateway, nor its IPv4 network or broadcast address, nor its IPv6 subnet-router anycast.
 */
function placeInPool(ctx: Ctx, e: VpsEntry, field: "ipv4" | "ipv6", address: string): { prefixLength: number; gateway: string } | undefined {
  const pools = ctx.inventory.value.pools[field];
  const addr = ipaddr.parse(address);
  const pool = pools.find((p) => addr.match(ipaddr.parseCIDR(p.cidr)));
  if (!pool) {
    const none = field === "ipv4" ? "— no IPv4 pool is defined" : "— no IPv6 pool is defined";
    ctx.report.at(e.vps.src, [field], { en: `${address} is outside the VPS pools (use a free address in ${pools.map((p) => p.cidr).join(", ") || none})`, fr: `${address} est hors des plages d'adresses des VPS (prenez une adresse libre dans ${pools.map((p) => p.cidr).join(", ") || (field === "ipv4" ? "— aucune plage IPv4 n'est définie" : "— aucune plage IPv6 n'est définie")})` });
    return undefined;
  }
  const len = ipaddr.parseCIDR(pool.cidr)[1];
  if (address === pool.gateway) {
    ctx.report.at(e.vps.src, [field], { en: `${address} is the pool's gateway (use another address in ${pool.cidr})`, fr: `${address} est la passerelle de la plage (prenez une autre adresse dans ${pool.cidr})` });
    return undefined;
  }
  const family = field === "ipv4" ? ipaddr.IPv4 : ipaddr.IPv6;
  const network = family.networkAddressFromCIDR(pool.cidr).toString();
  if (field === "ipv4" && len < 31) {
    const broadcast = ipaddr.IPv4.broadcastAddressFromCIDR(pool.cidr).toString();
    if (address === network || address === broadcast) {
      ctx.report.at(e.vps.src, [field], { en: `${address} is the ${address === network ? "network" : "broadcast"} address of ${pool.cidr} (use a host address)`, fr: `${address} est l'adresse ${address === network ? "de réseau" : "de diffusion"} de ${pool.cidr} (prenez une adresse d'hôte)` });
      return undefined;
    }
  }
  if (field === "ipv6" && address === network) {
    ctx.report.at(e.vps.src, [field], { en: `${address} is the subnet-router anycast address of ${pool.cidr} (use a host address)`, fr: `${address} est l'adresse anycast du routeur de sous-réseau de ${pool.cidr} (prenez une adresse d'hôte)` });
    return undefined;
  }
  return { prefixLength: len, gateway: pool.gateway };
}
