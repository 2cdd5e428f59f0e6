import ipaddr from "ipaddr.js";
import type { VpsModel } from "../model/types";
import { xmlAttr, xmlComment } from "./escape";
import { renderTemplate } from "./handlebars";
import { generatedNotice } from "./notice";

/**
 * The guests' network filter (docs/architecture.md, "Guest network filter"): libvirt's
 * clean-traffic for MAC, IPv4 and ARP, plus the IPv6 rules clean-traffic lacks. One filter per
 * hypervisor, defined by each bridged guest's Guest resource before its domain.
 */
export const NWFILTER_NAME = "globenet-clean-traffic";
/** Fixed, so every Guest resource defines the same filter (libvirt refuses another UUID for a name). */
const NWFILTER_UUID = "0c6f1b2e-7d4a-4f3e-9b5a-2e8d1c4f6a70";

/** The same on every hypervisor of every stack: nothing in it comes from the data. */
export function renderNwfilter(): string {
  return renderTemplate("libvirt-nwfilter.xml", {
    notice: xmlComment(generatedNotice("lib/render/templates/libvirt-nwfilter.xml.hbs")),
    name: xmlAttr(NWFILTER_NAME),
    uuid: NWFILTER_UUID,
  });
}

/** libvirt/nwfilter/<name>.xml, beside the domains of the hypervisor's bridged guests. */
export function nwfilterPath(): string {
  return `libvirt/nwfilter/${NWFILTER_NAME}.xml`;
}

/**
 * The filter's parameters for a guest: its IPv4 address (IP) and its IPv6 addresses (IPV6):
 * the declared one and the link-local the guest's kernel derives from its MAC (EUI-64, the
 * default of Debian's kernel and of systemd-networkd). A guest without IPv4 gets IP=0.0.0.0:
 * unset, libvirt would learn the first address the guest uses, which is the guest's choice.
 */
export function nwfilterParameters(vps: Pick<VpsModel, "ipv4" | "ipv6" | "mac">): Array<{ name: "IP" | "IPV6"; value: string }> {
  return [
    { name: "IP", value: vps.ipv4?.address ?? "0.0.0.0" },
    ...(vps.ipv6 ? [{ name: "IPV6" as const, value: vps.ipv6.address }] : []),
    { name: "IPV6", value: eui64LinkLocal(vps.mac) },
  ];
}

/** fe80::/64 with the modified EUI-64 interface identifier of `mac` (RFC 4291, appendix A). */
export function eui64LinkLocal(mac: string): string {
  const b = mac.split(":").map((h) => parseInt(h, 16));
  if (b.length !== 6 || b.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) throw new Error(`not a MAC address: ${mac}`);
  const [b0, b1, b2, b3, b4, b5] = b as [number, number, number, number, number, number];
  const bytes = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, b0 ^ 0x02, b1, b2, 0xff, 0xfe, b3, b4, b5];
  return ipaddr.fromByteArray(bytes).toString();
}
