/**
 * Unit tier. The guard before any probe from this machine to a lab host (lib/lab/reach.ts): the
 * route `ip route get` names must be the loopback or a lab link (a veth named <prefix>-lab).
 * Table-tested on real `ip route get` lines, then for real on this machine: an address no lab
 * uses is refused, before any socket exists (labHello throws before it returns a promise). The
 * lab link itself is proved in tests/lab-multi.test.ts (system tier, a topology of its own).
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LabError } from "../lib/base/proc";
import { judgeRoute, labHello, mustStayOnMachine, routeDevice, routeTo } from "../lib/lab/reach";
import { digSoa, httpGet } from "../lib/lab/checks";
import { REPO_ROOT } from "../lib/base/repo";
import { cli } from "./helpers/cli";

const VETH = "5: gn-lab@if6: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT link-netns gn-bridge \\    link/ether 8a:11:22:33:44:55 brd ff:ff:ff:ff:ff:ff promiscuity 0 \\    veth addrgenmode eui64";
const ETH = "2: eth0@if9: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP \\    link/ether 02:42:c0:00:02:02 brd ff:ff:ff:ff:ff:ff promiscuity 0 \\    bridge_slave state forwarding";

describe("routeDevice reads ip route get", () => {
  it.each([
    ["198.51.100.60 via 192.0.2.1 dev eth0 src 192.0.2.2 uid 0 \n    cache ", "eth0"],
    ["198.51.100.60 dev gn-lab src 192.0.2.254 uid 0 \n    cache ", "gn-lab"],
    ["local 127.0.0.1 dev lo src 127.0.0.1 uid 0 \n    cache <local> ", "lo"],
    ["local ::1 from :: dev lo table local proto kernel src ::1 metric 0 pref medium", "lo"],
    ["2001:db8::53 from :: via fd00::1 dev eth0 src fd00::2 metric 1024 pref medium", "eth0"],
    ["", undefined],
  ])("%j → %s", (line, dev) => {
    expect(routeDevice(line)).toBe(dev);
  });
});

describe("judgeRoute: only the loopback and a lab veth keep the packet on this machine", () => {
  it.each([
    ["the loopback", "lo", undefined, true],
    ["the lab's link", "gn-lab", VETH, true],
    ["a test topology's link", "gd2-lab", VETH.replace("gn-lab", "gd2-lab"), true],
    ["eth0 (the default route: no lab up)", "eth0", ETH, false],
    ["a link named like the lab's that is no veth", "gn-lab", ETH, false],
    ["a name too long for netns.ts's prefixes", "toolong-lab", VETH, false],
    ["no route at all", undefined, undefined, false],
  ] as const)("%s", (_what, dev, details, ok) => {
    const r = judgeRoute(dev, details);
    expect(r.ok).toBe(ok);
    if (!r.ok) expect(r.why).toMatch(dev === "eth0" ? /routes it through eth0, not through a lab link \(<prefix>-lab\): the packet would leave the machine/ : /./);
  });
});

describe("on this machine, with no lab holding the address", () => {
  // No lab, test or inventory uses 203.0.113.199: this machine routes it out (or has no route).
  const AWAY = "203.0.113.199";

  it("the loopback is allowed", () => {
    expect(routeTo("127.0.0.1")).toEqual({ ok: true, dev: "lo" });
    expect(() => mustStayOnMachine("127.0.0.1", "test")).not.toThrow();
  });

  it("a probe of an address outside every lab is refused before any socket: labHello throws instead of returning a promise", () => {
    let hello: Promise<unknown> | undefined;
    let err: unknown;
    try {
      hello = labHello(AWAY, 22, 1_000, "waiting for sshd");
    } catch (e) {
      err = e;
    }
    expect(hello).toBeUndefined();
    expect(err).toBeInstanceOf(LabError);
    expect((err as LabError).message).toMatch(new RegExp(`^refused to contact ${AWAY.replace(/\./g, "\\.")} \\(waiting for sshd\\): this machine (routes it through \\S+, not through a lab link|has no route for it)`));
    expect((err as LabError).next).toContain("npm run lab builds them");
  });

  it("the lab's HTTP and DNS checks refuse it too", () => {
    expect(() => httpGet("velo-libre.example", 1_000, AWAY)).toThrow(/refused to contact 203\.0\.113\.199 \(http:\/\/velo-libre\.example\/\)/);
    expect(() => digSoa("velo-libre.example", AWAY)).toThrow(/refused to contact 203\.0\.113\.199 \(dig velo-libre\.example SOA\)/);
  });
});

describe("the commands on stack lab-multi refuse when its hosts are not on a lab link", () => {
  // The repository's data with bk at an address no lab routes: whatever lab runs on this machine
  // meanwhile, that host is not on a lab link (as after a reboot: .lab/topology.json, no namespaces).
  const root = mkdtempSync(join(tmpdir(), "gn-reach-"));
  for (const d of ["members", "zones"]) cpSync(join(REPO_ROOT, d), join(root, d), { recursive: true });
  writeFileSync(join(root, "Pulumi.lab-multi.yaml"), readFileSync(join(REPO_ROOT, "Pulumi.lab-multi.yaml"), "utf8").replace("address: 198.51.100.60", "address: 203.0.113.199"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const refused = /^error: refused to contact 203\.0\.113\.199 \(stack lab-multi, host bk\): this machine (routes it through \S+, not through a lab link|has no route for it)/m;

  it.each([
    ["status", "certs"],
    ["backup", "list", "velo-libre"],
    ["dnssec", "ds", "velo-libre.example"],
    ["preview"],
    ["up"],
    ["refresh"],
  ])("npm run %s … --stack lab-multi: exit 1, the address and the device named, nothing reached", async (...cmd) => {
    const r = await cli([...cmd, "--stack", "lab-multi", "--root", root]);
    expect([r.status, r.stderr]).toEqual([1, expect.stringMatching(refused)]);
    expect(r.stderr).toContain("next: that address is a lab host's only once the lab's namespaces are up");
  });
});
