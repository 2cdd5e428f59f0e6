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
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { Client } from "ssh2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accountType, type AccountInputs, type AccountOutputs } from "../provider/resources/account";
import { SSHD_LOCK } from "../provider/resources/account-shared";
import { paths } from "../lib/model/paths";
import { pool } from "../provider/ssh/pool";
import { snapshotPaths, type Snapshot } from "./helpers/daemons-web";
import { startSshd, type Sshd } from "./helpers/sshd";
import { removeTestAccounts } from "./helpers/test-accounts";
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
const LOGS = paths.siteLogRoot;

/** What sshd would apply to `user` now (sshd -T with its own config), as the lines the drop-ins set. */
function effective(sshd: Sshd, user: string): string {
  return execFileSync("sshd", ["-T", "-f", join(sshd.dir, "sshd_config"), "-C", `user=${user},host=globenet-check,addr=127.0.0.1`], { encoding: "utf8" });
}

/** `step` for every account at once, as the engine applies them: each must succeed (the failures listed by account otherwise); their answers by account. */
async function atOnce<T>(step: (u: string) => Promise<T>): Promise<Map<string, T>> {
  const settled = await Promise.allSettled(users.map(step));
  expect(settled.flatMap((r, i) => (r.status === "rejected" ? [`${users[i]}: ${String(r.reason)}`] : []))).toEqual([]);
  return new Map(settled.map((r, i) => [users[i] as string, (r as PromiseFulfilledResult<T>).value]));
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
  /** /etc/fstab (the SFTP members' logs mounts) and the site logs' folder, put back at the end. */
  let saved: Snapshot | undefined;
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
    saved = snapshotPaths(["/etc/fstab", LOGS]);
    // A web host's first apply: no site logs' folder yet.
    rmSync(LOGS, { recursive: true, force: true });
    const h = sh("mkpasswd", ["-m", "yescrypt", "-s"], PASSWORD);
    expect(h.status, h.stderr).toBe(0);
    hash = h.stdout.trim();
    const key = readFileSync(`${sshd.keyFile}.pub`, "utf8").trim();
    for (const u of users) {
      const base: AccountInputs = {
        target: { name: "web1", address: "127.0.0.1", port: sshd.port, user: "root", hostKey: sshd.hostKey },
        handle: u,
        home: paths.home(u),
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
    removeTestAccounts(users);
    if (archiveDir) rmSync(archiveDir, { recursive: true, force: true });
    saved?.restore();
  });

  it(`${N} accounts created at once, each reloading sshd: every create succeeds, every drop-in is live, sshd still answers`, async () => {
    for (const [u, r] of await atOnce((u) => accountType.create(inputs.get(u) as AccountInputs))) outs.set(u, r.outs);
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
    for (const [u, r] of await atOnce((u) => accountType.update(u, outs.get(u) as AccountOutputs, next(u)))) outs.set(u, r);
    for (const u of users) {
      const t = effective(sshd, u);
      expect(t, u).not.toMatch(/^forcecommand internal-sftp$/m);
      expect(t, u).not.toMatch(/^denyusers \*$/m);
    }
    expect(existsSync(sshd.pidFile)).toBe(true);

    // Suspended again at once, then deleted at once: each delete takes its drop-in away and reloads.
    for (const [u, r] of await atOnce((u) => accountType.update(u, outs.get(u) as AccountOutputs, { ...next(u), status: "suspended" }))) outs.set(u, r);
    await atOnce((u) => accountType.delete(u, outs.get(u) as AccountOutputs));
    for (const u of users) expect(existsSync(join(sshd.dropinDir, `globenet-suspended-${u}.conf`)), u).toBe(false);
    expect(existsSync(sshd.pidFile)).toBe(true);
  });
});
