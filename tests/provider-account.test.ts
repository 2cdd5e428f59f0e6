/**
 * globenet:hosting:Account against a real host: a throwaway sshd on 127.0.0.1 lets the
 * provider in as root, and the account is a real unix user on this machine. The test user,
 * its home, the archives and the sshd are removed at the end, whatever happened.
 */
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { Client } from "ssh2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "./helpers/daemons-web";
import { removeTestAccounts } from "./helpers/test-accounts";
import { accountType, type AccountInputs, type AccountOutputs } from "../provider/resources/account";
import { CRONTAB_ASIDE_DIR, OWNED_DIR, USERS_LOCK } from "../provider/resources/account-shared";
import { pool } from "../provider/ssh/pool";
import { KEY_JARDIN, KEY_VELO } from "./fixtures/model";
import { startSshd, type Sshd } from "./helpers/sshd";
import { requireRoot, requireTools, run } from "./helpers/tools";

const ok =
  requireTools("sshd", "ssh-keygen", "useradd", "userdel", "groupdel") &&
  requireTools("usermod", "passwd", "setpriv", "tar", "getent") &&
  requireTools("ssh", "sftp", "crontab", "php", "setsid", "mkfifo", "groupadd") &&
  requireRoot("the Account resource creates a real unix user");

const handle = `gtacct-${process.pid}`;
const home = `/home/${handle}`;
/** A login of this machine that Globenet did not make, with its own key. */
const alice = `gtalice-${process.pid}`;
/** A local group Globenet did not make (like `disk`, but harmless to create here). */
const localGroup = `gtgrp-${process.pid}`;
const ALICE_KEYS = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAliceOwnKeyAliceOwnKeyAliceOwnKeyAliceOw alice@laptop\n";
const BANNER_FR = "est suspendu : les connexions SSH et SFTP sont refusées.";
const BANNER_EN = "is suspended: SSH and SFTP logins are refused.";
const SITE_A = "velo-libre.example";
const SITE_B = "blog.velo-libre.example";

function sh(cmd: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  return run(cmd, args, { timeoutMs: 30_000 });
}

function idOf(user: string): { uid: number; gid: number } {
  return { uid: Number(sh("id", ["-u", user]).stdout.trim()), gid: Number(sh("id", ["-g", user]).stdout.trim()) };
}

/** "L" (locked), "P" (usable password) or "NP", from `passwd -S`. */
function passwdStatus(user: string): string {
  return sh("passwd", ["-S", user]).stdout.trim().split(/\s+/)[1] ?? "";
}

/** The shadow password field and expiry day: "*" and "" for an active account made by the provider. */
function shadow(user: string): { pw: string; expire: string } {
  const f = sh("getent", ["shadow", user]).stdout.trim().split(":");
  return { pw: f[1] ?? "", expire: f[7] ?? "" };
}

/**
 * Logs in over SSH as `user` and runs `id -un`. The test sshd reads one authorized_keys file
 * for every user (the deploy key's) and runs without PAM, so it applies OpenSSH's own checks
 * for locked ('!') and expired accounts: exactly what suspension must trip.
 */
async function loginAs(sshd: Sshd, user: string): Promise<string> {
  // An apply that changes sshd's drop-ins reloads it (SIGHUP: sshd re-executes itself), and
  // for that instant nothing listens: a refused connection is tried again, for 10 s at most.
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return await loginOnce(sshd, user);
    } catch (e) {
      if (!/ECONNREFUSED/.test(String(e)) || Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

function loginOnce(sshd: Sshd, user: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = new Client();
    c.on("error", (e) => reject(e));
    c.on("ready", () =>
      c.exec("id -un", (err, ch) => {
        if (err) return reject(err);
        let out = "";
        ch.on("data", (d: Buffer) => (out += d.toString()));
        ch.on("close", () => {
          c.end();
          resolve(out.trim());
        });
      }),
    );
    c.connect({ host: "127.0.0.1", port: sshd.port, username: user, privateKey: readFileSync(sshd.keyFile), readyTimeout: 10_000, hostVerifier: () => true });
  });
}

function owner(path: string): string {
  return sh("stat", ["-c", "%U:%G:%a", path]).stdout.trim();
}

/** Live processes whose real or effective uid is `uid` (what suspension must leave none of). */
function processesOf(uid: number): string[] {
  return sh("ps", ["-e", "-o", "pid=,ruid=,euid=,stat=,args="]).stdout
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => (Number(f[1]) === uid || Number(f[2]) === uid) && !(f[3] ?? "").startsWith("Z"))
    .map((f) => f.slice(4).join(" "));
}

/** Starts `cmd` in a session of its own, detached from every pipe (as a daemon would run), with `prefix`'s rights. */
function detached(prefix: string[], cmd: string[]): number | null {
  return run(prefix[0] as string, [...prefix.slice(1), "setsid", "-f", "bash", "-c", 'exec "$@" </dev/null >/dev/null 2>&1', "detached", ...cmd], { cwd: "/" }).status;
}

/** OpenSSH's own clients, as a member runs them: what they print is what the member sees. */
function client(sshd: Sshd, tool: "ssh" | "sftp", user: string, options: string[], command: string[] = [], input = ""): { status: number | null; stdout: string; stderr: string } {
  const port = tool === "ssh" ? ["-p", String(sshd.port)] : ["-P", String(sshd.port)];
  const common = ["-i", sshd.keyFile, ...port, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10"];
  return run(tool, [...common, ...options, `${user}@127.0.0.1`, ...command], { timeoutMs: 30_000, input, env: { ...process.env, LC_ALL: "C.UTF-8" } });
}

describe.skipIf(!ok)("globenet:hosting:Account against a real host over SSH", () => {
  let sshd: Sshd;
  let archiveDir: string;
  let scratch: string;
  let inputs: AccountInputs;
  let outs: AccountOutputs;

  beforeAll(async () => {
    sshd = await startSshd();
    process.env.GLOBENET_SSH_KEY_FILE = sshd.keyFile;
    // sshd reads authorized_keys with the logging-in user's rights: let the member reach the
    // test sshd's (public) authorized_keys; the private keys in there stay 0600 root.
    chmodSync(sshd.dir, 0o711);
    archiveDir = mkdtempSync("/tmp/globenet-archive-");
    scratch = mkdtempSync("/tmp/globenet-acct-test-");
    expect(sh("getent", ["passwd", handle]).status, `a user ${handle} already exists`).not.toBe(0);
    inputs = {
      target: { name: "web1", address: "127.0.0.1", port: sshd.port, user: "root", hostKey: sshd.hostKey },
      handle,
      home,
      status: "active",
      sshKeys: [KEY_VELO, KEY_JARDIN],
      sites: [SITE_B, SITE_A],
      archiveDir,
      diskQuotaMb: 512, inodeQuota: 10_000, homeQuota: "warn",
      sshd: { dropinDir: sshd.dropinDir, pidFile: sshd.pidFile },
      contact: "hostmaster@globenet.example",
    };
  });

  afterAll(async () => {
    // The account's delete keeps its site logs (root's only): a test's own are removed here.
    await pool.close();
    await sshd?.stop();
    removeTestAccounts([handle]);
    for (const n of [alice, localGroup]) for (const k of ["user", "group"]) rmSync(join(OWNED_DIR, k, n), { force: true });
    for (const d of [archiveDir, scratch]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it("check refuses values that are not safe on a host, naming the property", () => {
    const r = accountType.check({
      ...inputs,
      handle: "Bad;Handle",
      home: "/etc",
      sshKeys: [KEY_VELO, `${KEY_JARDIN}\nssh-ed25519 AAAA injected`, 'command="sh" ssh-ed25519 AAAA x'],
      sites: ["ok.example", "Bad_Host.example", "../../etc"],
      archiveDir: "relative/dir",
      diskQuotaMb: -1,
      inodeQuota: 1.5,
    });
    const props = (r.failures ?? []).map((f) => f.property).sort();
    expect(props).toEqual(["archiveDir", "diskQuotaMb", "handle", "home", "inodeQuota", "sites[1]", "sites[2]", "sshKeys[1]", "sshKeys[2]"]);
    const good = accountType.check({ ...inputs } as unknown as Record<string, unknown>);
    expect(good.failures).toBeUndefined();
    // Sites are normalised sorted, so the live listing compares equal.
    expect(good.inputs?.sites).toEqual([SITE_B, SITE_A].sort());
    inputs = good.inputs as AccountInputs;
    // In a preview, values computed elsewhere are not known yet: nothing to validate then.
    expect(accountType.check({ ...inputs, sshKeys: ["04da6b54-80e4-46f7-96ec-b56ff0331ba9"] } as unknown as Record<string, unknown>).failures).toBeUndefined();
  });

  it("a web host whose homes have no user quota on refuses the account before any change when home_quota is required, naming what to do", async () => {
    // This machine's homes have no user quota on (its kernel may not even have CONFIG_QUOTA): what the inventory's default must refuse.
    expect(sh("quotaon", ["-p", "-u", "/home"]).stdout).not.toMatch(/ is on/);
    const err = await accountType.create({ ...inputs, homeQuota: "required" }).then(
      () => "created",
      (e: unknown) => String(e),
    );
    expect(err).toMatch(/has no user quota on, so the disk quota of .* cannot be enforced: turn user quotas on .* or set home_quota: warn on this host in Pulumi\.<stack>\.yaml .*\(nothing was changed\)/);
    expect(sh("getent", ["passwd", handle]).status).not.toBe(0);
    expect(existsSync(home)).toBe(false);
    expect(accountType.check({ ...inputs, homeQuota: "sometimes" }).failures?.map((f) => f.property)).toEqual(["homeQuota"]);
  });

  it("create makes the user, a 0750 home owned by handle:handle (no www-data: sites run as the member), site folders, keys and ~/.my.cnf", async () => {
    const r = await accountType.create(inputs);
    outs = r.outs;
    expect(r.id).toBe(handle);
    expect(outs.archives).toEqual([]);
    expect(sh("getent", ["passwd", handle]).stdout).toContain(`:${home}:/bin/bash`);
    expect(owner(home)).toBe(`${handle}:${handle}:750`);
    expect(owner(join(home, "tmp"))).toBe(`${handle}:${handle}:700`);
    expect(owner(join(home, ".ssh"))).toBe(`${handle}:${handle}:700`);
    expect(owner(join(home, ".ssh/authorized_keys"))).toBe(`${handle}:${handle}:600`);
    const keys = readFileSync(join(home, ".ssh/authorized_keys"), "utf8").split("\n").filter((l) => l && !l.startsWith("#"));
    expect(keys).toEqual([KEY_VELO, KEY_JARDIN]);
    for (const s of [SITE_A, SITE_B]) expect(owner(join(home, "sites", s, "htdocs"))).toBe(`${handle}:${handle}:755`);
    expect(readFileSync(join(home, ".my.cnf"), "utf8")).toContain(`!includedir ${home}/.my.cnf.d\n`);
    expect(owner(join(home, ".my.cnf.d"))).toBe(`${handle}:${handle}:700`);
    // No password login ('*'), but not locked: key logins work.
    expect(shadow(handle)).toEqual({ pw: "*", expire: "" });
    expect(await loginAs(sshd, handle)).toBe(handle);
  });

  it("read shows the live state equal to the inputs, and create again converges without change", async () => {
    const live = await accountType.read(handle, outs);
    expect(live).toBeDefined();
    expect(live?.drift).toEqual([]);
    expect(accountType.diff(handle, live as AccountOutputs, inputs).changes).toBe(false);
    writeFileSync(join(home, "sites", SITE_A, "htdocs", "index.html"), "<p>kept</p>\n");
    const again = await accountType.create(inputs);
    expect(again.outs.sshKeys).toEqual(inputs.sshKeys);
    expect(readFileSync(join(home, "sites", SITE_A, "htdocs", "index.html"), "utf8")).toBe("<p>kept</p>\n");
    expect(owner(home)).toBe(`${handle}:${handle}:750`);
  });

  it("the host records what the provider created: markers root-only, holding the uid and gid", () => {
    const { uid, gid } = idOf(handle);
    for (const d of ["/var/lib/globenet", OWNED_DIR, join(OWNED_DIR, "user"), join(OWNED_DIR, "group")]) expect(owner(d)).toBe("root:root:700");
    expect(readFileSync(join(OWNED_DIR, "user", handle), "utf8")).toBe(`${uid}\n`);
    expect(readFileSync(join(OWNED_DIR, "group", handle), "utf8")).toBe(`${gid}\n`);
    expect(outs.marked).toBe(true);
  });

  it("a handle naming an existing login is refused: its keys and home stay untouched, and delete never removes it", async () => {
    expect(sh("useradd", ["-m", "-s", "/bin/bash", alice]).status).toBe(0);
    try {
      const aliceHome = `/home/${alice}`;
      mkdirSync(join(aliceHome, ".ssh"), { mode: 0o700 });
      writeFileSync(join(aliceHome, ".ssh/authorized_keys"), ALICE_KEYS, { mode: 0o600 });
      const before = { keys: readFileSync(join(aliceHome, ".ssh/authorized_keys"), "utf8"), home: owner(aliceHome), passwd: sh("getent", ["passwd", alice]).stdout, shadow: shadow(alice) };
      const theirs: AccountInputs = { ...inputs, handle: alice, home: aliceHome };
      await expect(accountType.create(theirs)).rejects.toThrow(
        new RegExp(`^web1: creating account ${alice} failed \\(exit 1\\):\\nrefusing: a user named ${alice} already exists on this host \\(id \\d+\\) and Globenet did not create it \\(no marker in ${OWNED_DIR}/user\\)\\. A member's handle never takes over an existing user: choose another handle`),
      );
      expect(readFileSync(join(aliceHome, ".ssh/authorized_keys"), "utf8")).toBe(before.keys);
      expect(owner(aliceHome)).toBe(before.home);
      expect(sh("getent", ["passwd", alice]).stdout).toBe(before.passwd);
      expect(shadow(alice)).toEqual(before.shadow);
      expect(existsSync(join(aliceHome, ".my.cnf"))).toBe(false);
      expect(existsSync(join(OWNED_DIR, "user", alice))).toBe(false);
      // Even with a resource in the state claiming it, departure removes nothing of hers.
      const claimed: AccountOutputs = { ...theirs, archives: [], diskQuotaEnforced: false, drift: [], marked: true };
      await expect(accountType.delete(alice, claimed)).rejects.toThrow(/refusing: a user named gtalice-\d+ already exists on this host/);
      expect(sh("getent", ["passwd", alice]).stdout).toBe(before.passwd);
      expect(readFileSync(join(aliceHome, ".ssh/authorized_keys"), "utf8")).toBe(before.keys);
      expect(readdirSync(archiveDir).filter((f) => f === "accounts")).toEqual([]);
    } finally {
      sh("userdel", ["-r", alice]);
    }
  });

  it("a handle naming a system or local group is refused by check, and by the host when check is bypassed; departure never runs groupdel on it", async () => {
    const disk = sh("getent", ["group", "disk"]).stdout;
    expect(disk).toMatch(/^disk:x:6:/);
    // The schema's rule, applied by the provider's check too.
    const checked = accountType.check({ ...inputs, handle: "disk", home: "/home/disk" } as unknown as Record<string, unknown>);
    expect(checked.failures).toEqual([{ property: "handle", reason: '"disk" is not a member handle: is a system account name (choose another handle)' }]);
    // The host's own refusal, for Debian's `disk` group itself.
    try {
      await expect(accountType.create({ ...inputs, handle: "disk", home: "/home/disk" })).rejects.toThrow(/refusing: a group named disk already exists on this host \(id 6\) and Globenet did not create it/);
      expect(sh("getent", ["passwd", "disk"]).status).not.toBe(0);
      expect(existsSync("/home/disk")).toBe(false);
      expect(sh("getent", ["group", "disk"]).stdout).toBe(disk);
    } finally {
      if (sh("getent", ["passwd", "disk"]).status === 0) sh("userdel", ["disk"]);
      rmSync("/home/disk", { recursive: true, force: true });
    }
    // A local group with an ordinary gid, and departure of a "member" of that name.
    expect(sh("groupadd", [localGroup]).status).toBe(0);
    try {
      const g = sh("getent", ["group", localGroup]).stdout;
      const theirs: AccountInputs = { ...inputs, handle: localGroup, home: `/home/${localGroup}` };
      await expect(accountType.create(theirs)).rejects.toThrow(new RegExp(`refusing: a group named ${localGroup} already exists on this host \\(id \\d+\\) and Globenet did not create it`));
      expect(sh("getent", ["passwd", localGroup]).status).not.toBe(0);
      const logged: string[] = [];
      const orig = console.error;
      console.error = (...a: unknown[]) => void logged.push(a.join(" "));
      try {
        await accountType.delete(localGroup, { ...theirs, archives: [], diskQuotaEnforced: false, drift: [], marked: true });
      } finally {
        console.error = orig;
      }
      expect(sh("getent", ["group", localGroup]).stdout).toBe(g);
      expect(logged.join("\n")).toMatch(new RegExp(`the group ${localGroup} \\(gid \\d+\\) was not made by Globenet and was left in place`));
    } finally {
      sh("groupdel", [localGroup]);
    }
  });

  it("an account made before markers existed: create refuses it, update (it is in the state) marks it, read and diff say so", async () => {
    const { uid, gid } = idOf(handle);
    rmSync(join(OWNED_DIR, "user", handle));
    rmSync(join(OWNED_DIR, "group", handle));
    const live = (await accountType.read(handle, outs)) as AccountOutputs;
    expect(live.marked).toBe(false);
    expect((accountType.diff(handle, live, inputs) as { diffs: string[] }).diffs).toEqual(["marked"]);
    await expect(accountType.create(inputs)).rejects.toThrow(/refusing: a user named gtacct-\d+ already exists on this host/);
    const logged: string[] = [];
    const orig = console.error;
    console.error = (...a: unknown[]) => void logged.push(a.join(" "));
    try {
      outs = await accountType.update(handle, live, inputs);
    } finally {
      console.error = orig;
    }
    expect(logged.join("\n")).toContain(`account ${handle}: user ${handle} is now marked as Globenet's (it is in the stack's state)`);
    expect(readFileSync(join(OWNED_DIR, "user", handle), "utf8")).toBe(`${uid}\n`);
    expect(readFileSync(join(OWNED_DIR, "group", handle), "utf8")).toBe(`${gid}\n`);
    expect(accountType.diff(handle, (await accountType.read(handle, outs)) as AccountOutputs, inputs).changes).toBe(false);
    // A marker naming another uid (the user was made again outside Globenet) is refused even on update.
    writeFileSync(join(OWNED_DIR, "user", handle), `${uid + 7}\n`);
    await expect(accountType.update(handle, outs, inputs)).rejects.toThrow(new RegExp(`refusing: the user ${handle} on this host has id ${uid}, but Globenet created it with id ${uid + 7}`));
    writeFileSync(join(OWNED_DIR, "user", handle), `${uid}\n`);
  });

  it("suspending locks the login (keys and files kept); reactivating unlocks it", async () => {
    outs = await accountType.update(handle, outs, { ...inputs, status: "suspended" });
    expect(passwdStatus(handle)).toBe("L");
    expect(shadow(handle)).toEqual({ pw: "!*", expire: "1" });
    await expect(loginAs(sshd, handle)).rejects.toThrow(/authentication methods failed/);
    expect(readFileSync(join(home, ".ssh/authorized_keys"), "utf8")).toContain(KEY_VELO);
    expect(existsSync(join(home, "sites", SITE_A, "htdocs", "index.html"))).toBe(true);
    expect((await accountType.read(handle, outs))?.status).toBe("suspended");

    outs = await accountType.update(handle, outs, inputs);
    expect(shadow(handle)).toEqual({ pw: "*", expire: "" });
    expect(await loginAs(sshd, handle)).toBe(handle);
    expect((await accountType.read(handle, outs))?.status).toBe("active");

    // Locked by hand with a bare '!' (what `passwd -l` gives a password-less account): drift, then unlocked to '*'.
    expect(sh("usermod", ["-p", "!", handle]).status).toBe(0);
    const live = (await accountType.read(handle, outs)) as AccountOutputs;
    expect(live.status).toBe("suspended");
    expect(accountType.diff(handle, live, inputs).changes).toBe(true);
    outs = await accountType.update(handle, live, inputs);
    expect(shadow(handle)).toEqual({ pw: "*", expire: "" });
    expect(await loginAs(sshd, handle)).toBe(handle);
  });

  it("suspension kills every process of the member, refuses SSH, SFTP and forwarding with a bilingual message, sets the crontab aside and keeps every byte; reactivation undoes it", async () => {
    const { uid, gid } = idOf(handle);
    const me = ["setpriv", `--reuid=${uid}`, `--regid=${gid}`, "--clear-groups"];
    // sshd may still be re-executing after the previous test's reload: wait until it lets the member in.
    expect(await loginAs(sshd, handle)).toBe(handle);
    // What a member leaves running: a shell over SSH, a PHP process, a daemonised sleep, a crontab.
    const shell = new Client();
    const shellClosed = new Promise<void>((resolve, reject) => {
      shell.on("error", () => resolve());
      shell.on("close", () => resolve());
      shell.on("ready", () => shell.exec("sleep 600", (err) => (err ? reject(err) : undefined)));
    });
    shell.connect({ host: "127.0.0.1", port: sshd.port, username: handle, privateKey: readFileSync(sshd.keyFile), readyTimeout: 10_000, hostVerifier: () => true });
    expect(detached(me, ["php", "-r", "sleep(600);"])).toBe(0);
    expect(detached(me, ["sleep", "600"])).toBe(0);
    const cron = "# m h dom mon dow command\n*/5 * * * * echo still here >> $HOME/cron.log\n";
    expect(run("crontab", ["-u", handle, "-"], { input: cron }).status).toBe(0);
    const spool = `/var/spool/cron/crontabs/${handle}`;
    const cronBytes = readFileSync(spool);
    const settled = (ps: string[]) => ps.some((p) => p.includes("php")) && ps.filter((p) => p === "sleep 600").length >= 2 && ps.some((p) => p.startsWith("sshd:"));
    for (let i = 0; i < 100 && !settled(processesOf(uid)); i++) await new Promise((r) => setTimeout(r, 100));
    const before = processesOf(uid);
    expect(before.some((p) => p.includes("php"))).toBe(true);
    expect(before.some((p) => p === "sleep 600")).toBe(true);
    expect(before.some((p) => p.startsWith("sshd:"))).toBe(true);

    outs = await accountType.update(handle, outs, { ...inputs, status: "suspended" });
    // Nothing of the member runs any more; the SSH session was cut.
    expect(processesOf(uid)).toEqual([]);
    await shellClosed;
    // sshd refuses the login and says why, in French and English, to ssh and to sftp.
    const ssh = client(sshd, "ssh", handle, [], ["id"]);
    expect(ssh.status).toBe(255);
    expect(ssh.stdout).toBe("");
    expect(ssh.stderr).toContain(`Ce compte Globenet (${handle}) ${BANNER_FR}`);
    expect(ssh.stderr).toContain(`This Globenet account (${handle}) ${BANNER_EN}`);
    expect(ssh.stderr).toContain("Contact: hostmaster@globenet.example");
    const sftp = client(sshd, "sftp", handle, ["-b", "-"], [], "ls\n");
    expect(sftp.status).not.toBe(0);
    expect(sftp.stderr).toContain(BANNER_EN);
    const forward = client(sshd, "ssh", handle, ["-N", "-o", "ExitOnForwardFailure=yes", "-L", "127.0.0.1:47321:127.0.0.1:9"]);
    expect(forward.status).toBe(255);
    expect(forward.stderr).toContain(BANNER_FR);
    // Another user of the same sshd is not concerned.
    expect(client(sshd, "ssh", "root", [], ["echo root-ok"]).stdout).toBe("root-ok\n");
    // The drop-in is root's, in the folder sshd includes; the crontab waits, root-only, byte for byte.
    expect(owner(join(sshd.dropinDir, `globenet-suspended-${handle}.conf`))).toBe("root:root:644");
    expect(existsSync(spool)).toBe(false);
    expect(owner(CRONTAB_ASIDE_DIR)).toBe("root:root:700");
    expect(readFileSync(join(CRONTAB_ASIDE_DIR, handle)).equals(cronBytes)).toBe(true);
    // Every byte stays; read agrees nothing is out of line.
    expect(readFileSync(join(home, ".ssh/authorized_keys"), "utf8")).toContain(KEY_VELO);
    expect(readFileSync(join(home, "sites", SITE_A, "htdocs", "index.html"), "utf8")).toBe("<p>kept</p>\n");
    const live = (await accountType.read(handle, outs)) as AccountOutputs;
    expect(live.status).toBe("suspended");
    expect(live.drift).toEqual([]);
    // A process that appears anyway (root starting one as the member) shows as drift.
    expect(detached(me, ["sleep", "600"])).toBe(0);
    const drifted = (await accountType.read(handle, outs)) as AccountOutputs;
    expect(drifted.drift.join("\n")).toMatch(/1 process\(es\) still run as .* while it is suspended/);
    outs = await accountType.update(handle, drifted, { ...inputs, status: "suspended" });
    expect(processesOf(uid)).toEqual([]);

    outs = await accountType.update(handle, outs, inputs);
    expect(existsSync(join(sshd.dropinDir, `globenet-suspended-${handle}.conf`))).toBe(false);
    expect(existsSync(join(sshd.dropinDir, `globenet-suspended-${handle}.txt`))).toBe(false);
    expect(await loginAs(sshd, handle)).toBe(handle);
    expect(client(sshd, "ssh", handle, [], ["id -un"]).stdout).toBe(`${handle}\n`);
    expect(readFileSync(spool).equals(cronBytes)).toBe(true);
    expect(owner(spool)).toBe(`${handle}:crontab:600`);
    expect(existsSync(join(CRONTAB_ASIDE_DIR, handle))).toBe(false);
    expect(((await accountType.read(handle, outs)) as AccountOutputs).drift).toEqual([]);
    expect(run("crontab", ["-u", handle, "-r"]).status).toBe(0);
  }, 120_000);

  it("sshd is only told to refuse a member through a folder it reads, and only after sshd -t: otherwise nothing stays", async () => {
    const elsewhere = mkdtempSync(join(scratch, "not-included-"));
    chmodSync(elsewhere, 0o755);
    const bad = { ...inputs, status: "suspended" as const, sshd: { ...inputs.sshd, dropinDir: elsewhere } };
    await expect(accountType.update(handle, outs, bad)).rejects.toThrow(new RegExp(`sshd does not read ${elsewhere} \\(its config ${sshd.dir}/sshd_config has no 'Include ${elsewhere}/\\*\\.conf'\\): the suspension drop-in was taken out again`));
    expect(readdirSync(elsewhere).filter((f) => f.endsWith(".conf"))).toEqual([]);
    // A pid file that names something else than sshd: nothing is signalled.
    const fake = join(scratch, "fake.pid");
    writeFileSync(fake, `${process.pid}\n`);
    await expect(accountType.update(handle, outs, { ...inputs, status: "suspended", sshd: { ...inputs.sshd, pidFile: fake } })).rejects.toThrow(/names pid \d+, which runs .*node.*, not sshd/);
    expect(existsSync(join(sshd.dropinDir, `globenet-suspended-${handle}.conf`))).toBe(false);
    // The account is still active and reachable.
    outs = await accountType.update(handle, outs, inputs);
    expect(await loginAs(sshd, handle)).toBe(handle);
  });

  it("a FIFO the member plants where the provider reads (~/.my.cnf) neither hangs nor fails the apply", async () => {
    const { uid, gid } = idOf(handle);
    rmSync(join(home, ".my.cnf"));
    expect(run("setpriv", [`--reuid=${uid}`, `--regid=${gid}`, "--clear-groups", "mkfifo", join(home, ".my.cnf")]).status).toBe(0);
    const t0 = Date.now();
    outs = await accountType.update(handle, outs, inputs);
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(statSync(join(home, ".my.cnf")).isFile()).toBe(true);
    expect(readFileSync(join(home, ".my.cnf"), "utf8")).toContain(`!includedir ${home}/.my.cnf.d`);
    const moved = readdirSync(home).filter((f) => f.startsWith(".my.cnf.not-a-file."));
    expect(moved).toHaveLength(1);
    expect(lstatSync(join(home, moved[0] as string)).isFIFO()).toBe(true);
    rmSync(join(home, moved[0] as string));
  });

  it("a hand-edited authorized_keys and a loosened home show as drift, and update puts them back", async () => {
    const extra = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHandEditedKeyHandEditedKeyHandEditedKeyXX intruder@nowhere";
    writeFileSync(join(home, ".ssh/authorized_keys"), `${readFileSync(join(home, ".ssh/authorized_keys"), "utf8")}${extra}\n`);
    chmodSync(home, 0o755);
    // The group homes had before mpm-itk: Apache's. An apply takes it away.
    chownSync(home, statSync(home).uid, Number(run("getent", ["group", "www-data"]).stdout.split(":")[2]));
    const live = (await accountType.read(handle, outs)) as AccountOutputs;
    expect(live.sshKeys).toEqual([KEY_VELO, KEY_JARDIN, extra]);
    expect(live.drift.join("\n")).toContain(`is ${handle}:www-data mode 755, not ${handle}:${handle} mode 750`);
    const d = accountType.diff(handle, live, inputs);
    expect(d.changes).toBe(true);
    expect(d.replaces).toEqual([]);
    expect((d as { diffs: string[] }).diffs).toEqual(["sshKeys", "drift"]);
    outs = await accountType.update(handle, live, inputs);
    expect(readFileSync(join(home, ".ssh/authorized_keys"), "utf8")).not.toContain("intruder");
    expect(owner(home)).toBe(`${handle}:${handle}:750`);
    expect(accountType.diff(handle, (await accountType.read(handle, outs)) as AccountOutputs, inputs).changes).toBe(false);
  });

  it("a symlink planted by the member never makes the provider read or overwrite a file outside the home", async () => {
    const secretFile = join(scratch, "root-only");
    writeFileSync(secretFile, "TOP-SECRET-LINE\n", { mode: 0o600 });
    const keys = join(home, ".ssh/authorized_keys");
    rmSync(keys);
    const { uid, gid } = idOf(handle);
    expect(run("setpriv", [`--reuid=${uid}`, `--regid=${gid}`, "--clear-groups", "ln", "-s", secretFile, keys]).status).toBe(0);
    const live = (await accountType.read(handle, outs)) as AccountOutputs;
    expect(JSON.stringify(live)).not.toContain("TOP-SECRET");
    expect(live.sshKeys).toEqual([]);
    outs = await accountType.update(handle, live, inputs);
    expect(readFileSync(secretFile, "utf8")).toBe("TOP-SECRET-LINE\n");
    expect(statSync(keys).isFile()).toBe(true);
    expect(readFileSync(keys, "utf8")).toContain(KEY_VELO);
  });

  it("removing a site archives its folder (verified tarball), removes it and reports the archive", async () => {
    writeFileSync(join(home, "sites", SITE_B, "htdocs", "post.html"), "<p>blog</p>\n");
    const news: AccountInputs = { ...inputs, sites: [SITE_A] };
    const d = accountType.diff(handle, outs, news);
    expect(d.changes).toBe(true);
    expect(d.replaces).toEqual([]);
    outs = await accountType.update(handle, outs, news);
    expect(outs.archives).toHaveLength(1);
    const archive = outs.archives[0] as string;
    expect(archive).toMatch(new RegExp(`^${archiveDir}/sites/${handle}--${SITE_B.replace(/\./g, "\\.")}-\\d{8}T\\d{6}Z\\.tar\\.gz$`));
    const list = sh("tar", ["-tzf", archive]);
    expect(list.status).toBe(0);
    expect(list.stdout.split("\n")).toContain(`${SITE_B}/htdocs/post.html`);
    expect(existsSync(join(home, "sites", SITE_B))).toBe(false);
    expect(existsSync(join(home, "sites", SITE_A, "htdocs", "index.html"))).toBe(true);
    expect(statSync(archive).mode & 0o777).toBe(0o600);
    inputs = news;
  });

  it("diff replaces only when the handle or the host changes", () => {
    expect(accountType.diff(handle, outs, { ...inputs, diskQuotaMb: 2048 }).replaces).toEqual([]);
    // A new inode quota is an update (the same setquota call); a state from before inodeQuota existed gets it by an update too.
    const inodes = accountType.diff(handle, outs, { ...inputs, inodeQuota: 20_000 }) as { diffs: string[]; replaces: string[] };
    expect([inodes.diffs, inodes.replaces]).toEqual([["inodeQuota"], []]);
    const { inodeQuota: _old, ...before } = outs;
    expect((accountType.diff(handle, before as AccountOutputs, inputs) as { diffs: string[] }).diffs).toEqual(["inodeQuota"]);
    expect(accountType.diff(handle, outs, { ...inputs, target: { ...inputs.target, hostKey: sshd.otherHostKey } }).replaces).toEqual([]);
    // The host renamed in the inventory (same address and port) is the same machine: an update.
    expect(accountType.diff(handle, outs, { ...inputs, target: { ...inputs.target, name: "web2" } })).toMatchObject({ changes: true, replaces: [] });
    const moved = accountType.diff(handle, outs, { ...inputs, target: { ...inputs.target, name: "web2", address: "127.0.0.2" } });
    expect(moved.replaces).toEqual(["target"]);
    expect(moved.deleteBeforeReplace).toBe(true);
    expect(accountType.diff(handle, outs, { ...inputs, handle: "other", home: "/home/other" }).replaces).toEqual(["handle"]);
  });

  it("a user deleted by hand reads as gone; create then adopts the home that stayed, under its old uid", async () => {
    const before = idOf(handle);
    expect(sh("userdel", [handle]).status).toBe(0);
    expect(await accountType.read(handle, outs)).toBeUndefined();
    // Never under a group of that name that Globenet did not make…
    expect(sh("getent", ["group", handle]).status).not.toBe(0);
    expect(sh("groupadd", ["-g", String(before.gid + 1234), handle]).status).toBe(0);
    await expect(accountType.create(inputs)).rejects.toThrow(new RegExp(`refusing: the group ${handle} on this host has id ${before.gid + 1234}, but Globenet created it with id ${before.gid}`));
    expect(sh("getent", ["passwd", handle]).status).not.toBe(0);
    expect(sh("groupdel", [handle]).status).toBe(0);
    // …nor under a system uid.
    expect(sh("chown", ["100", home]).status).toBe(0);
    await expect(accountType.create(inputs)).rejects.toThrow(new RegExp(`${home} belongs to a system account \\(uid 100\\): refusing to adopt it`));
    expect(sh("chown", [String(before.uid), home]).status).toBe(0);
    // From its checks to useradd the adoption holds the host's lock of new users (another new
    // account applied in parallel could otherwise be handed the uid it found free): held here by
    // root for 4 s, the create waits for it and then adopts.
    expect(statSync(USERS_LOCK).mode & 0o777).toBe(0o600);
    const holder = spawn("flock", [USERS_LOCK, "sleep", "4"], { stdio: "ignore" });
    await waitFor("the lock of new users to be held", () => sh("flock", ["-n", USERS_LOCK, "true"]).status !== 0, 5_000, 50);
    const held = Date.now();
    const creating = accountType.create(inputs);
    await new Promise((r) => setTimeout(r, 2_000));
    expect(sh("getent", ["passwd", handle]).status).not.toBe(0);
    outs = (await creating).outs;
    expect(Date.now() - held).toBeGreaterThanOrEqual(3_500);
    expect(holder.exitCode ?? (await new Promise((r) => holder.once("exit", r)))).toBe(0);
    expect(idOf(handle)).toEqual(before);
    expect(owner(join(home, "sites", SITE_A, "htdocs"))).toBe(`${handle}:${handle}:755`);
    expect(owner(home)).toBe(`${handle}:${handle}:750`);
    expect(accountType.diff(handle, (await accountType.read(handle, outs)) as AccountOutputs, inputs).changes).toBe(false);
  });

  it("delete of a suspended member archives the whole home (it restores) and its set-aside crontab, then removes user, group, home, markers and the sshd drop-in", async () => {
    writeFileSync(join(home, "notes.txt"), "do not lose me\n");
    const cron = "@daily echo departed\n";
    expect(run("crontab", ["-u", handle, "-"], { input: cron }).status).toBe(0);
    const cronBytes = readFileSync(`/var/spool/cron/crontabs/${handle}`, "utf8");
    expect(cronBytes).toContain(cron);
    outs = await accountType.update(handle, outs, { ...inputs, status: "suspended" });
    expect(existsSync(join(sshd.dropinDir, `globenet-suspended-${handle}.conf`))).toBe(true);
    const logged: string[] = [];
    const orig = console.error;
    console.error = (...a: unknown[]) => void logged.push(a.join(" "));
    try {
      await accountType.delete(handle, outs);
    } finally {
      console.error = orig;
    }
    const dir = join(archiveDir, "accounts");
    const files = readdirSync(dir).sort();
    expect(files).toHaveLength(2);
    const crontab = join(dir, files.find((f) => f.endsWith(".crontab")) as string);
    expect(crontab).toMatch(new RegExp(`/accounts/${handle}-\\d{8}T\\d{6}Z\\.crontab$`));
    expect(readFileSync(crontab, "utf8")).toBe(cronBytes);
    expect(logged.join("\n")).toContain(`crontab kept in ${crontab}`);
    const archive = join(dir, files.find((f) => f.endsWith(".tar.gz")) as string);
    expect(archive).toMatch(new RegExp(`/accounts/${handle}-\\d{8}T\\d{6}Z\\.tar\\.gz$`));
    expect(logged.join("\n")).toContain(archive);
    const restore = mkdtempSync(join(scratch, "restore-"));
    expect(sh("tar", ["-xzf", archive, "-C", restore]).status).toBe(0);
    expect(readFileSync(join(restore, handle, "notes.txt"), "utf8")).toBe("do not lose me\n");
    expect(existsSync(join(restore, handle, "sites", SITE_A, "htdocs", "index.html"))).toBe(true);
    expect(sh("getent", ["passwd", handle]).status).not.toBe(0);
    expect(sh("getent", ["group", handle]).status).not.toBe(0);
    expect(existsSync(home)).toBe(false);
    expect(existsSync(join(OWNED_DIR, "user", handle))).toBe(false);
    expect(existsSync(join(OWNED_DIR, "group", handle))).toBe(false);
    expect(existsSync(join(CRONTAB_ASIDE_DIR, handle))).toBe(false);
    expect(readdirSync(sshd.dropinDir).filter((f) => f.includes(handle))).toEqual([]);
    expect(await accountType.read(handle, outs)).toBeUndefined();
  });
});
