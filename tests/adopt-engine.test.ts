import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { captureIo } from "../lib/cli/command";
import { engineCommand } from "../lib/cli/engine";
import { openStack } from "../lib/engine/driver";
import { previewPlan } from "../lib/guard/collect";
import { parsePlan } from "../lib/guard/plan";
import { inventory, member, RealHosts } from "./helpers/small-tree";
import type { Sshd } from "./helpers/sshd";
import { requireRoot, requireTools, run } from "./helpers/tools";

/**
 * Adoption on real daemons (docs/architecture.md, "Adoption"): a first stack creates one
 * member (a site, a database with rows) and one signed zone; a second state that knows none of
 * it adopts them through the real command (npm run preview|up -- --adopt): the preview has
 * no create, replace or delete of a provider resource, the database keeps its rows and its
 * password, the zone its DNSSEC keys and its serial; the guard refuses an adoption that would
 * delete; afterwards an ordinary preview finds nothing to do, and one edit is one update.
 */
const ok =
  requireTools("sshd", "ssh-keygen", "apache2ctl", "named", "named-checkzone", "dig", "mariadbd", "mariadb", "useradd", "curl") &&
  requireRoot("the provider manages users and daemons on this machine");

const NO_TLS = "adoption test without an ACME CA";
const CNF = "/home/velo-libre/.my.cnf.d/velo_libre_db.cnf";
const ZONE_FILE = "/etc/bind/globenet/zones/velo-libre.test.zone";
const KEYS = "/var/lib/bind/globenet-keys";
const PROVIDER_TYPES = /^globenet:(files:FileSet|hosting:Account|db:Database)$/;

describe.skipIf(!ok)("adopting what runs into a state that knows none of it", () => {
  const hosts = new RealHosts();
  let sshd: Sshd;
  let root: string;
  let stack: Stack;
  const saved: Record<string, string | undefined> = {};
  const write = (rel: string, content: string) => {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), content);
  };
  const sql = (q: string) => run("mariadb", ["--defaults-file=/home/velo-libre/.my.cnf", "--defaults-group-suffix=_velo_libre_db", "-N", "-e", q]);
  const dnskeys = () => run("dig", ["+short", "-p", String(hosts.bindPort), "@127.0.0.1", "velo-libre.test", "DNSKEY"]).stdout.trim().split("\n").sort().join("\n");
  const serial = () => /^\s*(\d+)\s*;\s*serial/m.exec(readFileSync(ZONE_FILE, "utf8"))?.[1];
  const keyFiles = () => readdirSync(KEYS).filter((f) => f.startsWith("Kvelo-libre.test.")).map((f) => `${f} ${statSync(join(KEYS, f)).mtimeMs}`).sort();
  const before: Record<string, unknown> = {};

  beforeAll(async () => {
    // Run under the real-daemons lock (docs): what a stopped lab left is kept and put back.
    // The site is static (php: none): no PHP-FPM is needed, nor touched.
    await hosts.start({ restoreLeftovers: true, fpm: false });
    sshd = hosts.sshd as Sshd;
    root = mkdtempSync(join(tmpdir(), "globenet-adopt-"));
    write("Pulumi.lab.yaml", inventory(sshd, join(root, "archive")));
    write("members/velo-libre/member.yaml", member("velo-libre", "velo-libre.test", ["www.velo-libre.test"], NO_TLS).replace('php: "8.2"', "php: none"));
    write("zones/velo-libre.test.yaml", 'owner: velo-libre\nrecords:\n  - { name: "@", type: TXT, value: "v=spf1 -all" }\n');
    // The first state: what made the objects. The adoption gets a state of its own, empty.
    stack = await openStack({ stack: "lab", root, env: { GLOBENET_SSH_KEY_FILE: sshd.keyFile, PULUMI_BACKEND_URL: `file://${join(root, "state-first")}` } });
    for (const k of ["GLOBENET_SSH_KEY_FILE", "PULUMI_BACKEND_URL"]) saved[k] = process.env[k];
  }, 600_000);

  afterAll(async () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await hosts.stop(["velo-libre", "ondes", "radio"]);
    // The markers of the users just removed (the provider's registry is outside the snapshot).
    for (const kind of ["user", "group"]) for (const u of ["velo-libre", "ondes"]) rmSync(`/var/lib/globenet/owned/${kind}/${u}`, { force: true });
    if (hosts.owned && root) rmSync(root, { recursive: true, force: true });
  }, 120_000);

  it("a first stack makes the objects: a database with rows, a signed zone", async () => {
    const r = await stack.up({ color: "never" });
    expect(r.summary.result).toBe("succeeded");
    expect(sql("CREATE TABLE bikes (id INT PRIMARY KEY, name TEXT); INSERT INTO bikes VALUES (1, 'vélo'), (2, 'tandem');").stderr).toBe("");
    // BIND signs the zone in the background: wait for its keys.
    const t0 = Date.now();
    while (!/\b257 3 13 /.test(dnskeys()) && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 300));
    Object.assign(before, { cnf: readFileSync(CNF, "utf8"), dnskeys: dnskeys(), serial: serial(), keyFiles: keyFiles() });
    expect(before.dnskeys).toMatch(/\b257 3 13 /);
    expect(before.serial).toMatch(/^\d{10}$/);
  }, 600_000);

  it("refuses to adopt a database whose password it cannot read back, rather than guess one", async () => {
    process.env.GLOBENET_SSH_KEY_FILE = sshd.keyFile;
    process.env.PULUMI_BACKEND_URL = `file://${join(root, "state-adopted")}`;
    // A hand-made database has no credentials file: the password is nowhere Globenet can read.
    writeFileSync(CNF, (before.cnf as string).replace(/^password=.*$/m, ""));
    try {
      const io = captureIo();
      expect(await engineCommand("preview", ["--adopt", "--stack", "lab", "--root", root], io)).toBe(1);
      expect(io.stdout + io.stderr).toContain("database velo_libre_db: cannot keep its password from ~velo-libre/.my.cnf.d/velo_libre_db.cnf: no password= line under its [client_<name>] group; write the database's current password there");
    } finally {
      writeFileSync(CNF, before.cnf as string);
    }
  }, 300_000);

  it("the adoption preview imports every object, creating, replacing and deleting none; what git says differently is an update", async () => {
    // git asks for another connection limit than the server has: one update, in the same preview.
    const yaml = join(root, "members/velo-libre/member.yaml");
    writeFileSync(yaml, readFileSync(yaml, "utf8").replace("  - name: velo_libre_db\n", "  - name: velo_libre_db\n    limits: { max_user_connections: 7 }\n"));
    const file = join(root, "plan.json");
    const io = captureIo();
    expect(await engineCommand("preview", ["--adopt", "--stack", "lab", "--root", root, "--plan-json", file], io), io.stderr + io.stdout).toBe(0);
    const all = parsePlan(readFileSync(file, "utf8"), file).steps;
    // A member's crontab block, Globenet's own and written after the member's lines, is made
    // anew (provider/adopt-ids.ts): whatever shows of it here is no import.
    expect(all.filter((s) => s.type === "globenet:hosting:Crontab" && s.op !== "create")).toEqual([]);
    const steps = all.filter((s) => PROVIDER_TYPES.test(s.type));
    expect(steps.filter((s) => s.op !== "import" && s.op !== "same").map((s) => `${s.op} ${s.name}`)).toEqual(["update velo_libre_db"]);
    expect(steps.filter((s) => s.op === "import").map((s) => s.name).sort()).toEqual(["lab-apache2", "lab-bind", "lab-www", "velo-libre", "velo_libre_db"]);
    expect(io.stdout).toMatch(/adoption: OK — 5 object\(s\) taken over from the hosts, 1 updated to git, [01] created; nothing is replaced or deleted\.\n  update  globenet:db:Database velo_libre_db(: [A-Za-z, ]*limits[A-Za-z, ]*)?\n/);
  }, 300_000);

  it("up --adopt takes them over: rows, password, DNSSEC keys and serial stay", async () => {
    const io = captureIo();
    expect(await engineCommand("up", ["--adopt", "--stack", "lab", "--root", root], io), io.stderr + io.stdout).toBe(0);
    expect(io.stdout).toMatch(/up of lab: .*import 5/);
    expect(io.stdout).toMatch(/up of lab: .*update 1/);
    expect(run("mariadb", ["-N", "-e", "SELECT max_user_connections FROM mysql.user WHERE User = 'velo_libre_db'"]).stdout.trim()).toBe("7");
    // The stack and its three components are made in the state; nothing on a host is.
    expect(io.stdout).not.toMatch(/up of lab: .*(replace|delete)/);
    expect(readFileSync(CNF, "utf8")).toBe(before.cnf);
    expect(io.stdout + io.stderr).not.toContain(/password=(\S+)/.exec(before.cnf as string)?.[1] ?? "none");
    expect(sql("SELECT name FROM bikes ORDER BY id").stdout.trim().split("\n")).toEqual(["vélo", "tandem"]);
    expect(serial()).toBe(before.serial);
    expect(dnskeys()).toBe(before.dnskeys);
    expect(keyFiles()).toEqual(before.keyFiles);
    // The password is in the new state, encrypted only.
    const state = readdirSync(join(root, "state-adopted"), { recursive: true }).map(String).filter((f) => f.endsWith(".json")).map((f) => readFileSync(join(root, "state-adopted", f), "utf8")).join("\n");
    const password = /password=(\S+)/.exec(before.cnf as string)?.[1] ?? "none";
    expect(state).toContain("velo_libre_db");
    expect(state).not.toContain(password);
  }, 300_000);

  it("refuses an adoption that would delete, naming it, and changes nothing", async () => {
    const file = join(root, "members/velo-libre/member.yaml");
    const yaml = readFileSync(file, "utf8");
    writeFileSync(file, yaml.replace(/databases:\n(?: .*\n)*/, ""));
    try {
      const io = captureIo();
      expect(await engineCommand("up", ["--adopt", "--stack", "lab", "--root", root], io)).toBe(1);
      expect(io.stdout).toContain("adoption: REFUSED");
      expect(io.stdout).toContain("globenet:db:Database velo_libre_db would be deleted: it is in the state but not in the data. Adoption deletes nothing");
      expect(io.stderr).toContain("adoption on lab refused before changing anything");
      expect(sql("SELECT COUNT(*) FROM bikes").stdout.trim()).toBe("2");
    } finally {
      writeFileSync(file, yaml);
    }
  }, 300_000);

  it("takes over an account made by hand (marking it as Globenet's, its files kept), never a system account", async () => {
    const site = (handle: string) => `handle: ${handle}\nname: ${handle}\ncontact: { email: bureau@${handle}.test }\nstatus: active\nsites:\n  - host: ${handle}.test\n    php: none\n    tls: none\n    tls_none_reason: ${NO_TLS}\n    dns: external\n`;
    // A system account (uid < 1000) of the same name as a member: refused, nothing changed.
    expect(run("useradd", ["-r", "-M", "-s", "/usr/sbin/nologin", "radio"]).status).toBe(0);
    write("members/radio/member.yaml", site("radio"));
    let io = captureIo();
    expect(await engineCommand("preview", ["--adopt", "--stack", "lab", "--root", root], io)).toBe(1);
    expect(io.stdout + io.stderr).toMatch(/refusing: radio is a system account \(uid \d+\), not a member's/);
    rmSync(join(root, "members/radio"), { recursive: true });
    // A member's account made by hand, years ago: no marker, a site with files.
    expect(run("useradd", ["-m", "-d", "/home/ondes", "-s", "/bin/bash", "ondes"]).status).toBe(0);
    mkdirSync("/home/ondes/sites/ondes.test/htdocs", { recursive: true });
    writeFileSync("/home/ondes/sites/ondes.test/htdocs/index.html", "Radio Ondes\n");
    run("chown", ["-R", "ondes:ondes", "/home/ondes"]);
    write("members/ondes/member.yaml", site("ondes"));
    const file = join(root, "plan-ondes.json");
    io = captureIo();
    expect(await engineCommand("preview", ["--adopt", "--stack", "lab", "--root", root, "--plan-json", file], io), io.stderr + io.stdout).toBe(0);
    const steps = parsePlan(readFileSync(file, "utf8"), file).steps.filter((s) => PROVIDER_TYPES.test(s.type) && s.op !== "same");
    expect(steps.map((s) => `${s.op} ${s.name}`).sort()).toEqual(["import ondes", "update lab-apache2", "update ondes"]);
    io = captureIo();
    expect(await engineCommand("up", ["--adopt", "--stack", "lab", "--root", root], io), io.stderr + io.stdout).toBe(0);
    expect(readFileSync("/var/lib/globenet/owned/user/ondes", "utf8").trim()).toBe(run("id", ["-u", "ondes"]).stdout.trim());
    expect(readFileSync("/home/ondes/sites/ondes.test/htdocs/index.html", "utf8")).toBe("Radio Ondes\n");
    expect(run("curl", ["-s", "-H", "Host: ondes.test", "http://127.0.0.1:80/"]).stdout).toBe("Radio Ondes\n");
  }, 300_000);

  it("then an ordinary preview finds nothing to do, and one edit of the data is one update", async () => {
    const adopted = await openStack({ stack: "lab", root, env: { GLOBENET_SSH_KEY_FILE: sshd.keyFile, PULUMI_BACKEND_URL: `file://${join(root, "state-adopted")}` } });
    const same = await previewPlan(adopted);
    expect(same.plan.steps.filter((s) => s.op !== "same").map((s) => `${s.op} ${s.name}`)).toEqual([]);
    write("zones/velo-libre.test.yaml", 'owner: velo-libre\nrecords:\n  - { name: "@", type: TXT, value: "v=spf1 mx -all" }\n');
    const edited = await previewPlan(adopted);
    expect(edited.plan.steps.filter((s) => s.op !== "same").map((s) => `${s.op} ${s.name}`)).toEqual(["update lab-bind"]);
  }, 300_000);
});
