/**
 * The guests' network filter for real: a VPS on a Linux bridge, created by the Guest resource
 * over SSH on a real libvirtd (TCG), filtered by the rendered globenet-clean-traffic, sends
 * spoofed traffic; the "gateway" on the other side of the bridge (a veth in a network
 * namespace of the test's own, nothing routed anywhere) captures what arrives.
 *
 * The guest is the lab's Debian kernel with a tiny busybox initramfs (tests/helpers/
 * nwfilter-guest.ts) that repeats, round after round: legitimate pings (IPv4, IPv6), pings
 * from another guest's addresses, a gratuitous ARP claiming the gateway's address, pings from
 * another MAC, legitimate pings again. Three captures: with the filter (nothing spoofed
 * arrives), with its rules flushed behind libvirt's back (everything arrives: the read must
 * see it), after the update the read asked for (nothing spoofed arrives again).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootFilesOf, ensureLabImages } from "../lib/lab/image";
import { paths } from "../lib/model/paths";
import type { VpsModel } from "../lib/model/types";
import { NWFILTER_NAME, renderDomainXml, renderMetaData, renderNetworkConfig, renderNwfilter, renderUserData } from "../lib/render";
import { guestType, type GuestInputs, type GuestOutputs, type GuestRefInputs } from "../provider/resources/guest";
import { fileStoreOf, forgetVerified } from "../provider/resources/file-store";
import { storeGuest } from "../provider/resources/guest-refs";
import { pool } from "../provider/ssh/pool";
import { BASE_IMAGE } from "./helpers/lab-tree";
import { startLibvirtd, type Libvirtd } from "./helpers/libvirtd";
import { buildTestInitrd, readCapture, SIZE, type TestGuestNet } from "./helpers/nwfilter-guest";
import { startSshd, type Sshd } from "./helpers/sshd";
import { requireRoot, requireTool, requireTools, run } from "./helpers/tools";

const ok =
  requireTools("sshd", "ssh-keygen", "virsh", "ebtables", "tcpdump", "busybox", "ip", "debootstrap", "mkfs.ext4") &&
  [
    ["libvirtd", "libvirt-daemon-system"],
    ["virtlogd", "libvirt-daemon-system"],
    ["qemu-system-x86_64", "qemu-system-x86"],
    ["qemu-img", "qemu-utils"],
    ["genisoimage", "genisoimage"],
    ["isoinfo", "genisoimage"],
  ].every(([tool, pkg]) => requireTool(tool as string, pkg)) &&
  requireRoot("libvirtd, the bridge and the network namespace are root's");

const ID = process.pid % 10_000;
const DOMAIN = `gn${ID}--nwf`;
const BRIDGE = `gnbr${ID}`;
const VETH = `gnv${ID}`;
const NETNS = `globenet-nwf-${ID}`;
const GATEWAY_MAC = "52:54:00:00:00:01";
const NET: TestGuestNet = {
  mac: "52:54:00:4e:57:46",
  ipv4: "203.0.113.20",
  ipv6: "2001:db8:42::20",
  gateway4: "203.0.113.1",
  gateway6: "2001:db8:42::1",
  spoof4: "203.0.113.21",
  spoof6: "2001:db8:42::21",
  spoofMac: "52:54:00:00:00:99",
};

function sh(cmd: string, ...args: string[]): string {
  const r = run(cmd, args, { timeoutMs: 120_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** What arrived at the gateway, sorted into what the test asks about. */
function verdict(lines: string[]) {
  const from = (mac: string) => lines.filter((l) => l.includes(` ${mac} > `));
  const guest = from(NET.mac);
  return {
    legit4: guest.filter((l) => l.includes(`${NET.ipv4} > ${NET.gateway4}: ICMP echo request`) && l.includes(`length ${SIZE.legit + 8}`)).length,
    legit6: guest.filter((l) => l.includes(`${NET.ipv6} > ${NET.gateway6}: ICMP6, echo request`)).length,
    spoof4: lines.filter((l) => l.includes(`${NET.spoof4} > `)).length,
    spoof6: lines.filter((l) => l.includes(`${NET.spoof6} > `)).length,
    // ARP from the guest with the gateway's address as sender (gratuitous "who-has X tell X", or "X is-at").
    arp: guest.filter((l) => l.includes("ARP") && (l.includes(`tell ${NET.gateway4}`) || l.includes(`Reply ${NET.gateway4} is-at`))).length,
    spoofMac: from(NET.spoofMac).length,
  };
}

describe.skipIf(!ok)("globenet-clean-traffic on a bridged guest: spoofed frames never reach the gateway", () => {
  let sshd: Sshd | undefined;
  let lv: Libvirtd | undefined;
  let dir = "";
  let inputs: GuestInputs;
  /** What the program registers: refs into a content store (components/vps.ts). */
  let refs: GuestRefInputs;
  let state: GuestOutputs;
  let filterWasDefined = true;
  const consoleLog = paths.vpsConsoleLog(DOMAIN);

  /** Captures at the gateway while the guest completes one whole round that starts after now. */
  async function captureRound(label: string): Promise<ReturnType<typeof verdict>> {
    const pcap = join(dir, `${label}.pcap`);
    const tcpdump: ChildProcess = spawn("ip", ["netns", "exec", NETNS, "tcpdump", "-n", "-U", "-i", "gw0", "-w", pcap], { stdio: "ignore" });
    try {
      await sleep(1500);
      const seen = readConsole().length;
      const begin = await waitConsole(seen, /GNTEST round (\d+) begin/, 180_000);
      await waitConsole(seen, new RegExp(`GNTEST round ${begin[1]} end`), 180_000);
    } finally {
      tcpdump.kill("SIGINT");
      await new Promise((r) => tcpdump.once("exit", r));
    }
    return verdict(readCapture(pcap));
  }
  const readConsole = () => (existsSync(consoleLog) ? readFileSync(consoleLog, "latin1") : "");
  async function waitConsole(from: number, re: RegExp, ms: number): Promise<RegExpMatchArray> {
    const deadline = Date.now() + ms;
    for (;;) {
      const m = readConsole().slice(from).match(re);
      if (m) return m;
      if (Date.now() > deadline) throw new Error(`the guest's console never showed ${re} in ${ms / 1000} s; its end:\n${readConsole().slice(-3000)}`);
      await sleep(500);
    }
  }
  const port = () => sh("virsh", "domiflist", DOMAIN).split("\n").slice(2).map((l) => l.trim().split(/\s+/)).find((c) => c[1] === "bridge")?.[0] ?? "";
  const rules = (chain: string) => run("ebtables", ["-t", "nat", "-L", chain]).stdout;

  beforeAll(async () => {
    // The lab's Debian kernel and initrd (built by scripts/lab-image.sh when missing or stale).
    await ensureLabImages([{ name: "debian-12", path: BASE_IMAGE, boot: bootFilesOf(BASE_IMAGE) }]);
    dir = mkdtempSync("/var/tmp/globenet-nwf-");
    chmodSync(dir, 0o755);
    mkdirSync(join(dir, "images"), { mode: 0o755 });
    buildTestInitrd(bootFilesOf(BASE_IMAGE).initrd, BASE_IMAGE, NET, join(dir, "test.initrd"));
    sh("qemu-img", "create", "-q", "-f", "qcow2", join(dir, "base.qcow2"), "64M");

    // The bridge (no uplink, no address: the host takes no part) and the gateway's namespace.
    sh("ip", "link", "add", BRIDGE, "type", "bridge");
    sh("sysctl", "-q", `net.ipv6.conf.${BRIDGE}.disable_ipv6=1`);
    sh("ip", "netns", "add", NETNS);
    sh("ip", "link", "add", VETH, "type", "veth", "peer", "name", "gw0", "netns", NETNS);
    sh("sysctl", "-q", `net.ipv6.conf.${VETH}.disable_ipv6=1`);
    sh("ip", "link", "set", VETH, "master", BRIDGE, "up");
    sh("ip", "link", "set", BRIDGE, "up");
    const inNs = (...a: string[]) => sh("ip", "-n", NETNS, ...a);
    inNs("link", "set", "gw0", "address", GATEWAY_MAC);
    inNs("link", "set", "lo", "up");
    inNs("link", "set", "gw0", "up");
    inNs("addr", "add", `${NET.gateway4}/25`, "dev", "gw0");
    inNs("-6", "addr", "add", `${NET.gateway6}/64`, "dev", "gw0", "nodad");

    sshd = await startSshd();
    process.env.GLOBENET_SSH_KEY_FILE = sshd.keyFile;
    lv = await startLibvirtd();
    filterWasDefined = lv.virsh("nwfilter-dumpxml", NWFILTER_NAME).status === 0;

    const images = join(dir, "images");
    const vps: VpsModel = {
      handle: `gn${ID}`,
      name: "nwf",
      status: "active",
      domain: DOMAIN,
      hypervisor: "hv",
      vcpus: 1,
      memoryMb: 256,
      diskGb: 1,
      image: "test",
      imagePath: join(dir, "base.qcow2"),
      osVariant: "debian12",
      diskPath: join(images, `${DOMAIN}.qcow2`),
      seedPath: join(images, `${DOMAIN}-seed.iso`),
      ipv4: { address: NET.ipv4, prefixLength: 25, gateway: NET.gateway4 },
      ipv6: { address: NET.ipv6, prefixLength: 64, gateway: NET.gateway6 },
      mac: NET.mac,
      fqdn: "nwf.guest-test.example",
      sshKeys: [],
      resolvers: ["192.0.2.53"],
      domainType: "qemu",
      shutdownTimeoutSec: 2,
      network: { type: "bridge", bridge: BRIDGE },
      instanceId: `${DOMAIN}-1`,
      directBoot: { kernel: join(images, `${DOMAIN}.vmlinuz`), initrd: join(images, `${DOMAIN}.initrd`), cmdline: "console=ttyS0 quiet", kernelSource: bootFilesOf(BASE_IMAGE).kernel, initrdSource: join(dir, "test.initrd") },
      file: "members/gn/vps/nwf.yaml",
    };
    inputs = {
      target: { name: "hv", address: "127.0.0.1", port: sshd.port, user: "root", hostKey: sshd.hostKey },
      domain: DOMAIN,
      xml: renderDomainXml(vps),
      seed: { userData: renderUserData(vps), metaData: renderMetaData(vps), networkConfig: renderNetworkConfig(vps) },
      baseImage: vps.imagePath,
      diskPath: vps.diskPath,
      seedPath: vps.seedPath,
      diskGb: 1,
      vcpus: 1,
      memoryMb: 256,
      running: true,
      archiveDir: join(dir, "archive"),
      shutdownTimeoutSec: 2,
      bootFiles: [
        { from: vps.directBoot?.kernelSource ?? "", to: vps.directBoot?.kernel ?? "" },
        { from: vps.directBoot?.initrdSource ?? "", to: vps.directBoot?.initrd ?? "" },
      ],
      nwfilter: { name: NWFILTER_NAME, xml: renderNwfilter() },
    };
    expect(guestType.check(inputs as unknown as Record<string, unknown>).failures ?? []).toEqual([]);
    refs = storeGuest(fileStoreOf(dir), inputs);
    expect(guestType.check(refs as unknown as Record<string, unknown>)).toEqual({ inputs: refs });
  }, 1_200_000);

  afterAll(async () => {
    const errors: unknown[] = [];
    const step = async (f: () => unknown) => {
      try {
        await f();
      } catch (e) {
        errors.push(e);
      }
    };
    if (lv) {
      await step(() => lv?.virsh("destroy", DOMAIN));
      await step(() => lv?.virsh("undefine", DOMAIN));
      if (!filterWasDefined) await step(() => lv?.virsh("nwfilter-undefine", NWFILTER_NAME));
    }
    await step(() => pool.close());
    await step(() => lv?.stop());
    await step(() => sshd?.stop());
    await step(() => run("ip", ["netns", "del", NETNS]));
    await step(() => run("ip", ["link", "del", BRIDGE]));
    await step(() => run("ip", ["link", "del", VETH]));
    await step(() => rmSync(consoleLog, { force: true }));
    if (dir) await step(() => rmSync(dir, { recursive: true, force: true }));
    delete process.env.GLOBENET_SSH_KEY_FILE;
    if (errors.length > 0) throw new AggregateError(errors, `cleanup failed: ${errors.map(String).join("; ")}`);
  }, 120_000);

  it("a guest that refuses the filter is refused: a bridged interface without <filterref> does not pass check", () => {
    const bare = inputs.xml.replace(/\s*<!-- Only this guest[^\n]*\n\s*<filterref[\s\S]*?<\/filterref>/, "");
    expect(bare).not.toContain("filterref");
    const failures = guestType.check({ ...inputs, xml: bare } as unknown as Record<string, unknown>).failures ?? [];
    expect(failures).toEqual([{ property: "xml", reason: "bridged interface 0 has no <filterref> (every bridged guest gets the network filter: render the XML with lib/render)" }]);
    expect((guestType.check({ ...inputs, nwfilter: undefined } as unknown as Record<string, unknown>).failures ?? []).map((f) => f.reason)).toEqual([
      'bridged interface 0 names the filter "globenet-clean-traffic", but nwfilter is missing',
    ]);
  });

  it("create defines the filter, then the guest; libvirt binds it to the guest's port with its MAC and addresses", async () => {
    const r = await guestType.create(refs);
    state = r.outs;
    // The state keeps refs and hashes, not the contents.
    expect(JSON.stringify(state)).not.toContain("<filter");
    expect(JSON.stringify(state)).not.toContain("<domain");
    expect(state.state).toBe("running");
    const dev = port();
    expect(dev).toMatch(/^vnet\d+$/);
    expect(sh("virsh", "nwfilter-binding-list")).toMatch(new RegExp(`^\\s*${dev}\\s+${NWFILTER_NAME}\\s*$`, "m"));
    const binding = sh("virsh", "nwfilter-binding-dumpxml", dev);
    for (const p of [`name='IP' value='${NET.ipv4}'`, `name='IPV6' value='${NET.ipv6}'`, "name='IPV6' value='fe80::5054:ff:fe4e:5746'", `name='MAC' value='${NET.mac}'`]) expect(binding).toContain(p);
    // The IPv6 rules clean-traffic lacks, as libvirt installed them for this port.
    const chain = rules(`libvirt-I-${dev}`);
    expect(chain).toContain("-p IPv6 --ip6-proto ipv6-icmp --ip6-icmp-type router-advertisement -j DROP");
    expect(chain).toContain(`-p IPv6 --ip6-src ${NET.ipv6} -j ACCEPT`);
    expect(await guestType.read(DOMAIN, state)).toMatchObject({ xmlRef: refs.xmlRef, nwfilter: refs.nwfilter, seedRefs: refs.seedRefs });
    expect(guestType.diff(DOMAIN, (await guestType.read(DOMAIN, state)) as GuestOutputs, refs).changes).toBe(false);
  }, 300_000);

  it("with the filter, the legitimate pings arrive and nothing spoofed does", async () => {
    const v = await captureRound("filtered");
    expect(v).toMatchObject({ spoof4: 0, spoof6: 0, arp: 0, spoofMac: 0 });
    expect(v.legit4).toBeGreaterThanOrEqual(4);
    expect(v.legit6).toBeGreaterThanOrEqual(2);
  }, 400_000);

  it("rules flushed behind libvirt's back: the spoofing gets through, and read reports it as drift", async () => {
    const dev = port();
    sh("ebtables", "-t", "nat", "-F", `libvirt-I-${dev}`);
    const v = await captureRound("flushed");
    // Proof that the captures can see spoofing at all.
    expect(v.spoof4).toBeGreaterThan(0);
    expect(v.spoofMac).toBeGreaterThan(0);
    expect(v.arp).toBeGreaterThan(0);
    const live = (await guestType.read(DOMAIN, state)) as GuestOutputs;
    expect(live.drift).toEqual([`the rules of ${NWFILTER_NAME} are missing on port ${dev}`]);
    expect(live.nwfilter?.xmlRef).not.toBe(refs.nwfilter?.xmlRef);
    expect(live.xmlRef).toBe(refs.xmlRef);
    expect(guestType.diff(DOMAIN, live, refs)).toMatchObject({ changes: true, diffs: ["nwfilter"], replaces: [], deleteBeforeReplace: false });
    state = live;
  }, 400_000);

  it("a filter planted in the content store (accept everything, under the declared filter's sha256) is refused: the update applies nothing", async () => {
    const file = join(fileStoreOf(dir), refs.nwfilter?.xmlRef ?? "");
    const original = readFileSync(file, "utf8");
    const open = original.replace(/<filterref filter='clean-traffic'\/>[\s\S]*<\/filter>/, "<rule action='accept' direction='inout' priority='-1000'><all/></rule>\n</filter>");
    expect(open).not.toBe(original);
    chmodSync(file, 0o600);
    writeFileSync(file, open);
    forgetVerified();
    const dev = port();
    try {
      await expect(guestType.update(DOMAIN, state, refs)).rejects.toThrow(new RegExp(`^globenet:vm:Guest ${DOMAIN}: nwfilter\\.xmlRef: the store file ${file} does not hold the content of sha256 ${refs.nwfilter?.xmlRef} .*: it is refused, nothing is applied from it\\. Remove it and run again`));
      // Nothing reached the hypervisor: the filter is the declared one, the port's rules still flushed.
      expect(sh("virsh", "nwfilter-dumpxml", NWFILTER_NAME)).not.toContain("priority='-1000'");
      expect(rules(`libvirt-I-${dev}`)).not.toContain("router-advertisement");
    } finally {
      unlinkSync(file);
      forgetVerified();
    }
    // As the message says: the program writes the store anew.
    expect(storeGuest(fileStoreOf(dir), inputs)).toEqual(refs);
    expect(readFileSync(file, "utf8")).toBe(original);
  }, 120_000);

  it("the update puts the rules back without restarting the guest; nothing spoofed gets through again", async () => {
    const uuid = state.uuid;
    const dev = port();
    state = await guestType.update(DOMAIN, state, refs);
    expect(state.uuid).toBe(uuid);
    expect(port()).toBe(dev);
    expect(rules(`libvirt-I-${dev}`)).toContain("--ip6-icmp-type router-advertisement -j DROP");
    expect(await guestType.read(DOMAIN, state)).toMatchObject({ nwfilter: refs.nwfilter, xmlRef: refs.xmlRef });
    const v = await captureRound("repaired");
    expect(v).toMatchObject({ spoof4: 0, spoof6: 0, arp: 0, spoofMac: 0 });
    expect(v.legit4).toBeGreaterThanOrEqual(4);
  }, 400_000);

  it("a domain redefined without the filter by hand is drift; the update gives the filter back", async () => {
    const bare = sh("virsh", "dumpxml", "--inactive", DOMAIN).replace(/\s*<filterref[\s\S]*?<\/filterref>/, "");
    writeFileSync(join(dir, "bare.xml"), bare);
    sh("virsh", "define", join(dir, "bare.xml"));
    const live = (await guestType.read(DOMAIN, state)) as GuestOutputs;
    expect(live.drift).toEqual(["live definition differs from the declared XML: network filters no filter (declared globenet-clean-traffic(IP=203.0.113.20,IPV6=2001:db8:42::20,IPV6=fe80::5054:ff:fe4e:5746))"]);
    expect(guestType.diff(DOMAIN, live, refs)).toMatchObject({ changes: true, diffs: ["xmlRef"] });
    state = await guestType.update(DOMAIN, live, refs);
    expect(sh("virsh", "dumpxml", "--inactive", DOMAIN)).toContain(`<filterref filter='${NWFILTER_NAME}'>`);
    expect(sh("virsh", "nwfilter-binding-list")).toMatch(new RegExp(`^\\s*${port()}\\s+${NWFILTER_NAME}\\s*$`, "m"));
    expect(await guestType.read(DOMAIN, state)).toMatchObject({ xmlRef: refs.xmlRef, nwfilter: refs.nwfilter });
  }, 400_000);

  it("delete archives and removes the guest; libvirt removes its rules; the filter stays for the other guests", async () => {
    const dev = port();
    await guestType.delete(DOMAIN, state);
    expect(lv?.virsh("list", "--all", "--name").stdout.split("\n")).not.toContain(DOMAIN);
    expect(run("ebtables", ["-t", "nat", "-L", `libvirt-I-${dev}`]).status).not.toBe(0);
    expect(lv?.virsh("nwfilter-dumpxml", NWFILTER_NAME).status).toBe(0);
  }, 300_000);
});

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
