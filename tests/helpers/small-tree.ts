import { existsSync, lstatSync, mkdirSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { OWNED_DIR } from "../../provider/resources/account-shared";
import { pool } from "../../provider/ssh/pool";
import { snapshotPaths, startApache, startBind, startFpm, type Daemon, type Snapshot } from "./daemons-web";
import { startMariaDB, type MariaDB } from "./mariadb";
import { startSshd, type Sshd } from "./sshd";
import { run } from "./tools";

/**
 * The small data tree and the real hosts of the engine-level tests (tests/engine-e2e.test.ts,
 * tests/state-postgres.test.ts): one lab host on 127.0.0.1 with real sshd, Apache on :80,
 * PHP-FPM, BIND and MariaDB on the system socket, the machine's files snapshotted first and put
 * back afterwards.
 */

/** What the provider changes on this machine, restored after the test. */
export const SNAPSHOT = ["/etc/apache2", "/var/lib/apache2", "/etc/bind", "/etc/php/8.2/fpm", "/var/cache/bind/globenet", "/var/lib/bind/globenet-signing", "/var/lib/bind/globenet-keys", "/var/www/globenet-suspended", "/var/www/globenet-suspended.d"];
export const SOCKET = "/run/mysqld/mysqld.sock";

export function inventory(sshd: Sshd, archive: string): string {
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
        home_quota: warn
        ssh: { user: root, port: ${sshd.port}, host_key: "${sshd.hostKey}" }
`;
}

/** A member with one PHP site and one database; `noTls`: why the site has no certificate (no CA here). */
export const member = (handle: string, domain: string, aliases: string[], noTls: string) => `handle: ${handle}
name: Association ${handle}
contact: { email: bureau@${domain} }
status: active
sites:
  - host: ${domain}
    aliases: [${aliases.join(", ")}]
    php: "8.2"
    # Certificates are proven by tests/lab-tls.test.ts, with a CA; this tree has none.
    tls: none
    tls_none_reason: ${noTls}
databases:
  - name: ${handle.replace(/-/g, "_")}_db
`;

/** velo-libre (with an alias and a TXT record) and ondes, on the lab stack, in `root`. */
export function writeSmallTree(root: string, sshd: Sshd, archive: string, noTls: string): void {
  const write = (rel: string, content: string) => {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), content);
  };
  write("Pulumi.lab.yaml", inventory(sshd, archive));
  write("members/velo-libre/member.yaml", member("velo-libre", "velo-libre.test", ["www.velo-libre.test"], noTls));
  write("members/ondes/member.yaml", member("ondes", "ondes.test", [], noTls));
  write("zones/velo-libre.test.yaml", 'owner: velo-libre\nrecords:\n  - { name: "@", type: TXT, value: "v=spf1 -all" }\n');
  write("zones/ondes.test.yaml", "owner: ondes\n");
}

/** The real hosts; `stop` undoes only what `start` did. */
export class RealHosts {
  sshd?: Sshd;
  db?: MariaDB;
  bindPort = 0;
  private snapshot?: Snapshot;
  private readonly daemons: Daemon[] = [];
  private linked = false;
  /** Set once the machine was found free: before that, nothing here is ours to undo. */
  owned = false;

  /**
   * Refuses a machine where a lab or another test runs (its files or MariaDB socket exist), then
   * snapshots the machine's files and starts the daemons.
   */
  async start(opts: { restoreLeftovers?: boolean; fpm?: boolean } = {}): Promise<void> {
    // /var/cache/bind/globenet is only a cache of transferred zones, and DNSSEC keys and signing
    // links outlive every apply on purpose: a past lab may leave them (the snapshot restores them).
    const lasting = (x: string) => x.startsWith("/var/cache") || x.endsWith("/globenet-keys") || x.endsWith("/globenet-signing");
    // restoreLeftovers: a caller that holds the real-daemons lock and finds no daemon of a lab
    // running takes the live roots a stopped lab left into the snapshot, which puts them back.
    const lab = opts.restoreLeftovers && ["named", "apache2", "mariadbd"].some((d) => run("pgrep", ["-x", d]).status === 0);
    for (const p of [...SNAPSHOT.filter((x) => x.includes("globenet") && !lasting(x)), "/etc/bind/globenet"]) {
      if (existsSync(p) && (!opts.restoreLeftovers || lab)) throw new Error(`${p} exists: a lab or an earlier run uses this machine; this test would clobber it`);
    }
    if (existsSync(SOCKET)) throw new Error(`${SOCKET} exists: a MariaDB runs here; stop it (or the lab) first`);
    this.owned = true;
    this.snapshot = snapshotPaths(SNAPSHOT);
    this.sshd = await startSshd();
    this.db = await startMariaDB();
    // The provider talks to the db host's system socket, as on a real host.
    mkdirSync(dirname(SOCKET), { recursive: true });
    symlinkSync(this.db.socket, SOCKET);
    this.linked = true;
    // The vhosts are rendered for *:80, as on the real web host.
    this.daemons.push(await startApache(80));
    const bind = await startBind();
    this.bindPort = bind.port;
    // One push each: a start that fails must leave what already runs in the list stop() empties.
    this.daemons.push(bind);
    // fpm: false, for a tree without PHP sites (a php-fpm of this machine may then run).
    if (opts.fpm !== false) this.daemons.push(await startFpm("8.2"));
  }

  /** Stops what start started, removes the members' users, puts the machine's files back. */
  async stop(users: string[]): Promise<void> {
    if (!this.owned) return;
    for (const d of this.daemons.reverse()) await d.stop().catch(() => undefined);
    await pool.close().catch(() => undefined);
    if (this.linked && lstatSync(SOCKET, { throwIfNoEntry: false })?.isSymbolicLink()) unlinkSync(SOCKET);
    await this.db?.stop().catch(() => undefined);
    await this.sshd?.stop().catch(() => undefined);
    for (const u of users) {
      run("userdel", ["-r", u]);
      // The provider's ownership markers of those users (its registry is outside the snapshot):
      // left behind, the next test that makes a user of that name with another id is refused.
      for (const kind of ["user", "group"]) rmSync(join(OWNED_DIR, kind, u), { force: true });
    }
    this.snapshot?.restore();
  }
}
