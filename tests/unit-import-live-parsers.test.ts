/**
 * Unit tier: the import's parsers of what a live host prints, on text captured from the
 * legacy host of tests/import-legacy-host.test.ts (tests/fixtures/import/*.txt) and on
 * hand-written quirks, each with the exact value expected.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAccountDetails, parseAccounts, parseQuota } from "../lib/import/accounts";
import { parseApacheS, parseFpmPools, parseIncludes, vhostBlock, vhostFacts } from "../lib/import/apache-config";
import { servedZones } from "../lib/import/bind-config";

const fixture = (f: string) => readFileSync(join(__dirname, "fixtures", "import", f), "utf8");
const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK+tBZeYUZ4D98ehwVRHgYI6hfIPcJsByHLI3gzNJUtK bureau@laptop";

describe("apache2ctl -S", () => {
  it("lists each virtual host once, with its port, file, line and aliases", () => {
    expect(parseApacheS(fixture("apache2ctl-S.txt"))).toEqual([
      { port: 443, name: "alice.example", aliases: [], file: "/etc/apache2/sites-enabled/alice.conf", line: 9 },
      { port: 80, name: "127.0.0.1", aliases: [], file: "/etc/apache2/sites-enabled/000-default.conf", line: 1 },
      { port: 80, name: "alice-old.example", aliases: ["www.alice-old.example"], file: "/etc/apache2/sites-enabled/alice-old.conf", line: 1 },
      { port: 80, name: "alice.example", aliases: ["www.alice.example"], file: "/etc/apache2/sites-enabled/alice.conf", line: 2 },
      { port: 80, name: "bob.example", aliases: [], file: "/etc/apache2/sites-enabled/bob.conf", line: 1 },
      { port: 80, name: "orphan.example", aliases: [], file: "/etc/apache2/sites-enabled/orphan.conf", line: 1 },
    ]);
  });

  it("reads wild aliases and the included files", () => {
    const s = "*:80 is a NameVirtualHost\n         port 80 namevhost b.example (/etc/apache2/sites-enabled/b.conf:3)\n                 wild alias *.b.example\n";
    expect(parseApacheS(s)).toEqual([{ port: 80, name: "b.example", aliases: ["*.b.example"], file: "/etc/apache2/sites-enabled/b.conf", line: 3 }]);
    expect(parseIncludes("Included configuration files:\n  (*) /etc/apache2/apache2.conf\n    (225) /etc/apache2/sites-enabled/b.conf\n")).toEqual(["/etc/apache2/apache2.conf", "/etc/apache2/sites-enabled/b.conf"]);
  });
});

describe("a vhost block", () => {
  const facts = (body: string) => {
    const b = vhostBlock(`# before\n<VirtualHost *:80>\n${body}\n</VirtualHost>\n`, 2);
    if (!b) throw new Error("no block");
    return vhostFacts(b.directives);
  };
  const cases: Array<[string, string, Partial<ReturnType<typeof facts>>]> = [
    ["names and document root", "ServerName A.example\nServerAlias www.a.example  old.a.example\nDocumentRoot /home/a/www/", { serverName: "a.example", aliases: ["www.a.example", "old.a.example"], docroot: "/home/a/www" }],
    ["a whole-site Redirect", "ServerName old.example\nRedirect permanent / https://new.example/", { serverName: "old.example", redirectTo: "new.example", toHttps: false }],
    ["RedirectMatch of everything", "RedirectMatch 301 ^/(.*)$ https://new.example/$1", { redirectTo: "new.example" }],
    ["http to https with mod_rewrite", "RewriteEngine On\nRewriteCond %{HTTPS} off\nRewriteRule ^ https://%{HTTP_HOST}%{REQUEST_URI} [R=301,L]", { toHttps: true, unexpressed: [] }],
    ["http to https with Redirect", "Redirect / https://%{SERVER_NAME}/", { toHttps: true }],
    ["the PHP-FPM socket in a FilesMatch", '<FilesMatch \\.php$>\n  SetHandler "proxy:unix:/run/php/php8.2-fpm-a.sock|fcgi://localhost"\n</FilesMatch>', { fpmSocket: "/run/php/php8.2-fpm-a.sock" }],
    ["the PHP-FPM socket with ProxyPassMatch", "ProxyPassMatch ^/(.*\\.php)$ unix:/run/php/a.sock|fcgi://localhost/home/a/www/$1", { fpmSocket: "/run/php/a.sock" }],
    ["TLS", "SSLEngine on\nSSLCertificateFile /etc/letsencrypt/live/a.example/fullchain.pem", { ssl: true, certFile: "/etc/letsencrypt/live/a.example/fullchain.pem" }],
    ["a continued line", "ServerAlias b.example \\\n   c.example", { aliases: ["b.example", "c.example"] }],
  ];
  it.each(cases)("%s", (_n, body, want) => {
    expect(facts(body)).toMatchObject(want);
  });

  it("reports what the site schema cannot hold, with its line", () => {
    const f = facts('ServerName a.example\nHeader set X-A "1"\nAlias /static /srv/static\nRedirect /old https://a.example/new\nRewriteRule ^/blog/(.*)$ /news/$1 [L]');
    expect(f.unexpressed).toEqual([
      { line: 4, text: "header set X-A 1" },
      { line: 5, text: "alias /static /srv/static" },
      { line: 6, text: "redirect /old https://a.example/new" },
      { line: 7, text: "rewriterule ^/blog/(.*)$ /news/$1 [L]" },
    ]);
  });

  it("is not found when the line is not a <VirtualHost>", () => {
    expect(vhostBlock("ServerName a\n", 1)).toBeUndefined();
  });
});

describe("PHP-FPM pools", () => {
  it("gives each pool's version, user and socket ($pool expanded)", () => {
    const text = "; hand-made\n[alice]\nuser = alice\nlisten = /run/php/php8.2-fpm-$pool.sock\n\n[bob]\nuser = \"bob\"\nlisten = 127.0.0.1:9001\n";
    expect(parseFpmPools("/etc/php/8.2/fpm/pool.d/members.conf", text)).toEqual([
      { name: "alice", version: "8.2", user: "alice", listen: "/run/php/php8.2-fpm-alice.sock", file: "/etc/php/8.2/fpm/pool.d/members.conf", line: 2 },
      { name: "bob", version: "8.2", user: "bob", listen: "127.0.0.1:9001", file: "/etc/php/8.2/fpm/pool.d/members.conf", line: 6 },
    ]);
  });
});

describe("named-checkconf -p", () => {
  it("lists the zones with absolute files, types said the new way, signing and Debian's defaults", () => {
    const c = servedZones(fixture("named-checkconf-p.txt"));
    expect(c.directory).toBe("/var/cache/bind");
    expect(c.zones.slice(0, 4)).toEqual([
      { name: "alice.example", type: "primary", file: "/etc/bind/db.alice.example", dynamic: false },
      { name: "alice-old.example", type: "primary", file: "/etc/bind/db.alice-old.example", dynamic: false },
      { name: "orphan.example", type: "primary", file: "/etc/bind/db.orphan.example", dynamic: false },
      { name: "bob.example", type: "primary", file: "/var/lib/bind/db.bob.example", signing: "default", dynamic: false },
    ]);
    expect(c.zones.map((z) => z.name).slice(4)).toEqual([".", "localhost", "127.in-addr.arpa", "0.in-addr.arpa", "255.in-addr.arpa"]);
  });

  it("follows views, relative files, key-directory, auto-dnssec and dynamic zones", () => {
    const text = `options {\n\tdirectory "/var/named";\n\tkey-directory "keys";\n};\nview "outside" {\n\tzone "Dyn.Example." {\n\t\ttype master;\n\t\tfile "dyn.db";\n\t\tauto-dnssec maintain;\n\t\tallow-update {\n\t\t\tkey "ddns";\n\t\t};\n\t};\n\tzone "sec.example" {\n\t\ttype slave;\n\t\tfile "sec.db";\n\t};\n};\n`;
    expect(servedZones(text)).toEqual({
      directory: "/var/named",
      keyDirectory: "/var/named/keys",
      zones: [
        { name: "dyn.example", type: "primary", file: "/var/named/dyn.db", view: "outside", signing: "auto-dnssec maintain", dynamic: true },
        { name: "sec.example", type: "secondary", file: "/var/named/sec.db", view: "outside", dynamic: false },
      ],
    });
  });
});

describe("accounts", () => {
  it("keeps the login accounts of login.defs' range only", () => {
    const text = "UID_MIN 1000\nUID_MAX 60000\nroot:x:0:0:root:/root:/bin/bash\nalice:x:1001:1001:Alice Martin,,,:/home/alice:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
    expect(parseAccounts(text)).toEqual({ uidMin: 1000, uidMax: 60000, accounts: [{ user: "alice", uid: 1001, gid: 1001, gecos: "Alice Martin", home: "/home/alice", shell: "/bin/bash", line: 4 }] });
  });

  it("splits keys (plain ones kept, options and DSA reported by line), crontab and quota", () => {
    const out = [`# keys\n${KEY}\ncommand="/bin/backup" ${KEY}\nssh-dss AAAAB3NzaC1kc3MAAACBAP x\n`, "# m h dom mon dow command\nMAILTO=a@a.example\n17 3 * * * ~/bin/backup\n", "Disk quotas for user alice (uid 1001):\n     Filesystem  blocks   quota   limit   grace   files   quota   limit   grace\n      /dev/sda1  12000  500000  512000            120       0       0\n"].join("\0");
    const d = parseAccountDetails(out);
    expect(d.keys).toEqual([KEY]);
    expect(d.refusedKeys.map((r) => r.line)).toEqual([3, 4]);
    expect(d.refusedKeys[0]?.why).toMatch(/^has options before the key/);
    expect(d.refusedKeys[1]?.why).toMatch(/DSA/);
    expect(d.cron).toEqual(["MAILTO=a@a.example", "17 3 * * * ~/bin/backup"]);
    expect(d.quotaMb).toBe(500);
  });

  const quotas: Array<[string, string, { mb?: number; note: string }]> = [
    ["no tool", "no quota tool\n", { note: "no quota tool on the host" }],
    ["no limits", "Disk quotas for user bob (uid 1002): none\n", { note: "no quota set" }],
    ["soft only", "Disk quotas for user bob (uid 1002):\n  Filesystem blocks quota limit grace files quota limit grace\n  /dev/vdb 10 2048 0 1 0 0\n", { mb: 2, note: "" }],
    ["over quota (a star)", "Disk quotas for user bob (uid 1002):\n  Filesystem blocks quota limit grace files quota limit grace\n  /dev/vdb 3000* 1024 2048 7days 1 0 0\n", { mb: 2, note: "" }],
  ];
  it.each(quotas)("quota: %s", (_n, text, want) => {
    expect(parseQuota(text)).toEqual(want);
  });
});
