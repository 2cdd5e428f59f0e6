/**
 * Accounts applied in parallel on one web host, each of which changes sshd (a suspension's
 * drop-in, an SFTP-only drop-in) and reloads it. On SIGHUP, OpenSSH's sshd removes its pid
 * file and executes itself again, and writes the file back once it listens: an account script
 * that looked for sshd through that file in between found none and failed ("no sshd pid file
 * … is sshd running there?"); found by the multi-host lab's first apply, whose example members
 * include an sftp one and a suspended one. The engine applies accounts in parallel, so each
 * change of sshd now waits for the one before it (a lock on the host), and a reload is only
 * over when the pid file is back. Real unix users and a throwaway sshd on 127.0.0.1
 * (tests/helpers/sshd.ts), as tests/provider-sftp.test.ts; all taken away at the end.
 *
 * The same storm on a web host's first apply: the site logs' folder (/var/log/globenet-sites)
 * is not there yet (set aside for the test, put back after), and every account may make it at
 * once. And the lock is root's only: a member who could open it could hold it, and stop every
 * account change behind it.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { Client } from "ssh2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accountType, type AccountInputs, type AccountOutputs } from "../provider/resources/account";
import { OWNED_DIR } from "../provider/resources/account-shared";
import { pool } from "../provider/ssh/pool";
import { startSshd, type Sshd } from "./helpers/sshd";
import { requireRoot, requireTools, run } from "./helpers/tools";

const ok =
  requireTools("sshd", "ssh-keygen", "useradd", "userdel", "groupdel", "usermod", "chpasswd", "setpriv", "tar", "getent", "mkpasswd", "mount", "umount") &&
  requireRoot("the Account resource creates real unix users");

/** How many accounts go at once: the engine's default parallelism is higher; six were enough to fail every run before the lock. */
const N = 6;
const users = Array.from({ length: N }, (_, i) => `gtrel${i}-${process.pid}`);
/** Half the accounts are SFTP-only members (their own drop-in), half suspended ssh members (the suspension's drop-in). */
const sftp = (u: string) => users.indexOf(u) % 2 === 0;

const sh = (cmd: string, args: string[], input = "") => run(cmd, args, { timeoutMs: 30_000, input });
const LOGS = "/var/log/globenet-sites";
const LOGS_ASIDE = `${LOGS}.aside-${process.pid}`;
const SSHD_LOCK = "/var/lib/globenet/sshd.lock";

/** What sshd would apply to `user` now (sshd -T with its own config), as the lines the drop-ins set. */
function effective(sshd: Sshd, user: string): string {
  return execFileSync("sshd", ["-T", "-f", join(sshd.dir, "sshd_config"), "-C", `user=${user},host=globenet-check,addr=127.0.0.1`], { encoding: "utf8" });
}

/** The member's password login: "ok", or the reason it was refused. */
function passwordLogin(sshd: Sshd, user: string, password: string): Promise<string> {
  return new Promise((resolve) => {
    const c = new Client();
    c.on("ready", () => {
      c.end();
      resolve("ok");
    });
    c.on("error", (e) => resolve(e.message));
    c.connect({ host: "127.0.0.1", port: sshd.port, username: user, password, readyTimeout: 10_000, hostVerifier: () => true, tryKeyboard: false });
  });
}

describe.skipIf(!ok)("sshd changed by accounts applied in parallel (each reload waits for the one before)", () => {
  let sshd: Sshd;
  let archiveDir: string;
  let hash = "";
  const PASSWORD = "a parallel member's passphrase";
  const inputs = new Map<string, AccountInputs>();
  const outs = new Map<string, AccountOutputs>();

  beforeAll(async () => {
    sshd = await startSshd({ homeKeys: true });
    process.env.GLOBENET_SSH_KEY_FILE = sshd.keyFile;
    chmodSync(sshd.dir, 0o711);
    archiveDir = mkdtempSync("/tmp/globenet-archive-");
    for (const u of users) expect(sh("getent", ["passwd", u]).status, `a user ${u} already exists`).not.toBe(0);
    // A web host's first apply: no site logs' folder yet.
    if (existsSync(LOGS)) renameSync(LOGS, LOGS_ASIDE);
    const h = sh("mkpasswd", ["-m", "yescrypt", "-s"], PASSWORD);
    expect(h.status, h.stderr).toBe(0);
    hash = h.stdout.trim();
    const key = readFileSync(`${sshd.keyFile}.pub`, "utf8").trim();
    for (const u of users) {
      const base: AccountInputs = {
        target: { name: "web1", address: "127.0.0.1", port: sshd.port, user: "root", hostKey: sshd.hostKey },
        handle: u,
        home: `/home/${u}`,
        status: "active",
        sshKeys: [],
        access: "ssh",
        sites: [],
        archiveDir,
        diskQuotaMb: 512,
        inodeQuota: 10_000,
        homeQuota: "warn",
        sshd: { dropinDir: sshd.dropinDir, pidFile: sshd.pidFile },
        contact: "hostmaster@globenet.example",
      };
      inputs.set(u, sftp(u) ? { ...base, access: "sftp", passwordHash: hash } : { ...base, status: "suspended", sshKeys: [key] });
    }
  });

  afterAll(async () => {
    await pool.close();
    await sshd?.stop();
    for (const u of users) {
      for (let n = 0; n < 10 && sh("mountpoint", ["-q", `/home/${u}/logs`]).status === 0; n++) sh("umount", ["--lazy", `/home/${u}/logs`]);
      if (sh("getent", ["passwd", u]).status === 0) sh("userdel", [u]);
      if (sh("getent", ["group", u]).status === 0) sh("groupdel", [u]);
      for (const k of ["user", "group"]) rmSync(join(OWNED_DIR, k, u), { force: true });
      rmSync(`/home/${u}`, { recursive: true, force: true });
      rmSync(`/var/log/globenet-sites/${u}`, { recursive: true, force: true });
      sh("sed", ["-i", `\\#/home/${u}/logs#d`, "/etc/fstab"]);
    }
    if (archiveDir) rmSync(archiveDir, { recursive: true, force: true });
    if (existsSync(LOGS_ASIDE)) {
      // What the test made there is only its members' (each removed above): the folder as it was comes back.
      if (existsSync(LOGS) && readdirSync(LOGS).length === 0) rmSync(LOGS, { recursive: true });
      if (!existsSync(LOGS)) renameSync(LOGS_ASIDE, LOGS);
    }
  });

  it(`${N} accounts created at once, each reloading sshd: every create succeeds, every drop-in is live, sshd still answers`, async () => {
    const results = await Promise.allSettled(users.map((u) => accountType.create(inputs.get(u) as AccountInputs)));
    const failed = results.flatMap((r, i) => (r.status === "rejected" ? [`${users[i]}: ${String(r.reason)}`] : []));
    expect(failed).toEqual([]);
    results.forEach((r, i) => r.status === "fulfilled" && outs.set(users[i] as string, r.value.outs));
    for (const u of users) {
      const t = effective(sshd, u);
      if (sftp(u)) expect(t, u).toMatch(/^forcecommand internal-sftp$/m);
      else expect(t, u).toMatch(/^denyusers \*$/m);
    }
    expect(existsSync(sshd.pidFile)).toBe(true);
    expect(statSync(LOGS).mode & 0o7777).toBe(0o755);
    for (const u of users) expect(existsSync(join(LOGS, u)), u).toBe(true);
    // The lock: root's only. A member tries to take it (and so hold every sshd change behind it); root can.
    expect(statSync(SSHD_LOCK).mode & 0o777).toBe(0o600);
    // Its folder may be open to all (the backup client's setup makes /var/lib/globenet 0755): the file's own mode must hold.
    const dirMode = statSync("/var/lib/globenet").mode & 0o7777;
    chmodSync("/var/lib/globenet", 0o755);
    try {
      const uid = sh("id", ["-u", users[1] as string]).stdout.trim();
      const grab = sh("setpriv", [`--reuid=${uid}`, `--regid=${uid}`, "--clear-groups", "flock", "-n", SSHD_LOCK, "true"]);
      expect(grab.status).not.toBe(0);
      expect(grab.stderr).toMatch(/Permission denied/);
    } finally {
      chmodSync("/var/lib/globenet", dirMode);
    }
    expect(sh("flock", ["-n", SSHD_LOCK, "true"]).status).toBe(0);
    // The legitimate use after the storm: an SFTP member logs in with its password; a suspended one is refused.
    const member = users.find(sftp) as string;
    expect(await passwordLogin(sshd, member, PASSWORD)).toBe("ok");
    expect(await passwordLogin(sshd, member, "not the passphrase")).toMatch(/authentication methods failed/);
  });

  it("all taken back at once (the suspended reactivated, the SFTP members back to ssh), then deleted at once: every step succeeds", async () => {
    const key = readFileSync(`${sshd.keyFile}.pub`, "utf8").trim();
    const next = (u: string): AccountInputs => {
      const i = inputs.get(u) as AccountInputs;
      if (!sftp(u)) return { ...i, status: "active" };
      const { passwordHash: _, ...rest } = i;
      return { ...rest, access: "ssh", sshKeys: [key] };
    };
    const updated = await Promise.allSettled(users.map((u) => accountType.update(u, outs.get(u) as AccountOutputs, next(u))));
    expect(updated.flatMap((r, i) => (r.status === "rejected" ? [`${users[i]}: ${String(r.reason)}`] : []))).toEqual([]);
    updated.forEach((r, i) => r.status === "fulfilled" && outs.set(users[i] as string, r.value));
    for (const u of users) {
      const t = effective(sshd, u);
      expect(t, u).not.toMatch(/^forcecommand internal-sftp$/m);
      expect(t, u).not.toMatch(/^denyusers \*$/m);
    }
    expect(existsSync(sshd.pidFile)).toBe(true);

    // Suspended again at once, then deleted at once: each delete takes its drop-in away and reloads.
    const again = await Promise.allSettled(users.map((u) => accountType.update(u, outs.get(u) as AccountOutputs, { ...next(u), status: "suspended" })));
    expect(again.flatMap((r, i) => (r.status === "rejected" ? [`${users[i]}: ${String(r.reason)}`] : []))).toEqual([]);
    again.forEach((r, i) => r.status === "fulfilled" && outs.set(users[i] as string, r.value));
    const gone = await Promise.allSettled(users.map((u) => accountType.delete(u, outs.get(u) as AccountOutputs)));
    expect(gone.flatMap((r, i) => (r.status === "rejected" ? [`${users[i]}: ${String(r.reason)}`] : []))).toEqual([]);
    for (const u of users) expect(existsSync(join(sshd.dropinDir, `globenet-suspended-${u}.conf`)), u).toBe(false);
    expect(existsSync(sshd.pidFile)).toBe(true);
  });
});
