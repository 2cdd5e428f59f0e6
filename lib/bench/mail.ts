/**
 * npm run bench -- mail: the mail set at Globenet's size, applied to this machine's Postfix and
 * Dovecot by the provider's own script (provider/scripts/file-set/file-set.sh, run here as the
 * provider runs it over SSH). N synthetic members with a domain of M mailboxes (and an alias
 * each): load, render, the first apply (create), then one mailbox added, beside floors measured
 * in the same run (the set's checks alone; an apply of the same files, nothing to do). After the
 * one-mailbox change it shows what was touched: which compiled maps (.db) were replaced, which
 * daemons kept their processes, how soon the running Postfix accepts the new address; and, to
 * show the measure can tell, a configuration change (message size) that does reload Postfix.
 * Throwaway: root only, refused when a mail set or a Postfix/Dovecot already runs here; Debian's
 * files come back (the set's delete) and the daemons are stopped at the end.
 */
import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { localScriptCommand } from "../../provider/resources/file-set";
import { generationOf } from "../../provider/resources/file-set-serials";
import { tarOf } from "../../provider/ssh/tar";
import { LabError, findTool, livePid, run, waitFor, why } from "../base/proc";
import { loadModel } from "../check/build";
import { formatDiagnostic } from "../load/diagnostic";
import { mailPlan, MAIL_PATHS } from "../model/mail";
import { MAIL_SET_ROOT, mailSetFiles, renderMailFiles } from "../render/mail";
import { freshSshPublicKey, SYNTHETIC_INVENTORY_HEAD } from "./synthetic";

export interface MailBenchOptions {
  domains: number;
  mailboxes: number;
  keep?: boolean;
  say?: (line: string) => void;
}

/** One daemon process, named by its command. */
export interface Proc {
  name: string;
  pid: number;
}

/** The compiled maps and the daemons' processes at one moment. */
export interface MailSnapshot {
  /** map → "inode:mtimeMs" of its live .db. */
  maps: Record<string, string>;
  procs: Proc[];
}

export interface MailBenchPhase {
  what: string;
  seconds: number;
  floor?: { what: string; seconds: number };
}

export interface MailBench {
  domains: number;
  mailboxes: number;
  aliases: number;
  files: number;
  phases: MailBenchPhase[];
  /** After the one-mailbox change. */
  change: TouchReport & { said: string[]; acceptedAfterSeconds?: number };
  /** After the message-size change (a configuration change). */
  contrast: TouchReport & { said: string[] };
  dir?: string;
}

export interface TouchReport {
  recompiled: string[];
  kept: string[];
  /** Processes alive before and after with the same PID. */
  same: Proc[];
  /** Processes before that are gone after (restarted, or ended by a reload). */
  replaced: Proc[];
}

/** Which maps were replaced and which processes lived through, from two snapshots (pure). */
export function touched(before: MailSnapshot, after: MailSnapshot): TouchReport {
  const maps = Object.keys(before.maps).sort();
  const alive = new Set(after.procs.map((p) => `${p.name}:${p.pid}`));
  return {
    recompiled: maps.filter((m) => before.maps[m] !== after.maps[m]),
    kept: maps.filter((m) => before.maps[m] === after.maps[m]),
    same: before.procs.filter((p) => alive.has(`${p.name}:${p.pid}`)),
    replaced: before.procs.filter((p) => !alive.has(`${p.name}:${p.pid}`)),
  };
}

/** What the file set's apply said about maps and reloads (its stderr), without other notes (pure). */
export function applySaid(stderr: string): string[] {
  return stderr
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => /^(maps recompiled|no daemon reloaded|reloaded):/.test(l));
}

const secs = (s: number) => s.toFixed(2).padStart(7);
const procs = (ps: Proc[]) => (ps.length ? ps.map((p) => `${p.name} ${p.pid}`).join(", ") : "none");

export function formatMailBench(r: MailBench): string {
  const out = [`mail set: ${r.domains} domains × ${r.mailboxes} mailboxes (${r.domains * r.mailboxes} mailboxes, ${r.aliases} aliases with Globenet's RFC 2142 ones), ${r.files} files`, ""];
  out.push(`${"phase".padEnd(46)}      s  floor s  ×floor  floor`);
  for (const p of r.phases) {
    const f = p.floor;
    out.push(`${p.what.padEnd(46)}${secs(p.seconds)}${f ? `${secs(f.seconds)}  ${(p.seconds / f.seconds).toFixed(2).padStart(6)}  ${f.what}` : ""}`);
  }
  const block = (title: string, t: TouchReport & { said: string[] }) => [
    "",
    title,
    `  compiled maps replaced: ${t.recompiled.join(", ") || "none"}; kept (same file): ${t.kept.join(", ") || "none"}`,
    `  processes kept (same PID): ${procs(t.same)}`,
    `  processes replaced: ${procs(t.replaced)}`,
    ...t.said.map((l) => `  the apply said: ${l}`),
  ];
  out.push(...block("one mailbox added:", r.change));
  out.push(r.change.acceptedAfterSeconds === undefined ? "  the running Postfix did NOT accept the new address" : `  the running Postfix accepts the new address ${r.change.acceptedAfterSeconds.toFixed(2)} s after the apply returned (no reload)`);
  out.push(...block("contrast, the message size changed (main.cf):", r.contrast));
  return out.join("\n");
}

// ─── the synthetic data ────────────────────────────────────────────────────────────────────────

/** A yescrypt hash of a password nobody knows: the form members paste (synthetic data only). */
const HASH = "{CRYPT}$y$j9T$40b7r1AlrfQHpo6uVN/4w0$4DFJCbWQyPXFjBFK1bQ9b4RR8i/kcF/oNaWGP.CLGJ5";

/** A data tree with a mail host and `domains` members, each with a domain of `mailboxes` mailboxes and one alias. */
export function writeSyntheticMailTree(root: string, domains: number, mailboxes: number, opts: { extra?: number; messageSizeMb?: number; firstQuotaMb?: number } = {}): void {
  const hostKey = freshSshPublicKey("host@synthetic");
  const host = (n: string, role: string, a: string) => [`      ${n}:`, `        roles: [${role}]`, `        fqdn: ${n}.globenet.example`, `        address: ${a}`, `        ssh: { user: globenet-deploy, host_key: "${hostKey}" }`];
  const inventory = [
    ...SYNTHETIC_INVENTORY_HEAD,
    `    mail: { public_name: mail.globenet.example, message_size_mb: ${opts.messageSizeMb ?? 25} }`,
    "    hosts:",
    ...host("mx1", "mail", "192.0.2.25"),
    ...host("ns1", "dns-primary", "192.0.2.53"),
    "",
  ].join("\n");
  mkdirSync(join(root, "zones"), { recursive: true });
  writeFileSync(join(root, "Pulumi.bench.yaml"), inventory);
  writeFileSync(join(root, "zones", "globenet.example.yaml"), "owner: globenet\nrecords: []\n");
  mkdirSync(join(root, "members", "globenet"), { recursive: true });
  writeFileSync(join(root, "members", "globenet", "member.yaml"), "handle: globenet\nname: Globenet\ncontact: { email: bureau@globenet.example }\nstatus: active\n");
  for (let i = 0; i < domains; i++) {
    const handle = `member-${String(i).padStart(5, "0")}`;
    const domain = `${handle}.example`;
    const boxes = mailboxes + (i === 0 ? opts.extra ?? 0 : 0);
    mkdirSync(join(root, "members", handle), { recursive: true });
    writeFileSync(join(root, "zones", `${domain}.yaml`), `owner: ${handle}\n`);
    writeFileSync(
      join(root, "members", handle, "member.yaml"),
      [
        `handle: ${handle}`,
        `name: Association numéro ${i}`,
        `contact: { email: bureau@${domain} }`,
        "status: active",
        "mail:",
        `  - domain: ${domain}`,
        "    mailboxes:",
        ...Array.from({ length: boxes }, (_, b) => `      - { local: box${b}, ${i === 0 && b === 1 && opts.firstQuotaMb ? `quota_mb: ${opts.firstQuotaMb}, ` : ""}password_hash: "${HASH}" }`),
        "    aliases:",
        `      - { local: bureau, to: [box0${mailboxes > 1 ? ", box1" : ""}] }`,
        "",
      ].join("\n"),
    );
  }
}

// ─── the real run ──────────────────────────────────────────────────────────────────────────────

/** Throwaway ports on the loopback: never a mail host's. */
const PORTS = { smtp: 2525, submission: 5587, submissions: 5465, imaps: 9993 };
const MAPS = ["domains", "mailboxes", "aliases", "senders"];
const VMAIL = "globenet-bench-vmail";

const elapsed = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;

/** The set's files for a tree, rendered with the bench's loopback, ports and throwaway folders. */
function renderSet(tree: string, dir: string, vmailUid: number): { files: Record<string, string>; aliases: number } {
  const { model, errors } = loadModel(tree, "bench");
  if (!model) throw new Error(errors.map((e) => formatDiagnostic(e)).join("\n"));
  const plan = mailPlan(model, "mx1", { listen: ["127.0.0.1"], ports: PORTS, paths: { vmailDir: join(dir, "vmail"), vmailUser: VMAIL, tlsCert: join(dir, "tls", "cert.pem"), tlsKey: join(dir, "tls", "key.pem"), logFile: join(dir, "mail.log") } });
  return { files: mailSetFiles(renderMailFiles(plan, vmailUid, model.inventory.mail.default_quota_mb, model.inventory.hostmaster)), aliases: plan.aliases.length };
}

/** file-set.sh ACTION mail …, here, with the tar on stdin; its stderr and how long it took. */
async function script(action: string, files?: Record<string, string>, ...paths: string[]): Promise<{ seconds: number; stderr: string }> {
  const cmd = localScriptCommand("mail", undefined, action, files && action === "apply" ? generationOf(files) : "", ...paths);
  const stdin = files && action === "apply" ? await tarOf(files) : undefined;
  const t0 = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const p = spawn(cmd.file, cmd.args, { stdio: ["pipe", "pipe", "pipe"] });
    let stderr = "";
    p.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    p.stdout.resume();
    p.on("error", reject);
    p.on("close", (code) => {
      const seconds = elapsed(t0);
      if (code !== 0) reject(new Error(`file-set.sh ${action} mail failed (exit ${code}):\n${stderr.slice(-3000)}`));
      else resolve({ seconds, stderr });
    });
    p.stdin.end(stdin);
  });
}

/** The processes whose parent is `ppid`, by command name. */
function children(ppid: number): Proc[] {
  const out: Proc[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(rest[1]) === ppid) out.push({ name: stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")), pid: Number(d) });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** The long-lived processes: Postfix's master and queue manager, Dovecot's master and its helpers (not per-connection ones). */
function snapshot(): MailSnapshot {
  const maps: Record<string, string> = {};
  for (const m of MAPS) {
    const s = statSync(`${MAIL_SET_ROOT}/postfix/maps/${m}.db`);
    maps[m] = `${s.ino}:${s.mtimeMs}`;
  }
  const procs: Proc[] = [];
  const pf = livePid(`${MAIL_PATHS.queueDir}/pid/master.pid`, "master");
  if (pf) procs.push({ name: "postfix master", pid: pf }, ...children(pf).filter((p) => p.name === "qmgr").map((p) => ({ name: "postfix qmgr", pid: p.pid })));
  const dv = livePid(`${MAIL_PATHS.dovecotBaseDir}/master.pid`, "dovecot");
  if (dv) procs.push({ name: "dovecot master", pid: dv }, ...children(dv).filter((p) => ["config", "log", "anvil"].includes(p.name)).map((p) => ({ name: `dovecot ${p.name}`, pid: p.pid })));
  return { maps, procs: procs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.pid - b.pid)) };
}

/** RCPT TO on the loopback SMTP port: the reply's code. */
export function rcpt(to: string): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(PORTS.smtp, "127.0.0.1");
    const steps = ["EHLO bench.example", "MAIL FROM:<someone@outside.example>", `RCPT TO:<${to}>`];
    let buf = "";
    let n = 0;
    const done = (code: string) => {
      s.end("QUIT\r\n");
      resolve(code);
    };
    s.setTimeout(10_000, () => done("timeout"));
    s.on("error", () => resolve("error"));
    s.on("data", (d: Buffer) => {
      buf += d.toString();
      // A whole reply: its last line is "NNN text".
      const m = /(?:^|\r\n)(\d{3}) [^\r\n]*\r\n$/.exec(buf);
      if (!m) return;
      buf = "";
      if (n === steps.length) return done(m[1] as string);
      s.write(`${steps[n++]}\r\n`);
    });
  });
}

/**
 * This machine as a throwaway mail host: the bench's vmail user, a self-signed certificate, the
 * mail set applied by file-set.sh, Postfix and Dovecot started on the loopback; `stop` stops
 * them, removes the set (Debian's files back) and what it made. Refused as root-less, or where a
 * mail set, a Postfix or a Dovecot already is. The status test reads it too (tests/mail-ops.test.ts).
 */
export interface ThrowawayMailHost {
  dir: string;
  uid: number;
  render(tree: string): { files: Record<string, string>; aliases: number };
  /** file-set.sh ACTION (apply: the files as a tar on stdin; check: a folder). */
  script: typeof script;
  /** Starts Postfix and Dovecot on the applied set; resolves when both answer. */
  start(firstAddress: string): Promise<void>;
  stop(): Promise<void>;
}

export async function throwawayMailHost(say: (l: string) => void = () => undefined): Promise<ThrowawayMailHost> {
  if (process.getuid?.() !== 0) throw new LabError("the mail bench applies the mail set to this machine's Postfix and Dovecot: it runs as root", "run it as root, on a machine without a mail service (a throwaway one)");
  for (const t of ["postfix", "postmap", "postconf", "dovecot", "doveconf", "doveadm", "opendkim", "openssl", "useradd"]) {
    if (!findTool(t)) throw new LabError(`${t} is not installed here`, "apt-get install postfix dovecot-imapd dovecot-lmtpd opendkim openssl");
  }
  if (existsSync(MAIL_SET_ROOT)) throw new LabError(`${MAIL_SET_ROOT} exists: this machine has a mail set (a lab, a mail host); the bench would replace it`, "run it on a machine without one");
  if (run("postfix", ["status"]).status === 0 || livePid(`${MAIL_PATHS.dovecotBaseDir}/master.pid`, "dovecot")) throw new LabError("a Postfix or a Dovecot runs here: the bench would reload them", "stop them, or run it elsewhere");
  const dir = mkdtempSync(join(tmpdir(), "globenet-bench-mail-"));
  // The vmail user delivers below it (mkdtemp makes it 0700).
  chmodSync(dir, 0o755);
  const madeUser = run("id", [VMAIL]).status !== 0;
  // The set's parent folders the apply makes: removed again when this run made them (and they are empty).
  const made = ["/etc/globenet", "/etc/globenet/mail"].filter((d) => !existsSync(d)).reverse();
  let postfixUp = false;
  const stop = async () => {
    if (postfixUp) run("postfix", ["stop"]);
    run("doveadm", ["stop"]);
    // The mail this run queued (a deferred message stays in the machine's queue otherwise).
    if (postfixUp) run("postsuper", ["-d", "ALL"]);
    if (existsSync(MAIL_SET_ROOT)) await script("delete").catch((e: unknown) => say(`removing the mail set: ${String(e)}`));
    for (const d of made) run("rmdir", [d]);
    if (madeUser) run("userdel", [VMAIL]);
  };
  try {
    if (madeUser && run("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", VMAIL]).status !== 0) throw new Error(`could not add the user ${VMAIL}`);
    const uid = Number(run("id", ["-u", VMAIL]).stdout.trim());
    mkdirSync(join(dir, "tls"), { recursive: true });
    mkdirSync(join(dir, "vmail"));
    run("chown", [VMAIL, join(dir, "vmail")]);
    const cert = run("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=mail.globenet.example", "-keyout", join(dir, "tls", "key.pem"), "-out", join(dir, "tls", "cert.pem")]);
    if (cert.status !== 0) throw new Error(why(cert));
    return {
      dir,
      uid,
      render: (tree) => renderSet(tree, dir, uid),
      script,
      stop,
      start: async (firstAddress) => {
        const pf = run("postfix", ["start"]);
        if (pf.status !== 0) throw new Error(`postfix start: ${why(pf)}`);
        postfixUp = true;
        const dv = run("sh", ["-c", 'exec dovecot </dev/null >"$1" 2>&1', "sh", join(dir, "dovecot.out")]);
        if (dv.status !== 0) throw new Error(`dovecot: ${why(dv)}\n${readFileSync(join(dir, "dovecot.out"), "utf8")}`);
        if (!(await waitFor(async () => (await rcpt(firstAddress)) === "250", 30_000, 200))) throw new Error(`Postfix does not accept ${firstAddress} on the loopback`);
        if (!(await waitFor(() => run("ss", ["-ltn"]).stdout.includes(`127.0.0.1:${PORTS.imaps}`), 20_000, 200))) throw new Error("Dovecot does not listen on the loopback");
      },
    };
  } catch (e) {
    await stop();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

export async function mailBench(o: MailBenchOptions): Promise<MailBench> {
  const say = o.say ?? (() => undefined);
  const h = await throwawayMailHost(say);
  const { dir, uid } = h;
  try {
    const tree = join(dir, "data");
    const phases: MailBenchPhase[] = [];
    writeSyntheticMailTree(tree, o.domains, o.mailboxes);
    let t0 = process.hrtime.bigint();
    const { model, errors } = loadModel(tree, "bench");
    if (!model) throw new Error(errors.map((e) => formatDiagnostic(e)).join("\n"));
    phases.push({ what: "load and check the data", seconds: elapsed(t0) });
    t0 = process.hrtime.bigint();
    const first = renderSet(tree, dir, uid);
    phases.push({ what: "load, check and render the mail set", seconds: elapsed(t0) });
    say(`rendered ${Object.keys(first.files).length} files`);

    // Floor of the create: the set's checks alone (every map compiled, postconf, doveconf, opendkim -n).
    const checkDir = join(dir, "check");
    for (const [p, c] of Object.entries(first.files)) {
      mkdirSync(join(checkDir, p, ".."), { recursive: true });
      writeFileSync(join(checkDir, p), c);
    }
    const floorCheck = await script("check", undefined, checkDir);
    const create = await script("apply", first.files);
    phases.push({ what: "create: the set applied (checked, swapped)", seconds: create.seconds, floor: { what: "the set's checks alone", seconds: floorCheck.seconds } });
    say(`applied in ${create.seconds.toFixed(2)} s; starting Postfix and Dovecot`);
    await h.start("box0@member-00000.example");

    // Floor of an update: the same files again (nothing to compile, nothing to reload).
    const same = await script("apply", first.files);
    // One more mailbox on the first domain.
    writeSyntheticMailTree(tree, o.domains, o.mailboxes, { extra: 1 });
    const added = `box${o.mailboxes}@member-00000.example`;
    const second = renderSet(tree, dir, uid).files;
    const refused = await rcpt(added);
    if (refused !== "550") throw new Error(`before the change, ${added} answered ${refused}, not 550`);
    const before = snapshot();
    const change = await script("apply", second);
    const t1 = process.hrtime.bigint();
    const accepted = await waitFor(async () => (await rcpt(added)) === "250", 30_000, 50);
    const acceptedAfter = accepted ? elapsed(t1) : undefined;
    const after = snapshot();
    phases.push({ what: "one mailbox added: the set applied", seconds: change.seconds, floor: { what: "the same files applied again (nothing to do)", seconds: same.seconds } });

    // A configuration change: Postfix is reloaded (its queue manager restarts), which the measure sees.
    writeSyntheticMailTree(tree, o.domains, o.mailboxes, { extra: 1, messageSizeMb: 30 });
    const third = renderSet(tree, dir, uid).files;
    const cBefore = snapshot();
    const cApply = await script("apply", third);
    // postfix reload: the master tells its children to end; the new queue manager comes up soon after.
    await waitFor(() => snapshot().procs.some((p) => p.name === "postfix qmgr" && !cBefore.procs.some((q) => q.pid === p.pid)), 10_000, 100);
    const cAfter = snapshot();
    phases.push({ what: "message size changed: the set applied", seconds: cApply.seconds });

    return {
      domains: o.domains,
      mailboxes: o.mailboxes,
      aliases: first.aliases,
      files: Object.keys(first.files).length,
      phases,
      change: { ...touched(before, after), said: applySaid(change.stderr), ...(acceptedAfter !== undefined ? { acceptedAfterSeconds: acceptedAfter } : {}) },
      contrast: { ...touched(cBefore, cAfter), said: applySaid(cApply.stderr) },
      ...(o.keep ? { dir } : {}),
    };
  } finally {
    await h.stop();
    if (!o.keep) rmSync(dir, { recursive: true, force: true });
  }
}
