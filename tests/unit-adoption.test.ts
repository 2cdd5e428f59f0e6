import { describe, expect, it } from "vitest";
import { adoptionOf, definedOnly, importIdOf, keysOfUrns, parseImportId, resourceKey } from "../provider/adopt-ids";
import { keptPasswordProblem, nativePasswordHash } from "../provider/resources/database";
import { liveDiskPath } from "../provider/resources/guest-check";
import { RESOURCE_TOKENS } from "../lib/base/tokens";
import { specText } from "../lib/base/spec-inputs";
import { formatAdoption, judgeAdoption } from "../lib/guard/adoption";
import { parsePlan, stepFromEvent, type PlanStep } from "../lib/guard/plan";

/** Adoption's pure parts: which resource is imported with which id, the kept password's checks, the adoption guard. */

const target = { name: "web1", address: "192.0.2.10", port: 22, user: "root", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample host" };
const account = { target, handle: "velo-libre", home: "/home/velo-libre", status: "active", sshKeys: [], sites: ["velo-libre.example"], archiveDir: "/var/a", diskQuotaMb: 1000, inodeQuota: 10_000, sshd: { dropinDir: "/etc/ssh/sshd_config.d", pidFile: "/run/sshd.pid" }, contact: "h@globenet.example", archives: undefined };
const database = { target, handle: "velo-libre", home: "/home/velo-libre", name: "velo_wp", user: "velo_wp", clientHost: "localhost", limits: { max_user_connections: 10 }, status: "active", archiveDir: "/var/a", password: undefined, archives: undefined };
const guest = {
  target,
  domain: "velo-libre--atelier",
  xml: "<domain type='kvm'><name>velo-libre--atelier</name></domain>",
  seed: { userData: "#cloud-config\n", metaData: "", networkConfig: "" },
  baseImage: "/var/lib/libvirt/images/base/debian-12.qcow2",
  diskPath: "/var/lib/libvirt/images/velo-libre--atelier.qcow2",
  seedPath: "/var/lib/libvirt/images/velo-libre--atelier-seed.iso",
  diskGb: 20,
  vcpus: 2,
  memoryMb: 2048,
  running: true,
  archiveDir: "/var/a",
  shutdownTimeoutSec: 90,
  uuid: undefined,
  archives: undefined,
};
const { xml: _xml, seed: _seed, uuid: _uuid, archives: _archives, ...plainGuest } = guest;
const guestRefs = { ...plainGuest, xmlRef: "a".repeat(64), seedRefs: { userData: "b".repeat(64), metaData: "c".repeat(64), networkConfig: "d".repeat(64) }, fileStore: "/srv/data/.pulumi/globenet-files" };
const files = { target, kind: "php-fpm", phpVersion: "8.2", files: { "pool.d/velo-libre.conf": "[velo-libre]\n" } };

describe("which resources adoption imports, with which ids", () => {
  const none = new Set<string>();
  it.each([
    ["an account: id = handle, facts = its inputs", RESOURCE_TOKENS.account, "velo-libre", account, "velo-libre", { ...account, archives: undefined }],
    ["a database: id = its name, never a password", RESOURCE_TOKENS.database, "velo_wp", database, "velo_wp", { ...database, password: undefined, archives: undefined }],
    ["an account as the program registers it (spec, one JSON text): the same id and facts", RESOURCE_TOKENS.account, "velo-libre", { spec: JSON.stringify(account), archives: undefined }, "velo-libre", { ...account, archives: undefined }],
    ["a database as the program registers it (spec)", RESOURCE_TOKENS.database, "velo_wp", { spec: JSON.stringify(database), password: undefined, archives: undefined }, "velo_wp", { ...database, password: undefined, archives: undefined }],
    ["a file set: id = host:kind:php version, the files are read from the host", RESOURCE_TOKENS.fileSet, "web1-php8.2", files, "web1:php-fpm:8.2", { target, kind: "php-fpm", phpVersion: "8.2" }],
    [
      "a VPS: id = its domain; what runs (vCPUs, memory, disk size, seed, running, base image) is read, not sent",
      RESOURCE_TOKENS.guest,
      "velo-libre--atelier",
      guest,
      "velo-libre--atelier",
      { target, domain: guest.domain, xml: guest.xml, diskPath: guest.diskPath, seedPath: guest.seedPath, archiveDir: "/var/a", shutdownTimeoutSec: 90 },
    ],
    [
      "a VPS as the program registers it (refs): the XML's ref and the store travel, the seed's refs do not",
      RESOURCE_TOKENS.guest,
      "velo-libre--atelier",
      { ...guestRefs, uuid: undefined, archives: undefined },
      "velo-libre--atelier",
      { target, domain: guest.domain, xmlRef: guestRefs.xmlRef, diskPath: guest.diskPath, seedPath: guest.seedPath, archiveDir: "/var/a", shutdownTimeoutSec: 90, fileStore: "/srv/data/.pulumi/globenet-files" },
    ],
    [
      "a VPS as the program registers it (spec: the refs as one JSON text): the same id and facts",
      RESOURCE_TOKENS.guest,
      "velo-libre--atelier",
      { spec: specText(guestRefs), uuid: undefined, archives: undefined },
      "velo-libre--atelier",
      { target, domain: guest.domain, xmlRef: guestRefs.xmlRef, diskPath: guest.diskPath, seedPath: guest.seedPath, archiveDir: "/var/a", shutdownTimeoutSec: 90, fileStore: "/srv/data/.pulumi/globenet-files" },
    ],
    ["a bind set has no php version", RESOURCE_TOKENS.fileSet, "ns1-bind", { target, kind: "bind-primary", files: {} }, "web1:bind-primary", { target, kind: "bind-primary" }],
  ])("%s", (_what, type, name, props, id, facts) => {
    const d = adoptionOf({ type, name, custom: true, props }, none);
    expect(d.kind).toBe("import");
    if (d.kind !== "import") return;
    expect(d.id).toBe(id);
    expect(d.importId.startsWith(`${id}@adopt:`)).toBe(true);
    expect(parseImportId(d.importId)).toEqual({ id, facts: JSON.parse(JSON.stringify(facts)) });
    expect(d.importId).not.toContain("password");
  });

  it.each([
    ["already in the state", RESOURCE_TOKENS.account, "velo-libre", true, new Set([resourceKey(RESOURCE_TOKENS.account, "velo-libre")]), "as-is"],
    ["a component", "globenet:member:Member", "velo-libre", false, none, "as-is"],
    ["a member's crontab block is made anew (the member's own lines stay)", RESOURCE_TOKENS.crontab, "velo-libre", true, none, "create"],
    ["the transfer key is made anew", RESOURCE_TOKENS.transferKey, "ns1-transfer-key", true, none, "create"],
    ["a backup client is made anew (it keeps a key already there)", RESOURCE_TOKENS.backupClient, "web1-backup-client", true, none, "create"],
    ["a backup repository is refused", RESOURCE_TOKENS.backupRepository, "web1-backup-repository", true, none, "refuse"],
  ])("%s", (_what, type, name, custom, inState, kind) => {
    const d = adoptionOf({ type, name, custom, props: {} }, inState);
    expect(d.kind).toBe(kind);
    if (d.kind === "refuse") expect(d.message).toMatch(new RegExp(`^${type} ${name}: .* (leave|adopt without)`));
  });

  it("a split web host's part is refused, saying to adopt before splitting; the host's own set is adopted", () => {
    const props = { target: { name: "web1" }, kind: "apache2", files: {} };
    const part = adoptionOf({ type: RESOURCE_TOKENS.fileSet, name: "web1-b0-apache2", custom: true, props: { ...props, part: "b0" } }, none);
    expect(part).toEqual({ kind: "refuse", message: expect.stringContaining("adopting a web host whose members are split by hash is not supported: adopt it with its members in its own shard") });
    expect(adoptionOf({ type: RESOURCE_TOKENS.fileSet, name: "web1-apache2", custom: true, props }, none).kind).toBe("import");
  });

  it("reads the state's URNs as the transform names resources; an ordinary id is no adoption id", () => {
    expect([...keysOfUrns(["urn:pulumi:lab::globenet-infra::globenet:member:Member$globenet:hosting:Account::velo-libre", "urn:pulumi:lab::globenet-infra::pulumi:pulumi:Stack::globenet-infra-lab"])]).toEqual([
      "globenet:hosting:Account::velo-libre",
      "pulumi:pulumi:Stack::globenet-infra-lab",
    ]);
    expect(parseImportId("velo-libre")).toBeUndefined();
    expect(parseImportId("web1:apache2")).toBeUndefined();
    expect(() => parseImportId("x@adopt:bm90IGpzb24")).toThrow(/damaged/);
    expect(() => importIdOf("a@adopt:b", {})).toThrow(/cannot contain/);
  });
});

describe("an adopted guest's system disk, from the live definition", () => {
  it.each([
    ["the first disk device, after a cdrom", "<domain><devices><disk type='file' device='cdrom'><source file='/i/seed.iso'/></disk><disk type='file' device='disk'><source file='/i/a.qcow2'/></disk></devices></domain>", "/i/a.qcow2"],
    ["a disk without a device attribute is a disk", `<domain><devices><disk type="file"><source file="/i/b.qcow2"/></disk></devices></domain>`, "/i/b.qcow2"],
    ["a block (LVM) disk has no file", "<domain><devices><disk type='block' device='disk'><source dev='/dev/vg/x'/></disk></devices></domain>", undefined],
    ["a commented-out disk does not count", "<domain><devices><!-- <disk device='disk'><source file='/old.qcow2'/></disk> --></devices></domain>", undefined],
  ])("%s", (_what, xml, disk) => expect(liveDiskPath(xml)).toBe(disk));
});

describe("a database password is kept only when the host proves it", () => {
  const pw = "Abcdefghijklmnop_0123456789-xyzAB";
  it("hashes as MariaDB's mysql_native_password does", () => {
    // SELECT PASSWORD('password') on MariaDB.
    expect(nativePasswordHash("password")).toBe("*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19");
  });
  it.each([
    ["the file's password opens the account", pw, { plugin: "mysql_native_password", auth: nativePasswordHash(pw) }, undefined],
    ["no account yet: the update makes it with this password", pw, undefined, undefined],
    ["no password line", undefined, undefined, /no password= line/],
    ["a password with a quote", "abc'defghijklmnopq", undefined, /not one this provider writes/],
    ["too short", "short", undefined, /not one this provider writes/],
    ["another password", pw, { plugin: "mysql_native_password", auth: nativePasswordHash("other-password-123") }, /does not open/],
    ["another plugin", pw, { plugin: "ed25519", auth: "xyz" }, /authenticates with ed25519/],
  ])("%s", (_what, password, acct, problem) => {
    const p = keptPasswordProblem(password, acct);
    if (problem === undefined) expect(p).toBeUndefined();
    else expect(p).toMatch(problem);
    if (p && password) expect(p).not.toContain(password);
  });
});

describe("the adoption guard", () => {
  const urn = (type: string, name: string) => `urn:pulumi:lab::globenet-infra::globenet:member:Member$${type}::${name}`;
  const step = (op: string, type: string, name: string, diffs?: string[]): PlanStep => ({ op, urn: urn(type, name), type, name, diffs });
  const A = RESOURCE_TOKENS.account;
  const D = RESOURCE_TOKENS.database;
  const F = RESOURCE_TOKENS.fileSet;
  it.each([
    ["imports and updates pass", [step("create", "globenet:member:Member", "velo-libre"), step("import", A, "velo-libre"), step("update", A, "velo-libre", ["marked"]), step("import", D, "velo_wp"), step("import", F, "lab-bind")], true, []],
    ["a created transfer key passes", [step("create", RESOURCE_TOKENS.transferKey, "ns1-transfer-key")], true, []],
    ["a replaced database is refused, once, naming what differs", [step("replace", D, "velo_wp", ["user"]), step("create-replacement", D, "velo_wp"), step("delete-replaced", D, "velo_wp")], false, [`${D} velo_wp would be replaced (made anew) because of user`]],
    ["a delete is refused", [step("delete", A, "old-member")], false, [`${A} old-member would be deleted`]],
    [
      "a replacement whose first step carries no diffs still names what differs (a VPS's disk)",
      [step("delete-replaced", RESOURCE_TOKENS.guest, "a--vm"), step("replace", RESOURCE_TOKENS.guest, "a--vm", ["diskPath", "baseImage"]), step("create-replacement", RESOURCE_TOKENS.guest, "a--vm", ["diskPath", "baseImage"])],
      false,
      [`${RESOURCE_TOKENS.guest} a--vm would be replaced (made anew) because of baseImage, diskPath: adoption keeps what runs`],
    ],
    ["an import over something else in the state is refused", [step("import-replacement", F, "lab-apache2")], false, [`${F} lab-apache2 would be replaced`]],
  ])("%s", (_what, steps, ok, starts) => {
    const v = judgeAdoption({ stack: "lab", steps });
    expect(v.ok).toBe(ok);
    expect(v.refused.map((r) => r.message.en.slice(0, (starts[0] ?? "").length))).toEqual(starts);
    expect(v.refused.every((r) => r.message.fr.length > 0)).toBe(true);
  });

  it("says what it takes over and updates, in English and French", () => {
    const v = judgeAdoption({ stack: "lab", steps: [step("import", A, "velo-libre"), step("update", A, "velo-libre", ["marked"]), step("import", D, "velo_wp")] });
    expect(formatAdoption(v)).toBe(`adoption: OK — 2 object(s) taken over from the hosts, 1 updated to git, 0 created; nothing is replaced or deleted.\n  update  ${A} velo-libre: marked`);
    expect(formatAdoption(judgeAdoption({ stack: "lab", steps: [step("delete", A, "x")] }), "fr")).toMatch(/^adoption : REFUSÉE[^\n]*\n  globenet:hosting:Account x serait supprimé/);
  });

  it("says which VPS its updates restart (hardware), not those whose seed alone changes; in English and French", () => {
    const G = RESOURCE_TOKENS.guest;
    const v = judgeAdoption({ stack: "lab", steps: [step("import", G, "a--same"), step("update", G, "a--same", ["seedRefs"]), step("import", G, "b--more"), step("update", G, "b--more", ["memoryMb", "seedRefs", "xmlRef"])] });
    expect(v.ok).toBe(true);
    expect(v.guestRestarts).toEqual([{ name: "b--more", keys: ["memoryMb", "xmlRef"] }]);
    expect(formatAdoption(v)).toContain("\n  restart  VPS b--more: its update stops and starts it to apply memoryMb, xmlRef (make the data say what runs");
    expect(formatAdoption(v, "fr")).toContain("\n  redémarrage  VPS b--more : sa mise à jour l'arrête puis le redémarre pour appliquer memoryMb, xmlRef");
    expect(formatAdoption(v)).not.toContain("VPS a--same");
  });

  it("says which secondary name servers it takes over, with the zones whose hand-made copies they keep serving; in English and French", () => {
    const target = { name: "ns2", address: "198.51.100.53", port: 22, user: "root", hostKey: "k" };
    const upd: PlanStep = { ...step("update", F, "ns2-bind"), old: { target, kind: "bind-secondary", files: {} }, new: { target, kind: "bind-secondary", files: {}, takeover: ["alpha.example", "beta.example"] } };
    // The primary's takeover is an update too, but not a secondary's: nothing said of it here.
    const primary: PlanStep = { ...step("update", F, "ns1-bind"), old: { target: { ...target, name: "ns1" }, kind: "bind-primary", files: {} }, new: { target: { ...target, name: "ns1" }, kind: "bind-primary", files: {}, takeover: ["alpha.example"] } };
    const v = judgeAdoption({ stack: "lab", steps: [step("import", F, "ns2-bind"), upd, step("import", F, "ns1-bind"), primary] });
    expect(v.ok).toBe(true);
    expect(v.secondaryTakeovers).toEqual([{ host: "ns2", zones: ["alpha.example", "beta.example"] }]);
    expect(formatAdoption(v)).toContain("\n  secondary  ns2: its hand-made copies of alpha.example, beta.example become Globenet's before its reload; it serves them until the first transfer signed with Globenet's key");
    expect(formatAdoption(v, "fr")).toContain("\n  secondaire  ns2 : ses copies faites à la main de alpha.example, beta.example deviennent celles de Globenet avant son rechargement");
    // Zones taken over before are not said again; a set without a takeover says nothing.
    const again: PlanStep = { ...upd, old: { ...upd.old, takeover: ["alpha.example"] } };
    expect(judgeAdoption({ stack: "lab", steps: [again] }).secondaryTakeovers).toEqual([{ host: "ns2", zones: ["beta.example"] }]);
    expect(judgeAdoption({ stack: "lab", steps: [{ ...upd, new: { ...upd.new, takeover: [] } }] }).secondaryTakeovers).toEqual([]);
  });

  it("reads what a step changes from its inputs when the engine gives no list (an update or a replacement after an import)", () => {
    const G = RESOURCE_TOKENS.guest;
    const old = { domain: "b--more", memoryMb: 256, diskPath: "/i/by-hand.qcow2", seed: { userData: "" } };
    const upd: PlanStep = { ...step("update", G, "b--more"), old, new: { ...old, memoryMb: 384, seed: { userData: "#cloud-config" } } };
    expect(judgeAdoption({ stack: "lab", steps: [upd] }).guestRestarts).toEqual([{ name: "b--more", keys: ["memoryMb"] }]);
    const rep: PlanStep = { ...step("replace", G, "b--more"), old, new: { ...old, diskPath: "/i/b--more.qcow2" } };
    expect(judgeAdoption({ stack: "lab", steps: [step("delete-replaced", G, "b--more"), rep] }).refused[0]?.message.en).toMatch(/^globenet:vm:Guest b--more would be replaced \(made anew\) because of diskPath:/);
  });

  it("reads a guest's changes inside spec, which the engine names as a whole, from an engine event or a CLI plan", () => {
    const G = RESOURCE_TOKENS.guest;
    const old = { ...guestRefs, memoryMb: 256 };
    const news = { ...guestRefs, memoryMb: 384, seedRefs: { ...guestRefs.seedRefs, userData: "e".repeat(64) } };
    const event = stepFromEvent({ urn: step("update", G, "b--more").urn, op: "update", old: { inputs: { spec: specText(old) } }, new: { inputs: { spec: specText(news) } }, diffs: ["spec"] }) as PlanStep;
    const cli = parsePlan(JSON.stringify({ steps: [{ op: "update", urn: event.urn, oldState: { inputs: { spec: specText(old) } }, newState: { inputs: { spec: specText(news) } }, diffs: ["spec"] }] }), "plan.json").steps[0] as PlanStep;
    for (const s of [event, cli]) {
      const v = judgeAdoption({ stack: "lab", steps: [s] });
      expect(v.updated).toEqual([`${G} b--more: memoryMb, seedRefs`]);
      expect(v.guestRestarts).toEqual([{ name: "b--more", keys: ["memoryMb"] }]);
    }
  });
});

describe("an adoption's answer travels as protobuf Structs, which refuse undefined", () => {
  it.each([
    [{ a: 1, b: undefined, c: { d: undefined, e: "x" } }, { a: 1, c: { e: "x" } }],
    [{ list: [1, undefined, { f: undefined }] }, { list: [1, null, {}] }],
    [{ s: "", n: null, z: 0, f: false }, { s: "", n: null, z: 0, f: false }],
  ])("%j", (given, want) => {
    expect(definedOnly(given)).toEqual(want);
    expect(JSON.stringify(definedOnly(given))).toBe(JSON.stringify(want));
  });
});
