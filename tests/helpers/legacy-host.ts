/**
 * A server configured by hand, the way Globenet's old ones are (issue 19), in a network and
 * mount namespace of its own (lib/lab/netns.ts, prefix "gim"): its own /etc (a copy of this
 * machine's, so useradd, a2enmod and crontab change only the copy), /home, /var/www, the cron
 * spool and BIND's folders. Two members' unix accounts (alice: a PHP site over HTTPS through her
 * own FPM pool, an old domain redirecting to it, an authorized key and a crontab; bob: a static
 * site without HTTPS in /var/www, a key with options; mallory: her authorized_keys a link to
 * /etc/shadow), alice's shop served by her pool from bob's folder, a vhost nobody owns, two zones written by
 * hand ($TTL, $ORIGIN, comments, parentheses, a record type the schema lacks; bob's signed by
 * BIND's inline signing), then named and Apache started in it. Nothing of this machine's own
 * /etc or /home is touched.
 */
import { chownSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { BIND_HOST_DIRS, ownBindFolders } from "../../lib/lab/bind-host";
import { bind, ensureDaemon, stopDaemon, type LabDaemon } from "../../lib/lab/daemons";
import { placeOf } from "../../lib/lab/multi";
import { ensureLabDirs, labPaths, type LabPaths } from "../../lib/lab/paths";
import { onHost, runOnHost, topologyDown, topologyUp, type Topology } from "../../lib/lab/netns";
import { startMariaDB, type MariaDB } from "./mariadb";
import { startSshd, type Sshd } from "./sshd";
import { run } from "./tools";

export const LEGACY_ADDRESS = "198.51.100.211";
export const RUNNER_ADDRESS = "198.51.100.219";

/** Where a path of the legacy host is, seen from this machine (its own folders under the state dir). */
export function hostPath(t: Pick<Topology, "stateDir">, host: string, path: string): string {
  return join(t.stateDir, host, path);
}

/** The legacy host's named, started by the lab's own starter (daemons.ts's bind() through its Place); its records under the state dir. */
function legacyNamed(t: Topology): { p: LabPaths; d: LabDaemon } {
  const p = labPaths(join(t.stateDir, "daemons"));
  ensureLabDirs(p);
  const ctx = { paths: p, sshPort: 22, sshd: { dropinDir: join(t.stateDir, "sshd_config.d"), pidFile: join(t.stateDir, "sshd.pid") }, hostKey: "", phpVersions: [] };
  return { p, d: bind(ctx, placeOf({ topology: t, files: [] }, "legacy")) };
}

export function legacyTopology(stateDir: string): Topology {
  return {
    prefix: "gim",
    stateDir,
    hosts: [
      {
        name: "legacy",
        addresses: [LEGACY_ADDRESS],
        // /etc first (a seeded copy), then the folders of the daemons and the members.
        privateDirs: [
          { path: "/etc", seed: true },
          ...BIND_HOST_DIRS.filter((d) => d !== "/etc/bind").map((path) => ({ path, seed: false })),
          { path: "/home", seed: false },
          { path: "/var/www", seed: false },
          { path: "/var/spool/cron", seed: true },
          { path: "/run/apache2", seed: false },
          { path: "/var/log/apache2", seed: false },
          { path: "/run/lock/apache2", seed: false },
          { path: "/run/php", seed: false },
          // mod_md's store (the inventory's store_dir): the host's own, empty as on an old server.
          { path: "/var/lib/apache2/md", seed: false },
        ],
      },
    ],
    runner: [RUNNER_ADDRESS],
  };
}

const ALICE_ZONE = `$TTL 3600
; alice.example, edited by hand since 2009
@   IN SOA ns1.legacy.example. hostmaster.legacy.example. (
            2009010101 ; serial
            3600 900 604800 300 )
    IN NS  ns1.legacy.example.
    IN MX  10 mail.alice.example.
@   IN A   ${LEGACY_ADDRESS}
www IN CNAME alice.example.
mail IN A  198.51.100.25
old 30 IN A 198.51.100.99      ; a TTL below what the schema allows
box IN HINFO "PC" "Linux"      ; a type the schema lacks
$ORIGIN lists.alice.example.
@   IN TXT "v=spf1 mx -all"
`;

const BOB_ZONE = `$TTL 1h
$ORIGIN bob.example.
@ IN SOA ns1.legacy.example. hostmaster.legacy.example. ( 7 1h 15m 1w 5m )
  IN NS ns1.legacy.example.
@ IN A ${LEGACY_ADDRESS}
@ IN TXT "bob's own"
`;

const ALICE_OLD_ZONE = `$TTL 86400
@ IN SOA ns1.legacy.example. hostmaster.legacy.example. 1 3600 900 604800 300
  IN NS ns1.legacy.example.
  IN A ${LEGACY_ADDRESS}
www IN A ${LEGACY_ADDRESS}
`;

const NAMED_LOCAL = `// Hand-written zones of the legacy server.
zone "alice.example" { type master; file "/etc/bind/db.alice.example"; };
zone "alice-old.example" { type master; file "/etc/bind/db.alice-old.example"; };
zone "orphan.example" { type master; file "/etc/bind/db.orphan.example"; };
zone "bob.example" { type master; file "/var/lib/bind/db.bob.example"; dnssec-policy default; inline-signing yes; };
`;

const VHOSTS: Record<string, string> = {
  "alice.conf": `# alice's site, hand-made in 2011
<VirtualHost *:80>
    ServerName alice.example
    ServerAlias www.alice.example
    RewriteEngine On
    RewriteRule ^ https://%{HTTP_HOST}%{REQUEST_URI} [R=301,L]
</VirtualHost>

<VirtualHost *:443>
    ServerName alice.example
    ServerAlias www.alice.example
    DocumentRoot /home/alice/public_html
    SSLEngine on
    SSLCertificateFile /etc/ssl/legacy/alice.pem
    SSLCertificateKeyFile /etc/ssl/legacy/alice.key
    <FilesMatch \\.php$>
        SetHandler "proxy:unix:/run/php/php8.2-fpm-alice.sock|fcgi://localhost"
    </FilesMatch>
    Header always set X-Hand-Made "yes"
</VirtualHost>
`,
  "alice-old.conf": `<VirtualHost *:80>
    ServerName alice-old.example
    ServerAlias www.alice-old.example
    Redirect permanent / https://alice.example/
</VirtualHost>
`,
  "bob.conf": `<VirtualHost *:80>
  ServerName bob.example
  DocumentRoot /var/www/bob
  <Directory /var/www/bob>
    AllowOverride All
  </Directory>
</VirtualHost>
`,
  "shop.conf": `# alice's shop, set up in a hurry in bob's folder
<VirtualHost *:80>
    ServerName shop.alice.example
    DocumentRoot /var/www/bob
    <FilesMatch \\.php$>
        SetHandler "proxy:unix:/run/php/php8.2-fpm-alice.sock|fcgi://localhost"
    </FilesMatch>
</VirtualHost>
`,
  "orphan.conf": `<VirtualHost *:80>
  ServerName orphan.example
  DocumentRoot /var/www/orphan
</VirtualHost>
`,
};

/** The public key lines given to the members (fixed test keys: any valid ed25519 public key). */
export function legacyKeys(): { alice: string; bob: string } {
  const key = (c: string) => {
    const dir = run("mktemp", ["-d"]).stdout.trim();
    run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", c, "-f", join(dir, "k")]);
    const pub = run("cat", [join(dir, "k.pub")]).stdout.trim();
    run("rm", ["-rf", dir]);
    return pub;
  };
  return { alice: key("alice@laptop"), bob: key("bob@desk") };
}

/**
 * The copy of /etc is this machine's, which the lab (run by others, maybe now) changes: its
 * members' accounts, its Apache sets and ports, its PHP pools. The legacy host starts from
 * Debian's defaults instead: no login account, no site but Debian's, no pool but www.
 */
function cleanCopy(t: Topology): void {
  const etc = (p: string) => hostPath(t, "legacy", `/etc/${p}`);
  const removedUsers = new Set<string>();
  const removedGroups = new Set<string>();
  const inRange = (id: string | undefined) => Number(id) >= 1000 && Number(id) <= 60000;
  const filter = (file: string, keep: (f: string[]) => boolean) => {
    if (!existsSync(etc(file))) return;
    const lines = readFileSync(etc(file), "utf8").split("\n");
    writeFileSync(etc(file), lines.filter((l) => !l || keep(l.split(":"))).join("\n"));
  };
  filter("passwd", (f) => (inRange(f[2]) ? (removedUsers.add(f[0] as string), false) : true));
  filter("group", (f) => (inRange(f[2]) ? (removedGroups.add(f[0] as string), false) : true));
  filter("shadow", (f) => !removedUsers.has(f[0] as string));
  filter("gshadow", (f) => !removedGroups.has(f[0] as string));
  rmSync(etc("apache2/globenet"), { recursive: true, force: true });
  for (const dir of ["sites-enabled", "conf-enabled"]) {
    for (const name of readdirSync(etc(`apache2/${dir}`))) {
      const p = etc(`apache2/${dir}/${name}`);
      if (!lstatSync(p).isSymbolicLink() || (dir === "sites-enabled" && name !== "000-default.conf")) rmSync(p, { force: true });
    }
  }
  writeFileSync(etc("apache2/ports.conf"), "Listen 80\n<IfModule ssl_module>\n\tListen 443\n</IfModule>\n");
  // An old server runs Debian's MPM, whatever this machine's Apache was left with (another test's mpm-itk).
  const mods = etc("apache2/mods-enabled");
  for (const name of readdirSync(mods)) if (/^mpm_.*\.(load|conf)$/.test(name)) rmSync(join(mods, name), { force: true });
  for (const ext of ["load", "conf"]) symlinkSync(`../mods-available/mpm_event.${ext}`, join(mods, `mpm_event.${ext}`));
  for (const v of existsSync(etc("php")) ? readdirSync(etc("php")) : []) {
    const pools = etc(`php/${v}/fpm/pool.d`);
    if (existsSync(pools)) for (const name of readdirSync(pools)) if (name !== "www.conf") rmSync(join(pools, name), { force: true });
  }
}

function must(r: { status: number | null; stdout: string; stderr: string }, what: string): string {
  if (r.status !== 0) throw new Error(`legacy host: ${what} failed: ${r.stderr || r.stdout}`);
  return r.stdout;
}

/** Builds the legacy host; returns the members' keys. Call legacyDown afterwards, even on failure. */
export async function legacyUp(t: Topology): Promise<{ alice: string; bob: string }> {
  topologyUp(t);
  const on = (cmd: string, args: string[], what: string, input?: string) => must(runOnHost(t, "legacy", cmd, args, { input, timeoutMs: 30_000 }), what);
  const file = (path: string, text: string, mode = 0o644) => {
    const abs = hostPath(t, "legacy", path);
    mkdirSync(dirname(abs), { recursive: true });
    writeFileSync(abs, text, { mode });
  };
  cleanCopy(t);
  // Users, as useradd makes them on the host (its own /etc/passwd and /home).
  on("useradd", ["-m", "-s", "/bin/bash", "-c", "Alice Martin,,,", "alice"], "useradd alice");
  on("useradd", ["-m", "-s", "/bin/bash", "-c", "Bob", "bob"], "useradd bob");
  // mallory, a member gone bad: her authorized_keys is a link to /etc/shadow, for root to read.
  on("useradd", ["-m", "-s", "/bin/bash", "-c", "Mallory", "mallory"], "useradd mallory");
  on("install", ["-d", "-o", "mallory", "-g", "mallory", "-m", "0700", "/home/mallory/.ssh"], "mallory's .ssh");
  symlinkSync("/etc/shadow", hostPath(t, "legacy", "/home/mallory/.ssh/authorized_keys"));
  const keys = legacyKeys();
  on("install", ["-d", "-o", "alice", "-g", "alice", "-m", "0700", "/home/alice/.ssh"], "alice's .ssh");
  on("install", ["-d", "-o", "alice", "-g", "alice", "-m", "0755", "/home/alice/public_html"], "alice's public_html");
  on("install", ["-d", "-o", "bob", "-g", "bob", "-m", "0700", "/home/bob/.ssh"], "bob's .ssh");
  file("/home/alice/.ssh/authorized_keys", `# alice\n${keys.alice}\n`, 0o600);
  file("/home/bob/.ssh/authorized_keys", `from="198.51.100.0/24" ${keys.bob}\n`, 0o600);
  file("/home/alice/public_html/index.php", "<?php echo 'alice';\n");
  on("chown", ["-R", "alice:alice", "/home/alice/.ssh", "/home/alice/public_html"], "chown alice");
  on("chown", ["-R", "bob:bob", "/home/bob/.ssh"], "chown bob");
  on("crontab", ["-u", "alice", "-"], "alice's crontab", "# backups\n17 3 * * * /home/alice/bin/backup.sh\n");
  file("/var/www/bob/index.html", "bob\n");
  on("chown", ["-R", "bob:bob", "/var/www/bob"], "chown bob's site");
  file("/var/www/orphan/index.html", "orphan\n");
  // PHP-FPM pool (configuration only: requests to PHP are not the point here).
  file("/etc/php/8.2/fpm/pool.d/alice.conf", "[alice]\nuser = alice\ngroup = alice\nlisten = /run/php/php8.2-fpm-$pool.sock\npm = ondemand\npm.max_children = 5\n");
  // Apache: hand-written vhosts in sites-available, linked from sites-enabled; a self-signed certificate.
  file("/etc/ssl/legacy/.keep", "");
  on("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj", "/CN=alice.example", "-keyout", "/etc/ssl/legacy/alice.key", "-out", "/etc/ssl/legacy/alice.pem"], "alice's certificate");
  for (const [name, text] of Object.entries(VHOSTS)) {
    file(`/etc/apache2/sites-available/${name}`, text);
    symlinkSync(`../sites-available/${name}`, hostPath(t, "legacy", `/etc/apache2/sites-enabled/${name}`));
  }
  on("a2enmod", ["-q", "ssl", "rewrite", "proxy_fcgi", "headers"], "a2enmod");
  // BIND: the lab's name server folders, then the hand-written configuration and zones.
  ownBindFolders((x) => hostPath(t, "legacy", x));
  const bindGid = Number(must(run("id", ["-g", "bind"]), "id bind").trim());
  file("/etc/bind/named.conf", 'include "/etc/bind/named.conf.options";\ninclude "/etc/bind/named.conf.local";\ninclude "/etc/bind/named.conf.default-zones";\n');
  file("/etc/bind/named.conf.local", NAMED_LOCAL);
  file("/etc/bind/db.alice.example", ALICE_ZONE);
  file("/var/lib/bind/db.bob.example", BOB_ZONE);
  file("/etc/bind/db.alice-old.example", ALICE_OLD_ZONE);
  file("/etc/bind/db.orphan.example", ALICE_OLD_ZONE.replace(/^www .*\n/m, ""));
  chownSync(hostPath(t, "legacy", "/var/lib/bind/db.bob.example"), 0, bindGid);
  on("named-checkconf", ["-z"], "named-checkconf -z");
  const named = legacyNamed(t);
  const started = await ensureDaemon(named.p, named.d);
  if (started.how !== "started") throw new Error(`the legacy host's named: ${started.how}`);
  on("apache2ctl", ["start"], "apache2ctl start");
  return keys;
}

/** Stops what legacyUp started and removes the namespaces; collects every failure. */
export async function legacyDown(t: Topology): Promise<void> {
  const failed: string[] = [];
  const [c, a] = onHost(t, "legacy", "apache2ctl", ["stop"]);
  const r = run(c, a, { timeoutMs: 30_000 });
  if (r.status !== 0 && !/not running/.test(r.stdout + r.stderr)) failed.push(`apache2ctl stop: ${r.stderr}`);
  try {
    const named = legacyNamed(t);
    await stopDaemon(named.p, named.d);
  } catch (e) {
    failed.push(String(e));
  }
  try {
    topologyDown(t);
  } catch (e) {
    failed.push(String(e));
  }
  if (failed.length) throw new Error(`legacy host cleanup: ${failed.join("; ")}`);
}

/** The legacy host's MariaDB and sshd, both running inside its namespaces. */
export interface LegacyServices {
  db: MariaDB;
  sshd: Sshd;
  /** Stops them (the host itself: legacyDown). */
  stop(): Promise<void>;
}

/**
 * MariaDB on the legacy host, set up by hand with `sql` (its clients find it through the host's
 * /etc/mysql), then sshd on the host's address, port 22, as production hosts are reached.
 */
export async function legacyServices(t: Topology, sql: string[]): Promise<LegacyServices> {
  const db = await startMariaDB({ wrap: (c, a) => onHost(t, "legacy", c, a) });
  try {
    writeFileSync(hostPath(t, "legacy", "/etc/mysql/conf.d/zz-legacy-client.cnf"), `[client]\nsocket=${db.socket}\n`);
    const r = db.exec(sql.join("\n"));
    if (r.status !== 0) throw new Error(`MariaDB setup: ${r.stderr}`);
    const sshd = await startSshd({ listen: { address: LEGACY_ADDRESS, port: 22 }, wrap: (c, a) => onHost(t, "legacy", c, a) });
    return { db, sshd, stop: async () => (await sshd.stop(), await db.stop()) };
  } catch (e) {
    await db.stop();
    throw e;
  }
}

/** The inventory of tests/fixtures/import/Pulumi.legacy.yaml with the host's sshd key pinned. */
export function legacyInventory(sshd: Pick<Sshd, "hostKey">): string {
  return readFileSync(join(__dirname, "..", "fixtures", "import", "Pulumi.legacy.yaml"), "utf8").replace('"HOST_KEY"', JSON.stringify(sshd.hostKey));
}
