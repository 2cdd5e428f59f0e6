/**
 * globenet:db:Database — a MariaDB database, its user, grants and limits on a database host,
 * and the member's credentials file on the web host.
 *
 * - The SQL is lib/render/mariadb-sql.ts's, run with the `mariadb` client as root (unix
 *   socket authentication), on stdin. Re-running it converges (limits, ACCOUNT LOCK/UNLOCK).
 * - The password is generated here with node:crypto, travels only on stdin (SQL, the
 *   credentials file), is redacted from every error, and is returned as a Pulumi secret.
 * - The credentials file is <home>/.my.cnf.d/<name>.cnf (0600, the member's), read through
 *   the `!includedir` of ~/.my.cnf that the Account writes. Its groups carry the database
 *   name as a suffix, `[client_<name>]` and `[mysql_<name>]`, so a member with several
 *   databases has one group each and no file overrides another:
 *       mariadb --defaults-group-suffix=_<name>
 *   (`database=` sits in `[mysql_<name>]` only: mariadb-dump and other tools that read the
 *   client groups refuse an unknown `database` option.)
 * - Deleting dumps first (mysqldump --single-transaction --routines --triggers --events,
 *   gzip, verified: gzip -t, header and "Dump completed" trailer), then drops. Never drops
 *   without a verified dump.
 * - The name, the user and the database host are fixed: changing one replaces the resource
 *   (dump, drop, create empty). The program never renames a database: a rename would lose
 *   its data, so a new name is a new, empty database and the old one is archived.
 */
import { createHash, randomBytes } from "node:crypto";
import type { DiffResult } from "@pulumi/pulumi/provider";
import type { DatabaseModel } from "../../lib/model/types";
import { sqlIdentifier, sqlString } from "../../lib/render/escape";
import { renderDatabaseSql } from "../../lib/render/mariadb-sql";
import { loadScript } from "../scripts/load";
import { redact, run, timeoutSeconds, type RunResult, type TimeoutKind } from "../ssh/remote";
import type { ResourceType, Target } from "../types";
import {
  Failures,
  asTarget,
  checkTarget,
  dbNameProblem,
  handleProblem,
  hasUnknown,
  homeProblem,
  hostProblem,
  parseLines,
  pathProblem,
  plain,
  printable,
  rotationProblem,
  sameHost,
  secret,
  str,
  utcStamp,
  type SecretValue,
} from "./account-shared";

export type DatabaseStatus = "active" | "suspended" | "departed";

export interface DatabaseLimits {
  max_user_connections: number;
  max_queries_per_hour?: number;
  max_updates_per_hour?: number;
}

export interface DatabaseInputs {
  /** The database host. */
  target: Target;
  /** The web host that receives the member's credentials file; none: no file is written. */
  webTarget?: Target;
  handle: string;
  home: string;
  name: string;
  user: string;
  /** Host part of the MariaDB account: "localhost" (web and db on one machine) or the web host's address. */
  clientHost: string;
  limits: DatabaseLimits;
  /** Anything but "active" locks the MariaDB account (ACCOUNT LOCK); the data stays. */
  status: DatabaseStatus;
  /** Root-only folder on the database host for dumps (databases/). */
  archiveDir: string;
  /** The server's unix socket for the admin connection (and the member's, with clientHost localhost); default the system one. */
  socket?: string;
  /**
   * The member file's rotate_password (a counter or a date), when it has one: a new value makes
   * the next update generate a new password and deliver it. Absent and "" are the same.
   */
  rotation?: string;
}

export interface DatabaseOutputs extends DatabaseInputs {
  password: SecretValue<string>;
  /** Dumps made by this resource, oldest first. */
  archives: string[];
  /** What `read` found out of line besides the inputs (missing user, grant, credentials file). */
  drift: string[];
  /** The server's globenet_meta.owned records database and account as the provider's (false: the next update records them). */
  marked: boolean;
}

/** The system server's socket on Debian, written into credentials files when no socket is given. */
export const DEFAULT_SOCKET = "/run/mysqld/mysqld.sock";

// ---- remote scripts (constant) ----------------------------------------------------------

/** SQL on stdin, as root over the unix socket; $1 is the socket or empty. */
const SQL = loadScript("database/sql.sh");
/** $1 socket or empty, $2 database, $3 archive folder, $4 time stamp. Prints archive=PATH. */
const DUMP = loadScript("account/prelude.sh", "database/dump.sh");
/** On the web host: does the member's account exist; the credentials file's sha256 or "absent". */
const CNF_READ = loadScript("account/prelude.sh", "database/cnf-read.sh");
/** On the web host: writes ~/.my.cnf.d/<name>.cnf from stdin, with the member's rights, 0600. */
const CNF_WRITE = loadScript("account/prelude.sh", "database/cnf-write.sh");
const CNF_REMOVE = loadScript("account/prelude.sh", "database/cnf-remove.sh");
/** Adoption, on the web host: the password in the member's credentials file, on stdout only. */
const CNF_PASSWORD = loadScript("account/prelude.sh", "database/cnf-password.sh");

// ---- helpers ----------------------------------------------------------------------------

/**
 * Runs SQL (on stdin) as root on the database host. Secrets are redacted from any error. The
 * session waits for locks no longer than the step's own bound: a member's session holding a
 * lock on its tables (LOCK TABLES, a long transaction) makes `CREATE DATABASE IF NOT EXISTS`
 * wait, for a day by default; past the bound the client is killed and the server gives up too.
 */
export function runSql(target: Target, socket: string | undefined, sql: string, what: string, secrets: string[] = [], check = true, kind: TimeoutKind = "sql"): Promise<RunResult> {
  const wait = timeoutSeconds(kind) + 5;
  return run(target, SQL, { args: [socket ?? ""], stdin: `SET SESSION lock_wait_timeout = ${wait};\n${sql}`, what, check, kind }, secrets);
}

// ---- ownership ---------------------------------------------------------------------------

/**
 * The provider's record of the databases and accounts it created, on each database server: a
 * table only root can write (members have grants on their own database only, and
 * `globenet_meta` is a reserved name). MariaDB has no comment on accounts, and a database's
 * COMMENT can be changed by anyone with ALTER on it, so a table it is.
 */
export const META_DB = "globenet_meta";

const META_SQL = [
  `CREATE DATABASE IF NOT EXISTS ${META_DB} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci COMMENT 'globenet-infra: what the provider created; root only';`,
  `CREATE TABLE IF NOT EXISTS ${META_DB}.owned (`,
  `  kind ENUM('database', 'user') NOT NULL,`,
  `  name VARCHAR(80) NOT NULL,`,
  `  host VARCHAR(255) NOT NULL DEFAULT '',`,
  `  created TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,`,
  `  PRIMARY KEY (kind, name, host)`,
  `) ENGINE=InnoDB;`,
  ``,
].join("\n");

/** What SIGNAL says when a guard refuses; the provider turns it into the full message. */
const REFUSED = "globenet-refused";

function owned(kind: "database" | "user", name: string, host = ""): string {
  return `SELECT 1 FROM ${META_DB}.owned WHERE kind = ${sqlString(kind)} AND name = ${sqlString(name)} AND host = ${sqlString(host)}`;
}

/**
 * Refuses (SIGNAL) when the database or the account exists and the provider did not create it.
 * The mariadb client stops at the first error, so nothing after the guard runs.
 */
function guardSql(i: Pick<DatabaseInputs, "name" | "user" | "clientHost">): string {
  return [
    `DELIMITER //`,
    `BEGIN NOT ATOMIC`,
    `  IF EXISTS (SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ${sqlString(i.name)}) AND NOT EXISTS (${owned("database", i.name)}) THEN`,
    `    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = '${REFUSED}:database';`,
    `  END IF;`,
    `  IF EXISTS (SELECT 1 FROM mysql.global_priv WHERE User = ${sqlString(i.user)} AND Host = ${sqlString(i.clientHost)}) AND NOT EXISTS (${owned("user", i.user, i.clientHost)}) THEN`,
    `    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = '${REFUSED}:user';`,
    `  END IF;`,
    `END//`,
    `DELIMITER ;`,
    ``,
  ].join("\n");
}

/** Records the database and its account as the provider's (idempotent). */
function markSql(i: Pick<DatabaseInputs, "name" | "user" | "clientHost">): string {
  return `INSERT IGNORE INTO ${META_DB}.owned (kind, name, host) VALUES ('database', ${sqlString(i.name)}, ''), ('user', ${sqlString(i.user)}, ${sqlString(i.clientHost)});\n`;
}

/** The error to show when a guard refused: which object, where, and what to do. */
function refusal(e: unknown, i: DatabaseInputs, doing: string): Error {
  const m = e instanceof Error ? e.message : String(e);
  // The client echoes the failing statement (both guards) before the error line: read the error line.
  const which = new RegExp(`^ERROR 1644 \\(45000\\)[^\\n]*${REFUSED}:(database|user)$`, "m").exec(m)?.[1];
  const what = which === "database" ? `a database named ${i.name}` : which === "user" ? `a MariaDB account ${i.user}@${i.clientHost}` : undefined;
  if (!what) return e instanceof Error ? e : new Error(m);
  return new Error(
    `${i.target.name}: refusing ${doing} database ${i.name}: ${what} already exists on this server and Globenet did not create it (no row in ${META_DB}.owned). ` +
      `Nothing was changed. A member's database name never takes over an existing database or account: choose another name in members/${i.handle}/member.yaml; ` +
      `if it is this member's own, made by hand, see docs/architecture.md (Names owned by the system).`,
  );
}

function account(i: DatabaseInputs, host = i.clientHost): string {
  return `${sqlString(i.user)}@${sqlString(host)}`;
}

export function modelOf(i: DatabaseInputs): DatabaseModel {
  return {
    handle: i.handle,
    status: i.status,
    name: i.name,
    user: i.user,
    dbHost: i.target.name,
    clientHost: i.clientHost,
    limits: { ...i.limits },
    webHost: i.webTarget?.name,
    file: `members/${i.handle}/member.yaml`,
  };
}

export function newPassword(): string {
  // 24 random bytes: 32 characters of [A-Za-z0-9_-], 192 bits.
  return randomBytes(24).toString("base64url");
}

/** The member's credentials file. */
export function cnfText(i: DatabaseInputs, password: string): string {
  if (!/^[A-Za-z0-9_-]{16,128}$/.test(password)) throw new Error(`database ${i.name}: the stored password is not one this provider makes (refusing to write it into an option file)`);
  const where = i.clientHost === "localhost" ? `socket=${i.socket ?? DEFAULT_SOCKET}` : `host=${i.target.address}`;
  return [
    `# Generated by globenet-infra from members/${i.handle}/member.yaml - do not edit by hand: each apply rewrites it.`,
    `# Database ${i.name} on ${i.target.name}. Connect with:`,
    `#   mariadb --defaults-group-suffix=_${i.name}`,
    `#   mariadb-dump --defaults-group-suffix=_${i.name} ${i.name} > ${i.name}.sql`,
    `[client_${i.name}]`,
    `user=${i.user}`,
    `password=${password}`,
    where,
    ``,
    `[mysql_${i.name}]`,
    `database=${i.name}`,
    ``,
  ].join("\n");
}

function sha256(s: string): string {
  return createHash("sha256").update(s).digest("hex");
}

async function writeCnf(i: DatabaseInputs, password: string): Promise<void> {
  if (!i.webTarget) return;
  await run(i.webTarget, CNF_WRITE, { args: [i.handle, i.home, i.name], stdin: cnfText(i, password), what: `writing ~${i.handle}/.my.cnf.d/${i.name}.cnf`, kind: "converge" }, [password]);
}

async function removeCnf(i: DatabaseInputs): Promise<void> {
  if (!i.webTarget) return;
  await run(i.webTarget, CNF_REMOVE, { args: [i.handle, i.home, i.name], what: `removing ~${i.handle}/.my.cnf.d/${i.name}.cnf`, kind: "converge" });
}

/** The member's unix account on the web host: present (and Globenet's), absent, or foreign (not made by Globenet). */
async function cnfState(i: DatabaseInputs): Promise<{ account: boolean; foreign?: boolean; sha?: string }> {
  if (!i.webTarget) return { account: true };
  const r = await run(i.webTarget, CNF_READ, { args: [i.handle, i.home, i.name], what: `reading ~${i.handle}/.my.cnf.d/${i.name}.cnf`, kind: "read" });
  const v = parseLines(r.stdout);
  const sha = v.get("cnf")?.[0];
  const state = v.get("account")?.[0];
  return { account: state === "present", foreign: state === "foreign", sha: sha ? sha : undefined };
}

/** The port a credentials file with `host=` reaches: it names none, so the client's default. */
export const MARIADB_PORT = 3306;

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);

/**
 * Why the server would not take the member's connections where its credentials file sends
 * them, or undefined: with a remote client the file says `host=<db host's address>` (no
 * port), so the server must listen on that address, port 3306, and on nothing else but
 * loopback. "Every address" (`*`, `0.0.0.0`, `::`, unset) is refused too: the inventory says
 * where the db host listens, and a public address it also has would be open to the world
 * but for the grants. The host's MariaDB configuration is the host's set-up, not this
 * resource's (restarting MariaDB under every member's database is not a side effect to
 * have): this only checks it. `bind` is @@bind_address (a comma-separated list since 10.11).
 */
export function listeningProblem(address: string, skipNetworking: string, bind: string, port: string): string | undefined {
  const fix = `set bind-address = ${address} and port = ${MARIADB_PORT} under [mysqld] in /etc/mysql/mariadb.conf.d/50-server.cnf on the database host and restart MariaDB; see docs/architecture.md, "Databases on their own host"`;
  if (skipNetworking === "1" || skipNetworking.toUpperCase() === "ON") return `MariaDB there has skip-networking (no TCP), so the web host cannot reach it (${fix})`;
  const list = bind.split(",").map((a) => a.trim()).filter((a) => a !== "" && a.toUpperCase() !== "NULL");
  if (list.length === 0 || list.some((a) => a === "*" || a === "0.0.0.0" || a === "::")) return `MariaDB there listens on every address (bind-address "${printable(bind)}"), not only on ${address} as the inventory says (${fix})`;
  const others = list.filter((a) => a !== address && !LOOPBACK.has(a));
  if (others.length > 0) return `MariaDB there also listens on ${others.map(printable).join(", ")}, which the inventory does not give this host (${fix})`;
  if (!list.includes(address)) return `MariaDB there listens on ${list.map(printable).join(", ")}, not on ${address} where the member's credentials file sends PHP (${fix})`;
  if (port !== String(MARIADB_PORT)) return `MariaDB there listens on port ${printable(port)}, and the credentials file names none, so the client uses ${MARIADB_PORT} (${fix})`;
  return undefined;
}

/** Refuses, before anything is changed, a server that would not take the member's connections from the web host. */
async function checkListening(i: DatabaseInputs): Promise<void> {
  if (i.clientHost === "localhost") return;
  const r = await runSql(i.target, i.socket, "SELECT @@GLOBAL.skip_networking, IFNULL(@@GLOBAL.bind_address, ''), @@GLOBAL.port;\n", `reading where MariaDB listens for database ${i.name}`, [], true, "read");
  const [skip = "", bind = "", port = ""] = (r.stdout.split("\n")[0] ?? "").split("\t");
  const p = listeningProblem(i.target.address, skip, bind, port);
  if (p) throw new Error(`${i.target.name}: refusing to apply database ${i.name} for clients on ${i.clientHost}: ${p}. Nothing was changed.`);
}

/**
 * Creates or converges database, user, grant, limits and lock with this password. create:
 * refuses a database or account that exists without the provider's record; update: the
 * resource is in Pulumi's state (the provider made it), so a missing record is written.
 */
async function apply(i: DatabaseInputs, password: string, mode: "create" | "update"): Promise<void> {
  await checkListening(i);
  const sql = META_SQL + (mode === "create" ? guardSql(i) : "") + markSql(i) + renderDatabaseSql(modelOf(i), password);
  await runSql(i.target, i.socket, sql, `${mode === "create" ? "creating" : "updating"} database ${i.name}`, [password]).catch((e: unknown) => {
    throw refusal(e, i, mode === "create" ? "to create" : "to update");
  });
}

function passwordOf(o: Partial<DatabaseOutputs> | undefined): string | undefined {
  const p = plain<unknown>(o?.password);
  return str(p) && p !== "" ? p : undefined;
}

// ---- check ------------------------------------------------------------------------------

const STATUSES: DatabaseStatus[] = ["active", "suspended", "departed"];

function clientHostProblem(h: unknown): string | undefined {
  if (!str(h)) return "must be a string";
  if (h === "localhost") return undefined;
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(h) || /^[0-9a-f:]+$/.test(h) && h.includes(":")) return undefined;
  return hostProblem(h) ? `"${printable(h)}" is not "localhost", an IP address or a host name` : undefined;
}

function limitProblem(v: unknown, required: boolean): string | undefined {
  if (v === undefined || v === null) return required ? "is required" : undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 2_000_000_000) return "must be a whole number from 0 (no limit) up";
  return undefined;
}

function check(raw: Record<string, unknown>): { inputs?: DatabaseInputs; failures?: { property: string; reason: string }[] } {
  const news = plain<Record<string, unknown>>(raw);
  if (hasUnknown(news)) return { inputs: news as unknown as DatabaseInputs };
  const f = new Failures();
  checkTarget(f, "target", news.target);
  if (news.webTarget !== undefined && news.webTarget !== null) checkTarget(f, "webTarget", news.webTarget);
  const hp = handleProblem(news.handle);
  if (hp) f.add("handle", hp);
  const home = news.home ?? (str(news.handle) ? `/home/${news.handle}` : undefined);
  const mp = homeProblem(home, news.handle);
  if (mp) f.add("home", mp);
  const np = dbNameProblem(news.name);
  if (np) f.add("name", np);
  const user = news.user ?? news.name;
  const up = dbNameProblem(user);
  if (up) f.add("user", up);
  const cp = clientHostProblem(news.clientHost);
  if (cp) f.add("clientHost", cp);
  const limits = news.limits as Record<string, unknown> | undefined;
  if (!limits || typeof limits !== "object" || Array.isArray(limits)) f.add("limits", "must be an object { max_user_connections, max_queries_per_hour?, max_updates_per_hour? }");
  else {
    for (const k of Object.keys(limits)) if (!["max_user_connections", "max_queries_per_hour", "max_updates_per_hour"].includes(k)) f.add(`limits.${k}`, "is not a known limit");
    for (const [k, req] of [["max_user_connections", true], ["max_queries_per_hour", false], ["max_updates_per_hour", false]] as const) {
      const p = limitProblem(limits[k], req);
      if (p) f.add(`limits.${k}`, p);
    }
  }
  if (!STATUSES.includes(news.status as DatabaseStatus)) f.add("status", 'must be "active" or "suspended"');
  const ap = pathProblem(news.archiveDir, "archive folder");
  if (ap) f.add("archiveDir", ap);
  if (news.socket !== undefined && news.socket !== null) {
    const sp = pathProblem(news.socket, "socket path");
    if (sp) f.add("socket", sp);
  }
  const rp = rotationProblem(news.rotation);
  if (rp) f.add("rotation", `${rp} (rotate_password in the member file)`);
  if (!f.ok || !limits) return { failures: f.list };
  const l: DatabaseLimits = { max_user_connections: limits.max_user_connections as number };
  if (limits.max_queries_per_hour !== undefined && limits.max_queries_per_hour !== null) l.max_queries_per_hour = limits.max_queries_per_hour as number;
  if (limits.max_updates_per_hour !== undefined && limits.max_updates_per_hour !== null) l.max_updates_per_hour = limits.max_updates_per_hour as number;
  const inputs: DatabaseInputs = {
    target: asTarget(news.target),
    handle: news.handle as string,
    home: home as string,
    name: news.name as string,
    user: user as string,
    clientHost: news.clientHost as string,
    limits: l,
    status: news.status as DatabaseStatus,
    archiveDir: news.archiveDir as string,
  };
  if (news.webTarget) inputs.webTarget = asTarget(news.webTarget);
  if (news.socket) inputs.socket = news.socket as string;
  if (news.rotation) inputs.rotation = news.rotation as string;
  return { inputs };
}

// ---- diff -------------------------------------------------------------------------------

const COMPARED = ["target", "webTarget", "handle", "home", "name", "user", "clientHost", "limits", "status", "archiveDir", "socket", "rotation"];

/** rotate_password's value as the provider takes it (the schema's rule: lib/schema/member.ts). */

function diff(_id: string, rawOlds: DatabaseOutputs, rawNews: DatabaseInputs): DiffResult & { diffs: string[] } {
  const olds = plain<Record<string, unknown>>(rawOlds);
  const news = plain<Record<string, unknown>>(rawNews);
  const diffs = COMPARED.filter((k) => JSON.stringify(olds[k] ?? null) !== JSON.stringify(news[k] ?? null));
  if (((olds.drift as string[] | undefined) ?? []).length > 0) diffs.push("drift");
  // Made before ownership records existed (or found unrecorded by read): the update records it.
  if (olds.marked !== true) diffs.push("marked");
  const replaces: string[] = [];
  // A new name is a new database (the old one is dumped and dropped): never a rename.
  if (olds.name !== news.name) replaces.push("name");
  if (olds.user !== news.user) replaces.push("user");
  if (!sameHost(olds.target as Target | undefined, news.target as Target | undefined)) replaces.push("target");
  return {
    changes: diffs.length > 0,
    replaces,
    diffs,
    // Same name on "another" host that may be the same machine (the lab): delete first, or
    // the delete of the old one would drop what the create of the new one just made.
    deleteBeforeReplace: replaces.length > 0 && olds.name === news.name && olds.user === news.user,
  };
}

// ---- create / update / read / delete ----------------------------------------------------

async function create(raw: DatabaseInputs): Promise<{ id: string; outs: DatabaseOutputs }> {
  const i = plain<DatabaseInputs>(raw);
  // Refuse before touching the database if the credentials file would have nowhere to go.
  const web = i.webTarget ? await cnfState(i) : { account: true };
  if (i.webTarget && web.foreign) {
    throw new Error(`${i.webTarget.name}: refusing to create database ${i.name}: the unix user ${i.handle} there was not created by Globenet, so its credentials would go to someone else's home (nothing was changed)`);
  }
  if (i.webTarget && !web.account) {
    throw new Error(`${i.webTarget.name}: there is no unix account ${i.handle} with home ${i.home}: its Account must be applied before database ${i.name}`);
  }
  const password = newPassword();
  await apply(i, password, "create");
  await writeCnf(i, password);
  return { id: i.name, outs: { ...i, password: secret(password), archives: [], drift: [], marked: true } };
}

async function update(_id: string, rawOlds: DatabaseOutputs, rawNews: DatabaseInputs): Promise<DatabaseOutputs> {
  const olds = plain<DatabaseOutputs & { password?: unknown }>(rawOlds);
  const news = plain<DatabaseInputs>(rawNews);
  // A new rotate_password value: a new password, set on the server and delivered below.
  const rotate = (olds.rotation ?? "") !== (news.rotation ?? "");
  const password = (rotate ? undefined : passwordOf(olds)) ?? newPassword();
  if (rotate) console.error(`globenet: ${news.target.name}: database ${news.name}: new password (rotate_password: ${news.rotation ?? "removed"}); the member finds it in ~${news.handle}/.my.cnf.d/${news.name}.cnf`);
  // Suspension first locks the account and closes its sessions: a member holding a lock on its
  // tables would otherwise keep the converging SQL waiting and so put off its own suspension.
  if (news.status === "suspended" && olds.status !== "suspended") await lockAndCloseSessions(news);
  await apply(news, password, "update");
  if (olds.clientHost && olds.clientHost !== news.clientHost) {
    // The old account is in the state: the provider made it.
    await runSql(
      news.target,
      news.socket,
      `DROP USER IF EXISTS ${account(news, olds.clientHost)};\nDELETE FROM ${META_DB}.owned WHERE kind = 'user' AND name = ${sqlString(news.user)} AND host = ${sqlString(olds.clientHost)};\n`,
      `dropping the old account ${news.user}@${olds.clientHost}`,
    );
  }
  const moved = olds.webTarget?.name !== news.webTarget?.name || olds.handle !== news.handle || olds.home !== news.home;
  if (moved && olds.webTarget) await removeCnf({ ...olds, webTarget: olds.webTarget });
  await writeCnf(news, password);
  return { ...news, password: secret(password), archives: [...(olds.archives ?? [])], drift: [], marked: true };
}

/** Locks an account the state says is ours and closes its open sessions (their locks go with them). */
async function lockAndCloseSessions(props: DatabaseInputs): Promise<void> {
  // KILL USER needs no temporary table (a PROCESSLIST query does), so it works on a busy server too.
  await runSql(props.target, props.socket, `ALTER USER IF EXISTS ${account(props)} ACCOUNT LOCK;\nKILL USER ${account(props)};\n`, `locking ${props.user} for the suspension`);
}

async function read(_id: string, rawProps: DatabaseOutputs): Promise<DatabaseOutputs | undefined> {
  const props = plain<DatabaseOutputs>(rawProps);
  const name = sqlString(props.name);
  const sql = [
    `SELECT 'db', COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ${name};`,
    `SELECT 'user', u.max_user_connections, u.max_questions, u.max_updates, IFNULL(JSON_VALUE(g.Priv, '$.account_locked'), '0')`,
    `  FROM mysql.user u JOIN mysql.global_priv g ON g.User = u.User AND g.Host = u.Host`,
    `  WHERE u.User = ${sqlString(props.user)} AND u.Host = ${sqlString(props.clientHost)};`,
    // A grant on `a_b` is stored as a_b (a LIKE pattern) or a\\_b (escaped): both name this database.
    `SELECT 'grant', COUNT(*) FROM mysql.db WHERE User = ${sqlString(props.user)} AND Host = ${sqlString(props.clientHost)} AND REPLACE(Db, '\\\\_', '_') = ${name};`,
    ``,
  ].join("\n");
  const r = await runSql(props.target, props.socket, sql, `reading database ${props.name}`, [], true, "read");
  const rows = r.stdout.split("\n").filter(Boolean).map((l) => l.split("\t"));
  const row = (k: string) => rows.find((x) => x[0] === k);
  if (Number(row("db")?.[1] ?? 0) === 0) return undefined;
  const drift: string[] = [];
  const out: DatabaseOutputs = { ...props, password: secret(passwordOf(props) ?? ""), archives: props.archives ?? [], drift };
  const u = row("user");
  if (!u) drift.push(`the MariaDB account ${props.user}@${props.clientHost} is missing`);
  else {
    const [, conns, queries, updates, locked] = u;
    const limits: DatabaseLimits = { max_user_connections: Number(conns) };
    const q = Number(queries);
    const w = Number(updates);
    if (props.limits.max_queries_per_hour !== undefined || q !== 0) limits.max_queries_per_hour = q;
    if (props.limits.max_updates_per_hour !== undefined || w !== 0) limits.max_updates_per_hour = w;
    out.limits = limits;
    // JSON true reads back as 1 through JSON_VALUE.
    out.status = locked === "1" || locked === "true" ? (props.status === "active" ? "suspended" : props.status) : "active";
  }
  if (Number(row("grant")?.[1] ?? 0) === 0) drift.push(`${props.user}@${props.clientHost} has no grant on ${props.name}`);
  // Without the record table (made before records existed) the query fails: not recorded then.
  const rec = await runSql(
    props.target,
    props.socket,
    `SELECT COUNT(*) FROM ${META_DB}.owned WHERE (kind = 'database' AND name = ${name} AND host = '') OR (kind = 'user' AND name = ${sqlString(props.user)} AND host = ${sqlString(props.clientHost)});\n`,
    `reading the ownership records of ${props.name}`,
    [],
    false,
    "read",
  );
  out.marked = rec.code === 0 && rec.stdout.trim() === "2";
  if (props.webTarget) {
    const c = await cnfState(props);
    const want = passwordOf(props) ? sha256(cnfText(props, passwordOf(props) as string)) : undefined;
    if (c.foreign) drift.push(`the unix user ${props.handle} on ${props.webTarget.name} was not created by Globenet`);
    else if (!c.account) drift.push(`there is no unix account ${props.handle} on ${props.webTarget.name} for the credentials file`);
    else if (!c.sha) drift.push(`~${props.handle}/.my.cnf.d/${props.name}.cnf is missing on ${props.webTarget.name}`);
    else if (want && c.sha !== want) drift.push(`~${props.handle}/.my.cnf.d/${props.name}.cnf on ${props.webTarget.name} differs from what was written`);
  }
  return out;
}

async function del(_id: string, rawProps: DatabaseOutputs): Promise<void> {
  const props = plain<DatabaseOutputs>(rawProps);
  const name = sqlString(props.name);
  // Lock the account and list its sessions, so nothing is written after the dump.
  // Never lock, dump or drop a database or account that Globenet did not create.
  const pre = await runSql(
    props.target,
    props.socket,
    [
      META_SQL + guardSql(props),
      `SELECT 'db', COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ${name};`,
      `ALTER USER IF EXISTS ${account(props)} ACCOUNT LOCK;`,
      `SELECT 'session', ID FROM information_schema.PROCESSLIST WHERE USER = ${sqlString(props.user)};`,
      ``,
    ].join("\n"),
    `locking database ${props.name} before its dump`,
  ).catch((e: unknown) => {
    throw refusal(e, props, "to delete");
  });
  const rows = pre.stdout.split("\n").filter(Boolean).map((l) => l.split("\t"));
  const sessions = rows.filter((x) => x[0] === "session" && /^\d+$/.test(x[1] ?? "")).map((x) => x[1] as string);
  if (sessions.length > 0) {
    await runSql(props.target, props.socket, sessions.map((id) => `KILL CONNECTION ${id};`).join("\n") + "\n", `closing the sessions of ${props.user}`, [], false);
  }
  const exists = Number(rows.find((x) => x[0] === "db")?.[1] ?? 0) > 0;
  if (exists) {
    let archive: string | undefined;
    try {
      const r = await run(props.target, DUMP, { args: [props.socket ?? "", props.name, props.archiveDir, utcStamp()], what: `dumping database ${props.name} before dropping it`, kind: "dump" });
      archive = parseLines(r.stdout).get("archive")?.[0];
      if (!archive) throw new Error(`${props.target.name}: the dump of ${props.name} reported no archive: nothing was dropped`);
    } catch (e) {
      // Nothing was dropped: give an active member their database back before reporting.
      if (props.status === "active") await runSql(props.target, props.socket, `ALTER USER IF EXISTS ${account(props)} ACCOUNT UNLOCK;\n`, `unlocking ${props.user} after the failed dump`, [], false).catch(() => undefined);
      throw e;
    }
    console.error(`globenet: ${props.target.name}: database ${props.name} dumped to ${archive} (verified), then dropped`);
  } else {
    console.error(`globenet: ${props.target.name}: database ${props.name} was already gone; removing its account`);
  }
  await runSql(
    props.target,
    props.socket,
    [
      `DROP DATABASE IF EXISTS ${sqlIdentifier(props.name)};`,
      `DROP USER IF EXISTS ${account(props)};`,
      `DELETE FROM ${META_DB}.owned WHERE (kind = 'database' AND name = ${name} AND host = '') OR (kind = 'user' AND name = ${sqlString(props.user)} AND host = ${sqlString(props.clientHost)});`,
      ``,
    ].join("\n"),
    `dropping database ${props.name}`,
  );
  await removeCnf(props);
}

/** MariaDB's mysql_native_password hash of a password: "*" and SHA1(SHA1(password)), in upper-case hex. */
export function nativePasswordHash(password: string): string {
  const inner = createHash("sha1").update(password, "utf8").digest();
  return `*${createHash("sha1").update(inner).digest("hex").toUpperCase()}`;
}

/**
 * Why a password found on the host cannot be kept, or undefined. `account`: the server's
 * plugin and authentication string of the database's account (undefined: no such account:
 * the update that follows makes it with this password).
 */
export function keptPasswordProblem(password: string | undefined, account: { plugin: string; auth: string } | undefined): string | undefined {
  if (password === undefined) return "no password= line under its [client_<name>] group";
  if (!/^[A-Za-z0-9_-]{16,128}$/.test(password)) return "its password is not one this provider writes into option files (16 to 128 of A-Z a-z 0-9 _ -)";
  if (!account) return undefined;
  if (account.plugin !== "mysql_native_password" && account.plugin !== "") return `the account authenticates with ${printable(account.plugin)}, whose hash cannot be compared`;
  if (account.auth !== nativePasswordHash(password)) return "its password does not open the database's account (the server's hash differs)";
  return undefined;
}

/**
 * The password the database's users have now, from the member's credentials file, checked
 * against the server's hash; never guessed: without it adoption refuses, saying what to do.
 */
async function livePassword(i: DatabaseInputs): Promise<string> {
  const file = `~${i.handle}/.my.cnf.d/${i.name}.cnf`;
  const fix = `write the database's current password there (as the guide says: [client_${i.name}] then password=…, 0600, the member's own) and adopt again; a new password instead is a rotation, asked for on its own`;
  if (!i.webTarget) throw new Error(`${i.target.name}: database ${i.name}: its member has no web host in the data, so there is no credentials file to read its password from; adoption keeps passwords and never guesses one: give the member its web host, ${fix}`);
  // check: false: a failure is reported from stderr alone, never with stdout (the password).
  const r = await run(i.webTarget, CNF_PASSWORD, { args: [i.handle, i.home, i.name], what: `reading the password in ${file}`, kind: "read", check: false });
  if (r.code !== 0) throw new Error(`${i.webTarget.name}: reading the password in ${file} failed (exit ${r.code}):\n${redact(r.stderr.trim())}`);
  const v = parseLines(r.stdout);
  if (v.get("account")?.[0] !== "present") throw new Error(`${i.webTarget.name}: database ${i.name}: there is no unix account ${i.handle} with home ${i.home} to hold its credentials file; adopt the account first`);
  const password = v.get("password")?.[0];
  const q = await runSql(
    i.target,
    i.socket,
    `SELECT 'auth', plugin, authentication_string FROM mysql.user WHERE User = ${sqlString(i.user)} AND Host = ${sqlString(i.clientHost)};\n`,
    `reading how ${i.user}@${i.clientHost} authenticates`,
    password ? [password] : [],
    true,
    "read",
  );
  const row = q.stdout.split("\n").map((l) => l.split("\t")).find((x) => x[0] === "auth");
  const problem = keptPasswordProblem(password, row ? { plugin: row[1] ?? "", auth: row[2] ?? "" } : undefined);
  if (problem) throw new Error(`${i.webTarget.name}: database ${i.name}: cannot keep its password from ${file}: ${problem}; ${fix}`);
  return password as string;
}

/**
 * Adoption: the database as it runs, its password kept (read from the member's credentials
 * file, checked against the server, returned as a secret). The inputs are the read's (limits,
 * lock) over the data's names, so the diff against git shows each difference as an update.
 */
async function adopt(id: string, facts: Record<string, unknown>): Promise<{ outs: DatabaseOutputs; inputs: Record<string, unknown> }> {
  const f = plain<DatabaseInputs>(facts);
  const base = { ...f, archives: [], drift: [], marked: false };
  if (!(await read(id, { ...base, password: secret("") }))) {
    throw new Error(`${f.target.name}: database ${f.name} is in the data but not on the server: adoption takes over what runs and creates nothing. Adopt without it (remove it from members/${f.handle}/member.yaml), then put it back and run npm run up, which creates it.`);
  }
  const password = await livePassword(f);
  const live = (await read(id, { ...base, password: secret(password) })) as DatabaseOutputs;
  const outs = live as unknown as Record<string, unknown>;
  return { outs: live, inputs: Object.fromEntries(COMPARED.filter((k) => outs[k] !== undefined).map((k) => [k, outs[k]])) };
}

/** Dry mode (the bench): what create and update return, without a host. */
function dryOutputs(i: DatabaseInputs, olds?: DatabaseOutputs): DatabaseOutputs {
  return { ...i, password: olds?.password ?? secret(""), archives: olds?.archives ?? [], drift: [], marked: true };
}

export const databaseType: ResourceType<DatabaseInputs, DatabaseOutputs> = {
  check,
  diff,
  create,
  read,
  update,
  delete: del,
  adopt,
  dryOutputs,
};
