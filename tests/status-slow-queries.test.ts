/**
 * `npm run status -- slow-queries <member>` end to end (issue 20; docs/architecture.md, "Slow
 * queries"): the command line, the stack's data, the provider's SSH to the database host (a real
 * sshd on 127.0.0.1, its host key pinned in the inventory), the read script as root over the
 * host's MariaDB socket, and a real MariaDB whose slow query log globenet:db:ServerSettings turned
 * on with the inventory's threshold. Two members each run a query that sleeps past it: each sees
 * its own, never the other's; a query under the threshold is in nobody's.
 */
import { existsSync, lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dbSettingsType } from "../provider/resources/db-settings";
import { pool } from "../provider/ssh/pool";
import { cli } from "./helpers/cli";
import { startMariaDB, type MariaDB } from "./helpers/mariadb";
import { startSshd, type Sshd } from "./helpers/sshd";
import { requireRoot, requireTools } from "./helpers/tools";

const ok = requireTools("sshd", "ssh-keygen", "mariadbd", "mariadb") && requireRoot("a MariaDB server and sshd of the test's own, the slow log read as root");

/** The database host's system socket, which the read script uses as on a real host. */
const SOCKET = "/run/mysqld/mysqld.sock";
const PASSWORD = "slow-test-password";

const inventory = (sshd: Sshd) => `config:
  globenet-infra:inventory:
    domain: globenet.test
    hostmaster: hostmaster@globenet.test
    php_versions: ["8.2"]
    images: {}
    pools: {}
    resolvers: [127.0.0.1]
    mariadb: { slow_query_seconds: 0.5 }
    hosts:
      db1:
        roles: [db]
        fqdn: db1.globenet.test
        address: 127.0.0.1
        ssh: { user: root, port: ${sshd.port}, host_key: "${sshd.hostKey}" }
`;
const member = (handle: string, db: string) => `handle: ${handle}
name: Association ${handle}
contact: { email: bureau@${handle}.test }
status: active
databases:
  - name: ${db}
`;

describe.skipIf(!ok)("npm run status -- slow-queries over SSH against a real MariaDB", () => {
  let sshd: Sshd;
  let db: MariaDB;
  let root: string;
  let settings: Awaited<ReturnType<typeof dbSettingsType.create>> | undefined;
  let linked = false;
  const status = (...args: string[]) => cli(["status", "slow-queries", ...args, "--root", root, "--stack", "test"], { GLOBENET_SSH_KEY_FILE: sshd.keyFile, GLOBENET_LANG: "en" });
  const asMember = (user: string, sql: string) => db.exec(sql, { user, password: PASSWORD, database: user });

  beforeAll(async () => {
    if (existsSync(SOCKET)) throw new Error(`${SOCKET} exists: a MariaDB (or the lab) runs here; stop it first`);
    sshd = await startSshd();
    // The provider's key for the ServerSettings resource below (the command gets it per call too).
    process.env.GLOBENET_SSH_KEY_FILE = sshd.keyFile;
    db = await startMariaDB();
    mkdirSync(dirname(SOCKET), { recursive: true });
    symlinkSync(db.socket, SOCKET);
    linked = true;
    root = mkdtempSync("/tmp/globenet-slow-");
    const write = (rel: string, text: string) => {
      mkdirSync(dirname(join(root, rel)), { recursive: true });
      writeFileSync(join(root, rel), text);
    };
    write("Pulumi.test.yaml", inventory(sshd));
    write("members/velo-libre/member.yaml", member("velo-libre", "velo_wp"));
    write("members/ondes/member.yaml", member("ondes", "ondes_db"));
    mkdirSync(join(root, "zones"));
    for (const name of ["velo_wp", "ondes_db"]) {
      const r = db.exec(`CREATE DATABASE ${name}; CREATE USER '${name}'@'localhost' IDENTIFIED BY '${PASSWORD}'; GRANT ALL ON ${name}.* TO '${name}'@'localhost';`);
      expect(r.status, r.stderr).toBe(0);
    }
    // The resource the apply makes on a database host, with the inventory's threshold.
    settings = await dbSettingsType.create({ target: { name: "db1", address: "127.0.0.1", port: sshd.port, user: "root", hostKey: sshd.hostKey }, slowQuerySeconds: 0.5, keepDays: 14, socket: SOCKET });
  });

  afterAll(async () => {
    if (settings) await dbSettingsType.delete(settings.id, settings.outs).catch(() => undefined);
    await pool.close().catch(() => undefined);
    if (linked && lstatSync(SOCKET, { throwIfNoEntry: false })?.isSymbolicLink()) unlinkSync(SOCKET);
    await db?.stop().catch(() => undefined);
    await sshd?.stop().catch(() => undefined);
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it("before any slow query, each member is told there is none over the inventory's threshold", async () => {
    const r = await status("velo-libre");
    expect([r.status, r.stdout.trim()], r.stderr).toEqual([0, "velo-libre: no query over 0.5 s in the log"]);
  });

  it("a member's query that sleeps past the threshold is its own, normalized and counted; the other member's is not in its view", async () => {
    expect(asMember("velo_wp", "SELECT SLEEP(0.7), 'velo-secret'; SELECT SLEEP(0.6), 'other literal'; SELECT 1;").status).toBe(0);
    expect(asMember("ondes_db", "SELECT SLEEP(0.8) AS ondes_only;").status).toBe(0);

    const velo = await status("velo-libre", "--json");
    expect(velo.status, velo.stderr).toBe(0);
    const groups = JSON.parse(velo.stdout) as { query: string; db: string; count: number; totalSeconds: number; maxSeconds: number }[];
    expect(groups.map((g) => [g.query, g.db, g.count])).toEqual([["SELECT SLEEP(?), ?", "velo_wp", 2]]);
    expect(groups[0]!.maxSeconds).toBeGreaterThanOrEqual(0.7);
    expect(groups[0]!.totalSeconds).toBeGreaterThanOrEqual(1.3);
    // Neither the literal nor the other member's query reaches velo-libre's view.
    expect(velo.stdout).not.toMatch(/velo-secret|ondes_only|ondes_db/);

    const ondes = await status("ondes", "--json");
    const og = JSON.parse(ondes.stdout) as { query: string; db: string; count: number }[];
    expect(og.map((g) => [g.query, g.db, g.count])).toEqual([["SELECT SLEEP(?) AS ondes_only", "ondes_db", 1]]);
    expect(ondes.stdout).not.toMatch(/velo/);

    // The table a volunteer reads, in English and in French.
    const table = await status("velo-libre");
    expect(table.stdout).toMatch(/^count +total +max +database +query$/m);
    expect(table.stdout).toMatch(/^2 +\d+\.\d s +\d+\.\d s +velo_wp +SELECT SLEEP\(\?\), \?$/m);
    const fr = await cli(["status", "slow-queries", "ondes", "--root", root, "--stack", "test"], { GLOBENET_SSH_KEY_FILE: sshd.keyFile, GLOBENET_LANG: "fr" });
    expect(fr.stdout).toMatch(/^fois +total +max +base +requête$/m);
    expect(fr.stdout).toMatch(/^1 +.* ondes_db +SELECT SLEEP\(\?\) AS ondes_only$/m);
  });

  it("a member unknown to the stack is refused, with where members are written", async () => {
    const r = await status("nobody-here");
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("no member nobody-here on stack test (members/<handle>/member.yaml)");
  });
});
