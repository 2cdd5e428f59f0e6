/**
 * access: sftp on a real host (issue 20): the Account resource against a throwaway sshd on
 * 127.0.0.1 (tests/helpers/sshd.ts, as tests/provider-account.test.ts), real unix users on this
 * machine, and the ssh2 library as the member's client. An SFTP member with a password (no key:
 * the case of biblio-menil in the example data) uploads into its site; each thing it must not
 * do is tried for real (a command, a shell, a terminal, a port forward, leaving its chroot, a
 * wrong password); an ssh member beside it keeps its shell and gets no password login. The site
 * logs: a small real Apache (its own config, a loopback port) logs each member's site into
 * /var/log/globenet-sites/<member> as the web host's does, and the sftp member reads its own
 * over SFTP through the read-only mount on ~/logs. Users, homes, mounts, archives, /etc/fstab,
 * Apache and the sshd are put back at the end, whatever happened.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Client, type ClientChannel, type ConnectConfig, type SFTPWrapper } from "ssh2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accountType, type AccountInputs, type AccountOutputs } from "../provider/resources/account";
import { OWNED_DIR } from "../provider/resources/account-shared";
import { pool } from "../provider/ssh/pool";
import { KEY_VELO } from "./fixtures/model";
import { snapshotPaths, waitFor, type Snapshot } from "./helpers/daemons-web";
import { startSshd, type Sshd } from "./helpers/sshd";
import { removeTestAccounts } from "./helpers/test-accounts";
import { freePort, requireRoot, requireTools, run } from "./helpers/tools";

const ok =
  requireTools("sshd", "ssh-keygen", "useradd", "userdel", "groupdel", "usermod", "chpasswd", "setpriv", "tar", "getent", "mkpasswd", "apache2", "curl", "mount", "umount") &&
  requireRoot("the Account resource creates real unix users");

const sftpUser = `gtsftp-${process.pid}`;
const sshUser = `gtssh-${process.pid}`;
const SITE = "amis-biblio.example";
const SSH_SITE = "gtssh.example";
const LOGS = "/var/log/globenet-sites";
const PASSWORD = "correct horse battery staple";
/** Made with `mkpasswd -m yescrypt` in beforeAll, as the volunteers' guide tells a member. */
let HASH = "";
const proof = `/tmp/globenet-sftp-proof-${process.pid}`;

function sh(cmd: string, args: string[], input = ""): { status: number | null; stdout: string; stderr: string } {
  return run(cmd, args, { timeoutMs: 30_000, input });
}
const owner = (p: string) => sh("stat", ["-c", "%U:%G:%a", p]).stdout.trim();
const shadowPw = (u: string) => sh("getent", ["shadow", u]).stdout.split(":")[1] ?? "";
const shellOf = (u: string) => sh("getent", ["passwd", u]).stdout.trim().split(":")[6] ?? "";

/** A connected ssh2 client; a reload of sshd (SIGHUP: it re-executes) may refuse for an instant, tried again for 10 s. */
async function connect(sshd: Sshd, cfg: Partial<ConnectConfig>): Promise<Client> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return await new Promise<Client>((resolve, reject) => {
        const c = new Client();
        c.on("error", reject);
        c.on("ready", () => resolve(c));
        c.connect({ host: "127.0.0.1", port: sshd.port, readyTimeout: 10_000, hostVerifier: () => true, tryKeyboard: false, ...cfg });
      });
    } catch (e) {
      if (!/ECONNREFUSED/.test(String(e)) || Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

function sftpOf(c: Client): Promise<SFTPWrapper> {
  return new Promise((resolve, reject) => c.sftp((err, s) => (err ? reject(err) : resolve(s))));
}
const p = <T>(f: (cb: (err: Error | null | undefined, v: T) => void) => void): Promise<T> => new Promise((resolve, reject) => f((err, v) => (err ? reject(err) : resolve(v))));

/** Mounts on exactly `path` (the kernel's table): "<root in its file system> <options>" each. */
function mountsAt(path: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" "))
    .filter((f) => f[4] === path)
    .map((f) => `${f[3]} ${f[5]}`);
}
/** /etc/fstab's lines that mount something on `path`. */
const fstabFor = (path: string) => (existsSync("/etc/fstab") ? readFileSync("/etc/fstab", "utf8") : "").split("\n").filter((l) => !l.startsWith("#") && l.split(/\s+/)[1] === path);
const logsLine = (u: string) => `${LOGS}/${u} /home/${u}/logs none bind,ro,nosuid,nodev,noexec,nofail 0 0`;

/**
 * A real Apache of its own (config in a temporary folder, prefork, 127.0.0.1:<port>), run as
 * root like the web host's, writing each site's access and error logs where the web host's
 * vhosts do: /var/log/globenet-sites/<member>/<site>-{access,error}.log.
 */
async function startLogApache(sites: { host: string; handle: string }[]): Promise<{ port: number; stop: () => Promise<void> }> {
  const dir = mkdtempSync("/tmp/globenet-sftp-apache-");
  const port = await freePort();
  const mod = (m: string) => `/usr/lib/apache2/modules/mod_${m}.so`;
  mkdirSync(join(dir, "www"));
  const conf = [
    `LoadModule mpm_prefork_module ${mod("mpm_prefork")}`,
    `LoadModule authz_core_module ${mod("authz_core")}`,
    `DefaultRuntimeDir ${dir}`,
    `PidFile ${dir}/apache2.pid`,
    `Mutex file:${dir} default`,
    "User www-data",
    "Group www-data",
    `Listen 127.0.0.1:${port}`,
    "ServerName localhost",
    `ErrorLog ${dir}/error.log`,
    'LogFormat "%v %h %t \\"%r\\" %>s" site',
    `DocumentRoot ${dir}/www`,
    ...sites.flatMap((s) => [
      `<VirtualHost 127.0.0.1:${port}>`,
      `  ServerName ${s.host}`,
      `  DocumentRoot ${dir}/www`,
      `  ErrorLog ${LOGS}/${s.handle}/${s.host}-error.log`,
      `  CustomLog ${LOGS}/${s.handle}/${s.host}-access.log site`,
      "</VirtualHost>",
    ]),
  ].join("\n");
  writeFileSync(join(dir, "apache2.conf"), `${conf}\n`);
  // Readable by www-data (mkdtemp makes it 0700): a missing page is then a 404.
  chmodSync(dir, 0o755);
  // A process group of its own: prefork's shutdown signals its whole group, which would be the test runner's.
  const child: ChildProcess = spawn("apache2", ["-f", join(dir, "apache2.conf"), "-DFOREGROUND"], { stdio: "ignore", detached: true });
  await waitFor(`Apache on 127.0.0.1:${port}`, () => run("curl", ["-s", "-o", "/dev/null", "-m", "2", `http://127.0.0.1:${port}/`]).status === 0);
  return {
    port,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise<void>((r) => child.once("exit", () => r()));
        child.kill("SIGTERM");
        await gone;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** What a channel prints before it closes (or `ms` pass: then it is closed). */
function drain(ch: ClientChannel, ms = 1500): Promise<string> {
  return new Promise((resolve) => {
    let out = "";
    ch.on("data", (d: Buffer) => (out += d.toString("latin1")));
    ch.stderr.on("data", (d: Buffer) => (out += d.toString("latin1")));
    const t = setTimeout(() => ch.close(), ms);
    ch.on("close", () => {
      clearTimeout(t);
      resolve(out);
    });
  });
}

describe.skipIf(!ok)("access: sftp against a real sshd (chrooted SFTP only, password from a member-given hash)", () => {
  let sshd: Sshd;
  let archiveDir: string;
  let sftpIn: AccountInputs;
  let sshIn: AccountInputs;
  let sftpOut: AccountOutputs;
  let sshOut: AccountOutputs;
  let fstab: Snapshot | undefined;
  let apache: Awaited<ReturnType<typeof startLogApache>> | undefined;
  /** A request to a site through the test's Apache (a 404: the path is the probe the log shows). */
  const request = (host: string, path: string) => sh("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "10", "-H", `Host: ${host}`, `http://127.0.0.1:${apache?.port}${path}`]).stdout;

  beforeAll(async () => {
    // The sftp member's logs mount is kept in /etc/fstab: put back as it was afterwards.
    fstab = snapshotPaths(["/etc/fstab"]);
    sshd = await startSshd({ homeKeys: true });
    process.env.GLOBENET_SSH_KEY_FILE = sshd.keyFile;
    // sshd reads the shared authorized_keys with the member's rights: let members reach that (public) file.
    chmodSync(sshd.dir, 0o711);
    archiveDir = mkdtempSync("/tmp/globenet-archive-");
    for (const u of [sftpUser, sshUser]) expect(sh("getent", ["passwd", u]).status, `a user ${u} already exists`).not.toBe(0);
    const h = sh("mkpasswd", ["-m", "yescrypt", "-s"], PASSWORD);
    expect(h.status, h.stderr).toBe(0);
    HASH = h.stdout.trim();
    expect(HASH).toMatch(/^\$y\$/);
    const base = {
      target: { name: "web1", address: "127.0.0.1", port: sshd.port, user: "root", hostKey: sshd.hostKey },
      status: "active" as const,
      archiveDir,
      diskQuotaMb: 512,
      inodeQuota: 10_000,
      homeQuota: "warn" as const,
      sshd: { dropinDir: sshd.dropinDir, pidFile: sshd.pidFile },
      contact: "hostmaster@globenet.example",
    };
    sftpIn = { ...base, handle: sftpUser, home: `/home/${sftpUser}`, access: "sftp", passwordHash: HASH, sshKeys: [], sites: [SITE] };
    sshIn = { ...base, handle: sshUser, home: `/home/${sshUser}`, access: "ssh", sshKeys: [readFileSync(`${sshd.keyFile}.pub`, "utf8").trim()], sites: [SSH_SITE] };
  });

  afterAll(async () => {
    await pool.close();
    await sshd?.stop();
    await apache?.stop();
    removeTestAccounts([sftpUser, sshUser]);
    rmSync(proof, { force: true });
    if (archiveDir) rmSync(archiveDir, { recursive: true, force: true });
    fstab?.restore();
  });

  it("check refuses an sftp account with no way in, a password hash on an ssh account, and a clear password, never repeating it", () => {
    const fails = (i: Record<string, unknown>) => (accountType.check(i).failures ?? []).map((f) => `${f.property}: ${f.reason}`);
    expect(fails({ ...sftpIn, passwordHash: undefined })).toEqual(["access: sftp needs a way in: SSH keys or a password hash"]);
    expect(fails({ ...sshIn, passwordHash: HASH })).toEqual(["passwordHash: only works with access sftp (an ssh account logs in with keys only)"]);
    const clear = fails({ ...sftpIn, passwordHash: PASSWORD });
    expect(clear).toEqual([expect.stringMatching(/^passwordHash: is not a password hash: never write the password itself here/)]);
    expect(clear.join()).not.toContain(PASSWORD);
    expect(fails({ ...sftpIn, passwordHash: `${HASH}\nroot::0:0::/:/bin/sh` })).toHaveLength(1);
    expect(fails({ ...sftpIn, access: "ftp" })).toEqual(['access: must be "ssh" or "sftp"']);
    expect(accountType.check({ ...sftpIn }).failures).toBeUndefined();
  });

  it("create: the sftp member's home is root:<member> 0750 (sshd's chroot), its folders its own, no login shell, the hash from stdin, the drop-in live", async () => {
    const logged: string[] = [];
    const orig = console.error;
    console.error = (...a: unknown[]) => void logged.push(a.join(" "));
    try {
      sftpOut = (await accountType.create(sftpIn)).outs;
      sshOut = (await accountType.create(sshIn)).outs;
    } finally {
      console.error = orig;
    }
    const home = sftpIn.home;
    expect(owner(home)).toBe(`root:${sftpUser}:750`);
    for (const d of ["tmp", ".ssh", ".my.cnf.d"]) expect(owner(join(home, d)), d).toBe(`${sftpUser}:${sftpUser}:700`);
    expect(owner(join(home, "sites"))).toBe(`${sftpUser}:${sftpUser}:755`);
    expect(owner(join(home, "sites", SITE, "htdocs"))).toBe(`${sftpUser}:${sftpUser}:755`);
    expect(owner(join(home, ".my.cnf"))).toBe(`${sftpUser}:${sftpUser}:600`);
    expect(readFileSync(join(home, ".my.cnf"), "utf8")).toContain(`!includedir ${home}/.my.cnf.d`);
    // ~/logs: the member's site log folder, mounted read-only on a root's folder, and in fstab.
    expect(lstatSync(join(home, "logs")).isDirectory()).toBe(true);
    expect(owner(join(home, "logs"))).toBe(`root:${sftpUser}:750`);
    expect(mountsAt(join(home, "logs"))).toEqual([expect.stringMatching(new RegExp(`${LOGS}/${sftpUser} ro,nosuid,nodev,noexec(,|$)`))]);
    expect(fstabFor(join(home, "logs"))).toEqual([logsLine(sftpUser)]);
    // The ssh member's ~/logs is its link, as before; nothing mounted for it.
    expect(readlinkSync(join(sshIn.home, "logs"))).toBe(`${LOGS}/${sshUser}`);
    expect(mountsAt(join(sshIn.home, "logs"))).toEqual([]);
    expect(fstabFor(join(sshIn.home, "logs"))).toEqual([]);
    expect(shellOf(sftpUser)).toBe("/usr/sbin/nologin");
    expect(shadowPw(sftpUser)).toBe(HASH);
    const dropin = readFileSync(join(sshd.dropinDir, `globenet-sftp-${sftpUser}.conf`), "utf8");
    expect(dropin).toMatch(new RegExp(`^Match User ${sftpUser}$`, "m"));
    expect(dropin).toContain("\tPasswordAuthentication yes\n");
    // The ssh member: its own home, bash, '*' (keys only), no drop-in.
    expect(owner(sshIn.home)).toBe(`${sshUser}:${sshUser}:750`);
    expect(shellOf(sshUser)).toBe("/bin/bash");
    expect(shadowPw(sshUser)).toBe("*");
    expect(existsSync(join(sshd.dropinDir, `globenet-sftp-${sshUser}.conf`))).toBe(false);
    // The hash travelled on stdin: nothing printed it.
    expect(logged.join("\n")).not.toContain(HASH);
    // What the host holds reads back as what was asked.
    for (const [i, o] of [[sftpIn, sftpOut], [sshIn, sshOut]] as const) {
      const live = (await accountType.read(i.handle, o)) as AccountOutputs;
      expect(live.drift, i.handle).toEqual([]);
      expect(accountType.diff(i.handle, live, i).changes, i.handle).toBe(false);
    }
  });

  it("the sftp member logs in with its password and uploads into its site: the file is the member's", async () => {
    const c = await connect(sshd, { username: sftpUser, password: PASSWORD });
    try {
      const s = await sftpOf(c);
      await p<void>((cb) => s.writeFile(`/sites/${SITE}/htdocs/index.html`, "<h1>Les Amis de la Bibliothèque</h1>\n", (e) => cb(e, undefined)));
      expect(await p<string>((cb) => s.realpath(".", cb))).toBe("/");
    } finally {
      c.end();
    }
    const f = join(sftpIn.home, "sites", SITE, "htdocs", "index.html");
    expect(readFileSync(f, "utf8")).toContain("Bibliothèque");
    expect(owner(f)).toBe(`${sftpUser}:${sftpUser}:644`);
  });

  it("a wrong password is refused", async () => {
    await expect(connect(sshd, { username: sftpUser, password: "wrong horse" })).rejects.toThrow(/authentication methods failed/);
    // An empty one too, and the hash itself as a password.
    await expect(connect(sshd, { username: sftpUser, password: HASH })).rejects.toThrow(/authentication methods failed/);
  });

  it("the sftp member runs no command, gets no shell and no terminal: sshd starts its SFTP server instead, and nothing runs", async () => {
    rmSync(proof, { force: true });
    const c = await connect(sshd, { username: sftpUser, password: PASSWORD });
    try {
      // exec: the channel opens on internal-sftp, which waits for SFTP packets; the command never runs.
      const ch = await p<ClientChannel>((cb) => c.exec(`touch ${proof}; echo RAN-$((6*7))`, cb));
      const out = await drain(ch);
      expect(out).not.toContain("RAN-42");
      // A shell without a terminal: the same; what is typed is not a command.
      const sh1 = await p<ClientChannel>((cb) => c.shell(false, cb));
      sh1.write(`touch ${proof}\necho RAN-$((6*7))\n`);
      expect(await drain(sh1)).not.toContain("RAN-42");
      // A terminal is refused outright (PermitTTY no).
      await expect(p<ClientChannel>((cb) => c.shell({ term: "xterm" }, cb))).rejects.toThrow(/pseudo-terminal|pty/i);
      await expect(p<ClientChannel>((cb) => c.exec("id", { pty: true }, cb))).rejects.toThrow(/pseudo-terminal|pty/i);
    } finally {
      c.end();
    }
    expect(existsSync(proof)).toBe(false);
  });

  it("the sftp member forwards no port (local or remote) and opens no socket", async () => {
    const c = await connect(sshd, { username: sftpUser, password: PASSWORD });
    try {
      // The target listens (sshd itself): only the refusal can stop the channel.
      await expect(p<ClientChannel>((cb) => c.forwardOut("127.0.0.1", 4000, "127.0.0.1", sshd.port, cb))).rejects.toThrow(/prohibited|open failure/i);
      await expect(p<number>((cb) => c.forwardIn("127.0.0.1", 0, cb))).rejects.toThrow(/.+/);
      await expect(p<ClientChannel>((cb) => c.openssh_forwardOutStreamLocal("/run/sshd.pid", cb))).rejects.toThrow(/prohibited|open failure/i);
    } finally {
      c.end();
    }
  });

  it("the chroot holds: / is the home, /etc/passwd and the other member's home are not there, a planted link leads nowhere", async () => {
    const c = await connect(sshd, { username: sftpUser, password: PASSWORD });
    try {
      const s = await sftpOf(c);
      const names = (await p<{ filename: string }[]>((cb) => s.readdir("/", cb))).map((e) => e.filename);
      expect(names).toEqual(expect.arrayContaining(["sites", "tmp", ".ssh", "logs"]));
      expect(await p<string>((cb) => s.realpath("/../..", cb))).toBe("/");
      await expect(p<Buffer>((cb) => s.readFile("/etc/passwd", cb))).rejects.toThrow(/No such file/);
      await expect(p<Buffer>((cb) => s.readFile("/../../etc/passwd", cb))).rejects.toThrow(/No such file/);
      await expect(p<unknown[]>((cb) => s.readdir(`/home/${sshUser}`, cb))).rejects.toThrow(/No such file/);
      // A symbolic link the member plants resolves inside the chroot.
      await p<void>((cb) => s.symlink("/etc/passwd", "/tmp/passwd", (e) => cb(e, undefined)));
      await expect(p<Buffer>((cb) => s.readFile("/tmp/passwd", cb))).rejects.toThrow(/No such file/);
      await p<void>((cb) => s.symlink(`/home/${sshUser}`, "/tmp/other", (e) => cb(e, undefined)));
      await expect(p<unknown[]>((cb) => s.readdir("/tmp/other", cb))).rejects.toThrow(/No such file/);
      // The home itself is root's: nothing new at its top, nor a rename of the member's folders there.
      await expect(p<void>((cb) => s.writeFile("/planted", "x", (e) => cb(e, undefined)))).rejects.toThrow(/Permission denied/);
    } finally {
      c.end();
    }
    expect(existsSync(join(sftpIn.home, "planted"))).toBe(false);
  });

  it("the sftp member reads its site's logs over SFTP after a request, cannot change them, and reaches no other member's", async () => {
    apache = await startLogApache([
      { host: SITE, handle: sftpUser },
      { host: SSH_SITE, handle: sshUser },
    ]);
    const probe = `/log-probe-${process.pid}-${Date.now()}`;
    expect(request(SITE, probe)).toBe("404");
    expect(request(SSH_SITE, `${probe}-ssh`)).toBe("404");
    const c = await connect(sshd, { username: sftpUser, password: PASSWORD });
    try {
      const s = await sftpOf(c);
      const names = (await p<{ filename: string }[]>((cb) => s.readdir("/logs", cb))).map((e) => e.filename);
      expect(names.sort()).toEqual([`${SITE}-access.log`, `${SITE}-error.log`]);
      const log = await waitFor("the request in the member's access log", async () => (await p<Buffer>((cb) => s.readFile(`/logs/${SITE}-access.log`, cb))).toString("utf8"));
      expect(log).toContain(`${SITE} 127.0.0.1 `);
      expect(log).toContain(`"GET ${probe} HTTP/1.1" 404`);
      expect(log).not.toContain(`${probe}-ssh`);
      // Read-only: no new file, no removal, no change of a log, no rename of the folder. The
      // kernel answers a write on the read-only mount with EROFS before the permission check,
      // which OpenSSH's SFTP server sends as a plain "Failure"; the files are looked at below.
      const refused = /Permission denied|Failure/;
      await expect(p<void>((cb) => s.writeFile("/logs/planted.log", "x", (e) => cb(e, undefined)))).rejects.toThrow(refused);
      await expect(p<void>((cb) => s.writeFile(`/logs/${SITE}-access.log`, "forged\n", (e) => cb(e, undefined)))).rejects.toThrow(refused);
      await expect(p<void>((cb) => s.unlink(`/logs/${SITE}-access.log`, (e) => cb(e, undefined)))).rejects.toThrow(refused);
      await expect(p<void>((cb) => s.rename("/logs", "/tmp/logs", (e) => cb(e, undefined)))).rejects.toThrow(refused);
      await expect(p<void>((cb) => s.rmdir("/logs", (e) => cb(e, undefined)))).rejects.toThrow(refused);
      await expect(p<void>((cb) => s.chmod(`/logs/${SITE}-access.log`, 0o666, (e) => cb(e, undefined)))).rejects.toThrow(refused);
      // Another member's logs: not in the chroot, not through a link planted to them.
      await expect(p<unknown[]>((cb) => s.readdir(`${LOGS}/${sshUser}`, cb))).rejects.toThrow(/No such file/);
      await expect(p<Buffer>((cb) => s.readFile(`/logs/../../${sshUser}/${SSH_SITE}-access.log`, cb))).rejects.toThrow(/No such file/);
      await p<void>((cb) => s.symlink(`${LOGS}/${sshUser}`, "/tmp/other-logs", (e) => cb(e, undefined)));
      await expect(p<unknown[]>((cb) => s.readdir("/tmp/other-logs", cb))).rejects.toThrow(/No such file/);
    } finally {
      c.end();
    }
    const home = sftpIn.home;
    expect(readFileSync(`${LOGS}/${sftpUser}/${SITE}-access.log`, "utf8")).not.toContain("forged");
    expect(existsSync(`${LOGS}/${sftpUser}/planted.log`)).toBe(false);
    // The mount itself is read-only: even root writes nothing through it.
    const rootWrite = sh("touch", [join(home, "logs", "planted.log")]);
    expect(rootWrite.status).not.toBe(0);
    expect(rootWrite.stderr).toMatch(/Read-only file system/);
    // The ssh member reads its own through its link, as before, and not the sftp member's.
    const k = await connect(sshd, { username: sshUser, privateKey: readFileSync(sshd.keyFile) });
    try {
      const own = await drain(await p<ClientChannel>((cb) => k.exec(`cat logs/${SSH_SITE}-access.log`, cb)), 5000);
      expect(own).toContain(`"GET ${probe}-ssh HTTP/1.1" 404`);
      const other = await drain(await p<ClientChannel>((cb) => k.exec(`cat ${LOGS}/${sftpUser}/${SITE}-access.log ${home}/logs/${SITE}-access.log; ls ${home}`, cb)), 5000);
      expect(other).not.toContain(probe);
      expect(other.match(/Permission denied/g)).toHaveLength(3);
    } finally {
      k.end();
    }
  });

  it("the logs mount comes back from /etc/fstab (as at boot); a mount or line gone by hand is drift that the update puts back", async () => {
    const mnt = join(sftpIn.home, "logs");
    // A reboot: nothing mounted; what boot does for the line is mount by its mount point.
    expect(sh("umount", [mnt]).status).toBe(0);
    expect(mountsAt(mnt)).toEqual([]);
    let live = (await accountType.read(sftpUser, sftpOut)) as AccountOutputs;
    expect(live.drift).toEqual([`~/logs of ${sftpUser} is not mounted (an sftp member reads its logs there)`]);
    const boot = sh("mount", ["--target", mnt]);
    expect(boot.status, boot.stderr).toBe(0);
    expect(mountsAt(mnt)).toEqual([expect.stringMatching(/ ro,nosuid,nodev,noexec/)]);
    expect(readFileSync(join(mnt, `${SITE}-access.log`), "utf8")).toContain("GET /log-probe-");
    expect((await accountType.read(sftpUser, sftpOut))?.drift).toEqual([]);
    // The line taken out and the mount gone: the update puts both back.
    writeFileSync("/etc/fstab", readFileSync("/etc/fstab", "utf8").replace(`${logsLine(sftpUser)}\n`, ""));
    expect(sh("umount", [mnt]).status).toBe(0);
    live = (await accountType.read(sftpUser, sftpOut)) as AccountOutputs;
    expect(live.drift).toEqual([`~/logs of ${sftpUser} is not mounted (an sftp member reads its logs there)`, `/etc/fstab has no line for the read-only mount of ${sftpUser}'s site logs on ~/logs`]);
    sftpOut = await accountType.update(sftpUser, live, sftpIn);
    expect(fstabFor(mnt)).toEqual([logsLine(sftpUser)]);
    expect(mountsAt(mnt)).toHaveLength(1);
    // A second update changes nothing: one line, one mount.
    sftpOut = await accountType.update(sftpUser, sftpOut, sftpIn);
    expect(fstabFor(mnt)).toEqual([logsLine(sftpUser)]);
    expect(mountsAt(mnt)).toHaveLength(1);
    expect((await accountType.read(sftpUser, sftpOut))?.drift).toEqual([]);
  });

  it("the ssh member keeps its shell with its key, and gets no password login even with a password set by hand (drift, undone by update)", async () => {
    const c = await connect(sshd, { username: sshUser, privateKey: readFileSync(sshd.keyFile) });
    try {
      const out = await drain(await p<ClientChannel>((cb) => c.exec("id -un", cb)), 5000);
      expect(out.trim()).toBe(sshUser);
    } finally {
      c.end();
    }
    // A password set on the host outside Globenet (the same one): sshd still asks ssh members for a key.
    expect(sh("chpasswd", ["-e"], `${sshUser}:${HASH}\n`).status).toBe(0);
    await expect(connect(sshd, { username: sshUser, password: PASSWORD })).rejects.toThrow(/authentication methods failed/);
    const live = (await accountType.read(sshUser, sshOut)) as AccountOutputs;
    expect(live.drift).toEqual([`${sshUser} has a password on the host, while it logs in with keys only`]);
    sshOut = await accountType.update(sshUser, live, sshIn);
    expect(shadowPw(sshUser)).toBe("*");
  });

  it("a new hash in member.yaml replaces the password; a hash changed on the host is drift", async () => {
    const other = sh("mkpasswd", ["-m", "sha-512", "-s"], "another password").stdout.trim();
    expect(other).toMatch(/^\$6\$/);
    sftpOut = await accountType.update(sftpUser, sftpOut, { ...sftpIn, passwordHash: other });
    expect(shadowPw(sftpUser)).toBe(other);
    await expect(connect(sshd, { username: sftpUser, password: PASSWORD })).rejects.toThrow(/authentication methods failed/);
    (await connect(sshd, { username: sftpUser, password: "another password" })).end();
    // Back to the first, then edited on the host: read says so.
    sftpOut = await accountType.update(sftpUser, sftpOut, sftpIn);
    expect(sh("chpasswd", ["-e"], `${sftpUser}:${other}\n`).status).toBe(0);
    const live = (await accountType.read(sftpUser, sftpOut)) as AccountOutputs;
    expect(live.drift).toEqual([`${sftpUser}'s password on the host is not the hash of member.yaml`]);
    sftpOut = await accountType.update(sftpUser, live, sftpIn);
    expect(shadowPw(sftpUser)).toBe(HASH);
  });

  it("suspension locks the sftp member out too; reactivation lets it back in", async () => {
    sftpOut = await accountType.update(sftpUser, sftpOut, { ...sftpIn, status: "suspended" });
    await expect(connect(sshd, { username: sftpUser, password: PASSWORD })).rejects.toThrow(/authentication methods failed/);
    sftpOut = await accountType.update(sftpUser, sftpOut, sftpIn);
    (await connect(sshd, { username: sftpUser, password: PASSWORD })).end();
  });

  it("switching access either way is an update (no replace) that keeps every file: sftp → ssh gives the home and a shell back, ssh → sftp locks it in again", async () => {
    const file = join(sftpIn.home, "sites", SITE, "htdocs", "index.html");
    const toSsh: AccountInputs = { ...sftpIn, access: "ssh", passwordHash: undefined, sshKeys: [KEY_VELO, readFileSync(`${sshd.keyFile}.pub`, "utf8").trim()] };
    delete toSsh.passwordHash;
    const d = accountType.diff(sftpUser, sftpOut, toSsh) as { diffs: string[]; replaces: string[] };
    expect(d.replaces).toEqual([]);
    expect(d.diffs).toEqual(expect.arrayContaining(["sshKeys", "access", "passwordHash"]));
    sftpOut = await accountType.update(sftpUser, sftpOut, toSsh);
    expect(owner(sftpIn.home)).toBe(`${sftpUser}:${sftpUser}:750`);
    expect(shellOf(sftpUser)).toBe("/bin/bash");
    expect(shadowPw(sftpUser)).toBe("*");
    expect(existsSync(join(sshd.dropinDir, `globenet-sftp-${sftpUser}.conf`))).toBe(false);
    expect(readFileSync(file, "utf8")).toContain("Bibliothèque");
    // Its logs: the mount and its line gone before the home was the member's, the link back.
    const mnt = join(sftpIn.home, "logs");
    expect(mountsAt(mnt)).toEqual([]);
    expect(fstabFor(mnt)).toEqual([]);
    expect(readlinkSync(mnt)).toBe(`${LOGS}/${sftpUser}`);
    const c = await connect(sshd, { username: sftpUser, privateKey: readFileSync(sshd.keyFile) });
    try {
      expect((await drain(await p<ClientChannel>((cb) => c.exec("id -un; pwd", cb)), 5000)).trim()).toBe(`${sftpUser}\n${sftpIn.home}`);
      expect(await drain(await p<ClientChannel>((cb) => c.exec(`cat logs/${SITE}-access.log`, cb)), 5000)).toContain("GET /log-probe-");
    } finally {
      c.end();
    }
    expect((await accountType.read(sftpUser, sftpOut))?.drift).toEqual([]);
    // The member, as ssh, wrote at the top of its home: it stays when the home is root's again.
    expect(sh("setpriv", [`--reuid=${sftpUser}`, `--regid=${sftpUser}`, "--clear-groups", "touch", join(sftpIn.home, "notes.txt")]).status).toBe(0);

    const back = accountType.diff(sftpUser, sftpOut, sftpIn);
    expect(back.replaces).toEqual([]);
    sftpOut = await accountType.update(sftpUser, sftpOut, sftpIn);
    expect(owner(sftpIn.home)).toBe(`root:${sftpUser}:750`);
    expect(owner(join(sftpIn.home, "notes.txt"))).toBe(`${sftpUser}:${sftpUser}:644`);
    expect(readFileSync(file, "utf8")).toContain("Bibliothèque");
    expect((await accountType.read(sftpUser, sftpOut))?.drift).toEqual([]);
    const s = await connect(sshd, { username: sftpUser, password: PASSWORD });
    try {
      const names = (await p<{ filename: string }[]>((cb) => (sftpOf(s).then((x) => x.readdir("/", cb), (e) => cb(e, []))))).map((e) => e.filename);
      expect(names).toEqual(expect.arrayContaining(["notes.txt", "sites", "logs"]));
      // The link made way for the mount again: its logs over SFTP.
      expect(readFileSync(`${LOGS}/${sftpUser}/${SITE}-access.log`, "utf8")).toContain("GET /log-probe-");
      const sf = await sftpOf(s);
      expect((await p<Buffer>((cb) => sf.readFile(`/logs/${SITE}-access.log`, cb))).toString("utf8")).toContain("GET /log-probe-");
      const ch = await p<ClientChannel>((cb) => s.exec(`touch ${proof}`, cb));
      await drain(ch);
    } finally {
      s.end();
    }
    expect(existsSync(proof)).toBe(false);
  });

  it("read sees a switch made on the host (the drop-in removed by hand) as drift; delete archives the home and takes the drop-in away", async () => {
    rmSync(join(sshd.dropinDir, `globenet-sftp-${sftpUser}.conf`));
    const live = (await accountType.read(sftpUser, sftpOut)) as AccountOutputs;
    expect(live.access).toBe("ssh");
    expect((accountType.diff(sftpUser, live, sftpIn) as { diffs: string[] }).diffs).toContain("access");
    sftpOut = await accountType.update(sftpUser, live, sftpIn);
    expect(existsSync(join(sshd.dropinDir, `globenet-sftp-${sftpUser}.conf`))).toBe(true);

    await accountType.delete(sftpUser, sftpOut);
    await accountType.delete(sshUser, sshOut);
    expect(existsSync(join(sshd.dropinDir, `globenet-sftp-${sftpUser}.conf`))).toBe(false);
    // No mount left on the removed home, no line in fstab; the logs stay Globenet's, root's only.
    expect(mountsAt(join(sftpIn.home, "logs"))).toEqual([]);
    expect(fstabFor(join(sftpIn.home, "logs"))).toEqual([]);
    expect(existsSync(sftpIn.home)).toBe(false);
    expect(owner(`${LOGS}/${sftpUser}`)).toBe("root:root:700");
    expect(readFileSync(`${LOGS}/${sftpUser}/${SITE}-access.log`, "utf8")).toContain("GET /log-probe-");
    expect(sh("getent", ["passwd", sftpUser]).status).not.toBe(0);
    const archived = sh("bash", ["-c", `ls ${archiveDir}/accounts/${sftpUser}-*.tar.gz`]).stdout.trim();
    expect(sh("tar", ["-tzf", archived]).stdout).toContain(`${sftpUser}/sites/${SITE}/htdocs/index.html`);
  });
});
