/**
 * The mail host's rendered configuration (lib/render/mail.ts) run by the real daemons from
 * Debian: Postfix and Dovecot started by hand from a throwaway folder on 127.0.0.1 (other
 * ports than a real mail host's), a loopback sink standing for the outside world, swaks as
 * the sending client. What a member and the outside see: delivery, IMAP over TLS, aliases, a
 * forward, refusals in the SMTP dialogue, submission with login, quota, suspension.
 */
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { connect as tlsConnect } from "node:tls";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadModel } from "../lib/check/build";
import { formatDiagnostic } from "../lib/load/diagnostic";
import { dkimKeyPath, dkimRecordValue, mailPlan, type MailPlan } from "../lib/model/mail";
import { randomBytes } from "node:crypto";
import { opendkimRun, postsrsdArgs, renderMailFiles } from "../lib/render/mail";
import { baseFiles, inventoryWithMailHost, writeTree } from "./helpers/data-tree";
import { requireRoot, requireTools, run } from "./helpers/tools";
import { startSmtpSink, type SmtpSink } from "./helpers/smtp-sink";

const ok =
  requireTools("postfix", "postmap", "postqueue", "dovecot", "doveconf", "doveadm", "swaks", "mkpasswd", "openssl", "useradd", "userdel", "opendkim", "opendkim-genkey") &&
  requireRoot("Postfix and Dovecot start as root and deliver as the vmail user");

/** OpenDKIM refuses a key below a folder others may write (/tmp): the keys live where root's folders lead. */
const KEYS = `/var/lib/globenet-mail-test-${process.pid}`;
const PORTS = { smtp: 2525, submission: 5587, submissions: 5465, imaps: 9993 };
const SINK = 2626;
/** postsrsd's tables and the re-injection smtpd, on throwaway loopback ports (Debian's are 10001, 10002; ours 10026). */
const SRS = { forwardPort: 11001, reversePort: 11002, reinjectPort: 11026 };
const vmailUser = `gtvmail${process.pid}`;
const PASS = { contact: `Contact-${process.pid}-pw`, tresorier: `Tresorier-${process.pid}-pw`, radio: `Radio-${process.pid}-pw` };

/** A hash from the password on stdin (never in argv), in the {SCHEME} form Dovecot reads. */
function hash(password: string, method: "yescrypt" | "sha-512"): string {
  const r = run("mkpasswd", ["-m", method, "--stdin"], { input: `${password}\n` });
  if (r.status !== 0) throw new Error(r.stderr);
  return `{${method === "yescrypt" ? "CRYPT" : "SHA512-CRYPT"}}${r.stdout.trim()}`;
}

function member(handle: string, status: string, mail: string): string {
  return `handle: ${handle}\nname: ${handle}\ncontact: { email: bureau@${handle}.example }\nstatus: ${status}\nmail:\n${mail}`;
}

/** The data: two members, one suspended partway through the test. */
function tree(ondesStatus: "active" | "suspended"): Record<string, string | null> {
  return {
    "Pulumi.test.yaml": inventoryWithMailHost(`{ public_name: mail.globenet.example, relay: "127.0.0.1:${SINK}", default_quota_mb: 1, message_size_mb: 2 }`),
    "zones/velo-libre.example.yaml": "owner: velo-libre\n",
    "zones/ondes.example.yaml": "owner: ondes\n",
    "members/velo-libre/member.yaml": `${baseFiles()["members/velo-libre/member.yaml"]}mail:
  - domain: velo-libre.example
    mailboxes:
      - { local: contact, password_hash: "${hashes.contact}" }
      - { local: tresorier, quota_mb: 5, password_hash: "${hashes.tresorier}" }
    aliases:
      - { local: bureau, to: [contact, tresorier] }
      - { local: presidente, to: [presidente.velo@outside.example] }
`,
    "members/ondes/member.yaml": member("ondes", ondesStatus, `  - domain: ondes.example\n    mailboxes:\n      - { local: radio, password_hash: "${hashes.radio}" }\n`),
  };
}

let hashes: Record<keyof typeof PASS, string>;
let dir = "";
let plan: MailPlan;
let sink: SmtpSink | undefined;
/** What reached the sink, each message's text as its DATA. */
const sunk = { find: (p: (m: string) => boolean) => sink?.messages.map((m) => m.data).find(p) };
const postfix = () => join(dir, "postfix");

function planFor(ondes: "active" | "suspended"): MailPlan {
  const { model, errors } = loadModel(writeTree(tree(ondes)), "test");
  if (!model) throw new Error(errors.map((e) => formatDiagnostic(e)).join("\n"));
  return mailPlan(model, "mx1", {
    listen: ["127.0.0.1"],
    ports: PORTS,
    paths: {
      postfixDir: postfix(), queueDir: join(dir, "spool"), dataDir: join(dir, "lib"), mapsDir: join(postfix(), "globenet"), dovecotDir: join(dir, "dovecot"),
      dovecotBaseDir: join(dir, "run"), vmailDir: join(dir, "vmail"), vmailUser, tlsCert: join(dir, "tls", "cert.pem"), tlsKey: join(dir, "tls", "key.pem"), logFile: join(dir, "mail.log"),
      opendkimDir: join(dir, "opendkim"), dkimKeyDir: KEYS,
    },
    srs: { ...SRS, secret: join(dir, "srs", "postsrsd.secret") },
  });
}

/** Writes the rendered files and compiles the maps, as the mail host's file set will. */
function writeFiles(p: MailPlan): void {
  const uid = Number(run("id", ["-u", vmailUser]).stdout.trim());
  const f = renderMailFiles(p, uid, 1, "hostmaster@globenet.example");
  for (const [n, c] of Object.entries(f.postfix)) writeFileSync(join(p.paths.postfixDir, n), c);
  for (const [n, c] of Object.entries(f.maps)) {
    writeFileSync(join(p.paths.mapsDir, n), c);
    const r = run("postmap", ["-c", p.paths.postfixDir, `hash:${join(p.paths.mapsDir, n)}`]);
    if (r.status !== 0) throw new Error(`postmap ${n}: ${r.stderr}`);
  }
  writeFileSync(join(p.paths.mapsDir, "srs-reverse.regexp"), f.srs["srs-reverse.regexp"]);
  writeFileSync(join(p.paths.mapsDir, "direct-senders.regexp"), f.srs["direct-senders.regexp"]);
  writeFileSync(join(dir, "srs", "postsrsd.default"), f.srs["postsrsd.default"]);
  writeFileSync(join(p.paths.dovecotDir, "dovecot.conf"), f.dovecot["dovecot.conf"]);
  for (const [n, c] of Object.entries(f.opendkim)) writeFileSync(join(p.paths.opendkimDir, n), c);
  // Dovecot's auth process (user dovecot) reads the users file; nobody else may.
  for (const n of ["globenet-users", "globenet-suspended"] as const) {
    writeFileSync(join(p.paths.dovecotDir, n), f.dovecot[n], { mode: 0o640 });
    chownSync(join(p.paths.dovecotDir, n), 0, Number(run("id", ["-g", "dovecot"]).stdout));
  }
}

const readFileSafe = (f: string) => {
  try {
    return readFileSync(f, "utf8").trim();
  } catch {
    return "";
  }
};

/** An expectation on a swaks dialogue that prints the dialogue when it fails. */
const said = (out: string) => expect(out, out.slice(-2500));

function swaks(args: string[]): string {
  const r = run("swaks", ["--server", ...args, "--timeout", "20"], { timeoutMs: 60_000 });
  return r.stdout + r.stderr;
}

/** IMAP over TLS: LOGIN, then the subjects in INBOX (or the login's failure). */
async function imap(user: string, password: string): Promise<{ login: string; subjects: string[] }> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: "127.0.0.1", port: PORTS.imaps, rejectUnauthorized: false });
    let buf = "";
    let step = 0;
    const q = (x: string) => `"${x.replace(/["\\]/g, "\\$&")}"`;
    const timer = setTimeout(() => reject(new Error(`IMAP timed out:\n${buf}`)), 20_000);
    s.on("data", (d: Buffer) => {
      buf += d.toString();
      if (step === 0 && /^\* OK/m.test(buf)) {
        step = 1;
        s.write(`a1 LOGIN ${q(user)} ${q(password)}\r\n`);
      } else if (step === 1 && /^a1 (OK|NO|BAD)/m.test(buf)) {
        const login = /^a1 (OK|NO|BAD)[^\r\n]*/m.exec(buf)?.[0] ?? "";
        if (!login.startsWith("a1 OK")) {
          clearTimeout(timer);
          s.end();
          return resolve({ login, subjects: [] });
        }
        step = 2;
        s.write("a2 SELECT INBOX\r\na3 FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r\na4 LOGOUT\r\n");
      } else if (step === 2 && /^a4 OK/m.test(buf)) {
        clearTimeout(timer);
        s.end();
        resolve({ login: "a1 OK", subjects: [...buf.matchAll(/^Subject: ([^\r\n]*)/gim)].map((m) => m[1] as string) });
      }
    });
    s.on("error", reject);
  });
}

async function until<T>(what: string, f: () => T | undefined, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${readFileSync(join(dir, "mail.log"), "utf8").slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The messages in a mailbox's Maildir (new and cur). */
function maildir(domain: string, local: string): string[] {
  const base = join(dir, "vmail", domain, local, "Maildir");
  return ["new", "cur"].flatMap((d) => {
    try {
      return readdirSync(join(base, d)).map((f) => readFileSync(join(base, d, f), "utf8"));
    } catch {
      return [];
    }
  });
}

const bySubject = (domain: string, local: string, subject: string) => (maildir(domain, local).some((m) => m.includes(`Subject: ${subject}`)) ? true : undefined);

describe.skipIf(!ok)("the mail host's Postfix and Dovecot, from the rendered files", () => {
  beforeAll(async () => {
    hashes = { contact: hash(PASS.contact, "yescrypt"), tresorier: hash(PASS.tresorier, "sha-512"), radio: hash(PASS.radio, "yescrypt") };
    dir = mkdtempSync(join(tmpdir(), "globenet-mail-"));
    chmodSync(dir, 0o755);
    if (run("id", [vmailUser]).status !== 0) run("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", vmailUser]);
    plan = planFor("active");
    for (const d of [plan.paths.mapsDir, plan.paths.dovecotDir, plan.paths.queueDir, plan.paths.dataDir, plan.paths.dovecotBaseDir, plan.paths.vmailDir, join(dir, "tls")]) mkdirSync(d, { recursive: true });
    chownSync(plan.paths.dataDir, Number(run("id", ["-u", "postfix"]).stdout), Number(run("id", ["-g", "postfix"]).stdout));
    chownSync(plan.paths.vmailDir, Number(run("id", ["-u", vmailUser]).stdout), Number(run("id", ["-g", vmailUser]).stdout));
    const cert = run("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=mail.globenet.example", "-keyout", plan.paths.tlsKey, "-out", plan.paths.tlsCert]);
    if (cert.status !== 0) throw new Error(cert.stderr);
    chmodSync(plan.paths.tlsKey, 0o600);
    mkdirSync(plan.paths.opendkimDir, { recursive: true });
    // Each domain's DKIM key, made where it is used (as the mail host's key resource does), opendkim's only.
    const dkimUid = Number(run("id", ["-u", "opendkim"]).stdout);
    const postfixGid = Number(run("id", ["-g", "postfix"]).stdout);
    for (const d of plan.domains) {
      const keys = join(plan.paths.dkimKeyDir, plan.dkimSelector);
      mkdirSync(keys, { recursive: true });
      const g = run("opendkim-genkey", ["-b", "2048", "-d", d, "-s", plan.dkimSelector, "-D", keys]);
      if (g.status !== 0) throw new Error(g.stderr);
      run("mv", [join(keys, `${plan.dkimSelector}.private`), dkimKeyPath(plan.paths, plan.dkimSelector, d)]);
      chownSync(dkimKeyPath(plan.paths, plan.dkimSelector, d), dkimUid, 0);
      chmodSync(dkimKeyPath(plan.paths, plan.dkimSelector, d), 0o600);
    }
    const runDir = opendkimRun(plan.paths).dir;
    mkdirSync(runDir, { recursive: true });
    chownSync(runDir, dkimUid, postfixGid);
    chmodSync(runDir, 0o750);
    // postsrsd's secret, made here as the set's apply makes it on the mail host (root's 0600).
    mkdirSync(join(dir, "srs"), { mode: 0o700 });
    writeFileSync(plan.srs.secret, randomBytes(24).toString("base64"), { mode: 0o600 });
    writeFiles(plan);
    // postsrsd with the words of the rendered default file, as the lab starts it.
    const srs = run("postsrsd", [...postsrsdArgs(readFileSync(join(dir, "srs", "postsrsd.default"), "utf8")), "-p", join(dir, "srs", "postsrsd.pid"), "-D"]);
    if (srs.status !== 0) throw new Error(`postsrsd: ${srs.stderr}`);
    // The outside world: a sink that takes whatever the relay hands it.
    sink = await startSmtpSink(SINK, "127.0.0.1");
    // Dovecot detaches and keeps its output open: it writes to a file, so run() sees it end.
    for (const [cmd, args] of [["postfix", ["-c", postfix(), "check"]], ["doveconf", ["-c", join(plan.paths.dovecotDir, "dovecot.conf"), "-n"]], ["postfix", ["-c", postfix(), "start"]], ["sh", ["-c", 'exec dovecot -c "$1" </dev/null >"$2" 2>&1', "sh", join(plan.paths.dovecotDir, "dovecot.conf"), join(dir, "dovecot.out")]], ["sh", ["-c", 'exec opendkim -x "$1" </dev/null >"$2" 2>&1', "sh", join(plan.paths.opendkimDir, "opendkim.conf"), join(dir, "opendkim.out")]]] as const) {
      const r = run(cmd, [...args]);
      if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.stderr}\n${r.stdout}`);
    }
    await until("the daemons listening", () => (run("ss", ["-ltn"]).stdout.includes(`127.0.0.1:${PORTS.imaps}`) && run("ss", ["-ltn"]).stdout.includes(`127.0.0.1:${PORTS.smtp}`) && run("ss", ["-lx"]).stdout.includes(opendkimRun(plan.paths).socket) ? true : undefined));
  }, 120_000);

  afterAll(async () => {
    if (dir) {
      run("postfix", ["-c", postfix(), "stop"]);
      run("doveadm", ["-c", join(dir, "dovecot", "dovecot.conf"), "stop"]);
      const pid = Number(readFileSafe(join(dir, "spool", "opendkim", "opendkim.pid")));
      if (pid > 0) run("kill", [String(pid)]);
      const srsPid = Number(readFileSafe(join(dir, "srs", "postsrsd.pid")));
      if (srsPid > 0) run("kill", [String(srsPid)]);
    }
    await sink?.close();
    if (dir && !process.env.GLOBENET_KEEP_TEST_DIR) rmSync(dir, { recursive: true, force: true });
    rmSync(KEYS, { recursive: true, force: true });
    if (run("id", [vmailUser]).status === 0) run("userdel", [vmailUser]);
  }, 60_000);

  it("the rendered files pass postfix check and doveconf, and hold no password, only hashes", () => {
    const all = [join(postfix(), "main.cf"), join(postfix(), "master.cf"), ...["domains", "mailboxes", "aliases", "senders"].map((m) => join(plan.paths.mapsDir, m)), join(plan.paths.dovecotDir, "dovecot.conf"), join(plan.paths.dovecotDir, "globenet-users")];
    const text = all.map((f) => readFileSync(f, "utf8")).join("\n");
    for (const p of Object.values(PASS)) expect(text).not.toContain(p);
    expect(readFileSync(join(plan.paths.dovecotDir, "globenet-users"), "utf8")).toContain(hashes.contact);
    expect(statSync(join(plan.paths.dovecotDir, "globenet-users")).mode & 0o007).toBe(0);
  });

  it("a message from outside reaches the mailbox, and the member reads it over IMAPS with its password", async () => {
    const out = swaks([`127.0.0.1:${PORTS.smtp}`, "--from", "someone@outside.example", "--to", "contact@velo-libre.example", "--h-Subject", "hello-contact"]);
    expect(out).toMatch(/250 2\.0\.0 Ok: queued/);
    await until("the message in contact's Maildir", () => bySubject("velo-libre.example", "contact", "hello-contact"));
    const seen = await imap("contact@velo-libre.example", PASS.contact);
    expect(seen.login).toBe("a1 OK");
    expect(seen.subjects).toContain("hello-contact");
    expect((await imap("contact@velo-libre.example", "not-the-password")).login).toMatch(/^a1 NO/);
    // The mailbox belongs to the mail user, not to root or Postfix.
    expect(statSync(join(dir, "vmail", "velo-libre.example", "contact", "Maildir")).uid).toBe(Number(run("id", ["-u", vmailUser]).stdout));
  });

  it("an alias delivers to both its mailboxes; a forward leaves by the relay (a sink on the loopback)", async () => {
    said(swaks([`127.0.0.1:${PORTS.smtp}`, "--from", "someone@outside.example", "--to", "bureau@velo-libre.example", "--h-Subject", "to-the-board"])).toMatch(/queued/);
    await until("the alias in contact's Maildir", () => bySubject("velo-libre.example", "contact", "to-the-board"));
    await until("the alias in tresorier's Maildir", () => bySubject("velo-libre.example", "tresorier", "to-the-board"));
    said(swaks([`127.0.0.1:${PORTS.smtp}`, "--from", "someone@outside.example", "--to", "presidente@velo-libre.example", "--h-Subject", "forward-me"])).toMatch(/queued/);
    const fwd = await until("the forward at the sink", () => sunk.find((m) => m.includes("Subject: forward-me")));
    expect(fwd).toContain("presidente@velo-libre.example");
  });

  it("SRS: the forward left with SRS0=…@mail.globenet.example, a bounce to it reaches the original sender, a forged one is refused; outside mail to a mailbox and a member's own mail keep their sender", async () => {
    const fwd = await until("the forward at the sink", () => sink?.messages.find((m) => m.data.includes("Subject: forward-me")));
    expect(fwd.from).toMatch(/^SRS0=[A-Za-z0-9+/]{4}=[A-Z0-9]{2}=outside\.example=someone@mail\.globenet\.example$/);
    expect(fwd.to).toEqual(["presidente.velo@outside.example"]);
    // The bounce of the receiver, sent back to the SRS address: reversed, it goes to the original sender.
    said(swaks([`127.0.0.1:${PORTS.smtp}`, "--from", "<>", "--to", fwd.from, "--h-Subject", "bounce-of-forward"])).toMatch(/queued/);
    const bounce = await until("the bounce at the sink", () => sink?.messages.find((m) => m.data.includes("Subject: bounce-of-forward")));
    expect(bounce.to).toEqual(["someone@outside.example"]);
    expect(bounce.from).toBe("");
    // A forged one (another hash) is an unknown address: refused at RCPT, nothing relayed.
    const forged = fwd.from.replace(/^SRS0=[^=]{4}=/, fwd.from.startsWith("SRS0=AAAA=") ? "SRS0=BBBB=" : "SRS0=AAAA=").replace("=outside.example=someone@", "=victim.example=target@");
    said(swaks([`127.0.0.1:${PORTS.smtp}`, "--from", "<>", "--to", forged, "--h-Subject", "forged-srs"])).toMatch(/550 5\.1\.1 .*Recipient address rejected/);
    // Outside mail delivered here keeps its sender (Return-Path as Dovecot's LMTP writes it).
    const local = maildir("velo-libre.example", "contact").find((m) => m.includes("Subject: hello-contact")) ?? "";
    expect(local).toMatch(/^Return-Path: <someone@outside\.example>/m);
    await new Promise((r) => setTimeout(r, 1000));
    expect(sink?.messages.some((m) => m.data.includes("Subject: forged-srs") || m.to.includes("target@victim.example"))).toBe(false);
  });

  it("refuses in the SMTP dialogue: an unknown recipient, relaying for another domain without login", () => {
    said(swaks([`127.0.0.1:${PORTS.smtp}`, "--from", "someone@outside.example", "--to", "nobody@velo-libre.example"])).toMatch(/550 5\.1\.1 <nobody@velo-libre\.example>: Recipient address rejected/);
    said(swaks([`127.0.0.1:${PORTS.smtp}`, "--from", "someone@outside.example", "--to", "victim@elsewhere.example"])).toMatch(/554 5\.7\.1 <victim@elsewhere\.example>: Relay access denied/);
  });

  it("submission: login only after STARTTLS, with the right password, as one's own addresses", async () => {
    const sub = `127.0.0.1:${PORTS.submission}`;
    said(swaks([sub, "--from", "contact@velo-libre.example", "--to", "victim@elsewhere.example"])).toMatch(/530 5\.7\.0 Must issue a STARTTLS command first/);
    said(swaks([sub, "--tls", "--auth", "PLAIN", "--auth-user", "contact@velo-libre.example", "--auth-password", "wrong-password", "--from", "contact@velo-libre.example", "--to", "victim@elsewhere.example"])).toMatch(/535 5\.7\.8/);
    said(swaks([sub, "--tls", "--auth", "PLAIN", "--auth-user", "contact@velo-libre.example", "--auth-password", PASS.contact, "--from", "radio@ondes.example", "--to", "x@elsewhere.example"])).toMatch(/553 5\.7\.1 <radio@ondes\.example>: Sender address rejected: not owned by user contact@velo-libre\.example/);
    // Its own address and an alias it receives: accepted, relayed out.
    for (const from of ["contact@velo-libre.example", "bureau@velo-libre.example"]) {
      said(swaks([sub, "--tls", "--auth", "PLAIN", "--auth-user", "contact@velo-libre.example", "--auth-password", PASS.contact, "--from", from, "--to", "friend@elsewhere.example", "--h-Subject", `sent-as-${from}`])).toMatch(/250 2\.0\.0 Ok: queued/);
      await until(`the message sent as ${from} at the sink`, () => sunk.find((m) => m.includes(`Subject: sent-as-${from}`)));
      // A member's own mail is not rewritten (SRS is for forwards): its domain's SPF covers it.
      expect(sink?.messages.find((m) => m.data.includes(`Subject: sent-as-${from}`))?.from).toBe(from);
    }
    // The password went over TLS only and never into the log.
    expect(readFileSync(join(dir, "mail.log"), "utf8")).not.toContain(PASS.contact);
  });

  it("DKIM: what a member submits leaves signed with its domain's key, and the signature verifies against the TXT record we publish; what comes in is not signed by us", async () => {
    said(swaks([`127.0.0.1:${PORTS.submission}`, "--tls", "--auth", "PLAIN", "--auth-user", "contact@velo-libre.example", "--auth-password", PASS.contact, "--from", "contact@velo-libre.example", "--to", "friend@elsewhere.example", "--h-Subject", "signed-please"])).toMatch(/250 2\.0\.0 Ok: queued/);
    const msg = await until("the signed message at the sink", () => sunk.find((m) => m.includes("Subject: signed-please")));
    expect(msg).toMatch(/^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed\/simple; d=velo-libre\.example;\s*s=g1;/m);
    // The TXT value the zone gets (lib/model/mail.ts), from the public half of the key on the host.
    const pub = run("openssl", ["rsa", "-in", dkimKeyPath(plan.paths, plan.dkimSelector, "velo-libre.example"), "-pubout"]).stdout;
    const txt = dkimRecordValue(pub);
    // The DATA as the sink got it: without the final dot, lines that began with a dot unstuffed.
    const body = msg.replace(/\r\n\.\r\n$/, "\r\n").replace(/^\.\./gm, ".");
    writeFileSync(join(dir, "signed.eml"), body);
    const verify = (record: string) =>
      run("/usr/bin/python3", ["-c", "import dkim,sys\nmsg=open(sys.argv[1],'rb').read()\nrec=sys.argv[2].encode()\nprint(dkim.verify(msg, dnsfunc=lambda name, timeout=5: rec if name==b'g1._domainkey.velo-libre.example.' else None))", join(dir, "signed.eml"), record]);
    expect(verify(txt).stdout.trim()).toBe("True");
    // Another key's record does not verify it: the check could fail.
    const other = run("openssl", ["genrsa", "2048"]).stdout;
    writeFileSync(join(dir, "other.key"), other);
    expect(verify(dkimRecordValue(run("openssl", ["rsa", "-in", join(dir, "other.key"), "-pubout"]).stdout)).stdout.trim()).toBe("False");
    // Mail from outside on port 25 is not signed by us, even from the loopback.
    said(swaks([`127.0.0.1:${PORTS.smtp}`, "--from", "someone@outside.example", "--to", "contact@velo-libre.example", "--h-Subject", "inbound-unsigned"])).toMatch(/queued/);
    await until("the inbound message", () => bySubject("velo-libre.example", "contact", "inbound-unsigned"));
    expect(maildir("velo-libre.example", "contact").find((m) => m.includes("Subject: inbound-unsigned"))).not.toMatch(/^DKIM-Signature:/m);
  });

  it("a mailbox over its quota defers the message (kept in the queue, not lost)", async () => {
    // contact has the inventory's 1 MB; two messages of 700 kB: the second does not fit.
    const body = `${"x".repeat(76)}\r\n`.repeat(9200);
    for (const n of [1, 2]) {
      writeFileSync(join(dir, `big${n}.txt`), body);
      said(swaks([`127.0.0.1:${PORTS.smtp}`, "--from", "someone@outside.example", "--to", "contact@velo-libre.example", "--h-Subject", `big-${n}`, "--body", join(dir, `big${n}.txt`)])).toMatch(/queued/);
    }
    await until("the first big message delivered", () => bySubject("velo-libre.example", "contact", "big-1"));
    const deferred = await until("the second one deferred for quota", () => {
      const q = run("postqueue", ["-c", postfix(), "-j"]).stdout;
      return /"queue_name": ?"deferred"/.test(q) && /[Qq]uota/.test(q) ? q : undefined;
    }, 30_000);
    expect(deferred).toContain("contact@velo-libre.example");
    expect(bySubject("velo-libre.example", "contact", "big-2")).toBeUndefined();
  }, 60_000);

  it("a suspended member cannot log in or send; mail sent meanwhile is there after reactivation", async () => {
    expect((await imap("radio@ondes.example", PASS.radio)).login).toBe("a1 OK");
    writeFiles(planFor("suspended"));
    expect((await imap("radio@ondes.example", PASS.radio)).login).toMatch(/^a1 NO/);
    said(swaks([`127.0.0.1:${PORTS.submission}`, "--tls", "--auth", "PLAIN", "--auth-user", "radio@ondes.example", "--auth-password", PASS.radio, "--from", "radio@ondes.example", "--to", "x@elsewhere.example"])).toMatch(/535 5\.7\.8/);
    said(swaks([`127.0.0.1:${PORTS.smtp}`, "--from", "someone@outside.example", "--to", "radio@ondes.example", "--h-Subject", "while-suspended"])).toMatch(/queued/);
    await until("the message kept for the suspended mailbox", () => bySubject("ondes.example", "radio", "while-suspended"));
    writeFiles(planFor("active"));
    const back = await imap("radio@ondes.example", PASS.radio);
    expect(back.login).toBe("a1 OK");
    expect(back.subjects).toContain("while-suspended");
  });
});
