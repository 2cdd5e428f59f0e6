import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "./helpers/temp-dir";
import { baseFiles, errorsOf, memberWith, runCli, writeTree } from "./helpers/data-tree";
import { withoutPtrWarnings } from "./helpers/ptr-warnings";

const NASTY: Array<[string, string]> = [
  ["a newline", "bad\\nname.example"],
  ["a double quote", 'bad\\"name.example'],
  ["a single quote", "bad'name.example"],
  ["a backslash", "bad\\\\name.example"],
  ["a semicolon", "bad;name.example"],
  ["$(…)", "bad$(id).example"],
  ["a backtick", "bad`id`.example"],
  ["..", "bad..example"],
  ["a slash", "bad/name.example"],
  ["a label over 63 bytes", `${"a".repeat(64)}.example`],
  ["a name over 253 bytes", `${Array.from({ length: 5 }, () => "b".repeat(60)).join(".")}.example`],
  ["invalid punycode", "xn--zz.example"],
  ["an Apache directive", "www.example\\n</VirtualHost>\\nDocumentRoot /etc"],
  ["an Apache directive after a space", "www.example DocumentRoot /etc"],
];

/** Double-quoted YAML so escapes like \n reach the schema as real characters. */
const q = (s: string) => `"${s}"`;

describe("bad input is rejected with file, line and field", () => {
  it.each(NASTY)("site host with %s", (_what, bad) => {
    const errors = errorsOf({ "members/velo-libre/member.yaml": memberWith("  - host: velo-libre.example", `  - host: ${q(bad)}`) });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^members\/velo-libre\/member\.yaml:8:11 sites\[0\]\.host: /);
  });

  it.each(NASTY)("site alias with %s", (_what, bad) => {
    const errors = errorsOf({ "members/velo-libre/member.yaml": memberWith("aliases: [www.velo-libre.example]", `aliases: [${q(bad)}]`) });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^members\/velo-libre\/member\.yaml:9:15 sites\[0\]\.aliases\[0\]: /);
  });

  it.each(NASTY)("handle with %s", (_what, bad) => {
    const errors = errorsOf({ "members/velo-libre/member.yaml": memberWith("handle: velo-libre", `handle: ${q(bad)}`) });
    expect(errors[0]).toMatch(/^members\/velo-libre\/member\.yaml:1:9 handle: /);
  });

  it.each(NASTY.filter(([w]) => !w.startsWith("a name over")))("record name with %s", (_what, bad) => {
    const zone = `owner: velo-libre\nrecords:\n  - name: ${q(bad.replace(/\.example$/, ""))}\n    type: TXT\n    value: hello\n`;
    const errors = errorsOf({ "zones/velo-libre.example.yaml": zone });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^zones\/velo-libre\.example\.yaml:3:11 records\[0\]\.name: /);
  });

  it.each([
    ["a newline", "v=spf1\\n$INCLUDE /etc/passwd"],
    ["a double quote", 'v=spf1\\" -all'],
    ["a backslash", "v=spf1\\\\ -all"],
    ["$(…)", "v=spf1 $(reboot)"],
    ["a backtick", "v=spf1 `reboot`"],
    ["$INCLUDE", "$INCLUDE /etc/passwd"],
    ["$ORIGIN", "x $ORIGIN evil.example."],
  ])("TXT value with %s", (_what, bad) => {
    const zone = `owner: velo-libre\nrecords:\n  - name: "@"\n    type: TXT\n    value: ${q(bad)}\n`;
    const errors = errorsOf({ "zones/velo-libre.example.yaml": zone });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^zones\/velo-libre\.example\.yaml:5:12 records\[0\]\.value: /);
  });

  it.each(NASTY.filter(([w]) => !["a label over 63 bytes", "a name over 253 bytes"].includes(w)))("MX target with %s", (_what, bad) => {
    const zone = `owner: velo-libre\nrecords:\n  - name: "@"\n    type: MX\n    priority: 10\n    value: ${q(`${bad}.`)}\n`;
    const errors = errorsOf({ "zones/velo-libre.example.yaml": zone });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^zones\/velo-libre\.example\.yaml:6:12 records\[0\]\.value: /);
  });

  it("accepts DKIM and DMARC values, which need ; / + and =", () => {
    const dkim = "v=DKIM1; k=rsa; p=" + "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA/+".repeat(8);
    const zone = `owner: velo-libre\nrecords:\n  - { name: "mail._domainkey", type: TXT, value: "${dkim}" }\n  - { name: _dmarc, type: TXT, value: "v=DMARC1; p=quarantine; rua=mailto:dmarc@velo-libre.example" }\n`;
    expect(errorsOf({ "zones/velo-libre.example.yaml": zone })).toEqual([]);
  });
});

describe("YAML itself", () => {
  it.each([
    ["a syntax error", "handle: velo-libre\nsites: [\n", /^members\/velo-libre\/member\.yaml:2:8: YAML syntax error: this \[ is never closed /],
    ["a duplicate key", "handle: velo-libre\nhandle: velo-libre\n", /^members\/velo-libre\/member\.yaml:2:1: duplicate key /],
    ["an alias bomb", 'a: &a ["x","x"]\nb: &b [*a,*a]\nc: [*b,*b]\n', /^members\/velo-libre\/member\.yaml:1:7: YAML anchor &a is not allowed/],
    ["an explicit tag", "handle: !!binary aGVsbG8=\n", /^members\/velo-libre\/member\.yaml:1:18: YAML tag tag:yaml.org,2002:binary is not allowed/],
    ["two documents", "handle: velo-libre\n---\nhandle: x\n", /^members\/velo-libre\/member\.yaml:2:1: several YAML documents in one file/],
    ["a list instead of a mapping", "- handle\n", /^members\/velo-libre\/member\.yaml:1:1: must be a mapping of key: value lines at the top, not a list/],
    ["an oversized file", `handle: velo-libre\nname: "${"x".repeat(300 * 1024)}"\n`, /^members\/velo-libre\/member\.yaml: file is \d+ bytes, over the 262144-byte limit/],
  ])("rejects %s", (_what, content, re) => {
    const errors = errorsOf({ "members/velo-libre/member.yaml": content, "members/velo-libre/vps/atelier.yaml": null });
    expect(errors[0]).toMatch(re);
  });
});

describe("the commands", () => {
  const run = runCli;

  it("validate lists every error of a broken tree at once and exits 1; render writes nothing", async () => {
    const root = writeTree({
      "members/velo-libre/member.yaml": memberWith("aliases: [www.velo-libre.example]", 'aliases: ["www.velo-libre.example\\n  DocumentRoot /etc"]'),
      "members/globenet/member.yaml": `${baseFiles()["members/globenet/member.yaml"]}    php: 8.2\n`,
      "zones/velo-libre.example.yaml": 'owner: velo-libre\nrecords:\n  - { name: "$INCLUDE", type: TXT, value: x }\n',
    });
    const v = await run("validate", "--root", root, "--stack", "test");
    expect(v.status).toBe(1);
    const lines = v.stderr.trim().split("\n");
    expect(lines.slice(0, 3).map((l) => l.split(" ")[0])).toEqual([
      "members/globenet/member.yaml:7:10",
      "members/velo-libre/member.yaml:9:15",
      "zones/velo-libre.example.yaml:3:13",
    ]);
    expect(v.stderr).toContain("3 error(s); nothing can be applied");
    const out = join(tempDir("globenet-out-"), "render");
    const r = await run("render", "--root", root, "--stack", "test", "--out", out);
    expect(r.status).toBe(1);
    expect(existsSync(out)).toBe(false);
  });

  it("validate passes on the repository's own data", async () => {
    const v = await run("validate");
    expect(withoutPtrWarnings(v.stderr)).toBe("");
    expect(v.status).toBe(0);
    expect(v.stdout).toMatch(/^ok {2}lab: \d+ members/m);
    expect(v.stdout).toMatch(/^ok {2}prod: \d+ members/m);
  });
});

describe("names owned by the system", () => {
  const memberFile = (h: string) => ({ [`members/${h}/member.yaml`]: `handle: ${h}\nname: X\ncontact: { email: a@b.example }\nstatus: active\n` });

  // Debian's base-passwd users and groups, those of the packages our hosts run, our daemons' and roles to come.
  it.each(["disk", "sudo", "shadow", "adm", "kvm", "libvirt", "www-data", "bind", "ssl-cert", "crontab", "mysql", "sshd", "postfix", "dovecot", "prometheus", "backup", "nogroup", "staff"])(
    "handle %s",
    (h) => {
      expect(errorsOf(memberFile(h))).toEqual([`members/${h}/member.yaml:1:9 handle: "${h}" is a system account name (choose another handle)`]);
    },
  );

  it.each([
    ["systemd-oom", "systemd-", "systemd's own accounts"],
    ["debian-tor", "debian-", "Debian's package accounts (debian-exim, debian-tor…)"],
    ["libvirt-users", "libvirt", "libvirt's accounts and groups"],
  ])("handle %s (a system prefix)", (h, prefix, whose) => {
    expect(errorsOf(memberFile(h))).toEqual([`members/${h}/member.yaml:1:9 handle: "${h}" starts with "${prefix}", kept for ${whose} (choose another handle)`]);
  });

  it.each([
    ["root", "a MariaDB account or role name"],
    ["mysql", "a MariaDB system database"],
    ["information_schema", "a MariaDB system database"],
    ["performance_schema", "a MariaDB system database"],
    ["sys", "a MariaDB system database"],
    ["test", "a MariaDB system database"],
    ["mariadb_sys", "a MariaDB account or role name"],
    ["public", "a MariaDB account or role name"],
    ["debian_sys_maint", "a name Debian packages and monitoring or backup tools give their MariaDB accounts"],
    ["phpmyadmin", "a name Debian packages and monitoring or backup tools give their MariaDB accounts"],
    ["globenet", "Globenet's own"],
    ["globenet_meta", "where the provider records what it created"],
  ])("database %s", (n, why) => {
    const errors = errorsOf({ "members/velo-libre/member.yaml": memberWith("  - name: velo_wp", `  - name: ${n}`) });
    expect(errors).toEqual([`members/velo-libre/member.yaml:12:11 databases[0].name: "${n}" is reserved: ${why} (choose another name, like "velo_wp")`]);
  });

  it.each([
    ["test_wp", "test_", "which MariaDB's default grants may open to every user"],
    ["globenet_meta2", "globenet_meta", "the provider's own database"],
  ])("database %s (a reserved prefix)", (n, prefix, why) => {
    const errors = errorsOf({ "members/velo-libre/member.yaml": memberWith("  - name: velo_wp", `  - name: ${n}`) });
    expect(errors).toEqual([`members/velo-libre/member.yaml:12:11 databases[0].name: "${n}" starts with "${prefix}", ${why} (choose another name, like "velo_wp")`]);
  });

  it("ordinary handles and database names, including Globenet's own member, stay valid", () => {
    expect(errorsOf({ ...memberFile("amap-belleville"), "members/velo-libre/member.yaml": memberWith("  - name: velo_wp", "  - name: velo_wordpress\n  - name: globenet_spip") })).toEqual([]);
  });
});
