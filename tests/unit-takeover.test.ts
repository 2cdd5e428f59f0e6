import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MD_RELOAD_UNIT } from "../lib/render/md-reload";
import { checkInputs } from "../provider/resources/file-set-inputs";
import { adoptedProps } from "../provider/adopt-ids";
import { BIND_TAKEOVER_MARK, carryServedSerials, fpmSections, parseApacheS, planFpmTakeover, planApacheTakeover, planMdSeeds, planBindTakeover, planSecondaryCopies, servedSerialOf, takeoverNames } from "../provider/resources/takeover";
import { parseNamedConf } from "../lib/import/bind-config";
import { RESOURCE_TOKENS } from "../lib/base/tokens";

/** The adoption's takeover of hand-made zones and vhosts (provider/resources/takeover.ts), pure parts. */

const LOCAL = `// Hand-written zones of the legacy server.
zone "alice.example" { type master; file "/etc/bind/db.alice.example"; };
zone "kept.example" {
    type master;
    file "/etc/bind/db.kept.example";
};
zone "bob.example" {
    type master; file "/var/lib/bind/db.bob.example";
    dnssec-policy default; inline-signing yes; key-directory "keys";
}; # signed
`;
const OPTIONS = `options {\n\tdirectory "/var/cache/bind";\n};\n`;

describe("planBindTakeover: which hand-made zone statements go, and where their keys are", () => {
  it("comments out each statement of a taken-over zone, line by line, and keeps the others", () => {
    const p = planBindTakeover({ "/etc/bind/named.conf.local": LOCAL, "/etc/bind/named.conf.options": OPTIONS }, ["alice.example", "bob.example"]);
    expect(p.problems).toEqual([]);
    expect(p.zones).toEqual([
      { name: "alice.example", where: "/etc/bind/named.conf.local:2", keyDirectory: "/var/cache/bind", type: "primary", file: "/etc/bind/db.alice.example", format: "text" },
      { name: "bob.example", where: "/etc/bind/named.conf.local:7", keyDirectory: "/var/cache/bind/keys", type: "primary", file: "/var/lib/bind/db.bob.example", format: "text" },
    ]);
    const edited = p.edits["/etc/bind/named.conf.local"] as string;
    expect(Object.keys(p.edits)).toEqual(["/etc/bind/named.conf.local"]);
    expect(edited.split("\n").filter((l) => l.startsWith(BIND_TAKEOVER_MARK))).toHaveLength(5);
    expect(edited).toContain(`${BIND_TAKEOVER_MARK}zone "alice.example" { type master; file "/etc/bind/db.alice.example"; };`);
    expect(edited).toContain(`${BIND_TAKEOVER_MARK}}; # signed`);
    // What is left parses to the zone not taken over alone.
    expect(parseNamedConf(edited).map((s) => s.words.join(" "))).toEqual(["zone kept.example"]);
  });

  it("nothing hand-made for those names: no edit, no zone", () => {
    expect(planBindTakeover({ "/etc/bind/named.conf.local": LOCAL }, ["other.example"])).toEqual({ edits: {}, zones: [], problems: [] });
  });

  it("refuses, naming file and line, a statement sharing its line, a zone inside a view, a zone defined twice", () => {
    const shared = planBindTakeover({ "/etc/bind/named.conf.local": 'zone "a.example" { type master; file "a"; }; zone "b.example" { type master; file "b"; };\n' }, ["a.example"]);
    expect(shared.problems).toEqual(["/etc/bind/named.conf.local:1: the zone a.example statement shares its lines with another statement: put it on lines of its own, then adopt again"]);
    const view = planBindTakeover({ "/etc/bind/named.conf.local": 'view "inside" {\n  zone "a.example" { type master; file "a"; };\n};\n' }, ["a.example"]);
    expect(view.problems).toEqual(["/etc/bind/named.conf.local:1: zone a.example is defined inside view inside: the stack has no views; move it out of the view by hand, then adopt again"]);
    const twice = planBindTakeover({ "/etc/bind/named.conf.local": 'zone "a.example" { type master; file "a"; };\n', "/etc/bind/named.conf.more": 'zone "a.example." { type master; file "b"; };\n' }, ["a.example"]);
    expect(twice.problems).toEqual(["/etc/bind/named.conf.more:1: zone a.example is defined twice by hand (also /etc/bind/named.conf.local:1): BIND would refuse it already; remove one, then adopt again"]);
  });
});

const DASH_S = `VirtualHost configuration:
*:443                  alice.example (/etc/apache2/sites-enabled/alice.conf:9)
*:80                   is a NameVirtualHost
         default server legacy (/etc/apache2/sites-enabled/000-default.conf:1)
         port 80 namevhost legacy (/etc/apache2/sites-enabled/000-default.conf:1)
         port 80 namevhost alice.example (/etc/apache2/sites-enabled/alice.conf:2)
                 alias www.alice.example
         port 80 namevhost shared.example (/etc/apache2/sites-enabled/shared.conf:1)
                 alias other.example
         port 80 namevhost velo.example (/etc/apache2/globenet/sites-available/velo.conf:3)
         port 80 namevhost odd.example (/etc/apache2/conf-enabled/odd.conf:1)
ServerRoot: "/etc/apache2"
`;

describe("planApacheTakeover: which sites-enabled entries go", () => {
  it("reads apache2ctl -S: each name and alias with its file and line, the default server's lines aside", () => {
    expect(parseApacheS(DASH_S).map((v) => `${v.name} ${v.file}:${v.line}`)).toEqual([
      "alice.example /etc/apache2/sites-enabled/alice.conf:9",
      "legacy /etc/apache2/sites-enabled/000-default.conf:1",
      "alice.example /etc/apache2/sites-enabled/alice.conf:2",
      "www.alice.example /etc/apache2/sites-enabled/alice.conf:2",
      "shared.example /etc/apache2/sites-enabled/shared.conf:1",
      "other.example /etc/apache2/sites-enabled/shared.conf:1",
      "velo.example /etc/apache2/globenet/sites-available/velo.conf:3",
      "odd.example /etc/apache2/conf-enabled/odd.conf:1",
    ]);
  });

  it("disables an entry whose names are all taken over; never Globenet's own vhosts nor Debian's default site", () => {
    const p = planApacheTakeover(parseApacheS(DASH_S), ["alice.example", "velo.example", "www.alice.example"]);
    expect(p).toEqual({ disable: ["alice.conf"], vhosts: [{ entry: "alice.conf", names: ["alice.example", "www.alice.example"] }], problems: [] });
  });

  it("refuses an entry that also serves a name the data lacks, and a vhost outside sites-enabled, naming them", () => {
    const p = planApacheTakeover(parseApacheS(DASH_S), ["odd.example", "shared.example"]);
    expect(p.disable).toEqual([]);
    expect(p.problems).toEqual([
      "/etc/apache2/conf-enabled/odd.conf:1: the hand-made vhost of odd.example is not a sites-enabled entry: disable it by hand (keep a copy), then adopt again",
      "/etc/apache2/sites-enabled/shared.conf: it also serves other.example, which the data does not: disabling it would stop serving it; add it to a member's site or split the file by hand, then adopt again",
    ]);
  });
});

describe("planMdSeeds: a taken-over HTTPS site's hand-made certificate goes into mod_md's store", () => {
  const ALICE = `# by hand
<VirtualHost *:80>
    ServerName alice.example
    ServerAlias www.alice.example
    Redirect / https://alice.example/
</VirtualHost>
<VirtualHost *:443>
    ServerName alice.example
    ServerAlias www.alice.example
    SSLEngine on
    # SSLCertificateFile /etc/ssl/old/alice.pem
    SSLCertificateFile "/etc/ssl/legacy/alice.pem"
    SSLCertificateKeyFile /etc/ssl/legacy/alice.key
    SSLCertificateChainFile /etc/ssl/legacy/chain.pem
</VirtualHost>
`;
  const SET = {
    "conf-available/globenet.conf": 'MDCertificateAuthority https://acme.example/directory\nMDStoreDir "/var/lib/apache2/md"\n',
    "sites-available/alice.example.conf": "MDomain alice.example www.alice.example alice-old.example\n<VirtualHost *:80>\n</VirtualHost>\n",
    "sites-available/bob.example.conf": "<VirtualHost *:80>\n    ServerName bob.example\n</VirtualHost>\n",
    "sites-available/combined.example.conf": "MDomain combined.example\n",
  };
  const SITES_E = "/etc/apache2/sites-enabled/";
  it("each managed domain served over HTTPS by a disabled hand-made vhost gets its certificate, key and chain; comments and other vhosts aside", () => {
    const sites = { [`${SITES_E}alice.conf`]: ALICE, [`${SITES_E}bob.conf`]: "<VirtualHost *:80>\nServerName bob.example\n</VirtualHost>\n", [`${SITES_E}c.conf`]: "<VirtualHost *:443>\n  ServerName combined.example\n  SSLCertificateFile /etc/ssl/c-with-key.pem\n</VirtualHost>\n" };
    expect(planMdSeeds(sites, ["alice.conf", "bob.conf", "c.conf"], SET)).toEqual({
      store: "/var/lib/apache2/md",
      seeds: [
        { name: "alice.example", cert: "/etc/ssl/legacy/alice.pem", key: "/etc/ssl/legacy/alice.key", chain: "/etc/ssl/legacy/chain.pem", where: `${SITES_E}alice.conf:7` },
        // The key in the certificate's own file: openssl reads it from there.
        { name: "combined.example", cert: "/etc/ssl/c-with-key.pem", key: "/etc/ssl/c-with-key.pem", where: `${SITES_E}c.conf:1` },
      ],
      problems: [],
    });
  });
  it("nothing for an entry the takeover keeps, a site without HTTPS, or a stack without mod_md", () => {
    expect(planMdSeeds({ [`${SITES_E}alice.conf`]: ALICE }, [], SET).seeds).toEqual([]);
    expect(planMdSeeds({ [`${SITES_E}alice.conf`]: ALICE }, ["alice.conf"], { "sites-available/alice.example.conf": "<VirtualHost *:80>\n</VirtualHost>\n" })).toEqual({ seeds: [], problems: [] });
  });
  it("refuses certificate files the apply script would not take, naming the file and line", () => {
    const odd = ALICE.replace("/etc/ssl/legacy/alice.key", "/etc/ssl/legacy/alice key:1.key");
    expect(planMdSeeds({ [`${SITES_E}alice.conf`]: odd }, ["alice.conf"], SET).problems).toEqual([
      `${SITES_E}alice.conf:7: the hand-made certificate files of alice.example (/etc/ssl/legacy/alice key:1.key) are not plain absolute paths the takeover copies from: rename them by hand, then adopt again`,
    ]);
  });
});

describe("serials and names of a takeover", () => {
  it("the served serial is the highest rndc zonestatus shows (a signed zone: its signed serial)", () => {
    expect(servedSerialOf("name: bob.example\ntype: primary\nserial: 7\nsigned serial: 9\n")).toBe(9);
    expect(servedSerialOf("name: a.example\nserial: 2009010101\n")).toBe(2009010101);
    expect(servedSerialOf("rndc: 'zonestatus' failed: not found\n")).toBeUndefined();
  });

  it("a planned serial not after the served one moves past it; one after it stays", () => {
    const now = new Date("2026-12-05T00:00:00Z");
    const table: [number | undefined, number, number][] = [
      [2026120501, 2009010101, 2026120501],
      [2026120501, 2026120501, 2026120502],
      [2026120501, 4000000000, 4000000001],
      [undefined, 7, 2026120501],
    ];
    for (const [planned, served, want] of table) {
      expect(carryServedSerials(planned === undefined ? {} : { "zones/a.zone": planned }, { "zones/a.zone": served }, now)["zones/a.zone"]).toBe(want);
    }
  });

  it("the names a set takes over: its zones, or its vhosts' ServerName and ServerAlias", () => {
    expect(takeoverNames("bind-primary", { "named.conf.globenet": "", "zones/b.example.zone": "", "zones/a.example.zone": "" })).toEqual(["a.example", "b.example"]);
    expect(takeoverNames("apache2", { "sites-available/a.conf": "<VirtualHost *:80>\n  ServerName A.example\n  ServerAlias www.a.example  old.example\n</VirtualHost>\n", "conf-available/x.conf": "ServerName no.example\n" })).toEqual(["a.example", "old.example", "www.a.example"]);
  });

  it("adoption alone adds takeover, to apache2 and bind-primary sets; the set's check takes it only there", () => {
    const props = { kind: "apache2", files: { "sites-available/a.conf": "ServerName a.example\n" } };
    expect(adoptedProps(RESOURCE_TOKENS.fileSet, props)).toEqual({ ...props, takeover: ["a.example"] });
    expect(adoptedProps(RESOURCE_TOKENS.fileSet, { kind: "www", files: {} })).toEqual({ kind: "www", files: {} });
    const target = { name: "h", address: "127.0.0.1", port: 22, user: "root", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl" };
    expect(checkInputs({ target, kind: "www", files: {}, takeover: ["a.example"] }).failures).toEqual([{ property: "takeover", reason: "only for kinds apache2, bind-primary, bind-secondary and php-fpm, not www" }]);
    expect(checkInputs({ target, kind: "apache2", files: {}, takeover: ["a.example; rm -rf /"] }).failures).toEqual([{ property: "takeover[0]", reason: 'not a lowercase zone or site name: "a.example; rm -rf /"' }]);
    expect(checkInputs({ target, kind: "apache2", files: {}, takeover: ["b.example", "a.example"] }).inputs?.takeover).toEqual(["a.example", "b.example"]);
  });
});

const SECONDARY = `// the partner's secondary, by hand
key "legacy-xfer" { algorithm hmac-sha256; secret "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="; };
zone "alpha.example" {
    type slave;
    masters { 198.51.100.231 key "legacy-xfer"; };
    file "db.alpha.example";
};
zone "beta.example" { type secondary; primaries { 198.51.100.231; }; file "/var/lib/bind/beta.txt"; masterfile-format text; };
zone "gamma.example" { type slave; masters { 198.51.100.231; }; };
zone "kept.example" { type slave; masters { 192.0.2.99; }; file "kept"; };
`;

describe("a hand-made secondary's takeover: its zone statements go, its copies become Globenet's", () => {
  it("the names a secondary's set takes over are the zone statements of its named.conf.globenet", () => {
    const conf = 'include "/etc/bind/globenet-transfer.key";\n// zones/a.example.yaml\nzone "a.example" {\n    type secondary;\n    primaries { 192.0.2.53 key "globenet-transfer"; };\n    file "/var/cache/bind/globenet/a.example.zone";\n};\nzone "B.example." { type secondary; };\n';
    expect(takeoverNames("bind-secondary", { "named.conf.globenet": conf })).toEqual(["a.example", "b.example"]);
    // Zone files in a secondary's set are not its names (it has none): only its statements count.
    expect(takeoverNames("bind-secondary", { "named.conf.globenet": "", "zones/c.example.zone": "" })).toEqual([]);
    expect(adoptedProps(RESOURCE_TOKENS.fileSet, { kind: "bind-secondary", files: { "named.conf.globenet": conf } })).toMatchObject({ takeover: ["a.example", "b.example"] });
  });

  it("each statement's type, its file made absolute under the options' directory, and its format (raw, a secondary's default, unless said)", () => {
    const p = planBindTakeover({ "/etc/bind/named.conf.local": SECONDARY, "/etc/bind/named.conf.options": OPTIONS }, ["alpha.example", "beta.example", "gamma.example"]);
    expect(p.problems).toEqual([]);
    expect(p.zones.map(({ name, type, file, format }) => ({ name, type, file, format }))).toEqual([
      { name: "alpha.example", type: "secondary", file: "/var/cache/bind/db.alpha.example", format: "raw" },
      { name: "beta.example", type: "secondary", file: "/var/lib/bind/beta.txt", format: "text" },
      { name: "gamma.example", type: "secondary", file: undefined, format: "raw" },
    ]);
    // The hand-made key statement and the zone not taken over stay.
    expect(parseNamedConf(p.edits["/etc/bind/named.conf.local"] as string).map((s) => s.words.join(" "))).toEqual(["key legacy-xfer", "zone kept.example"]);
  });

  it("copies what has a file; a zone kept in memory only, or a path the script would not take, is refused naming file and line", () => {
    const p = planBindTakeover({ "/etc/bind/named.conf.local": SECONDARY, "/etc/bind/named.conf.options": OPTIONS }, ["alpha.example", "beta.example", "gamma.example"]);
    const c = planSecondaryCopies(p.zones);
    expect(c.copies).toEqual([
      { zone: "alpha.example", from: "/var/cache/bind/db.alpha.example", format: "raw" },
      { zone: "beta.example", from: "/var/lib/bind/beta.txt", format: "text" },
    ]);
    expect(c.problems).toEqual(['/etc/bind/named.conf.local:9: the hand-made zone gamma.example has no file, so its copy exists in memory only and the takeover could not keep serving it: add a file "…" line to it by hand, rndc reconfig, wait for its transfer, then adopt again']);
    const odd = planSecondaryCopies([{ name: "d.example", where: "/etc/bind/named.conf.local:3", keyDirectory: "/var/cache/bind", type: "secondary", file: "/var/cache/bind/d $(x)", format: "raw" }]);
    expect(odd.problems).toEqual(['/etc/bind/named.conf.local:3: the hand-made zone d.example\'s file "/var/cache/bind/d $(x)" is not a plain absolute path the takeover copies from: rename it by hand, then adopt again']);
  });
});

describe("the apply script refuses takeover steps shaped to leave their place, before touching anything", () => {
  const script = readFileSync(join(__dirname, "..", "provider", "scripts", "file-set", "file-set.sh"), "utf8");
  const apply = (kind: string, step: string) => spawnSync("bash", ["-c", `set -euo pipefail\n${script}`, "globenet", "apply", kind, "", "0123abcd", MD_RELOAD_UNIT, "x", "y", "", step], { encoding: "utf8" });
  it.each([
    ["bind-primary", "conf=/etc/shadow", "not a named.conf file of /etc/bind: /etc/shadow"],
    ["bind-primary", "conf=/etc/bind/named.conf.d/../../shadow", "not a named.conf file of /etc/bind: /etc/bind/named.conf.d/../../shadow"],
    ["apache2", "disable-site=../../apache2.conf", "not a sites-enabled entry: ../../apache2.conf"],
    ["bind-primary", "keys=bob.example:/tmp/$(touch x)", "not a key directory: /tmp/$(touch x)"],
    ["bind-primary", "keys=../../etc:/var/cache/bind", "not a zone name: ../../etc"],
    ["apache2", "conf=/etc/bind/named.conf.local", "conf is for bind sets"],
    ["bind-primary", "copy=a.example:raw:/var/cache/bind/db.a", "copy is for bind-secondary sets"],
    ["bind-secondary", "keys=a.example:/var/cache/bind", "keys is for bind-primary sets"],
    ["bind-secondary", "copy=../x:raw:/var/cache/bind/db.a", "not a zone name: ../x"],
    ["bind-secondary", "copy=a.example:map:/var/cache/bind/db.a", "not a zone file format: map"],
    ["bind-secondary", "copy=a.example:raw:db.a", "not an absolute zone file path: db.a"],
    ["bind-secondary", "copy=a.example:raw:/var/cache/bind/../../etc/shadow", "not a zone file path: /var/cache/bind/../../etc/shadow"],
    ["bind-secondary", "copy=a.example:raw:/tmp/$(touch x)", "not a zone file path: /tmp/$(touch x)"],
    ["bind-primary", "rm -rf /", "unknown takeover step: rm -rf /"],
    ["apache2", "disable-pool=alice.conf", "disable-pool is for php-fpm sets"],
    ["bind-primary", "md-cert=a.example:/etc/ssl/a.pem:/etc/ssl/a.key", "md-cert is for apache2 sets"],
    ["apache2", "md-cert=../x:/etc/ssl/a.pem:/etc/ssl/a.key", "not a managed domain name: ../x"],
    ["apache2", "md-cert=a.example:/etc/ssl/a.pem", "md-cert wants NAME:CERT:KEY[:CHAIN], not a.example:/etc/ssl/a.pem"],
    ["apache2", "md-cert=a.example:/etc/ssl/a.pem:ssl/a.key", "not an absolute certificate path: ssl/a.key"],
    ["apache2", "md-cert=a.example:/etc/ssl/a.pem:/etc/ssl/../shadow", "not a certificate path: /etc/ssl/../shadow"],
    ["apache2", "md-cert=a.example:/etc/ssl/a.pem:/tmp/$(touch x)", "not a certificate path: /tmp/$(touch x)"],
    ["apache2", "md-store=/var/lib/apache2/md/../../../etc", "not a store path: /var/lib/apache2/md/../../../etc"],
    ["apache2", "md-cert=a.example:/etc/ssl/a.pem:/etc/ssl/a.key", "md-cert needs md-store"],
  ])("%s %s", (kind, step, message) => {
    const r = apply(kind, step);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe(message);
  });
  it.each([
    ["disable-pool=../../php.ini", "not a pool.d file name: ../../php.ini"],
    ["disable-pool=../pool.d/www.conf", "not a pool.d file name: ../pool.d/www.conf"],
    ["disable-pool=www.conf.globenet-disabled", "not a pool.d file name: www.conf.globenet-disabled"],
  ])("php-fpm %s", (step, message) => {
    const r = spawnSync("bash", ["-c", `set -euo pipefail\n${script}`, "globenet", "apply", "php-fpm", "8.2", "0123abcd", MD_RELOAD_UNIT, "x", "y", "", step], { encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe(message);
  });
});

describe("the PHP-FPM takeover: a hand-made pool of Globenet's name is moved aside, or refused with file and line", () => {
  const P = "/etc/php/8.2/fpm";
  it("names Globenet's pools from its pool.d files", () => {
    expect(takeoverNames("php-fpm", { "pool.d/globenet-alice.conf": "; managed\n[alice]\nuser = alice\n", "pool.d/globenet-bob.conf": "[bob] ; note\n" })).toEqual(["alice", "bob"]);
  });
  it("moves aside a file whose pools are all taken over, leaves other files alone", () => {
    const plan = planFpmTakeover({ [`${P}/php-fpm.conf`]: "[global]\npid = /run/php/php8.2-fpm.pid\ninclude=/etc/php/8.2/fpm/pool.d/*.conf\n", [`${P}/pool.d/alice.conf`]: "[alice]\nuser = alice\n", [`${P}/pool.d/www.conf`]: "[www]\nuser = www-data\n" }, ["alice"]);
    expect(plan).toEqual({ disable: ["alice.conf"], problems: [] });
    expect(planFpmTakeover({ [`${P}/pool.d/www.conf`]: "[www]\n" }, ["alice"])).toEqual({ disable: [], problems: [] });
  });
  it("refuses a file shared with a pool the data lacks, and a pool in php-fpm.conf itself, naming file and line", () => {
    expect(planFpmTakeover({ [`${P}/pool.d/zz.conf`]: "[legacyapp]\nuser = www-data\n\n[alice]\n", [`${P}/php-fpm.conf`]: "[global]\n; [alice] commented\n[Alice]\n" }, ["alice"]).problems).toEqual([
      `${P}/php-fpm.conf:3: the hand-made pool [Alice] is not in a pool.d file of its own: move it into one by hand (keep a copy), then adopt again`,
      `${P}/pool.d/zz.conf:4: the hand-made pool [alice] shares its file with [legacyapp] (line 1), which the data does not have: moving the file aside would stop it; split the file by hand, then adopt again`,
    ]);
  });
  it("reads sections as FPM does: comments skipped, lines counted from 1", () => {
    expect(fpmSections("; [x]\n# [y]\n  [global]\n[a b] ; c\nkey = [v]\n")).toEqual([{ name: "global", line: 3 }, { name: "a b", line: 4 }]);
  });
});
