import type { VpsModel } from "../model/types";
import { lineComment, yamlDoubleQuoted } from "./escape";
import { renderTemplate } from "./handlebars";
import { generatedNotice } from "./notice";

/*
 * The NoCloud seed of a VPS: cloud-init/<domain>/{user-data,meta-data,network-config}, put on
 * the seed ISO (volume label "cidata") that the domain XML attaches as a cdrom. Every value
 * is a YAML double-quoted scalar.
 */

/**
 * user-data: the member's unix user with their SSH keys; no password, root locked. With no
 * key the list is left out (cloud-init's schema refuses an empty one); nobody can log in.
 */
export function renderUserData(vps: VpsModel): string {
  return renderTemplate("cloud-init-user-data", {
    notice: lineComment(generatedNotice(vps.file)),
    hostname: yamlDoubleQuoted(shortName(vps)),
    fqdn: yamlDoubleQuoted(vps.fqdn),
    user: yamlDoubleQuoted(vps.handle),
    sshKeys: vps.sshKeys.map(yamlDoubleQuoted),
  });
}

/** meta-data: the instance id (a new one makes cloud-init run its first boot again). */
export function renderMetaData(vps: VpsModel): string {
  return renderTemplate("cloud-init-meta-data", {
    notice: lineComment(generatedNotice(vps.file)),
    instanceId: yamlDoubleQuoted(vps.instanceId),
    hostname: yamlDoubleQuoted(shortName(vps)),
  });
}

/**
 * network-config (version 2): static addresses on the NIC with the VPS's MAC, named eth0.
 * Default routes use gateway4/gateway6 rather than `routes:`: cloud-init 22.4 (Debian 12's,
 * which the guests run) rejects `to: default`, and its ENI and networkd renderers turn
 * `to: "::/0"` into a route to ::/64, so the IPv6 default route would be missing.
 */
export function renderNetworkConfig(vps: VpsModel): string {
  const addresses: string[] = [];
  if (vps.ipv4) addresses.push(yamlDoubleQuoted(`${vps.ipv4.address}/${vps.ipv4.prefixLength}`));
  if (vps.ipv6) addresses.push(yamlDoubleQuoted(`${vps.ipv6.address}/${vps.ipv6.prefixLength}`));
  return renderTemplate("cloud-init-network-config", {
    notice: lineComment(generatedNotice(vps.file)),
    mac: yamlDoubleQuoted(vps.mac),
    addresses,
    gateway4: vps.ipv4 ? yamlDoubleQuoted(vps.ipv4.gateway) : null,
    gateway6: vps.ipv6 ? yamlDoubleQuoted(vps.ipv6.gateway) : null,
    resolvers: vps.resolvers.map(yamlDoubleQuoted),
  });
}

/** The host name is the first label of the VPS's public name. */
function shortName(vps: VpsModel): string {
  return vps.fqdn.split(".")[0] as string;
}

/** cloud-init/<domain>/<file> */
export function cloudInitPath(vps: VpsModel, file: "user-data" | "meta-data" | "network-config"): string {
  return `cloud-init/${vps.domain}/${file}`;
}
