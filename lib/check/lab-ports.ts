import { createHash } from "node:crypto";
import type { Ctx } from "./context";
import type { VpsEntry } from "./vps";

/**
 * On a lab hypervisor (user-mode network) each guest's SSH is forwarded to a port on
 * 127.0.0.1. The port comes from a hash of the VPS's name, probing upwards on collision, so
 * adding a VPS does not move the others' ports.
 */
export function sshForwardPorts(ctx: Ctx, entries: VpsEntry[]): Map<VpsEntry, number> {
  const out = new Map<VpsEntry, number>();
  const taken = new Map<string, Set<number>>();
  for (const e of entries) {
    const hv = ctx.inventory.value.hosts[e.vps.value.hypervisor];
    const net = hv?.libvirt?.network;
    if (!net || net.type !== "user") continue;
    const used = taken.get(e.vps.value.hypervisor) ?? new Set<number>();
    taken.set(e.vps.value.hypervisor, used);
    const h = createHash("sha256").update(`${e.member.value.handle}/${e.name}`).digest().readUInt32BE(0);
    let port = net.ssh_forward_base + (h % 1000);
    while (used.has(port)) port = port + 1 >= net.ssh_forward_base + 1000 ? net.ssh_forward_base : port + 1;
    used.add(port);
    out.set(e, port);
  }
  return out;
}
