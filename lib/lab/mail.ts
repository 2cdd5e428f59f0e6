/**
 * The lab's mail host (issue 22; docs/architecture.md, "Mail" and "Multi-host lab"): Postfix,
 * Dovecot and OpenDKIM started by hand (no systemd) in the mail host's namespace, after the
 * apply has written their file set (as a package's daemons start once configured); later
 * applies reload them through the set's own reload. The certificate for the mail host's public
 * name is the lab's interim: made by a lab CA of its own (.lab/mail-ca/ca.pem, for clients'
 * --cacert), not by pebble (why, and what is left: docs, "Mail").
 */
import { chownSync, existsSync, mkdirSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { LabError, livePid, run } from "../base/proc";
import { MAIL_PATHS } from "../model/mail";
import { opendkimRun } from "../render/mail";
import { pidFromFile, type LabDaemon, type Place } from "./daemons";
import type { LabPaths } from "./paths";

/** Debian's Postfix master pid and Dovecot's (its base_dir is MAIL_PATHS.dovecotBaseDir). */
const POSTFIX_PID = `${MAIL_PATHS.queueDir}/pid/master.pid`;
const DOVECOT_PID = `${MAIL_PATHS.dovecotBaseDir}/master.pid`;

/** The lab's mail CA: clients of the lab trust it for the mail host's name (curl --cacert, imaplib). */
export function mailCaFile(p: LabPaths): string {
  return join(p.lab, "mail-ca", "ca.pem");
}

function openssl(args: string[], what: string): void {
  const r = run("openssl", args, { timeoutMs: 60_000 });
  if (r.status !== 0) throw new LabError(`openssl failed making ${what}: ${r.stderr.trim()}`);
}

/**
 * The lab's mail CA (made once, kept in .lab/mail-ca/): also made before the monitor host's
 * blackbox exporter starts, which trusts it for the mail probes. Returns what it made.
 */
export function ensureMailCa(p: LabPaths): string[] {
  const ca = mailCaFile(p);
  const dir = dirname(ca);
  const caKey = join(dir, "ca.key");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (existsSync(ca) && existsSync(caKey)) return [];
  openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650", "-subj", "/CN=Globenet lab mail CA", "-keyout", caKey, "-out", ca, "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"], "the lab's mail CA");
  return [`lab mail CA made: ${ca}`];
}

/**
 * The certificate Postfix and Dovecot present for `publicName`, signed by the lab's mail CA
 * (made once, kept in .lab/mail-ca/), at MAIL_PATHS.tlsCert and tlsKey (the key root's 0600).
 * Made again when missing or for another name.
 */
export function ensureMailCert(p: LabPaths, publicName: string): string[] {
  const dir = dirname(mailCaFile(p));
  const ca = mailCaFile(p);
  const caKey = join(dir, "ca.key");
  const notes = ensureMailCa(p);
  const cert = MAIL_PATHS.tlsCert;
  const key = MAIL_PATHS.tlsKey;
  const current = existsSync(cert) ? run("openssl", ["x509", "-in", cert, "-noout", "-ext", "subjectAltName"]).stdout : "";
  if (existsSync(key) && current.includes(`DNS:${publicName}`) && run("openssl", ["verify", "-CAfile", ca, cert]).status === 0) return notes;
  mkdirSync(dirname(cert), { recursive: true, mode: 0o755 });
  const csr = join(dir, "mail.csr");
  const ext = join(dir, "mail.ext");
  openssl(["req", "-newkey", "rsa:2048", "-nodes", "-subj", `/CN=${publicName}`, "-keyout", key, "-out", csr], "the mail host's key");
  writeFileSync(ext, `subjectAltName=DNS:${publicName}\nextendedKeyUsage=serverAuth\n`);
  openssl(["x509", "-req", "-in", csr, "-CA", ca, "-CAkey", caKey, "-CAcreateserial", "-days", "30", "-extfile", ext, "-out", cert], `the certificate of ${publicName}`);
  // Postfix and Dovecot read it as root before they drop privileges.
  run("chmod", ["0600", key]);
  run("chmod", ["0644", cert]);
  notes.push(`certificate for ${publicName} from the lab mail CA (interim: not from pebble)`);
  return notes;
}

/**
 * What the lab's mail host leaves in this machine's /etc once its stack is destroyed: the
 * lab-made certificate, and the key folders the DkimKey resources emptied (their keys are in
 * the archive). Removed at `down`, so a later run (the provider's file-set test refuses to
 * start beside a mail set) finds the machine as Debian left it. A key still there is kept.
 */
export function removeMailLeftovers(): string[] {
  const gone: string[] = [];
  const tls = dirname(MAIL_PATHS.tlsCert);
  if (existsSync(tls)) {
    rmSync(tls, { recursive: true, force: true });
    gone.push(`removed ${tls} (the lab-made mail certificate)`);
  }
  for (const dir of [MAIL_PATHS.dkimKeyDir, dirname(MAIL_PATHS.dkimKeyDir)]) {
    try {
      rmdirSync(dir);
      gone.push(`removed ${dir} (empty)`);
    } catch {
      // absent, or not empty (a key or a set the destroy did not remove): left as it is
    }
  }
  return gone;
}

/** OpenDKIM's socket folder, in Postfix's queue (Postfix's smtpd reaches it as group postfix). */
function ensureOpendkimRunDir(): void {
  const dir = opendkimRun(MAIL_PATHS).dir;
  mkdirSync(dir, { recursive: true });
  const uid = Number(run("id", ["-u", "opendkim"]).stdout.trim());
  const gid = Number(run("getent", ["group", "postfix"]).stdout.split(":")[2]);
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new LabError("no opendkim user or postfix group on this machine", "install opendkim and postfix (scripts/ensure-debs.sh)");
  chownSync(dir, uid, gid);
  run("chmod", ["0750", dir]);
}

function mustRun(place: Place, what: string, cmd: string, args: string[]): void {
  const [c, a] = place.wrap(cmd, args);
  const r = run(c, a, { timeoutMs: 60_000 });
  if (r.status !== 0) throw new LabError(`${what} failed (exit ${r.status}): ${(r.stderr || r.stdout).trim().slice(0, 2000)}`);
}

/**
 * The mail host's three daemons, in start order, each in the mail host's namespace. They need
 * the mail set live (/etc/postfix/main.cf linked into it): multiUp starts them after the apply.
 */
export function mailDaemons(p: LabPaths, place: Place, publicName: string): LabDaemon[] {
  const where = `${place.host ?? "this machine"} (${place.addresses[0]}: 25, 587, 465, 993)`;
  const configured = () => {
    if (!run("readlink", ["/etc/postfix/main.cf"]).stdout.startsWith("/etc/globenet/mail/conf/")) {
      throw new LabError("the mail file set is not live (/etc/postfix/main.cf is not linked into /etc/globenet/mail/conf): the apply writes it before the mail daemons start", "run the apply (npm run lab), then start the lab again");
    }
  };
  // Each forks away from its start command and keeps its PID in its own pid file; the start
  // checks the mail set is live first, then runs `launch` in the mail host's namespace.
  const daemon = (name: string, comm: string, pidFile: string, graceMs: number, launch: (note: (s: string) => void) => void): LabDaemon => ({
    name: `${name}${place.suffix}`,
    where,
    afterApply: true,
    comm,
    graceMs,
    killAfterGrace: true,
    async running() {
      const pid = livePid(pidFile, comm);
      return pid ? { pid } : undefined;
    },
    async start(note) {
      configured();
      launch(note);
      return pidFromFile(pidFile, comm, name);
    },
  });
  const logOf = (name: string) => join(p.log, `${name}${place.suffix}.log`);
  return [
    daemon("opendkim", "opendkim", opendkimRun(MAIL_PATHS).pidFile, 5_000, () => {
      ensureOpendkimRunDir();
      mustRun(place, "opendkim", "sh", ["-c", 'exec opendkim -x /etc/opendkim.conf </dev/null >"$1" 2>&1', "sh", logOf("opendkim")]);
    }),
    daemon("dovecot", "dovecot", DOVECOT_PID, 10_000, (note) => {
      for (const n of ensureMailCert(p, publicName)) note(n);
      // Dovecot keeps its output open after it detaches: a file, so the start returns.
      mustRun(place, "dovecot", "sh", ["-c", 'exec dovecot -c /etc/dovecot/dovecot.conf </dev/null >"$1" 2>&1', "sh", logOf("dovecot")]);
    }),
    daemon("postfix", "master", POSTFIX_PID, 10_000, () => {
      mustRun(place, "postfix check", "postfix", ["check"]);
      mustRun(place, "postfix start", "postfix", ["start"]);
    }),
  ];
}
