/**
 * The portal's live snapshot for real (docs/architecture.md, "Member portal"): the portal's
 * user and state folder as the apply leaves them (tests/portal-deploy.test.ts deploys them for
 * real), a throwaway sshd on loopback, the snapshot is delivered through the provider's SSH layer
 * (provider/scripts/portal/live.sh, the JSON on stdin), and the deployed portal (`--serve`, as
 * its own user, by hand: no systemd here) shows it on the logged-in member's page with its time;
 * a stale one (delivered the same way) and a missing one are said as such, with no figure.
 * Attacks next to the legitimate use: the portal's user can read the file but not change it,
 * and a link or folder it plants at live.json is replaced or refused, never followed; a member
 * with a shell cannot read it; the page shows the member's own entry only.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../lib/base/repo";
import { loadModel } from "../lib/check/build";
import type { Model } from "../lib/model/types";
import { hashPassword } from "../lib/portal/credentials";
import { buildSnapshot, deliverTo, LIVE_MAX_AGE_MS, LIVE_PATH, snapshotJson, type LiveReads } from "../lib/portal/live";
import { PORTAL_CREDENTIALS, PORTAL_STATE, PORTAL_USER } from "../lib/render/portal";
import { OWNED_DIR } from "../provider/resources/account-shared";
import { pool } from "../provider/ssh/pool";
import { freePort, waitFor } from "./helpers/daemons-web";
import { portalClient } from "./helpers/portal-client";
import { writeTree } from "./helpers/data-tree";
import { startSshd, type Sshd } from "./helpers/sshd";
import { requireRoot, requireTools, run } from "./helpers/tools";

const ok = requireTools("sshd", "ssh-keygen", "useradd", "userdel", "setpriv") && requireRoot("the portal's user and its root-owned live file");
const sh = (cmd: string, args: string[]) => run(cmd, args, { timeoutMs: 30_000 });
const PASSWORD = `pw-${Math.random().toString(36).slice(2)}`;
const MEMBER = "velo-libre";
const OTHER = "globenet";
// Figures no page holds but from the snapshot: the member's home size, and the other member's.
const MINE_BYTES = 123_456_789;
const OTHER_BYTES = 987_654_321;

describe.skipIf(!ok)("the portal's live snapshot: delivered over SSH into its state, shown with its time, stale or missing said", () => {
  let sshd: Sshd | undefined;
  let tree = "";
  let tmp = "";
  let model: Model;
  let portal: ChildProcess | undefined;
  let port = 0;
  let portalUid = 0;
  const target = () => ({ name: "web1", address: "127.0.0.1", port: sshd?.port ?? 0, user: "root", hostKey: sshd?.hostKey ?? "" });
  const asUser = (uid: number, cmd: string, args: string[]) => sh("setpriv", [`--reuid=${uid}`, `--regid=${uid}`, "--clear-groups", "--", cmd, ...args]);
  const asPortal = (cmd: string, args: string[]) => sh("setpriv", ["--reuid", PORTAL_USER, "--regid", PORTAL_USER, "--clear-groups", "--", cmd, ...args]);
  /** The snapshot as the runner makes it, of the reads given, taken at `at`. */
  const snapshot = (at: Date) => {
    const reads: LiveReads = {
      usage: [MEMBER, OTHER].map((h) => ({ handle: h, webHost: "web1", homeBytes: h === MEMBER ? MINE_BYTES : OTHER_BYTES, homeMissing: false, quotaMb: 1024, inodeQuota: 10_000, databases: [] })),
      certs: [],
      failed: [],
    };
    return snapshotJson(buildSnapshot(model, "test", [MEMBER, OTHER], reads, at), model);
  };

  beforeAll(async () => {
    if (existsSync(PORTAL_STATE)) throw new Error(`${PORTAL_STATE} exists on this machine: this test would clobber it`);
    if (sh("getent", ["passwd", PORTAL_USER]).status === 0) throw new Error(`the user ${PORTAL_USER} exists on this machine: this test would take it`);
    sshd = await startSshd();
    process.env.GLOBENET_SSH_KEY_FILE = sshd.keyFile;
    tmp = mkdtempSync("/tmp/globenet-portal-live-");
    chmodSync(tmp, 0o755);
    tree = writeTree({});
    chmodSync(tree, 0o755);
    model = loadModel(tree, "test").model as Model;
    // The portal's user and state folder as the apply's Portal leaves them (the user system and
    // nologin, the folder its own 0700, its credentials 0600): made here by hand, as this test is
    // about the snapshot, not the deployment (tests/portal-deploy.test.ts deploys it for real).
    expect(sh("useradd", ["--system", "--user-group", "--home-dir", PORTAL_STATE, "--no-create-home", "--shell", "/usr/sbin/nologin", PORTAL_USER]).status).toBe(0);
    mkdirSync(PORTAL_STATE, { mode: 0o700 });
    writeFileSync(PORTAL_CREDENTIALS, JSON.stringify({ [MEMBER]: await hashPassword(PASSWORD), [OTHER]: await hashPassword(`${PASSWORD}-other`) }), { mode: 0o600 });
    expect(sh("chown", ["-R", `${PORTAL_USER}:${PORTAL_USER}`, PORTAL_STATE]).status).toBe(0);
    portalUid = Number(sh("id", ["-u", PORTAL_USER]).stdout.trim());
  }, 120_000);

  afterAll(async () => {
    portal?.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 500));
    await pool.close();
    await sshd?.stop();
    if (sh("getent", ["passwd", PORTAL_USER]).status === 0) sh("userdel", [PORTAL_USER]);
    if (sh("getent", ["group", PORTAL_USER]).status === 0) sh("groupdel", [PORTAL_USER]);
    for (const k of ["user", "group"]) rmSync(join(OWNED_DIR, k, PORTAL_USER), { force: true });
    for (const d of [PORTAL_STATE, "/etc/globenet/portal.env", "/etc/systemd/system/globenet-portal.service", tmp, tree]) if (d) rmSync(d, { recursive: true, force: true });
    for (const left of sh("sh", ["-c", "ls -d /var/lib/.globenet-portal-live.* 2>/dev/null || true"]).stdout.split("\n").filter(Boolean)) rmSync(left, { recursive: true, force: true });
  }, 60_000);

  it("delivered through the provider's SSH: root's, group the portal's user, 0640, the JSON as sent; the portal's user reads it and cannot write it; another user cannot read it", async () => {
    const text = snapshot(new Date());
    const where = await deliverTo(target(), text);
    expect(where).toEqual({ host: "web1", path: LIVE_PATH });
    expect(sh("stat", ["-c", "%U:%G %a", LIVE_PATH]).stdout.trim()).toBe(`root:${PORTAL_USER} 640`);
    expect(readFileSync(LIVE_PATH, "utf8")).toBe(text);
    expect(asPortal("cat", [LIVE_PATH]).stdout).toBe(text);
    const write = asPortal("sh", ["-c", `echo '{"forged":1}' > ${LIVE_PATH}`]);
    expect(write.status).not.toBe(0);
    expect(write.stderr).toMatch(/Permission denied/);
    expect(readFileSync(LIVE_PATH, "utf8")).toBe(text);
    // Any other account (a member's shell: nobody here) cannot read it.
    const nobody = Number(sh("id", ["-u", "nobody"]).stdout.trim());
    const read = asUser(nobody, "cat", [LIVE_PATH]);
    expect(read.status).not.toBe(0);
    expect(read.stderr).toMatch(/Permission denied/);
    // Nothing of the delivery's work is left beside the state folder.
    expect(sh("sh", ["-c", "ls -d /var/lib/.globenet-portal-live.* 2>/dev/null || true"]).stdout.trim()).toBe("");
  }, 60_000);

  it("the portal's user plants a link at live.json to a root file: the next delivery replaces the link, the file it pointed at is untouched; a folder there is refused", async () => {
    const victim = join(tmp, "victim");
    writeFileSync(victim, "root's own\n", { mode: 0o600 });
    expect(asPortal("sh", ["-c", `rm -f ${LIVE_PATH} && ln -s ${victim} ${LIVE_PATH}`]).status).toBe(0);
    const text = snapshot(new Date());
    await deliverTo(target(), text);
    expect(readFileSync(victim, "utf8")).toBe("root's own\n");
    expect(sh("stat", ["-c", "%U:%G %a", victim]).stdout.trim()).toBe("root:root 600");
    expect(sh("stat", ["-c", "%F %U:%G %a", LIVE_PATH]).stdout.trim()).toBe(`regular file root:${PORTAL_USER} 640`);
    expect(readFileSync(LIVE_PATH, "utf8")).toBe(text);
    // A folder in its place: refused, nothing moved into it.
    expect(asPortal("sh", ["-c", `rm -f ${LIVE_PATH} && mkdir ${LIVE_PATH}`]).status).toBe(0);
    await expect(deliverTo(target(), text)).rejects.toThrow(/live\.json is a folder: refusing/);
    expect(sh("ls", ["-A", LIVE_PATH]).stdout.trim()).toBe("");
    rmSync(LIVE_PATH, { recursive: true });
  }, 60_000);

  it("the deployed portal (--serve, as its user): the member's own figures with their time; a stale snapshot and a missing one are said, with no figure", async () => {
    await deliverTo(target(), snapshot(new Date()));
    port = await freePort();
    portal = spawn("setpriv", ["--reuid", PORTAL_USER, "--regid", PORTAL_USER, "--clear-groups", "--no-new-privs", "--", process.execPath, "node_modules/tsx/dist/cli.mjs", "lib/cli/main.ts", "portal", "--serve", "--root", tree, "--stack", "test", "--listen", `127.0.0.1:${port}`, "--state", PORTAL_STATE], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: PORTAL_STATE, LANG: "C.UTF-8" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    portal.stdout?.on("data", (c: Buffer) => (out += c.toString()));
    portal.stderr?.on("data", (c: Buffer) => (out += c.toString()));
    await waitFor("the portal listening", () => out.includes("behind Apache") || portal?.exitCode !== null, 60_000);
    expect(out).toContain(`live figures from ${LIVE_PATH}`);
    expect(sh("ps", ["-o", "uid=", "-p", String(portal.pid)]).stdout.trim()).toBe(String(portalUid));

    // Straight to the loopback port (plain HTTP: Apache's part is tests/portal-deploy.test.ts's).
    const member = portalClient(() => port);
    expect((await member.login(MEMBER, PASSWORD)).status).toBe(303);
    const page = async () => (await member.send("GET", `/m/${MEMBER}`)).body;
    const fresh = await page();
    expect(fresh).toMatch(/Chiffres lus le \d{4}-\d\d-\d\d \d\d:\d\d UTC sur les serveurs\./);
    expect(fresh).toContain("117.7 MiB");
    // The file holds the other member's figures too: never on this page.
    expect(fresh).not.toContain("941.9 MiB");
    // Another member's page: the same 403 as ever.
    expect((await member.send("GET", `/m/${OTHER}`)).status).toBe(403);

    // A snapshot taken longer ago than the bound, delivered the same way: said, no figure shown.
    const old = new Date(Date.now() - LIVE_MAX_AGE_MS - 5 * 60_000);
    await deliverTo(target(), snapshot(old));
    const stale = await page();
    expect(stale).toContain(`Les derniers chiffres lus sur les serveurs datent du ${old.toISOString().slice(0, 16).replace("T", " ")} UTC, il y a plus de 60 minutes`);
    expect(stale).not.toContain("117.7 MiB");
    expect(stale).not.toContain("Chiffres lus le");

    // No snapshot at all (the schedule never ran): said too.
    rmSync(LIVE_PATH);
    const none = await page();
    expect(none).toContain("ne sont pas disponibles pour le moment");
    expect(none).not.toContain("117.7 MiB");

    // And back: the next delivery is read at the next page, no restart.
    await deliverTo(target(), snapshot(new Date()));
    expect(await page()).toContain("117.7 MiB");
  }, 180_000);
});
