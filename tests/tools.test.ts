/**
 * The tier-2 helpers themselves, on small hand-written inputs: each checker accepts a good
 * sample and rejects a broken one (so a green tier-2 run means something), and the throwaway
 * MariaDB starts, answers, and leaves nothing behind.
 *
 * Outside CI a missing tool (or not being root) skips; in CI (CI=true) it fails.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  checkApache,
  checkBind,
  checkCloudInit,
  checkDomainXml,
  checkFpm,
  checkHost,
  errorsOnly,
  formatProblems,
  parseNetworkConfigWithCloudInit,
  type CheckProblem,
} from "./helpers/checkers";
import { startMariaDB } from "./helpers/mariadb";
import { findTool, requireRoot, requireTool, requireTools, run } from "./helpers/tools";

let scratch = "";
beforeAll(() => {
  scratch = mkdtempSync("/tmp/globenet-tools-test-");
});
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

/** Writes files (path relative to a new host folder) and returns the host folder. */
function hostTree(name: string, files: Record<string, string>): string {
  const host = join(scratch, name);
  for (const [rel, text] of Object.entries(files)) {
    const p = join(host, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text);
  }
  return host;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

/** One error, from the given checker, whose message matches. */
function expectError(problems: CheckProblem[], re: RegExp): void {
  const errors = errorsOnly(problems);
  expect(errors.length, formatProblems(problems)).toBeGreaterThan(0);
  expect(errors.map((p) => p.message).join("\n")).toMatch(re);
}

describe("run", () => {
  it("returns status and output, and never goes through a shell", () => {
    const r = run("echo", ["a; touch /tmp/should-not-exist-$$", "$(id)"]);
    expect(r).toEqual({ status: 0, stdout: "a; touch /tmp/should-not-exist-$$ $(id)\n", stderr: "" });
    expect(run("false", []).status).toBe(1);
    expect(run("cat", [], { input: "secret on stdin" }).stdout).toBe("secret on stdin");
  });

  it("kills the child at the timeout", () => {
    const t0 = Date.now();
    const r = run("sleep", ["10"], { timeoutMs: 300 });
    expect(r.status).toBeNull();
    expect(r.stderr).toMatch(/timed out after 300 ms/);
    expect(Date.now() - t0).toBeLessThan(5_000);
  });

  it("reports a program that does not exist", () => {
    const r = run("/nonexistent/tool", []);
    expect(r.status).toBeNull();
    expect(r.stderr).toMatch(/ENOENT/);
  });
});

describe("requireTool", () => {
  const saved = process.env.CI;
  afterAll(() => {
    if (saved === undefined) delete process.env.CI;
    else process.env.CI = saved;
  });

  it("is true for a tool on PATH (or in an sbin directory)", () => {
    expect(requireTool("sh")).toBe(true);
    expect(findTool("sh")).toMatch(/\/sh$/);
  });

  it("outside CI, a missing tool returns false (the test skips)", () => {
    delete process.env.CI;
    expect(requireTool("globenet-no-such-tool")).toBe(false);
    expect(requireTools("sh", "globenet-no-such-tool")).toBe(false);
  });

  it("in CI, a missing tool is an error naming the Debian package", () => {
    process.env.CI = "true";
    expect(() => requireTool("globenet-no-such-tool", "globenet-pkg")).toThrow(/install the Debian package "globenet-pkg"/);
    expect(() => requireTools("sh", "globenet-no-such-tool")).toThrow(/globenet-no-such-tool/);
    expect(requireTool("sh")).toBe(true);
  });
});

// ──────────────────────────────────────────── MariaDB ────────────────────────────────────────────

const canMariaDB = requireTools("mariadbd", "mariadb-install-db", "mariadb") && requireRoot("mariadbd --user=mysql needs root");

describe.skipIf(!canMariaDB)("startMariaDB", () => {
  it("starts a private server, runs SQL as root and as a password user, stops and leaves nothing", async () => {
    const db = await startMariaDB();
    let stopped = false;
    try {
      expect(db.socket.startsWith(db.dir)).toBe(true);
      expect(pidAlive(db.pid)).toBe(true);

      const one = db.exec("select 1");
      expect(one, one.stderr).toMatchObject({ status: 0, stdout: "1\n" });

      // A password with quote, backslash, hash and space: it travels in a 0600 option file.
      const password = `p"a\\s s#w'd`;
      const escaped = password.replace(/\\/g, "\\\\").replace(/'/g, "\\'");
      const setup = db.exec(
        `CREATE DATABASE velo_wp; CREATE USER 'velo_wp'@'localhost' IDENTIFIED BY '${escaped}';` +
          ` GRANT ALL ON velo_wp.* TO 'velo_wp'@'localhost';`,
      );
      expect(setup.status, setup.stderr).toBe(0);

      const who = db.exec("SELECT CURRENT_USER(), DATABASE()", { user: "velo_wp", password, database: "velo_wp" });
      expect(who, who.stderr).toMatchObject({ status: 0, stdout: "velo_wp@localhost\tvelo_wp\n" });

      const wrong = db.exec("SELECT 1", { user: "velo_wp", password: "nope" });
      expect(wrong.status).not.toBe(0);
      expect(wrong.stderr).toMatch(/Access denied for user 'velo_wp'@'localhost'/);

      const sqlError = db.exec("SELECT * FROM no_such_table", { database: "velo_wp" });
      expect(sqlError.status).toBe(1);
      expect(sqlError.stderr).toMatch(/doesn't exist/);

      expect(db.exec("SELECT 1", { columnNames: true }).stdout).toBe("1\n1\n");
      // The option files with the passwords are gone after each call.
      expect(readdirSync(db.dir).filter((f) => f.endsWith(".cnf"))).toEqual([]);

      await db.stop();
      stopped = true;
      expect(pidAlive(db.pid)).toBe(false);
      expect(existsSync(db.dir)).toBe(false);
      await db.stop(); // idempotent
    } finally {
      if (!stopped) await db.stop();
    }
  });

  it("a server that cannot start fails with its log, and leaves no temp dir", async () => {
    const ours = () => new Set(readdirSync("/tmp").filter((f) => f.startsWith("globenet-mariadb-")));
    const before = ours();
    await expect(startMariaDB({ serverArgs: ["--no-such-option=1"] })).rejects.toThrow(
      /mariadbd exited during start-up[\s\S]*unknown variable 'no-such-option=1'/,
    );
    expect([...ours()].filter((d) => !before.has(d))).toEqual([]);
  });

  it("can listen on 127.0.0.1 too", async () => {
    const db = await startMariaDB({ tcp: true });
    try {
      expect(db.port).toBeGreaterThan(0);
      const r = db.exec(
        "CREATE USER 'tcp_user'@'127.0.0.1' IDENTIFIED BY 'x'; GRANT USAGE ON *.* TO 'tcp_user'@'127.0.0.1';",
      );
      expect(r.status, r.stderr).toBe(0);
      const who = db.exec("SELECT CURRENT_USER()", { user: "tcp_user", password: "x", tcp: true });
      expect(who, who.stderr).toMatchObject({ status: 0, stdout: "tcp_user@127.0.0.1\n" });
    } finally {
      await db.stop();
    }
    expect(pidAlive(db.pid)).toBe(false);
  });
});

// ──────────────────────────────────────────── Apache ─────────────────────────────────────────────

const GOOD_VHOST = `# velo-libre.example (members/velo-libre/member.yaml)
<VirtualHost *:80>
  ServerName velo-libre.example
  ServerAlias www.velo-libre.example
  DocumentRoot /home/velo-libre/sites/velo-libre.example/htdocs
  <Directory /home/velo-libre/sites/velo-libre.example/htdocs>
    Options -Indexes +SymLinksIfOwnerMatch
    AllowOverride All
    Require all granted
  </Directory>
  <FilesMatch "\\.php$">
    SetHandler "proxy:unix:/run/php/globenet-velo-libre-php8.2.sock|fcgi://localhost"
  </FilesMatch>
  Header always set X-Content-Type-Options nosniff
  RewriteEngine On
  RewriteCond %{HTTP_HOST} ^www\\. [NC]
  RewriteRule ^ http://velo-libre.example%{REQUEST_URI} [R=301,L]
  ErrorLog \${APACHE_LOG_DIR}/velo-libre.example-error.log
  CustomLog \${APACHE_LOG_DIR}/velo-libre.example-access.log combined
</VirtualHost>

MDomain velo-libre.example www.velo-libre.example
<VirtualHost *:443>
  ServerName velo-libre.example
  ServerAlias www.velo-libre.example
  SSLEngine on
  AssignUserID gtools-itk gtools-itk
  DocumentRoot /home/velo-libre/sites/velo-libre.example/htdocs
</VirtualHost>
`;

const GLOBENET_CONF = `MDCertificateAgreement accepted
MDContactEmail hostmaster@globenet.example
<Directory /var/www/globenet-suspended>
  Require all granted
</Directory>
`;

const canApache = requireTool("apache2ctl") && requireRoot("apache2ctl -t chowns its run dir");

describe.skipIf(!canApache)("checkApache", () => {
  it("accepts good vhosts (a missing DocumentRoot is not a problem here)", async () => {
    const host = hostTree("apache-good", {
      "apache2/sites-available/velo-libre.example.conf": GOOD_VHOST,
      "apache2/conf-available/globenet.conf": GLOBENET_CONF,
    });
    const problems = await checkApache(host);
    expect(formatProblems(problems)).toBe("");
    // mpm-itk's AssignUserID names a user this machine does not have: made for the check, then removed.
    expect(run("getent", ["passwd", "gtools-itk"]).status).not.toBe(0);
    expect(run("getent", ["group", "gtools-itk"]).status).not.toBe(0);
  });

  it("rejects an unknown directive, naming the rendered file and line", async () => {
    const host = hostTree("apache-bad", {
      "apache2/sites-available/velo-libre.example.conf": GOOD_VHOST.replace("RewriteEngine On", "RewriteEngine On\n  Bogus on"),
      "apache2/conf-available/globenet.conf": GLOBENET_CONF,
    });
    const problems = await checkApache(host);
    expectError(problems, /Syntax error on line 16 of .*apache-bad\/apache2\/sites-available\/velo-libre\.example\.conf/);
    expectError(problems, /Invalid command 'Bogus'/);
  });

  it("rejects a broken globenet.conf", async () => {
    const host = hostTree("apache-bad-conf", {
      "apache2/sites-available/velo-libre.example.conf": GOOD_VHOST,
      "apache2/conf-available/globenet.conf": "<Directory /var/www/globenet-suspended>\n  Require all granted\n",
    });
    expectError(await checkApache(host), /apache-bad-conf\/apache2\/conf-available\/globenet\.conf:1: <Directory> was not closed/);
  });
});

// ──────────────────────────────────────────── PHP-FPM ────────────────────────────────────────────

const canFpm = requireTools("php-fpm8.2", "useradd", "userdel") && requireRoot("php-fpm -t resolves pool users as root; the check creates them");

/** A pool as the renderer would write it, for a member that has no unix user on this machine. */
function pool(handle: string, extra = ""): string {
  return `; members/${handle}/member.yaml
[${handle}]
user = ${handle}
group = ${handle}
listen = /run/php/globenet-${handle}-php8.2.sock
listen.owner = www-data
listen.group = www-data
listen.mode = 0660
pm = ondemand
pm.max_children = 5
pm.process_idle_timeout = 10s
chdir = /home/${handle}
slowlog = /home/${handle}/logs/php-slow.log
request_slowlog_timeout = 10s
php_admin_value[open_basedir] = /home/${handle}/:/tmp/
php_admin_value[error_log] = /home/${handle}/logs/php-error.log
php_admin_flag[log_errors] = on
${extra}`;
}

describe.skipIf(!canFpm)("checkFpm", () => {
  // A handle that surely has no unix user here (useradd limits names to 32 characters).
  const handle = `gn-t${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}`;

  it("accepts a good pool, creating its user for the check and deleting it afterwards", async () => {
    expect(run("getent", ["passwd", handle]).status).toBe(2);
    const host = hostTree("fpm-good", { [`php/8.2/fpm/pool.d/globenet-${handle}.conf`]: pool(handle) });
    const problems = await checkFpm(host);
    expect(formatProblems(problems)).toBe("");
    expect(run("getent", ["passwd", handle]).status).toBe(2);
    expect(run("getent", ["group", handle]).status).toBe(2);
    expect(existsSync(`/home/${handle}`)).toBe(false);
  });

  it("rejects an unknown setting and a bad value, naming the rendered file", async () => {
    const unknown = hostTree("fpm-bad-key", { [`php/8.2/fpm/pool.d/globenet-${handle}.conf`]: pool(handle, "pm.bogus = 3\n") });
    expectError(await checkFpm(unknown), /fpm-bad-key\/php\/8\.2\/fpm\/pool\.d\/globenet-.*\.conf:\d+\] unknown entry 'pm\.bogus'/);

    const badValue = hostTree("fpm-bad-value", { [`php/8.2/fpm/pool.d/globenet-${handle}.conf`]: pool(handle).replace("pm = ondemand", "pm = sometimes") });
    expectError(await checkFpm(badValue), /globenet-.*\.conf:9\] unable to parse value for entry 'pm': invalid process manager/);
    expect(run("getent", ["passwd", handle]).status).toBe(2);
  });

  it("reports a pool whose user cannot exist", async () => {
    // 40 characters: useradd refuses the name (32 at most), so the check cannot run php-fpm.
    const long = "x".repeat(40);
    const host = hostTree("fpm-bad-user", { "php/8.2/fpm/pool.d/globenet-x.conf": pool("x").replace("user = x", `user = ${long}`) });
    expectError(await checkFpm(host), new RegExp(`useradd .*${long} failed`));
  });

  it("reports a PHP version with no php-fpm on this machine", async () => {
    const host = hostTree("fpm-no-version", { "php/5.6/fpm/pool.d/globenet-x.conf": pool("x") });
    expectError(await checkFpm(host), /php-fpm5\.6.*not found: install the Debian package php5\.6-fpm/);
  });
});

// ───────────────────────────────────────────── BIND ──────────────────────────────────────────────

const NAMED_CONF = `// rendered for /etc/bind/globenet
zone "velo-libre.example" {
  type primary;
  file "/etc/bind/globenet/zones/velo-libre.example.zone";
  allow-transfer { none; };
};
zone "113.0.203.in-addr.arpa" {
  type primary;
  file "/etc/bind/globenet/zones/113.0.203.in-addr.arpa.zone";
};
`;

const FORWARD_ZONE = `$TTL 3600
@       IN SOA ns1.globenet.example. hostmaster.globenet.example. ( 2025010101 3600 900 1209600 300 )
@       IN NS  ns1.globenet.example.
@       IN NS  ns2.globenet.example.
@       IN MX  10 mail.velo-libre.example.
@       IN TXT "v=spf1 mx -all"
@       IN A   203.0.113.10
@       IN AAAA 2001:db8:42::10
mail    IN A   203.0.113.11
www     IN CNAME velo-libre.example.
`;

const REVERSE_ZONE = `$TTL 3600
@       IN SOA ns1.globenet.example. hostmaster.globenet.example. ( 2025010101 3600 900 1209600 300 )
@       IN NS  ns1.globenet.example.
20      IN PTR atelier.velo-libre.example.
`;

const canBind = requireTools("named-checkconf", "named-checkzone");

describe.skipIf(!canBind)("checkBind", () => {
  const good = {
    "bind/named.conf.globenet": NAMED_CONF,
    "bind/zones/velo-libre.example.zone": FORWARD_ZONE,
    "bind/zones/113.0.203.in-addr.arpa.zone": REVERSE_ZONE,
  };

  it("accepts good zones, with the zone file paths pointed at the rendered files", async () => {
    const problems = await checkBind(hostTree("bind-good", good));
    expect(formatProblems(problems)).toBe("");
  });

  it("rejects a CNAME at the apex next to the SOA (the provider's check: named-checkconf -z stops it)", async () => {
    const host = hostTree("bind-cname", { ...good, "bind/zones/velo-libre.example.zone": FORWARD_ZONE + "@ IN CNAME elsewhere.example.\n" });
    const problems = errorsOnly(await checkBind(host));
    expect(problems).toHaveLength(1);
    expect(problems[0]?.command).toMatch(/^bash provider\/scripts\/file-set\/file-set\.sh check bind-primary /);
    expect(problems[0]?.message).toMatch(/velo-libre\.example: CNAME and other data/);
  });

  it("rejects a syntax error in named.conf.globenet, naming the rendered file", async () => {
    const host = hostTree("bind-syntax", { ...good, "bind/named.conf.globenet": NAMED_CONF.replace("type primary;", "type primary") });
    expectError(await checkBind(host), /bind-syntax\/bind\/named\.conf\.globenet:\d+: .*(missing ';'|syntax error|unexpected)/);
  });

  it("reports a zone file no zone statement uses, and a zone statement with no file", async () => {
    const orphan = hostTree("bind-orphan", { ...good, "bind/zones/orphan.example.zone": REVERSE_ZONE.replace("20      IN PTR atelier.velo-libre.example.\n", "") });
    expectError(await checkBind(orphan), /no zone statement in .* uses this file/);

    const missing = hostTree("bind-missing", { "bind/named.conf.globenet": NAMED_CONF, "bind/zones/velo-libre.example.zone": FORWARD_ZONE });
    expectError(await checkBind(missing), /113\.0\.203\.in-addr\.arpa.*(file not found|not loaded)/);
  });

  it("passes on named-checkzone's warnings", async () => {
    const host = hostTree("bind-warn", { ...good, "bind/zones/velo-libre.example.zone": FORWARD_ZONE.replace("mail    IN A   203.0.113.11\n", "") });
    const problems = await checkBind(host);
    expect(errorsOnly(problems)).toEqual([]);
    expect(problems.map((p) => p.message).join("\n")).toMatch(/MX 'mail\.velo-libre\.example' has no address records/);
  });
});

// ──────────────────────────────────────────── libvirt ────────────────────────────────────────────

const DOMAIN_XML = `<domain type='qemu'>
  <name>velo-libre--atelier</name>
  <uuid>3e3fce45-4f53-4fa7-bb32-11f34168b82b</uuid>
  <memory unit='MiB'>2048</memory>
  <vcpu>2</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
  <cpu mode='maximum'/>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/var/lib/libvirt/images/velo-libre--atelier.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='file' device='cdrom'>
      <source file='/var/lib/libvirt/images/velo-libre--atelier-seed.iso'/>
      <target dev='sda' bus='sata'/>
      <readonly/>
    </disk>
    <interface type='bridge'>
      <mac address='52:54:00:12:34:56'/>
      <source bridge='br0'/>
      <model type='virtio'/>
    </interface>
    <serial type='pty'/>
  </devices>
</domain>
`;

const canVirt = requireTools("virt-xml-validate", "xmllint");

describe.skipIf(!canVirt)("checkDomainXml", () => {
  it("accepts a valid domain", async () => {
    const host = hostTree("virt-good", { "libvirt/velo-libre--atelier.xml": DOMAIN_XML });
    expect(formatProblems(await checkDomainXml(join(host, "libvirt/velo-libre--atelier.xml")))).toBe("");
  });

  it("rejects an element the schema does not know, and malformed XML", async () => {
    const host = hostTree("virt-bad", {
      "libvirt/extra.xml": DOMAIN_XML.replace("<vcpu>2</vcpu>", "<vcpu>2</vcpu>\n  <bogus/>"),
      "libvirt/badvalue.xml": DOMAIN_XML.replace("<memory unit='MiB'>2048</memory>", "<memory unit='MiB'>lots</memory>"),
      "libvirt/malformed.xml": DOMAIN_XML.replace("</devices>", ""),
    });
    expectError(await checkDomainXml(join(host, "libvirt/extra.xml")), /Relax-NG validity error/);
    expectError(await checkDomainXml(join(host, "libvirt/badvalue.xml")), /fails to validate/);
    expectError(await checkDomainXml(join(host, "libvirt/malformed.xml")), /parser error/);
  });
});

// ─────────────────────────────────────────── cloud-init ──────────────────────────────────────────

const USER_DATA = `#cloud-config
hostname: atelier
fqdn: atelier.velo-libre.example
manage_etc_hosts: true
locale: C.UTF-8
users:
  - name: debian
    shell: /bin/bash
    sudo: "ALL=(ALL) NOPASSWD:ALL"
    lock_passwd: true
    ssh_authorized_keys:
      - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl bureau@laptop
`;
const META_DATA = `instance-id: velo-libre--atelier-1
local-hostname: atelier
`;
const NETWORK_CONFIG = `version: 2
ethernets:
  eth0:
    match:
      macaddress: "52:54:00:12:34:56"
    set-name: eth0
    addresses:
      - 203.0.113.20/24
      - "2001:db8:42::20/64"
    gateway4: 203.0.113.1
    gateway6: "2001:db8:42::1"
    nameservers:
      addresses: [203.0.113.53, "2001:db8:42::53"]
`;

const canCloudInit = requireTool("cloud-init");

describe.skipIf(!canCloudInit)("checkCloudInit", () => {
  const seed = (name: string, files: Partial<Record<"user-data" | "meta-data" | "network-config", string>>): string =>
    join(
      hostTree(name, Object.fromEntries(Object.entries(files).map(([k, v]) => [`cloud-init/velo-libre--atelier/${k}`, v]))),
      "cloud-init/velo-libre--atelier",
    );
  const good = { "user-data": USER_DATA, "meta-data": META_DATA, "network-config": NETWORK_CONFIG };

  it("accepts a good seed (also under a top-level network: key)", async () => {
    expect(formatProblems(await checkCloudInit(seed("ci-good", good)))).toBe("");
    const wrapped = "network:\n" + NETWORK_CONFIG.replace(/^/gm, "  ");
    expect(formatProblems(await checkCloudInit(seed("ci-good-wrapped", { ...good, "network-config": wrapped })))).toBe("");
  });

  it("rejects user-data that breaks the schema, is not YAML, or lacks #cloud-config", async () => {
    expectError(await checkCloudInit(seed("ci-schema", { ...good, "user-data": `${USER_DATA}package_update: sometimes\n` })), /package_update: 'sometimes' is not of type 'boolean'/);
    expectError(await checkCloudInit(seed("ci-yaml", { ...good, "user-data": "#cloud-config\nusers: [a\n" })), /is not valid yaml/);
    expectError(await checkCloudInit(seed("ci-header", { ...good, "user-data": USER_DATA.replace("#cloud-config\n", "") })), /needs to begin with "#cloud-config"/);
  });

  it("rejects meta-data without instance-id", async () => {
    expectError(await checkCloudInit(seed("ci-meta", { ...good, "meta-data": "local-hostname: atelier\n" })), /instance-id: required/);
  });

  it("rejects network-config that cloud-init 22.4 would misread", async () => {
    const cases: Array<[string, string, RegExp]> = [
      ["ci-net-version", NETWORK_CONFIG.replace("version: 2", "version: 1"), /version: must be 2/],
      ["ci-net-typo", NETWORK_CONFIG.replace("addresses:\n      - 203", "adresses:\n      - 203"), /ethernets\.eth0\.adresses: unknown key/],
      ["ci-net-address", NETWORK_CONFIG.replace("203.0.113.20/24", "203.0.113.300/24"), /addresses\[0\]: not an address\/prefix/],
      ["ci-net-default", NETWORK_CONFIG.replace("gateway4: 203.0.113.1", "routes:\n      - to: default\n        via: 203.0.113.1"), /"default" is not understood by cloud-init 22\.4/],
    ];
    for (const [name, text, re] of cases) expectError(await checkCloudInit(seed(name, { ...good, "network-config": text })), re);
  });

  it("cloud-init's own network parser fails on its own (beneath the shape check)", () => {
    const dir = seed("ci-net-parser", { "network-config": NETWORK_CONFIG.replace("gateway4: 203.0.113.1", "routes:\n      - to: default\n        via: 203.0.113.1") });
    const p = parseNetworkConfigWithCloudInit(join(dir, "network-config"));
    expect(p?.message).toMatch(/ValueError: Address default is not a valid ip address/);
    expect(parseNetworkConfigWithCloudInit(join(seed("ci-net-parser-good", { "network-config": NETWORK_CONFIG }), "network-config"))).toBeUndefined();
  });
});

// ─────────────────────────────────────────── checkHost ───────────────────────────────────────────

describe.skipIf(!(canApache && canFpm && canBind && canVirt && canCloudInit))("checkHost", () => {
  it("runs every checker that applies to a host folder and collects the problems", async () => {
    const host = hostTree("host-all", {
      "apache2/sites-available/velo-libre.example.conf": GOOD_VHOST,
      "apache2/conf-available/globenet.conf": GLOBENET_CONF,
      "www/globenet-suspended/index.html": "<p>suspended</p>\n",
      "php/8.2/fpm/pool.d/globenet-gn-hostcheck.conf": pool("gn-hostcheck"),
      "bind/named.conf.globenet": NAMED_CONF,
      "bind/zones/velo-libre.example.zone": FORWARD_ZONE,
      "bind/zones/113.0.203.in-addr.arpa.zone": REVERSE_ZONE + "@ IN CNAME x.example.\n",
      "libvirt/velo-libre--atelier.xml": DOMAIN_XML.replace("<vcpu>2</vcpu>", "<vcpu>2</vcpu><bogus/>"),
      "cloud-init/velo-libre--atelier/user-data": USER_DATA,
      "cloud-init/velo-libre--atelier/meta-data": META_DATA,
      "cloud-init/velo-libre--atelier/network-config": NETWORK_CONFIG,
    });
    const problems = await checkHost(host);
    expect(problems.map((p) => `${p.checker} ${p.severity} ${p.target.slice(host.length + 1)}`)).toEqual([
      "bind error bind",
      "libvirt error libvirt/velo-libre--atelier.xml",
    ]);
    // The provider's check names the zone: named-checkconf -z stops at its CNAME.
    expect(problems.find((p) => p.checker === "bind")?.message).toMatch(/113\.0\.203\.in-addr\.arpa: CNAME and other data/);
  });
});
