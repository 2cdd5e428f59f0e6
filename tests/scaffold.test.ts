import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ipaddr from "ipaddr.js";
import { parse } from "yaml";
import { afterAll, describe, expect, it } from "vitest";
import { stacksIn } from "../lib/cli/args";
import { formatDiagnostic } from "../lib/load/diagnostic";
import { loadModel } from "../lib/check/build";
import { memberSchema } from "../lib/schema/member";
import { vpsSchema } from "../lib/schema/vps";
import { zoneSchema } from "../lib/schema/zone";
import { nextFreeAddress, reservedInPool, type Pool } from "../lib/scaffold/addresses";
import { chooseHypervisor, SIZES, type Resources, type StackHypervisors } from "../lib/scaffold/hypervisor";
import { handleProblem, normaliseZoneName } from "../lib/scaffold/names";
import { memberYaml, scalar, vpsYaml, zoneYaml } from "../lib/scaffold/yaml";
import { cli } from "./helpers/cli";
import { KEY } from "./helpers/data-tree";
import { withoutPtrWarnings } from "./helpers/ptr-warnings";

const P4: Pool = { cidr: "203.0.113.0/25", gateway: "203.0.113.1" };
const P6: Pool = { cidr: "2001:db8:42::/64", gateway: "2001:db8:42::1" };

describe("nextFreeAddress", () => {
  it.each<[string, "ipv4" | "ipv6", Pool[][], string[], string | undefined]>([
    ["empty pool: first after the gateway", "ipv4", [[P4]], [], "203.0.113.2"],
    ["after the highest in use", "ipv4", [[P4]], ["203.0.113.20", "203.0.113.21"], "203.0.113.22"],
    ["a hole below is left for later", "ipv4", [[P4]], ["203.0.113.20", "203.0.113.22"], "203.0.113.23"],
    ["a host's address counts as used", "ipv4", [[P4]], ["203.0.113.20", "203.0.113.21", "203.0.113.22"], "203.0.113.23"],
    ["top reached: the lowest hole", "ipv4", [[P4]], ["203.0.113.20", "203.0.113.126"], "203.0.113.2"],
    ["never the broadcast", "ipv4", [[P4]], ["203.0.113.125"], "203.0.113.126"],
    ["gateway elsewhere: the address before it is fine", "ipv4", [[{ cidr: "203.0.113.0/25", gateway: "203.0.113.2" }]], [], "203.0.113.1"],
    ["a full pool gives nothing", "ipv4", [[{ cidr: "192.0.2.0/30", gateway: "192.0.2.1" }]], ["192.0.2.2"], undefined],
    ["the next pool when the first is full", "ipv4", [[{ cidr: "192.0.2.0/30", gateway: "192.0.2.1" }, { cidr: "198.51.100.0/29", gateway: "198.51.100.1" }]], ["192.0.2.2"], "198.51.100.2"],
    ["a /31 has no network or broadcast address", "ipv4", [[{ cidr: "192.0.2.0/31", gateway: "192.0.2.0" }]], [], "192.0.2.1"],
    ["another stack's gateway is skipped too", "ipv4", [[P4], [{ cidr: "203.0.113.0/25", gateway: "203.0.113.22" }]], ["203.0.113.20", "203.0.113.21"], "203.0.113.23"],
    ["outside another stack's smaller pool: back to the lowest hole", "ipv4", [[P4], [{ cidr: "203.0.113.0/26", gateway: "203.0.113.1" }]], ["203.0.113.62"], "203.0.113.2"],
    ["addresses of the other family are ignored", "ipv4", [[P4]], ["2001:db8:42::30"], "203.0.113.2"],
    ["IPv6: never the subnet-router anycast nor the gateway", "ipv6", [[P6]], [], "2001:db8:42::2"],
    ["IPv6: after the highest in use", "ipv6", [[P6]], ["2001:db8:42::20", "2001:db8:42::21"], "2001:db8:42::22"],
    ["IPv6: written in canonical short form", "ipv6", [[P6]], ["2001:db8:42::ffff"], "2001:db8:42::1:0"],
    ["IPv6: no pool in a stack gives nothing", "ipv6", [[P6], []], [], undefined],
  ])("%s", (_what, family, pools, used, expected) => {
    expect(nextFreeAddress(family, pools, used)).toBe(expected);
  });
});

describe("reservedInPool (validate's rules)", () => {
  it.each<[string, Pool, string | undefined]>([
    ["203.0.113.1", P4, "the gateway"],
    ["203.0.113.0", P4, "the network address"],
    ["203.0.113.127", P4, "the broadcast address"],
    ["203.0.113.126", P4, undefined],
    ["192.0.2.1", { cidr: "192.0.2.0/31", gateway: "192.0.2.0" }, undefined],
    ["2001:db8:42::", P6, "the subnet-router anycast address"],
    ["2001:db8:42:0:ffff:ffff:ffff:ffff", P6, undefined],
  ])("%s", (address, pool, expected) => {
    expect(reservedInPool(address, pool)).toBe(expected);
  });
});

const R = (vcpus: number, memoryMb: number, diskGb: number): Resources => ({ vcpus, memoryMb, diskGb });
const stack = (name: string, hvs: Record<string, [Resources, Resources]>): StackHypervisors => ({
  stack: name,
  hypervisors: new Map(Object.entries(hvs).map(([n, [capacity, used]]) => [n, { capacity, used }])),
});
const PROD = stack("prod", { hv1: [R(24, 98304, 1800), R(2, 2048, 20)], hv2: [R(12, 40960, 900), R(2, 4096, 40)] });
const LAB = stack("lab", { hv1: [R(64, 131072, 2000), R(2, 2048, 20)], hv2: [R(64, 131072, 2000), R(2, 4096, 40)] });

describe("chooseHypervisor", () => {
  it.each<[string, StackHypervisors[], Resources, string | undefined, string[]]>([
    ["the repository's data: hv1 has the most room", [PROD, LAB], SIZES.small, "hv1", []],
    ["the scarcest resource decides: hv1 short of memory in prod", [stack("prod", { hv1: [R(24, 4096, 1800), R(2, 2048, 20)], hv2: [R(12, 40960, 900), R(2, 4096, 40)] }), LAB], SIZES.small, "hv2", []],
    ["too little memory in prod rules hv1 out", [stack("prod", { hv1: [R(24, 3000, 1800), R(2, 2048, 20)], hv2: [R(12, 40960, 900), R(2, 4096, 40)] }), LAB], SIZES.small, "hv2", ["hv1: not enough memory in stack prod: 952 MB free, 1024 asked"]],
    ["fits in prod but not in lab", [PROD, stack("lab", { hv1: [R(2, 131072, 2000), R(2, 2048, 20)], hv2: [R(64, 131072, 2000), R(2, 4096, 40)] })], SIZES.small, "hv2", ["hv1: not enough vCPU in stack lab: 0 vCPUs free, 1 asked"]],
    ["a hypervisor missing from a stack is ruled out", [stack("prod", { hv1: [R(8, 8192, 100), R(7, 0, 0)], hv3: [R(8, 8192, 100), R(0, 0, 0)] }), stack("lab", { hv1: [R(8, 8192, 100), R(7, 0, 0)] })], SIZES.small, "hv1", ["hv3: not a hypervisor in stack lab"]],
    ["ties go to the first name", [stack("prod", { hv2: [R(4, 4096, 40), R(0, 0, 0)], hv1: [R(4, 4096, 40), R(0, 0, 0)] })], SIZES.medium, "hv1", []],
    ["exactly full still fits", [stack("prod", { hv1: [R(4, 4096, 40), R(0, 0, 0)] })], SIZES.large, "hv1", []],
    ["nothing fits", [stack("prod", { hv1: [R(4, 4096, 40), R(1, 0, 0)] })], SIZES.large, undefined, ["hv1: not enough vCPU in stack prod: 3 vCPUs free, 4 asked"]],
  ])("%s", (_what, stacks, size, expected, rejected) => {
    const r = chooseHypervisor(stacks, size);
    expect(r.choice?.name).toBe(expected);
    expect(r.rejected.map((x) => `${x.name}: ${x.why}`)).toEqual(rejected);
  });

  it("reports the room left in the tightest stack", () => {
    const r = chooseHypervisor([PROD, LAB], SIZES.small);
    expect(r.choice?.room).toBeCloseTo(21 / 24);
    expect(r.choice?.left.find((l) => l.stack === "prod")?.free).toEqual(R(21, 95232, 1770));
  });
});

describe("names", () => {
  /** What validate says about a handle in member.yaml. */
  const schemaMessage = (h: string) => memberSchema.safeParse({ handle: h, name: "X", contact: { email: "a@b.example" }, status: "active" }).error?.issues.find((i) => i.path[0] === "handle")?.message;

  it.each(["root", "www-data", "Velo", "a", "velo--libre", "velo_libre", "-velo", "velo-libre"])("handle %s: the schema's own message", (h) => {
    expect(handleProblem(h)).toBe(schemaMessage(h));
  });

  it("a reserved handle and a valid one", () => {
    expect(handleProblem("root")).toBe('"root" is a system account name (choose another handle)');
    expect(handleProblem("amap-belleville")).toBeUndefined();
  });

  it.each<[string, string]>([
    ["Vélo-Libre.Example.", "xn--vlo-libre-b4a.example"],
    ["A.EXAMPLE", "a.example"],
    ["113.0.203.in-addr.arpa", "113.0.203.in-addr.arpa"],
    ["0.0.0.0.2.4.0.0.8.b.d.0.1.0.0.2.ip6.arpa", "0.0.0.0.2.4.0.0.8.b.d.0.1.0.0.2.ip6.arpa"],
  ])("zone %s is written %s", (input, name) => {
    expect(normaliseZoneName(input)).toEqual({ name });
  });

  it.each(["localhost", "bad..example", "bad_name.example", "300.0.203.in-addr.arpa", "xn--zz.example", "a/b.example"])("zone %s is refused", (input) => {
    expect(normaliseZoneName(input)).toHaveProperty("problem");
  });
});

describe("YAML text", () => {
  it.each(["Association Vélo Libre", "8.2", "yes", "null", "2001:db8::1", "a: b", "x #y", 'Les "Amis" de l\'Été', "@home", "TODO: x", " lead", "trail "])("scalar %j reads back as itself", (s) => {
    expect(parse(`v: ${scalar(s)}\n`, { schema: "core" }).v).toBe(s);
  });

  it("a plain name stays plain", () => {
    expect(scalar("Association Vélo Libre")).toBe("Association Vélo Libre");
  });

  it("a member with placeholders passes the schema and keeps the TODOs", () => {
    const text = memberYaml({ handle: "amap-belleville", sshKeys: [], php: "8.2", command: "npm run new -- member amap-belleville" });
    const r = memberSchema.safeParse(parse(text));
    expect(r.error?.issues).toBeUndefined();
    expect(r.data).toMatchObject({ handle: "amap-belleville", status: "active", contact: { email: "todo@amap-belleville.invalid" }, sites: [], databases: [], ssh_keys: [] });
    expect(text.match(/# TODO/g)).toHaveLength(2);
  });

  it("a member with given values has them, and no TODO for them", () => {
    const text = memberYaml({ handle: "amap", name: 'AMAP "Belleville": légumes', email: "bureau@amap.example", sshKeys: [KEY], php: "8.2", command: "x" });
    const r = memberSchema.parse(parse(text));
    expect(r).toMatchObject({ name: 'AMAP "Belleville": légumes', contact: { email: "bureau@amap.example" }, ssh_keys: [KEY] });
    expect(text).not.toContain("TODO: the member's full name");
  });

  it("a VPS passes the schema with its size and addresses", () => {
    const text = vpsYaml({ handle: "velo-libre", name: "compta", sizeName: "medium", size: SIZES.medium, hypervisor: "hv2", hypervisorWhy: "why\nmore", image: "debian-12", ipv4: "203.0.113.22", ipv6: "2001:db8:42::22", dnsSuggestion: "compta.velo-libre.example", defaultName: "compta.velo-libre.vps.globenet.example", memberHasKeys: true, command: "x" });
    expect(vpsSchema.parse(parse(text))).toEqual({ hypervisor: "hv2", vcpus: 2, memory_mb: 2048, disk_gb: 20, image: "debian-12", ipv4: "203.0.113.22", ipv6: "2001:db8:42::22" });
    expect(text).toContain("# dns_name: compta.velo-libre.example\n");
    expect(text).toContain('ipv6: "2001:db8:42::22"\n');
  });

  it("a zone passes the schema with no records, its examples commented", () => {
    const text = zoneYaml({ zone: "amap.example", owner: "amap", nameservers: ["ns1.globenet.example", "ns2.globenet.example"], domain: "globenet.example", command: "x" });
    expect(zoneSchema.parse(parse(text))).toEqual({ owner: "amap", ttl: 3600, dnssec: true, records: [] });
    // Written out, not left to the default: a new zone is signed and its file says so.
    expect(parse(text).dnssec).toBe(true);
    // The commented examples are valid records once uncommented.
    const examples = text.split("\n").filter((l) => l.startsWith("#   - {")).map((l) => l.slice(1));
    expect(examples.length).toBeGreaterThanOrEqual(5);
    expect(zoneSchema.safeParse(parse(`owner: amap\nrecords:\n${examples.join("\n")}\n`)).success).toBe(true);
  });
});

// ---- The command on a copy of the repository's data ----------------------------------------

const REPO = join(__dirname, "..");

const copies: string[] = [];
afterAll(() => {
  for (const c of copies) rmSync(c, { recursive: true, force: true });
});

function copyData(): string {
  const root = mkdtempSync(join(tmpdir(), "globenet-new-"));
  copies.push(root);
  for (const d of ["members", "zones"]) cpSync(join(REPO, d), join(root, d), { recursive: true });
  for (const f of readdirSync(REPO).filter((f) => /^Pulumi\.[a-z0-9-]+\.yaml$/.test(f))) cpSync(join(REPO, f), join(root, f));
  return root;
}

function runNew(root: string, ...args: string[]) {
  return cli(["new", ...args, "--root", root]);
}

/** What npm run validate checks: every stack, every file. */
function validationErrors(root: string): string[] {
  return stacksIn(root).flatMap((s) => loadModel(root, s).errors.map((d) => formatDiagnostic(d)));
}

/** Addresses every VPS file and every host in the tree holds, read straight from the YAML. */
function addressesInData(root: string): string[] {
  const out: string[] = [];
  for (const h of readdirSync(join(root, "members"))) {
    const dir = join(root, "members", h, "vps");
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir)) {
      const v = parse(readFileSync(join(dir, f), "utf8")) as { ipv4?: string; ipv6?: string };
      out.push(...[v.ipv4, v.ipv6].filter((a): a is string => !!a));
    }
  }
  for (const s of stacksIn(root)) {
    const inv = parse(readFileSync(join(root, `Pulumi.${s}.yaml`), "utf8")).config["globenet-infra:inventory"];
    for (const h of Object.values(inv.hosts) as Array<{ address: string; ipv4?: string; ipv6?: string }>) out.push(...[h.address, h.ipv4, h.ipv6].filter((a): a is string => !!a));
  }
  return out;
}

/** The pool's address after the highest one in use, computed here without the scaffold's code. */
function expectedNext(root: string, cidr: string): string {
  const [net, len] = ipaddr.parseCIDR(cidr);
  const inPool = addressesInData(root).filter((a) => ipaddr.parse(a).kind() === net.kind() && ipaddr.parse(a).match(net, len));
  const big = (a: string) => ipaddr.parse(a).toByteArray().reduce((n, b) => (n << 8n) | BigInt(b), 0n);
  const highest = inPool.map(big).reduce((m, n) => (n > m ? n : m), 0n);
  expect(highest).toBeGreaterThan(0n); // the repository's data has VPS in both pools
  const next = highest + 1n;
  const n = net.kind() === "ipv4" ? 4 : 16;
  const bytes = Array.from({ length: n }, (_, i) => Number((next >> BigInt(8 * (n - 1 - i))) & 0xffn));
  return ipaddr.fromByteArray(bytes).toString();
}

describe("npm run new on a copy of the repository's data", () => {
  it("new vps: the next free addresses, a hypervisor, validates untouched; the next one takes the following addresses", async () => {
    const root = copyData();
    expect(validationErrors(root)).toEqual([]);
    const want4 = expectedNext(root, "203.0.113.0/25");
    const want6 = expectedNext(root, "2001:db8:42::/64");

    const r = await runNew(root, "vps", "velo-libre", "compta", "--size", "small");
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("wrote members/velo-libre/vps/compta.yaml");
    expect(r.stdout).toContain("next: edit members/velo-libre/vps/compta.yaml, then npm run validate, commit and open a merge request");
    const v = parse(readFileSync(join(root, "members/velo-libre/vps/compta.yaml"), "utf8"));
    expect(v).toEqual({ hypervisor: "hv1", vcpus: 1, memory_mb: 1024, disk_gb: 10, image: "debian-12", ipv4: want4, ipv6: want6 });
    expect(validationErrors(root)).toEqual([]);

    const then4 = expectedNext(root, "203.0.113.0/25");
    const then6 = expectedNext(root, "2001:db8:42::/64");
    const r2 = await runNew(root, "vps", "ondes-libres", "relay", "--size", "medium");
    expect(r2.status).toBe(0);
    const v2 = parse(readFileSync(join(root, "members/ondes-libres/vps/relay.yaml"), "utf8"));
    expect([v2.ipv4, v2.ipv6]).toEqual([then4, then6]);
    expect(toNumber(v2.ipv4)).toBe(toNumber(want4) + 1n);
    expect(toNumber(v2.ipv6)).toBe(toNumber(want6) + 1n);
    expect([v2.vcpus, v2.memory_mb, v2.disk_gb]).toEqual([2, 2048, 20]);
    expect(validationErrors(root)).toEqual([]);

    // npm run validate itself agrees.
    const val = await cli(["validate", "--root", root]);
    expect(withoutPtrWarnings(val.stderr)).toBe("");
    expect(val.status).toBe(0);
  });

  it("new vps goes to another hypervisor when the roomiest one is full in one stack", async () => {
    const root = copyData();
    const prod = join(root, "Pulumi.prod.yaml");
    // hv1 in prod: 2048 MB used by atelier; 3000 MB of capacity leaves 952, under a small VPS's 1024.
    const text = readFileSync(prod, "utf8");
    const edited = text.replace(/(hv1:[\s\S]*?capacity:[\s\S]*?memory_mb: )98304/, "$13000");
    expect(edited).not.toBe(text);
    writeFileSync(prod, edited);
    expect(validationErrors(root)).toEqual([]);
    const r = await runNew(root, "vps", "velo-libre", "compta");
    expect(r.status).toBe(0);
    const file = readFileSync(join(root, "members/velo-libre/vps/compta.yaml"), "utf8");
    expect(parse(file).hypervisor).toBe("hv2");
    expect(file).toContain("not hv1 (not enough memory in stack prod: 952 MB free, 1024 asked)");
    expect(validationErrors(root)).toEqual([]);
  });

  it("new vps refuses an unknown member, an existing VPS, a bad name, and --dry-run writes nothing", async () => {
    const root = copyData();
    const unknown = await runNew(root, "vps", "personne", "web");
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain('no member "personne"');
    const exists = await runNew(root, "vps", "velo-libre", "atelier");
    expect(exists.status).toBe(1);
    expect(exists.stderr).toContain("members/velo-libre/vps/atelier.yaml already exists");
    const bad = await runNew(root, "vps", "velo-libre", "Web_1");
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('"Web_1" is not a VPS name');
    const size = await runNew(root, "vps", "velo-libre", "web", "--size", "huge");
    expect(size.status).toBe(2);
    const dry = await runNew(root, "vps", "velo-libre", "web", "--dry-run");
    expect(dry.status).toBe(0);
    expect(parse(dry.stdout)).toMatchObject({ hypervisor: "hv1", ipv4: expectedNext(root, "203.0.113.0/25") });
    expect(existsSync(join(root, "members/velo-libre/vps/web.yaml"))).toBe(false);
    // The suggestion is in the zone of the member's site, not in its redirect-only zone.
    const jardins = await runNew(root, "vps", "jardins-partages", "compta", "--dry-run");
    expect(jardins.stdout).toContain("# dns_name: compta.jardins-partages.example\n");
    // A departed member (papier-mache) keeps no VPS and owns no zone.
    const departed = await runNew(root, "vps", "papier-mache", "web");
    expect(departed.status).toBe(1);
    expect(departed.stderr).toContain('member "papier-mache" has departed');
    const departedZone = await runNew(root, "zone", "papier-mache.example", "--owner", "papier-mache");
    expect(departedZone.status).toBe(1);
    expect(departedZone.stderr).toContain('member "papier-mache" has departed');
  });

  it("new member: placeholders that validate; refuses a taken, reserved or invalid handle with the schema's message", async () => {
    const root = copyData();
    const r = await runNew(root, "member", "amap-belleville");
    expect(r.status).toBe(0);
    const text = readFileSync(join(root, "members/amap-belleville/member.yaml"), "utf8");
    expect(text).toContain("# TODO: the member's full name");
    expect(r.stdout).toContain("to fill in: name");
    expect(validationErrors(root)).toEqual([]);

    const withValues = await runNew(root, "member", "amis-biblio", "--name", "Les Amis de la Bibliothèque", "--email", "bureau@amis-biblio.example", "--ssh-key", KEY);
    expect(withValues.status).toBe(0);
    expect(parse(readFileSync(join(root, "members/amis-biblio/member.yaml"), "utf8"))).toMatchObject({ name: "Les Amis de la Bibliothèque", contact: { email: "bureau@amis-biblio.example" }, ssh_keys: [KEY] });
    expect(validationErrors(root)).toEqual([]);

    for (const [h, msg] of [
      ["amap-belleville", "members/amap-belleville/ already exists"],
      ["velo-libre", "members/velo-libre/ already exists"],
      ["root", 'handle "root" is a system account name (choose another handle)'],
      ["Velo", `handle "Velo" ${handleProblem("Velo")}`],
    ]) {
      const x = await runNew(root, "member", h as string);
      expect(x.status, h).toBe(1);
      expect(x.stderr).toContain(msg);
    }
    const badEmail = await runNew(root, "member", "autre", "--email", "nope");
    expect(badEmail.status).toBe(1);
    expect(badEmail.stderr).toContain("--email is not an e-mail address");
    expect(existsSync(join(root, "members/autre"))).toBe(false);
  });

  it("new zone: IDNA-normalised, owned, validates untouched; refuses an existing zone and an unknown owner", async () => {
    const root = copyData();
    const r = await runNew(root, "zone", "Vélo-Club.example", "--owner", "velo-libre");
    expect(r.status).toBe(0);
    const file = join(root, "zones/xn--vlo-club-b1a.example.yaml");
    expect(zoneSchema.parse(parse(readFileSync(file, "utf8")))).toEqual({ owner: "velo-libre", ttl: 3600, dnssec: true, records: [] });
    expect(validationErrors(root)).toEqual([]);

    // The member's VPS now gets a suggestion in one of its zones.
    const v = await runNew(root, "vps", "velo-libre", "compta", "--dry-run");
    expect(v.stdout).toContain("# dns_name: compta.velo-libre.example");

    const again = await runNew(root, "zone", "xn--vlo-club-b1a.example", "--owner", "velo-libre");
    expect(again.status).toBe(1);
    expect(again.stderr).toContain("already exists");
    const unknown = await runNew(root, "zone", "neuf.example", "--owner", "personne");
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain('no member "personne"');
    const noOwner = await runNew(root, "zone", "neuf.example");
    expect(noOwner.status).toBe(1);
    expect(existsSync(join(root, "zones/neuf.example.yaml"))).toBe(false);
  });

  it("the safety net: a file that breaks validation is removed again and the errors printed", async () => {
    const root = copyData();
    // A zone inside velo-libre's zone owned by another member, which velo-libre never delegated.
    const r = await runNew(root, "zone", "atelier.velo-libre.example", "--owner", "globenet");
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^zones\/atelier\.velo-libre\.example\.yaml:\d+:\d+ owner: zone atelier\.velo-libre\.example lies inside the zone velo-libre\.example, owned by velo-libre, which delegates no "atelier" to globenet/m);
    expect(r.stderr).toContain("so it was removed again");
    expect(existsSync(join(root, "zones/atelier.velo-libre.example.yaml"))).toBe(false);
    expect(validationErrors(root)).toEqual([]);
  });

  it("refuses to work on a tree that does not validate", async () => {
    const root = copyData();
    writeFileSync(join(root, "zones/velo-libre.example.yaml"), "owner: personne\nrecords: []\n");
    const r = await runNew(root, "member", "amap-belleville");
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("the data does not validate as it is");
    expect(existsSync(join(root, "members/amap-belleville"))).toBe(false);
  });
});

function toNumber(a: string): bigint {
  return ipaddr.parse(a).toByteArray().reduce((n, b) => (n << 8n) | BigInt(b), 0n);
}
