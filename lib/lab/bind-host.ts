/**
 * A name server host that owns its BIND folders (the multi-host lab's secondary ns2, the name
 * servers of tests/dns-secondary.test.ts): its own /etc/bind, /var/cache/bind, /var/lib/bind and
 * /run/named (netns.ts private folders), so a primary and a secondary run side by side on one
 * machine. daemons.ts's bind() starts named there, through the host's Place, as it does for the
 * lab's primary on the machine's own /etc/bind; this file says what such a host owns and lays
 * its folders out as Debian's bind9 package would.
 */
import { chmodSync, chownSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LabError, run } from "../base/proc";
import type { NetHost } from "./netns";

/** What a second BIND on one machine must own: its configuration, zones, keys and pid file. */
export const BIND_HOST_DIRS = ["/etc/bind", "/var/cache/bind", "/var/lib/bind", "/run/named"] as const;

/** The folders a name server host must own (NetHost.privateDirs); they start empty, bind() fills /etc/bind. */
export function bindPrivateDirs(): NonNullable<NetHost["privateDirs"]> {
  return BIND_HOST_DIRS.map((path) => ({ path, seed: false }));
}

/** named's log inside such a host (its own /var/cache/bind): transfers, NOTIFY, refusals. */
export const BIND_HOST_LOG = "/var/cache/bind/named.log";

/** The logging clause of such a host's named.conf.options: everything to BIND_HOST_LOG. */
export const BIND_HOST_LOGGING = [
  "logging {",
  `\tchannel globenet_lab { file "${BIND_HOST_LOG}" versions 2 size 5m; severity info; print-time yes; print-category yes; };`,
  "\tcategory default { globenet_lab; };",
  "};",
];

function ids(name: string): { uid: number; gid: number } {
  const u = run("id", ["-u", name]);
  const g = run("id", ["-g", name]);
  if (u.status !== 0 || g.status !== 0) throw new LabError(`there is no ${name} user on this machine`, "install bind9 (bash scripts/ensure-debs.sh)");
  return { uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()) };
}

/**
 * Lays out a host's own BIND folders as Debian's bind9 package does (root:bind, /etc/bind setgid
 * and not writable by bind, the others writable by bind), and writes named.conf and an empty
 * named.conf.local when missing (the provider adds its include to the latter). `path` maps a
 * path the host sees to where it is from this machine (Place.path). Returns what it made.
 */
export function ownBindFolders(path: (p: string) => string): string[] {
  const bind = ids("bind");
  const modes: [string, number][] = [["/etc/bind", 0o2755], ["/var/cache/bind", 0o775], ["/var/lib/bind", 0o775], ["/run/named", 0o775]];
  for (const [p, mode] of modes) {
    const own = path(p);
    if (own === p) throw new LabError(`${p} is this machine's own, not the host's: give the host privateDirs: bindPrivateDirs()`);
    if (!existsSync(own)) throw new LabError(`${own} is missing: give the host privateDirs: bindPrivateDirs()`);
    chownSync(own, 0, bind.gid);
    chmodSync(own, mode);
  }
  const made: string[] = [];
  const etc = path("/etc/bind");
  const file = (name: string, text: string) => {
    if (existsSync(join(etc, name))) return;
    writeFileSync(join(etc, name), text, { mode: 0o644 });
    chownSync(join(etc, name), 0, bind.gid);
    made.push(`${etc}/${name}`);
  };
  file("named.conf", ["// globenet-infra lab (lib/lab/bind-host.ts): this host's own name server.", 'include "/etc/bind/named.conf.options";', 'include "/etc/bind/named.conf.local";', ""].join("\n"));
  file("named.conf.local", "");
  return made;
}
