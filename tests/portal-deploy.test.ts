/**
 * The member portal as the apply deploys it on a web host (docs/architecture.md, "Member
 * portal", "Shipping the code"), over SSH on this machine (a throwaway sshd): a member's
 * account, their PortalPassword (made by the provider, delivered in ~/.portal-password), the
 * Portal (its system user, state folder, hashes, the bot token's root file, and what it runs:
 * the release esbuild built from this checkout and the data at a commit of a test repository,
 * both shipped to /opt/globenet-portal). No systemd here: the provider's script runs the unit's
 * ExecStart itself, as the portal's user. Then a throwaway Apache serving the rendered vhost's
 * HTTPS part (a lab-CA certificate in place of mod_md's) in front of it. Checked for real: the
 * process runs the shipped bundle (not this checkout) as globenet-portal; a login through
 * Apache over HTTPS with the delivered password works; a second apply with the same code and a
 * new commit keeps the process (same PID) and shows the new data, a changed bundle restarts it,
 * and old releases are pruned; neither the member nor the portal's user can change the shipped
 * code; the member's own account cannot read the token file, the hashes, the sessions or the
 * shipped data; the member can reach the loopback port directly (same host), and there the
 * portal's own defences hold: a wrong password is refused and five lock the name, whatever
 * X-Forwarded-For they forge, even through Apache afterwards.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { request as httpRequest } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeTestAccounts } from "./helpers/test-accounts";
import { REPO_ROOT } from "../lib/base/repo";
import { labPaths } from "../lib/lab/paths";
import { ensurePortalCert } from "../lib/portal/lab-cert";
import { PORTAL_CREDENTIALS, PORTAL_CURRENT, PORTAL_DATA, PORTAL_ENV, PORTAL_HOME, PORTAL_RELEASES, PORTAL_STATE, PORTAL_USER, renderPortalEnv, renderPortalUnit, renderPortalVhost } from "../lib/render/portal";
import type { Model } from "../lib/model/types";
import { accountType, type AccountInputs } from "../provider/resources/account";
import { portalType, type PortalInputs, type PortalOutputs } from "../provider/resources/portal";
import { RELEASE_BUNDLE, releaseFiles, releaseName } from "../provider/release";
import { buildPortalRelease } from "../provider/release-build";
import { tarOf } from "../provider/ssh/tar";
import { portalPasswordType } from "../provider/resources/portal-password";
import { pool } from "../provider/ssh/pool";
import { freePort, waitFor } from "./helpers/daemons-web";
import { startSshd, type Sshd } from "./helpers/sshd";
import { requireRoot, requireTools, run } from "./helpers/tools";
import { writeTree } from "./helpers/data-tree";
import { loadModel } from "../lib/check/build";

const ok = requireTools("sshd", "ssh-keygen", "useradd", "userdel", "setpriv", "setsid", "apache2", "openssl", "systemd-analyze", "git", "doveadm") && requireRoot("the provider makes real unix users and the portal's root files");
const handle = `gtportal-${process.pid}`;
const home = `/home/${handle}`;
const TOKEN = `glpat-${Math.random().toString(36).slice(2)}ABCDEFGH`;
const sh = (cmd: string, args: string[]) => run(cmd, args, { timeoutMs: 30_000 });
/** Without systemd, the provider's script keeps the portal's pid and output here (provider/scripts/portal/portal.sh). */
const PIDFILE = "/run/globenet-portal.pid";
const LOG = "/var/log/globenet-portal.log";
const pidOf = () => Number(readFileSync(PIDFILE, "utf8").trim());
const gitEnv = { GIT_AUTHOR_NAME: "Alice Martin", GIT_AUTHOR_EMAIL: "alice@globenet.example", GIT_COMMITTER_NAME: "Alice Martin", GIT_COMMITTER_EMAIL: "alice@globenet.example" };

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A browser with one cookie jar, over HTTPS through Apache (trusting the lab CA only) or plain HTTP to the loopback port. */
function browser(send: (method: string, path: string, headers: Record<string, string>, body?: string) => Promise<Answer>) {
  const jar = new Map<string, string>();
  async function go(method: string, path: string, form?: Record<string, string>, extra: Record<string, string> = {}): Promise<Answer> {
    const headers: Record<string, string> = { ...extra };
    if (jar.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
    const body = form ? new URLSearchParams(form).toString() : undefined;
    if (body !== undefined) headers["content-type"] = "application/x-www-form-urlencoded";
    const a = await send(method, path, headers, body);
    for (const c of ([] as string[]).concat(a.headers["set-cookie"] ?? [])) {
      const [k, v] = (c.split(";")[0] as string).split("=") as [string, string];
      jar.set(k, v);
    }
    return a;
  }
  const csrf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? "";
  const login = async (h: string, password: string, extra: Record<string, string> = {}) => go("POST", "/login", { _csrf: csrf((await go("GET", "/login", undefined, extra)).body), handle: h, password }, extra);
  return { go, login, jar };
}

function collect(res: import("node:http").IncomingMessage, resolve: (a: Answer) => void): void {
  let text = "";
  res.setEncoding("utf8");
  res.on("data", (c: string) => (text += c));
  res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
}

describe.skipIf(!ok)("the portal deployed on a web host: the shipped release behind Apache over HTTPS, as its own user, its code and secrets out of members' reach", () => {
  let sshd: Sshd | undefined;
  let tmp = "";
  let tree = "";
  let apache: ChildProcess | undefined;
  let portalPort = 0;
  let httpsPort = 0;
  let ca = "";
  let password = "";
  let memberUid = 0;
  let memberGid = 0;
  let applied: PortalOutputs | undefined;
  let firstPid = 0;
  let member: ReturnType<typeof browser> | undefined;
  const target = () => ({ name: "web1", address: "127.0.0.1", port: sshd?.port ?? 0, user: "root", hostKey: sshd?.hostKey ?? "" });
  const settings = () => ({ host: "web1", name: "espace.globenet.example", port: portalPort, gitlab: { api: "https://gitlab.example/api/v4", project: "42", target_branch: "main" } });
  const git = (...args: string[]) => {
    const r = run("git", ["-C", tree, ...args], { timeoutMs: 30_000, env: gitEnv });
    if (r.status !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr}`);
    return r.stdout.trim();
  };
  const dataAt = () => ({ repo: tree, commit: git("rev-parse", "HEAD"), branch: "main" });
  /** What the engine passes at the next apply: the same inputs, with `change` on top. */
  const apply = async (change: Partial<PortalInputs>): Promise<PortalOutputs> => {
    const before = applied as PortalOutputs;
    const news = { ...(before as unknown as PortalInputs), env: String((before.env as unknown as { value?: string }).value ?? before.env), credentials: String((before.credentials as unknown as { value?: string }).value ?? before.credentials), ...change };
    applied = await portalType.update("web1", before, news);
    return applied;
  };
  /** A variant of the built release: the same bundle with a comment appended (different bytes, same behaviour). */
  const variant = async (n: number) => {
    const base = join(tmp, "base");
    const files: Record<string, Buffer> = {};
    const walk = (d: string, rel: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(d, e.name), `${rel}${e.name}/`);
        else files[`${rel}${e.name}`] = readFileSync(join(d, e.name));
      }
    };
    walk(join(base, "templates"), "");
    const tar = await tarOf(releaseFiles(Buffer.concat([readFileSync(join(base, RELEASE_BUNDLE)), Buffer.from(`\n// variant ${n}\n`)]), files));
    const file = join(tmp, `variant-${n}.tar`);
    writeFileSync(file, tar);
    return { sha256: releaseName(tar), file };
  };
  const viaApache = () =>
    browser(
      (method, path, headers, body) =>
        new Promise((resolve, reject) => {
          const req = httpsRequest({ host: "127.0.0.1", servername: "localhost", port: httpsPort, path, method, headers, ca, agent: false }, (res) => collect(res, resolve));
          req.on("error", reject);
          req.end(body);
        }),
    );
  /** The member's own process on the same host, straight to the portal's loopback port. */
  const direct = () =>
    browser(
      (method, path, headers, body) =>
        new Promise((resolve, reject) => {
          const req = httpRequest({ host: "127.0.0.1", port: portalPort, path, method, headers, agent: false }, (res) => collect(res, resolve));
          req.on("error", reject);
          req.end(body);
        }),
    );
  /** A command as the member (their uid and group only), as their shell or PHP would run it. */
  const asMember = (cmd: string, args: string[]) => sh("setpriv", [`--reuid=${memberUid}`, `--regid=${memberGid}`, "--clear-groups", "--", cmd, ...args]);

  beforeAll(async () => {
    for (const p of [PORTAL_ENV, PORTAL_STATE, PORTAL_HOME, PIDFILE, LOG]) if (existsSync(p)) throw new Error(`${p} exists on this machine: this test would clobber it`);
    if (sh("getent", ["passwd", PORTAL_USER]).status === 0) throw new Error(`the user ${PORTAL_USER} exists on this machine: this test would take it`);
    sshd = await startSshd();
    process.env.GLOBENET_SSH_KEY_FILE = sshd.keyFile;
    tmp = mkdtempSync("/tmp/globenet-portal-deploy-");
    chmodSync(tmp, 0o755);
    // The data: the example tree with this test's member, a git repository of its own (the
    // apply ships a bundle of its HEAD).
    tree = writeTree({ [`members/${handle}/member.yaml`]: `handle: ${handle}\nname: Portal probe\ncontact: { email: bureau@velo-libre.example }\nstatus: active\n` });
    git("init", "-q", "--initial-branch=main");
    git("add", "-A");
    git("commit", "-q", "-m", "The data as the first apply reads it");
    const account: AccountInputs = {
      target: target(),
      handle,
      home,
      status: "active",
      sshKeys: [],
      sites: [],
      archiveDir: join(tmp, "archive"),
      diskQuotaMb: 512,
      inodeQuota: 10_000,
      homeQuota: "warn",
      sshd: { dropinDir: sshd.dropinDir, pidFile: sshd.pidFile },
      contact: "hostmaster@globenet.example",
    };
    await accountType.create(account);
    memberUid = Number(sh("id", ["-u", handle]).stdout.trim());
    memberGid = Number(sh("id", ["-g", handle]).stdout.trim());
  }, 120_000);

  afterAll(async () => {
    apache?.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 500));
    // delete stops the portal the script started and removes what was shipped.
    if (sshd) await portalType.delete("web1", { target: target(), unit: "", env: "", credentials: "", drift: [] } as never).catch(() => undefined);
    if (existsSync(PIDFILE)) spawnSync("kill", [readFileSync(PIDFILE, "utf8").trim()]);
    await pool.close();
    await sshd?.stop();
    removeTestAccounts([handle, PORTAL_USER]);
    for (const d of [home, PORTAL_STATE, PORTAL_ENV, PORTAL_HOME, PIDFILE, LOG, "/etc/systemd/system/globenet-portal.service", tmp, tree]) if (d) rmSync(d, { recursive: true, force: true });
  }, 60_000);

  it("the unit passes systemd-analyze verify (and a broken one does not)", () => {
    const units = join(tmp, "units");
    sh("mkdir", ["-p", units]);
    const unit = renderPortalUnit({ host: "web1", name: "espace.globenet.example", port: 8451 }, "prod", false);
    const verify = (text: string) => {
      writeFileSync(join(units, "globenet-portal.service"), text);
      return run("systemd-analyze", ["verify", join(units, "globenet-portal.service")], { timeoutMs: 60_000, env: { ...process.env, SYSTEMD_UNIT_PATH: `${units}:`, SYSTEMD_LOG_LEVEL: "notice" } });
    };
    const good = verify(unit);
    expect(good.status, good.stderr).toBe(0);
    const bad = verify(unit.replace("ExecStart=/usr/bin/node", "ExecStart=/usr/bin/no-such-node"));
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/no-such-node is not executable/);
  });

  it("the apply: the password in the member's home, its hash in the portal's credentials, the token file root's 0600; the release and the data shipped root's, and the portal started from them as its user", async () => {
    const pw = await portalPasswordType.create({ target: target(), handle, home, url: "https://espace.globenet.example/" });
    const file = join(home, ".portal-password");
    const st = statSync(file);
    expect([st.uid, st.mode & 0o777]).toEqual([memberUid, 0o600]);
    password = readFileSync(file, "utf8").split("\n")[3] as string;
    expect(password).toMatch(/^[A-Za-z0-9]{20}$/);
    const hash = (pw.outs.hash as unknown as { value: string }).value;
    const model = loadModel(tree, "test").model as Model;
    expect(model.members.some((m) => m.handle === handle)).toBe(true);
    portalPort = await freePort();
    const built = await buildPortalRelease(REPO_ROOT);
    sh("mkdir", ["-p", join(tmp, "base")]);
    expect(sh("tar", ["-x", "-f", built.file, "-C", join(tmp, "base")]).status).toBe(0);
    const p = settings();
    const created = await portalType.create({
      target: target(),
      unit: renderPortalUnit(p, "test", true),
      env: renderPortalEnv({ api: p.gitlab.api, project: p.gitlab.project, token: TOKEN }),
      credentials: JSON.stringify({ [handle]: hash }),
      release: { sha256: built.sha256, file: built.file },
      data: dataAt(),
    });
    applied = created.outs;
    expect(sh("getent", ["passwd", PORTAL_USER]).stdout).toMatch(new RegExp(`^${PORTAL_USER}:x:\\d{1,3}:\\d+:[^:]*:${PORTAL_STATE}:/usr/sbin/nologin$`, "m"));
    expect(sh("stat", ["-c", "%U:%G %a", PORTAL_STATE]).stdout.trim()).toBe(`${PORTAL_USER}:${PORTAL_USER} 700`);
    expect(sh("stat", ["-c", "%U:%G %a", PORTAL_CREDENTIALS]).stdout.trim()).toBe(`${PORTAL_USER}:${PORTAL_USER} 600`);
    expect(sh("stat", ["-c", "%U:%G %a", PORTAL_ENV]).stdout.trim()).toBe("root:root 600");
    expect(readFileSync(PORTAL_ENV, "utf8")).toContain(TOKEN);
    // What runs: the release under its sha256, root's; the data at the commit, root's.
    expect(sh("stat", ["-c", "%U:%G %a", PORTAL_HOME]).stdout.trim()).toBe(`root:${PORTAL_USER} 750`);
    expect(readlinkSync(PORTAL_CURRENT)).toBe(`releases/${built.sha256}`);
    expect(sh("stat", ["-c", "%U:%G %a", join(PORTAL_RELEASES, built.sha256), join(PORTAL_CURRENT, RELEASE_BUNDLE)]).stdout.trim().split("\n")).toEqual(["root:root 755", "root:root 644"]);
    expect(readFileSync(join(PORTAL_CURRENT, RELEASE_BUNDLE))).toEqual(readFileSync(join(tmp, "base", RELEASE_BUNDLE)));
    expect(sh("find", [PORTAL_HOME, "!", "-user", "root"]).stdout.trim()).toBe("");
    expect(sh("find", [PORTAL_HOME, "-name", "node_modules"]).stdout.trim()).toBe("");
    expect(run("git", ["-C", PORTAL_DATA, "rev-parse", "HEAD"]).stdout.trim()).toBe(git("rev-parse", "HEAD"));
    expect(readFileSync(join(PORTAL_DATA, "members", handle, "member.yaml"), "utf8")).toContain("Portal probe");
    // Nothing secret in what was shipped: not the token, not a hash, not the member's password.
    const shipped = sh("grep", ["-rlF", "-e", TOKEN, "-e", password, "-e", hash, PORTAL_HOME]);
    expect(shipped.stdout.trim()).toBe("");
    expect(shipped.status).toBe(1);
    // read finds nothing out of line, for the password file and the portal.
    expect((await portalPasswordType.read(handle, pw.outs))?.drift).toEqual([]);
    expect((await portalType.read("web1", applied))?.drift).toEqual([]);
    // The portal the script started (no systemd here): the shipped bundle, as its user, in the data.
    await waitFor("the portal listening", () => existsSync(LOG) && readFileSync(LOG, "utf8").includes("behind Apache"), 60_000, 200);
    expect(readFileSync(LOG, "utf8")).toContain(`on http://127.0.0.1:${portalPort}/`);
    firstPid = pidOf();
    expect(sh("ps", ["-o", "user:32=", "-p", String(firstPid)]).stdout.trim()).toBe(PORTAL_USER);
    const cmdline = readFileSync(`/proc/${firstPid}/cmdline`, "utf8").split("\0");
    expect(cmdline.slice(0, 4)).toEqual(["/usr/bin/node", `${PORTAL_CURRENT}/${RELEASE_BUNDLE}`, "--serve", "--root"]);
    expect(cmdline.join(" ")).not.toContain(REPO_ROOT);
    expect(readlinkSync(`/proc/${firstPid}/cwd`)).toBe(PORTAL_DATA);
  }, 180_000);

  it("behind Apache over HTTPS: the member logs in with the delivered password to the shipped portal", async () => {
    httpsPort = await freePort();
    // Apache: the rendered vhost's HTTPS part, with a lab-CA certificate instead of mod_md's.
    const tls = ensurePortalCert(labPaths(tmp));
    ca = readFileSync(tls.caFile, "utf8");
    writeFileSync(join(tmp, "cert.pem"), tls.cert);
    writeFileSync(join(tmp, "key.pem"), tls.key, { mode: 0o600 });
    const model = { inventory: { acme: { store_dir: "/var/lib/apache2/md" }, portal: { host: "web1", name: "espace.globenet.example", port: portalPort } } } as unknown as Model;
    const vhost = renderPortalVhost(model);
    const https = vhost.slice(vhost.indexOf("<VirtualHost *:443>"));
    const head = vhost.slice(0, vhost.indexOf("MDomain"));
    const site = head + https.replace("<VirtualHost *:443>", `<VirtualHost 127.0.0.1:${httpsPort}>`).replace("    SSLEngine on\n", `    SSLEngine on\n    SSLCertificateFile ${tmp}/cert.pem\n    SSLCertificateKeyFile ${tmp}/key.pem\n`);
    writeFileSync(join(tmp, "portal.conf"), site);
    const mods = ["mpm_event", "authz_core", "ssl", "socache_shmcb", "headers", "alias"].map((m) => `LoadModule ${m}_module /usr/lib/apache2/modules/mod_${m}.so`).join("\n");
    writeFileSync(
      join(tmp, "apache2.conf"),
      `ServerRoot /etc/apache2\nServerName localhost\nPidFile ${tmp}/apache.pid\nMutex file:${tmp} default\nDefaultRuntimeDir ${tmp}\nErrorLog ${tmp}/apache-error.log\nDefine APACHE_LOG_DIR ${tmp}\nLogFormat "%h %l %u %t \\"%r\\" %>s %O \\"%{Referer}i\\" \\"%{User-Agent}i\\"" combined\n${mods}\nUser www-data\nGroup www-data\nSSLSessionCache shmcb:${tmp}/ssl_scache(512000)\nListen 127.0.0.1:${httpsPort}\nInclude ${tmp}/portal.conf\n`,
    );
    expect(sh("apache2", ["-f", join(tmp, "apache2.conf"), "-t"]).stderr).toMatch(/Syntax OK/);
    apache = spawn("apache2", ["-f", join(tmp, "apache2.conf"), "-DFOREGROUND"], { stdio: "ignore" });
    member = viaApache();
    const m = member;
    await waitFor("Apache answering", () => m.go("GET", "/login").then((a) => a.status === 200, () => false), 30_000, 200);
    const logged = await m.login(handle, password);
    expect(logged.status).toBe(303);
    expect(logged.headers.location).toBe(`/m/${handle}`);
    const session = ([] as string[]).concat(logged.headers["set-cookie"] ?? []).find((c) => c.startsWith("__Host-globenet-portal="));
    for (const flag of [/; Path=\//, /; HttpOnly/, /; Secure/, /; SameSite=Strict/]) expect(session).toMatch(flag);
    const page = await m.go("GET", `/m/${handle}`);
    expect(page.status).toBe(200);
    expect(page.body).toContain("Portal probe");
    expect(page.headers["strict-transport-security"]).toBeDefined();
    // The history page reads the shipped data's git (root's repository, read by the portal's user).
    const history = await m.go("GET", `/m/${handle}/history`);
    expect(history.status, history.body.slice(0, 300)).toBe(200);
    expect(history.body).toContain("Alice Martin");
    // A wrong password through the same path is refused.
    expect((await viaApache().login(handle, "not-the-password-000")).status).toBe(401);
    expect(pidOf()).toBe(firstPid);
    expect(readFileSync(join(tmp, "globenet-portal-access.log"), "utf8")).toMatch(/"POST \/login HTTP\/1\.1" 303/);
    expect(readFileSync(join(tmp, "globenet-portal-access.log"), "utf8")).not.toContain(password);
    // Sessions are kept in the store, the portal user's, 0600, holding no cookie.
    expect(sh("stat", ["-c", "%U %a", join(PORTAL_STATE, "store.json")]).stdout.trim()).toBe(`${PORTAL_USER} 600`);
    expect(readFileSync(join(PORTAL_STATE, "store.json"), "utf8")).not.toContain(m.jar.get("__Host-globenet-portal") as string);
  }, 180_000);

  it("a second apply with the same code and a new commit: the data is reloaded in the same process (same PID); with nothing new, the engine sees no change", async () => {
    const unchanged = portalType.diff("web1", applied as PortalOutputs, { ...(applied as unknown as PortalInputs), release: { ...(applied as PortalOutputs).release, file: "/tmp/elsewhere.tar" } });
    expect(unchanged.changes).toBe(false);
    writeFileSync(join(tree, "members", handle, "member.yaml"), `handle: ${handle}\nname: Portal probe renamed\ncontact: { email: bureau@velo-libre.example }\nstatus: active\n`);
    git("commit", "-q", "-a", "-m", "The member's new name");
    const news = dataAt();
    expect((portalType.diff("web1", applied as PortalOutputs, { ...(applied as unknown as PortalInputs), data: news }) as { diffs?: string[] }).diffs).toEqual(["data"]);
    await apply({ data: news });
    expect(run("git", ["-C", PORTAL_DATA, "rev-parse", "HEAD"]).stdout.trim()).toBe(news.commit);
    const m = member as ReturnType<typeof browser>;
    await waitFor("the new name on the member's page", () => m.go("GET", `/m/${handle}`).then((a) => a.body.includes("Portal probe renamed")), 30_000, 300);
    expect(pidOf()).toBe(firstPid);
    expect(existsSync(`/proc/${firstPid}`)).toBe(true);
  }, 180_000);

  it("a changed bundle restarts the portal (a new PID, sessions kept); a third release prunes the first", async () => {
    const first = (applied as PortalOutputs).release.sha256;
    const second = await variant(1);
    expect(second.sha256).not.toBe(first);
    await apply({ release: second });
    expect(readlinkSync(PORTAL_CURRENT)).toBe(`releases/${second.sha256}`);
    const m = member as ReturnType<typeof browser>;
    await waitFor("the restarted portal answering", () => m.go("GET", `/m/${handle}`).then((a) => a.status === 200 && a.body.includes("Portal probe renamed"), () => false), 60_000, 300);
    const secondPid = pidOf();
    expect(secondPid).not.toBe(firstPid);
    expect(existsSync(`/proc/${firstPid}`)).toBe(false);
    expect(readdirSync(PORTAL_RELEASES).sort()).toEqual([first, second.sha256].sort());
    const third = await variant(2);
    await apply({ release: third });
    await waitFor("the third release answering", () => m.go("GET", `/m/${handle}`).then((a) => a.status === 200 && a.body.includes("Portal probe renamed"), () => false), 60_000, 300);
    expect(pidOf()).not.toBe(secondPid);
    expect(readdirSync(PORTAL_RELEASES).sort()).toEqual([second.sha256, third.sha256].sort());
    expect((await portalType.read("web1", applied as PortalOutputs))?.drift).toEqual([]);
  }, 240_000);

  it("the shipped code is root's: neither the member nor the portal's own user can change it, and the member cannot even read the shipped data", () => {
    const bundle = join(PORTAL_CURRENT, RELEASE_BUNDLE);
    const before = readFileSync(bundle);
    const asPortal = (cmd: string, args: string[]) => sh("setpriv", ["--reuid", PORTAL_USER, "--regid", PORTAL_USER, "--clear-groups", "--", cmd, ...args]);
    // The portal's user reads its code and data (the legitimate use) ...
    expect(asPortal("head", ["-c", "10", bundle]).status).toBe(0);
    expect(asPortal("cat", [join(PORTAL_DATA, "members", handle, "member.yaml")]).status).toBe(0);
    // ... and cannot write to it, replace it, or move the current link.
    for (const [who, as] of [["portal", asPortal], ["member", asMember]] as const) {
      for (const [cmd, args] of [
        ["sh", ["-c", `echo 'process.exit(1)' >> ${bundle}`]],
        ["cp", ["/bin/true", bundle]],
        ["ln", ["-sfn", "/tmp", PORTAL_CURRENT]],
        ["touch", [join(PORTAL_RELEASES, "x")]],
        ["sh", ["-c", `echo x >> ${join(PORTAL_DATA, "members", handle, "member.yaml")}`]],
      ] as const) {
        const r = as(cmd, [...args]);
        expect(r.status, `${who}: ${cmd} ${args.join(" ")}`).not.toBe(0);
        expect(r.stderr, `${who}: ${cmd} ${args.join(" ")}`).toMatch(/Permission denied/);
      }
    }
    expect(readFileSync(bundle)).toEqual(before);
    expect(readlinkSync(PORTAL_CURRENT)).toMatch(/^releases\/[0-9a-f]{64}$/);
    // The member cannot list or read what was shipped (the data holds every member's file).
    expect(asMember("ls", [PORTAL_HOME]).stderr).toMatch(/Permission denied/);
    expect(asMember("cat", [join(PORTAL_DATA, "members", handle, "member.yaml")]).stderr).toMatch(/Permission denied/);
  });

  it("the attacker is a member with a shell on the same host: the token, the hashes and the sessions are out of reach; the loopback port answers, but the portal's own defences hold", async () => {
    // Their own file is theirs to read (the legitimate use), the portal's secrets are not.
    expect(asMember("cat", [join(home, ".portal-password")]).stdout).toContain(password);
    for (const f of [PORTAL_ENV, PORTAL_CREDENTIALS, join(PORTAL_STATE, "store.json"), LOG]) {
      const r = asMember("cat", [f]);
      expect(r.status, f).not.toBe(0);
      expect(r.stderr, f).toMatch(/Permission denied/);
      expect(r.stdout).not.toContain(TOKEN);
    }
    expect(asMember("ls", [PORTAL_STATE]).stderr).toMatch(/Permission denied/);
    // The portal's environment (the token) is not readable through /proc either.
    expect(asMember("cat", [`/proc/${pidOf()}/environ`]).status).not.toBe(0);
    // Straight to the loopback port, forging a new X-Forwarded-For each time: five wrong passwords lock the name.
    const attacker = direct();
    for (let i = 0; i < 5; i++) await attacker.login(handle, `guess-${i}-000000000000`, { "x-forwarded-for": `203.0.113.${i + 1}` });
    const locked = await direct().login(handle, password, { "x-forwarded-for": "203.0.113.99" });
    expect(locked.status).toBe(429);
    // ... and locked for everyone, through Apache too, even with the right password.
    expect((await viaApache().login(handle, password)).status).toBe(429);
    // A session cookie made up by the attacker opens nothing.
    const forged = direct();
    forged.jar.set("__Host-globenet-portal", "A".repeat(43));
    expect((await forged.go("GET", `/m/${handle}`)).status).toBe(303);
  }, 120_000);
});
