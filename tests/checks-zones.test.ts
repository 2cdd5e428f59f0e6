import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "./helpers/temp-dir";
import { loadModel } from "../lib/check/build";
import { describeZone } from "../lib/audit/semantic";
import { zoneSchema } from "../lib/schema/zone";
import { errorsOf, memberWith, vpsWith, runCli, writeTree } from "./helpers/data-tree";

/*
 * Zones inside zones (docs/architecture.md, "Zones inside zones"): a member's zone inside
 * another member's zone needs that owner's delegation; Globenet's service names are never
 * handed out. Each rule provoked alone on the base tree (tests/helpers/data-tree.ts), with
 * its exact message, next to the legitimate uses that must keep working.
 */

/** A third member, so "another member's zone" is not always Globenet's. */
const ONDES = `handle: ondes-libres
name: Ondes Libres
contact: { email: technique@ondes-libres.example }
status: active
sites:
  - host: ondes-libres.example
`;
const withOndes = (zone = "owner: ondes-libres\n") => ({ "members/ondes-libres/member.yaml": ONDES, "zones/ondes-libres.example.yaml": zone });
const globenetZone = (delegations: string) => `owner: globenet\nrecords: []\ndelegations:\n${delegations}`;
/** web1's IPv6 (2001:db8:1::10) reverse name is 0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0 . 0.0.0.0 . 1.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa */
const REV48 = "1.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa";

const legitimate: Array<[string, Record<string, string | null>]> = [
  ["a member's sub-zone of its own zone (no delegation needed)", { "zones/shop.velo-libre.example.yaml": "owner: velo-libre\n" }],
  ["a sub-zone of Globenet's zone that Globenet delegates to the member", {
    "zones/globenet.example.yaml": globenetZone("  - { name: velo, to: velo-libre }\n"),
    "zones/velo.globenet.example.yaml": "owner: velo-libre\n",
    "members/velo-libre/member.yaml": memberWith("aliases: [www.velo-libre.example]", "aliases: [www.velo-libre.example, velo.globenet.example]"),
  }],
  ["a sub-zone of another member's zone that its owner delegates", { ...withOndes("owner: ondes-libres\ndelegations:\n  - { name: radio, to: velo-libre }\n"), "zones/radio.ondes-libres.example.yaml": "owner: velo-libre\n" }],
  ["a delegation written before the sub-zone exists", { "zones/globenet.example.yaml": globenetZone("  - { name: asso, to: velo-libre }\n") }],
  ["Globenet's own zone under its service names", { "zones/vps.globenet.example.yaml": "owner: globenet\n" }],
  ["a VPS keeping its default name under vps.<domain>", {}],
];

const refused: Array<[string, Record<string, string | null>, string[]]> = [
  ["a member's zone inside Globenet's zone, without a delegation", { "zones/evil.globenet.example.yaml": "owner: velo-libre\n" }, [
    'zones/evil.globenet.example.yaml:1:8 owner: zone evil.globenet.example lies inside the zone globenet.example, owned by globenet, which delegates no "evil" to velo-libre (a zone inside another member\'s zone needs its owner\'s consent: they add delegations: [{ name: evil, to: velo-libre }] to zones/globenet.example.yaml; or use a domain of your own)',
  ]],
  ["a member's zone inside another member's zone, without a delegation", { ...withOndes(), "zones/radio.ondes-libres.example.yaml": "owner: velo-libre\n" }, [
    'zones/radio.ondes-libres.example.yaml:1:8 owner: zone radio.ondes-libres.example lies inside the zone ondes-libres.example, owned by ondes-libres, which delegates no "radio" to velo-libre (a zone inside another member\'s zone needs its owner\'s consent: they add delegations: [{ name: radio, to: velo-libre }] to zones/ondes-libres.example.yaml; or use a domain of your own)',
  ]],
  ["a sub-zone delegated to another member", { ...withOndes("owner: ondes-libres\ndelegations:\n  - { name: radio, to: globenet }\n"), "zones/radio.ondes-libres.example.yaml": "owner: velo-libre\n" }, [
    'zones/radio.ondes-libres.example.yaml:1:8 owner: zone radio.ondes-libres.example lies inside the zone ondes-libres.example, owned by ondes-libres, which delegates "radio" to globenet, not to velo-libre (a zone inside another member\'s zone needs its owner\'s consent: they add delegations: [{ name: radio, to: velo-libre }] to zones/ondes-libres.example.yaml; or use a domain of your own)',
  ]],
  ["a deeper zone than the one delegated", { "zones/globenet.example.yaml": globenetZone("  - { name: velo, to: velo-libre }\n"), "zones/x.velo.globenet.example.yaml": "owner: velo-libre\n" }, [
    'zones/x.velo.globenet.example.yaml:1:8 owner: zone x.velo.globenet.example lies inside the zone globenet.example, owned by globenet, which delegates no "x.velo" to velo-libre (a zone inside another member\'s zone needs its owner\'s consent: they add delegations: [{ name: x.velo, to: velo-libre }] to zones/globenet.example.yaml; or use a domain of your own)',
  ]],
  ["Globenet's zone inside a member's zone, without a delegation", { "zones/shop.velo-libre.example.yaml": "owner: globenet\n" }, [
    'zones/shop.velo-libre.example.yaml:1:8 owner: zone shop.velo-libre.example lies inside the zone velo-libre.example, owned by velo-libre, which delegates no "shop" to globenet (a zone inside another member\'s zone needs its owner\'s consent: they add delegations: [{ name: shop, to: globenet }] to zones/velo-libre.example.yaml; or use a domain of your own)',
  ]],
  ["a zone under vps.<domain>, even delegated by Globenet's own file", {
    "zones/globenet.example.yaml": globenetZone("  - { name: velo-libre.vps, to: velo-libre }\n"),
    "zones/velo-libre.vps.globenet.example.yaml": "owner: velo-libre\n",
  }, [
    "zones/globenet.example.yaml:4:13 delegations[0].name: velo-libre.vps.globenet.example is under vps.globenet.example, where VPS get their default names (Globenet's own names are never handed out, not even by a delegation: remove this delegation)",
    "zones/velo-libre.vps.globenet.example.yaml:1:8 owner: zone velo-libre.vps.globenet.example is under vps.globenet.example, where VPS get their default names (Globenet's own names are never handed out, not even by a delegation: choose a zone in your own domain)",
  ]],
  ["a zone at vps.<domain> itself", { "zones/vps.globenet.example.yaml": "owner: velo-libre\n" }, [
    "zones/vps.globenet.example.yaml:1:8 owner: zone vps.globenet.example is where VPS get their default names (Globenet's own names are never handed out, not even by a delegation: choose a zone in your own domain)",
  ]],
  ["a zone at a host's name, delegated by Globenet's own file", {
    "zones/globenet.example.yaml": globenetZone("  - { name: ns1, to: velo-libre }\n"),
    "zones/ns1.globenet.example.yaml": "owner: velo-libre\n",
  }, [
    "zones/globenet.example.yaml:4:13 delegations[0].name: ns1.globenet.example is the name of host ns1 (Globenet's own names are never handed out, not even by a delegation: remove this delegation)",
    "zones/ns1.globenet.example.yaml:1:8 owner: zone ns1.globenet.example is the name of host ns1 (Globenet's own names are never handed out, not even by a delegation: choose a zone in your own domain)",
  ]],
  ["a zone under a host's name", { "zones/x.web1.globenet.example.yaml": "owner: velo-libre\n" }, [
    "zones/x.web1.globenet.example.yaml:1:8 owner: zone x.web1.globenet.example is under web1.globenet.example, the name of host web1 (Globenet's own names are never handed out, not even by a delegation: choose a zone in your own domain)",
  ]],
  ["a member owning Globenet's own domain", { "zones/globenet.example.yaml": "owner: velo-libre\n", "members/globenet/member.yaml": "handle: globenet\nname: Globenet\ncontact: { email: bureau@globenet.example }\nstatus: active\n" }, [
    "zones/globenet.example.yaml:1:8 owner: zone globenet.example is Globenet's own domain (Globenet's own names are never handed out, not even by a delegation: choose a zone in your own domain)",
  ]],
  ["a reverse sub-zone holding a host's reverse name, delegated by Globenet", {
    [`zones/${REV48}.yaml`]: `owner: globenet\ndelegations:\n  - { name: 0.0.0.0, to: velo-libre }\n`,
    [`zones/0.0.0.0.${REV48}.yaml`]: "owner: velo-libre\n",
  }, [
    `zones/0.0.0.0.${REV48}.yaml:1:8 owner: zone 0.0.0.0.${REV48} would hold 0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.${REV48}, the reverse name of host web1's address 2001:db8:1::10 (Globenet's own names are never handed out, not even by a delegation: choose a zone in your own domain)`,
    `zones/${REV48}.yaml:3:13 delegations[0].name: 0.0.0.0.${REV48} holds 0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.${REV48}, the reverse name of host web1's address 2001:db8:1::10 (Globenet's own names are never handed out, not even by a delegation: remove this delegation)`,
  ]],
  ["a delegation to an unknown member", { "zones/globenet.example.yaml": globenetZone("  - { name: asso, to: nobody }\n") }, [
    'zones/globenet.example.yaml:4:23 delegations[0].to: unknown member "nobody" (a delegation names a member handle, a folder under members/)',
  ]],
  ["a delegation to a departed member", {
    "zones/globenet.example.yaml": globenetZone("  - { name: asso, to: ondes-libres }\n"),
    "members/ondes-libres/member.yaml": ONDES.replace("status: active", "status: departed").replace(/sites:[\s\S]*$/, ""),
  }, [
    'zones/globenet.example.yaml:4:23 delegations[0].to: member "ondes-libres" has departed (remove this delegation, or delegate to the member taking the sub-zone over)',
  ]],
  ["a delegation to the zone's own owner", { "zones/globenet.example.yaml": globenetZone("  - { name: asso, to: globenet }\n") }, [
    "zones/globenet.example.yaml:4:23 delegations[0].to: globenet owns this zone already (a sub-zone of your own zone needs no delegation: remove this one)",
  ]],
  ["a delegation inside a sub-zone that has its own file", {
    "zones/globenet.example.yaml": globenetZone("  - { name: x.asso, to: velo-libre }\n"),
    "zones/asso.globenet.example.yaml": "owner: globenet\n",
  }, [
    "zones/globenet.example.yaml:4:13 delegations[0].name: x.asso.globenet.example lies in the zone asso.globenet.example, which has its own file (write the delegation in zones/asso.globenet.example.yaml)",
  ]],
  ["the same name delegated twice", { "zones/globenet.example.yaml": globenetZone("  - { name: asso, to: velo-libre }\n  - { name: asso, to: globenet }\n") }, [
    'zones/globenet.example.yaml:5:13 delegations[1].name: "asso" is already delegated at delegations[0] (a sub-zone has one owner; remove one of them)',
  ]],
  ["a delegation of the zone itself", { "zones/globenet.example.yaml": globenetZone('  - { name: "@", to: velo-libre }\n') }, [
    'zones/globenet.example.yaml:4:13 delegations[0].name: is the zone itself (name the sub-zone relative to this zone, like "radio" for radio.<this zone>)',
  ]],
  ["a delegation with a stray key", { "zones/globenet.example.yaml": globenetZone("  - { name: asso, to: velo-libre, ns: x }\n") }, [
    'zones/globenet.example.yaml:4:35 delegations[0].ns: unknown key (allowed here: name, to)',
  ]],
  // The neighbours of the hole: other ways to put a name of someone else's on a member's site or VPS.
  ["a site with dns: external inside another member's zone", { ...withOndes(), "members/velo-libre/member.yaml": `${memberWith("databases:", "  - host: blog.ondes-libres.example\n    dns: external\ndatabases:")}` }, [
    'members/velo-libre/member.yaml:11:11 sites[1].host: "blog.ondes-libres.example" is in the zone ondes-libres.example, owned by ondes-libres (names in a zone belong to its owner, wherever their DNS is: ask them, or transfer the zone)',
  ]],
  ["a site named after a host, its DNS elsewhere", { "members/velo-libre/member.yaml": memberWith("databases:", "  - host: web1.globenet.example\n    dns: external\ndatabases:") }, [
    'members/velo-libre/member.yaml:11:11 sites[1].host: "web1.globenet.example" is the name of host web1 (Globenet\'s own names are never a member\'s site: use a name in your own domain)',
  ]],
  ["a site under vps.<domain> when Globenet's zone is not served here", {
    "zones/globenet.example.yaml": null,
    "members/globenet/member.yaml": "handle: globenet\nname: Globenet\ncontact: { email: bureau@globenet.example }\nstatus: active\n",
    "members/velo-libre/member.yaml": memberWith("databases:", "  - host: atelier.velo-libre.vps.globenet.example\n    dns: external\ndatabases:"),
  }, [
    'members/velo-libre/member.yaml:11:11 sites[1].host: "atelier.velo-libre.vps.globenet.example" is under vps.globenet.example, where VPS get their default names (Globenet\'s own names are never a member\'s site: use a name in your own domain)',
  ]],
  ["a VPS dns_name under vps.<domain>", { "members/velo-libre/vps/atelier.yaml": vpsWith("ipv4: 203.0.113.20", "ipv4: 203.0.113.20\ndns_name: web.other.vps.globenet.example") }, [
    'members/velo-libre/vps/atelier.yaml:7:11 dns_name: "web.other.vps.globenet.example" is under vps.globenet.example, where VPS get their default names (Globenet\'s own names are never a member\'s: use a name in your own zone, or remove dns_name)',
  ]],
  ["a VPS dns_name in another member's zone", { ...withOndes(), "members/velo-libre/vps/atelier.yaml": vpsWith("ipv4: 203.0.113.20", "ipv4: 203.0.113.20\ndns_name: stream.ondes-libres.example") }, [
    'members/velo-libre/vps/atelier.yaml:7:11 dns_name: "stream.ondes-libres.example" is in the zone ondes-libres.example, owned by ondes-libres (use a name in your own zone, or remove dns_name)',
  ]],
];

describe("zones inside zones", () => {
  it.each(legitimate)("accepts %s", (_what, changes) => {
    expect(errorsOf(changes)).toEqual([]);
  });
  it.each(refused)("refuses %s", (_what, changes, expected) => {
    expect(errorsOf(changes)).toEqual(expected);
  });

  it("derives the delegation NS records in the parent, as for a member's own sub-zone", () => {
    const root = writeTree(legitimate[1]?.[1]);
    const { model, errors } = loadModel(root, "test");
    expect(errors).toEqual([]);
    const parent = model?.zones.find((z) => z.name === "globenet.example");
    expect(parent?.records.filter((r) => r.type === "NS").map((r) => `${r.name} ${r.value}`)).toEqual(["velo ns1.globenet.example.", "velo ns2.globenet.example."]);
    const child = model?.zones.find((z) => z.name === "velo.globenet.example");
    expect(child?.owner).toBe("velo-libre");
    expect(child?.records.filter((r) => r.type === "A").map((r) => `${r.name} ${r.value}`)).toEqual(["@ 192.0.2.10"]);
  });

  it("says in the audit who was given a sub-zone, and when it was taken back", () => {
    const before = zoneSchema.parse({ owner: "globenet", delegations: [{ name: "asso", to: "velo-libre" }] });
    const after = zoneSchema.parse({ owner: "globenet", delegations: [{ name: "radio", to: "ondes-libres" }] });
    expect(describeZone("globenet.example", before, after)).toEqual([
      "sub-zone radio.globenet.example delegated to ondes-libres",
      "delegation of asso.globenet.example to velo-libre withdrawn",
    ]);
  });
});

describe("the attack through the command line", () => {
  const run = runCli;

  it("validate refuses a member's zone under Globenet's VPS names and inside Globenet's zone (exit 1); render writes nothing", async () => {
    // velo-libre takes another member's default VPS name and a name in Globenet's zone, and
    // puts both on its site to get a certificate for them.
    const root = writeTree({
      "zones/other.vps.globenet.example.yaml": "owner: velo-libre\n",
      "zones/login.globenet.example.yaml": "owner: velo-libre\n",
      "members/velo-libre/member.yaml": memberWith("aliases: [www.velo-libre.example]", "aliases: [www.velo-libre.example, web.other.vps.globenet.example, login.globenet.example]"),
    });
    const v = await run("validate", "--root", root, "--stack", "test");
    expect(v.status).toBe(1);
    expect(v.stdout).toBe("");
    expect(v.stderr.trim().split("\n").slice(0, -2)).toEqual([
      'members/velo-libre/member.yaml:9:39 sites[0].aliases[1]: "web.other.vps.globenet.example" is under vps.globenet.example, where VPS get their default names (Globenet\'s own names are never a member\'s site: use a name in your own domain)',
      'zones/login.globenet.example.yaml:1:8 owner: zone login.globenet.example lies inside the zone globenet.example, owned by globenet, which delegates no "login" to velo-libre (a zone inside another member\'s zone needs its owner\'s consent: they add delegations: [{ name: login, to: velo-libre }] to zones/globenet.example.yaml; or use a domain of your own)',
      "zones/other.vps.globenet.example.yaml:1:8 owner: zone other.vps.globenet.example is under vps.globenet.example, where VPS get their default names (Globenet's own names are never handed out, not even by a delegation: choose a zone in your own domain)",
    ]);
    expect(v.stderr).toContain("3 error(s); nothing can be applied");
    const out = join(tempDir("globenet-out-"), "render");
    const r = await run("render", "--root", root, "--stack", "test", "--out", out);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("nothing was written");
    expect(existsSync(out)).toBe(false);
  });

  it("render serves a delegated member sub-zone: its own zone file, and NS in Globenet's", async () => {
    const root = writeTree(legitimate[1]?.[1]);
    const out = join(tempDir("globenet-out-"), "render");
    const r = await run("render", "--root", root, "--stack", "test", "--out", out);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const named = readFileSync(join(out, "ns1", "bind", "named.conf.globenet"), "utf8");
    expect(named).toContain('zone "velo.globenet.example" {');
    const parent = readFileSync(join(out, "ns1", "bind", "zones", "globenet.example.zone"), "utf8");
    expect(parent).toMatch(/^velo\s+IN NS\s+ns1\.globenet\.example\. ; derived: sub-zone velo\.globenet\.example$/m);
    const child = readFileSync(join(out, "ns1", "bind", "zones", "velo.globenet.example.zone"), "utf8");
    expect(child).toMatch(/^@\s+IN A\s+192\.0\.2\.10 ; derived: site /m);
  });
});

