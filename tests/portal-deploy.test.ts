/**
 * The member portal as the apply deploys it on a web host (docs/architecture.md, "Member
 * portal"), over SSH on this machine (a throwaway sshd; no systemd here, so the portal is
 * started by hand as the lab does, with the unit's own command line, as its user): a member's
 * account, their PortalPassword (made by the provider, delivered in ~/.portal-password), the
 * Portal (its system user, state folder, hashes, the bot token's root file); then a throwaway
 * Apache serving the rendered vhost's HTTPS part (a lab-CA certificate in place of mod_md's)
 * in front of it. Checked for real: a login through Apache over HTTPS with the delivered
 * password works; the process runs as globenet-portal; the member's own account cannot read
 * the token file, the hashes or the sessions; the member can reach the loopback port directly
 * (same host), and there the portal's own defences hold: a wrong password is refused and five
 * lock the name, whatever X-Forwarded-For they forge, even through Apache afterwards.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { request as httpRequest } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../lib/base/repo";
import { labPaths } from "../lib/lab/paths";
import { ensurePortalCert } from "../lib/portal/lab-cert";
import { PORTAL_CREDENTIALS, PORTAL_ENV, PORTAL_STATE, PORTAL_USER, renderPortalEnv, renderPortalUnit, renderPortalVhost } from "../lib/render/portal";
import type { Model } from "../lib/model/types";
import { accountType, type AccountInputs } from "../provider/resources/account";
import { OWNED_DIR } from "../provider/resources/account-shared";
import { portalType } from "../provider/resources/portal";
import { portalPasswordType } from "../provider/resources/portal-password";
import { pool } from "../provider/ssh/pool";
import { freePort, waitFor } from "./helpers/daemons-web";
import { startSshd, type Sshd } from "./helpers/sshd";
import { requireRoot, requireTools, run } from "./helpers/tools";
import { writeTree, baseFiles } from "./helpers/data-tree";
import { loadModel } from "../lib/check/build";

const ok = requireTools("sshd", "ssh-keygen", "useradd", "userdel", "setpriv", "apache2", "openssl", "systemd-analyze") && requireRoot("the provider makes real unix users and the portal's root files");
const handle = `gtportal-${process.pid}`;
const home = `/home/${handle}`;
const TOKEN = `glpat-${Math.random().toString(36).slice(2)}ABCDEFGH`;
const sh = (cmd: string, args: string[]) => run(cmd, args, { timeoutMs: 30_000 });

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

describe.skipIf(!ok)("the portal deployed on a web host: behind Apache over HTTPS, as its own user, its secrets out of members' reach", () => {
  let sshd: Sshd | undefined;
  let tmp = "";
  let tree = "";
  let portal: ChildProcess | undefined;
  let apache: ChildProcess | undefined;
  let portalPort = 0;
  let httpsPort = 0;
  let ca = "";
  let password = "";
  let memberUid = 0;
  let memberGid = 0;
  const target = () => ({ name: "web1", address: "127.0.0.1", port: sshd?.port ?? 0, user: "root", hostKey: sshd?.hostKey ?? "" });
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
    for (const p of [PORTAL_ENV, PORTAL_STATE]) if (existsSync(p)) throw new Error(`${p} exists on this machine: this test would clobber it`);
    if (sh("getent", ["passwd", PORTAL_USER]).status === 0) throw new Error(`the user ${PORTAL_USER} exists on this machine: this test would take it`);
    sshd = await startSshd();
    process.env.GLOBENET_SSH_KEY_FILE = sshd.keyFile;
    tmp = mkdtempSync("/tmp/globenet-portal-deploy-");
    chmodSync(tmp, 0o755);
    // The data: the example tree with this test's member, readable by the portal's user.
    tree = writeTree({ [`members/${handle}/member.yaml`]: `handle: ${handle}\nname: Portal probe\ncontact: { email: bureau@velo-libre.example }\nstatus: active\n` });
    chmodSync(tree, 0o755);
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
    portal?.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 500));
    if (sshd) await portalType.delete("web1", { target: target(), unit: "", env: "", credentials: "", drift: [] } as never).catch(() => undefined);
    await pool.close();
    await sshd?.stop();
    if (sh("getent", ["passwd", handle]).status === 0) sh("userdel", [handle]);
    if (sh("getent", ["group", handle]).status === 0) sh("groupdel", [handle]);
    if (sh("getent", ["passwd", PORTAL_USER]).status === 0) sh("userdel", [PORTAL_USER]);
    if (sh("getent", ["group", PORTAL_USER]).status === 0) sh("groupdel", [PORTAL_USER]);
    for (const n of [handle, PORTAL_USER]) for (const k of ["user", "group"]) rmSync(join(OWNED_DIR, k, n), { force: true });
    rmSync(`/var/log/globenet-sites/${handle}`, { recursive: true, force: true });
    for (const d of [home, PORTAL_STATE, PORTAL_ENV, "/etc/systemd/system/globenet-portal.service", tmp, tree]) if (d) rmSync(d, { recursive: true, force: true });
  }, 60_000);

  it("the unit passes systemd-analyze verify (and a broken one does not)", () => {
    const units = join(tmp, "units");
    sh("mkdir", ["-p", units]);
    const unit = renderPortalUnit({ host: "web1", name: "espace.globenet.example", port: 8451, checkout: REPO_ROOT }, "prod", false);
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

  it("the apply: the member's password lands in their home (theirs, 0600) and its hash in the portal's credentials; the portal's user has no shell; the token file is root's 0600", async () => {
    const pw = await portalPasswordType.create({ target: target(), handle, home, url: "https://espace.globenet.example/" });
    const file = join(home, ".portal-password");
    const st = statSync(file);
    expect([st.uid, st.mode & 0o777]).toEqual([memberUid, 0o600]);
    password = readFileSync(file, "utf8").split("\n")[3] as string;
    expect(password).toMatch(/^[A-Za-z0-9]{20}$/);
    const hash = (pw.outs.hash as unknown as { value: string }).value;
    const model = loadModel(tree, "test").model as Model;
    const p = { host: "web1", name: "espace.globenet.example", port: 8451, checkout: REPO_ROOT, gitlab: { api: "https://gitlab.example/api/v4", project: "42", target_branch: "main" } };
    await portalType.create({
      target: target(),
      unit: renderPortalUnit(p, "test", true),
      env: renderPortalEnv({ api: p.gitlab.api, project: p.gitlab.project, token: TOKEN }),
      credentials: JSON.stringify({ [handle]: hash }),
    });
    expect(model.members.some((m) => m.handle === handle)).toBe(true);
    expect(sh("getent", ["passwd", PORTAL_USER]).stdout).toMatch(new RegExp(`^${PORTAL_USER}:x:\\d{1,3}:\\d+:[^:]*:${PORTAL_STATE}:/usr/sbin/nologin$`, "m"));
    expect(sh("stat", ["-c", "%U:%G %a", PORTAL_STATE]).stdout.trim()).toBe(`${PORTAL_USER}:${PORTAL_USER} 700`);
    expect(sh("stat", ["-c", "%U:%G %a", PORTAL_CREDENTIALS]).stdout.trim()).toBe(`${PORTAL_USER}:${PORTAL_USER} 600`);
    expect(sh("stat", ["-c", "%U:%G %a", PORTAL_ENV]).stdout.trim()).toBe("root:root 600");
    expect(readFileSync(PORTAL_ENV, "utf8")).toContain(TOKEN);
    // read finds nothing out of line; a password file made world-readable is drift.
    const read = await portalPasswordType.read(handle, pw.outs);
    expect(read?.drift).toEqual([]);
  }, 120_000);

  it("behind Apache over HTTPS: the member logs in with the delivered password; the process runs as globenet-portal", async () => {
    portalPort = await freePort();
    httpsPort = await freePort();
    // The unit's command, run by hand as its user (no systemd here), the data from the test's tree.
    portal = spawn("setpriv", ["--reuid", PORTAL_USER, "--regid", PORTAL_USER, "--clear-groups", "--no-new-privs", "--", process.execPath, "node_modules/tsx/dist/cli.mjs", "lib/cli/main.ts", "portal", "--serve", "--root", tree, "--stack", "test", "--listen", `127.0.0.1:${portalPort}`, "--state", PORTAL_STATE], {
      cwd: REPO_ROOT,
      // As systemd gives it from the EnvironmentFile: the token in the environment only.
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: PORTAL_STATE, LANG: "C.UTF-8", CI_API_V4_URL: "https://gitlab.example/api/v4", CI_PROJECT_ID: "42", GITLAB_API_TOKEN: TOKEN },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    portal.stdout?.on("data", (c: Buffer) => (out += c.toString()));
    portal.stderr?.on("data", (c: Buffer) => (out += c.toString()));
    await waitFor("the portal listening", () => out.includes("behind Apache") || portal?.exitCode !== null, 60_000);
    expect(out).toContain(`on http://127.0.0.1:${portalPort}/`);
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
    const member = viaApache();
    await waitFor("Apache answering", () => member.go("GET", "/login").then((a) => a.status === 200, () => false), 30_000, 200);
    const logged = await member.login(handle, password);
    expect(logged.status).toBe(303);
    expect(logged.headers.location).toBe(`/m/${handle}`);
    const session = ([] as string[]).concat(logged.headers["set-cookie"] ?? []).find((c) => c.startsWith("__Host-globenet-portal="));
    for (const flag of [/; Path=\//, /; HttpOnly/, /; Secure/, /; SameSite=Strict/]) expect(session).toMatch(flag);
    const page = await member.go("GET", `/m/${handle}`);
    expect(page.status).toBe(200);
    expect(page.body).toContain("Portal probe");
    expect(page.headers["strict-transport-security"]).toBeDefined();
    // A wrong password through the same path is refused.
    expect((await viaApache().login(handle, "not-the-password-000")).status).toBe(401);
    // The process that answered runs as the portal's user; the access log is Apache's.
    const users = sh("ps", ["-o", "user:32=", "--ppid", String(portal.pid)]).stdout.trim().split("\n").concat(sh("ps", ["-o", "user:32=", "-p", String(portal.pid)]).stdout.trim());
    expect(new Set(users.filter(Boolean))).toEqual(new Set([PORTAL_USER]));
    expect(readFileSync(join(tmp, "globenet-portal-access.log"), "utf8")).toMatch(/"POST \/login HTTP\/1\.1" 303/);
    expect(readFileSync(join(tmp, "globenet-portal-access.log"), "utf8")).not.toContain(password);
    // Sessions are kept in the store, the portal user's, 0600, holding no cookie.
    expect(sh("stat", ["-c", "%U %a", join(PORTAL_STATE, "store.json")]).stdout.trim()).toBe(`${PORTAL_USER} 600`);
    expect(readFileSync(join(PORTAL_STATE, "store.json"), "utf8")).not.toContain(member.jar.get("__Host-globenet-portal") as string);
  }, 180_000);

  it("the attacker is a member with a shell on the same host: the token, the hashes and the sessions are out of reach; the loopback port answers, but the portal's own defences hold", async () => {
    // Their own file is theirs to read (the legitimate use), the portal's secrets are not.
    expect(asMember("cat", [join(home, ".portal-password")]).stdout).toContain(password);
    for (const f of [PORTAL_ENV, PORTAL_CREDENTIALS, join(PORTAL_STATE, "store.json")]) {
      const r = asMember("cat", [f]);
      expect(r.status, f).not.toBe(0);
      expect(r.stderr, f).toMatch(/Permission denied/);
      expect(r.stdout).not.toContain(TOKEN);
    }
    expect(asMember("ls", [PORTAL_STATE]).stderr).toMatch(/Permission denied/);
    // The portal's environment (the token) is not readable through /proc either.
    expect(asMember("cat", [`/proc/${portal?.pid}/environ`]).status).not.toBe(0);
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
