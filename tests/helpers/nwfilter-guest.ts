import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { findTool, run } from "./tools";

/**
 * A tiny guest for the network filter's real test (tests/guest-nwfilter.test.ts): the lab's
 * Debian kernel with an initramfs of Debian's busybox-static and the kernel's own virtio-net
 * modules (taken from the lab's initrd, or from the image's root file system for those the
 * initrd leaves out: scripts/lab-image.sh builds it with the root disk's modules only), whose /init configures eth0 with
 * the VPS's addresses and then, round after round, sends legitimate traffic and spoofed
 * traffic: another guest's IPv4 and IPv6 address, a gratuitous ARP claiming the gateway's
 * address, and frames from another MAC. Each step writes "GNTEST …" on the serial console.
 */

export interface TestGuestNet {
  mac: string;
  ipv4: string;
  ipv6: string;
  gateway4: string;
  gateway6: string;
  /** Addresses the guest claims without owning them. */
  spoof4: string;
  spoof6: string;
  spoofMac: string;
}

/** Payload sizes that tell the phases apart in a capture (ICMP length = size + 8). */
export const SIZE = { legit: 100, spoofIp: 101, spoofMac: 102 } as const;

const MODULES = ["virtio", "virtio_ring", "virtio_pci_legacy_dev", "virtio_pci_modern_dev", "virtio_pci", "failover", "net_failover", "virtio_net"];
const MODULE_PATHS: Record<string, string> = {
  virtio: "drivers/virtio/virtio.ko",
  virtio_ring: "drivers/virtio/virtio_ring.ko",
  virtio_pci_legacy_dev: "drivers/virtio/virtio_pci_legacy_dev.ko",
  virtio_pci_modern_dev: "drivers/virtio/virtio_pci_modern_dev.ko",
  virtio_pci: "drivers/virtio/virtio_pci.ko",
  failover: "net/core/failover.ko",
  net_failover: "drivers/net/net_failover.ko",
  virtio_net: "drivers/net/virtio_net.ko",
};

function initScript(n: TestGuestNet): string {
  const b = "/bin/busybox";
  const up = [`${b} ip link set eth0 up`, `${b} ip -6 addr add ${n.ipv6}/64 dev eth0 2> /dev/null`].join("\n  ");
  return `#!/bin/busybox sh
b=${b}
$b mount -t proc proc /proc
$b mount -t sysfs sys /sys
$b mount -t devtmpfs dev /dev
say() { echo "GNTEST $*" > /dev/ttyS0; }
out() { "$@" > /dev/ttyS0 2>&1; }
for m in ${MODULES.join(" ")}; do $b insmod /mods/$m.ko || say "insmod $m failed"; done
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 50 ]; do $b sleep 0.2; i=$((i + 1)); done
echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad
echo 0 > /proc/sys/net/ipv6/conf/eth0/accept_dad
$b ip link set lo up
$b ip addr add ${n.ipv4}/25 dev eth0
up() {
  ${up}
}
up
$b sleep 2
say up
round=0
while :; do
  round=$((round + 1))
  say "round $round begin"
  out $b ping -c 2 -W 1 -s ${SIZE.legit} ${n.gateway4}
  out $b ping6 -c 2 -W 1 -s ${SIZE.legit} ${n.gateway6}
  say "round $round spoof-ip"
  $b ip addr add ${n.spoof4}/25 dev eth0
  out $b ping -c 2 -W 1 -s ${SIZE.spoofIp} -I ${n.spoof4} ${n.gateway4}
  $b ip addr del ${n.spoof4}/25 dev eth0
  $b ip -6 addr add ${n.spoof6}/64 dev eth0
  out $b ping6 -c 2 -W 1 -s ${SIZE.spoofIp} -I ${n.spoof6} ${n.gateway6}
  $b ip -6 addr del ${n.spoof6}/64 dev eth0
  say "round $round spoof-arp"
  $b ip addr add ${n.gateway4}/32 dev eth0
  out $b arping -c 2 -U -s ${n.gateway4} -I eth0 ${n.gateway4}
  $b ip addr del ${n.gateway4}/32 dev eth0
  say "round $round spoof-mac"
  $b ip link set eth0 down
  $b ip link set eth0 address ${n.spoofMac}
  up
  out $b ping -c 2 -W 1 -s ${SIZE.spoofMac} ${n.gateway4}
  $b ip link set eth0 down
  $b ip link set eth0 address ${n.mac}
  up
  $b sleep 1
  say "round $round legit-again"
  out $b ping -c 2 -W 1 -s ${SIZE.legit} ${n.gateway4}
  out $b ping6 -c 2 -W 1 -s ${SIZE.legit} ${n.gateway6}
  say "round $round end"
  $b sleep 1
done
`;
}

/** The kernel version whose modules the lab's initrd holds. */
function kernelVersion(initrd: string): string {
  const r = run("bash", ["-c", 'zcat -- "$1" | busybox cpio -t 2> /dev/null | sed -n "s#^usr/lib/modules/\\([^/]*\\)/modules.dep\\$#\\1#p" | head -n 1', "-", initrd], { timeoutMs: 120_000 });
  const v = r.stdout.trim();
  if (!v) throw new Error(`no usr/lib/modules/<version>/modules.dep in ${initrd}: ${r.stderr}`);
  return v;
}

/**
 * The modules of `paths` the initrd did not hold, read from the lab image's root file system
 * (a bare ext4 in the qcow2: converted to a raw copy, then debugfs reads it; nothing is mounted).
 */
function modulesFromImage(labImage: string, dir: string, paths: string[]): void {
  const raw = join(dir, "root.raw");
  const c = run("qemu-img", ["convert", "-O", "raw", labImage, raw], { timeoutMs: 300_000 });
  if (c.status !== 0) throw new Error(`qemu-img convert ${labImage}: ${c.stderr}`);
  try {
    for (const p of paths) {
      mkdirSync(join(dir, p, ".."), { recursive: true });
      const d = run("debugfs", ["-R", `dump /${p} ${join(dir, p)}`, raw], { timeoutMs: 60_000 });
      if (!existsSync(join(dir, p))) throw new Error(`/${p} is not in ${labImage}: ${d.stderr}`);
    }
  } finally {
    rmSync(raw, { force: true });
  }
}

/** Writes the test guest's initramfs (gzip'd newc cpio) to `out`. */
export function buildTestInitrd(labInitrd: string, labImage: string, net: TestGuestNet, out: string): void {
  const busybox = findTool("busybox");
  if (!busybox) throw new Error("busybox not found: install busybox-static");
  const dir = mkdtempSync("/tmp/globenet-nwf-initrd-");
  try {
    const version = kernelVersion(labInitrd);
    const wanted = MODULES.map((m) => `usr/lib/modules/${version}/kernel/${MODULE_PATHS[m]}`);
    const x = run("bash", ["-c", 'cd -- "$1" && shift && zcat -- "$0" | busybox cpio -i -d "$@"', labInitrd, dir, ...wanted], { timeoutMs: 120_000 });
    if (x.status !== 0 && !/not found|No such/i.test(x.stderr)) throw new Error(`extracting the modules from ${labInitrd}: ${x.stderr}`);
    const missing = wanted.filter((w) => !existsSync(join(dir, w)));
    if (missing.length) modulesFromImage(labImage, dir, missing);
    const root = join(dir, "root");
    for (const d of ["bin", "mods", "proc", "sys", "dev"]) mkdirSync(join(root, d), { recursive: true });
    MODULES.forEach((m, i) => copyFileSync(join(dir, wanted[i] as string), join(root, "mods", `${m}.ko`)));
    copyFileSync(busybox, join(root, "bin", "busybox"));
    chmodSync(join(root, "bin", "busybox"), 0o755);
    writeFileSync(join(root, "init"), initScript(net), { mode: 0o755 });
    const c = run("bash", ["-c", 'cd -- "$1" && find . -mindepth 1 | sed "s#^\\./##" | busybox cpio -o -H newc 2> /dev/null | gzip -1 > "$2"', "-", root, out], { timeoutMs: 120_000 });
    if (c.status !== 0) throw new Error(`making the initramfs: ${c.stderr}`);
    chmodSync(out, 0o644);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `tcpdump -n -e -r FILE`: one line per frame, with the MACs. */
export function readCapture(file: string): string[] {
  const r = run("tcpdump", ["-n", "-e", "-r", file], { timeoutMs: 60_000 });
  return r.stdout.split("\n").filter(Boolean);
}
