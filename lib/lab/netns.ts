/**
 * The lab's multi-host topology: one network namespace per inventory host, plugged into one
 * bridge that lives in a namespace of its own, and one more link from this machine's own
 * namespace (where the engine and the provider run, as CI does) into that bridge.
 *
 * Nothing is routed: every address is a /32 or /128 on its link, and each namespace gets one
 * on-link route per other address of the topology. There is no default route anywhere, so a
 * packet for any address that is not a lab host's has nowhere to go (the machine's own routes
 * are only touched for the lab's host addresses, on the runner link).
 *
 * Each host also gets a persistent mount namespace (a bind-mounted nsfs file, like
 * `ip netns add` does for networks), where some folders can be made the host's own: two BIND
 * servers on one machine each need their /etc/bind. What runs "on" a host (its sshd, its
 * daemons, and so everything the provider starts through that sshd) runs under `nsenter` with
 * both namespaces.
 */
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LabError, run, why } from "../base/proc";

export interface NetHost {
  /** The inventory key (web1, ns2 …): names the namespace, so a short [a-z0-9-] word. */
  name: string;
  /** Its addresses, IPv4 and IPv6, without a prefix length. */
  addresses: string[];
  /** Folders this host sees as its own (an empty copy of the machine's, or a copy when seeded). */
  privateDirs?: { path: string; seed: boolean }[];
}

export interface Topology {
  /** Namespace and link name prefix: "gn" for the lab, something else for a test's own. */
  prefix: string;
  /** Where each host's private folders live: <stateDir>/<host>/<path>. */
  stateDir: string;
  hosts: NetHost[];
  /** This machine's own addresses on the bridge (the runner: CI, a volunteer's `npm run`). */
  runner: string[];
  /**
   * The host addresses this machine gets a route to (default: all of them). A test topology
   * that reaches its hosts by addresses of its own can then run while the lab, which uses the
   * inventory's addresses, is up: this machine has one route per address.
   */
  runnerReach?: string[];
}

/** Where the persistent mount namespaces are kept (a private mount, as unshare requires). */
export const MOUNT_NS_DIR = "/run/globenet-lab/mnt";

const NAME = /^[a-z][a-z0-9-]{0,9}$/;

export function netnsName(t: Pick<Topology, "prefix">, host: string): string {
  return `${t.prefix}-${host}`;
}

function bridgeNs(t: Pick<Topology, "prefix">): string {
  return `${t.prefix}-bridge`;
}

/** The host's end of its link, seen from the bridge: at most 15 characters (IFNAMSIZ). */
function bridgePort(t: Pick<Topology, "prefix">, i: number): string {
  return `${t.prefix}p${i}`;
}

function runnerLink(t: Pick<Topology, "prefix">): string {
  return `${t.prefix}-run`;
}

function mountNsFile(t: Pick<Topology, "prefix">, host: string): string {
  return join(MOUNT_NS_DIR, netnsName(t, host));
}

const isV6 = (a: string) => a.includes(":");
/** An address as it goes before ":port" (IPv6 in brackets). */
export { bracket } from "../model/address";
const hostRoute = (a: string) => (isV6(a) ? `${a}/128` : `${a}/32`);

function must(cmd: string, args: string[], what: string): void {
  const r = run(cmd, args, { timeoutMs: 30_000 });
  if (r.status !== 0) throw new LabError(`${what}: ${cmd} ${args.join(" ")} failed: ${why(r)}`, "run as root on a machine with iproute2 (bash scripts/ensure-debs.sh); `npm run lab -- down` removes a half-built topology");
}

function ipIn(ns: string, args: string[], what: string): void {
  must("ip", ["-n", ns, ...args], what);
}

function checkTopology(t: Topology): void {
  if (!/^[a-z][a-z0-9]{0,4}$/.test(t.prefix)) throw new LabError(`topology prefix "${t.prefix}" must be 1-5 lowercase letters or digits`);
  const seen = new Map<string, string>();
  for (const h of t.hosts) {
    if (!NAME.test(h.name)) throw new LabError(`host name "${h.name}" cannot name a network namespace (1-10 of a-z, 0-9, -, starting with a letter)`, "rename the host in the lab's inventory");
    if (h.addresses.length === 0) throw new LabError(`host ${h.name} has no address`);
    for (const a of h.addresses) {
      const other = seen.get(a);
      if (other) throw new LabError(`address ${a} is given to both ${other} and ${h.name}`, "each lab host needs its own addresses");
      seen.set(a, h.name);
    }
  }
  for (const a of t.runner) if (seen.has(a)) throw new LabError(`the runner's address ${a} is also host ${seen.get(a)}'s`);
}

/** A lab address that is this machine's own or its gateway would cut the machine off (checked with no lab up). */
function checkAgainstMachine(t: Topology): void {
  const mine = machineAddresses();
  for (const a of [...t.runner, ...t.hosts.flatMap((h) => h.addresses)]) {
    if (mine.has(a)) throw new LabError(`address ${a} is already this machine's own or its gateway`, "give the lab host (or the runner) another documentation-range address");
  }
}

/** The addresses this machine already has or routes through (its own link, its gateways). */
function machineAddresses(): Set<string> {
  const out = new Set<string>();
  for (const fam of ["-4", "-6"]) {
    const a = run("ip", [fam, "-o", "addr", "show"]);
    for (const m of a.stdout.matchAll(/\sinet6?\s([0-9a-fA-F:.]+)\//g)) if (m[1]) out.add(m[1]);
    const r = run("ip", [fam, "route", "show"]);
    for (const m of r.stdout.matchAll(/\svia\s([0-9a-fA-F:.]+)/g)) if (m[1]) out.add(m[1]);
  }
  return out;
}

function existingNamespaces(): Set<string> {
  return new Set(existsSync("/run/netns") ? readdirSync("/run/netns") : []);
}

/** Makes the mount-namespace folder a private mount once (unshare --mount=FILE needs it). */
function ensureMountNsDir(): void {
  mkdirSync(MOUNT_NS_DIR, { recursive: true, mode: 0o700 });
  const mounted = run("findmnt", ["-n", "-o", "PROPAGATION", "--mountpoint", MOUNT_NS_DIR]);
  if (mounted.status !== 0 || !mounted.stdout.trim()) must("mount", ["--bind", MOUNT_NS_DIR, MOUNT_NS_DIR], "the mount namespaces' folder");
  must("mount", ["--make-private", MOUNT_NS_DIR], "the mount namespaces' folder");
}

/**
 * Builds the topology (idempotent: a namespace already there is rebuilt from scratch, so a
 * changed inventory is taken as it is now). Returns what it did, a line each.
 */
export function topologyUp(t: Topology): string[] {
  checkTopology(t);
  topologyDown(t);
  checkAgainstMachine(t);
  const done: string[] = [];
  const all = [...t.runner, ...t.hosts.flatMap((h) => h.addresses)];
  const br = bridgeNs(t);
  must("ip", ["netns", "add", br], "the bridge's namespace");
  ipIn(br, ["link", "set", "lo", "up"], "the bridge's loopback");
  ipIn(br, ["link", "add", "br0", "type", "bridge"], "the bridge");
  ipIn(br, ["link", "set", "br0", "up"], "the bridge");
  const plug = (outer: string, innerNs: string | undefined, inner: string, addrs: string[], what: string) => {
    // Made here under a temporary name (this namespace has its own eth0), then each end moved:
    // the outer one to the bridge, the inner one to the host, where it takes its name.
    const tmp = `${outer}i`;
    must("ip", ["link", "add", outer, "type", "veth", "peer", "name", tmp], what);
    must("ip", ["link", "set", outer, "netns", br], what);
    ipIn(br, ["link", "set", outer, "master", "br0", "up"], what);
    const ipc = (args: string[]) => (innerNs ? ipIn(innerNs, args, what) : must("ip", args, what));
    if (innerNs) must("ip", ["link", "set", tmp, "netns", innerNs], what);
    ipc(["link", "set", tmp, "name", inner]);
    ipc(["link", "set", inner, "up"]);
    for (const a of addrs) ipc(["addr", "add", hostRoute(a), "dev", inner, ...(isV6(a) ? ["nodad"] : [])]);
    // The source is said: this machine has other addresses, maybe in the same ranges.
    const src = (a: string) => addrs.find((x) => isV6(x) === isV6(a));
    for (const a of innerNs ? all : (t.runnerReach ?? all)) {
      if (addrs.includes(a)) continue;
      const s = src(a);
      ipc(["route", "add", hostRoute(a), "dev", inner, ...(s ? ["src", s] : [])]);
    }
  };
  for (const [i, h] of t.hosts.entries()) {
    const ns = netnsName(t, h.name);
    must("ip", ["netns", "add", ns], `host ${h.name}'s namespace`);
    ipIn(ns, ["link", "set", "lo", "up"], `host ${h.name}'s loopback`);
    plug(bridgePort(t, i), ns, "eth0", h.addresses, `host ${h.name}'s link`);
    done.push(`host ${h.name}: namespace ${ns}, ${h.addresses.join(", ")}`);
  }
  plug(runnerLink(t), undefined, `${t.prefix}-lab`, t.runner, "this machine's link to the lab");
  done.push(`this machine: ${t.prefix}-lab, ${t.runner.join(", ")} (routes to the lab hosts' addresses only)`);
  ensureMountNsDir();
  for (const h of t.hosts) {
    const file = mountNsFile(t, h.name);
    writeFileSync(file, "");
    must("unshare", [`--mount=${file}`, "--propagation", "private", "true"], `host ${h.name}'s mount namespace`);
    for (const d of h.privateDirs ?? []) {
      const own = join(t.stateDir, h.name, d.path);
      if (!existsSync(own)) {
        mkdirSync(own, { recursive: true, mode: 0o755 });
        // cp -a, not fs.cpSync: the copy keeps owners and modes (BIND's rndc.key is root:bind 0640).
        if (d.seed && existsSync(d.path)) must("cp", ["-a", "--", `${d.path}/.`, own], `host ${h.name}'s copy of ${d.path}`);
      }
      mkdirSync(d.path, { recursive: true });
      must("nsenter", [`--mount=${file}`, "--", "mount", "--bind", own, d.path], `host ${h.name}'s own ${d.path}`);
      done.push(`host ${h.name}: its own ${d.path} (${own})`);
    }
  }
  return done;
}

/** Removes the topology's namespaces and links (the processes in them are the caller's to stop first). */
export function topologyDown(t: Pick<Topology, "prefix" | "hosts">): string[] {
  const done: string[] = [];
  const have = existingNamespaces();
  const link = runnerLink(t);
  if (run("ip", ["link", "show", `${t.prefix}-lab`]).status === 0) must("ip", ["link", "del", `${t.prefix}-lab`], "this machine's link to the lab");
  for (const h of t.hosts) {
    const file = mountNsFile(t, h.name);
    if (existsSync(file)) {
      run("umount", [file]);
      rmSync(file, { force: true });
    }
    const ns = netnsName(t, h.name);
    if (have.has(ns)) {
      must("ip", ["netns", "del", ns], `host ${h.name}'s namespace`);
      done.push(`removed namespace ${ns}`);
    }
  }
  if (have.has(bridgeNs(t))) {
    must("ip", ["netns", "del", bridgeNs(t)], "the bridge's namespace");
    done.push(`removed namespace ${bridgeNs(t)} (bridge, ${link})`);
  }
  return done;
}

/** argv that runs `cmd args` on a host: in its network and mount namespaces. */
export function onHost(t: Pick<Topology, "prefix">, host: string, cmd: string, args: readonly string[] = []): [string, string[]] {
  return ["nsenter", [`--net=/run/netns/${netnsName(t, host)}`, `--mount=${mountNsFile(t, host)}`, "--", cmd, ...args]];
}

/** Runs a short command on a host and returns its result (for checks and tests). */
export function runOnHost(t: Pick<Topology, "prefix">, host: string, cmd: string, args: readonly string[] = [], opts: { input?: string; timeoutMs?: number } = {}) {
  const [c, a] = onHost(t, host, cmd, args);
  return run(c, a, opts);
}
