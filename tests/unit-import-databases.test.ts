import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { databasesYaml, databaseReport, importDatabases, parseMariadbRead, type DatabaseImportOptions } from "../lib/import/databases";
import { importTodos } from "../lib/load/import-todos";
import { parseYamlFile } from "../lib/load/yaml-file";
import { memberSchema } from "../lib/schema/member";

/**
 * Unit tier: what lib/import/scripts/mariadb-read.sh prints on a legacy server (the rows are
 * the script's real format, as tests/import-live.test.ts captures it from a real MariaDB)
 * becomes members' databases: entries and the report. Hostile names are refused and never
 * reach the YAML.
 */
const hex = (s: string) => Buffer.from(s, "utf8").toString("hex").toUpperCase();
const ALL = ["ALTER", "ALTER ROUTINE", "CREATE", "CREATE ROUTINE", "CREATE TEMPORARY TABLES", "CREATE VIEW", "DELETE", "DELETE HISTORY", "DROP", "EVENT", "EXECUTE", "INDEX", "INSERT", "LOCK TABLES", "REFERENCES", "SELECT", "SHOW VIEW", "TRIGGER", "UPDATE"];

const row = (...f: Array<string | number>) => f.join("\t");
const db = (name: string, size = 0, tables = 0) => row("db", hex(name), size, tables);
const user = (u: string, h: string, o: { pw?: boolean; conns?: number; q?: number; upd?: number; perHour?: number; locked?: boolean; plugin?: string } = {}) =>
  row("user", hex(u), hex(h), "N", hex(o.plugin ?? "mysql_native_password"), o.pw === false ? 0 : 1, o.conns ?? 0, o.q ?? 0, o.upd ?? 0, o.perHour ?? 0, o.locked ? 1 : 0);
const schema = (u: string, h: string, d: string, privs: string[], grantable = false) => privs.map((p) => row("schema", hex(u), hex(h), hex(d), p, grantable ? "YES" : "NO"));
const global = (u: string, h: string, p: string) => row("global", hex(u), hex(h), p, "NO");

/** A legacy db host seen from the read script: 4 member databases, a '%' user, an extra privilege, system accounts. */
const LEGACY = [
  row("version", hex("10.11.14-MariaDB-0+deb12u2")),
  db("velo_wp", 12_582_912, 14),
  db("jardins_spip", 3_145_728, 40),
  db("ondes", 1024, 1),
  db("biblio_pmb", 0, 0),
  db("phpmyadmin", 81920, 20),
  db("Old-Site"),
  user("root", "localhost", { pw: false, plugin: "unix_socket" }),
  user("mariadb.sys", "localhost", { pw: false }),
  user("debian-sys-maint", "localhost"),
  user("velo_wp", "localhost", { conns: 30 }),
  user("jardins_spip", "%", {}),
  user("ondes", "localhost", { conns: 20, q: 50_000 }),
  user("ondes_ro", "localhost"),
  user("biblio", "localhost", { locked: true }),
  user("", "localhost", { pw: false }),
  ...schema("velo_wp", "localhost", "velo_wp", ALL),
  ...schema("jardins_spip", "%", "jardins_spip", ["SELECT", "INSERT", "UPDATE", "DELETE"]),
  global("ondes", "localhost", "FILE"),
  ...schema("ondes", "localhost", "ondes", ALL),
  ...schema("ondes_ro", "localhost", "ondes", ["SELECT"]),
  ...schema("biblio", "localhost", "biblio\\_pmb", ALL),
  ...schema("biblio", "localhost", "biblio\\_%", ["SELECT"], true),
  global("root", "localhost", "SUPER"),
].join("\n");

const OPTS: DatabaseImportOptions = { host: "db1", clientHost: "localhost", members: ["velo-libre", "jardins-partages", "ondes-libres", "biblio-menil"] };

function memberYaml(handle: string, dbYaml: string): string {
  return `handle: ${handle}\nname: Test\ncontact: { email: bureau@${handle}.example }\nstatus: active\n${dbYaml}`;
}

describe("database import: parsing the read script's rows", () => {
  const live = parseMariadbRead(LEGACY);
  it("decodes names from hex and gathers schema privileges per account and database", () => {
    expect(live.version).toBe("10.11.14-MariaDB-0+deb12u2");
    expect(live.databases.map((d) => d.name)).toEqual(["velo_wp", "jardins_spip", "ondes", "biblio_pmb", "phpmyadmin", "Old-Site"]);
    expect(live.accounts.find((a) => a.user === "ondes")).toMatchObject({ host: "localhost", maxUserConnections: 20, maxQuestions: 50_000, hasPassword: true });
    const velo = live.grants.filter((g) => g.user === "velo_wp");
    expect(velo).toHaveLength(1);
    expect(velo[0]?.privileges).toHaveLength(19);
  });
  it("refuses a line it does not know, naming it", () => {
    expect(() => parseMariadbRead("version\t31\nsurprise\tx")).toThrow(/unexpected line 2: "surprise\\tx"/);
  });
});

describe("database import: a legacy server", () => {
  const r = importDatabases(parseMariadbRead(LEGACY), OPTS);

  it.each([
    ["velo_wp", "velo-libre", { name: "velo_wp", limits: { max_user_connections: 30 } }],
    ["jardins_spip", "jardins-partages", { name: "jardins_spip" }],
    ["ondes", "ondes-libres", { name: "ondes", limits: { max_queries_per_hour: 50_000 } }],
    ["biblio_pmb", "biblio-menil", { name: "biblio_pmb" }],
  ])("%s goes to %s with its limits", (name, handle, value) => {
    const e = r.entries.find((x) => x.value.name === name);
    expect(e?.handle).toBe(handle);
    expect(e?.value).toEqual(value);
    expect(e?.todos[0]).toMatch(/^owner .* guessed from the name prefix/);
  });

  it("leaves out the system accounts and a tool's database, and reports a name the schema refuses", () => {
    expect(r.leftOut.map((n) => n.what)).toEqual(['account "root"@"localhost"', 'account "mariadb.sys"@"localhost"', 'account "debian-sys-maint"@"localhost"', 'database "phpmyadmin"']);
    expect(r.unexpressible.find((n) => n.what === 'database "Old-Site"')?.why).toMatch(/^the schema refuses the name: must be 2 to 32 characters/);
  });

  it.each([
    ['account "jardins_spip"@"%"', /the host '%' accepts connections from anywhere, wider than the model's "localhost"/],
    ['account "ondes"@"localhost"', /holds the global privilege FILE \(on \*\.\*\), beyond the model's grant on ondes only/],
    ['account "ondes_ro"@"localhost"', /also has privileges on database "ondes": the model has one account per database/],
    ['database "ondes"', /2 accounts hold privileges on it \("ondes"@"localhost", "ondes_ro"@"localhost"\); the model has one/],
    ['account "biblio"@"localhost"', /holds SELECT on the pattern "biblio\\\\_%"\.\*, wider than one database/],
    ['account ""@"localhost"', /an anonymous account \(anyone may log in as it\)/],
  ])("reports %s", (what, why) => {
    expect(r.unexpressible.filter((n) => n.what === what).map((n) => n.why).join("\n")).toMatch(why);
  });

  it("reports an account with fewer privileges than ALL, and asks what to do with a locked one", () => {
    const spip = r.entries.find((e) => e.value.name === "jardins_spip");
    expect(spip?.notes).toContain("no account jardins_spip@localhost today: adoption creates it with a generated password");
    expect(spip?.todos.join("\n")).toMatch(/the site reaches this database with jardins_spip@%; after adoption it must use jardins_spip@localhost/);
    // biblio_pmb has no account named like it: biblio's grants are reported, the entry says so.
    expect(r.entries.find((e) => e.value.name === "biblio_pmb")?.todos.join("\n")).toMatch(/biblio@localhost; after adoption it must use biblio_pmb@localhost/);
  });

  it("lists the accounts that keep their live password, and never carries a password field", () => {
    expect(r.keepPassword).toEqual([
      { database: "velo_wp", account: "velo_wp@localhost" },
      { database: "ondes", account: "ondes@localhost" },
    ]);
    for (const e of r.entries) expect(Object.keys(e.value).sort()).toEqual(expect.arrayContaining(["name"]));
    expect(JSON.stringify(r)).not.toMatch(/password:/i);
  });

  it("writes each member's databases: with the yaml library: the loader and the member schema read it back, and validate refuses the TODOs", () => {
    for (const [handle, entries] of r.byMember) {
      const text = memberYaml(handle, databasesYaml(entries));
      const { yf, errors } = parseYamlFile(`members/${handle}/member.yaml`, text);
      expect(errors).toEqual([]);
      const m = memberSchema.parse(yf?.data);
      expect(m.databases).toEqual(entries.map((e) => e.value));
      const todos = importTodos(`members/${handle}/member.yaml`, text);
      expect(todos.length).toBe(entries.reduce((n, e) => n + e.todos.length, 0));
      expect(todos.length).toBeGreaterThan(0);
    }
    expect(databasesYaml(r.byMember.get("velo-libre") ?? [])).toBe(
      [
        "databases:",
        "  # on db1: 12.0 MiB, 14 tables",
        "  # account velo_wp@localhost adopted: it keeps its live password until a rotation",
        '  # TODO(import): owner velo-libre guessed from the name prefix "velo" (move this entry to its owner\'s member.yaml, or map it in the import mapping file)',
        "  - name: velo_wp",
        "    limits:",
        "      max_user_connections: 30",
        "",
      ].join("\n"),
    );
  });

  it("the report names each database or account, one a line", () => {
    const lines = databaseReport(r);
    expect(lines).toContain('left out: database "phpmyadmin": not a member\'s database: "phpmyadmin" is reserved: a name Debian packages and monitoring or backup tools give their MariaDB accounts');
    expect(lines.filter((l) => l.startsWith("keeps its password"))).toEqual(["keeps its password until a rotation: database velo_wp (velo_wp@localhost)", "keeps its password until a rotation: database ondes (ondes@localhost)"]);
  });
});

describe("database import: the mapping decides owners without a TODO", () => {
  it.each([
    [{ databases: { velo_wp: "velo-libre" } }, "velo-libre"],
    [{ users: { velo_wp: "atelier-velo" } }, "atelier-velo"],
    [{ prefixes: { velo: "velo-libre" } }, "velo-libre"],
  ])("%j", (mapping, handle) => {
    const r = importDatabases(parseMariadbRead([db("velo_wp"), user("velo_wp", "192.0.2.80", { conns: 20 }), ...schema("velo_wp", "192.0.2.80", "velo_wp", ALL)].join("\n")), { host: "db1", clientHost: "192.0.2.80", mapping });
    expect(r.entries).toHaveLength(1);
    expect(r.entries[0]?.handle).toBe(handle);
    expect(r.entries[0]?.todos).toEqual([]);
    expect(r.unexpressible).toEqual([]);
    expect(importTodos("m.yaml", databasesYaml(r.entries))).toEqual([]);
  });

  it("an account on another host than the web host's address is reported (db-client rule)", () => {
    const r = importDatabases(parseMariadbRead([db("velo_wp"), user("velo_wp", "localhost"), ...schema("velo_wp", "localhost", "velo_wp", ALL)].join("\n")), { host: "db1", clientHost: "192.0.2.80", mapping: { prefixes: { velo: "velo-libre" } } });
    expect(databaseReport(r)).toContain('not expressible: account "velo_wp"@"localhost": on database "velo_wp": host "localhost", the model\'s is "192.0.2.80": adoption creates velo_wp@"192.0.2.80"; drop this account by hand once the site uses the new one');
  });
});

describe("database import: hostile names are refused, never written", () => {
  const HOSTILE = ["velo\nwp", "x$(touch /tmp/pwned)", "a'b", 'q"uote', "semi;colon", "back`tick`"];
  const live = parseMariadbRead(
    [
      db("velo_wp"),
      user("velo_wp", "localhost"),
      ...schema("velo_wp", "localhost", "velo_wp", ALL),
      ...HOSTILE.map((n) => db(n)),
      user("evil\n- name: injected", "localhost"),
      ...schema("evil\n- name: injected", "localhost", "velo_wp", ["SELECT"]),
    ].join("\n"),
  );
  const r = importDatabases(live, { ...OPTS, mapping: { prefixes: { velo: "velo-libre" } } });

  it.each(HOSTILE)("%j: refused with the character named, escaped in the message", (name) => {
    const n = r.refused.find((x) => x.what === `database ${JSON.stringify(name)}`);
    expect(n?.why).toMatch(/^the name contains (a line break|`\$\(`|a single quote|a double quote|`;`|a backtick): refused, nothing written for it/);
    expect(n?.what).not.toMatch(/\n/);
  });

  it("an account with a line break is refused, and its grant does not count as a second account", () => {
    expect(r.refused.map((n) => n.what)).toContain('account "evil\\n- name: injected"@"localhost"');
    expect(r.unexpressible).toEqual([]);
  });

  it("the YAML holds only the valid database", () => {
    const y = databasesYaml(r.entries);
    expect(parse(y)).toEqual({ databases: [{ name: "velo_wp" }] });
    expect(y).not.toMatch(/injected|pwned|touch|\$\(/);
    for (const l of databaseReport(r)) expect(l).not.toMatch(/\n/);
  });
});
