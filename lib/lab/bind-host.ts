/**
 * A name server inside one host namespace of a topology (lib/lab/netns.ts): its own
 * /etc/bind, /var/cache/bind, /var/lib/bind and /run/named (private folders, so a primary and
 * a secondary run side by side on one machine), a minimal Debian-like named.conf that listens
 * on the host's addresses only, an rndc key of its own, and named started as Debian does
 * (`named -u bind`). The provider's file sets and transfer key then configure it over the
 * host's sshd, as on a real server. Used by tests/dns-secondary.test.ts and by the multi-host lab.
 */
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LabError, run, why } from "../base/proc";
import { onHost, runOnHost, type NetHost, type Topology } from "./netns";

/** What a second BIND on one machine must own: its configuration, zones, keys and pid file. */
export const BIND_HOST_DIRS = ["/etc/bind", "/var/cache/bind", "/var/lib/bind", "/run/named"] as const;

/**
 * The folders a name server host must own (NetHost.privateDirs). `seedEtc`: /etc/bind starts as
 * a copy of the machine's (the lab's ns2, started like ns1); else all start empty and
 * bindHostUp fills them (the tests' own name servers).
 */
export function bindPrivateDirs(seedEtc = false): NonNullable<NetHost["privateDirs"]> {
  return BIND_HOST_DIRS.map((path) => ({ path, seed: seedEtc && path === "/etc/bind" }));
}

/** named's log inside the host (its own /var/cache/bind): transfers, NOTIFY, errors. */
export const BIND_HOST_LOG = "/var/cache/bind/named.log";
const PID = "/run/named/named.pid";

/** Where a host's private folder is, seen from this machine's namespace. */
export function hostPath(t: Pick<Topology, "stateDir">, host: string, path: string): string {
  return join(t.stateDir, host, path);
}

function ids(name: string): { uid: number; gid: number } {
  const u = run("id", ["-u", name]);
  const g = run("id", ["-g", name]);
  if (u.status !== 0 || g.status !== 0) throw new LabError(`there is no ${name} user on this machine`, "install bind9 (bash scripts/ensure-debs.sh)");
  return { uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()) };
}

function namedConfOptions(addresses: string[]): string {
  const v4 = addresses.filter((a) => !a.includes(":"));
  const v6 = addresses.filter((a) => a.includes(":"));
  const list = (l: string[]) => (l.length > 0 ? l.map((a) => `${a};`).join(" ") : "none;");
  return [
    "// Written by globenet-infra's lab (lib/lab/bind-host.ts): an authoritative server on this host's addresses.",
    "options {",
    '\tdirectory "/var/cache/bind";',
    `\tpid-file "${PID}";`,
    `\tlisten-on port 53 { ${list(v4)} };`,
    `\tlisten-on-v6 port 53 { ${list(v6)} };`,
    "\trecursion no;",
    "\tdnssec-validation no;",
    "};",
    "logging {",
    `\tchannel globenet_lab { file "${BIND_HOST_LOG}" versions 2 size 5m; severity info; print-time yes; print-category yes; };`,
    "\tcategory default { globenet_lab; };",
    "};",
    "",
  ].join("\n");
}

/**
 * Makes the host's BIND folders as Debian's bind9 package would (root:bind, /etc/bind not
 * writable by bind), writes named.conf, named.conf.options and an empty named.conf.local
 * (the provider adds its include), and an rndc key. Call after topologyUp, before bindStart.
 */
export function bindHostUp(t: Topology, host: string): void {
  const h = t.hosts.find((x) => x.name === host);
  if (!h) throw new LabError(`no host ${host} in the topology`);
  const bind = ids("bind");
  const modes: [string, number][] = [["/etc/bind", 0o2755], ["/var/cache/bind", 0o775], ["/var/lib/bind", 0o775], ["/run/named", 0o775]];
  for (const [p, mode] of modes) {
    const own = hostPath(t, host, p);
    if (!existsSync(own)) throw new LabError(`${own} is missing: give host ${host} privateDirs: bindPrivateDirs()`);
    chownSync(own, 0, bind.gid);
    chmodSync(own, mode);
  }
  const etc = hostPath(t, host, "/etc/bind");
  const file = (name: string, text: string) => {
    writeFileSync(join(etc, name), text, { mode: 0o644 });
    chownSync(join(etc, name), 0, bind.gid);
  };
  file("named.conf", ['include "/etc/bind/named.conf.options";', 'include "/etc/bind/named.conf.local";', ""].join("\n"));
  file("named.conf.options", namedConfOptions(h.addresses));
  if (!existsSync(join(etc, "named.conf.local"))) file("named.conf.local", "");
  if (!existsSync(join(etc, "rndc.key"))) {
    const g = runOnHost(t, host, "rndc-confgen", ["-a", "-u", "bind"]);
    if (g.status !== 0) throw new LabError(`rndc-confgen -a on ${host} failed: ${why(g)}`);
  }
  const c = runOnHost(t, host, "named-checkconf", []);
  if (c.status !== 0) throw new LabError(`named-checkconf rejects ${host}'s /etc/bind/named.conf:\n${why(c)}`);
}

/** The running named's pid on that host, if any. */
export function bindPid(t: Pick<Topology, "stateDir">, host: string): number | undefined {
  const f = hostPath(t, host, PID);
  if (!existsSync(f)) return undefined;
  const pid = Number(readFileSync(f, "utf8").trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
  } catch {
    return undefined;
  }
  return existsSync(`/proc/${pid}/comm`) && readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "named" ? pid : undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts named on the host (it daemonizes, as bind) and waits for rndc to answer; returns its pid. */
export async function bindStart(t: Topology, host: string): Promise<number> {
  mkdirSync(hostPath(t, host, "/run/named"), { recursive: true });
  const [cmd, args] = onHost(t, host, "named", ["-u", "bind", "-c", "/etc/bind/named.conf"]);
  const r = run(cmd, args, { timeoutMs: 30_000 });
  if (r.status !== 0) throw new LabError(`named did not start on ${host}: ${why(r)}`, `look at ${hostPath(t, host, BIND_HOST_LOG)}`);
  const deadline = Date.now() + 20_000;
  for (;;) {
    const pid = bindPid(t, host);
    if (pid && runOnHost(t, host, "rndc", ["status"], { timeoutMs: 10_000 }).status === 0) return pid;
    if (Date.now() > deadline) throw new LabError(`named on ${host} does not answer rndc status`, `look at ${hostPath(t, host, BIND_HOST_LOG)}`);
    await sleep(200);
  }
}

/** Stops the host's named (TERM, then KILL after 15 s); nothing when it does not run. */
export async function bindStop(t: Pick<Topology, "stateDir">, host: string): Promise<void> {
  const pid = bindPid(t, host);
  if (!pid) return;
  process.kill(pid, "SIGTERM");
  const deadline = Date.now() + 15_000;
  while (bindPid(t, host) === pid) {
    if (Date.now() > deadline) {
      process.kill(pid, "SIGKILL");
      break;
    }
    await sleep(100);
  }
}
