import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStack } from "../lib/engine/driver";
import { pool } from "../provider/ssh/pool";
import { snapshotPaths, startApache, startBind, startFpm, type Daemon, type Snapshot } from "./helpers/daemons-web";
import { startMariaDB, type MariaDB } from "./helpers/mariadb";
import { startSshd, type Sshd } from "./helpers/sshd";
import { requireRoot, requireTools, run } from "./helpers/tools";

/**
 * The real engine, end to end: the project's driver runs index.ts's program inline, the
 * Pulumi CLI built by the toolchain drives the globenet provider, which works over real SSH
 * on real Apache, PHP-FPM, BIND and MariaDB on 127.0.0.1. Then a no-change preview, a
 * one-member change, and destroy (which archives first).
 */
const ok =
  requireTools("sshd", "ssh-keygen", "apache2ctl", "named", "named-checkzone", "dig", "curl", "php-fpm8.2", "mariadbd", "mariadb", "mariadb-dump", "useradd") &&
  requireRoot("the provider manages users and daemons on this machine");

const SNAPSHOT = ["/etc/apache2", "/var/lib/apache2", "/etc/bind", "/etc/php/8.2/fpm", "/var/lib/bind/globenet", "/var/lib/bind/globenet.d", "/var/cache/bind/globenet", "/var/lib/bind/globenet-signing", "/var/lib/bind/globenet-keys", "/var/www/globenet-suspended", "/var/www/globenet-suspended.d"];
const SOCKET = "/run/mysqld/mysqld.sock";

function inventory(sshd: Sshd, archive: string): string {
  return `config:
  globenet-infra:inventory:
    domain: globenet.test
    hostmaster: hostmaster@globenet.test
    archive_dir: ${archive}
    php_versions: ["8.2"]
    images: {}
    pools: {}
    resolvers: [127.0.0.1]
    hosts:
      lab:
        roles: [web, db, dns-primary]
        fqdn: lab.globenet.test
        address: 127.0.0.1
        ssh: { user: root, port: ${sshd.port}, host_key: "${sshd.hostKey}" }
`;
}

const member = (handle: string, domain: string, aliases: string[]) => `handle: ${handle}
name: Association ${handle}
contact: { email: bureau@${domain} }
status: active
sites:
  - host: ${domain}
    aliases: [${aliases.join(", ")}]
    php: "8.2"
    # Certificates are proven by tests/lab-tls.test.ts, with a CA; this tree has none.
    tls: none
    tls_none_reason: engine test without an ACME CA
databases:
  - name: ${handle.replace(/-/g, "_")}_db
`;

describe.skipIf(!ok)("the real engine on a small data tree", () => {
  let sshd: Sshd;
  let snapshot: Snapshot;
  let db: MariaDB;
  const daemons: Daemon[] = [];
  let apachePort = 0;
  let dnsPort = 0;
  let stack: Stack;
  let root: string;
  let archive: string;
  const env = () => ({ GLOBENET_SSH_KEY_FILE: sshd.keyFile });
  const write = (rel: string, content: string) => {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), content);
  };

  /** Set once the checks below passed: before that, nothing here is ours to undo. */
  let owned = false;
  let linked = false;

  beforeAll(async () => {
    // /var/cache/bind/globenet is only a cache of transferred zones, and DNSSEC keys and signing
    // links outlive every apply on purpose: a past lab may leave them (the snapshot restores them).
    const lasting = (x: string) => x.startsWith("/var/cache") || x.endsWith("/globenet-keys") || x.endsWith("/globenet-signing");
    for (const p of SNAPSHOT.filter((x) => x.includes("globenet") && !lasting(x))) {
      if (existsSync(p)) throw new Error(`${p} exists: a lab or an earlier run uses this machine; this test would clobber it`);
    }
    if (existsSync(SOCKET)) throw new Error(`${SOCKET} exists: a MariaDB runs here; stop it (or the lab) first`);
    owned = true;
    snapshot = snapshotPaths(SNAPSHOT);
    sshd = await startSshd();
    db = await startMariaDB();
    // The provider talks to the db host's system socket, as on a real host.
    mkdirSync(dirname(SOCKET), { recursive: true });
    symlinkSync(db.socket, SOCKET);
    linked = true;
    // The vhosts are rendered for *:80, as on the real web host.
    apachePort = 80;
    daemons.push(await startApache(apachePort));
    const bind = await startBind();
    dnsPort = bind.port;
    daemons.push(bind, await startFpm("8.2"));
    root = mkdtempSync(join(tmpdir(), "globenet-e2e-"));
    archive = join(root, "archive");
    write("Pulumi.lab.yaml", inventory(sshd, archive));
    write("members/velo-libre/member.yaml", member("velo-libre", "velo-libre.test", ["www.velo-libre.test"]));
    write("members/ondes/member.yaml", member("ondes", "ondes.test", []));
    write("zones/velo-libre.test.yaml", "owner: velo-libre\nrecords:\n  - { name: \"@\", type: TXT, value: \"v=spf1 -all\" }\n");
    write("zones/ondes.test.yaml", "owner: ondes\n");
    stack = await openStack({ stack: "lab", root, env: env() });
  }, 600_000);

  afterAll(async () => {
    // A refused start leaves everything as it found it: that MariaDB socket, those users and
    // /etc belong to whoever runs here (a lab, another test).
    if (!owned) return;
    for (const d of daemons.reverse()) await d.stop().catch(() => undefined);
    await pool.close().catch(() => undefined);
    if (linked && lstatSync(SOCKET, { throwIfNoEntry: false })?.isSymbolicLink()) unlinkSync(SOCKET);
    await db?.stop().catch(() => undefined);
    await sshd?.stop().catch(() => undefined);
    for (const u of ["velo-libre", "ondes"]) run("userdel", ["-r", u]);
    snapshot?.restore();
    if (root) rmSync(root, { recursive: true, force: true });
  }, 120_000);

  it("up creates every resource on the real daemons", async () => {
    const r = await stack.up({ color: "never" });
    expect(r.summary.result).toBe("succeeded");
    expect(r.summary.resourceChanges?.create).toBeGreaterThanOrEqual(11);
    writeFileSync("/home/velo-libre/sites/velo-libre.test/htdocs/index.html", "<h1>Vélo Libre</h1>\n");
    const page = run("curl", ["-s", "-H", "Host: www.velo-libre.test", `http://127.0.0.1:${apachePort}/`]);
    expect(page.stdout).toContain("Vélo Libre");
    const soa = run("dig", ["+short", "-p", String(dnsPort), "@127.0.0.1", "velo-libre.test", "SOA"]);
    expect(soa.stdout).toMatch(/^lab\.globenet\.test\. hostmaster\.globenet\.test\. \d{10} /);
    const a = run("dig", ["+short", "-p", String(dnsPort), "@127.0.0.1", "www.velo-libre.test", "A"]);
    expect(a.stdout.trim()).toBe("127.0.0.1");
    const login = run("mariadb", ["--defaults-file=/home/velo-libre/.my.cnf", "--defaults-group-suffix=_velo_libre_db", "-e", "SELECT DATABASE()"]);
    expect(login.stderr).toBe("");
    expect(login.stdout).toContain("velo_libre_db");
  }, 600_000);

  it("keeps no private key and no database password in clear in the state", async () => {
    const stateDir = join(root, ".lab", "state", ".pulumi", "stacks");
    const files = readdirSync(stateDir, { recursive: true }).map(String).filter((f) => f.endsWith(".json"));
    expect(files.length).toBeGreaterThan(0);
    const state = files.map((f) => readFileSync(join(stateDir, f), "utf8")).join("\n");
    const cnf = readFileSync("/home/velo-libre/.my.cnf.d/velo_libre_db.cnf", "utf8");
    const password = /password\s*=\s*"?([^"\n]+)"?/.exec(cnf)?.[1] ?? "";
    expect(password.length).toBeGreaterThanOrEqual(24);
    expect(state).not.toContain(password);
    expect(state).toContain("ciphertext");
    expect(state).not.toMatch(/PRIVATE KEY/);
    expect(state).not.toContain(readFileSync(sshd.keyFile, "utf8").split("\n")[1] ?? "no key line");
  });

  it("a second preview finds nothing to change", async () => {
    const r = await stack.preview({ color: "never", expectNoChanges: true });
    expect(Object.keys(r.changeSummary).filter((k) => k !== "same")).toEqual([]);
  }, 300_000);

  it("a one-member change touches that member's resources and one file set per affected daemon", async () => {
    write("members/velo-libre/member.yaml", member("velo-libre", "velo-libre.test", ["www.velo-libre.test", "velo.velo-libre.test"]));
    const changed: string[] = [];
    await stack.preview({
      color: "never",
      onEvent: (e) => {
        const m = e.resourcePreEvent?.metadata;
        if (m && m.op !== "same") changed.push(`${m.op} ${m.type} ${m.urn.split("::").pop()}`);
      },
    });
    expect(changed.sort()).toEqual(["update globenet:files:FileSet lab-apache2", "update globenet:files:FileSet lab-bind"]);
    const r = await stack.up({ color: "never" });
    expect(r.summary.resourceChanges?.update).toBe(2);
    const page = run("curl", ["-s", "-H", "Host: velo.velo-libre.test", `http://127.0.0.1:${apachePort}/`]);
    expect(page.stdout).toContain("Vélo Libre");
  }, 600_000);

  it("destroy archives the members' homes and databases before removing them", async () => {
    const r = await stack.destroy({ color: "never" });
    expect(r.summary.result).toBe("succeeded");
    expect(run("id", ["velo-libre"]).status).not.toBe(0);
    const accounts = readdirSync(join(archive, "accounts"));
    expect(accounts.some((f) => /^velo-libre-.*\.tar\.gz$/.test(f))).toBe(true);
    const dumps = readdirSync(join(archive, "databases"));
    expect(dumps.some((f) => /^velo_libre_db-.*\.sql\.gz$/.test(f))).toBe(true);
    const listing = run("tar", ["-tzf", join(archive, "accounts", accounts.find((f) => f.startsWith("velo-libre-")) as string)]);
    expect(listing.stdout).toContain("sites/velo-libre.test/htdocs/index.html");
  }, 600_000);
});
