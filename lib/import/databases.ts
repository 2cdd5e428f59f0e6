/**
 * Importing the databases that already run (issue 19): what a read-only session on a MariaDB
 * host returns (lib/import/scripts/mariadb-read.sh) becomes members' `databases:` entries for
 * a volunteer to review. The model has one shape per database (lib/render/mariadb-sql.ts): an
 * account named like the database, on the web host's address (lib/model/db-client.ts), with
 * ALL PRIVILEGES on that database only, and optional limits. Everything the live server has
 * beyond that shape is reported, line by line with the database or account named; nothing is
 * silently dropped. Owners are decided by the mapping (the import mapping file), else guessed
 * from the name and marked `# TODO(import)`, which `validate` refuses until resolved.
 *
 * Passwords are not read: the query set never selects a hash (only whether one exists), and
 * the YAML has no password field. An adopted account keeps its live password until a
 * rotation; `keepPassword` lists them for the adoption, which reads them into the state.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Document, isMap, isSeq, YAMLSeq } from "yaml";
import { dangerousCharacter } from "../schema/names";
import { databaseNameProblem, handleProblem } from "../schema/system-names";
import { database as databaseSchema, type Database } from "../schema/member";
import { oneLine } from "./zone-file";

/** Runs a read-only script on the host: its text, then its arguments (quoted by the runner). Resolves to stdout. */
export type RunScript = (script: string, args: string[]) => Promise<string>;

/** The query set, a fixed script (no value is ever put into its text). */
export const MARIADB_READ_SCRIPT = "lib/import/scripts/mariadb-read.sh";

export function mariadbReadScript(): string {
  return readFileSync(join(__dirname, "scripts", "mariadb-read.sh"), "utf8");
}

export interface LiveDatabase {
  name: string;
  sizeBytes: number;
  tables: number;
}

export interface LiveAccount {
  user: string;
  host: string;
  isRole: boolean;
  plugin: string;
  /** Whether the account has a password (the hash itself is never read). */
  hasPassword: boolean;
  maxUserConnections: number;
  maxQuestions: number;
  maxUpdates: number;
  maxConnectionsPerHour: number;
  locked: boolean;
}

export interface LiveGrant {
  user: string;
  host: string;
  level: "global" | "schema" | "table" | "routine" | "proxy" | "role";
  /** Database (or database pattern) for schema/table/routine; the proxied or role name otherwise. */
  on: string;
  /** Table or routine name, when the level has one. */
  object?: string;
  privileges: string[];
  grantable: boolean;
}

/** What the query set returned, decoded. */
export interface LiveMariaDB {
  version: string;
  databases: LiveDatabase[];
  accounts: LiveAccount[];
  grants: LiveGrant[];
}

const unhex = (h: string | undefined): string => Buffer.from(h ?? "", "hex").toString("utf8");
const num = (s: string | undefined): number => {
  const n = Number(s);
  return Number.isFinite(n) ? n : 0;
};

/** Decodes the script's output (tagged, tab-separated rows; names in hex). Unknown tags are an error. */
export function parseMariadbRead(out: string): LiveMariaDB {
  const live: LiveMariaDB = { version: "", databases: [], accounts: [], grants: [] };
  const schema = new Map<string, LiveGrant>();
  out.split("\n").forEach((line, i) => {
    if (!line.trim()) return;
    const f = line.split("\t");
    const [tag, a, b, c, d, e, g] = f;
    switch (tag) {
      case "version":
        live.version = unhex(a);
        return;
      case "db":
        live.databases.push({ name: unhex(a), sizeBytes: num(b), tables: num(c) });
        return;
      case "user":
        live.accounts.push({
          user: unhex(a), host: unhex(b), isRole: c === "Y", plugin: unhex(d), hasPassword: e === "1",
          maxUserConnections: num(g), maxQuestions: num(f[7]), maxUpdates: num(f[8]), maxConnectionsPerHour: num(f[9]), locked: f[10] === "1" || f[10] === "true",
        });
        return;
      case "global":
        live.grants.push({ user: unhex(a), host: unhex(b), level: "global", on: "*", privileges: [c ?? ""], grantable: d === "YES" });
        return;
      case "schema": {
        // One row per privilege: gathered per account and database.
        const key = `${a}\t${b}\t${c}`;
        const gr = schema.get(key) ?? { user: unhex(a), host: unhex(b), level: "schema" as const, on: unhex(c), privileges: [], grantable: false };
        gr.privileges.push(d ?? "");
        gr.grantable ||= e === "YES";
        if (!schema.has(key)) {
          schema.set(key, gr);
          live.grants.push(gr);
        }
        return;
      }
      case "table":
      case "routine": {
        const privs = `${tag === "table" ? e : g} ${tag === "table" ? (g ?? "") : ""}`.split(" ").filter(Boolean);
        live.grants.push({ user: unhex(a), host: unhex(b), level: tag, on: unhex(c), object: unhex(d), privileges: privs.filter((p) => p !== "Grant"), grantable: privs.includes("Grant") });
        return;
      }
      case "proxy":
        live.grants.push({ user: unhex(a), host: unhex(b), level: "proxy", on: `${unhex(c)}@${unhex(d)}`, privileges: ["PROXY"], grantable: e === "1" });
        return;
      case "role":
        live.grants.push({ user: unhex(a), host: unhex(b), level: "role", on: unhex(c), privileges: [], grantable: d === "Y" });
        return;
      default:
        throw new Error(`the MariaDB read returned an unexpected line ${i + 1}: ${JSON.stringify(line.slice(0, 80))} (is the host's mariadb client the one from Debian?)`);
    }
  });
  return live;
}

/** Runs the query set through `run` (the CLI's read-only SSH session, or a local shell in tests) and decodes it. */
export async function readMariaDB(run: RunScript, socket = ""): Promise<LiveMariaDB> {
  return parseMariadbRead(await run(mariadbReadScript(), [socket]));
}

/** Who owns what: loaded by the CLI from the import mapping file. Decided owners carry no TODO. */
export interface DatabaseOwnerMapping {
  /** Database name → member handle. */
  databases?: Readonly<Record<string, string>>;
  /** MariaDB user name → member handle (the user holding privileges on the database). */
  users?: Readonly<Record<string, string>>;
  /** Name prefix (the part before the first "_") → member handle. */
  prefixes?: Readonly<Record<string, string>>;
}

export interface DatabaseImportOptions {
  /** How reports name the host, e.g. "db1". */
  host: string;
  /**
   * The host part the model gives the member's account (lib/model/db-client.ts, dbClientHost of
   * the member's web host and this db host): "localhost" on one machine, else the web host's address.
   */
  clientHost: string | ((handle: string) => string);
  mapping?: DatabaseOwnerMapping;
  /** Handles of members already in the repository (or being imported): owners are guessed among them first. */
  members?: readonly string[];
}

/** A line of the report: the database or account it is about, and why. */
export interface DbNote {
  /** `database velo_wp` or `account 'velo'@'%'` (quoted and escaped: safe to print). */
  what: string;
  why: string;
}

export interface DatabaseEntry {
  handle: string;
  /** The value written (schema-checked). */
  value: Database;
  sizeBytes: number;
  tables: number;
  /** Guesses to check, written as `# TODO(import): …` before the entry. */
  todos: string[];
  /** Facts written as plain comments (size, the account adopted). */
  notes: string[];
}

export interface DatabasesImport {
  entries: DatabaseEntry[];
  /** Handles, sorted, each with its entries. */
  byMember: Map<string, DatabaseEntry[]>;
  /** Everything the live server has that the model cannot express: kept on the server, not in git. */
  unexpressible: DbNote[];
  /** System databases and accounts, left out on purpose. */
  leftOut: DbNote[];
  /** Names that could not be written at all (control characters, quotes, shell syntax). */
  refused: DbNote[];
  /** Accounts adopted with their live password, kept until a rotation is asked (the adoption reads them into the state as secrets). */
  keepPassword: Array<{ database: string; account: string }>;
}

/** Accounts MariaDB and Debian create themselves. */
const SYSTEM_USERS = new Set(["root", "mysql", "mariadb.sys", "debian-sys-maint", "PUBLIC"]);
/** What GRANT ALL PRIVILEGES ON db.* gives on MariaDB 10.4–11 (DELETE HISTORY from 10.3.4). */
const ALL_DB = ["ALTER", "ALTER ROUTINE", "CREATE", "CREATE ROUTINE", "CREATE TEMPORARY TABLES", "CREATE VIEW", "DELETE", "DROP", "EVENT", "EXECUTE", "INDEX", "INSERT", "LOCK TABLES", "REFERENCES", "SELECT", "SHOW VIEW", "TRIGGER", "UPDATE"];
const OPTIONAL_DB = new Set(["DELETE HISTORY"]);


/** A name shown in a report: quoted, with control characters escaped. */
export function shown(s: string): string {
  return JSON.stringify(s).replace(/[\u007f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

const acct = (a: { user: string; host: string }) => `account ${shown(a.user)}@${shown(a.host)}`;

/** The database a schema-level grant's pattern names exactly, or undefined when it is a wildcard pattern. */
function exactDb(pattern: string): string | undefined {
  // `_` is a wildcard too, but GRANT … ON velo_wp.* is how everyone writes one database: taken as that name.
  if (/(^|[^\\])%/.test(pattern)) return undefined;
  return pattern.replace(/\\([_%\\])/g, "$1");
}

/** LIKE semantics of a grant's database pattern. */
function likeMatches(pattern: string, name: string): boolean {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === "\\" && i + 1 < pattern.length) re += (pattern[++i] as string).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    else if (c === "%") re += ".*";
    else if (c === "_") re += ".";
    else re += c.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`, "s").test(name);
}

interface OwnerChoice {
  handle: string;
  todo?: string;
}

function ownerOf(db: string, users: string[], opts: DatabaseImportOptions): OwnerChoice {
  const m = opts.mapping ?? {};
  const byDb = m.databases?.[db];
  if (byDb) return { handle: byDb };
  const mappedUsers = [...new Set(users.map((u) => m.users?.[u]).filter((h): h is string => !!h))];
  if (mappedUsers.length === 1) return { handle: mappedUsers[0] as string };
  const prefix = db.split("_")[0] as string;
  const byPrefix = m.prefixes?.[prefix];
  if (byPrefix) return { handle: byPrefix };
  const members = opts.members ?? [];
  const dashed = prefix.replace(/_/g, "-");
  const known = members.find((h) => h === dashed) ?? members.find((h) => h.startsWith(`${dashed}-`) || h.replace(/-/g, "_") === db);
  const how = `guessed from the name prefix "${prefix}" (move this entry to its owner's member.yaml, or map it in the import mapping file)`;
  if (known) return { handle: known, todo: `owner ${known} ${how}` };
  if (!handleProblem(dashed)) return { handle: dashed, todo: `owner ${dashed} ${how}; no member has this handle yet` };
  return { handle: "to-be-decided", todo: `owner unknown: the prefix "${prefix}" is not a usable handle (map the database in the import mapping file)` };
}

/**
 * Turns what the server holds into members' `databases:` entries and the reports. Pure: the
 * live facts come in, nothing is read here.
 */
export function importDatabases(live: LiveMariaDB, opts: DatabaseImportOptions): DatabasesImport {
  const out: DatabasesImport = { entries: [], byMember: new Map(), unexpressible: [], leftOut: [], refused: [], keepPassword: [] };
  const accounts = new Map(live.accounts.map((a) => [`${a.user}\u0000${a.host}`, a]));
  const key = (g: { user: string; host: string }) => `${g.user}\u0000${g.host}`;
  const grantsOf = (k: string) => live.grants.filter((g) => key(g) === k);
  const touched = new Set<string>();

  for (const a of live.accounts) {
    const bad = dangerousCharacter(a.user) ?? dangerousCharacter(a.host);
    if (bad) {
      out.refused.push({ what: acct(a), why: `the account name contains ${bad}: refused, nothing written for it (rename or drop it by hand on the server)` });
      touched.add(key(a));
    } else if (SYSTEM_USERS.has(a.user)) {
      out.leftOut.push({ what: acct(a), why: "a MariaDB or Debian system account" });
      touched.add(key(a));
    }
  }

  for (const db of live.databases) {
    const what = `database ${shown(db.name)}`;
    const bad = dangerousCharacter(db.name);
    if (bad) {
      out.refused.push({ what, why: `the name contains ${bad}: refused, nothing written for it (rename it by hand on the server: a dump and a restore under a new name)` });
      continue;
    }
    const problem = databaseNameProblem(db.name);
    if (problem && /reserved|starts with/.test(problem)) {
      out.leftOut.push({ what, why: `not a member's database: ${problem.replace(/ \(choose.*\)$/, "")}` });
      continue;
    }
    if (problem) {
      out.unexpressible.push({ what, why: `the schema refuses the name: ${problem}; it stays on the server, unmanaged` });
      continue;
    }
    // Every account holding anything on this database, at any level.
    const on = live.grants.filter((g) => (g.level === "schema" ? likeMatches(g.on, db.name) : g.level === "table" || g.level === "routine" ? g.on === db.name : false));
    const holders = [...new Set(on.map(key))].filter((k) => !out.refused.some((r) => r.what === acct(splitKey(k))) && !SYSTEM_USERS.has(splitKey(k).user));
    const users = holders.map((k) => splitKey(k).user);
    const owner = ownerOf(db.name, users, opts);
    const clientHost = typeof opts.clientHost === "function" ? opts.clientHost(owner.handle) : opts.clientHost;
    const todos: string[] = owner.todo ? [owner.todo] : [];
    const notes: string[] = [`on ${opts.host}: ${mib(db.sizeBytes)}, ${db.tables} table${db.tables === 1 ? "" : "s"}`];
    const value: Database = { name: db.name };
    const modelKey = key({ user: db.name, host: clientHost });
    const modelAccount = accounts.get(modelKey);

    for (const k of holders) {
      touched.add(k);
      const a = splitKey(k);
      const gs = on.filter((g) => key(g) === k);
      if (k === modelKey) continue;
      for (const g of gs.filter((x) => x.level === "schema" && exactDb(x.on) === undefined)) {
        out.unexpressible.push({ what: acct(a), why: `holds ${g.privileges.join(", ")} on the pattern ${shown(g.on)}.*, wider than one database (the model grants one database by name): not adopted` });
      }
      if (a.user === db.name) {
        out.unexpressible.push({
          what: acct(a),
          why: a.host === "%"
            ? `on ${what}: the host '%' accepts connections from anywhere, wider than the model's ${shown(clientHost)}: adoption creates ${db.name}@${shown(clientHost)}; drop the '%' account by hand once the site uses the new one`
            : `on ${what}: host ${shown(a.host)}, the model's is ${shown(clientHost)}: adoption creates ${db.name}@${shown(clientHost)}; drop this account by hand once the site uses the new one`,
        });
      } else {
        out.unexpressible.push({ what: acct(a), why: `also has privileges on ${what}: the model has one account per database, named like it (${db.name}@${shown(clientHost)}); this account is not adopted` });
      }
    }
    if (holders.length > 1) {
      out.unexpressible.push({ what, why: `${holders.length} accounts hold privileges on it (${holders.map((k) => `${shown(splitKey(k).user)}@${shown(splitKey(k).host)}`).join(", ")}); the model has one` });
    }

    if (modelAccount) {
      const mine = grantsOf(modelKey);
      const here = mine.filter((g) => g.level === "schema" && exactDb(g.on) === db.name);
      const privs = new Set(here.flatMap((g) => g.privileges));
      const missing = ALL_DB.filter((p) => !privs.has(p));
      const extra = [...privs].filter((p) => !ALL_DB.includes(p) && !OPTIONAL_DB.has(p));
      if (missing.length > 0) out.unexpressible.push({ what: acct(modelAccount), why: `has ${[...privs].sort().join(", ") || "no privilege"} on ${db.name}, not ALL PRIVILEGES: adoption grants ALL PRIVILEGES (missing today: ${missing.join(", ")})` });
      if (extra.length > 0) out.unexpressible.push({ what: acct(modelAccount), why: `has ${extra.join(", ")} on ${db.name}, beyond the model's ALL PRIVILEGES` });
      if (here.some((g) => g.grantable) || mine.some((g) => g.grantable && g.level !== "role")) out.unexpressible.push({ what: acct(modelAccount), why: "has WITH GRANT OPTION, beyond the model's grant: adoption keeps it until revoked by hand" });
      for (const g of mine) {
        if (g.level === "schema" && exactDb(g.on) === db.name) continue;
        if (g.level === "global") out.unexpressible.push({ what: acct(modelAccount), why: `holds the global privilege ${g.privileges.join(", ")} (on *.*), beyond the model's grant on ${db.name} only: kept on the server, revoke it by hand` });
        else if (g.level === "schema") out.unexpressible.push({ what: acct(modelAccount), why: `holds ${g.privileges.join(", ")} on ${shown(g.on)}.*, another database than ${db.name}: beyond the model's grant` });
        else if (g.level === "table" || g.level === "routine") out.unexpressible.push({ what: acct(modelAccount), why: `holds ${g.privileges.join(", ") || "privileges"} on the ${g.level} ${shown(g.on)}.${shown(g.object ?? "")}: the model grants whole databases only` });
        else out.unexpressible.push({ what: acct(modelAccount), why: `${g.level === "role" ? `has the role ${shown(g.on)}` : `may proxy ${shown(g.on)}`}: the model has no roles or proxies` });
      }
      const limits: NonNullable<Database["limits"]> = {};
      if (modelAccount.maxUserConnections === 0) {
        todos.push("the live account has no connection limit; the model's default is 20 connections (set limits.max_user_connections if this site needs more)");
      } else if (modelAccount.maxUserConnections !== 20) limits.max_user_connections = Math.min(modelAccount.maxUserConnections, 500);
      if (modelAccount.maxUserConnections > 500) out.unexpressible.push({ what: acct(modelAccount), why: `max_user_connections ${modelAccount.maxUserConnections} is above the schema's 500: written as 500` });
      if (modelAccount.maxQuestions > 0) limits.max_queries_per_hour = Math.min(modelAccount.maxQuestions, 100_000_000);
      if (modelAccount.maxUpdates > 0) limits.max_updates_per_hour = Math.min(modelAccount.maxUpdates, 100_000_000);
      if (modelAccount.maxConnectionsPerHour > 0) out.unexpressible.push({ what: acct(modelAccount), why: `MAX_CONNECTIONS_PER_HOUR ${modelAccount.maxConnectionsPerHour}: the model has no such limit (adoption sets it to 0, no limit)` });
      if (Object.keys(limits).length > 0) value.limits = limits;
      if (modelAccount.locked) todos.push(`the account ${db.name}@${clientHost} is locked on the server: a locked account belongs to a suspended member (status: suspended), or unlock it`);
      if (modelAccount.hasPassword) {
        out.keepPassword.push({ database: db.name, account: `${db.name}@${clientHost}` });
        notes.push(`account ${db.name}@${clientHost} adopted: it keeps its live password until a rotation`);
      } else {
        notes.push(`account ${db.name}@${clientHost} adopted; it has no password today (${modelAccount.plugin || "no plugin"}): adoption gives it a generated one`);
        todos.push(`the account ${db.name}@${clientHost} has no password (plugin ${modelAccount.plugin || "none"}): adoption sets a generated password, which the site must then use`);
      }
    } else {
      notes.push(`no account ${db.name}@${clientHost} today: adoption creates it with a generated password`);
      if (holders.length > 0) todos.push(`the site reaches this database with ${holders.map((k) => `${splitKey(k).user}@${splitKey(k).host}`).join(", ")}; after adoption it must use ${db.name}@${clientHost} (new password in ~/.my.cnf.d/${db.name}.cnf)`);
    }

    const checked = databaseSchema.parse(value);
    const entry: DatabaseEntry = { handle: owner.handle, value: checked, sizeBytes: db.sizeBytes, tables: db.tables, todos, notes };
    out.entries.push(entry);
    out.byMember.set(owner.handle, [...(out.byMember.get(owner.handle) ?? []), entry]);
  }

  // Accounts left over: neither system nor linked to an imported database.
  for (const a of live.accounts) {
    const k = key(a);
    if (touched.has(k) || out.entries.some((e) => key({ user: e.value.name, host: typeof opts.clientHost === "function" ? opts.clientHost(e.handle) : opts.clientHost }) === k)) continue;
    if (a.isRole) {
      out.unexpressible.push({ what: `role ${shown(a.user)}`, why: "the model has no roles: left on the server" });
      continue;
    }
    const gs = grantsOf(k);
    const anon = a.user === "" ? "an anonymous account (anyone may log in as it): drop it by hand; " : "";
    out.unexpressible.push({
      what: acct(a),
      why: `${anon}no member's database is adopted with it${gs.length ? ` (it holds ${gs.map((g) => `${g.privileges.join(", ") || g.level} on ${g.level === "global" ? "*.*" : shown(g.on)}`).join("; ")})` : ""}: left on the server, unmanaged`,
    });
  }
  out.byMember = new Map([...out.byMember].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
  return out;
}

function splitKey(k: string): { user: string; host: string } {
  const [user, host] = k.split("\u0000");
  return { user: user ?? "", host: host ?? "" };
}

function mib(bytes: number): string {
  return bytes < 1024 * 1024 ? `${Math.ceil(bytes / 1024)} KiB` : `${(bytes / 1048576).toFixed(1)} MiB`;
}

/**
 * The `databases:` sequence for one member as a node of `doc` (the member.yaml the accounts
 * import builds), comments attached: each entry's facts, then its TODO(import) lines.
 */
export function databasesNode(doc: Document, entries: readonly DatabaseEntry[]): YAMLSeq {
  const seq = doc.createNode(entries.map((e) => e.value)) as YAMLSeq;
  seq.items.forEach((item, i) => {
    const e = entries[i];
    if (!e || !isMap(item)) return;
    item.commentBefore = [...e.notes.map((n) => ` ${oneLine(n)}`), ...e.todos.map((t) => ` TODO(import): ${oneLine(t)}`)].join("\n");
  });
  return seq;
}

/** The member's `databases:` block as YAML text (made by the yaml library, never by concatenation). */
export function databasesYaml(entries: readonly DatabaseEntry[]): string {
  const doc = new Document({});
  const seq = databasesNode(doc, entries);
  doc.set("databases", seq);
  if (!isSeq(doc.get("databases"))) throw new Error("databasesYaml: not a sequence");
  return doc.toString({ lineWidth: 0 });
}

/** The report as lines for the CLI (English, like the zone import's notes). */
export function databaseReport(r: DatabasesImport): string[] {
  return [
    ...r.refused.map((n) => `refused: ${n.what}: ${n.why}`),
    ...r.unexpressible.map((n) => `not expressible: ${n.what}: ${n.why}`),
    ...r.leftOut.map((n) => `left out: ${n.what}: ${n.why}`),
    ...r.keepPassword.map((k) => `keeps its password until a rotation: database ${k.database} (${k.account})`),
  ];
}
