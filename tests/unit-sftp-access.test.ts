/**
 * Unit tier: access: sftp (issue 20) without a host. The password hash rule (the member schema's
 * and the provider's), the member-level rules (a way in; no password on an ssh account), and the
 * sshd drop-in the provider writes. tests/provider-sftp.test.ts proves the same on a real sshd.
 */
import { describe, expect, it } from "vitest";
import { renderSftpSshd, sftpSshdPath } from "../lib/render/sshd-sftp";
import { memberSchema } from "../lib/schema/member";
import { errorsOf, KEY as TREE_KEY, memberWith } from "./helpers/data-tree";
import { passwordHashProblem } from "../lib/schema/password-hash";

/** `mkpasswd -m yescrypt` and `openssl passwd -6` outputs (the passwords are not secret: "secret"). */
const YESCRYPT = "$y$j9T$RlYz6AzpzgzsXCBYMBEar/$umQKrp1pplpPA07J0feIaWfaRv4zckuQGNhscfRkgwC";
const SHA512 = "$6$abcdefgh$ltjgWl6579NluT/Vi1nwEvcil.G5Nbc4NiXZaNGStk8PSwGfQv72N2CKPPrVACtLtip/cZ/1GM/O6IND4WQhG.";
const SHA512_ROUNDS = `$6$rounds=5000$abcdefgh$${SHA512.split("$")[3]}`;
const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK+tBZeYUZ4D98ehwVRHgYI6hfIPcJsByHLI3gzNJUtK bureau@laptop";

const HINT = "(make one with: mkpasswd -m yescrypt (Debian package whois), and paste the line it prints, in quotes)";

describe("passwordHashProblem", () => {
  it.each<[string, string, string | undefined]>([
    ["yescrypt from mkpasswd", YESCRYPT, undefined],
    ["sha512-crypt", SHA512, undefined],
    ["sha512-crypt with rounds", SHA512_ROUNDS, undefined],
    ["a clear password", "correct horse battery staple", `is not a password hash: never write the password itself here ${HINT}`],
    ["an empty string", "", `is not a password hash: never write the password itself here ${HINT}`],
    ["md5-crypt", "$1$abcdefgh$0123456789012345678901", `uses an old or unsupported hash method: only yescrypt ($y$…) or sha512-crypt ($6$…) are accepted ${HINT}`],
    ["bcrypt", "$2b$12$abcdefghijklmnopqrstuuMIaJMc0sk7mjtz2qX3Jzqz0bYkO9dU.", `uses an old or unsupported hash method: only yescrypt ($y$…) or sha512-crypt ($6$…) are accepted ${HINT}`],
    ["sha256-crypt", "$5$abcdefgh$0123456789012345678901234567890123456789012", `uses an old or unsupported hash method: only yescrypt ($y$…) or sha512-crypt ($6$…) are accepted ${HINT}`],
    ["yescrypt cut short", YESCRYPT.slice(0, -1), `is not a whole yescrypt ($y$…) or sha512-crypt ($6$…) hash ${HINT}`],
    ["a second shadow line after it", `${YESCRYPT}\nroot::0:0:::`, `is not a whole yescrypt ($y$…) or sha512-crypt ($6$…) hash ${HINT}`],
    ["a colon (a second shadow field)", `${SHA512.slice(0, -1)}:`, `is not a whole yescrypt ($y$…) or sha512-crypt ($6$…) hash ${HINT}`],
    ["a locked hash", `!${YESCRYPT}`, `is not a password hash: never write the password itself here ${HINT}`],
    ["a star (no password)", "*", `is not a password hash: never write the password itself here ${HINT}`],
  ])("%s", (_name, value, want) => {
    const got = passwordHashProblem(value);
    expect(got).toBe(want);
    // A member's value is never repeated in the message.
    if (got && value.length > 3) expect(got).not.toContain(value);
  });
});

describe("the member schema's access rules", () => {
  const base = { handle: "biblio-menil", name: "Les Amis", contact: { email: "contact@amis-biblio.example" }, status: "active" };
  it.each<[string, Record<string, unknown>, string[]]>([
    ["ssh by default, with keys", { ssh_keys: [KEY] }, []],
    ["ssh with no key (a member who has none yet)", {}, []],
    ["sftp with a password hash only", { access: "sftp", sftp_password_hash: YESCRYPT }, []],
    ["sftp with a key only", { access: "sftp", ssh_keys: [KEY] }, []],
    ["sftp with both", { access: "sftp", ssh_keys: [KEY], sftp_password_hash: SHA512 }, []],
    ["sftp with neither", { access: "sftp" }, ["access: sftp needs a way in: add ssh_keys, or sftp_password_hash (make one with: mkpasswd -m yescrypt)"]],
    ["a hash on an ssh account", { ssh_keys: [KEY], sftp_password_hash: YESCRYPT }, ["sftp_password_hash: only works with access: sftp (an ssh account logs in with keys only: add access: sftp, or remove sftp_password_hash)"]],
    ["a clear password on an sftp account", { access: "sftp", sftp_password_hash: "hunter2" }, [`sftp_password_hash: is not a password hash: never write the password itself here ${HINT}`]],
    ["an unknown access", { access: "ftp" }, ['access: must be "ssh" (keys and a shell) or "sftp" (SFTP only, with keys and/or sftp_password_hash)']],
    ["a departed member keeps whatever it had", { status: "departed", access: "sftp" }, []],
  ])("%s", (_name, extra, want) => {
    const r = memberSchema.safeParse({ ...base, ...extra });
    expect(r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`)).toEqual(want);
    if (r.success) expect(r.data.access).toBe(extra.access ?? "ssh");
  });
});

describe("validate names the member file's line (issue 20's bad input)", () => {
  const M = "members/velo-libre/member.yaml";
  it.each<[string, string, RegExp]>([
    ["sftp with neither key nor password hash", 'ssh_keys: []\naccess: sftp\n', new RegExp(`^${M}:7:9 access: sftp needs a way in: add ssh_keys, or sftp_password_hash \\(make one with: mkpasswd -m yescrypt\\)`)],
    ["a clear password", `access: sftp\nsftp_password_hash: "hunter2"\n`, new RegExp(`^${M}:7:21 sftp_password_hash: is not a password hash: never write the password itself here`)],
  ])("%s", (_what, lines, expected) => {
    const errors = errorsOf({ [M]: memberWith(`ssh_keys: ["${TREE_KEY}"]\n`, lines) });
    expect(errors.some((e) => expected.test(e)), errors.join("\n")).toBe(true);
    expect(errors.join("\n")).not.toContain("hunter2");
  });
});

describe("renderSftpSshd", () => {
  const dir = "/etc/ssh/sshd_config.d";
  it.each<[string, boolean, string]>([
    ["with a password", true, "yes"],
    ["keys only", false, "no"],
  ])("%s: one Match User block, everything but SFTP refused, PasswordAuthentication %s", (_name, password, pa) => {
    const conf = renderSftpSshd({ handle: "biblio-menil", dropinDir: dir, password });
    const lines = conf.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
    expect(lines).toEqual([
      "Match User biblio-menil",
      "\tForceCommand internal-sftp",
      "\tChrootDirectory %h",
      "\tAllowTcpForwarding no",
      "\tAllowStreamLocalForwarding no",
      "\tAllowAgentForwarding no",
      "\tX11Forwarding no",
      "\tPermitTunnel no",
      "\tPermitTTY no",
      "\tPermitUserRC no",
      `\tPasswordAuthentication ${pa}`,
    ]);
    expect(conf).toMatch(/^# Generated by globenet-infra from members\/biblio-menil\/member\.yaml \(access: sftp\)/);
    // The same input gives the same bytes (the provider compares the live file by its sha256).
    expect(renderSftpSshd({ handle: "biblio-menil", dropinDir: dir, password })).toBe(conf);
  });

  it("names its file after the member, and refuses a name sshd_config would read as something else", () => {
    expect(sftpSshdPath({ handle: "biblio-menil", dropinDir: dir })).toBe(`${dir}/globenet-sftp-biblio-menil.conf`);
    for (const bad of ["a b", "x,root", "*", "!x", "x\nForceCommand /bin/sh"]) {
      expect(() => renderSftpSshd({ handle: bad, dropinDir: dir, password: false }), bad).toThrow(/sshd_config/);
    }
  });
});
