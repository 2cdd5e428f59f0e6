/**
 * globenet:mail:Maildirs against a real host: a throwaway sshd on 127.0.0.1 lets the provider in
 * as root, a vmail folder of the test's own holds a member domain's maildirs as Dovecot leaves
 * them (vmail's uid 5000, maildir file names with ':' and ','). Create writes nothing; delete
 * (the member departed, or the domain taken out of its file) archives the domain's folder into
 * <archive>/mail/<handle>--<domain>-<stamp>.tar.gz, checked to hold every file, then removes it.
 * Attacks for real: the domain's folder made a link to another tree (refused, nothing archived
 * or removed), arguments that could leave the vmail folder (refused by check).
 * A mailbox taken out of a domain that stays (update): without `Allow-Destroy` for it the guard
 * refuses the plan (naming the mailbox and the line to add) and the host is left as it was; with
 * it, the mailbox's folder goes to <archive>/mail/<handle>--<domain>--<local>-<stamp>.tar.gz,
 * verified, then is removed, the other mailboxes untouched, and the address made again has no
 * folder left (Dovecot starts it empty, not with the previous holder's mail); its folder made a
 * link elsewhere is refused. Then the same through this machine's real Postfix and Dovecot (the
 * bench's throwaway mail host, loopback): mail delivered to a mailbox, the mailbox taken out of
 * the data (the offline guard blocks it without its line), the set applied, the update archives
 * it with the message, and the address made again receives into an empty mailbox.
 */
import { chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PlanStep } from "../lib/guard/plan";
import { rcpt, throwawayMailHost, writeSyntheticMailTree } from "../lib/bench/mail";
import { waitFor } from "../lib/base/proc";
import { loadModel } from "../lib/check/build";
import { planFromModels } from "../lib/guard/offline";
import { allowancesIn, formatVerdict, judge } from "../lib/guard/rules";
import { mailDomainsOf, VMAIL_UID } from "../lib/model/mail";
import type { Model } from "../lib/model/types";
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

  describe("a mailbox taken out of a domain that stays (update)", () => {
    const withBoth = () => maildirsType.check({ ...inputs, mailboxes: ["tresorier", "contact"] }).inputs as MaildirsInputs;
    const withContact = () => maildirsType.check({ ...inputs, mailboxes: ["contact"] }).inputs as MaildirsInputs;
    const id = `mail1:maildirs:${DOMAIN}`;
    const tree = () => run("find", [vmail, "-printf", "%p %U %s %T@\\n"]).stdout;
    /** The step the engine announces for this update, from the provider's own check and diff. */
    const step = (olds: MaildirsInputs, news: MaildirsInputs): PlanStep => {
      const d = maildirsType.diff(id, olds, news);
      expect(d).toMatchObject({ changes: true, replaces: [] });
      return { op: "update", type: "globenet:mail:Maildirs", name: `mail1-maildirs-${DOMAIN}`, urn: `urn:pulumi:lab::globenet-infra::globenet:mail:Maildirs::mail1-maildirs-${DOMAIN}`, old: { ...olds }, new: { ...news } };
    };
    const member = (): PlanStep => ({ op: "same", type: "globenet:member:Member", name: HANDLE, urn: `urn:pulumi:lab::globenet-infra::globenet:member:Member::${HANDLE}` });
    const tresorier = `${DOMAIN}/tresorier/`;
    const allow = `members/${HANDLE}/mail/${DOMAIN}/tresorier`;

    it("without Allow-Destroy naming it, the guard refuses the plan, naming the mailbox and the line to add; the host is as it was", async () => {
      writeDomain();
      const before = tree();
      const made = archives();
      // The commit says something else (another mailbox, another domain): not this one.
      const allowances = allowancesIn(`velo-libre: tresorier leaves\n\nAllow-Destroy: members/${HANDLE}/mail/${DOMAIN}/contact, members/${HANDLE}/mail/other.example`);
      const v = judge({ stack: "lab", steps: [member(), step(withBoth(), withContact())] }, { maxShare: 0.1, allowances });
      expect(v.ok).toBe(false);
      const text = formatVerdict(v);
      expect(text).toContain(`BLOCKED  members/${HANDLE}: the mailbox tresorier@${DOMAIN} (its maildir, every message) would be deleted on mail1`);
      expect(text).toContain(`  Allow-Destroy: ${allow}`);
      expect(formatVerdict(v, "fr")).toContain(`la boîte tresorier@${DOMAIN} (son maildir, tous ses messages) serait supprimée sur mail1`);
      // Refused: the apply stops before the provider's update; the mail is all there.
      expect(tree()).toBe(before);
      expect(archives()).toEqual(made);
    });

    it("the mailbox's folder made a link to another tree: update refuses, archives nothing and removes nothing", async () => {
      const other = join(dir, "not-a-mailbox");
      mkdirSync(other, { recursive: true });
      writeFileSync(join(other, "precious"), "not the member's mail\n");
      const real = join(dir, "real-tresorier");
      run("mv", [join(vmail, DOMAIN, "tresorier"), real]);
      symlinkSync(other, join(vmail, DOMAIN, "tresorier"));
      const made = archives();
      try {
        await expect(maildirsType.update(id, withBoth(), withContact())).rejects.toThrow(/symbolic link/);
        expect(readFileSync(join(other, "precious"), "utf8")).toBe("not the member's mail\n");
        expect(lstatSync(join(vmail, DOMAIN, "tresorier")).isSymbolicLink()).toBe(true);
        expect(archives()).toEqual(made);
      } finally {
        rmSync(join(vmail, DOMAIN, "tresorier"));
        run("mv", [real, join(vmail, DOMAIN, "tresorier")]);
      }
    });

    it("with Allow-Destroy: archived (every file, vmail's owner, same bytes), verified, removed; contact untouched; made again, the address starts empty; a retried update archives nothing", async () => {
      const contactBefore = run("find", [join(vmail, DOMAIN, "contact"), "-printf", "%p %U %s %T@\\n"]).stdout;
      const allowances = allowancesIn(`velo-libre: tresorier leaves the board\n\nAllow-Destroy: ${allow}`);
      expect(judge({ stack: "lab", steps: [member(), step(withBoth(), withContact())] }, { maxShare: 0.1, allowances }).ok).toBe(true);
      const made = archives();
      const t0 = Date.now();
      expect(await maildirsType.update(id, withBoth(), withContact())).toEqual(withContact());
      const ms = Date.now() - t0;
      const added = archives().filter((f) => !made.includes(f));
      expect(added).toHaveLength(1);
      expect(added[0]).toMatch(new RegExp(`^${HANDLE}--${DOMAIN.replace(/\./g, "\\.")}--tresorier-\\d{8}T\\d{6}Z\\.tar\\.gz$`));
      const file = join(archive, "mail", added[0] as string);
      const st = statSync(file);
      expect([st.uid, st.mode & 0o777]).toEqual([0, 0o600]);
      // The maildir is gone; the domain's folder and contact's mail are as they were.
      expect(existsSync(join(vmail, DOMAIN, "tresorier"))).toBe(false);
      expect(run("find", [join(vmail, DOMAIN, "contact"), "-printf", "%p %U %s %T@\\n"]).stdout).toBe(contactBefore);
      // tresorier's files only, under <domain>/tresorier/ (the domain archive's layout), with vmail's owner and the same bytes.
      const listing = run("tar", ["-tvzf", file, "--numeric-owner"]).stdout;
      const mine = Object.entries(files).filter(([rel]) => rel.startsWith(tresorier));
      expect(mine.length).toBeGreaterThan(0);
      for (const [rel] of mine) expect(listing).toMatch(new RegExp(`5000/5000 .* ${rel.replace(/[.+]/g, "\\$&")}$`, "m"));
      expect(listing).not.toContain(`${DOMAIN}/contact`);
      const out = join(dir, "extracted-tresorier");
      mkdirSync(out);
      // The restore the guide gives: tar -x of <domain>/<local> from the archive.
      expect(run("tar", ["-xzf", file, "-C", out, "--numeric-owner", `${DOMAIN}/tresorier`]).status).toBe(0);
      for (const [rel, text] of mine) {
        expect(readFileSync(join(out, rel), "utf8")).toBe(text);
        expect(statSync(join(out, rel)).uid).toBe(VMAIL_UID);
      }
      // Made again (a new treasurer): an update that removes nothing writes nothing, and no folder of the old one is left.
      const before = tree();
      expect(await maildirsType.update(id, withContact(), withBoth())).toEqual(withBoth());
      expect(tree()).toBe(before);
      expect(existsSync(join(vmail, DOMAIN, "tresorier"))).toBe(false);
      // Retried (the same update again, the folder already gone): nothing archived.
      const now = archives();
      await maildirsType.update(id, withBoth(), withContact());
      expect(archives()).toEqual(now);
      console.log(`archiving one mailbox (${mine.length} files) over SSH: ${ms} ms`);
    });
  });

  describe.skipIf(!requireTools("postfix", "postmap", "dovecot", "doveadm", "sendmail", "openssl", "useradd"))("through this machine's Postfix and Dovecot: the address made again starts empty", () => {
    const handle = "member-00000";
    const domain = `${handle}.example`;
    const box1 = `box1@${domain}`;
    const memberFile = (tree: string) => join(tree, "members", handle, "member.yaml");
    /** INBOX's message count as Dovecot reports it (-1 when it cannot say). */
    const messages = (user: string) => Number(/(\d+)\s*$/.exec(run("doveadm", ["mailbox", "status", "-u", user, "messages", "INBOX"]).stdout)?.[1] ?? -1);

    it("a message in box1; box1 removed (blocked without its line), applied, archived with the message; made again, box1 receives into an empty mailbox", async () => {
      const h = await throwawayMailHost();
      try {
        const tree = join(h.dir, "data");
        writeSyntheticMailTree(tree, 1, 2);
        const full = loadModel(tree, "bench").model as Model;
        const fullText = readFileSync(memberFile(tree), "utf8");
        await h.script("apply", h.render(tree).files);
        await h.start(`box0@${domain}`);
        // Over SMTP on the loopback (the bench's port 25), once Postfix accepts the address.
        const send = async (subject: string) => {
          expect(await waitFor(async () => (await rcpt(box1)) === "250", 30_000, 200)).toBeTruthy();
          const r = run("swaks", ["--timeout", "20", "--server", "127.0.0.1", "--port", "2525", "--from", "someone@outside.example", "--to", box1, "--header", `Subject: ${subject}`, "--body", `${subject}\n`]);
          expect(r.status, r.stdout + r.stderr).toBe(0);
        };
        await send("for-the-old-treasurer");
        expect(await waitFor(() => messages(box1) === 1, 30_000, 200)).toBeTruthy();

        // box1 taken out of the data (and of the alias that named it).
        const without = fullText.replace(/^ {6}- \{ local: box1, [^\n]*\n/m, "").replace("to: [box0, box1]", "to: [box0]");
        expect(without).not.toContain("box1");
        writeFileSync(memberFile(tree), without);
        const head = loadModel(tree, "bench").model as Model;
        // The offline guard on the real data: blocked, naming the mailbox and the line to add.
        const blocked = judge(planFromModels(full, head), { maxShare: 0.5, allowances: [] });
        expect(blocked.ok).toBe(false);
        expect(blocked.needed).toEqual([`members/${handle}/mail/${domain}/box1`]);
        expect(judge(planFromModels(full, head), { maxShare: 0.5, allowances: allowancesIn(`box1 leaves\n\nAllow-Destroy: members/${handle}/mail/${domain}/box1`) }).ok).toBe(true);
        // Allowed: the set first (the address closed), then the Maildirs update, as the program orders them.
        await h.script("apply", h.render(tree).files);
        // The address is closed before its maildir goes.
        expect(await waitFor(async () => (await rcpt(box1)).startsWith("5"), 30_000, 200)).toBeTruthy();
        const vmailDir = join(h.dir, "vmail");
        const mine = join(dir, "archive-dovecot");
        const as = (m: Model): MaildirsInputs => {
          const d = mailDomainsOf(m, "mx1").find((x) => x.domain === domain);
          return maildirsType.check({ ...inputs, handle, domain, mailboxes: d?.mailboxes, vmailDir, archiveDir: mine }).inputs as MaildirsInputs;
        };
        expect(as(full).mailboxes).toEqual(["box0", "box1"]);
        expect(as(head).mailboxes).toEqual(["box0"]);
        await maildirsType.update(`mx1:maildirs:${domain}`, as(full), as(head));
        expect(existsSync(join(vmailDir, domain, "box1"))).toBe(false);
        // The domain's folder stays (box0 has no folder of its own yet: Dovecot makes it at its first delivery).
        expect(existsSync(join(vmailDir, domain))).toBe(true);
        const made = readdirSync(join(mine, "mail"));
        expect(made).toHaveLength(1);
        const file = join(mine, "mail", made[0] as string);
        expect(made[0]).toMatch(new RegExp(`^${handle}--${domain.replace(/\./g, "\\.")}--box1-\\d{8}T\\d{6}Z\\.tar\\.gz$`));
        // The archive holds the old holder's message (and Dovecot's own files), owned by the vmail user.
        const out = join(dir, "extracted-dovecot");
        mkdirSync(out);
        expect(run("tar", ["-xzf", file, "-C", out, "--numeric-owner"]).status).toBe(0);
        // The message files only (cur/, new/): Dovecot's index cache may hold the subject too.
        const kept = run("grep", ["-rl", "for-the-old-treasurer", join(out, domain, "box1", "Maildir")]).stdout.trim().split("\n").filter((f) => /\/(cur|new)\/[^/]+$/.test(f));
        expect(kept).toHaveLength(1);
        expect(statSync(kept[0] as string).uid).toBe(h.uid);

        // Made again (a new treasurer): the set applied, a message for the new holder; the mailbox holds that one only.
        writeFileSync(memberFile(tree), fullText);
        await h.script("apply", h.render(tree).files);
        await maildirsType.update(`mx1:maildirs:${domain}`, as(head), as(full));
        await send("for-the-new-treasurer");
        expect(await waitFor(() => run("grep", ["-rl", "for-the-new-treasurer", join(vmailDir, domain, "box1")]).stdout.trim() !== "", 30_000, 200)).toBeTruthy();
        const maildir = join(vmailDir, domain, "box1", "Maildir");
        expect(run("grep", ["-rl", "for-the-new-treasurer", maildir]).stdout.trim()).not.toBe("");
        expect(run("grep", ["-rl", "for-the-old-treasurer", maildir]).stdout.trim()).toBe("");
        expect(messages(box1)).toBe(1);
      } finally {
        await h.stop();
        rmSync(h.dir, { recursive: true, force: true });
      }
    }, 240_000);
  });
});
