/**
 * Unit tier: the import runs nothing on a host but its allowlist of read-only scripts. Every
 * refusal happens before a connection is made (the target here does not exist: reaching it
 * would fail differently). The real refusals on a live host are in
 * tests/import-legacy-host.test.ts.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { allowlistProblem, asRunScript, framed, NotAllowed, READ_ONLY_COMMANDS, readOnlyRunner, scriptOf } from "../lib/import/remote";

const NOWHERE = { name: "nowhere", address: "198.51.100.254", port: 22, user: "root", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK+tBZeYUZ4D98ehwVRHgYI6hfIPcJsByHLI3gzNJUtK x" };

describe("the import's allowlist", () => {
  const refusals: Array<[string, string, string[], RegExp]> = [
    ["a command not on the list", "rm", ["-rf", "/"], /"rm" is not one of the import's read-only commands \(bind-config, zone-file, apache-config, config-files, fpm-pools, path-owners, accounts, account-details, mariadb-read, libvirt-read, mail-read\): refused, nothing was run on the host/],
    ["a script text instead of a name", "cat /etc/shadow", [], /is not one of the import's read-only commands/],
    ["a name from Object's prototype", "constructor", [], /is not one of the import's read-only commands/],
    ["an argument too many", "bind-config", ["-x"], /bind-config takes 0 argument\(s\), not 1/],
    ["an argument missing", "zone-file", [], /zone-file takes 1 argument\(s\), not 0/],
    ["a relative path", "zone-file", ["db.example"], /argument 1 must be an absolute path without \.\. nor a line break/],
    ["a path climbing out", "config-files", ["/etc/apache2/../shadow"], /argument 1 must be an absolute path without \.\./],
    ["a line break in a path", "path-owners", ["/var/www/a\n/etc/shadow"], /must be an absolute path without \.\. nor a line break/],
    ["shell in a user name", "account-details", ["alice; rm -rf /"], /argument 1 must be a unix user name/],
    ["an option as a user name", "account-details", ["--help"], /must be a unix user name/],
    ["an option as a socket", "mariadb-read", ["--execute=DROP DATABASE x"], /must be empty \(the client's default\) or the absolute path of a socket/],
    ["a libvirt URI with shell", "libvirt-read", ["qemu:///system;id"], /must be empty \(virsh's default\) or a libvirt URI/],
  ];
  it.each(refusals)("refuses %s", (_n, cmd, args, why) => {
    expect(allowlistProblem(cmd, args)).toMatch(why);
  });

  it("accepts its own commands with well-shaped arguments", () => {
    expect(allowlistProblem("zone-file", ["/etc/bind/db.example.org"])).toBeUndefined();
    expect(allowlistProblem("path-owners", ["/var/www/a", "/home/b/public_html"])).toBeUndefined();
    expect(allowlistProblem("account-details", ["alice"])).toBeUndefined();
    expect(allowlistProblem("mariadb-read", [""])).toBeUndefined();
    expect(allowlistProblem("mariadb-read", ["/run/mysqld/mysqld.sock"])).toBeUndefined();
    expect(allowlistProblem("libvirt-read", ["qemu:///system"])).toBeUndefined();
  });

  it("lets the database and guest readers run only their own scripts, byte for byte", async () => {
    const calls: Array<[string, readonly string[]]> = [];
    const run = asRunScript(async (name, args = []) => {
      calls.push([name, args]);
      return "ok";
    });
    await expect(run(scriptOf("mariadb-read"), [""])).resolves.toBe("ok");
    await expect(run(scriptOf("libvirt-read"), ["qemu:///system"])).resolves.toBe("ok");
    await expect(run(`${scriptOf("mariadb-read")}\nrm -rf /`, [""])).rejects.toThrow(NotAllowed);
    await expect(run("mariadb -e 'DROP DATABASE x'", [])).rejects.toThrow(/not one of the import's read-only scripts/);
    expect(calls).toEqual([["mariadb-read", [""]], ["libvirt-read", ["qemu:///system"]]]);
  });

  it("refuses before connecting: the runner throws NotAllowed, naming the host", async () => {
    const ro = readOnlyRunner(NOWHERE);
    await expect(ro("rm" as never, ["-rf", "/"])).rejects.toThrow(NotAllowed);
    await expect(ro("account-details", ["a b"])).rejects.toThrow(/^nowhere: account-details: argument 1 must be a unix user name/);
  });

  it("has a script file for each command, and no script in the folder that is not on the list", () => {
    const dir = join(__dirname, "..", "lib", "import", "scripts");
    const listed = Object.values(READ_ONLY_COMMANDS).map((c) => c.file).sort();
    expect(listed.every((f) => existsSync(join(dir, f)))).toBe(true);
    expect(readdirSync(dir).filter((f) => f.endsWith(".sh")).sort()).toEqual(listed);
  });

  it("has scripts that write nothing: no redirection into a file, no tool that changes the host", () => {
    const writers = /(^|[^0-9&])>\s*[^&\s]|\b(rm|mv|cp|tee|sed -i|install|chown|chmod|mkdir|touch|rndc|systemctl|service|apache2ctl (start|stop|restart|graceful)|crontab -[er]|useradd|usermod|userdel)\b/;
    for (const bad of ["echo x > /etc/passwd", "rndc sync -clean", "apache2ctl restart", "crontab -r -u a", "sed -i s/a/b/ f"]) expect(bad).toMatch(writers);
    for (const name of Object.keys(READ_ONLY_COMMANDS) as Array<keyof typeof READ_ONLY_COMMANDS>) {
      const body = scriptOf(name).split("\n").filter((l) => !l.trim().startsWith("#")).join("\n");
      // SQL's "<>" (not equal) is no redirection.
      expect(body.replace(/>&2|2>&1|2>\/dev\/null|>\/dev\/null|<>/g, ""), name).not.toMatch(writers);
    }
    // The SQL of the database reader: a READ ONLY transaction, no statement that writes.
    const sql = scriptOf("mariadb-read");
    expect(sql).toContain("START TRANSACTION READ ONLY;");
    expect(sql).not.toMatch(/^\s*(INSERT|UPDATE|DELETE|REPLACE|DROP|CREATE|ALTER|GRANT|REVOKE|RENAME|TRUNCATE|FLUSH|SET PASSWORD|LOAD)\b/im);
    expect(readFileSync(join(__dirname, "..", "lib", "import", "scripts", "bind-config.sh"), "utf8")).toContain("named-checkconf -p -x");
  });

  it("splits the scripts' NUL framing", () => {
    expect(framed("/a\0text a\n\0/b\0\0")).toEqual([
      { name: "/a", text: "text a\n" },
      { name: "/b", text: "" },
    ]);
  });
});
