/**
 * globenet:mail:Maildirs against a real host: a throwaway sshd on 127.0.0.1 lets the provider in
 * as root, a vmail folder of the test's own holds a member domain's maildirs as Dovecot leaves
 * them (vmail's uid 5000, maildir file names with ':' and ','). Create writes nothing; delete
 * (the member departed, or the domain taken out of its file) archives the domain's folder into
 * <archive>/mail/<handle>--<domain>-<stamp>.tar.gz, checked to hold every file, then removes it.
 * Attacks for real: the domain's folder made a link to another tree (refused, nothing archived
 * or removed), arguments that could leave the vmail folder (refused by check).
 */
import { chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VMAIL_UID } from "../lib/model/mail";
import { maildirsType, type MaildirsInputs } from "../provider/resources/maildirs";
import { pool } from "../provider/ssh/pool";
import { startSshd, type Sshd } from "./helpers/sshd";
import { requireRoot, requireTools, run } from "./helpers/tools";

const ok = requireTools("sshd", "ssh-keygen", "tar") && requireRoot("the Maildirs resource reads and removes vmail's folders as root");

const DOMAIN = "velo-libre.example";
const HANDLE = "velo-libre";

describe.skipIf(!ok)("globenet:mail:Maildirs against a real host over SSH", () => {
  let sshd: Sshd;
  let dir = "";
  let vmail = "";
  let archive = "";
  let inputs: MaildirsInputs;
  /** The files of the domain's folder as Dovecot left them, by path relative to the vmail folder. */
  const files: Record<string, string> = {
    [`${DOMAIN}/contact/Maildir/new/1733380000.M1P2.mail1,S=42,W=44`]: "Subject: hello\n\nhello\n",
    [`${DOMAIN}/contact/Maildir/cur/1733380001.M2P2.mail1,S=40,W=42:2,S`]: "Subject: read\n\nalready read\n",
    [`${DOMAIN}/contact/Maildir/dovecot-uidlist`]: "3 V1733380000 N3\n",
    [`${DOMAIN}/tresorier/Maildir/new/1733380002.M3P2.mail1,S=10,W=11`]: "Subject: budget\n\n2026\n",
  };
  const writeDomain = () => {
    for (const [rel, text] of Object.entries(files)) {
      const p = join(vmail, rel);
      mkdirSync(join(p, ".."), { recursive: true });
      writeFileSync(p, text);
    }
    for (const p of run("find", [join(vmail, DOMAIN)]).stdout.trim().split("\n")) chownSync(p, VMAIL_UID, VMAIL_UID);
  };
  const archives = () => (existsSync(join(archive, "mail")) ? readdirSync(join(archive, "mail")).sort() : []);

  beforeAll(async () => {
    sshd = await startSshd();
    process.env.GLOBENET_SSH_KEY_FILE = sshd.keyFile;
    dir = mkdtempSync("/tmp/globenet-maildirs-");
    vmail = join(dir, "vmail");
    archive = join(dir, "archive");
    mkdirSync(vmail, { mode: 0o700 });
    inputs = { target: { name: "mail1", address: "127.0.0.1", port: sshd.port, user: "root", hostKey: sshd.hostKey }, handle: HANDLE, domain: DOMAIN, vmailDir: vmail, archiveDir: archive };
  });

  afterAll(async () => {
    await pool.close();
    await sshd?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("check refuses a domain, handle or folder that could leave the vmail folder or the archive", () => {
    const f = maildirsType.check({ ...inputs, domain: "../etc", handle: "Velo Libre", vmailDir: "/tmp/../etc", archiveDir: "relative/archive" }).failures?.map((x) => x.property);
    expect(f).toEqual(["handle", "domain", "vmailDir", "archiveDir"]);
    expect(maildirsType.check({ ...inputs }).failures).toBeUndefined();
  });

  it("create and update write nothing on the host; another domain or vmail folder is a replacement, another member an update", async () => {
    writeDomain();
    const before = run("find", [vmail, "-printf", "%p %s %T@\\n"]).stdout;
    const { id, outs } = await maildirsType.create(inputs);
    expect(id).toBe(`mail1:maildirs:${DOMAIN}`);
    expect(outs).toEqual(inputs);
    expect(await maildirsType.read(id, outs)).toEqual(inputs);
    expect(run("find", [vmail, "-printf", "%p %s %T@\\n"]).stdout).toBe(before);
    expect(maildirsType.diff(id, outs, { ...inputs, domain: "other.example" }).replaces).toEqual(["domain"]);
    expect(maildirsType.diff(id, outs, { ...inputs, handle: "ondes" })).toMatchObject({ changes: true, replaces: [] });
    expect(maildirsType.diff(id, outs, { ...inputs }).changes).toBe(false);
  });

  it("the domain's folder made a link to another tree: delete refuses, archives nothing and removes nothing", async () => {
    const other = join(dir, "not-mail");
    mkdirSync(join(other, "keep"), { recursive: true });
    writeFileSync(join(other, "keep", "precious"), "not the member's mail\n");
    const real = join(dir, "real-domain");
    run("mv", [join(vmail, DOMAIN), real]);
    symlinkSync(other, join(vmail, DOMAIN));
    try {
      await expect(maildirsType.delete(`mail1:maildirs:${DOMAIN}`, inputs)).rejects.toThrow(/symbolic link/);
      expect(readFileSync(join(other, "keep", "precious"), "utf8")).toBe("not the member's mail\n");
      expect(lstatSync(join(vmail, DOMAIN)).isSymbolicLink()).toBe(true);
      expect(archives().filter((f) => !f.endsWith(".partial"))).toEqual([]);
    } finally {
      rmSync(join(vmail, DOMAIN));
      run("mv", [real, join(vmail, DOMAIN)]);
    }
  });

  it("delete archives every maildir of the domain (numeric owners, root 0600), verified, then removes the folder; a second delete finds nothing and archives nothing", async () => {
    await maildirsType.delete(`mail1:maildirs:${DOMAIN}`, inputs);
    const made = archives();
    expect(made).toHaveLength(1);
    expect(made[0]).toMatch(new RegExp(`^${HANDLE}--${DOMAIN.replace(/\./g, "\\.")}-\\d{8}T\\d{6}Z\\.tar\\.gz$`));
    const file = join(archive, "mail", made[0] as string);
    const st = statSync(file);
    expect([st.uid, st.mode & 0o777]).toEqual([0, 0o600]);
    expect(statSync(join(archive, "mail")).mode & 0o777).toBe(0o700);
    expect(existsSync(join(vmail, DOMAIN))).toBe(false);
    // Every file, with vmail's owner, and the same bytes once extracted.
    const listing = run("tar", ["-tvzf", file, "--numeric-owner"]).stdout;
    for (const rel of Object.keys(files)) expect(listing).toMatch(new RegExp(`5000/5000 .* ${rel.replace(/[.+]/g, "\\$&")}$`, "m"));
    const out = join(dir, "extracted");
    mkdirSync(out);
    expect(run("tar", ["-xzf", file, "-C", out, "--numeric-owner"]).status).toBe(0);
    for (const [rel, text] of Object.entries(files)) {
      expect(readFileSync(join(out, rel), "utf8")).toBe(text);
      expect(statSync(join(out, rel)).uid).toBe(VMAIL_UID);
    }
    // Gone already (a retried delete, or a domain that never had mail): nothing to archive.
    await maildirsType.delete(`mail1:maildirs:${DOMAIN}`, inputs);
    expect(archives()).toEqual(made);
  });
});
