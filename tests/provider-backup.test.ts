/**
 * System tier: backups for real (docs/architecture.md, "Backups"). The provider's backup Client
 * and Repository are applied to this machine over a throwaway sshd (as root); borg reaches the
 * backup host's account through a second sshd that reads ~/.ssh/authorized_keys, so the
 * append-only forced command is sshd's own. A throwaway MariaDB serves the database; a real
 * unix user owns the home. Everything is removed at the end, whatever happened.
 *
 * Run it under the machine's lock: flock /tmp/globenet-real-daemons.lock npx vitest run tests/provider-backup.test.ts
 */
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OWNED_DIR, secret } from "../provider/resources/account-shared";
import { backupClientType, type BackupClientInputs, type BackupClientOutputs } from "../provider/resources/backup-client";
import { backupRepositoryType, type BackupRepositoryInputs, type BackupRepositoryOutputs } from "../provider/resources/backup-repository";
import { pool } from "../provider/ssh/pool";
import { REPO_ROOT } from "../lib/base/repo";
import { HOST_PATH } from "../lib/bench/backup";
import { exportKey } from "../lib/cli/backup-export-key";
import { purgeOnHost } from "../lib/cli/backup-purge-departure";
import { captureIo } from "../lib/cli/command";
import { startMariaDB, type MariaDB } from "./helpers/mariadb";
import { startSshd, type Sshd } from "./helpers/sshd";
import { requireRoot, requireTools, run } from "./helpers/tools";

const ok =
  requireTools("borg", "sshd", "ssh", "ssh-keygen", "useradd", "userdel", "setpriv", "tar", "promtool") &&
  requireTools("mariadbd", "mariadb", "mariadb-dump") &&
  requireRoot("the backup resources make a system account, write /etc and run borg as root");

const pid = process.pid;
const handle = `gtbk-${pid}`;
const home = `/home/${handle}`;
/** A second member on the same host: its home goes into the same homes archive. */
const handle2 = `gtbkb-${pid}`;
const home2 = `/home/${handle2}`;
const db = `gtbk_${pid}`;
const account = `gtbkup-${pid}`;
const base = `/srv/globenet-backup-test-${pid}`;
/** Inventory names of their own, so a lab's hosts (lab, hv1, hv2) on this machine are never touched. */
const WEB = `gtweb-${pid}`;
const HV = `gthv-${pid}`;
const RACE = `gtrace-${pid}`;
const repo = `${base}/${WEB}`;
const ETC_ALL = "/etc/globenet/backup";
const STATE_ALL = "/var/lib/globenet/backup";
/** WEB's: the machine also plays HV (as the lab's plays lab, hv1 and hv2), each with its own set-up. */
const ETC = `${ETC_ALL}/${WEB}`;
const STATE = `${STATE_ALL}/${WEB}`;
const RUN = "/usr/local/sbin/globenet-backup";
const CRON = `/etc/cron.d/globenet-backup-${WEB}`;
const HV_CRON = `/etc/cron.d/globenet-backup-${HV}`;
const RESTORE = "/var/lib/globenet/restore";
/** The node exporter's textfile directory (Debian's prometheus-node-exporter): each host's run writes its metrics there. */
const PROM_DIR = "/var/lib/prometheus/node-exporter";
const PROM = `${PROM_DIR}/globenet-backup-${WEB}.prom`;
const HV_PROM = `${PROM_DIR}/globenet-backup-${HV}.prom`;
/** The names a member may give files: a space, a leading dash, UTF-8, a line break. */
const ODD = ["with space.txt", "-leading-dash", "été ünïcode ✓.txt", "new\nline.txt"];

/** Departure archives as the provider names them (accounts/, databases/, sites/, vps/): the member's, then neighbours' that a purge of it must leave. */
const DEPARTURE = [`accounts/${handle}-20261130T101010Z.tar.gz`, `accounts/${handle}-20261130T101010Z.crontab`, `databases/${db}-20261130T101010Z.sql.gz`, `sites/${handle}--velo.example-20261130T101010Z-1.tar.gz`, `vps/${handle}--vm-20261130T101010Z.qcow2`];
const NEIGHBOURS = [`accounts/${handle}-2-20261130T101010Z.tar.gz`, `accounts/gtother-20261130T101010Z.tar.gz`, `databases/${db}_2-20261130T101010Z.sql.gz`, `sites/${handle}-2--velo.example-20261130T101010Z.tar.gz`];

/** Every run's output, to grep for the passphrase at the end. */
const outputs: string[] = [];

/**
 * What the host runs: the PATH of its backup cron file. This machine's own may start with
 * pyenv's shims, which make each python3 run.sh starts cost 0.4 s (and more under load) that no
 * host pays.
 */
const HOST_ENV = { PATH: HOST_PATH };

function sh(cmd: string, args: string[], input?: string, timeoutMs = 120_000): { status: number | null; stdout: string; stderr: string } {
  const r = run(cmd, args, { timeoutMs, input, env: HOST_ENV });
  outputs.push(r.stdout, r.stderr);
  return r;
}
const backup = (...args: string[]) => sh(RUN, ["--host", WEB, ...args]);
const execOk = (cmd: string, args: string[]) => expect(sh(cmd, args).status, `${cmd} ${args.join(" ")}`).toBe(0);

/** The tree under `root`: path → type, mode, owner, and content hash or link target. */
function manifest(root: string, skip: (rel: string) => boolean = () => false): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    const p = rel ? join(root, rel) : root;
    const st = lstatSync(p);
    const meta = `${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`;
    if (st.isSymbolicLink()) out[rel || "."] = `link ${meta} -> ${readlinkSync(p)}`;
    else if (st.isDirectory()) {
      out[rel || "."] = `dir ${meta}`;
      for (const n of readdirSync(p)) {
        const r = rel ? `${rel}/${n}` : n;
        if (!skip(r)) walk(r);
      }
    } else out[rel] = `file ${meta} ${createHash("sha256").update(readFileSync(p)).digest("hex")}`;
  };
  walk("");
  return out;
}

/** Files of the repository on the backup host and their hashes (what append-only must never lose). */
function segments(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const d of readdirSync(join(repo, "data"))) for (const f of readdirSync(join(repo, "data", d))) out[`${d}/${f}`] = createHash("sha256").update(readFileSync(join(repo, "data", d, f))).digest("hex");
  return out;
}

/** The status line of `id` in the client's status file: result, last good time, size, archive, failed. */
function status(id: string): { result?: string; lastOk?: string; size?: number; archive?: string; failed?: string } | undefined {
  const line = readFileSync(`${STATE}/status`, "utf8").split("\n").find((l) => l.startsWith(`${id} `));
  if (!line) return undefined;
  const f = (k: string) => new RegExp(` ${k}=(\\S+)`).exec(line)?.[1];
  return { result: f("result"), lastOk: f("last_ok"), size: Number(f("size")), archive: f("archive"), failed: f("failed") };
}

/** The samples of the host's metrics file: `name{labels}` → value, after promtool check metrics accepts it. */
function metrics(): Map<string, number> {
  const text = readFileSync(PROM, "utf8");
  const lint = run("promtool", ["check", "metrics"], { input: text, timeoutMs: 30_000 });
  expect(lint.status, lint.stdout + lint.stderr).toBe(0);
  expect(lstatSync(PROM).mode & 0o777, "readable by the node exporter (user prometheus)").toBe(0o644);
  return new Map(text.split("\n").filter((l) => l && !l.startsWith("#")).map((l) => [l.slice(0, l.lastIndexOf(" ")), Number(l.slice(l.lastIndexOf(" ") + 1))]));
}
const series = (name: string, source: string, kind: string, sourceName: string, who?: string) =>
  `${name}{backup_host="${WEB}",source="${source}",kind="${kind}",name="${sourceName}"${who ? `,handle="${who}"` : ""}}`;
const epoch = (iso: string | undefined) => Math.floor(Date.parse(iso ?? "") / 1000);

/** The archives holding `who`'s home, oldest first (the homes runs that held it, its former own archives). */
const homeArchives = (who: string) => backup("list-home", who).stdout.trim().split("\n").filter(Boolean);
const HOMES = new RegExp(`^homes--${WEB}--\\d{8}T\\d{6}Z$`);

/** As the backup account on the backup host, with no passphrase at all: what a volunteer there can run. */
function asAccount(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const tmp = mkdtempSync("/tmp/globenet-bk-acct-");
  chownSync(tmp, Number(sh("id", ["-u", account]).stdout), Number(sh("id", ["-g", account]).stdout));
  try {
    return sh("setpriv", ["--reuid", account, "--regid", account, "--clear-groups", "--", "env", "-i", "PATH=/usr/bin:/bin", "LC_ALL=C.UTF-8", `HOME=${tmp}`, `BORG_BASE_DIR=${tmp}`, "borg", ...args]);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

describe.skipIf(!ok)("backups: the backup Client and Repository, run.sh and borg, for real", () => {
  let sshd: Sshd; // the provider's way in (both "hosts" are this machine)
  let bsshd: Sshd; // the backup host's sshd, which borg reaches
  let maria: MariaDB;
  let archives: string;
  /** GLOBENET_STATE_BACKUP_DIR as CI's state-backup job fills it (backup.state in the inventory). */
  let stateDir: string;
  let uid: number;
  let gid: number;
  let clientIn: BackupClientInputs;
  let clientOut: BackupClientOutputs;
  let repoIn: BackupRepositoryInputs;
  let repoOut: BackupRepositoryOutputs;
  let pass: string;
  let hv1Out: BackupClientOutputs;
  let hv1Repo: BackupRepositoryOutputs;
  let original: Record<string, string>;
  /** What home_excludes leave out: .cache, tmp, and each site's tmp. */
  const skipExcluded = (r: string) => r === ".cache" || r === "tmp" || /^sites\/[^/]+\/tmp$/.test(r);

  /** /etc/globenet is left as found: removed at the end only if this test made it. */
  const hadEtcGlobenet = existsSync("/etc/globenet");
  const hadRestore = existsSync(RESTORE);
  const hadRun = existsSync(RUN);
  const hadEtcAll = existsSync(ETC_ALL);
  const hadStateAll = existsSync(STATE_ALL);
  const hadKeysLock = existsSync("/var/lib/globenet/backup-keys.lock");
  const hadAccountLock = existsSync("/var/lib/globenet/backup-account.lock");
  const REPO_CHECK = "/usr/local/sbin/globenet-backup-repo-check";
  const hadRepoCheck = existsSync(REPO_CHECK);
  const hadRepoState = existsSync("/var/lib/globenet/backup-repos");
  /** The backup host's weekly check of each repository: its cron file, result and log. */
  const weeklyFiles = [WEB, HV, RACE].flatMap((h) => [`/etc/cron.d/globenet-backup-repo-${h}`, `/var/lib/globenet/backup-repos/${h}.status`, `/var/lib/globenet/backup-repos/${h}.lock`, `/var/log/globenet-backup-repo-${h}.log`]);
  /** Set once the machine-wide paths are known to be this test's: afterAll removes them only then. */
  let mine = false;

  beforeAll(async () => {
    for (const p of [ETC, STATE, CRON, `${ETC_ALL}/${HV}`, `${STATE_ALL}/${HV}`, HV_CRON, PROM, HV_PROM, ...weeklyFiles]) expect(existsSync(p), `${p} exists already (a lab or an earlier run left it): remove it before this test`).toBe(false);
    expect(existsSync(PROM_DIR), `${PROM_DIR} is missing: install prometheus-node-exporter (its textfile directory)`).toBe(true);
    for (const u of [handle, handle2]) expect(sh("getent", ["passwd", u]).status).not.toBe(0);
    mine = true;
    sshd = await startSshd();
    bsshd = await startSshd({ homeKeys: true });
    process.env.GLOBENET_SSH_KEY_FILE = sshd.keyFile;
    maria = await startMariaDB();
    archives = mkdtempSync("/tmp/globenet-bk-archives-");
    writeFileSync(join(archives, "departed--2026.tar.gz"), "an archive\n");
    for (const f of [...DEPARTURE, ...NEIGHBOURS]) {
      mkdirSync(join(archives, f, ".."), { recursive: true, mode: 0o700 });
      writeFileSync(join(archives, f), `archive ${f}\n`, { mode: 0o600 });
    }
    stateDir = mkdtempSync("/tmp/globenet-bk-state-");
    writeFileSync(join(stateDir, "prod-2026-12-04T02-00-00Z.json"), '{"version":3,"checkpoint":{}}\n', { mode: 0o600 });
    // The member and its home, as the Account makes them (0750, its own group).
    expect(sh("useradd", ["-m", "-d", home, "-s", "/bin/bash", "-U", "-p", "*", handle]).status).toBe(0);
    uid = Number(sh("id", ["-u", handle]).stdout);
    gid = Number(sh("id", ["-g", handle]).stdout);
    const asMember = (script: string, ...args: string[]) => expect(sh("setpriv", ["--reuid", String(uid), "--regid", String(gid), "--clear-groups", "--", "bash", "-c", script, "x", ...args]).status).toBe(0);
    asMember(
      `set -e; cd "$1"; chmod 0750 .; mkdir -p sites/velo.example/htdocs sites/velo.example/tmp tmp .cache private
       echo '<?php echo 1;' > sites/velo.example/htdocs/index.php; chmod 0640 sites/velo.example/htdocs/index.php
       printf '#!/bin/sh\\necho hi\\n' > sites/velo.example/run.sh; chmod 0751 sites/velo.example/run.sh
       head -c 300000 /dev/urandom > private/blob.bin; chmod 0600 private/blob.bin; chmod 0700 private
       ln -s sites/velo.example/htdocs/index.php current; ln -s /etc/passwd outside-link
       echo cache > .cache/c; echo tmp > tmp/t; echo tmp > sites/velo.example/tmp/t`,
      home,
    );
    for (const n of ODD) asMember('printf "%s\\n" "$2" > "$1/$2"', home, n);
    expect(sh("useradd", ["-m", "-d", home2, "-s", "/bin/bash", "-U", "-p", "*", handle2]).status).toBe(0);
    writeFileSync(join(home2, "second.txt"), "the second member's\n");
    expect(sh("chown", ["-R", `${handle2}:${handle2}`, home2]).status).toBe(0);
    original = manifest(home, skipExcluded);
    maria.exec(`CREATE DATABASE ${db}; USE ${db};
      CREATE TABLE a (id INT AUTO_INCREMENT PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB;
      CREATE TABLE b (id INT AUTO_INCREMENT PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB;
      CREATE TABLE fixed (k VARCHAR(20) PRIMARY KEY, v TEXT) ENGINE=InnoDB;
      INSERT INTO fixed VALUES ('one', 'été'), ('two', 'x''y');`);
    const target = { name: WEB, address: "127.0.0.1", port: sshd.port, user: "root", hostKey: sshd.hostKey };
    const c = backupClientType.check({
      target,
      backup: { address: "127.0.0.1", port: bsshd.port, user: account, hostKey: bsshd.hostKey, repository: repo },
      sources: [
        { kind: "home", name: handle, handle, path: home, excludes: [".cache", "tmp", "sites/*/tmp"] },
        { kind: "home", name: handle2, handle: handle2, path: home2, excludes: [".cache", "tmp", "sites/*/tmp"] },
        { kind: "database", name: db, handle },
        { kind: "path", name: "archives", path: archives },
        { kind: "path", name: "state", path: stateDir },
        { kind: "path", name: "dnssec", path: `/tmp/globenet-bk-none-${pid}` },
        { kind: "vps-disk", name: "gtbk--vm", handle, domain: "gtbk--vm", disk: "/var/lib/libvirt/images/none.qcow2", base: "/var/lib/libvirt/images/none-base.qcow2" },
      ],
      settings: { time: "02:30", retention: { daily: 7, weekly: 4, monthly: 12 }, checkEveryDays: 7, maxAgeHours: 26 },
      socket: maria.socket,
    });
    expect(c.failures).toBeUndefined();
    clientIn = c.inputs as BackupClientInputs;
  }, 180_000);

  afterAll(async () => {
    await pool.close();
    await bsshd?.stop();
    await sshd?.stop();
    await maria?.stop();
    for (const p of [base, archives, stateDir]) if (p) rmSync(p, { recursive: true, force: true });
    // Never a lab's backups: the machine-wide paths only when this test found them absent.
    if (!mine) return;
    for (const h of [home, home2, `${home2}.aside`]) rmSync(h, { recursive: true, force: true });
    for (const p of [ETC, STATE, CRON, `${ETC_ALL}/${HV}`, `${STATE_ALL}/${HV}`, HV_CRON, PROM, HV_PROM, ...weeklyFiles]) rmSync(p, { recursive: true, force: true });
    if (!hadRun) rmSync(RUN, { force: true });
    if (!hadRepoCheck) rmSync(REPO_CHECK, { force: true });
    if (!hadRepoState) rmSync("/var/lib/globenet/backup-repos", { recursive: true, force: true });
    for (const [d, had] of [[ETC_ALL, hadEtcAll], [STATE_ALL, hadStateAll]] as const) if (!had && existsSync(d) && readdirSync(d).length === 0) rmSync(d, { recursive: true });
    // The restores' staging folders and kept dumps this test made (their paths are in its outputs).
    for (const m of outputs.join("\n").matchAll(/^(?:staging|kept)=(\/var\/lib\/globenet\/restore\/\S+)$/gm)) rmSync(m[1] as string, { recursive: true, force: true });
    if (!hadRestore && existsSync(RESTORE) && readdirSync(RESTORE).length === 0) rmSync(RESTORE, { recursive: true });
    for (const u of [handle, handle2, account]) if (sh("getent", ["passwd", u]).status === 0) sh("userdel", [u]);
    for (const g of [handle, handle2, account]) if (sh("getent", ["group", g]).status === 0) sh("groupdel", [g]);
    for (const k of ["user", "group"]) rmSync(join(OWNED_DIR, k, account), { force: true });
    if (!hadKeysLock) rmSync("/var/lib/globenet/backup-keys.lock", { force: true });
    if (!hadAccountLock) rmSync("/var/lib/globenet/backup-account.lock", { force: true });
    if (!hadEtcGlobenet && existsSync("/etc/globenet") && readdirSync("/etc/globenet").length === 0) rmSync("/etc/globenet", { recursive: true });
  });

  it("apply: the Client makes its key on the host, the Repository its account, repository and forced-command key line", async () => {
    const c = await backupClientType.create(clientIn);
    clientOut = c.outs;
    pass = (clientOut.passphrase as { value: string }).value;
    expect(pass).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // The passphrase is a secret output; the plain outputs do not hold it.
    expect(JSON.stringify({ ...clientOut, passphrase: undefined })).not.toContain(pass);
    expect(clientOut.passphrase).toEqual(secret(pass));
    expect(clientOut.publicKey).toBe(readFileSync(`${ETC}/id_ed25519.pub`, "utf8").trim());
    const mode = (p: string) => `${(statSync(p).mode & 0o7777).toString(8)} ${statSync(p).uid}`;
    expect([ETC, `${ETC}/id_ed25519`, `${ETC}/passphrase`, `${ETC}/sources`, RUN, CRON].map(mode)).toEqual(["700 0", "600 0", "600 0", "600 0", "700 0", "644 0"]);
    expect(readFileSync(`${ETC}/passphrase`, "utf8")).toBe(pass);
    expect(readFileSync(CRON, "utf8")).toContain(`\n30 2 * * * root /usr/local/sbin/globenet-backup --host ${WEB} scheduled `);
    const r = backupRepositoryType.check({ target: clientIn.target, account, path: repo, sourceHost: WEB, publicKey: clientOut.publicKey, passphrase: clientOut.passphrase, time: "02:30" });
    expect(r.failures).toBeUndefined();
    repoIn = r.inputs as BackupRepositoryInputs;
    // As the engine does on a new backup host: two hosts' repositories created at once, and no
    // account yet. One makes it, the other waits for it and uses it (both once failed but one,
    // "useradd: user already exists").
    expect(sh("getent", ["passwd", account]).status).not.toBe(0);
    const raceIn = backupRepositoryType.check({ ...repoIn, path: `${base}/${RACE}`, sourceHost: RACE }).inputs as BackupRepositoryInputs;
    const [made, raced] = await Promise.all([backupRepositoryType.create(repoIn), backupRepositoryType.create(raceIn)]);
    repoOut = made.outs;
    expect(existsSync(join(base, RACE, "config"))).toBe(true);
    expect(statSync(join(base, RACE)).uid).toBe(statSync(repo).uid);
    await backupRepositoryType.delete(`${base}/${RACE}`, raced.outs);
    expect(JSON.stringify({ ...repoOut, passphrase: undefined })).not.toContain(pass);
    expect(existsSync(join(repo, "config"))).toBe(true);
    expect(mode(repo)).toBe(`700 ${sh("id", ["-u", account]).stdout.trim()}`);
    expect(mode(base)).toBe("755 0");
    expect(readFileSync(join(OWNED_DIR, "user", account), "utf8").trim()).toBe(sh("id", ["-u", account]).stdout.trim());
    const keys = readFileSync(join(base, ".ssh/authorized_keys"), "utf8");
    expect(keys).toBe(`restrict,command="borg serve --append-only --restrict-to-repository ${repo}" ${clientOut.publicKey.split(" ").slice(0, 2).join(" ")} globenet-repository=${repo}\n`);
    // Read back: no drift; a changed time rewrites the cron file, key and passphrase stay.
    expect((await backupClientType.read(WEB, clientOut))?.drift).toEqual([]);
    expect((await backupRepositoryType.read(repo, repoOut))?.drift).toEqual([]);
    const later = { ...clientIn, settings: { ...clientIn.settings, time: "03:45" } };
    const u = await backupClientType.update(WEB, clientOut, later);
    expect(u.publicKey).toBe(clientOut.publicKey);
    expect((u.passphrase as { value: string }).value).toBe(pass);
    expect(readFileSync(CRON, "utf8")).toContain("\n45 3 * * * root ");
    clientOut = u;
  }, 120_000);

  it("one machine playing two hosts (as the lab's does): each its own key, repository, schedule and status; the command asks which", async () => {
    const hv1In = { ...clientIn, target: { ...clientIn.target, name: HV }, backup: { ...clientIn.backup, repository: `${base}/${HV}` }, sources: [{ kind: "path" as const, name: "archives" as const, path: archives }] };
    hv1Out = (await backupClientType.create(hv1In)).outs;
    expect(hv1Out.publicKey).not.toBe(clientOut.publicKey);
    expect((hv1Out.passphrase as { value: string }).value).not.toBe(pass);
    const r = backupRepositoryType.check({ target: clientIn.target, account, path: `${base}/${HV}`, sourceHost: HV, publicKey: hv1Out.publicKey, passphrase: hv1Out.passphrase, time: "02:30" });
    hv1Repo = (await backupRepositoryType.create(r.inputs as BackupRepositoryInputs)).outs;
    expect(readFileSync(join(base, ".ssh/authorized_keys"), "utf8").trim().split("\n").map((l) => l.split(" ").at(-1))).toEqual([`globenet-repository=${repo}`, `globenet-repository=${base}/${HV}`]);
    expect(readFileSync(HV_CRON, "utf8")).toContain(` --host ${HV} scheduled `);
    const run1 = sh(RUN, ["--host", HV, "run"]);
    expect(run1.status, run1.stderr).toBe(0);
    expect(sh(RUN, ["--host", HV, "list"]).stdout).toMatch(/^path--archives--\d{8}T\d{6}Z$/m);
    expect(readFileSync(`${STATE_ALL}/${HV}/status`, "utf8")).toMatch(/^path--archives result=ok /m);
    // WEB's repository holds nothing of HV's.
    expect(backup("list").stdout.trim()).toBe("");
    const ambiguous = sh(RUN, ["list"]);
    expect(ambiguous.status).not.toBe(0);
    expect(ambiguous.stderr).toContain("say which with --host <host>");
  }, 120_000);

  it("an existing user is never adopted as the backup account, and a repository the passphrase does not open is refused (no secret in the error)", async () => {
    const other = "x".repeat(43);
    const e1 = await backupRepositoryType.create({ ...repoIn, account: "daemon" }).catch((e: Error) => e.message);
    expect(e1).toContain("Globenet did not create it");
    const e2 = await backupRepositoryType.create({ ...repoIn, passphrase: secret(other) }).catch((e: Error) => e.message);
    expect(e2).toContain("does not open");
    expect(e2).not.toContain(other);
    expect(e2).not.toContain(pass);
  }, 60_000);

  it("a home with odd names, a symlink, modes and owners: backed up with the host's other homes in one archive, deleted, its own path restored to the staging and in place, identical", () => {
    // One member alone is not a run of its own: the homes go together.
    const alone = backup("run", "--only", `home--${handle}`);
    expect(alone.status).not.toBe(0);
    expect(alone.stderr).toContain("--only homes");
    const r = backup("run", "--only", "homes");
    expect(r.status, r.stderr).toBe(0);
    for (const id of [`home--${handle}`, `home--${handle2}`, "homes"]) expect(status(id)?.result, id).toBe("ok");
    const [archive] = homeArchives(handle);
    expect(archive).toMatch(HOMES);
    expect(homeArchives(handle2)).toEqual([archive]);
    expect(status(`home--${handle}`)?.archive).toBe(archive);
    expect(backup("list").stdout.trim().split("\n")).toEqual([archive]);
    const files = backup("files", archive as string).stdout;
    expect(files).toContain(`${home2.slice(1)}/second.txt`);
    // Each home's excludes, under its own path.
    expect(files).toContain("sites/velo.example/htdocs/index.php");
    expect(files).not.toContain(".cache/c");
    expect(files).not.toContain("velo.example/tmp/t");
    // In place needs to know whose home: a path inside one, nothing that climbs out.
    for (const [path, why] of [[undefined, "needs the path of one member's home"], [`${home.slice(1)}/../${handle2}`, "climbs out"], ["etc", "is in no home this host backs up"]] as const) {
      const bad = backup("restore", archive as string, ...(path ? [path] : []), "--in-place");
      expect(bad.status, path).not.toBe(0);
      expect(bad.stderr).toContain(why);
    }
    // Destroyed: the home as the Account would make it again, empty.
    rmSync(home, { recursive: true, force: true });
    mkdirSync(home, { mode: 0o750 });
    chownSync(home, uid, gid);
    const s = backup("restore", archive as string, home.slice(1));
    expect(s.status, s.stderr).toBe(0);
    const staging = /^staging=(.+)$/m.exec(s.stdout)?.[1] as string;
    expect(staging.startsWith(`${RESTORE}/`)).toBe(true);
    expect(statSync(staging).mode & 0o777).toBe(0o700);
    expect(manifest(join(staging, home))).toEqual(original);
    // Only that member's path came out of the archive.
    expect(existsSync(join(staging, home2))).toBe(false);
    // The member plants links where the restore writes: into a root-only folder, over a file.
    const victim = mkdtempSync("/var/lib/globenet/bk-victim-");
    writeFileSync(join(victim, "root-file"), "root's\n");
    for (const [link, to] of [["sites", victim], ["current", join(victim, "root-file")]] as const) {
      expect(sh("setpriv", ["--reuid", String(uid), "--regid", String(gid), "--clear-groups", "--", "ln", "-s", to, join(home, link)]).status).toBe(0);
    }
    const before = manifest(victim);
    const before2 = manifest(home2);
    const p = backup("restore", archive as string, home.slice(1), "--in-place");
    expect(manifest(victim)).toEqual(before);
    rmSync(victim, { recursive: true, force: true });
    expect(p.status, p.stderr).toBe(0);
    expect(manifest(home, skipExcluded)).toEqual(original);
    expect(manifest(home2)).toEqual(before2);
    expect(existsSync(/^staging=(.+)$/m.exec(p.stdout)?.[1] as string)).toBe(false);
    // One file, at the path the archive shows.
    rmSync(join(home, ODD[3] as string));
    const one = backup("restore", archive as string, `${home.slice(1)}/${ODD[3]}`, "--in-place");
    expect(one.status, one.stderr).toBe(0);
    expect(manifest(home, skipExcluded)).toEqual(original);
  }, 120_000);

  it("an sftp member's home restored in place keeps its chroot layout (the home root's, ~/logs a read-only mount); its own folders' content comes back as the member's, what the archive held at the home's top stays in the staging, named", () => {
    const uid2 = Number(sh("id", ["-u", handle2]).stdout);
    const gid2 = Number(sh("id", ["-g", handle2]).stdout);
    // The layout the Account gives an sftp member (docs/architecture.md, "SFTP-only access"):
    // the home root:<member> 0750, sites the member's, logs root's with the member's site logs
    // mounted read-only on it. second.txt, at the top, is what the member wrote there while it was ssh.
    const logs = mkdtempSync("/var/log/globenet-bk-sftp-logs-");
    writeFileSync(join(logs, "site-access.log"), "GET / 200\n");
    chownSync(home2, 0, gid2);
    chmodSync(home2, 0o750);
    mkdirSync(join(home2, "sites"), { mode: 0o755 });
    chownSync(join(home2, "sites"), uid2, gid2);
    const page = join(home2, "sites/sftp.example/htdocs/index.html");
    expect(sh("setpriv", ["--reuid", String(uid2), "--regid", String(gid2), "--clear-groups", "--", "bash", "-c", 'mkdir -p "$(dirname "$1")" && echo "<p>sftp</p>" > "$1"', "x", page]).status).toBe(0);
    mkdirSync(join(home2, "logs"), { mode: 0o750 });
    chownSync(join(home2, "logs"), 0, gid2);
    execOk("mount", ["--bind", logs, join(home2, "logs")]);
    try {
      execOk("mount", ["-o", "remount,bind,ro,nosuid,nodev,noexec", join(home2, "logs")]);
      const r = backup("run", "--only", "homes");
      expect(r.status, r.stderr).toBe(0);
      // The newest (the list is oldest first).
      const archive = homeArchives(handle2).at(-1);
      const files = backup("files", archive as string).stdout;
      expect(files).toContain(`${home2.slice(1)}/sites/sftp.example/htdocs/index.html`);
      // The mount is root's logs, not the member's files: not in the archive.
      expect(files).not.toContain("site-access.log");
      // Lost: the page and the top-level file.
      rmSync(page);
      rmSync(join(home2, "second.txt"));
      const p = backup("restore", archive as string, home2.slice(1), "--in-place");
      expect(p.status, p.stderr).toBe(0);
      expect(p.stdout).toMatch(new RegExp(`^restored=${home2}$`, "m"));
      // The page is back, the member's; the layout is as the Account left it.
      expect(readFileSync(page, "utf8")).toBe("<p>sftp</p>\n");
      expect([statSync(page).uid, statSync(page).gid]).toEqual([uid2, gid2]);
      expect([statSync(home2).uid, statSync(home2).gid, statSync(home2).mode & 0o7777]).toEqual([0, gid2, 0o750]);
      // ~/logs is still the mount of the member's log folder (a stat through it is that folder's).
      expect([statSync(join(home2, "logs")).dev, statSync(join(home2, "logs")).ino]).toEqual([statSync(logs).dev, statSync(logs).ino]);
      expect(sh("findmnt", ["-n", "-o", "OPTIONS", "--mountpoint", join(home2, "logs")]).stdout).toMatch(/^ro,nosuid,nodev,noexec/);
      expect(readFileSync(join(home2, "logs/site-access.log"), "utf8")).toBe("GET / 200\n");
      // The top-level file is not put where the member could not have written it: named, and kept in the staging.
      expect(existsSync(join(home2, "second.txt"))).toBe(false);
      expect(p.stdout).toMatch(/^skipped=second\.txt$/m);
      const kept = /^kept_staging=(.+)$/m.exec(p.stdout)?.[1] as string;
      expect(readFileSync(join(kept, home2, "second.txt"), "utf8")).toBe("the second member's\n");
      rmSync(kept, { recursive: true, force: true });
    } finally {
      sh("umount", [join(home2, "logs")]);
      rmSync(logs, { recursive: true, force: true });
    }
  }, 120_000);

  it("a database written by a concurrent inserter is dumped without a lock and restores consistent", async () => {
    // Each transaction writes one row to a and one to b: a consistent copy has as many of each.
    const sql = Array.from({ length: 40_000 }, (_, i) => `START TRANSACTION; INSERT INTO a (v) VALUES (${i}); INSERT INTO b (v) VALUES (${i}); COMMIT;`).join("\n");
    const writer = spawn("mariadb", [`--socket=${maria.socket}`, "-u", "root", db], { stdio: ["pipe", "ignore", "pipe"] });
    writer.stdin.on("error", () => undefined); // killed before it read everything: expected
    writer.stdin.end(sql);
    const count = () => Number(maria.exec(`SELECT COUNT(*) FROM ${db}.a`).stdout.trim());
    while (count() < 200) await new Promise((r) => setTimeout(r, 50));
    const atStart = count();
    const r = backup("run", "--only", `database--${db}`);
    const atEnd = count();
    const stillWriting = writer.exitCode === null;
    writer.kill("SIGKILL");
    expect(r.status, r.stderr).toBe(0);
    // The writer kept committing while the dump ran: no lock stopped it.
    expect(stillWriting).toBe(true);
    expect(atEnd).toBeGreaterThan(atStart);
    const [archive] = backup("list", `database--${db}`).stdout.trim().split("\n");
    maria.exec(`DROP DATABASE ${db}`);
    const d = backup("restore-db", archive as string, db);
    expect(d.status, d.stderr).toBe(0);
    const restored = /^database=(.+)$/m.exec(d.stdout)?.[1] as string;
    expect(restored).toMatch(new RegExp(`^${db}_restored_\\d{8}T\\d{6}$`));
    const row = maria.exec(`SELECT (SELECT COUNT(*) FROM ${restored}.a), (SELECT COUNT(*) FROM ${restored}.b), (SELECT SUM(v) FROM ${restored}.a), (SELECT SUM(v) FROM ${restored}.b)`).stdout.trim().split("\t");
    expect(row[0]).toBe(row[1]);
    expect(row[2]).toBe(row[3]);
    expect(Number(row[0])).toBeGreaterThanOrEqual(atStart);
    expect(maria.exec(`SELECT k, v FROM ${restored}.fixed ORDER BY k`).stdout).toBe("one\tété\ntwo\tx'y\n");
    // --replace: into the database itself, what is there now dumped first.
    maria.exec(`CREATE DATABASE ${db}; CREATE TABLE ${db}.fixed (k INT); INSERT INTO ${db}.fixed VALUES (1);`);
    const rep = backup("restore-db", archive as string, db, "--replace");
    expect(rep.status, rep.stderr).toBe(0);
    const kept = /^kept=(.+)$/m.exec(rep.stdout)?.[1] as string;
    expect(sh("bash", ["-c", 'gzip -dc "$1"', "x", kept]).stdout).toContain("INSERT INTO `fixed` VALUES");
    expect(maria.exec(`SELECT COUNT(*) = (SELECT COUNT(*) FROM ${db}.b) FROM ${db}.a`).stdout.trim()).toBe("1");
    expect(maria.exec(`SELECT k, v FROM ${db}.fixed ORDER BY k`).stdout).toBe("one\tété\ntwo\tx'y\n");
  }, 120_000);

  it("two runs: the older snapshot restores the older content; the full run prunes and records every source", () => {
    const file = join(home, "sites/velo.example/htdocs/index.php");
    // The scheduled run: every source, prune, then the repository check (none done yet: due).
    const r1 = backup("scheduled");
    expect(r1.status, r1.stderr).toBe(0);
    // No guest and no disk (whether a libvirtd answers or not): nothing there yet, not a failure.
    expect(r1.stderr).toMatch(/vps-disk--gtbk--vm: .*disk \/var\/lib\/libvirt\/images\/none\.qcow2 does not exist.*: nothing to back up/);
    writeFileSync(file, "<?php echo 2;\n");
    spawnSync("sleep", ["1.1"]);
    // Without prune: the daily retention keeps one archive a day, the last.
    const r2 = backup("run", "--only", "homes");
    expect(r2.status, r2.stderr).toBe(0);
    const list = homeArchives(handle);
    // Same day: daily keeps the last, weekly the one before (borg applies the rules in turn).
    expect(list.length).toBeGreaterThanOrEqual(2);
    const older = list[list.length - 2] as string;
    const s = backup("restore", older, `${home.slice(1)}/sites/velo.example/htdocs/index.php`);
    expect(s.status, s.stderr).toBe(0);
    expect(readFileSync(join(/^staging=(.+)$/m.exec(s.stdout)?.[1] as string, file), "utf8")).toBe("<?php echo 1;\n");
    for (const id of [`home--${handle}`, `home--${handle2}`, "homes", `database--${db}`, "path--archives", "path--state", "prune", "run", "check"]) expect(status(id)?.result, id).toBe("ok");
    // CI's state backups (backup.state) are in the repository, file by file, modes kept.
    const stateArchive = backup("list", "path--state").stdout.trim().split("\n").at(-1) as string;
    expect(stateArchive).toMatch(/^path--state--\d{8}T\d{6}Z$/);
    expect(backup("files", stateArchive).stdout).toMatch(new RegExp(`^-rw------- 0:0 +30 \\S+ ${stateDir.slice(1)}/prod-2026-12-04T02-00-00Z\\.json$`, "m"));
    expect(status("path--dnssec")?.result).toBe("absent");
    expect(status("vps-disk--gtbk--vm")?.result).toBe("absent");
    // Each member's size is its own home's files (the excludes left out), the archive's is on the homes line.
    const [one, two, all] = [status(`home--${handle}`)?.size as number, status(`home--${handle2}`)?.size as number, status("homes")?.size as number];
    expect(one).toBeGreaterThan(300_000);
    expect(one).toBeLessThan(400_000);
    expect(two).toBeLessThan(50_000);
    // borg's original size counts the same files, plus its own metadata stream (a few KiB).
    expect(all).toBeGreaterThanOrEqual(one + two);
    expect(all - (one + two)).toBeLessThan(100_000);
    // The metrics for the monitor host (the node exporter's textfile collector; the BackupTooOld
    // alert): each source's last good archive at the status file's time, the member's handle.
    const m = metrics();
    for (const [source, kind, name, who] of [[`home--${handle}`, "home", handle, handle], [`home--${handle2}`, "home", handle2, handle2], [`database--${db}`, "database", db, handle], ["path--archives", "path", "archives"], ["run", "run", WEB], ["check", "check", WEB]] as const) {
      expect(m.get(series("globenet_backup_last_success_timestamp_seconds", source, kind, name, who)), source).toBe(epoch(status(source)?.lastOk));
      expect(m.get(series("globenet_backup_last_run_ok", source, kind, name, who)), source).toBe(1);
    }
    // Nothing to back up (absent): tried, fine, and no age.
    expect(m.get(series("globenet_backup_last_run_ok", "vps-disk--gtbk--vm", "vps-disk", "gtbk--vm", handle))).toBe(1);
    expect(m.has(series("globenet_backup_last_success_timestamp_seconds", "vps-disk--gtbk--vm", "vps-disk", "gtbk--vm", handle))).toBe(false);
    expect(m.has(series("globenet_backup_last_success_timestamp_seconds", "path--dnssec", "path", "dnssec"))).toBe(false);
  }, 180_000);

  it("the backup host down: the run fails loudly naming each source, the status shows it, the next run catches up", async () => {
    const lastOk = status(`home--${handle}`)?.lastOk;
    await bsshd.suspend();
    const r = backup("run");
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("homes: FAILED (borg exit 2): no new archive of the 2 homes.");
    expect(r.stderr).toContain(`database--${db}: FAILED`);
    for (const id of [`home--${handle}`, `home--${handle2}`, "homes"]) expect(status(id)?.result, id).toBe("failed");
    expect(r.stderr).toContain("the run FAILED for:");
    expect(r.stderr).toMatch(/the backup host cannot be reached over SSH: .*Connection refused/);
    expect(status(`home--${handle}`)?.result).toBe("failed");
    expect(status(`home--${handle}`)?.lastOk).toBe(lastOk);
    expect(status("run")?.result).toBe("failed");
    // The metrics say it too: the last try failed, the last good archive is the earlier one.
    const m = metrics();
    expect(m.get(series("globenet_backup_last_run_ok", `home--${handle}`, "home", handle, handle))).toBe(0);
    expect(m.get(series("globenet_backup_last_run_ok", `database--${db}`, "database", db, handle))).toBe(0);
    expect(m.get(series("globenet_backup_last_success_timestamp_seconds", `home--${handle}`, "home", handle, handle))).toBe(epoch(lastOk));
    await bsshd.resume();
    spawnSync("sleep", ["1.1"]);
    const again = backup("run");
    expect(again.status, again.stderr).toBe(0);
    expect(status(`home--${handle}`)?.result).toBe("ok");
    expect(status(`home--${handle}`)?.lastOk! > lastOk!).toBe(true);
  }, 120_000);

  it("a member's home missing: that member is marked failed and left out, the other homes are still sent", () => {
    const before = homeArchives(handle2);
    const lastOk2 = status(`home--${handle2}`)?.lastOk;
    spawnSync("sleep", ["1.1"]);
    execOk("mv", [home2, `${home2}.aside`]);
    try {
      const r = backup("run", "--only", "homes");
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain(`home--${handle2}: FAILED: the home ${home2} is missing.`);
      expect(r.stderr).toContain(`the run FAILED for: home--${handle2}`);
      expect(status(`home--${handle2}`)?.result).toBe("failed");
      expect(status(`home--${handle2}`)?.lastOk).toBe(lastOk2);
      expect(status("run")?.failed).toBe(`home--${handle2}`);
      // The other member's home is in the new archive, the missing one's is not.
      expect([status(`home--${handle}`)?.result, status("homes")?.result]).toEqual(["ok", "ok"]);
      const made = status("homes")?.archive as string;
      expect(homeArchives(handle).at(-1)).toBe(made);
      expect(homeArchives(handle2)).toEqual(before);
      expect(backup("files", made).stdout).not.toContain(handle2);
    } finally {
      execOk("mv", [`${home2}.aside`, home2]);
    }
    const again = backup("run", "--only", "homes");
    expect(again.status, again.stderr).toBe(0);
    expect(status(`home--${handle2}`)?.result).toBe("ok");
  }, 120_000);

  it("the former archives of one member each (home--<handle>--…): listed and restored with the homes archives, expired once past the retention", () => {
    // Made as the hosts made them before the homes archives: one old beyond 12 months, one of yesterday.
    const old = `home--${handle}--20200101T000000Z`;
    const d = new Date(Date.now() - 86_400_000);
    const recent = `home--${handle}--${d.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z")}`;
    const url = `ssh://${account}@127.0.0.1:${bsshd.port}${repo}`;
    const env = `BORG_BASE_DIR=${STATE}/borg BORG_RSH="ssh -F none -i ${ETC}/id_ed25519 -o BatchMode=yes -o UserKnownHostsFile=${ETC}/known_hosts -o HostKeyAlias=globenet-backup"`;
    for (const [name, at] of [[old, "2020-01-01T00:00:00"], [recent, d.toISOString().slice(0, 19)]] as const) {
      const c = sh("bash", ["-c", `${env} BORG_PASSPHRASE_FD=3 borg create --one-file-system --numeric-ids --timestamp "$1" "$2" "$3" 3<${ETC}/passphrase`, "x", at, `${url}::${name}`, home]);
      expect(c.status, c.stderr).toBe(0);
    }
    const list = homeArchives(handle);
    // Oldest first, by the stamp: the former ones before the homes runs.
    expect(list.slice(0, 2)).toEqual([old, recent]);
    expect(list.slice(2).every((a) => HOMES.test(a))).toBe(true);
    expect(homeArchives(handle2).some((a) => a.startsWith("home--"))).toBe(false);
    // Restored in place from a former archive, as before.
    rmSync(join(home, ODD[0] as string));
    const p = backup("restore", recent, `${home.slice(1)}/${ODD[0]}`, "--in-place");
    expect(p.status, p.stderr).toBe(0);
    expect(readFileSync(join(home, ODD[0] as string), "utf8")).toBe(`${ODD[0]}\n`);
    // A run's prune: the one older than the retention keeps (12 monthly) goes, yesterday's stays.
    const r = backup("run");
    expect(r.status, r.stderr).toBe(0);
    const after = homeArchives(handle);
    expect(after).not.toContain(old);
    expect(after).toContain(recent);
    expect(status("prune")?.result).toBe("ok");
  }, 180_000);

  it("a machine that answers with another host key gets nothing (the pinned known_hosts), and read shows the pin changed", async () => {
    const before = backup("list").stdout;
    const pinned = readFileSync(`${ETC}/known_hosts`, "utf8");
    writeFileSync(`${ETC}/known_hosts`, `globenet-backup ${bsshd.otherHostKey.split(" ").slice(0, 2).join(" ")}\n`, { mode: 0o600 });
    try {
      const r = backup("run", "--only", "path--archives");
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain("the backup host cannot be reached over SSH: Host key verification failed.");
      expect(r.stderr).toContain("path--archives: FAILED");
      expect(status("path--archives")?.result).toBe("failed");
      expect((await backupClientType.read(WEB, clientOut))?.drift).toEqual([`${ETC}/known_hosts differs from what was written`]);
    } finally {
      writeFileSync(`${ETC}/known_hosts`, pinned, { mode: 0o600 });
    }
    expect((await backupClientType.read(WEB, clientOut))?.drift).toEqual([]);
    // Nothing reached the repository.
    expect(backup("list").stdout).toBe(before);
  }, 60_000);

  it("the attack: root on the client, with its key, cannot remove history (append-only, forced command), and borg create still works", () => {
    const env = `BORG_BASE_DIR=${STATE}/borg BORG_RSH="ssh -F none -i ${ETC}/id_ed25519 -o BatchMode=yes -o UserKnownHostsFile=${ETC}/known_hosts -o HostKeyAlias=globenet-backup"`;
    const attacker = (cmd: string) => sh("bash", ["-c", `${env} BORG_PASSPHRASE_FD=3 BORG_DELETE_I_KNOW_WHAT_I_AM_DOING=YES BORG_CHECK_I_KNOW_WHAT_I_AM_DOING=YES ${cmd} 3<${ETC}/passphrase`]);
    const url = `ssh://${account}@127.0.0.1:${bsshd.port}${repo}`;
    const archivesBefore = backup("list").stdout.trim().split("\n");
    const victim = archivesBefore.find((a) => HOMES.test(a)) as string;
    const lastTxn = Math.max(...Object.keys(segments()).map((k) => Number(k.split("/")[1])));
    const before = segments();
    // A shell command over ssh: sshd runs borg serve instead, which refuses the junk.
    const rm = sh("ssh", ["-F", "none", "-i", `${ETC}/id_ed25519`, "-o", "BatchMode=yes", "-o", `UserKnownHostsFile=${ETC}/known_hosts`, "-o", "HostKeyAlias=globenet-backup", "-p", String(bsshd.port), `${account}@127.0.0.1`, `rm -rf ${repo}`], "");
    expect(rm.status).not.toBe(0);
    expect(existsSync(join(repo, "config"))).toBe(true);
    // The whole repository: refused.
    expect(attacker(`borg delete ${url}`).status).not.toBe(0);
    // Archives: borg records the deletion, prune and compact "succeed", and every byte stays.
    attacker(`borg delete ${url}::${victim}`);
    attacker(`borg prune --keep-last 1 ${url}`);
    attacker(`borg compact ${url}`);
    expect(backup("list").stdout).not.toContain(victim);
    const after = segments();
    for (const [f, h] of Object.entries(before)) expect(after[f], `segment ${f} was changed or removed`).toBe(h);
    // Another host's repository on the same account: out of reach.
    const other = attacker(`borg list ssh://${account}@127.0.0.1:${bsshd.port}${base}/other`);
    expect(other.status).not.toBe(0);
    expect(other.stderr).toContain("Repository path not allowed");
    // The legitimate use still works.
    const create = backup("run", "--only", "path--archives");
    expect(create.status, create.stderr).toBe(0);
    // On the backup host, a volunteer rolls the repository back to before the attack (the
    // runbook in docs/architecture.md): segments after the last good transaction go, and the
    // index is rebuilt. The deleted archive is back, and restores with the key and passphrase.
    for (const f of Object.keys(segments())) if (Number(f.split("/")[1]) > lastTxn) rmSync(join(repo, "data", f));
    for (const f of readdirSync(repo)) if (/^(index|hints|integrity)\.\d+$/.test(f)) rmSync(join(repo, f));
    rmSync(`${STATE}/borg`, { recursive: true, force: true });
    const back = backup("list");
    expect(back.status, back.stderr).toBe(0);
    expect(back.stdout.trim().split("\n")).toEqual(archivesBefore);
    const s = backup("restore", victim, home.slice(1));
    expect(s.status, s.stderr).toBe(0);
    expect(existsSync(join(/^staging=(.+)$/m.exec(s.stdout)?.[1] as string, home, "private/blob.bin"))).toBe(true);
  }, 180_000);

  it("the passphrase appears in no process list, log, status file, error or file outside its own during a run", async () => {
    expect(pass.length).toBeGreaterThan(20);
    const seen: string[] = [];
    const child = spawn(RUN, ["--host", WEB, "run"], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...HOST_ENV } });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const done = new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
    let polls = 0;
    let exited = false;
    void done.then(() => (exited = true));
    while (!exited) {
      for (const p of readdirSync("/proc")) {
        if (!/^\d+$/.test(p)) continue;
        for (const f of ["cmdline", "environ"]) {
          try {
            const t = readFileSync(`/proc/${p}/${f}`, "latin1");
            if (t.includes(pass)) seen.push(`${p}/${f}: ${readFileSync(`/proc/${p}/cmdline`, "latin1").replace(/\0/g, " ").slice(0, 100)}`);
          } catch {
            /* gone meanwhile */
          }
        }
      }
      polls++;
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(await done).toBe(0);
    expect(polls).toBeGreaterThan(5);
    expect(seen).toEqual([]);
    outputs.push(out);
    expect(outputs.filter((o) => o.includes(pass))).toEqual([]);
    const grep = sh("grep", ["-rlF", "--", pass, ETC, STATE, base, "/var/log", RUN, CRON]);
    expect(grep.stdout.trim().split("\n")).toEqual([`${ETC}/passphrase`]);
  }, 120_000);

  it("export-key: refused to a pipe; to a new 0600 file, the passphrase in no process list; that sheet alone opens a copy of the repository from a fresh place", async () => {
    const target = clientIn.target;
    const dir = mkdtempSync("/tmp/globenet-bk-export-");
    try {
      // Not a terminal and no --to (the sheet would land in a log): refused, nothing written.
      const piped = captureIo();
      await expect(exportKey({ target, host: WEB, io: piped, lang: "en", env: {} })).rejects.toThrow(/not a terminal/);
      expect(piped.stdout + piped.stderr).toBe("");
      await expect(exportKey({ target, host: WEB, io: { ...piped, isTTY: true }, lang: "en", env: { CI: "true" } })).rejects.toThrow(/CI=true/);
      await expect(exportKey({ target, host: WEB, to: join(REPO_ROOT, `key-${pid}.txt`), io: piped, lang: "en", env: {} })).rejects.toThrow(/inside the repository checkout/);
      expect(existsSync(join(REPO_ROOT, `key-${pid}.txt`))).toBe(false);

      // The export, while every process's argv and environment are read.
      const file = join(dir, "web-key.txt");
      const io = captureIo();
      const seen: string[] = [];
      let done = false;
      let polls = 0;
      const exporting = exportKey({ target, host: WEB, to: file, io, lang: "fr", env: {} }).finally(() => (done = true));
      while (!done) {
        for (const p of readdirSync("/proc")) {
          if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
          for (const f of ["cmdline", "environ"]) {
            try {
              if (readFileSync(`/proc/${p}/${f}`, "latin1").includes(pass)) seen.push(`${p}/${f}: ${readFileSync(`/proc/${p}/cmdline`, "latin1").replace(/\0/g, " ").slice(0, 100)}`);
            } catch {
              /* gone meanwhile */
            }
          }
        }
        polls++;
        await new Promise((r) => setTimeout(r, 10));
      }
      await exporting;
      expect(polls).toBeGreaterThan(5);
      expect(seen).toEqual([]);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(io.stdout + io.stderr).not.toContain(pass);
      expect(io.stderr).toContain("imprimez-la deux fois");
      const sheet = readFileSync(file, "utf8");
      expect(sheet).toContain(`  ${pass}\n`);
      // Never over an existing file.
      await expect(exportKey({ target, host: WEB, to: file, io, lang: "en", env: {} })).rejects.toThrow(/exists already/);

      // A volunteer with only the sheet: a copy of the repository whose key is gone, a fresh
      // HOME and borg folder, no variable of this machine. Without the paper key, nothing opens.
      const copy = join(dir, "repo-copy");
      expect(sh("cp", ["-a", repo, copy]).status).toBe(0);
      expect(sh("python3", ["-c", "import configparser,sys; c=configparser.ConfigParser(); c.read(sys.argv[1]); c.set('repository','key',''); c.write(open(sys.argv[1],'w'))", join(copy, "config")]).status).toBe(0);
      const passFile = join(dir, "typed-passphrase");
      writeFileSync(passFile, /^ {2}([A-Za-z0-9_-]{43})$/m.exec(sheet)?.[1] ?? "", { mode: 0o600 });
      mkdirSync(join(dir, "home"));
      const volunteer = (args: string, input?: string) =>
        sh("bash", ["-c", `env -i PATH=/usr/bin:/bin LC_ALL=C.UTF-8 HOME="$1/home" BORG_BASE_DIR="$1/borg" BORG_PASSPHRASE_FD=3 borg ${args} 3<"$1/typed-passphrase"`, "x", dir], input);
      const without = volunteer(`list ${copy}`);
      expect(without.status).not.toBe(0);
      expect(without.stderr).toMatch(/key/i);
      // What the volunteer types: what follows "id:" and each line number.
      const typed = sheet.split("\n").filter((l) => /^(id| ?\d+): /.test(l)).map((l) => l.replace(/^(id| ?\d+): /, "")).join("\n") + "\n";
      const imported = volunteer(`key import --paper ${copy}`, typed);
      expect(imported.status, imported.stdout + imported.stderr).toBe(0);
      const listed = volunteer(`list --short ${copy}`);
      expect(listed.status, listed.stderr).toBe(0);
      expect(listed.stdout).toBe(backup("list").stdout);
      // And a home comes back identical from it.
      const newest = listed.stdout.trim().split("\n").filter((a) => a.startsWith(`home--${handle}--`)).sort().at(-1) as string;
      mkdirSync(join(dir, "out"));
      const x = sh("bash", ["-c", `cd "$1/out" && env -i PATH=/usr/bin:/bin LC_ALL=C.UTF-8 HOME="$1/home" BORG_BASE_DIR="$1/borg" BORG_PASSPHRASE_FD=3 borg extract --numeric-ids "$2::$3" 3<"$1/typed-passphrase"`, "x", dir, copy, newest]);
      expect(x.status, x.stderr).toBe(0);
      expect(manifest(join(dir, "out", home), skipExcluded)).toEqual(manifest(home, skipExcluded));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);

  it("purge-departure on the host: lists, then removes only the departed member's archives; the repository's earlier snapshots still hold them, the next one does not", async () => {
    const target = clientIn.target;
    const rel = (p: string) => p.slice(archives.length + 1);
    const listed = await purgeOnHost(target, archives, handle, [db], "list");
    expect(listed.files.map((f) => rel(f.path)).sort()).toEqual([...DEPARTURE].sort());
    expect(listed.removed).toEqual([]);
    for (const f of DEPARTURE) expect(existsSync(join(archives, f)), f).toBe(true);
    const before = backup("list", "path--archives").stdout.trim().split("\n").at(-1) as string;
    const purged = await purgeOnHost(target, archives, handle, [db], "purge");
    expect(purged.removed.map(rel).sort()).toEqual([...DEPARTURE].sort());
    for (const f of DEPARTURE) expect(existsSync(join(archives, f)), f).toBe(false);
    for (const f of NEIGHBOURS) expect(existsSync(join(archives, f)), f).toBe(true);
    // Kept in the repository: the snapshot made before the purge holds every file.
    const held = backup("files", before).stdout;
    for (const f of DEPARTURE) expect(held).toContain(`${archives.slice(1)}/${f}`);
    spawnSync("sleep", ["1.1"]);
    expect(backup("run", "--only", "path--archives").status).toBe(0);
    const after = backup("list", "path--archives").stdout.trim().split("\n").at(-1) as string;
    expect(after).not.toBe(before);
    const now = backup("files", after).stdout;
    for (const f of DEPARTURE) expect(now).not.toContain(`${archives.slice(1)}/${f}`);
    for (const f of NEIGHBOURS) expect(now).toContain(`${archives.slice(1)}/${f}`);
    // Nothing left: said so.
    expect((await purgeOnHost(target, archives, handle, [db], "list")).files).toEqual([]);
  }, 120_000);

  it("a corrupted segment on the backup host is found by borg check --repository-only there, without the passphrase", () => {
    const clean = asAccount(["check", "--repository-only", repo]);
    expect(clean.status, clean.stderr).toBe(0);
    // The backup host's own weekly check, as its cron line runs it (cron's % escapes aside).
    const cronFile = `/etc/cron.d/globenet-backup-repo-${WEB}`;
    const line = readFileSync(cronFile, "utf8").split("\n").find((l) => /^\d/.test(l)) ?? "";
    expect(line).toMatch(new RegExp(`^30 14 \\* \\* 6 root /usr/local/sbin/globenet-backup-repo-check ${account} ${repo} `));
    const weekly = () => sh("sh", ["-c", line.split(/\s+/).slice(6).join(" ")]);
    const weeklyStatus = () => readFileSync(`/var/lib/globenet/backup-repos/${WEB}.status`, "utf8");
    const good = weekly();
    expect(good.status, good.stderr).toBe(0);
    expect(weeklyStatus()).toMatch(/^repository-check result=ok last_ok=\S+Z last_run=\S+Z duration=\d+\n$/);
    const files = Object.keys(segments()).map((f) => join(repo, "data", f));
    const biggest = files.sort((x, y) => statSync(y).size - statSync(x).size)[0] as string;
    const fd = readFileSync(biggest);
    for (let i = 0; i < 64; i++) { const at = Math.floor(fd.length / 2) + i; fd[at] = (fd[at] ?? 0) ^ 0xff; }
    writeFileSync(biggest, fd);
    const bad = asAccount(["check", "--repository-only", repo]);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/corrupt|CRC|error/i);
    // The weekly check finds it too, and records it where status reads it; the last good time stays.
    const lastOk = /last_ok=(\S+)/.exec(weeklyStatus())?.[1];
    expect(weekly().status).not.toBe(0);
    expect(weeklyStatus()).toMatch(new RegExp(`^repository-check result=failed last_ok=${lastOk} `));
    expect(readFileSync(`/var/log/globenet-backup-repo-${WEB}.log`, "utf8")).toMatch(/FAILED/);
    // And the client's own check says so too, in its status.
    const c = backup("check");
    expect(c.status).not.toBe(0);
    expect(status("check")?.result).toBe("failed");
  }, 120_000);

  it("deleting the Repository removes only the key line; deleting the Client keeps key and passphrase", async () => {
    await backupRepositoryType.delete(repo, repoOut);
    const keys = readFileSync(join(base, ".ssh/authorized_keys"), "utf8").trim().split("\n");
    expect(keys.map((l) => l.split(" ").at(-1))).toEqual([`globenet-repository=${base}/${HV}`]);
    expect(existsSync(join(repo, "config"))).toBe(true);
    expect(existsSync(`/etc/cron.d/globenet-backup-repo-${WEB}`)).toBe(false);
    expect(existsSync(`/etc/cron.d/globenet-backup-repo-${HV}`)).toBe(true);
    await backupClientType.delete(WEB, clientOut);
    // Its metrics go with it: a host that no longer backs up must not look late.
    for (const p of [CRON, `${ETC}/sources`, PROM]) expect(existsSync(p), p).toBe(false);
    for (const p of [`${ETC}/id_ed25519`, `${ETC}/passphrase`]) expect(existsSync(p), p).toBe(true);
    // The run script stays while HV still uses it, and goes with the last host of the machine.
    expect(existsSync(RUN)).toBe(true);
    await backupClientType.delete(HV, hv1Out);
    await backupRepositoryType.delete(`${base}/${HV}`, hv1Repo);
    const othersLeft = existsSync(ETC_ALL) && readdirSync(ETC_ALL).some((h) => existsSync(join(ETC_ALL, h, "sources")));
    expect(existsSync(RUN)).toBe(othersLeft);
    expect(readFileSync(join(base, ".ssh/authorized_keys"), "utf8")).toBe("");
    // Made again: the kept passphrase comes back (it opens the history), and so does the key.
    const again = await backupClientType.create(clientIn);
    expect((again.outs.passphrase as { value: string }).value).toBe(pass);
    expect(again.outs.publicKey).toBe(clientOut.publicKey);
  }, 60_000);
});
