/**
 * The lab's mail host (issue 22; docs/architecture.md, "Mail" and "Multi-host lab"): Postfix,
 * Dovecot and OpenDKIM started by hand (no systemd) in the mail host's namespace, after the
 * apply has written their file set (as a package's daemons start once configured); later
 * applies reload them through the set's own reload. The certificate for the mail host's public
 * name comes from the lab's pebble through the set's own ACME script, as in prod (docs, "Mail").
 */
import { chownSync, existsSync, mkdirSync, readFileSync, rmdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { LabError, livePid, run } from "../base/proc";
import { MAIL_PATHS } from "../model/mail";
import { MAIL_SET_ROOT, opendkimRun, postsrsdArgs } from "../render/mail";
import { pidFromFile, type LabDaemon, type Place } from "./daemons";
import type { LabPaths } from "./paths";

/** Debian's Postfix master pid and Dovecot's (its base_dir is MAIL_PATHS.dovecotBaseDir). */
const POSTFIX_PID = `${MAIL_PATHS.queueDir}/pid/master.pid`;
const DOVECOT_PID = `${MAIL_PATHS.dovecotBaseDir}/master.pid`;
/** postsrsd's, where Debian's SysV script keeps it (systemd runs it in the foreground). */
const POSTSRSD_PID = "/run/postsrsd.pid";
/** Debian's default file, linked into the mail set (its words are what Debian's launcher passes). */
const POSTSRSD_DEFAULT = "/etc/default/postsrsd";

/**
 * The mail host's certificate from the lab's pebble, as prod gets it from its CA: the mail set's
 * own script (lib/render/scripts/mail-cert.sh, live at MAIL_SET_ROOT/acme) run once in the mail
 * host's namespace, lego answering pebble's http-01 on port 80 of mail1's address (pebble
 * resolves the name through the lab's BIND). lego's store is emptied first: the lab's pebble
 * keeps nothing between its starts, so an account it made earlier is unknown to it. A failure
 * stops the lab's mail host: there is no other certificate to fall back to.
 */
export function mailCertFromAcme(place: Place): string[] {
  const script = `${MAIL_SET_ROOT}/acme/mail-cert.sh`;
  const conf = `${MAIL_SET_ROOT}/acme/mail-cert.conf`;
  if (!existsSync(conf)) throw new LabError(`the mail set has no ACME settings (${conf}): the lab's inventory needs acme: (pebble) for the mail host's certificate`, "give Pulumi.<stack>.yaml an acme: block, then apply again");
  rmSync(MAIL_PATHS.acmeDir, { recursive: true, force: true });
  const [c, a] = place.wrap("bash", [script, conf]);
  const r = run(c, a, { timeoutMs: 180_000 });
  if (r.status !== 0) throw new LabError(`the mail host's certificate from pebble failed (exit ${r.status}):\n${(r.stderr || r.stdout).trim().slice(-3000)}`, "is pebble up and does the lab's BIND serve the mail host's name? (npm run lab -- status)");
  return r.stderr.split("\n").filter((l) => l.startsWith("globenet-mail-cert: ")).map((l) => l.slice("globenet-mail-cert: ".length));
}

/**
 * What the lab's mail host leaves in this machine's /etc once its stack is destroyed: the
 * certificate from pebble and lego's store, and the key folders the DkimKey resources emptied (their keys are in
 * the archive). Removed at `down`, so a later run (the provider's file-set test refuses to
 * start beside a mail set) finds the machine as Debian left it. A key still there is kept.
 */
export function removeMailLeftovers(): string[] {
  const gone: string[] = [];
  const tls = dirname(MAIL_PATHS.tlsCert);
  for (const [dir, what] of [[tls, "the mail certificate from the lab's pebble"], [MAIL_PATHS.acmeDir, "lego's store for the lab's pebble"]] as const) {
    if (!existsSync(dir)) continue;
    rmSync(dir, { recursive: true, force: true });
    gone.push(`removed ${dir} (${what})`);
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
 * The mail host's four daemons, in start order, each in the mail host's namespace. They need
 * the mail set live (/etc/postfix/main.cf linked into it): multiUp starts them after the apply.
 */
export function mailDaemons(p: LabPaths, place: Place): LabDaemon[] {
  const where = `${place.host ?? "this machine"} (${place.addresses.join(", ")}: 25, 587, 465, 993)`;
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
      for (const n of mailCertFromAcme(place)) note(n);
      // Dovecot keeps its output open after it detaches: a file, so the start returns.
      mustRun(place, "dovecot", "sh", ["-c", 'exec dovecot -c /etc/dovecot/dovecot.conf </dev/null >"$1" 2>&1', "sh", logOf("dovecot")]);
    }),
    // SRS for forwards: postsrsd with the words of the set's default file (as Debian's launcher
    // passes them), forking with a pid file since nothing supervises it here; its tcp tables on
    // the mail host's own loopback only. Before Postfix, whose cleanup asks it.
    daemon("postsrsd", "postsrsd", POSTSRSD_PID, 5_000, () => {
      const args = postsrsdArgs(readFileSync(POSTSRSD_DEFAULT, "utf8"));
      mustRun(place, "postsrsd", "sh", ["-c", 'log=$1; shift; exec "$@" </dev/null >"$log" 2>&1', "sh", logOf("postsrsd"), "postsrsd", ...args, "-p", POSTSRSD_PID, "-D"]);
    }),
    daemon("postfix", "master", POSTFIX_PID, 10_000, () => {
      mustRun(place, "postfix check", "postfix", ["check"]);
      mustRun(place, "postfix start", "postfix", ["start"]);
    }),
  ];
}
