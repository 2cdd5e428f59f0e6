/**
 * Unit tier: live vhosts and accounts grouped into members (lib/import/sites.ts, members.ts),
 * with the mapping file (lib/schema/import-map.ts) and the TODO(import) marks validate refuses.
 */
import { describe, expect, it } from "vitest";
import type { UnixAccount } from "../lib/import/accounts";
import { parseApacheS } from "../lib/import/apache-config";
import { parseImportMap, NO_MAP } from "../lib/import/map-file";
import { importMembers } from "../lib/import/members";
import { importSites, type SitesInput } from "../lib/import/sites";
import { DataError } from "../lib/load/diagnostic";
import { importTodos } from "../lib/load/import-todos";
import { parseYamlFile } from "../lib/load/yaml-file";
import { memberSchema } from "../lib/schema/member";

const S = (lines: string[]) => `VirtualHost configuration:\n*:80 is a NameVirtualHost\n${lines.map((l) => `         ${l}`).join("\n")}\n`;
const VH = (body: string) => `<VirtualHost *:80>\n${body}\n</VirtualHost>\n`;
const acct = (user: string, uid: number, gecos = ""): UnixAccount => ({ user, uid, gid: uid, gecos, home: `/home/${user}`, shell: "/bin/bash", line: uid - 999 });

function input(over: Partial<SitesInput> = {}): SitesInput {
  const files = new Map([
    ["/etc/apache2/sites-enabled/a.conf", VH("ServerName a.example\nServerAlias www.a.example\nDocumentRoot /home/alice/sites/a.example/htdocs/public\nSetHandler proxy:unix:/run/php/a.sock|fcgi://localhost")],
    ["/etc/apache2/sites-enabled/b.conf", VH("ServerName b.example\nDocumentRoot /var/www/shared")],
    ["/etc/apache2/sites-enabled/c.conf", VH("ServerName c.example\nDocumentRoot /var/www/shared")],
    ["/etc/apache2/sites-enabled/x.conf", VH("ServerName x.example\nDocumentRoot /srv/x")],
  ]);
  return {
    host: "web1",
    vhosts: parseApacheS(S(["port 80 namevhost a.example (/etc/apache2/sites-enabled/a.conf:1)", "port 80 namevhost b.example (/etc/apache2/sites-enabled/b.conf:1)", "port 80 namevhost c.example (/etc/apache2/sites-enabled/c.conf:1)", "port 80 namevhost x.example (/etc/apache2/sites-enabled/x.conf:1)"])),
    files,
    poolFiles: new Map([["/etc/php/8.2/fpm/pool.d/alice.conf", "[alice]\nuser = alice\nlisten = /run/php/a.sock\n"]]),
    owners: new Map([["/home/alice/sites/a.example/htdocs/public", "alice"], ["/var/www/shared", "bob"], ["/srv/x", "root"]]),
    members: new Set(["alice", "bob", "carol"]),
    siteOwners: new Map([["c.example", "carol"]]),
    handleOf: (u) => u,
    ...over,
  };
}

describe("sites from a live Apache", () => {
  it("groups by owner (PHP pool user, document root owner, the map), keeps the stack's webroot, reports the rest by file and line", () => {
    const r = importSites(input());
    expect(r.sites.map((s) => [s.host, s.owner, s.php, s.webroot ?? "", s.tls])).toEqual([
      ["a.example", "alice", "8.2", "public", "none"],
      ["b.example", "bob", "none", "", "none"],
      ["c.example", "carol", "none", "", "none"],
    ]);
    expect(r.sites[0]?.aliases).toEqual(["www.a.example"]);
    const why = r.notes.map((n) => `${n.where} ${n.record}: ${n.why}`);
    expect(why).toContainEqual(expect.stringMatching(/^web1:\/etc\/apache2\/sites-enabled\/x\.conf:1 site x\.example: cannot map it to a member: its owner root is not a member's login account \(say who owns it in the map file: sites: \{ x\.example: \{ member: <handle> \} \}\)$/));
    expect(why).toContainEqual(expect.stringMatching(/^web1:\/etc\/apache2\/sites-enabled\/b\.conf:1 \/var\/www\/shared: two accounts claim this document root: bob \(b\.example, \/etc\/apache2\/sites-enabled\/b\.conf:1\) and carol \(c\.example/));
  });

  it("turns a redirecting vhost into the target site's redirects, and says when the target is not imported", () => {
    const i = input();
    const files = new Map(i.files);
    files.set("/etc/apache2/sites-enabled/old.conf", VH("ServerName old.example\nServerAlias www.old.example\nRedirect 301 / https://www.a.example/"));
    files.set("/etc/apache2/sites-enabled/gone.conf", VH("ServerName gone.example\nRedirect permanent / https://elsewhere.example/"));
    const vhosts = [...i.vhosts, ...parseApacheS(S(["port 80 namevhost old.example (/etc/apache2/sites-enabled/old.conf:1)", "port 80 namevhost gone.example (/etc/apache2/sites-enabled/gone.conf:1)"]))];
    const r = importSites({ ...i, files, vhosts });
    expect(r.sites.find((s) => s.host === "a.example")?.redirects).toEqual(["old.example", "www.old.example"]);
    expect(r.notes.map((n) => n.why)).toContain("redirects to elsewhere.example, which no imported site serves (not imported)");
  });

  it("marks a PHP user that differs from the document root's owner", () => {
    const r = importSites(input({ owners: new Map([["/home/alice/sites/a.example/htdocs/public", "bob"]]) }));
    expect(r.sites[0]?.todos).toContain("PHP runs as alice but /home/alice/sites/a.example/htdocs/public belongs to bob: written under alice");
  });
});

describe("members from accounts and sites", () => {
  it("writes one member per account, guesses marked TODO(import) that validate refuses, the member schema satisfied", () => {
    const sites = importSites(input()).sites;
    const { files, notes } = importMembers({ host: "web1", accounts: [acct("alice", 1001, "Alice Martin"), acct("bob", 1002), acct("carol", 1003)], details: new Map(), sites, map: NO_MAP, webHost: true });
    expect(notes).toEqual([]);
    expect(files.map((f) => [f.path, f.todos])).toEqual([
      ["members/alice/member.yaml", 3],
      ["members/bob/member.yaml", 4],
      ["members/carol/member.yaml", 4],
    ]);
    const alice = files[0]?.yaml ?? "";
    expect(alice).toContain('# TODO(import): the member\'s name, taken from the account\'s GECOS field "Alice Martin"');
    expect(alice).toContain("web_host: web1");
    expect(alice).toContain("webroot: public");
    const todos = importTodos("members/alice/member.yaml", alice);
    expect(todos).toHaveLength(3);
    // Once the comments are gone, the file is a valid member.
    const clean = alice.split("\n").filter((l) => !l.includes("TODO(import)")).join("\n");
    const { yf } = parseYamlFile("m.yaml", clean);
    expect(memberSchema.safeParse(yf?.data).success).toBe(true);
  });

  it("follows the map: a new handle, a name and contact, an ignored account, two accounts for one member", () => {
    const map = parseImportMap("import-map.yaml", "accounts:\n  alice: { member: alice-asso, name: Alice Asso, email: bureau@a.example }\n  alice2: { member: alice-asso }\n  old: { ignore: true }\n");
    const { files, notes } = importMembers({ host: "web1", accounts: [acct("alice", 1001), acct("alice2", 1004), acct("old", 1005)], details: new Map(), sites: [], map, webHost: true });
    expect(files.map((f) => f.path)).toEqual(["members/alice-asso/member.yaml"]);
    expect(files[0]?.yaml).toContain("name: Alice Asso");
    expect(files[0]?.yaml).toContain("email: bureau@a.example");
    expect(files[0]?.yaml).toContain("TODO(import): the account's home is /home/alice; the stack's is /home/alice-asso: move it when adopting");
    expect(notes.map((n) => n.why)).toEqual(["mapped to member alice-asso with alice: the stack knows one unix user per member, alice2 and its files stay as they are on the host"]);
  });

  it("reports an account whose name cannot be a handle, pointing at the map", () => {
    const { files, notes } = importMembers({ host: "web1", accounts: [acct("Jean.Dupont", 1001)], details: new Map(), sites: [], map: NO_MAP, webHost: true });
    expect(files).toEqual([]);
    expect(notes[0]?.where).toBe("web1:getent passwd line 2");
    expect(notes[0]?.why).toMatch(/^"Jean\.Dupont" cannot be a handle: .*\(give it one in the map file: accounts: \{ Jean\.Dupont: \{ member: <handle> \} \}\)$/);
  });
});

describe("the mapping file", () => {
  it("refuses a bad file with file, line and field", () => {
    const bad = (text: string) => {
      try {
        parseImportMap("import-map.yaml", text);
      } catch (e) {
        if (e instanceof DataError) return e.diagnostics.map((d) => `${d.file}:${d.line}:${d.col} ${d.field}: ${d.message}`);
      }
      return [];
    };
    expect(bad("accounts:\n  alice: { member: Alice }\n")[0]).toMatch(/^import-map\.yaml:2:20 accounts\.alice\.member: /);
    expect(bad("sites:\n  a.example: { owner: alice }\n").join("\n")).toMatch(/^import-map\.yaml:2:14 sites\["a\.example"\]\.member: is required/m);
    expect(bad("accounts:\n  old: { ignore: true, member: old }\n")[0]).toMatch(/ignore: true takes nothing else/);
    expect(bad("zonez: {}\n")[0]).toMatch(/^import-map\.yaml:1:1 zonez: unknown key/);
  });
});
