/**
 * globenet:db:Database against real services: a throwaway sshd lets the provider in as root,
 * a throwaway MariaDB (tests/helpers/mariadb.ts, given to the resource as `socket`) holds the
 * database, and a real member account (the Account resource) receives the credentials file.
 * Everything (server, user, home, archives, sshd) is removed at the end.
 */
import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { plain } from "../provider/resources/account-shared";
import { dbSettingsType } from "../provider/resources/db-settings";
import { parseSlowLog, READ_SLOW_LOG, slowGroups } from "../lib/status/slow-queries";

/** Where globenet:db:ServerSettings makes its settings survive a restart (this machine's, during the test). */
const SETTINGS_FILE = "/etc/mysql/mariadb.conf.d/90-globenet.cnf";
const TRIM_BIN = "/usr/local/sbin/globenet-slow-log-trim";
const TRIM_CRON = "/etc/cron.d/globenet-slow-log";
import { accountType, type AccountInputs, type AccountOutputs } from "../provider/resources/account";
import { databaseType, META_DB, runSql, type DatabaseInputs, type DatabaseOutputs } from "../provider/resources/database";
import { RemoteTimeout } from "../provider/ssh/remote";
import { pool } from "../provider/ssh/pool";
import { KEY_VELO } from "./fixtures/model";
import { startMariaDB, type MariaDB } from "./helpers/mariadb";
import { startSshd, type Sshd } from "./helpers/sshd";
import { requireRoot, requireTools, run } from "./helpers/tools";

const ok =
  requireTools("sshd", "ssh-keygen", "mariadbd", "mariadb-install-db", "mariadb", "mysqldump") &&
  requireTools("useradd", "userdel", "setpriv", "gzip", "tar") &&
  requireRoot("MariaDB runs as mysql and the member is a real unix user");

const handle = `gtdb-${process.pid}`;
const home = `/home/${handle}`;
const name = `gt_db${process.pid}`;
const restored = `gt_restore${process.pid}`;
const other = `gt_other${process.pid}`;
/** A database and an account that root made by hand: not Globenet's. */
const foreign = `gt_foreign${process.pid}`;
const foreignUser = `gt_fuser${process.pid}`;

function idOf(user: string): { uid: number; gid: number } {
  return { uid: Number(run("id", ["-u", user]).stdout.trim()), gid: Number(run("id", ["-g", user]).stdout.trim()) };
}

describe.skipIf(!ok)("globenet:db:Database against a real MariaDB over SSH", () => {
  let sshd: Sshd;
  let db: MariaDB;
  let archiveDir: string;
  let scratch: string;
  let account: AccountOutputs | undefined;
  let inputs: DatabaseInputs;
  let outs: DatabaseOutputs;
  let password: string;

  /** SQL as the member, with nothing but the credentials file the provider wrote (as the member's own unix user). */
  const asMember = (sql: string) => {
    const { uid, gid } = idOf(handle);
    return run(
      "setpriv",
      [`--reuid=${uid}`, `--regid=${gid}`, "--clear-groups", "mariadb", `--defaults-file=${home}/.my.cnf`, `--defaults-group-suffix=_${name}`, "--batch", "--skip-column-names"],
      { input: sql, cwd: "/", timeoutMs: 20_000 },
    );
  };
  const root = (sql: string) => {
    const r = db.exec(sql);
    if (r.status !== 0) throw new Error(`root SQL failed: ${r.stderr}`);
    return r.stdout.trim();
  };

  beforeAll(async () => {
    sshd = await startSshd();
    process.env.GLOBENET_SSH_KEY_FILE = sshd.keyFile;
    db = await startMariaDB();
    // The member connects to the throwaway server's socket: let it through the server's temp dir (datadir stays mysql-only).
    chmodSync(db.dir, 0o711);
    archiveDir = mkdtempSync("/tmp/globenet-archive-");
    scratch = mkdtempSync("/tmp/globenet-db-test-");
    const target = { name: "db1", address: "127.0.0.1", port: sshd.port, user: "root", hostKey: sshd.hostKey };
    const web = { ...target, name: "web1" };
    const acct: AccountInputs = {
      target: web,
      handle,
      home,
      status: "active",
      sshKeys: [KEY_VELO],
      sites: ["velo-libre.example"],
      archiveDir,
      diskQuotaMb: 100, inodeQuota: 10_000, homeQuota: "warn",
      sshd: { dropinDir: sshd.dropinDir, pidFile: sshd.pidFile },
      contact: "hostmaster@globenet.example",
    };
    account = (await accountType.create(acct)).outs;
    inputs = {
      target,
      webTarget: web,
      handle,
      home,
      name,
      user: name,
      clientHost: "localhost",
      limits: { max_user_connections: 5 },
      status: "active",
      archiveDir,
      socket: db.socket,
    };
  });

  afterAll(async () => {
    for (const f of [SETTINGS_FILE, TRIM_BIN, TRIM_CRON]) rmSync(f, { force: true });
    // The account's delete keeps its site logs (root's only): a test's own are removed here.
    rmSync(`/var/log/globenet-sites/${handle}`, { recursive: true, force: true });
    try {
      if (account) await accountType.delete(handle, account);
    } catch (e) {
      console.error(`cleanup: ${String(e)}`);
      run("userdel", [handle]);
      rmSync(home, { recursive: true, force: true });
    }
    await pool.close();
    await sshd?.stop();
    await db?.stop();
    for (const d of [archiveDir, scratch]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it("check refuses names, hosts and limits that are not safe, naming the property", () => {
    const r = databaseType.check({
      ...inputs,
      name: "Bad-Name",
      user: "mysql",
      clientHost: "x'; DROP USER root; --",
      limits: { max_user_connections: -1, max_queries_per_hour: 1.5, bogus: 3 },
      socket: "../run/mysqld.sock",
    } as unknown as Record<string, unknown>);
    expect((r.failures ?? []).map((f) => f.property).sort()).toEqual([
      "clientHost",
      "limits.bogus",
      "limits.max_queries_per_hour",
      "limits.max_user_connections",
      "name",
      "socket",
      "user",
    ]);
    const good = databaseType.check({ ...inputs } as unknown as Record<string, unknown>);
    expect(good.failures).toBeUndefined();
    inputs = good.inputs as DatabaseInputs;
  });

  it("create makes database, user and grant, and writes the member's credentials file (0600, theirs)", async () => {
    const r = await databaseType.create(inputs);
    outs = r.outs;
    expect(r.id).toBe(name);
    password = plain<string>(outs.password);
    // Returned as a Pulumi secret on the wire, whatever the caller registered.
    expect(JSON.stringify(outs.password)).toContain("1b47061264138c4ac30d75fd1eb44270");
    expect(password).toMatch(/^[A-Za-z0-9_-]{24,}$/);
    const cnf = join(home, ".my.cnf.d", `${name}.cnf`);
    expect(run("stat", ["-c", "%U:%G:%a", cnf]).stdout.trim()).toBe(`${handle}:${handle}:600`);
    const text = readFileSync(cnf, "utf8");
    expect(text).toContain(`[client_${name}]\nuser=${name}\npassword=${password}\nsocket=${db.socket}\n`);
    expect(text).toContain(`[mysql_${name}]\ndatabase=${name}\n`);
    expect(text).toContain(`mariadb --defaults-group-suffix=_${name}`);
    expect(root(`SELECT max_user_connections FROM mysql.user WHERE User = '${name}' AND Host = 'localhost'`)).toBe("5");
  });

  it("the member logs in with the credentials file, into its own database only", async () => {
    const who = asMember("SELECT DATABASE(), CURRENT_USER();");
    expect(who.stderr).toBe("");
    expect(who.stdout.trim()).toBe(`${name}\t${name}@localhost`);
    expect(asMember("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(40)); INSERT INTO t VALUES (1, 'row kept by the dump'); SELECT v FROM t;").stdout.trim()).toBe("row kept by the dump");
    expect(asMember("SHOW DATABASES;").stdout.trim().split("\n").sort()).toEqual(["information_schema", name].sort());
    root(`CREATE DATABASE ${other}`);
    expect(asMember(`USE ${other};`).stderr).toMatch(/Access denied/);
    expect(asMember("CREATE DATABASE gt_sneaky;").stderr).toMatch(/Access denied/);
    expect(asMember("SELECT * FROM mysql.user;").stderr).toMatch(/denied/);
    root(`DROP DATABASE ${other}`);
  });

  // KNOWN BUG, not in this resource: lib/render's GRANT names the database with sqlIdentifier
  // only, and in a GRANT `_` is a LIKE wildcard, so `gt_dbNNN` also matches `gtxdbNNN` (any
  // character in place of each `_`): a member can reach another member's database whose name
  // differs only there. The fix is in lib/render/templates/mariadb-database.sql.hbs (escape
  // `_` and `%` as `\_` `\%` in the GRANT's database name). This test documents it; when the
  // renderer is fixed it will fail, and `.fails` should be removed.
  it("the member cannot reach a database whose name matches its own with `_` as a wildcard", () => {
    const lookalike = name.replace(/_/g, "x");
    root(`CREATE DATABASE ${lookalike}`);
    try {
      expect(asMember(`USE ${lookalike};`).stderr).toMatch(/Access denied/);
    } finally {
      root(`DROP DATABASE ${lookalike}`);
    }
  });

  it("read shows the live state equal to the inputs (password kept from the state, not read back)", async () => {
    const live = (await databaseType.read(name, outs)) as DatabaseOutputs;
    expect(live.drift).toEqual([]);
    expect(live.limits).toEqual({ max_user_connections: 5 });
    expect(live.status).toBe("active");
    expect(plain(live.password)).toBe(password);
    expect(databaseType.diff(name, live, inputs).changes).toBe(false);
  });

  it("update converges limits with the same password", async () => {
    const news = { ...inputs, limits: { max_user_connections: 7, max_queries_per_hour: 1000, max_updates_per_hour: 300 } };
    const d = databaseType.diff(name, outs, news);
    expect(d.changes).toBe(true);
    expect(d.replaces).toEqual([]);
    outs = await databaseType.update(name, outs, news);
    expect(plain(outs.password)).toBe(password);
    expect(root(`SELECT max_user_connections, max_questions, max_updates FROM mysql.user WHERE User = '${name}' AND Host = 'localhost'`)).toBe("7\t1000\t300");
    expect(((await databaseType.read(name, outs)) as DatabaseOutputs).limits).toEqual(news.limits);
    expect(asMember("SELECT COUNT(*) FROM t;").stdout.trim()).toBe("1");
    // Removing limits from the YAML removes them from the server (0 = none).
    outs = await databaseType.update(name, outs, inputs);
    expect(root(`SELECT max_user_connections, max_questions, max_updates FROM mysql.user WHERE User = '${name}' AND Host = 'localhost'`)).toBe("5\t0\t0");
  });

  it("a user dropped and a credentials file edited by hand show as drift; update restores both", async () => {
    root(`DROP USER '${name}'@'localhost'`);
    const cnf = join(home, ".my.cnf.d", `${name}.cnf`);
    writeFileSync(cnf, readFileSync(cnf, "utf8").replace(`password=${password}`, "password=guessed"));
    const live = (await databaseType.read(name, outs)) as DatabaseOutputs;
    expect(live.drift.join("\n")).toMatch(/account .* is missing/);
    expect(live.drift.join("\n")).toMatch(/has no grant/);
    expect(live.drift.join("\n")).toMatch(/\.cnf on web1 differs/);
    expect(databaseType.diff(name, live, inputs).changes).toBe(true);
    outs = await databaseType.update(name, live, inputs);
    expect(asMember("SELECT v FROM t;").stdout.trim()).toBe("row kept by the dump");
    expect(((await databaseType.read(name, outs)) as DatabaseOutputs).drift).toEqual([]);
  });

  it("suspended locks the MariaDB account (login refused: locked); active unlocks it", async () => {
    outs = await databaseType.update(name, outs, { ...inputs, status: "suspended" });
    const refused = asMember("SELECT 1;");
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/locked/i);
    expect(((await databaseType.read(name, outs)) as DatabaseOutputs).status).toBe("suspended");
    outs = await databaseType.update(name, outs, inputs);
    expect(asMember("SELECT 1;").stdout.trim()).toBe("1");
  });

  it("rotate_password: a new value sets a new password and delivers it; the old one is refused; the same value again changes nothing", async () => {
    const cnf = join(home, ".my.cnf.d", `${name}.cnf`);
    const before = plain<string>(outs.password);
    const rotated = { ...inputs, rotation: "1" };
    expect((databaseType.diff(name, outs, rotated) as { diffs: string[] }).diffs).toEqual(["rotation"]);
    outs = await databaseType.update(name, outs, rotated);
    const after = plain<string>(outs.password);
    expect(after).not.toBe(before);
    expect(readFileSync(cnf, "utf8")).toContain(`password=${after}\n`);
    expect(asMember("SELECT v FROM t;").stdout.trim()).toBe("row kept by the dump");
    // The old password, tried from a file of its own (never in argv): refused.
    const oldCnf = join(scratch, "old-password.cnf");
    writeFileSync(oldCnf, `[client]\nuser=${name}\npassword=${before}\nsocket=${db.socket}\n`, { mode: 0o600 });
    const old = run("mariadb", [`--defaults-file=${oldCnf}`, "-e", "SELECT 1"], { timeoutMs: 20_000 });
    rmSync(oldCnf, { force: true });
    expect(old.status).not.toBe(0);
    expect(old.stderr).toMatch(/Access denied/);
    // No new value: the password stays.
    outs = await databaseType.update(name, outs, rotated);
    expect(plain<string>(outs.password)).toBe(after);
    expect(databaseType.check({ ...inputs, rotation: "soon; DROP" }).failures?.map((f) => f.property)).toEqual(["rotation"]);
    password = after;
    inputs = rotated;
  });

  it("the slow query log: ServerSettings turns it on with the inventory's threshold; the member's slow query is read back as its own, another account's is not", async () => {
    const settings = { target: inputs.target, slowQuerySeconds: 0.5, keepDays: 14, socket: db.socket };
    const made = await dbSettingsType.create(settings);
    expect(root("SELECT @@GLOBAL.slow_query_log, @@GLOBAL.long_query_time, @@GLOBAL.log_output")).toBe("1\t0.500000\tTABLE");
    expect(readFileSync(SETTINGS_FILE, "utf8")).toContain("long_query_time = 0.5");
    expect((await dbSettingsType.read(made.id, made.outs))?.drift).toEqual([]);
    expect(asMember("SELECT SLEEP(0.7);").status).toBe(0);
    root("SELECT SLEEP(0.7)");
    const out = run("bash", ["-c", READ_SLOW_LOG, "read-slow-log", "1", db.socket], { timeoutMs: 30_000 });
    expect(out.status, out.stderr).toBe(0);
    const groups = slowGroups(parseSlowLog(out.stdout), new Set([name]));
    expect(groups.map((g) => [g.query, g.count, g.db])).toEqual([["SELECT SLEEP(?)", 1, name]]);
    expect(groups[0]?.maxSeconds).toBeGreaterThanOrEqual(0.7);
    // Another member (no database user of its own here) sees none of it.
    expect(slowGroups(parseSlowLog(out.stdout), new Set(["gt_other"]))).toEqual([]);
    // The nightly trim: installed root's with the inventory's days; run as cron would (a day of 0
    // keeps nothing in the live table), the entry moves to slow_log_prev and is still read; logging
    // goes on in the new table; the next trim drops what the previous one moved.
    expect(readFileSync(TRIM_CRON, "utf8")).toMatch(new RegExp(`^17 4 \\* \\* \\* root ${TRIM_BIN} 14 ${db.socket.replace(/\./g, "\\.")} >/dev/null$`, "m"));
    expect(statSync(TRIM_BIN).mode & 0o777).toBe(0o700);
    const readAll = () => slowGroups(parseSlowLog(run("bash", ["-c", READ_SLOW_LOG, "read-slow-log", "1", db.socket], { timeoutMs: 30_000 }).stdout), new Set([name]));
    expect(run(TRIM_BIN, ["14", db.socket]).stdout).toContain("slow-log=kept");
    // Counted by their text: on a loaded machine any query may pass the 0.5 s threshold too.
    expect(run(TRIM_BIN, ["0", db.socket]).stdout).toMatch(/slow-log=rotated entries=([2-9]|\d\d+)/);
    expect(root("SELECT COUNT(*) FROM mysql.slow_log WHERE sql_text LIKE '%SLEEP(0.7)%'")).toBe("0");
    expect(readAll().map((g) => [g.query, g.count])).toEqual([["SELECT SLEEP(?)", 1]]);
    expect(asMember("SELECT SLEEP(0.6), 1;").status).toBe(0);
    expect(root("SELECT COUNT(*) FROM mysql.slow_log WHERE sql_text LIKE '%SLEEP(0.6)%'")).toBe("1");
    expect(run(TRIM_BIN, ["0", db.socket]).stdout).toMatch(/slow-log=rotated entries=[1-9]/);
    expect(readAll().map((g) => [g.query, g.count])).toEqual([["SELECT SLEEP(?), ?", 1]]);
    expect(run(TRIM_BIN, ["0 ; touch /tmp/x", db.socket]).status).toBe(2);
    // Turned off by hand, trim removed by hand: drift; the next apply puts both back; delete turns the
    // log off and removes the files.
    root("SET GLOBAL slow_query_log = OFF");
    rmSync(TRIM_CRON);
    expect((await dbSettingsType.read(made.id, made.outs))?.drift).toEqual(["the slow query log is off", "the nightly trim of the slow query log is not installed"]);
    await dbSettingsType.update(made.id, made.outs, settings);
    expect(root("SELECT @@GLOBAL.slow_query_log")).toBe("1");
    expect(existsSync(TRIM_CRON)).toBe(true);
    expect((await dbSettingsType.read(made.id, { ...made.outs, keepDays: 30 }))?.drift).toEqual([`the nightly trim runs with "14 ${db.socket}", not "30 ${db.socket}"`]);
    await dbSettingsType.delete(made.id, made.outs);
    expect(root("SELECT @@GLOBAL.slow_query_log")).toBe("0");
    expect(existsSync(SETTINGS_FILE)).toBe(false);
    expect(existsSync(TRIM_CRON) || existsSync(TRIM_BIN)).toBe(false);
    expect(root("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'mysql' AND TABLE_NAME = 'slow_log_prev'")).toBe("0");
  });

  it("the provider's records are root's: the member can neither read nor write them", () => {
    expect(root(`SELECT kind, name, host FROM ${META_DB}.owned WHERE name = '${name}' ORDER BY kind`)).toBe(`database\t${name}\t\nuser\t${name}\tlocalhost`);
    expect(asMember(`SELECT * FROM ${META_DB}.owned;`).stderr).toMatch(/denied/);
    expect(asMember(`INSERT INTO ${META_DB}.owned (kind, name, host) VALUES ('database', 'mysql', '');`).stderr).toMatch(/denied/);
    expect(asMember(`ALTER DATABASE ${name} COMMENT 'globenet';`).status).toBe(0);
  });

  it("a database named root is refused by check; bypassed, the server refuses it: root@localhost is not altered and no password is handed out", async () => {
    const r = databaseType.check({ ...inputs, name: "root", user: "root" } as unknown as Record<string, unknown>);
    expect(r.failures).toEqual([
      { property: "name", reason: '"root" is not a database name: is reserved: a MariaDB account or role name (choose another name, like "velo_wp")' },
      { property: "user", reason: '"root" is not a database name: is reserved: a MariaDB account or role name (choose another name, like "velo_wp")' },
    ]);
    const rootPriv = root("SELECT Priv FROM mysql.global_priv WHERE User = 'root' AND Host = 'localhost'");
    await expect(databaseType.create({ ...inputs, name: "root", user: "root" })).rejects.toThrow(
      "db1: refusing to create database root: a MariaDB account root@localhost already exists on this server and Globenet did not create it (no row in globenet_meta.owned). Nothing was changed.",
    );
    expect(root("SELECT Priv FROM mysql.global_priv WHERE User = 'root' AND Host = 'localhost'")).toBe(rootPriv);
    expect(root("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'root'")).toBe("0");
    expect(existsSync(join(home, ".my.cnf.d", "root.cnf"))).toBe(false);
    // And the system database `mysql` (bypassing check too): never adopted.
    await expect(databaseType.create({ ...inputs, name: "mysql", user: "gt_sneaky" })).rejects.toThrow(/refusing to create database mysql: a database named mysql already exists on this server and Globenet did not create it/);
    expect(root("SELECT COUNT(*) FROM mysql.global_priv WHERE User = 'gt_sneaky'")).toBe("0");
  });

  it("a database or an account that exists without Globenet's record is refused, and delete never drops it", async () => {
    root(`CREATE DATABASE ${foreign}; CREATE TABLE ${foreign}.t (v VARCHAR(20)); INSERT INTO ${foreign}.t VALUES ('not theirs'); CREATE USER ${foreignUser}@localhost IDENTIFIED BY 'x-local-secret-1';`);
    const theirs: DatabaseInputs = { ...inputs, name: foreign, user: foreign };
    try {
      await expect(databaseType.create(theirs)).rejects.toThrow(`db1: refusing to create database ${foreign}: a database named ${foreign} already exists on this server and Globenet did not create it`);
      expect(root(`SELECT COUNT(*) FROM mysql.global_priv WHERE User = '${foreign}'`)).toBe("0");
      await expect(databaseType.create({ ...inputs, name: foreignUser, user: foreignUser })).rejects.toThrow(`refusing to create database ${foreignUser}: a MariaDB account ${foreignUser}@localhost already exists`);
      expect(root(`SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '${foreignUser}'`)).toBe("0");
      // A resource claiming it in the state: nothing is locked, dumped or dropped.
      const claimed: DatabaseOutputs = { ...theirs, password: outs.password, archives: [], drift: [], marked: true };
      await expect(databaseType.delete(foreign, claimed)).rejects.toThrow(`db1: refusing to delete database ${foreign}: a database named ${foreign} already exists on this server and Globenet did not create it`);
      expect(root(`SELECT v FROM ${foreign}.t`)).toBe("not theirs");
      expect(existsSync(join(archiveDir, "databases"))).toBe(false);
      await expect(databaseType.delete(foreignUser, { ...claimed, name: foreignUser, user: foreignUser })).rejects.toThrow(/a MariaDB account gt_fuser\d+@localhost already exists/);
      expect(root(`SELECT JSON_VALUE(Priv, '$.account_locked') FROM mysql.global_priv WHERE User = '${foreignUser}'`)).not.toMatch(/^(1|true)$/);
    } finally {
      root(`DROP DATABASE IF EXISTS ${foreign}; DROP USER IF EXISTS ${foreignUser}@localhost;`);
    }
  });

  it("a database made before records existed: create refuses it, update (it is in the state) records it, read and diff say so", async () => {
    root(`DELETE FROM ${META_DB}.owned WHERE name = '${name}'`);
    const live = (await databaseType.read(name, outs)) as DatabaseOutputs;
    expect(live.marked).toBe(false);
    expect((databaseType.diff(name, live, inputs) as { diffs: string[] }).diffs).toEqual(["marked"]);
    await expect(databaseType.create(inputs)).rejects.toThrow(/refusing to create database gt_db\d+: a database named gt_db\d+ already exists on this server/);
    outs = await databaseType.update(name, live, inputs);
    expect(root(`SELECT COUNT(*) FROM ${META_DB}.owned WHERE name = '${name}'`)).toBe("2");
    expect(databaseType.diff(name, (await databaseType.read(name, outs)) as DatabaseOutputs, inputs).changes).toBe(false);
    expect(asMember("SELECT v FROM t;").stdout.trim()).toBe("row kept by the dump");
  });

  /** The member locks its own table and keeps the session open (what a stuck script does). */
  const holdTableLock = async () => {
    const { uid, gid } = idOf(handle);
    const holder = spawn(
      "setpriv",
      [`--reuid=${uid}`, `--regid=${gid}`, "--clear-groups", "mariadb", `--defaults-file=${home}/.my.cnf`, `--defaults-group-suffix=_${name}`, "-e", "LOCK TABLES t WRITE; SELECT SLEEP(300);"],
      { cwd: "/", stdio: "ignore" },
    );
    let locked = false;
    for (let i = 0; i < 100 && !locked; i++) {
      locked = root(`SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = '${name}' AND INFO LIKE 'SELECT SLEEP%'`) === "1";
      if (!locked) await new Promise((r) => setTimeout(r, 100));
    }
    expect(locked).toBe(true);
    return holder;
  };

  it("a member's session holding a lock cannot hang an apply: the step fails within its bound, says where and what, and the next apply works", async () => {
    const holder = await holdTableLock();
    try {
      process.env.GLOBENET_TIMEOUT_SQL = "4";
      const news = { ...inputs, limits: { max_user_connections: 6 } };
      const t0 = Date.now();
      const err = await databaseType.update(name, outs, news).then(
        () => undefined,
        (e: unknown) => e,
      );
      const elapsed = Date.now() - t0;
      expect(err).toBeInstanceOf(RemoteTimeout);
      expect((err as Error).message).toMatch(
        new RegExp(`^db1: updating database ${name} timed out after 4 s and was stopped \\(its processes on db1 were killed; nothing after it ran\\)\\. .*a session holding a lock.*Look on db1 \\(ps, lsof, SHOW PROCESSLIST\\).*GLOBENET_TIMEOUT_SQL=<seconds>`),
      );
      expect(elapsed).toBeLessThan(20_000);
      // The server gives up on its side too (lock_wait_timeout follows the bound): nothing of ours waits there.
      let waiting = "1";
      for (let i = 0; i < 150 && waiting !== "0"; i++) {
        waiting = root("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = 'root' AND INFO LIKE 'CREATE DATABASE%'");
        if (waiting !== "0") await new Promise((r) => setTimeout(r, 100));
      }
      expect(waiting).toBe("0");
      expect(root(`SELECT max_user_connections FROM mysql.user WHERE User = '${name}' AND Host = 'localhost'`)).toBe("5");
    } finally {
      delete process.env.GLOBENET_TIMEOUT_SQL;
      holder.kill("SIGKILL");
    }
    // Once the member's session is gone, the same apply goes through.
    root(`KILL USER ${name}`);
    outs = await databaseType.update(name, outs, inputs);
    expect(asMember("SELECT COUNT(*) FROM t;").stdout.trim()).toBe("1");
  }, 60_000);

  it("a member holding a lock cannot put off its own suspension: its sessions are closed, the account locked", async () => {
    const holder = await holdTableLock();
    try {
      process.env.GLOBENET_TIMEOUT_SQL = "4";
      outs = await databaseType.update(name, outs, { ...inputs, status: "suspended" });
      expect(root(`SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = '${name}'`)).toBe("0");
      expect(root(`SELECT JSON_VALUE(Priv, '$.account_locked') FROM mysql.global_priv WHERE User = '${name}' AND Host = 'localhost'`)).toMatch(/^(1|true)$/);
      expect(asMember("SELECT 1;").status).not.toBe(0);
    } finally {
      delete process.env.GLOBENET_TIMEOUT_SQL;
      holder.kill("SIGKILL");
    }
    // Reactivation: the member's login works again, its rows untouched.
    outs = await databaseType.update(name, outs, inputs);
    expect(asMember("SELECT COUNT(*) FROM t;").stdout.trim()).toBe("1");
  }, 60_000);

  it("secrets stay out of error text: a failing step shows [secret] where the password was", async () => {
    // A syntax error makes mariadb quote the statement, password included.
    const pw = "Zq9-very-secret-value-xyz";
    const err = await runSql(inputs.target, db.socket, `CREATE USER nobody@localhost IDENTIFIED BYY '${pw}';\n`, "the forced failure", [pw]).then(
      () => undefined,
      (e: Error) => e.message,
    );
    expect(err).toMatch(/the forced failure failed \(exit 1\)/);
    expect(err).toContain("[secret]");
    expect(err).not.toContain(pw);
    // The resource's own steps pass the password as a secret too: a failing update does not show it.
    const bad = { ...inputs, socket: "/nonexistent/mysqld.sock" };
    const msg = await databaseType.update(name, { ...outs, socket: bad.socket }, bad).then(
      () => "no error",
      (e: Error) => e.message,
    );
    expect(msg).toMatch(/database .* failed/);
    expect(msg).not.toContain(password);
  });

  it("diff replaces only when name, user or host change (never a rename)", () => {
    expect(databaseType.diff(name, outs, { ...inputs, status: "suspended" }).replaces).toEqual([]);
    expect(databaseType.diff(name, outs, { ...inputs, name: "gt_new", user: "gt_new" }).replaces).toEqual(["name", "user"]);
    expect(databaseType.diff(name, outs, { ...inputs, target: { ...inputs.target, name: "db2" } })).toMatchObject({ changes: true, replaces: [] });
    const moved = databaseType.diff(name, outs, { ...inputs, target: { ...inputs.target, name: "db2", address: "127.0.0.2" } });
    expect(moved.replaces).toEqual(["target"]);
    expect(moved.deleteBeforeReplace).toBe(true);
  });

  it("delete dumps (verified), then drops database and user and removes the credentials file; the dump restores", async () => {
    await databaseType.delete(name, outs);
    const dir = join(archiveDir, "databases");
    const files = readdirSync(dir);
    expect(files).toHaveLength(1);
    const dump = join(dir, files[0] as string);
    expect(dump).toMatch(new RegExp(`/databases/${name}-\\d{8}T\\d{6}Z\\.sql\\.gz$`));
    expect(statSync(dump).mode & 0o777).toBe(0o600);
    expect(root(`SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '${name}'`)).toBe("0");
    expect(root(`SELECT COUNT(*) FROM mysql.user WHERE User = '${name}'`)).toBe("0");
    expect(existsSync(join(home, ".my.cnf.d", `${name}.cnf`))).toBe(false);
    expect(await databaseType.read(name, outs)).toBeUndefined();

    const sql = run("gzip", ["-cd", dump]);
    expect(sql.status).toBe(0);
    expect(sql.stdout).toContain("CREATE TABLE `t`");
    root(`CREATE DATABASE ${restored}`);
    const imported = db.exec(sql.stdout, { database: restored });
    expect(imported.stderr).toBe("");
    expect(root(`SELECT v FROM ${restored}.t WHERE id = 1`)).toBe("row kept by the dump");
    root(`DROP DATABASE ${restored}`);
  });
});
