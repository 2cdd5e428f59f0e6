import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { REPO_ROOT } from "../lib/base/repo";
import { loadModel } from "../lib/check/build";
import { importReasonFr } from "../lib/i18n/import-catalog";
import { guestReport, importGuests, parseLibvirtRead, type GuestImportOptions, type LiveGuest } from "../lib/import/guests";
import { parseXml } from "../lib/import/xml";
import { importTodos } from "../lib/load/import-todos";
import { parseYamlFile } from "../lib/load/yaml-file";
import type { VpsModel } from "../lib/model/types";
import { renderDomainXml } from "../lib/render/libvirt-domain";
import { vpsSchema } from "../lib/schema/vps";

/**
 * Unit tier: libvirt domain definitions become vps/*.yaml. The round trip is the proof of the
 * inverse: every VPS of the repository's prod stack, rendered by lib/render, imports back to
 * its own file's values. A domain defined by hand the old way is reported element by element;
 * hostile names and XML tricks are refused. tests/import-live.test.ts does the same through a
 * real libvirtd and the read script.
 */
const GiB = 2 ** 30;
const { model } = loadModel(REPO_ROOT, "prod");
if (!model) throw new Error("the repository's prod stack does not load");
const inv = model.inventory;
const IMAGES = Object.fromEntries(Object.entries(inv.images).map(([k, v]) => [k, v.path]));

function optsFor(v: VpsModel): GuestImportOptions {
  return { hypervisor: v.hypervisor, imagesDir: "/var/lib/libvirt/images/globenet", network: { type: "bridge", bridge: "br0" }, domainType: "kvm", images: IMAGES, macPrefix: inv.mac_prefix };
}

function liveOf(v: VpsModel, xml = renderDomainXml(v)): LiveGuest {
  return { uuid: "8f9b7a2e-7c90-4947-85ec-6d02e9480d33", xml, state: "running", addresses: [], disks: [{ path: v.diskPath, format: "qcow2", virtualSize: v.diskGb * GiB, backing: v.imagePath }] };
}

describe("guest import: the repository's own VPS, rendered then imported back", () => {
  it.each(model.vps.map((v) => [v.domain, v] as const))("%s: the same VPS fields as its file, no TODO, nothing reported", (_d, v) => {
    const r = importGuests([liveOf(v)], optsFor(v));
    expect(r.refused).toEqual([]);
    expect(r.unexpressible).toEqual([]);
    const [g] = r.vps;
    expect(g?.file).toBe(v.file);
    expect(g?.todos).toEqual([]);
    const original = vpsSchema.parse(parse(readFileSync(join(REPO_ROOT, v.file), "utf8")));
    const { dns_name: _d2, ssh_keys: _k, ...fromDomain } = original;
    const { yf, errors } = parseYamlFile(v.file, g?.yaml ?? "");
    expect(errors).toEqual([]);
    expect(vpsSchema.parse(yf?.data)).toEqual(fromDomain);
    expect(importTodos(v.file, g?.yaml ?? "")).toEqual([]);
  });

  it("a MAC chosen by hand is written; the derived one is not", () => {
    const v = model.vps[0] as VpsModel;
    const r = importGuests([liveOf({ ...v, mac: "52:54:00:aa:bb:cc" })], optsFor(v));
    expect(r.vps[0]?.value.mac).toBe("52:54:00:aa:bb:cc");
    expect(importGuests([liveOf(v)], optsFor(v)).vps[0]?.value).not.toHaveProperty("mac");
  });
});

/** A guest made with virt-install years ago: UEFI, q35, SPICE, e1000 on libvirt's NAT, a raw disk elsewhere, a second LVM disk, an ISO left in. */
const LEGACY = `<domain type='kvm'>
  <name>velo-nextcloud</name>
  <uuid>2b1e6f3a-9d4c-4a57-8e21-0c3f5b7d9a14</uuid>
  <memory unit='KiB'>3145728</memory>
  <currentMemory unit='KiB'>2097152</currentMemory>
  <vcpu placement='static' current='2'>4</vcpu>
  <os>
    <type arch='x86_64' machine='pc-q35-7.2'>hvm</type>
    <loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.fd</loader>
    <boot dev='cdrom'/>
    <boot dev='hd'/>
  </os>
  <features><acpi/><apic/><vmport state='off'/></features>
  <cpu mode='custom' match='exact' check='partial'><model fallback='allow'>Haswell-noTSX</model></cpu>
  <clock offset='localtime'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>restart</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='/srv/vm/nextcloud.img'/>
      <target dev='sda' bus='sata'/>
    </disk>
    <disk type='block' device='disk'>
      <driver name='qemu' type='raw'/>
      <source dev='/dev/vg0/nextcloud-data'/>
      <target dev='vdb' bus='virtio'/>
    </disk>
    <disk type='file' device='cdrom'>
      <source file='/srv/iso/debian-10.iso'/>
      <target dev='sdb' bus='sata'/>
      <readonly/>
    </disk>
    <interface type='network'>
      <mac address='52:54:00:5E:10:01'/>
      <source network='default'/>
      <model type='e1000'/>
    </interface>
    <graphics type='spice' autoport='yes'><listen type='address'/></graphics>
    <video><model type='qxl' ram='65536' vram='65536' vgamem='16384' heads='1' primary='yes'/></video>
  </devices>
</domain>`;

describe("guest import: a domain defined by hand the old way", () => {
  const opts: GuestImportOptions = { ...optsFor(model.vps[0] as VpsModel), hypervisor: "hv1", members: ["velo-libre", "ondes-libres"] };
  const live: LiveGuest = { uuid: "2b1e6f3a-9d4c-4a57-8e21-0c3f5b7d9a14", xml: LEGACY, state: "running", addresses: ["192.168.122.45/24", "203.0.113.45/24", "fe80::5054:ff:fe5e:1001/64"], disks: [{ path: "/srv/vm/nextcloud.img", format: "raw", virtualSize: 21.5 * GiB }] };
  const r = importGuests([live], opts);
  const g = r.vps[0];
  const at = (el: string) => r.unexpressible.filter((n) => n.element === el).map((n) => n.why).join("\n");

  it("reads what the schema holds and marks every guess", () => {
    expect(g?.handle).toBe("velo-libre");
    expect(g?.name).toBe("nextcloud");
    expect(g?.value).toEqual({ hypervisor: "hv1", vcpus: 2, memory_mb: 3072, disk_gb: 22, image: "debian-12", ipv4: "192.168.122.45", mac: "52:54:00:5e:10:01" });
    expect(g?.todos.join("\n")).toMatch(/owner velo-libre and name nextcloud guessed from the domain name/);
    expect(g?.todos.join("\n")).toMatch(/disk_gb: the disk is 21\.50 GiB, not whole GiB; 22 written/);
    expect(g?.todos.join("\n")).toMatch(/image: the disk has no base image \(installed by hand\)/);
    expect(g?.todos.join("\n")).toMatch(/ipv4\/ipv6: taken from what libvirt saw on the network \(ARP\)/);
    expect(importTodos(g?.file ?? "", g?.yaml ?? "").length).toBe(g?.todos.length);
  });

  it.each([
    ["name", /the model names this guest's domain velo-libre--nextcloud: adoption needs it renamed/],
    ["vcpu@current", /boots 2 of 4 vCPUs \(hot-plug\)/],
    ["currentMemory", /runs with 2048 MiB of a 3072 MiB maximum/],
    ["os/type@machine", /machine "pc-q35-7\.2": the model's guests are i440fx/],
    ["os/loader", /UEFI/],
    ["os/boot", /boots from "cdrom"/],
    ["features/vmport", /line 13: the model's domain has no <vmport>/],
    ["cpu", /CPU mode "custom" \(model "Haswell-noTSX"\): the model's is host-passthrough/],
    ["clock@offset", /"localtime": the model's clock is utc/],
    ["on_crash", /"restart": the model's is destroy/],
    ["devices/disk[1]/driver@type", /format "raw": the model's disks are qcow2/],
    ["devices/disk[1]/target@bus", /bus "sata": the model's disk is virtio/],
    ["devices/disk[1]/source@file", /"\/srv\/vm\/nextcloud\.img": the model's disk is \/var\/lib\/libvirt\/images\/globenet\/velo-libre--nextcloud\.qcow2/],
    ["devices/disk[2]", /a second disk \("\/dev\/vg0\/nextcloud-data", "vdb"\): the model has one disk per VPS/],
    ["devices/disk[3]", /cdrom "\/srv\/iso\/debian-10\.iso": the model attaches only the cloud-init seed/],
    ["devices/interface[1]@type", /type "network" \(network "default"\): the model's guests sit on the hypervisor's bridge/],
    ["devices/interface[1]/model@type", /NIC model "e1000": the model's is virtio/],
    ["devices/interface[1]/filterref", /no network filter: adoption adds globenet-clean-traffic/],
    ["devices/graphics", /the model's domain has no <graphics> \(type "spice"\)/],
    ["devices/video", /the model's domain has no <video>/],
  ])("reports <%s>", (el, why) => {
    expect(at(el)).toMatch(why);
  });

  it("every reason it gives has its French (lib/i18n/import-catalog.ts), names and values kept", () => {
    const missing = [...r.refused, ...r.unexpressible].map((n) => n.why).filter((w) => importReasonFr(w) === undefined);
    expect(missing).toEqual([]);
    expect(importReasonFr(at("devices/graphics"))).toBe(`ligne 41 : le domaine du modèle n'a pas de <graphics> (type "spice") : il reste jusqu'à la prochaine redéfinition du domaine à partir du rendu (un changement de vCPU, de mémoire, de disques ou de MAC : alors sans lui)`);
    expect(importReasonFr(at("on_crash"))).toBe(`"restart" : celui du modèle est destroy`);
    expect(importReasonFr(at("cpu"))).toBe(`mode de CPU "custom" (modèle "Haswell-noTSX") : celui du modèle est host-passthrough ; l'invité verra un autre processeur`);
    expect(importReasonFr(at("devices/interface[1]@type"))).toBe(`type "network" (réseau "default") : les invités du modèle sont sur le pont de l'hyperviseur, avec leurs adresses publiques`);
  });

  it("the report names the domain and element on each line; the YAML loads and validate refuses its TODOs", () => {
    expect(guestReport(r)).toContain("not expressible: domain velo-nextcloud <devices/graphics>: line 41: the model's domain has no <graphics> (type \"spice\"): it stays until the domain is next redefined from the render (a change of vCPUs, memory, disks or MAC: then without it)");
    const { errors } = parseYamlFile(g?.file ?? "", g?.yaml ?? "");
    expect(errors).toEqual([]);
    expect(vpsSchema.safeParse(parse(g?.yaml ?? "")).success).toBe(true);
  });

  it("the mapping decides the owner and name without a TODO", () => {
    const m = importGuests([live], { ...opts, mapping: { domains: { "velo-nextcloud": { member: "velo-libre", name: "cloud" } } } });
    expect(m.vps[0]?.file).toBe("members/velo-libre/vps/cloud.yaml");
    expect(m.vps[0]?.todos.join("\n")).not.toMatch(/owner/);
  });

  it("without filter parameters, ARP nor a readable disk, the missing facts are left out and marked", () => {
    const bare = importGuests([{ ...live, addresses: [], disks: [] }], opts).vps[0];
    expect(bare?.value).not.toHaveProperty("ipv4");
    expect(bare?.value).not.toHaveProperty("disk_gb");
    expect(bare?.todos.join("\n")).toMatch(/the guest's addresses could not be read/);
    expect(bare?.todos.join("\n")).toMatch(/disk_gb: the size of "\/srv\/vm\/nextcloud\.img" could not be read/);
  });
});

describe("guest import: hostile input is refused, never written", () => {
  const opts = optsFor(model.vps[0] as VpsModel);
  const withName = (name: string) => LEGACY.replace("<name>velo-nextcloud</name>", `<name>${name}</name>`);
  it.each([
    ["a line break", "evil&#10;hypervisor: hv9"],
    ["`$(`", "x$(touch /tmp/pwned)"],
    ["a single quote", "a&apos;b"],
    ["a double quote", "q&quot;uote"],
    ["white space", "two words"],
  ])("a domain name with %s", (what, name) => {
    const r = importGuests([{ uuid: "2b1e6f3a-9d4c-4a57-8e21-0c3f5b7d9a14", xml: withName(name), state: "", addresses: [], disks: [] }], opts);
    expect(r.vps).toEqual([]);
    expect(r.refused[0]?.why).toBe(`the domain name contains ${what}: refused, nothing written for it (rename it by hand: virsh domrename)`);
    expect(guestReport(r)[0]).not.toMatch(/\n/);
  });

  it.each([
    ["an external entity (XXE)", `<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/shadow">]><domain><name>&x;</name></domain>`, /line 1: DOCTYPE refused/],
    ["an unknown entity", "<domain><name>&x;</name></domain>", /entity &x; is not one of XML's five/],
    ["a mismatched tag", "<domain>\n<name>a</nom></domain>", /line 2: end tag <\/nom> does not close <name> of line 2/],
    ["an unclosed element", "<domain><name>a</name>", /<domain> is never closed/],
    ["two roots", "<domain/><domain/>", /a second root element/],
  ])("XML with %s", (_w, xml, why) => {
    const r = importGuests([{ uuid: "2b1e6f3a-9d4c-4a57-8e21-0c3f5b7d9a14", xml, state: "", addresses: [], disks: [] }], opts);
    expect(r.vps).toEqual([]);
    expect(r.refused[0]?.why).toMatch(why);
  });

  it("an address from a filter parameter that is not an address is not taken", () => {
    const v = model.vps[0] as VpsModel;
    const xml = renderDomainXml(v).replace(`value='${v.ipv4?.address}'`, "value='203.0.113.20&#10;mac: x'");
    const g = importGuests([liveOf(v, xml)], optsFor(v)).vps[0];
    expect(g?.value.ipv4).toBeUndefined();
    expect(g?.yaml).not.toMatch(/mac: x/);
  });

  it("the read script's output is refused line by line when it is not what the script prints", () => {
    expect(() => parseLibvirtRead("xml\tnot-a-uuid\tPGRvbWFpbi8+")).toThrow(/unexpected line 1/);
    expect(() => parseLibvirtRead("bogus\t2b1e6f3a-9d4c-4a57-8e21-0c3f5b7d9a14\tx")).toThrow(/tag "bogus"/);
  });
});

describe("xml reader", () => {
  it("reads attributes in both quotes, the five entities, character references and CDATA", () => {
    const x = parseXml(`<?xml version="1.0"?>\n<!-- c -->\n<a b='1 &amp; 2' c="&#x41;&lt;"><d>t&gt;<![CDATA[<raw>]]></d><e/></a>`);
    expect(x.attrs).toEqual({ b: "1 & 2", c: "A<" });
    expect(x.children.map((c) => [c.name, c.text, c.line])).toEqual([["d", "t><raw>", 3], ["e", "", 3]]);
  });
});
