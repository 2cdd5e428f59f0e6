/**
 * The bind file set against a compromised bind user, for real: named (as bind) and the
 * provider over SSH as root on this machine, the data rendered from a data tree that gives a
 * member a delegated sub-zone of Globenet's zone.
 *
 * /var/lib/bind and /var/cache/bind are root:bind 0775 on Debian: whoever runs as bind can
 * rename anything in them and plant links. The apply used to keep its generations there
 * (/var/lib/bind/globenet.d) and prune them as root with rm -rf "$gens"/*: a bind user that
 * replaced that folder by a link to any directory had root empty it. Each attack below plants
 * links as the bind user (setpriv), applies, and checks that the root-owned target is intact
 * while the apply's own work (serving, cleaning up) still happens.
 */
import { chmodSync, existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadModel } from "../lib/check/build";
import { renderAll, SERIAL_TOKEN } from "../lib/render";
import { fileSetType, type FileSetInputs, type FileSetOutputs } from "../provider/resources/file-set";
import { pool } from "../provider/ssh/pool";
import { baseFiles, writeTree } from "./helpers/data-tree";
import { snapshotPaths, startBind, waitFor, type Bind, type Snapshot } from "./helpers/daemons-web";
import { startSshd, type Sshd } from "./helpers/sshd";
import { requireRoot, requireTool, requireTools, run } from "./helpers/tools";

const ok =
  requireTools("sshd", "ssh-keygen", "named", "named-checkconf", "named-checkzone", "dig", "setpriv") &&
  requireTool("rndc", "bind9-utils") &&
  requireRoot("the provider reconfigures this machine's BIND as root, and the test acts as the bind user");

const SIGNING = "/var/lib/bind/globenet-signing";
const KEYS = "/var/lib/bind/globenet-keys";
const LEGACY_GENS = "/var/lib/bind/globenet.d";
const LEGACY_ROOT = "/var/lib/bind/globenet";
const SNAPSHOT = ["/etc/bind", "/var/cache/bind/globenet", SIGNING, KEYS, LEGACY_ROOT, LEGACY_GENS];

/** As the bind user: what a compromised named could do. */
const asBind = (...cmd: string[]) => run("setpriv", ["--reuid=bind", "--regid=bind", "--clear-groups", "--", ...cmd]);

/** The test's data: one DNS host (127.0.0.1, so NOTIFY goes nowhere else) and velo-libre's delegated sub-zone of Globenet's zone. */
function bindFiles(zones: { veloLibre: boolean; txt?: string }): Record<string, string> {
  const inventory = (baseFiles()["Pulumi.test.yaml"] as string)
    .replace(/ {6}ns2:\n(?: {8}.*\n)+/, "")
    .replace("fqdn: ns1.globenet.example\n        address: 192.0.2.53", "fqdn: ns1.globenet.example\n        address: 127.0.0.1");
  const root = writeTree({
    "Pulumi.test.yaml": inventory,
    "zones/globenet.example.yaml": "owner: globenet\nrecords: []\ndelegations:\n  - { name: velo, to: velo-libre }\n",
    "zones/velo.globenet.example.yaml": `owner: velo-libre\nrecords:\n  - { name: "@", type: TXT, value: "${zones.txt ?? "velo sub-zone"}" }\n`,
    ...(zones.veloLibre ? {} : { "zones/velo-libre.example.yaml": null, "members/velo-libre/member.yaml": (baseFiles()["members/velo-libre/member.yaml"] as string).replace(/sites:[\s\S]*?databases:/, "databases:") }),
  });
  const { model, errors } = loadModel(root, "test");
  if (!model) throw new Error(`the test's tree does not validate:\n${errors.map((e) => `${e.file}:${e.line} ${e.message}`).join("\n")}`);
  const files: Record<string, string> = {};
  for (const f of renderAll(model, { serial: () => SERIAL_TOKEN })) if (f.host === "ns1" && f.daemon === "bind") files[f.path.replace(/^bind\//, "")] = f.content;
  return files;
}

describe.skipIf(!ok)("bind file set: a compromised bind user's links never make root remove or write elsewhere", () => {
  let sshd: Sshd | undefined;
  let bind: Bind | undefined;
  let snapshot: Snapshot | undefined;
  let victim = "";
  let varLibBindMode = 0;
  let outs: FileSetOutputs;
  let id = "";
  const target = () => ({ name: "ns1", address: "127.0.0.1", port: sshd?.port ?? 0, user: "root", hostKey: sshd?.hostKey ?? "" });
  const inputs = (files: Record<string, string>): FileSetInputs => ({ target: target(), kind: "bind-primary", files });
  const dig = (...args: string[]) => run("dig", ["@127.0.0.1", "-p", String(bind?.port ?? 0), "+time=2", "+tries=1", ...args]).stdout.trim();
  /** A root-owned folder outside BIND's, with files an attacker would like gone. */
  const victimFiles = () => Object.fromEntries(readdirSync(victim).sort().map((f) => [f, lstatSync(join(victim, f)).isSymbolicLink() ? "link" : readFileSync(join(victim, f), "utf8")]));
  const untouched = { "precious.conf": "root's own file\n", "x.zone.signed": "not bind's\n" };

  beforeAll(async () => {
    for (const p of ["/etc/bind/globenet", "/etc/bind/globenet.d", LEGACY_ROOT, LEGACY_GENS]) {
      if (existsSync(p)) throw new Error(`${p} exists: a lab or an earlier run uses this machine's BIND; this test would clobber it`);
    }
    snapshot = snapshotPaths(SNAPSHOT);
    // Debian's own mode (bind9's postinst: root:bind 0775), whatever an earlier apply left.
    varLibBindMode = statSync("/var/lib/bind").mode & 0o7777;
    chmodSync("/var/lib/bind", 0o775);
    victim = mkdtempSync("/var/tmp/globenet-victim-");
    chmodSync(victim, 0o755);
    for (const [f, c] of Object.entries(untouched)) writeFileSync(join(victim, f), c, { mode: 0o600 });
    sshd = await startSshd();
    process.env.GLOBENET_SSH_KEY_FILE = sshd.keyFile;
    bind = await startBind();
  }, 60_000);

  afterAll(async () => {
    const errors: unknown[] = [];
    for (const step of [() => pool.close(), () => bind?.stop(), () => sshd?.stop(), () => snapshot?.restore(), () => varLibBindMode && chmodSync("/var/lib/bind", varLibBindMode), () => rmSync(victim, { recursive: true, force: true })]) {
      try {
        await step();
      } catch (e) {
        errors.push(e);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, `cleanup failed: ${errors.map(String).join("; ")}`);
  }, 60_000);

  it("serves Globenet's zone and the member's delegated sub-zone; the generations are in /etc/bind, which bind cannot write", async () => {
    const r = await fileSetType.create(inputs(bindFiles({ veloLibre: true })));
    id = r.id;
    outs = r.outs;
    expect(readlinkOf("/etc/bind/globenet")).toBe(`/etc/bind/globenet.d/${outs.generation}`);
    await waitFor("the member's sub-zone to answer", () => dig("+short", "velo.globenet.example", "TXT") === '"velo sub-zone"', 30_000);
    expect(dig("+short", "velo.globenet.example", "SOA")).toMatch(/^ns1\.globenet\.example\. /);
    // Names below it are answered from the sub-zone; the parent's live file delegates it.
    expect(dig("+norec", "+noall", "+authority", "x.velo.globenet.example", "A")).toMatch(/^velo\.globenet\.example\.\s+\d+\s+IN\s+SOA\s+ns1\.globenet\.example\./m);
    expect(readFileSync("/etc/bind/globenet/zones/globenet.example.zone", "utf8")).toMatch(/^velo\s+IN NS\s+ns1\.globenet\.example\. ; derived: sub-zone velo\.globenet\.example$/m);
    expect(dig("+short", "velo-libre.example", "SOA")).toMatch(/^ns1\.globenet\.example\. /);
    // The folders named writes in were made by bind; the signing links too.
    for (const d of [SIGNING, KEYS, "/var/cache/bind/globenet"]) expect(ownerOf(d), d).toBe("bind");
    expect(lstatSync(`${SIGNING}/velo.globenet.example.zone`).uid).toBe(uidOf("bind"));
    // Debian's modes are left as they are; bind can neither plant in /etc/bind nor move the generations away.
    expect(statSync("/var/lib/bind").mode & 0o7777).toBe(0o775);
    expect(statSync("/etc/bind").mode & 0o7777).toBe(0o2755);
    expect(asBind("ln", "-s", victim, "/etc/bind/globenet.d.x").stderr).toMatch(/Permission denied/);
    expect(asBind("mv", "-T", "/etc/bind/globenet.d", "/var/lib/bind/moved").stderr).toMatch(/Permission denied/);
    expect(existsSync("/etc/bind/globenet.d.x")).toBe(false);
  }, 120_000);

  it("a link planted at the old generations' place (/var/lib/bind/globenet.d) is removed, its target left whole", async () => {
    // The old layout's prune, rm -rf "$gens"/*, would have emptied the target.
    expect(asBind("ln", "-s", victim, LEGACY_GENS).status).toBe(0);
    expect(asBind("ln", "-s", victim, LEGACY_ROOT).status).toBe(0);
    outs = await fileSetType.update(id, outs, inputs(bindFiles({ veloLibre: true, txt: "velo sub-zone, v2" })));
    expect(victimFiles()).toEqual(untouched);
    expect(lstatExists(LEGACY_GENS)).toBe(false);
    expect(lstatExists(LEGACY_ROOT)).toBe(false);
    await waitFor("the update to be served", () => dig("+short", "velo.globenet.example", "TXT") === '"velo sub-zone, v2"', 30_000);
  }, 120_000);

  it("a removed zone's signed copy replaced by a link to a root file: the link goes, the file stays, the cleanup happens", async () => {
    const link = `${SIGNING}/velo-libre.example.zone`;
    await waitFor("named to write velo-libre.example's signed copy", () => existsSync(`${link}.signed`), 30_000);
    // bind swaps named's files for links to root's: the signed copy to a file, a journal to the folder.
    expect(asBind("ln", "-sfn", join(victim, "precious.conf"), `${link}.signed`).status).toBe(0);
    expect(asBind("ln", "-sfn", victim, `${link}.jnl`).status).toBe(0);
    outs = await fileSetType.update(id, outs, inputs(bindFiles({ veloLibre: false, txt: "velo sub-zone, v2" })));
    expect(victimFiles()).toEqual(untouched);
    for (const f of ["", ".signed", ".jnl", ".signed.jnl", ".jbk"]) expect(lstatExists(`${link}${f}`), `${link}${f}`).toBe(false);
    // The zones still served keep their links; named no longer serves the removed one.
    expect(readlinkOf(`${SIGNING}/velo.globenet.example.zone`)).toBe("/etc/bind/globenet/zones/velo.globenet.example.zone");
    await waitFor("velo-libre.example to be gone", () => dig("+short", "velo-libre.example", "SOA") === "", 30_000);
    expect(dig("+short", "velo.globenet.example", "TXT")).toBe('"velo sub-zone, v2"');
  }, 120_000);

  it("the signing folder replaced by a link: refused, nothing removed or created through it", async () => {
    expect(asBind("mv", "-T", SIGNING, "/var/lib/bind/signing-moved").status).toBe(0);
    expect(asBind("ln", "-s", victim, SIGNING).status).toBe(0);
    // What the old cleanup loop would have taken for a stale signing link: x.zone, and x.zone.signed beside it.
    run("ln", ["-s", "/nonexistent", join(victim, "x.zone")]);
    const before = victimFiles();
    const err = await fileSetType.update(id, outs, inputs(bindFiles({ veloLibre: true, txt: "velo sub-zone, v2" }))).then(
      () => "",
      (e: unknown) => String(e),
    );
    expect(err).toContain(`refusing ${SIGNING}: it is a symbolic link`);
    expect(victimFiles()).toEqual(before);
    expect(readdirSync(victim)).not.toContain("velo-libre.example.zone");
    // Put back by bind, the next apply goes through.
    expect(asBind("rm", SIGNING).status).toBe(0);
    expect(asBind("mv", "-T", "/var/lib/bind/signing-moved", SIGNING).status).toBe(0);
    rmSync(join(victim, "x.zone"));
    const fresh = await fileSetType.read(id, outs);
    outs = await fileSetType.update(id, fresh as FileSetOutputs, inputs(bindFiles({ veloLibre: true, txt: "velo sub-zone, v2" })));
    await waitFor("velo-libre.example to be back", () => dig("+short", "velo-libre.example", "SOA") !== "", 30_000);
  }, 120_000);

  it("delete: bind's signing folder emptied by bind, the set and the include gone; keys kept", async () => {
    expect(asBind("ln", "-sfn", join(victim, "precious.conf"), `${SIGNING}/planted.zone.signed`).status).toBe(0);
    // As the provider before this fix left it (install -d reset it at every apply): bind may
    // not remove its folder from /var/lib/bind, so it empties it and root removes it empty.
    chmodSync("/var/lib/bind", 0o755);
    await fileSetType.delete(id, outs);
    expect(victimFiles()).toEqual(untouched);
    expect(lstatExists(SIGNING)).toBe(false);
    expect(existsSync("/etc/bind/globenet")).toBe(false);
    expect(existsSync("/etc/bind/globenet.d")).toBe(false);
    expect(readFileSync("/etc/bind/named.conf.local", "utf8")).not.toContain("globenet");
    expect(readdirSync(KEYS).some((f) => f.startsWith("Kvelo.globenet.example."))).toBe(true);
  }, 120_000);
});

function lstatExists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

function readlinkOf(p: string): string {
  return run("readlink", [p]).stdout.trim();
}

function uidOf(user: string): number {
  return Number(run("id", ["-u", user]).stdout.trim());
}

function ownerOf(p: string): string {
  return statSync(p).uid === uidOf("bind") ? "bind" : String(statSync(p).uid);
}
