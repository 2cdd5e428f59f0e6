/**
 * A hypervisor host of the multi-host lab that owns its libvirt (hv1, hv2): its own virtlogd and
 * libvirtd in its own network namespace, with its own /etc/libvirt, /var/lib/libvirt,
 * /var/log/libvirt, /var/cache/libvirt and /run/libvirt (netns.ts private folders) and its own
 * pid files (files bind-mounted over the machine's, as cron's). Its sshd runs in the same mount
 * namespace, so the provider's virsh through that sshd reaches this host's libvirtd and no
 * other, and its guests' QEMU processes run in its network namespace. daemons.ts's virtlogd()
 * and libvirtd() start the daemons there through the host's Place, as they do for the single lab
 * on the machine's own folders; this file says what such a host owns and lays it out.
 */
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { LabError } from "../base/proc";
import type { NetHost } from "./netns";

/** What a second libvirtd on one machine must own: configuration, domains' state, logs, capabilities cache, sockets. */
export const LIBVIRT_HOST_DIRS = ["/etc/libvirt", "/var/lib/libvirt", "/var/log/libvirt", "/var/cache/libvirt", "/run/libvirt"] as const;

/** The daemons' pid files (Debian's paths), each host's own file. */
export const LIBVIRT_HOST_FILES = ["/run/virtlogd.pid", "/run/libvirtd.pid"] as const;

/** The folders a hypervisor host must own (NetHost.privateDirs); they start empty, ownLibvirtFolders() seeds /etc/libvirt. */
export function libvirtPrivateDirs(): NonNullable<NetHost["privateDirs"]> {
  return LIBVIRT_HOST_DIRS.map((path) => ({ path, seed: false }));
}

/** Where Debian's libvirt-daemon-config-nwfilter keeps the built-in filters it installs in /etc/libvirt/nwfilter. */
const NWFILTER_ORIGINALS = "/usr/share/libvirt/nwfilter";

/** Folders whose sub-folders (two levels, owners and modes as the packages made them: /var/lib/libvirt/qemu is libvirt-qemu's) a host gets empty copies of. */
const SKELETONS = ["/var/lib/libvirt", "/var/cache/libvirt", "/var/log/libvirt"] as const;

/**
 * Copies the sub-folders of the machine's `from` into `to` (no files, two levels, owner and
 * mode kept), leaving out the running guests' own (domain-<id>-<name>). Returns how many it made.
 */
function skeleton(from: string, to: string, depth = 2): number {
  if (!existsSync(from) || depth === 0) return 0;
  let n = 0;
  for (const e of readdirSync(from, { withFileTypes: true })) {
    if (!e.isDirectory() || e.name.startsWith("domain-")) continue;
    const src = join(from, e.name);
    const dst = join(to, e.name);
    const st = statSync(src);
    if (!existsSync(dst)) {
      mkdirSync(dst);
      n++;
    }
    chownSync(dst, st.uid, st.gid);
    chmodSync(dst, st.mode & 0o7777);
    n += skeleton(src, dst, depth - 1);
  }
  return n;
}

/**
 * Lays out a host's own libvirt folders (modes as the machine's) and, when its /etc/libvirt has
 * no libvirtd.conf yet (the first start), the sub-folders of /var/lib/libvirt, /var/cache/libvirt
 * and /var/log/libvirt as the packages made them, and /etc/libvirt: the machine's daemon configuration files (/etc/libvirt/*.conf,
 * as the packages installed them), Debian's built-in network filters, and an empty qemu/ — not
 * the machine's domains, networks, secrets or hooks (a copy of /etc/libvirt would take whatever
 * guests the single lab or a test had defined at that moment, and libvirt's default network,
 * which would try to make a bridge). `path` maps a path the host sees to where it is from this
 * machine (Place.path). Returns what it made.
 */
export function ownLibvirtFolders(path: (p: string) => string): string[] {
  for (const p of LIBVIRT_HOST_DIRS) {
    const own = path(p);
    if (own === p) throw new LabError(`${p} is this machine's own, not the host's: give the host privateDirs: libvirtPrivateDirs()`);
    if (!existsSync(own)) throw new LabError(`${own} is missing: give the host privateDirs: libvirtPrivateDirs()`);
    if (existsSync(p)) chmodSync(own, statSync(p).mode & 0o7777);
  }
  const etc = path("/etc/libvirt");
  if (existsSync(join(etc, "libvirtd.conf"))) return [];
  if (!existsSync("/etc/libvirt/libvirtd.conf")) throw new LabError("/etc/libvirt/libvirtd.conf is missing on this machine", "install libvirt-daemon-system (bash scripts/ensure-debs.sh)");
  const made: string[] = [];
  for (const p of SKELETONS) {
    const n = skeleton(p, path(p));
    if (n) made.push(`${path(p)}/ (${n} folders, as the machine's)`);
  }
  for (const f of readdirSync("/etc/libvirt").filter((x) => x.endsWith(".conf") && statSync(join("/etc/libvirt", x)).isFile())) {
    copyFileSync(join("/etc/libvirt", f), join(etc, f));
    chmodSync(join(etc, f), statSync(join("/etc/libvirt", f)).mode & 0o777);
    made.push(`${etc}/${f}`);
  }
  mkdirSync(join(etc, "qemu"), { recursive: true, mode: 0o755 });
  mkdirSync(join(etc, "nwfilter"), { recursive: true, mode: 0o755 });
  if (existsSync(NWFILTER_ORIGINALS)) {
    const filters = readdirSync(NWFILTER_ORIGINALS).filter((x) => x.endsWith(".xml"));
    for (const f of filters) copyFileSync(join(NWFILTER_ORIGINALS, f), join(etc, "nwfilter", f));
    made.push(`${etc}/nwfilter/ (${filters.length} built-in filters)`);
  }
  return made;
}
