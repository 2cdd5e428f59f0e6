/**
 * Databases on their own host, for real (issue 18): three network namespaces from
 * lib/lab/netns.ts — web, db and an "other" host — and this machine's own (the runner).
 * MariaDB runs in db's namespace listening on db's address only (as the inventory says), the
 * provider reaches each host through an sshd in its namespace at its address (as in prod: the
 * provider's resource functions, as tests/provider-database.test.ts drives them), the Account
 * and Database resources make the members and their databases with the account's host part
 * derived by the model's rule (lib/model/db-client.ts: the web host's address), and then:
 * the member's PHP on web reads its rows with the delivered ~/.my.cnf.d file; the same
 * credentials from "other" and from the runner are refused by MariaDB (host not allowed); a
 * second member's credentials do not open the first member's database.
 *
 * Addresses are this test's own (192.0.2.18x), not the lab's, so the two never share a route.
 */
import { chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { onHost, runOnHost, topologyDown, topologyUp, type Topology } from "../lib/lab/netns";
import { dbClientHost } from "../lib/model/db-client";
import { accountType, type AccountInputs, type AccountOutputs } from "../provider/resources/account";
import { databaseType, type DatabaseInputs } from "../provider/resources/database";
import { pool } from "../provider/ssh/pool";
import { KEY_VELO } from "./fixtures/model";
import { startMariaDB, type MariaDB } from "./helpers/mariadb";
import { startSshd, type Sshd } from "./helpers/sshd";
import { requireRoot, requireTools, run } from "./helpers/tools";

const ok =
  requireTools("ip", "nsenter", "unshare", "findmnt", "sshd", "ssh-keygen", "mariadbd", "mariadb-install-db", "mariadb", "mysqldump") &&
  requireTools("php", "setpriv", "useradd", "userdel", "gzip", "tar") &&
  requireRoot("network namespaces, MariaDB as mysql, members as real unix users");

const WEB = "192.0.2.180";
const DB = "192.0.2.181";
const OTHER = "192.0.2.189";
const RUNNER = "192.0.2.188";

const pid = process.pid;
/** Two members, each with one database (names unique per run: unix users and homes are the machine's). */
const A = { handle: `gdba-${pid}`, db: `gdb_a${pid}`, site: `a${pid}.example` };
const B = { handle: `gdbb-${pid}`, db: `gdb_b${pid}`, site: `b${pid}.example` };
const homeOf = (h: string) => `/home/${h}`;

/**
 * The member's page: what a WordPress wp-config.php does with the delivered file, in a few
 * lines (mysqlnd, Debian's php-mysql, reads no option file, so PHP parses it). Prints the rows
 * of `t`, or the server's error and exits 1. `$db` is the database the page was written for;
 * `$cnf` the credentials file it reads (its own, unless the test says otherwise).
 */
const PAGE = `<?php
mysqli_report(MYSQLI_REPORT_OFF);
[$self, $cnf, $db] = $argv;
$ini = parse_ini_file($cnf, true, INI_SCANNER_RAW);
$name = basename($cnf, ".cnf");
$c = $ini["client_" . $name];
$m = @mysqli_connect($c["host"], $c["user"], $c["password"], "", 3306);
if (!$m) { fwrite(STDERR, "connect: " . mysqli_connect_errno() . " " . mysqli_connect_error() . "\\n"); exit(1); }
if (!@$m->select_db($db)) { fwrite(STDERR, "use: " . $m->errno . " " . $m->error . "\\n"); exit(1); }
$r = $m->query("SELECT v FROM t ORDER BY id");
if (!$r) { fwrite(STDERR, "query: " . $m->errno . " " . $m->error . "\\n"); exit(1); }
foreach ($r as $row) echo $row["v"], "\\n";
`;

const T: Topology = {
  prefix: "gdb",
  stateDir: "",
  hosts: [
    { name: "web", addresses: [WEB] },
    { name: "db", addresses: [DB] },
    { name: "other", addresses: [OTHER] },
  ],
  runner: [RUNNER],
};

function idOf(user: string): { uid: number; gid: number } {
  return { uid: Number(run("id", ["-u", user]).stdout.trim()), gid: Number(run("id", ["-g", user]).stdout.trim()) };
}

describe.skipIf(!ok)("a member's database on its own host, reached from the web host only", () => {
  let dbSshd: Sshd | undefined;
  let webSshd: Sshd | undefined;
  let db: MariaDB | undefined;
  let archiveDir = "";
  let up = false;
  const accounts: AccountOutputs[] = [];
  const inputs = new Map<string, DatabaseInputs>();

  /** As the member's own unix user, `cmd` on `host` (a topology host) or on this machine (runner). */
  const asMember = (who: typeof A, host: "web" | "other" | "runner", cmd: string, args: string[], input?: string) => {
    const { uid, gid } = idOf(who.handle);
    const argv = [`--reuid=${uid}`, `--regid=${gid}`, "--clear-groups", cmd, ...args];
    const opts = { input, timeoutMs: 30_000, cwd: "/" };
    return host === "runner" ? run("setpriv", argv, opts) : runOnHost(T, host, "setpriv", argv, { input, timeoutMs: 30_000 });
  };
  const page = (who: typeof A) => join(homeOf(who.handle), "sites", who.site, "htdocs", "rows.php");
  const cnf = (who: typeof A) => join(homeOf(who.handle), ".my.cnf.d", `${who.db}.cnf`);
  /** The member's PHP page, run by php-cli as the member on `host`, with `creds` (default: its own file). */
  const php = (who: typeof A, host: "web" | "other" | "runner", dbName = who.db) => asMember(who, host, "php", [page(who), cnf(who), dbName]);
  /** The member's own mariadb client with its delivered credentials, on `host`. */
  const client = (who: typeof A, host: "web" | "other" | "runner", sql: string) =>
    asMember(who, host, "mariadb", [`--defaults-file=${homeOf(who.handle)}/.my.cnf`, `--defaults-group-suffix=_${who.db}`, "--batch", "--skip-column-names", "--connect-timeout=10"], sql);
  const root = (sql: string) => {
    const r = db!.exec(sql);
    if (r.status !== 0) throw new Error(`root SQL failed: ${r.stderr}`);
    return r.stdout.trim();
  };

  beforeAll(async () => {
    T.stateDir = mkdtempSync("/tmp/globenet-gdb-state-");
    topologyUp(T);
    up = true;
    db = await startMariaDB({ bindAddress: DB, wrap: (c, a) => onHost(T, "db", c, a) });
    dbSshd = await startSshd({ listen: { address: DB, port: 22 }, wrap: (c, a) => onHost(T, "db", c, a) });
    webSshd = await startSshd({ listen: { address: WEB, port: 22 }, wrap: (c, a) => onHost(T, "web", c, a) });
    // One deploy key for both hosts, as CI has: the web host's sshd lets the db host's client key in too.
    writeFileSync(join(webSshd.dir, "authorized_keys"), readFileSync(`${dbSshd.keyFile}.pub`));
    process.env.GLOBENET_SSH_KEY_FILE = dbSshd.keyFile;
    archiveDir = mkdtempSync("/tmp/globenet-gdb-archive-");
    const dbTarget = { name: "db", address: DB, port: dbSshd.port, user: "root", hostKey: dbSshd.hostKey };
    const webTarget = { name: "web", address: WEB, port: webSshd.port, user: "root", hostKey: webSshd.hostKey };
    // The model's rule, on this topology's inventory: the web host's address.
    const clientHost = dbClientHost({ address: WEB }, { address: DB });
    for (const who of [A, B]) {
      const acct: AccountInputs = {
        target: webTarget,
        handle: who.handle,
        home: homeOf(who.handle),
        status: "active",
        sshKeys: [KEY_VELO],
        sites: [who.site],
        archiveDir,
        diskQuotaMb: 100, inodeQuota: 10_000, homeQuota: "warn",
        sshd: { dropinDir: webSshd.dropinDir, pidFile: webSshd.pidFile },
        contact: "hostmaster@globenet.example",
      };
      accounts.push((await accountType.create(acct)).outs);
      const checked = databaseType.check({
        target: dbTarget,
        webTarget,
        handle: who.handle,
        home: homeOf(who.handle),
        name: who.db,
        user: who.db,
        clientHost,
        limits: { max_user_connections: 5 },
        status: "active",
        archiveDir,
        socket: db.socket,
      } as unknown as Record<string, unknown>);
      expect(checked.failures).toBeUndefined();
      const i = checked.inputs as DatabaseInputs;
      await databaseType.create(i);
      inputs.set(who.db, i);
      // The member's own page in its own site, as it would upload it.
      const { uid, gid } = idOf(who.handle);
      writeFileSync(page(who), PAGE, { mode: 0o640 });
      chownSync(page(who), uid, gid);
      root(`CREATE TABLE ${who.db}.t (id INT PRIMARY KEY, v VARCHAR(40)); INSERT INTO ${who.db}.t VALUES (1, 'row one of ${who.handle}'), (2, 'row two of ${who.handle}');`);
    }
  }, 240_000);

  afterAll(async () => {
    // The account's delete keeps its site logs (root's only): a test's own are removed here.
    for (const h of [A.handle, B.handle]) rmSync(`/var/log/globenet-sites/${h}`, { recursive: true, force: true });
    for (const a of accounts) {
      try {
        await accountType.delete(a.handle, a);
      } catch (e) {
        console.error(`cleanup: ${String(e)}`);
        run("userdel", [a.handle]);
        rmSync(homeOf(a.handle), { recursive: true, force: true });
      }
    }
    await pool.close();
    await webSshd?.stop();
    await dbSshd?.stop();
    await db?.stop();
    if (up) topologyDown(T);
    for (const d of [archiveDir, T.stateDir]) if (d) rmSync(d, { recursive: true, force: true });
  }, 120_000);

  it("the grants are by the web host's address and the delivered file names the db host's", () => {
    expect(inputs.get(A.db)?.clientHost).toBe(WEB);
    expect(root(`SELECT CONCAT(User, '@', Host) FROM mysql.user WHERE User IN ('${A.db}', '${B.db}') ORDER BY User`).split("\n")).toEqual([`${A.db}@${WEB}`, `${B.db}@${WEB}`]);
    const text = readFileSync(cnf(A), "utf8");
    expect(text).toMatch(new RegExp(`\\[client_${A.db}\\]\\nuser=${A.db}\\npassword=[A-Za-z0-9_-]{32}\\nhost=${DB.replace(/\./g, "\\.")}\\n`));
    expect(text).not.toContain("socket=");
    // MariaDB listens on the db host's address only: nothing on the runner's side of 3306 here.
    expect(root("SELECT @@GLOBAL.bind_address, @@GLOBAL.port, @@GLOBAL.skip_networking")).toBe(`${DB}\t3306\t0`);
  });

  it("the member's PHP on web lists its rows from the database on db; from another host the same page is refused (host not allowed)", () => {
    const legit = php(A, "web");
    expect(legit.stderr).toBe("");
    expect(legit.status).toBe(0);
    expect(legit.stdout).toBe(`row one of ${A.handle}\nrow two of ${A.handle}\n`);
    const attack = php(A, "other");
    expect(attack.status).toBe(1);
    expect(attack.stdout).toBe("");
    expect(attack.stderr).toContain(`connect: 1130 Host '${OTHER}' is not allowed to connect to this MariaDB server`);
  });

  it("the member's mariadb client with its credentials works on web, and is refused from another host and from the runner", () => {
    const legit = client(A, "web", "SELECT CURRENT_USER(), COUNT(*) FROM t;");
    expect(legit.stderr).toBe("");
    expect(legit.stdout.trim()).toBe(`${A.db}@${WEB}\t2`);
    const fromOther = client(A, "other", "SELECT 1;");
    expect(fromOther.status).not.toBe(0);
    // The client asks for TLS first (this server has none), so it reports the server's 1130 inside its own 2002.
    expect(fromOther.stderr).toContain(`1130 - Host '${OTHER}' is not allowed to connect to this MariaDB server`);
    const fromRunner = client(A, "runner", "SELECT 1;");
    expect(fromRunner.status).not.toBe(0);
    expect(fromRunner.stderr).toContain(`1130 - Host '${RUNNER}' is not allowed to connect to this MariaDB server`);
    // The runner's PHP too (this machine, where CI runs: no member database from here).
    const phpRunner = php(A, "runner");
    expect(phpRunner.status).toBe(1);
    expect(phpRunner.stderr).toContain(`connect: 1130 Host '${RUNNER}' is not allowed`);
  });

  it("another member's credentials reach its own database from web, never the first member's", () => {
    const own = php(B, "web");
    expect(own.stderr).toBe("");
    expect(own.stdout).toBe(`row one of ${B.handle}\nrow two of ${B.handle}\n`);
    const attack = php(B, "web", A.db);
    expect(attack.status).toBe(1);
    expect(attack.stdout).toBe("");
    expect(attack.stderr).toContain(`use: 1044 Access denied for user '${B.db}'@'${WEB}' to database '${A.db}'`);
    const sql = client(B, "web", `SELECT v FROM ${A.db}.t;`);
    expect(sql.status).not.toBe(0);
    expect(sql.stderr).toMatch(/ERROR 1142 .*SELECT command denied/);
    // Nor can B read A's credentials file on the web host (its home is A's, 0750; the file 0600).
    const steal = asMember(B, "web", "cat", [cnf(A)]);
    expect(steal.status).not.toBe(0);
    expect(steal.stderr).toMatch(/Permission denied/);
  });

  it("the provider refuses a db host whose MariaDB listens on loopback only (Debian's default), before changing anything", async () => {
    // A second server in db's namespace, as Debian leaves it: bind-address 127.0.0.1.
    const stock = await startMariaDB({ tcp: true, wrap: (c, a) => onHost(T, "db", c, a) });
    try {
      const i = { ...(inputs.get(A.db) as DatabaseInputs), name: `gdb_c${pid}`, user: `gdb_c${pid}`, socket: stock.socket };
      await expect(databaseType.create(i)).rejects.toThrow(
        `db: refusing to apply database gdb_c${pid} for clients on ${WEB}: MariaDB there listens on 127.0.0.1, not on ${DB} where the member's credentials file sends PHP (set bind-address = ${DB} and port = 3306`,
      );
      expect(stock.exec(`SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'gdb_c${pid}'; SELECT COUNT(*) FROM mysql.user WHERE User = 'gdb_c${pid}';`).stdout.trim()).toBe("0\n0");
      expect(readFileSync(cnf(A), "utf8")).not.toContain(`gdb_c${pid}`);
      // The same resource on the server that listens where the inventory says goes through (the legit path, above).
      expect(php(A, "web").status).toBe(0);
    } finally {
      await stock.stop();
    }
  }, 120_000);
});
