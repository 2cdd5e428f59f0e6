import ipaddr from "ipaddr.js";
import { paths } from "../model/paths";
import type { VpsModel } from "../model/types";
import { qemuOptValue, xmlAttr, xmlComment, xmlText } from "./escape";
import { renderTemplate } from "./handlebars";
import { NWFILTER_NAME, nwfilterParameters } from "./libvirt-nwfilter";
import { generatedNotice } from "./notice";

/**
 * libvirt/<domain>.xml: the guest as `virsh define` takes it. No <uuid>: libvirt assigns one
 * at the first define; libvirt 9 refuses a later define of the same name without it, so the
 * provider writes the existing UUID back in before redefining.
 */
export function renderDomainXml(vps: VpsModel): string {
  const user = vps.network.type === "user" ? vps.network : null;
  const bridge = vps.network.type === "bridge" ? vps.network : null;
  return renderTemplate("libvirt-domain.xml", {
    notice: xmlComment(generatedNotice(vps.file)),
    type: xmlAttr(vps.domainType),
    name: xmlText(vps.domain),
    memoryMb: xmlText(int(vps.memoryMb)),
    vcpus: xmlText(int(vps.vcpus)),
    directBoot: vps.directBoot
      ? { kernel: xmlText(vps.directBoot.kernel), initrd: xmlText(vps.directBoot.initrd), cmdline: xmlText(vps.directBoot.cmdline) }
      : null,
    // KVM on production hypervisors: the guest sees the host's CPU. TCG (lab): QEMU's
    // "max" model, the one LAB-NOTES found to boot Debian.
    cpu: vps.domainType === "kvm" ? "<cpu mode='host-passthrough'/>" : "<cpu mode='maximum' check='none'/>",
    diskPath: xmlAttr(vps.diskPath),
    seedPath: xmlAttr(vps.seedPath),
    consoleLog: xmlAttr(paths.vpsConsoleLog(vps.domain)),
    // Every bridged interface is filtered (libvirt-nwfilter.ts): no spoofed MAC, address or ARP.
    bridge: bridge
      ? {
          name: xmlAttr(bridge.bridge),
          mac: xmlAttr(vps.mac),
          filter: xmlAttr(NWFILTER_NAME),
          parameters: nwfilterParameters(vps).map((p) => ({ name: xmlAttr(p.name), value: xmlAttr(p.value) })),
        }
      : null,
    qemuArgs: user ? userNetworkArgs(vps, user.sshForwardPort, user.sshForwardAddress).map(xmlAttr) : null,
  });
}

/**
 * The lab's network, per LAB-NOTES: QEMU user-mode networking whose only way in is the SSH
 * port forwarded on 127.0.0.1 or on the hypervisor's own address (the inventory's
 * `ssh_forward_address`; `restrict=on` keeps the guest off every other network). The slirp network is set to the VPS's own prefix and gateway, so the static addresses that
 * cloud-init configures work unchanged, and the forward names the guest's address: without
 * it QEMU forwards to x.x.x.15, the first address of its DHCP pool, which the guest does
 * not have. QEMU forwards over IPv4 only, so such a VPS needs an IPv4 address.
 */
function userNetworkArgs(vps: VpsModel, sshForwardPort: number, sshForwardAddress: string): string[] {
  if (!vps.ipv4) {
    throw new Error(`${vps.file}: VPS ${vps.domain} is on a lab hypervisor (QEMU user network), which forwards SSH over IPv4 only: it needs an ipv4 address`);
  }
  const opts = ["user", "id=n0", "restrict=on"];
  const net4 = ipaddr.IPv4.networkAddressFromCIDR(`${vps.ipv4.address}/${vps.ipv4.prefixLength}`).toString();
  opts.push(`net=${qemuOptValue(`${net4}/${vps.ipv4.prefixLength}`)}`, `host=${qemuOptValue(vps.ipv4.gateway)}`);
  if (vps.ipv6) {
    const net6 = ipaddr.IPv6.networkAddressFromCIDR(`${vps.ipv6.address}/${vps.ipv6.prefixLength}`).toString();
    opts.push(`ipv6-net=${qemuOptValue(`${net6}/${vps.ipv6.prefixLength}`)}`, `ipv6-host=${qemuOptValue(vps.ipv6.gateway)}`);
  }
  opts.push(`hostfwd=${qemuOptValue(`tcp:${sshForwardAddress}:${int(sshForwardPort)}-${vps.ipv4.address}:22`)}`);
  // A fixed PCI slot: left to QEMU, the NIC takes slot 2, which libvirt gives the SATA controller.
  return ["-netdev", opts.join(","), "-device", `virtio-net-pci,netdev=n0,mac=${qemuOptValue(vps.mac)},addr=0x1f`];
}

function int(n: number): string {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`${n} is not a non-negative integer`);
  return String(n);
}

/** libvirt/<domain>.xml */
export function domainXmlPath(vps: VpsModel): string {
  return `libvirt/${vps.domain}.xml`;
}
