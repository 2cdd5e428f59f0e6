/**
 * The guard every probe from this machine to a lab host goes through (a TCP hello, HTTP, dig,
 * ssh): before any packet, `ip route get ADDR` (which sends none) must name the loopback or a
 * lab link, `<prefix>-lab`, the veth netns.ts puts between this machine and a lab's bridge.
 * Anything else (eth0 through the default gateway: no lab up, or its namespace not built yet)
 * is refused with a LabError. The multi-host lab's addresses are prod's: once, a probe made
 * before a host's namespace existed sent a SYN to 198.51.100.60:22 out through the gateway.
 */
import { LabError, run, tcpHello } from "../base/proc";

/** The device in `ip route get` output ("198.51.100.60 dev gn-lab src …"), or undefined. */
export function routeDevice(routeGet: string): string | undefined {
  return /(?:^|\s)dev\s+(\S+)/.exec(routeGet)?.[1];
}

/** A lab link by name (netns.ts: `${prefix}-lab`, prefix 1-5 of a-z, 0-9). */
export const LAB_LINK = /^[a-z][a-z0-9]{0,4}-lab$/;

export type Route = { ok: true; dev: string } | { ok: false; dev?: string; why: string };

/** Pure: whether a route (its device, and that device's `ip -d link` kind line) keeps a packet on this machine. */
export function judgeRoute(dev: string | undefined, linkDetails: string | undefined): Route {
  if (!dev) return { ok: false, why: "this machine has no route for it" };
  if (dev === "lo") return { ok: true, dev };
  if (!LAB_LINK.test(dev)) return { ok: false, dev, why: `this machine routes it through ${dev}, not through a lab link (<prefix>-lab): the packet would leave the machine` };
  if (!/\bveth\b/.test(linkDetails ?? "")) return { ok: false, dev, why: `${dev} is named like a lab link but is not a veth pair (ip -d link show ${dev})` };
  return { ok: true, dev };
}

/** How this machine would send a packet to `addr`, judged (no packet is sent). */
export function routeTo(addr: string): Route {
  const r = run("ip", ["route", "get", addr], { timeoutMs: 5_000 });
  const dev = r.status === 0 ? routeDevice(r.stdout) : undefined;
  const details = dev && dev !== "lo" ? run("ip", ["-o", "-d", "link", "show", "dev", dev], { timeoutMs: 5_000 }).stdout : undefined;
  return judgeRoute(dev, details);
}

/** Refuses (LabError) a probe of `addr` that would not stay on this machine; `what` says what the probe was for. */
export function mustStayOnMachine(addr: string, what: string): void {
  const r = routeTo(addr);
  if (r.ok) return;
  throw new LabError(
    `refused to contact ${addr} (${what}): ${r.why}`,
    "that address is a lab host's only once the lab's namespaces are up: npm run lab builds them (npm run lab -- status says what is up)",
  );
}

/** tcpHello behind the guard: the lab's way to knock on a lab host's port. */
export function labHello(addr: string, port: number, ms = 1_000, what = `port ${port}`): Promise<string | undefined> {
  mustStayOnMachine(addr, what);
  return tcpHello(addr, port, ms);
}
