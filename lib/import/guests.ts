/**
 * Importing the guests that already run (issue 19): what a read-only session on a hypervisor
 * returns (lib/import/scripts/libvirt-read.sh: `virsh dumpxml --inactive`, the state, ARP
 * addresses, `qemu-img info` of each disk) becomes members/<handle>/vps/<name>.yaml files for
 * a volunteer to review. It is the inverse of lib/render/libvirt-domain.ts: vCPUs, memory,
 * disk size and base image, MAC and addresses are read back; everything in the definition the
 * renderer would not write again (another disk, a graphics console, UEFI, a NAT network, a
 * hand-chosen disk path) is reported with the domain and the XML element, since the domain is
 * redefined from the render: by the adoption when its disks, seed or MACs differ from the
 * model's (provider/resources/guest.ts's adopt), else at its next change of hardware. The XML is read with lib/import/xml.ts (why not a
 * library: see there and docs/architecture.md).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import ipaddr from "ipaddr.js";
import { Document, type YAMLMap } from "yaml";
import { mib as libvirtMib } from "../../provider/resources/guest-check";
import { derivedMac } from "../model/mac";
import { paths } from "../model/paths";
import { dangerousCharacter, vpsNameProblem } from "../schema/names";
import { handleProblem } from "../schema/system-names";
import { vpsSchema } from "../schema/vps";
import type { RunScript } from "./databases";
import { shown } from "./databases";
import { child, childrenNamed, parseXml, XmlError, type XmlElement } from "./xml";
import { oneLine } from "./zone-file";

export const LIBVIRT_READ_SCRIPT = "lib/import/scripts/libvirt-read.sh";

export function libvirtReadScript(): string {
  return readFileSync(join(__dirname, "scripts", "libvirt-read.sh"), "utf8");
}

export interface LiveDisk {
  path: string;
  format?: string;
  virtualSize?: number;
  backing?: string;
}

export interface LiveGuest {
  uuid: string;
  xml: string;
  state: string;
  /** Addresses libvirt saw (domifaddr --source arp): "203.0.113.20/24". */
  addresses: string[];
  disks: LiveDisk[];
}

const b64 = (s: string | undefined) => Buffer.from(s ?? "", "base64").toString("utf8");

/** Decodes the script's output. */
export function parseLibvirtRead(out: string): LiveGuest[] {
  const byId = new Map<string, LiveGuest>();
  const get = (id: string) => {
    let g = byId.get(id);
    if (!g) byId.set(id, (g = { uuid: id, xml: "", state: "", addresses: [], disks: [] }));
    return g;
  };
  out.split("\n").forEach((line, i) => {
    if (!line.trim()) return;
    const [tag, id, a, b] = line.split("\t");
    if (!id || !/^[0-9a-f-]{36}$/.test(id)) throw new Error(`the libvirt read returned an unexpected line ${i + 1}: ${JSON.stringify(line.slice(0, 80))}`);
    const g = get(id);
    if (tag === "xml") g.xml = b64(a);
    else if (tag === "state") g.state = b64(a).trim();
    else if (tag === "addr") {
      // " vnet0  52:54:00:3a:7c:10  ipv4  203.0.113.20/24"
      for (const l of b64(a).split("\n")) {
        const m = /\s(ipv[46])\s+(\S+)\s*$/.exec(l);
        if (m) g.addresses.push(m[2] as string);
      }
    } else if (tag === "disk") {
      const info = JSON.parse(b64(b) || "{}") as { format?: string; "virtual-size"?: number; "backing-filename"?: string; "full-backing-filename"?: string };
      g.disks.push({ path: b64(a), format: info.format, virtualSize: info["virtual-size"], backing: info["full-backing-filename"] ?? info["backing-filename"] });
    } else throw new Error(`the libvirt read returned an unexpected line ${i + 1}: tag ${JSON.stringify(tag)}`);
  });
  return [...byId.values()];
}

/** Runs the read script through `run` and decodes it. */
export async function readGuests(run: RunScript, uri = ""): Promise<LiveGuest[]> {
  return parseLibvirtRead(await run(libvirtReadScript(), [uri]));
}

/** Who owns which domain, from the import mapping file. Domains named <handle>--<name> need none. */
export interface GuestOwnerMapping {
  domains?: Readonly<Record<string, { member: string; name: string }>>;
}

export interface GuestImportOptions {
  /** The inventory's name of the hypervisor read (written as `hypervisor:`). */
  hypervisor: string;
  /** Its libvirt.images_dir (where the model puts each guest's disk and seed). */
  imagesDir: string;
  /** Its network: the bridge's name, or "user" for a lab hypervisor. */
  network: { type: "bridge"; bridge: string } | { type: "user" };
  /** Its domain type as the model renders it ("kvm" in production). */
  domainType?: "kvm" | "qemu";
  /** The inventory's images: name → path of the base image on the hypervisors. */
  images: Readonly<Record<string, string>>;
  /** The inventory's mac_prefix: a live MAC equal to the derived one is not written. */
  macPrefix: string;
  mapping?: GuestOwnerMapping;
  members?: readonly string[];
}

/** A report line: the domain and the XML element it is about. */
export interface GuestNote {
  domain: string;
  /** Path of the element in the domain XML, e.g. "devices/disk[2]" or "os/loader". */
  element: string;
  why: string;
}

export interface ImportedVps {
  domain: string;
  handle: string;
  name: string;
  /** members/<handle>/vps/<name>.yaml */
  file: string;
  /** What is written (not necessarily valid: missing facts are left out and marked). */
  value: Record<string, unknown>;
  todos: string[];
  yaml: string;
}

export interface GuestsImport {
  vps: ImportedVps[];
  unexpressible: GuestNote[];
  refused: GuestNote[];
}

/**
 * Elements the renderer writes or libvirt adds on define (controllers, addresses, the
 * emulator, PS/2 inputs): anything else in a live definition is reported.
 */
const KNOWN = new Set([
  "name", "uuid", "metadata", "memory", "currentMemory", "vcpu", "resource", "resource/partition",
  "os", "os/type", "os/boot", "os/kernel", "os/initrd", "os/cmdline",
  "features", "features/acpi", "features/apic", "features/pae", "cpu", "clock", "on_poweroff", "on_reboot", "on_crash", "pm", "pm/suspend-to-mem", "pm/suspend-to-disk",
  "devices", "devices/emulator",
  "devices/disk", "devices/disk/driver", "devices/disk/source", "devices/disk/target", "devices/disk/readonly", "devices/disk/address",
  "devices/controller", "devices/controller/address", "devices/controller/model", "devices/controller/target",
  "devices/interface", "devices/interface/source", "devices/interface/mac", "devices/interface/model", "devices/interface/filterref", "devices/interface/filterref/parameter", "devices/interface/address",
  "devices/serial", "devices/serial/log", "devices/serial/target", "devices/serial/target/model",
  "devices/console", "devices/console/log", "devices/console/target",
  "devices/channel", "devices/channel/target", "devices/channel/address", "devices/channel/source",
  "devices/input", "devices/input/address", "devices/audio",
  "devices/rng", "devices/rng/backend", "devices/rng/address", "devices/memballoon", "devices/memballoon/address",
  "qemu:commandline", "qemu:commandline/qemu:arg",
]);

function mib(el: XmlElement | undefined): number | undefined {
  return el && /^\d+$/.test(el.text) ? libvirtMib(el.attrs.unit, el.text) : undefined;
}

function isLinkLocal(a: string): boolean {
  try {
    const p = ipaddr.parse(a);
    return p.range() === "linkLocal";
  } catch {
    return true;
  }
}

function ownerOf(domain: string, opts: GuestImportOptions): { handle: string; name: string; todo?: string } {
  const mapped = opts.mapping?.domains?.[domain];
  if (mapped) return { handle: mapped.member, name: mapped.name };
  const at = domain.indexOf("--");
  if (at > 0 && !handleProblem(domain.slice(0, at)) && !vpsNameProblem(domain.slice(at + 2))) return { handle: domain.slice(0, at), name: domain.slice(at + 2) };
  const clean = (s: string) => s.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/-+/g, "-").replace(/^[^a-z]+|-+$/g, "");
  const how = "guessed from the domain name (map the domain in the import mapping file: member and VPS name)";
  const known = (opts.members ?? []).filter((h) => domain.toLowerCase().startsWith(`${h}-`) || domain.toLowerCase().startsWith(`${h}_`) || domain.toLowerCase().startsWith(`${h}.`)).sort((a, b) => b.length - a.length)[0];
  if (known) {
    const name = clean(domain.slice(known.length + 1)) || "vps";
    return { handle: known, name: vpsNameProblem(name) ? "vps" : name, todo: `owner ${known} and name ${how}` };
  }
  const parts = domain.split(/[-_.]/);
  const first = clean(parts[0] ?? "");
  // "velo-nextcloud" on a tree with velo-libre: the member whose handle starts with the first word.
  const handle = (opts.members ?? []).find((h) => h === first) ?? (opts.members ?? []).find((h) => h.startsWith(`${first}-`)) ?? first;
  const name = clean(parts.slice(1).join("-")) || "vps";
  if (!handleProblem(handle) && !vpsNameProblem(name)) return { handle, name, todo: `owner ${handle} and name ${name} ${how}` };
  return { handle: "to-be-decided", name: vpsNameProblem(clean(domain)) ? "vps" : clean(domain), todo: `owner unknown: ${how}` };
}

/** Imports each domain; pure (the live facts come in). */
export function importGuests(live: readonly LiveGuest[], opts: GuestImportOptions): GuestsImport {
  const out: GuestsImport = { vps: [], unexpressible: [], refused: [] };
  for (const g of live) {
    let root: XmlElement;
    try {
      root = parseXml(g.xml);
    } catch (e) {
      out.refused.push({ domain: g.uuid, element: "", why: `its definition is not XML the import reads: ${e instanceof XmlError ? e.message : String(e)}` });
      continue;
    }
    const domain = child(root, "name")?.text ?? "";
    const bad = dangerousCharacter(domain) ?? (domain ? undefined : "nothing (no <name>)");
    if (root.name !== "domain" || bad) {
      out.refused.push({ domain: shown(domain || g.uuid), element: "name", why: `the domain name contains ${bad ?? "?"}: refused, nothing written for it (rename it by hand: virsh domrename)` });
      continue;
    }
    out.vps.push(importOne(domain, root, g, opts, out.unexpressible));
  }
  return out;
}

function importOne(domain: string, root: XmlElement, g: LiveGuest, opts: GuestImportOptions, report: GuestNote[]): ImportedVps {
  const note = (element: string, why: string) => report.push({ domain, element, why });
  const todos: string[] = [];
  const owner = ownerOf(domain, opts);
  if (owner.todo) todos.push(owner.todo);
  const modelDomain = `${owner.handle}--${owner.name}`;
  const redefine = "adoption redefines the domain from the render without it";
  // An element alone does not make the adoption redefine a running guest (provider/resources/guest.ts).
  const kept = "it stays until the domain is next redefined from the render (a change of vCPUs, memory, disks or MAC: then without it)";
  if (domain !== modelDomain) note("name", `the model names this guest's domain ${modelDomain}: adoption needs it renamed (shut off, virsh domrename) — done by hand, not by the import`);

  // Unknown elements, each path once.
  const seen = new Set<string>();
  const walk = (el: XmlElement, path: string) => {
    for (const c of el.children) {
      const p = path ? `${path}/${c.name}` : c.name;
      if (!KNOWN.has(p) && !seen.has(p)) {
        seen.add(p);
        note(p, `line ${c.line}: the model's domain has no <${c.name}>${c.attrs.type ? ` (type ${shown(c.attrs.type)})` : ""}: ${kept}`);
      } else if (KNOWN.has(p)) walk(c, p);
    }
  };
  walk(root, "");

  if (opts.domainType && root.attrs.type !== opts.domainType) note("domain@type", `is ${shown(root.attrs.type ?? "")}, the hypervisor's guests are ${opts.domainType}`);
  const value: Record<string, unknown> = { hypervisor: opts.hypervisor };

  // vCPUs: the count the guest boots with.
  const vcpu = child(root, "vcpu");
  if (vcpu && /^\d+$/.test(vcpu.text)) {
    value.vcpus = Number(vcpu.text);
    if (vcpu.attrs.current && vcpu.attrs.current !== vcpu.text) {
      value.vcpus = Number(vcpu.attrs.current);
      note("vcpu@current", `boots ${vcpu.attrs.current} of ${vcpu.text} vCPUs (hot-plug): the model has one count; ${vcpu.attrs.current} written`);
    }
  } else todos.push("vcpus: no <vcpu> count in the definition; write it");

  // Memory: whole MiB; memory and currentMemory equal in the model.
  const mem = mib(child(root, "memory"));
  const cur = mib(child(root, "currentMemory"));
  if (mem === undefined) todos.push("memory_mb: no <memory> in the definition; write it");
  else {
    value.memory_mb = Math.ceil(mem);
    if (mem !== Math.ceil(mem)) note("memory", `${mem} MiB is not whole MiB: ${Math.ceil(mem)} written`);
    if (cur !== undefined && cur !== mem) note("currentMemory", `the guest runs with ${cur} MiB of a ${mem} MiB maximum (balloon): the model gives it all ${Math.ceil(mem)} MiB`);
  }

  // Boot and platform.
  const os = child(root, "os");
  const type = child(os, "type");
  if (type && !/^pc(-i440fx-[\d.]+)?$/.test(type.attrs.machine ?? "pc")) note("os/type@machine", `machine ${shown(type.attrs.machine ?? "")}: the model's guests are i440fx ("pc"); another chipset changes the guest's devices`);
  if (type?.attrs.arch && type.attrs.arch !== "x86_64") note("os/type@arch", `architecture ${shown(type.attrs.arch)}: the model's guests are x86_64`);
  if (child(os, "loader")) note("os/loader", "boots with firmware (UEFI): the model's guests boot with the BIOS; the guest may not boot after adoption");
  for (const b of childrenNamed(os, "boot")) if (b.attrs.dev !== "hd") note("os/boot", `boots from ${shown(b.attrs.dev ?? "")}: the model boots from the disk`);
  const cpu = child(root, "cpu");
  const wantCpu = root.attrs.type === "kvm" ? "host-passthrough" : "maximum";
  if ((cpu?.attrs.mode ?? "custom") !== wantCpu) note("cpu", `CPU mode ${shown(cpu?.attrs.mode ?? "custom")}${child(cpu, "model") ? ` (model ${shown(child(cpu, "model")?.text ?? "")})` : ""}: the model's is ${wantCpu}; the guest will see another CPU`);
  const clock = child(root, "clock");
  if (clock && clock.attrs.offset !== "utc") note("clock@offset", `${shown(clock.attrs.offset ?? "")}: the model's clock is utc`);
  for (const [el, want] of [["on_poweroff", "destroy"], ["on_reboot", "restart"], ["on_crash", "destroy"]] as const) {
    const v = child(root, el)?.text;
    if (v && v !== want) note(el, `${shown(v)}: the model's is ${want}`);
  }

  // Disks.
  const devices = child(root, "devices");
  const disks = childrenNamed(devices, "disk");
  const modelDisk = paths.vpsDisk(opts.imagesDir, modelDomain);
  const modelSeed = paths.vpsSeed(opts.imagesDir, modelDomain);
  let diskN = 0;
  disks.forEach((d, i) => {
    const where = `devices/disk[${i + 1}]`;
    const src = child(d, "source");
    const file = src?.attrs.file;
    if (d.attrs.device === "cdrom" || d.attrs.device === "floppy") {
      if (file !== modelSeed) note(where, `${d.attrs.device} ${file ? shown(file) : "(empty)"}: the model attaches only the cloud-init seed ${modelSeed}; ${redefine}`);
      return;
    }
    diskN++;
    if (diskN > 1) {
      note(where, `a second disk (${shown(file ?? src?.attrs.dev ?? "")}, ${shown(child(d, "target")?.attrs.dev ?? "")}): the model has one disk per VPS; ${redefine}, its data stays in the file`);
      return;
    }
    if (d.attrs.type !== "file") note(`${where}@type`, `a ${shown(d.attrs.type ?? "")} disk (${shown(src?.attrs.dev ?? src?.attrs.name ?? "")}): the model's disks are qcow2 files under ${opts.imagesDir}; it must be converted by hand before adoption`);
    const fmt = child(d, "driver")?.attrs.type;
    if (fmt && fmt !== "qcow2") note(`${where}/driver@type`, `format ${shown(fmt)}: the model's disks are qcow2 (convert with qemu-img convert, shut off)`);
    const bus = child(d, "target")?.attrs.bus;
    if (bus && bus !== "virtio") note(`${where}/target@bus`, `bus ${shown(bus)}: the model's disk is virtio (vda); the guest sees a new disk name after adoption (check its /etc/fstab uses UUIDs)`);
    if (file && file !== modelDisk) note(`${where}/source@file`, `${shown(file)}: the model's disk is ${modelDisk}; it must be moved there (shut off) before adoption`);
    const live = g.disks.find((x) => x.path === file);
    if (live?.virtualSize) {
      const gb = live.virtualSize / 2 ** 30;
      value.disk_gb = Math.ceil(gb);
      if (gb !== Math.ceil(gb)) todos.push(`disk_gb: the disk is ${gb.toFixed(2)} GiB, not whole GiB; ${Math.ceil(gb)} written, which grows it on adoption (choose)`);
    } else todos.push(`disk_gb: the size of ${file ? shown(file) : "the disk"} could not be read; write it (qemu-img info)`);
    const image = live?.backing ? Object.entries(opts.images).find(([, p]) => p === live.backing)?.[0] : undefined;
    if (image) value.image = image;
    else {
      const first = Object.keys(opts.images).sort()[0];
      if (first) value.image = first;
      todos.push(
        live?.backing
          ? `image: the disk's base image ${shown(live.backing)} is not one of the inventory's images; ${first ?? "an image"} written (it is used only if the VPS is ever recreated)`
          : `image: the disk has no base image (installed by hand); ${first ?? "an image"} written, used only if the VPS is ever recreated: choose the nearest`,
      );
    }
  });
  if (diskN === 0) todos.push("disk_gb and image: the guest has no disk the import can read; write them");

  // Network.
  const ifaces = childrenNamed(devices, "interface");
  let mac: string | undefined;
  const v4: string[] = [];
  const v6: string[] = [];
  ifaces.forEach((n, i) => {
    const where = `devices/interface[${i + 1}]`;
    if (i > 0) {
      note(where, `a second interface (${shown(n.attrs.type ?? "")}): the model has one; ${redefine}`);
      return;
    }
    mac = child(n, "mac")?.attrs.address?.toLowerCase();
    if (n.attrs.type !== "bridge") note(`${where}@type`, `type ${shown(n.attrs.type ?? "")}${child(n, "source")?.attrs.network ? ` (network ${shown(child(n, "source")?.attrs.network ?? "")})` : ""}: the model's guests sit on the hypervisor's bridge with their public addresses`);
    else if (opts.network.type === "bridge" && child(n, "source")?.attrs.bridge !== opts.network.bridge) note(`${where}/source@bridge`, `bridge ${shown(child(n, "source")?.attrs.bridge ?? "")}: the hypervisor's bridge in the inventory is ${opts.network.bridge}`);
    const model = child(n, "model")?.attrs.type;
    if (model !== "virtio") note(`${where}/model@type`, `NIC model ${shown(model ?? "default")}: the model's is virtio; the guest sees a new network card after adoption (check its network configuration names it)`);
    const ref = child(n, "filterref");
    if (!ref) note(`${where}/filterref`, "no network filter: adoption adds globenet-clean-traffic, which drops traffic from any address but the VPS's own (check ipv4/ipv6 below are all it uses)");
    else if (ref.attrs.filter !== "globenet-clean-traffic") note(`${where}/filterref@filter`, `filter ${shown(ref.attrs.filter ?? "")}: adoption replaces it with globenet-clean-traffic (the VPS's own MAC, addresses and ARP only)`);
    for (const p of childrenNamed(ref, "parameter")) {
      const val = p.attrs.value ?? "";
      if (p.attrs.name === "IP" && val !== "0.0.0.0" && ipaddr.IPv4.isValidFourPartDecimal(val)) v4.push(val);
      else if (p.attrs.name === "IPV6" && ipaddr.IPv6.isValid(val) && !isLinkLocal(val)) v6.push(ipaddr.parse(val).toString());
    }
  });
  // The lab's QEMU user network: the MAC and the IPv4 address are in the command line.
  for (const a of childrenNamed(child(root, "qemu:commandline"), "qemu:arg")) {
    const val = a.attrs.value ?? "";
    mac ??= /(?:^|,)mac=([0-9a-fA-F:]{17})/.exec(val)?.[1]?.toLowerCase();
    const fwd = /hostfwd=tcp:[^-,]*-([0-9.]+):22/.exec(val)?.[1];
    if (fwd) v4.push(fwd);
  }
  if (v4.length === 0 && v6.length === 0) {
    for (const a of g.addresses) {
      const ip = a.split("/")[0] ?? "";
      if (ipaddr.isValid(ip) && !isLinkLocal(ip)) (ip.includes(":") ? v6 : v4).push(ip.includes(":") ? ipaddr.parse(ip).toString() : ip);
    }
    if (v4.length + v6.length > 0) todos.push(`ipv4/ipv6: taken from what libvirt saw on the network (ARP), not from a filter: check them against the VPS pools`);
  }
  if (v4[0]) value.ipv4 = v4[0];
  if (v6[0]) value.ipv6 = v6[0];
  if (v4.length > 1 || v6.length > 1) note("devices/interface[1]/filterref", `several addresses (${[...v4, ...v6].join(", ")}): the model has one IPv4 and one IPv6 per VPS; the first of each written`);
  if (v4.length === 0 && v6.length === 0) todos.push("ipv4/ipv6: the guest's addresses could not be read (no filter parameters, not running): write them (from the guest's own configuration)");
  if (mac && mac !== derivedMac(opts.macPrefix, owner.handle, owner.name)) value.mac = mac;
  if (!mac) todos.push("mac: the guest has no MAC the import can read; the model derives one (the guest will see a new network card)");

  const checked = vpsSchema.safeParse(value);
  if (!checked.success && todos.length === 0) todos.push(`the schema refuses the result: ${checked.error.issues.map((x) => `${x.path.join(".") || "vps"} ${x.message}`).join("; ")}`);

  // The file: made by the yaml library, every guess a TODO(import) comment at the top.
  const ordered = ["hypervisor", "vcpus", "memory_mb", "disk_gb", "image", "ipv4", "ipv6", "mac"].filter((k) => k in value).map((k) => [k, value[k]] as const);
  const doc = new Document(Object.fromEntries(ordered));
  doc.commentBefore = oneLine(` Imported from the libvirt domain ${domain} on ${opts.hypervisor} (lib/import/guests.ts). dns_name and ssh_keys are not in a domain's definition: add them if needed.`);
  const map = doc.contents as YAMLMap;
  const todoText = todos.map((t) => ` TODO(import): ${oneLine(t)}`).join("\n");
  if (todos.length > 0 && map.items[0]) (map.items[0].key as { commentBefore?: string }).commentBefore = todoText;
  return { domain, handle: owner.handle, name: owner.name, file: `members/${owner.handle}/vps/${owner.name}.yaml`, value, todos, yaml: doc.toString({ lineWidth: 0 }) };
}

/** The report as lines for the CLI. */
export function guestReport(r: GuestsImport): string[] {
  return [...r.refused.map((n) => `refused: domain ${n.domain}${n.element ? ` <${n.element}>` : ""}: ${n.why}`), ...r.unexpressible.map((n) => `not expressible: domain ${n.domain} <${n.element}>: ${n.why}`)];
}
