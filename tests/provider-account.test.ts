/**
 * globenet:hosting:Account against a real host: a throwaway sshd on 127.0.0.1 lets the
 * provider in as root, and the account is a real unix user on this machine. The test user,
 * its home, the archives and the sshd are removed at the end, whatever happened.
 */
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "ssh2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accountType, type AccountInputs, type AccountOutputs } from "../provider/resources/account";
import { pool } from "../provider/ssh/pool";
import { KEY_JARDIN, KEY_VELO } from "./fixtures/model";
import { startSshd, type Sshd } from "./helpers/sshd";
import { requireRoot, requireTools, run } from "./helpers/tools";

const ok =
  requireTools("sshd", "ssh-keygen", "useradd", "userdel", "groupdel") &&
  requireTools("usermod", "passwd", "setpriv", "tar", "getent") &&
  requireRoot("the Account resource creates a real unix user");

const handle = `gtacct-${process.pid}`;
const home = `/home/${handle}`;
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
function loginAs(sshd: Sshd, user: string): Promise<string> {
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
      diskQuotaMb: 512,
    };
  });

  afterAll(async () => {
    await pool.close();
    await sshd?.stop();
    if (sh("getent", ["passwd", handle]).status === 0) sh("userdel", [handle]);
    if (sh("getent", ["group", handle]).status === 0) sh("groupdel", [handle]);
    rmSync(home, { recursive: true, force: true });
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
    });
    const props = (r.failures ?? []).map((f) => f.property).sort();
    expect(props).toEqual(["archiveDir", "diskQuotaMb", "handle", "home", "sites[1]", "sites[2]", "sshKeys[1]", "sshKeys[2]"]);
    const good = accountType.check({ ...inputs } as unknown as Record<string, unknown>);
    expect(good.failures).toBeUndefined();
    // Sites are normalised sorted, so the live listing compares equal.
    expect(good.inputs?.sites).toEqual([SITE_B, SITE_A].sort());
    inputs = good.inputs as AccountInputs;
    // In a preview, values computed elsewhere are not known yet: nothing to validate then.
    expect(accountType.check({ ...inputs, sshKeys: ["04da6b54-80e4-46f7-96ec-b56ff0331ba9"] } as unknown as Record<string, unknown>).failures).toBeUndefined();
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
    expect(accountType.diff(handle, outs, { ...inputs, target: { ...inputs.target, hostKey: sshd.otherHostKey } }).replaces).toEqual([]);
    const moved = accountType.diff(handle, outs, { ...inputs, target: { ...inputs.target, name: "web2" } });
    expect(moved.replaces).toEqual(["target"]);
    expect(moved.deleteBeforeReplace).toBe(true);
    expect(accountType.diff(handle, outs, { ...inputs, handle: "other", home: "/home/other" }).replaces).toEqual(["handle"]);
  });

  it("a user deleted by hand reads as gone; create then adopts the home that stayed, under its old uid", async () => {
    const before = idOf(handle);
    expect(sh("userdel", [handle]).status).toBe(0);
    expect(await accountType.read(handle, outs)).toBeUndefined();
    outs = (await accountType.create(inputs)).outs;
    expect(idOf(handle)).toEqual(before);
    expect(owner(join(home, "sites", SITE_A, "htdocs"))).toBe(`${handle}:${handle}:755`);
    expect(owner(home)).toBe(`${handle}:${handle}:750`);
    expect(accountType.diff(handle, (await accountType.read(handle, outs)) as AccountOutputs, inputs).changes).toBe(false);
  });

  it("delete archives the whole home (it restores), then removes user, group and home", async () => {
    writeFileSync(join(home, "notes.txt"), "do not lose me\n");
    const logged: string[] = [];
    const orig = console.error;
    console.error = (...a: unknown[]) => void logged.push(a.join(" "));
    try {
      await accountType.delete(handle, outs);
    } finally {
      console.error = orig;
    }
    const dir = join(archiveDir, "accounts");
    const files = readdirSync(dir);
    expect(files).toHaveLength(1);
    const archive = join(dir, files[0] as string);
    expect(archive).toMatch(new RegExp(`/accounts/${handle}-\\d{8}T\\d{6}Z\\.tar\\.gz$`));
    expect(logged.join("\n")).toContain(archive);
    const restore = mkdtempSync(join(scratch, "restore-"));
    expect(sh("tar", ["-xzf", archive, "-C", restore]).status).toBe(0);
    expect(readFileSync(join(restore, handle, "notes.txt"), "utf8")).toBe("do not lose me\n");
    expect(existsSync(join(restore, handle, "sites", SITE_A, "htdocs", "index.html"))).toBe(true);
    expect(sh("getent", ["passwd", handle]).status).not.toBe(0);
    expect(sh("getent", ["group", handle]).status).not.toBe(0);
    expect(existsSync(home)).toBe(false);
    expect(await accountType.read(handle, outs)).toBeUndefined();
  });
});
