/**
 * globenet:hosting:Account — a member's unix account on a web host: user and group `handle`,
 * home /home/<handle> (owner <handle>:<handle>, 0750: the member's sites are served as the
 * member under mpm-itk, so neither Apache's www-data nor other members can enter),
 * ~/tmp, ~/sites/<host>/htdocs per site, ~/.ssh/authorized_keys, ~/.my.cnf including
 * ~/.my.cnf.d (where each Database drops its credentials file).
 *
 * Root does only what needs root (useradd, usermod, the home itself, archives); everything
 * inside the home is done with the member's own rights (setpriv), so a symbolic link the
 * member planted there can never make the provider read or write outside what the member
 * could reach anyway. Removing a site or the account archives first, verifies the archive,
 * then removes.
 *
 * The user and group carry the provider's ownership markers (account-shared.ts): an existing
 * login or group of that name is never taken over, changed or removed, but by the adoption a
 * volunteer asks for (npm run up -- --adopt; docs/architecture.md, "Adoption"), which still
 * refuses system accounts and a marker of another id. A suspended account is
 * refused by sshd with a message (a drop-in in the host's sshd_config.d), locked, its crontab
 * set aside and every process of it stopped (docs/architecture.md, "Suspension").
 *
 * `access: "sftp"` (docs/architecture.md, "SFTP-only access"): the home becomes root:<handle>
 * 0750 (sshd's ChrootDirectory wants it root's; root makes the member's top-level folders and
 * gives them to the member), the login shell nologin, and a drop-in of the member's own in
 * sshd_config.d forces internal-sftp in that chroot with no terminal or forwarding, and password
 * login when the member gave a hash. The hash reaches the host on stdin only. Its ~/logs is a
 * read-only bind mount of its site log folder (kept in /etc/fstab), as a link would lead out of
 * the chroot. Switching back to "ssh" undoes each, by an update: nothing in the home moves.
 */
import type { DiffResult } from "@pulumi/pulumi/provider";
import { createHash } from "node:crypto";
import { renderSftpSshd } from "../../lib/render/sshd-sftp";
import { renderSuspendedSshd } from "../../lib/render/sshd-suspended";
import { passwordHashProblem } from "../../lib/schema/password-hash";
import { email as emailSchema } from "../../lib/schema/common";
import { sshPublicKeyProblem } from "../../lib/schema/ssh-key";
import { loadScript } from "../scripts/load";
import { run } from "../ssh/remote";
import type { ResourceType, Target } from "../types";
import {
  Failures,
  asTarget,
  checkTarget,
  handleProblem,
  hasUnknown,
  homeProblem,
  hostProblem,
  parseLines,
  pathProblem,
  plain,
  printable,
  sameHost,
  str,
  utcStamp,
} from "./account-shared";

export type AccountStatus = "active" | "suspended" | "departed";
export type AccountAccess = "ssh" | "sftp";

/** The web host's sshd, from the inventory (hosts.<host>.sshd): where drop-ins go, how to find the daemon. */
export interface SshdFacts {
  /** A folder the sshd config includes (`Include <dir>/*.conf`); Debian: /etc/ssh/sshd_config.d. */
  dropinDir: string;
  /** The running sshd's pid file (Debian: /run/sshd.pid): the daemon to test and reload. */
  pidFile: string;
}

export interface AccountInputs {
  target: Target;
  handle: string;
  home: string;
  /**
   * Anything but "active" suspends the account: sshd refuses it with a message, the password
   * is locked and the account expired, the crontab set aside, every process killed; keys and
   * files stay.
   */
  status: AccountStatus;
  sshKeys: string[];
  /** "ssh": keys and a shell; "sftp": SFTP only, chrooted in the home (absent in states from before: ssh). */
  access?: AccountAccess;
  /**
   * access sftp only: the crypt(3) hash the member gave in member.yaml (yescrypt or
   * sha512-crypt), set with chpasswd -e from stdin. Not a secret in itself (it is in git); the
   * password never is anywhere.
   */
  passwordHash?: string;
  /** Site host names, sorted: each gets ~/sites/<host>/htdocs. */
  sites: string[];
  /** Root-only folder on the web host for archives (accounts/, sites/). */
  archiveDir: string;
  diskQuotaMb: number;
  /**
   * The most inodes (files, folders, links) the home may hold: the inode limits of the same
   * setquota call. Absent in states from before it: the update sets it.
   */
  inodeQuota: number;
  /**
   * "required": a home file system without user quotas on refuses the account before any
   * change; "warn": the account is made and the apply says the quota is not enforced
   * (the inventory's hosts.<host>.home_quota).
   */
  homeQuota: "required" | "warn";
  sshd: SshdFacts;
  /** Whom a suspended member is told to write to (the inventory's hostmaster). */
  contact: string;
}

export interface AccountOutputs extends AccountInputs {
  /** Archives made by this resource (removed sites), oldest first. */
  archives: string[];
  /** Whether the disk quota is enforced (the file system must have user quotas on). */
  diskQuotaEnforced: boolean;
  /** What `read` found out of line with the wanted state besides the inputs (empty when in line). */
  drift: string[];
  /** The host's registry marks the user and group as the provider's (false: the next update marks them). */
  marked: boolean;
}

// ---- remote scripts (constant; member values arrive as quoted positional arguments) -----

/** provider/scripts/account: prelude.sh (shared with the database scripts), sshd.sh, quota.sh (shared with the usage view), then each step. */
const CONVERGE = loadScript("account/prelude.sh", "account/sshd.sh", "account/quota.sh", "account/converge.sh");
const READ = loadScript("account/prelude.sh", "account/read.sh");
const ARCHIVE_SITE = loadScript("account/prelude.sh", "account/archive-site.sh");
const DELETE = loadScript("account/prelude.sh", "account/sshd.sh", "account/delete.sh");

// ---- check ------------------------------------------------------------------------------

const STATUSES: AccountStatus[] = ["active", "suspended", "departed"];

function check(raw: Record<string, unknown>): { inputs?: AccountInputs; failures?: { property: string; reason: string }[] } {
  const news = plain<Record<string, unknown>>(raw);
  if (hasUnknown(news)) return { inputs: news as unknown as AccountInputs };
  const f = new Failures();
  checkTarget(f, "target", news.target);
  const hp = handleProblem(news.handle);
  if (hp) f.add("handle", hp);
  const home = news.home ?? (str(news.handle) ? `/home/${news.handle}` : undefined);
  const mp = homeProblem(home, news.handle);
  if (mp) f.add("home", mp);
  if (!STATUSES.includes(news.status as AccountStatus)) f.add("status", 'must be "active" or "suspended"');
  const keys: string[] = [];
  if (!Array.isArray(news.sshKeys)) f.add("sshKeys", "must be a list of public key lines");
  else
    news.sshKeys.forEach((k, i) => {
      // The member schema's rule (lib/schema/ssh-key.ts): one line, a known key type first (authorized_keys options would be spliced in otherwise), a key that parses.
      if (!str(k) || sshPublicKeyProblem(k.trim())) {
        f.add(`sshKeys[${i}]`, `"${str(k) ? printable(k) : String(k)}" is not one public key line ("ssh-ed25519 AAAA… comment")`);
      } else keys.push(k.trim());
    });
  const access = news.access ?? "ssh";
  if (access !== "ssh" && access !== "sftp") f.add("access", 'must be "ssh" or "sftp"');
  const pwHash = news.passwordHash;
  if (pwHash !== undefined) {
    // The member schema's rule (lib/schema/password-hash.ts); the value is never repeated.
    const pp = str(pwHash) ? passwordHashProblem(pwHash) : "must be a string";
    if (pp) f.add("passwordHash", pp);
    else if (access === "ssh") f.add("passwordHash", "only works with access sftp (an ssh account logs in with keys only)");
  }
  if (access === "sftp" && pwHash === undefined && keys.length === 0 && Array.isArray(news.sshKeys) && news.sshKeys.length === 0) f.add("access", "sftp needs a way in: SSH keys or a password hash");
  const sites: string[] = [];
  if (!Array.isArray(news.sites)) f.add("sites", "must be a list of host names");
  else
    news.sites.forEach((s, i) => {
      const p = hostProblem(s);
      if (p) f.add(`sites[${i}]`, p);
      else if (sites.includes(s as string)) f.add(`sites[${i}]`, `"${s as string}" is listed twice`);
      else sites.push(s as string);
    });
  const ap = pathProblem(news.archiveDir, "archive folder");
  if (ap) f.add("archiveDir", ap);
  const q = news.diskQuotaMb;
  if (typeof q !== "number" || !Number.isInteger(q) || q < 1 || q > 100_000_000) f.add("diskQuotaMb", "must be a whole number of MB (1 or more)");
  const iq = news.inodeQuota;
  if (typeof iq !== "number" || !Number.isInteger(iq) || iq < 1 || iq > 100_000_000) f.add("inodeQuota", "must be a whole number of inodes (1 to 100000000)");
  if (news.homeQuota !== "required" && news.homeQuota !== "warn") f.add("homeQuota", 'must be "required" or "warn" (the inventory\'s hosts.<host>.home_quota)');
  const sshd = news.sshd as Record<string, unknown> | undefined;
  if (!sshd || typeof sshd !== "object" || Array.isArray(sshd)) f.add("sshd", "must be an object { dropinDir, pidFile } (the inventory's hosts.<host>.sshd)");
  else {
    const dp = pathProblem(sshd.dropinDir, "sshd drop-in folder");
    if (dp) f.add("sshd.dropinDir", dp);
    const pp = pathProblem(sshd.pidFile, "sshd pid file");
    if (pp) f.add("sshd.pidFile", pp);
  }
  if (!str(news.contact) || !emailSchema.safeParse(news.contact).success) f.add("contact", `"${str(news.contact) ? printable(news.contact) : String(news.contact)}" is not an e-mail address (the inventory's hostmaster)`);
  if (!f.ok || !sshd) return { failures: f.list };
  return {
    inputs: {
      target: asTarget(news.target),
      handle: news.handle as string,
      home: home as string,
      status: news.status as AccountStatus,
      sshKeys: keys,
      access: access as AccountAccess,
      ...(pwHash !== undefined ? { passwordHash: pwHash as string } : {}),
      sites: sites.sort(),
      archiveDir: news.archiveDir as string,
      diskQuotaMb: q as number,
      inodeQuota: iq as number,
      homeQuota: news.homeQuota as AccountInputs["homeQuota"],
      sshd: { dropinDir: sshd.dropinDir as string, pidFile: sshd.pidFile as string },
      contact: news.contact as string,
    },
  };
}

// ---- diff -------------------------------------------------------------------------------

const COMPARED: string[] = ["target", "handle", "home", "status", "sshKeys", "access", "passwordHash", "sites", "archiveDir", "diskQuotaMb", "inodeQuota", "homeQuota", "sshd", "contact"];

function diff(_id: string, rawOlds: AccountOutputs, rawNews: AccountInputs): DiffResult & { diffs: string[] } {
  // A state from before access existed is an ssh account.
  const olds = { ...plain<AccountOutputs>(rawOlds) };
  olds.access ??= "ssh";
  const news = plain<AccountInputs>(rawNews);
  const diffs = COMPARED.filter((k) => JSON.stringify((olds as unknown as Record<string, unknown>)[k]) !== JSON.stringify((news as unknown as Record<string, unknown>)[k]));
  // Live state off the wanted one outside the inputs (home mode, missing folders): update converges it.
  if ((olds.drift ?? []).length > 0) diffs.push("drift");
  // Made before ownership markers existed (or found unmarked by read): the update marks it.
  if (olds.marked !== true) diffs.push("marked");
  const replaces: string[] = [];
  if (olds.handle !== news.handle) replaces.push("handle");
  // The account is on another machine: a new one there, the old one archived and removed.
  // Other target fields (address, port, user, host key), or a new name for the same address
  // and port, are how to reach the same machine.
  if (!sameHost(olds.target, news.target)) replaces.push("target");
  return {
    changes: diffs.length > 0,
    replaces,
    diffs,
    // Same handle means the same unix user: if both targets were one machine (the lab puts
    // every host on 127.0.0.1), create-then-delete would delete what was just converged.
    deleteBeforeReplace: replaces.length > 0 && olds.handle === news.handle,
  };
}

// ---- create / update / read / delete ----------------------------------------------------

function keysFile(i: AccountInputs): string {
  const head = `# Managed by Globenet from members/${i.handle}/member.yaml (ssh_keys): changes made here are overwritten.\n`;
  return head + i.sshKeys.map((k) => `${k}\n`).join("");
}

/** create: refuses a user or group that exists without the provider's marker; update: marks them (the state proves they are ours). */
type Mode = "create" | "update";

/** The member's SFTP-only drop-in, as the host holds it (access sftp). */
function sftpConf(i: AccountInputs): string {
  return renderSftpSshd({ handle: i.handle, dropinDir: i.sshd.dropinDir, password: i.passwordHash !== undefined }).trimEnd();
}

/**
 * The converge's QUOTA_KB and QUOTA_INODES: setquota's block limits are 1 KiB blocks, its inode
 * limits a count; soft and hard are the same (no grace period: a member over its quota cannot
 * write, and `status -- usage` warns at 90 %).
 */
export function quotaArgs(i: Pick<AccountInputs, "diskQuotaMb" | "inodeQuota">): [string, string] {
  return [String(i.diskQuotaMb * 1024), String(i.inodeQuota)];
}

const sha256 = (s: string): string => createHash("sha256").update(s).digest("hex");

async function converge(i: AccountInputs, mode: Mode): Promise<{ quota: boolean }> {
  const sshd = renderSuspendedSshd({ handle: i.handle, dropinDir: i.sshd.dropinDir, contact: i.contact });
  const access = i.access ?? "ssh";
  const r = await run(i.target, CONVERGE, {
    args: [i.handle, i.home, i.status, ...quotaArgs(i), mode, i.sshd.dropinDir, i.sshd.pidFile, sshd.conf.trimEnd(), sshd.banner.trimEnd(), i.homeQuota, access, access === "sftp" ? sftpConf(i) : "", ...i.sites],
    // The password hash on the first line of stdin, never in argv; then authorized_keys.
    stdin: `${access === "sftp" ? (i.passwordHash ?? "") : ""}\n${keysFile(i)}`,
    what: `${mode === "create" ? "creating" : "updating"} account ${i.handle}`,
    kind: "converge",
  });
  const v = parseLines(r.stdout);
  for (const left of v.get("procs_left") ?? []) console.error(`globenet: ${i.target.name}: account ${i.handle} is suspended but processes keep coming back (${left}); they stop once nothing starts them (its PHP pool is removed by this apply's web file set); a refresh shows any left`);
  for (const m of v.get("marked") ?? []) console.error(`globenet: ${i.target.name}: account ${i.handle}: ${m.replace(":", " ")} is now marked as Globenet's (it is in the stack's state)`);
  const quota = v.get("quota")?.[0] === "on";
  if (!quota) console.error(`globenet: ${i.target.name}: account ${i.handle}: its disk quota (${i.diskQuotaMb} MB, ${i.inodeQuota} inodes) is NOT enforced: the home's file system has no user quota on (home_quota: warn on this host lets the apply go on; turn quotas on, then apply again)`);
  return { quota };
}

async function create(raw: AccountInputs): Promise<{ id: string; outs: AccountOutputs }> {
  const i = plain<AccountInputs>(raw);
  const { quota } = await converge(i, "create");
  return { id: i.handle, outs: { ...i, archives: [], diskQuotaEnforced: quota, drift: [], marked: true } };
}

async function archiveSite(i: AccountInputs, host: string): Promise<string | undefined> {
  const r = await run(i.target, ARCHIVE_SITE, { args: [i.handle, i.home, i.archiveDir, host, utcStamp()], what: `archiving site folder ${host} of ${i.handle}`, kind: "archive" });
  const archive = parseLines(r.stdout).get("archive")?.[0];
  if (archive) console.error(`globenet: ${i.target.name}: site folder ~${i.handle}/sites/${host} archived to ${archive}, then removed`);
  return archive;
}

async function update(_id: string, rawOlds: AccountOutputs, rawNews: AccountInputs): Promise<AccountOutputs> {
  const olds = plain<AccountOutputs>(rawOlds);
  const news = plain<AccountInputs>(rawNews);
  const archives = [...(olds.archives ?? [])];
  // Sites no longer listed: archive (verified), then remove, before anything else changes.
  for (const host of (olds.sites ?? []).filter((s) => !news.sites.includes(s))) {
    const a = await archiveSite(news, host);
    if (a) archives.push(a);
  }
  const { quota } = await converge(news, "update");
  return { ...news, archives, diskQuotaEnforced: quota, drift: [], marked: true };
}

async function read(_id: string, rawProps: AccountOutputs): Promise<AccountOutputs | undefined> {
  const props = plain<AccountOutputs>(rawProps);
  const dropin = props.sshd?.dropinDir ?? "/etc/ssh/sshd_config.d";
  const r = await run(props.target, READ, { args: [props.handle, props.home, dropin, ...(props.sites ?? [])], what: `reading account ${props.handle}`, kind: "read" });
  const v = parseLines(r.stdout);
  if (v.get("present")?.[0] !== "yes") return undefined;
  const drift: string[] = [];
  const marker = v.get("marker")?.[0];
  if (marker === "other") drift.push(`the user or group ${props.handle} is not the one Globenet created (its marker names another id): the next update refuses it`);
  const home = v.get("home")?.[0] ?? "";
  const homeStat = v.get("homestat")?.[0] ?? "missing";
  const wanted = props.access ?? "ssh";
  // An sftp member's home is root's (sshd's chroot), an ssh member's its own; both 0750, group the member's.
  const homeOwner = wanted === "sftp" ? `root:${props.handle}` : `${props.handle}:${props.handle}`;
  if (homeStat === "missing") drift.push(`home ${props.home} is missing (the user's home is ${home})`);
  else if (homeStat !== `${homeOwner}:750`) drift.push(`home ${props.home} is ${homeStat.replace(/:(\d+)$/, " mode $1")}, not ${homeOwner} mode 750`);
  const dirs = v.get("dir") ?? [];
  for (const d of ["tmp", ".ssh", ".my.cnf.d"]) if (homeStat !== "missing" && !dirs.includes(d)) drift.push(`~/${d} is missing`);
  if (homeStat !== "missing" && v.get("mycnf")?.[0] !== "ok") drift.push(`~/.my.cnf does not include ~/.my.cnf.d`);
  const [pw, expire] = (v.get("shadow")?.[0] ?? ":").split(":");
  const today = Math.floor(Date.now() / 86_400_000);
  const locked = pw === "!" || (expire !== undefined && expire !== "" && Number(expire) <= today);
  const status: AccountStatus = locked ? (props.status === "active" ? "suspended" : props.status) : "active";
  const denied = v.get("sshd")?.[0] === "denied";
  const procs = Number(v.get("procs")?.[0] ?? 0);
  if (props.status !== "active") {
    if (!denied) drift.push(`sshd has no suspension drop-in for ${props.handle}: logins are not refused with the message`);
    if (procs > 0) drift.push(`${procs} process(es) still run as ${props.handle} while it is suspended`);
    if (v.get("crontab")?.[0] === "spool") drift.push(`${props.handle} has a crontab in cron's spool while it is suspended`);
  } else if (denied) drift.push(`sshd still refuses ${props.handle} (a suspension drop-in is left)`);
  // Access as the host gives it: the SFTP-only drop-in there (or not) says which.
  const sftpSha = v.get("sftp")?.[0];
  const access: AccountAccess = sftpSha ? "sftp" : "ssh";
  const shell = v.get("shell")?.[0] ?? "";
  if (access === wanted) {
    const wantShell = wanted === "sftp" ? "/usr/sbin/nologin" : "/bin/bash";
    if (shell !== wantShell) drift.push(`${props.handle}'s login shell is ${shell || "empty"}, not ${wantShell}`);
    if (wanted === "sftp" && props.sshd && sftpSha !== sha256(`${sftpConf(props)}\n`)) drift.push(`the SFTP-only sshd drop-in of ${props.handle} was edited on the host`);
    // An sftp member reads its site logs on ~/logs, a read-only bind mount kept in /etc/fstab; an ssh member has neither.
    const mount = v.get("logsmount")?.[0] ?? "none";
    const fstab = v.get("logsfstab")?.[0] ?? "none";
    if (wanted === "sftp") {
      if (homeStat !== "missing" && mount !== "ok") drift.push(`~/logs of ${props.handle} is ${mount === "none" ? "not mounted" : "not one read-only mount of its site logs"} (an sftp member reads its logs there)`);
      if (fstab !== "ok") drift.push(`/etc/fstab ${fstab === "none" ? "has no line" : "has another line"} for the read-only mount of ${props.handle}'s site logs on ~/logs`);
    } else {
      if (mount !== "none") drift.push(`something is mounted on ~/logs of ${props.handle}, an ssh member`);
      if (fstab !== "none") drift.push(`/etc/fstab mounts something on ~/logs of ${props.handle}, an ssh member`);
    }
  }
  // The password, by its sha256 (the host never sends the field): '*' unless an sftp member gave a hash.
  const wantPw = wanted === "sftp" && props.passwordHash !== undefined ? props.passwordHash : "*";
  const pwsha = v.get("pwsha")?.[0];
  if (status === "active" && pwsha !== undefined && pwsha !== sha256(wantPw)) {
    drift.push(wantPw === "*" ? `${props.handle} has a password on the host, while it logs in with keys only` : `${props.handle}'s password on the host is not the hash of member.yaml`);
  }
  const sshKeys = (v.get("key") ?? []).map((k) => k.trim()).filter((k) => k !== "" && !k.startsWith("#"));
  const sites = (v.get("site") ?? []).sort();
  return { ...props, home: home === props.home ? props.home : home, status, sshKeys, access, sites, drift, marked: marker === "ok" };
}

async function del(_id: string, rawProps: AccountOutputs): Promise<void> {
  const props = plain<AccountOutputs>(rawProps);
  const sshd = props.sshd ?? { dropinDir: "/etc/ssh/sshd_config.d", pidFile: "/run/sshd.pid" };
  const r = await run(props.target, DELETE, { args: [props.handle, props.home, props.archiveDir, utcStamp(), sshd.dropinDir, sshd.pidFile], what: `deleting account ${props.handle}`, kind: "archive" });
  const v = parseLines(r.stdout);
  const archives = v.get("archive") ?? [];
  const home = archives.find((a) => a.endsWith(".tar.gz"));
  if (home) console.error(`globenet: ${props.target.name}: account ${props.handle}: home archived to ${home} (verified), then the user and home were removed`);
  else console.error(`globenet: ${props.target.name}: account ${props.handle}: no home to archive; user removed`);
  for (const c of archives.filter((a) => a.endsWith(".crontab"))) console.error(`globenet: ${props.target.name}: account ${props.handle}: crontab kept in ${c}`);
  const kept = v.get("group")?.[0];
  if (kept) console.error(`globenet: ${props.target.name}: account ${props.handle}: the group ${props.handle} (gid ${kept.replace("kept:", "")}) was not made by Globenet and was left in place`);
  for (const n of v.get("note") ?? []) console.error(`globenet: ${props.target.name}: account ${props.handle}: ${n}`);
}

/**
 * Adoption: the user as it runs. The inputs the read cannot see (the archive folder, the
 * hostmaster, sshd's facts, the quota, which the converge of the update that marks the user
 * sets) are the data's; everything the read sees is the host's, so the engine's diff against
 * git shows each difference, the missing marker first, as an update.
 */
async function adopt(id: string, facts: Record<string, unknown>): Promise<{ outs: AccountOutputs; inputs: Record<string, unknown> }> {
  const f = plain<AccountInputs>(facts);
  const live = await read(id, { ...f, archives: [], diskQuotaEnforced: false, drift: [], marked: false });
  if (!live) {
    throw new Error(
      `${f.target.name}: account ${f.handle} is in the data but there is no such user on the host: adoption takes over what runs and creates nothing. ` +
        `Adopt without it (move members/${f.handle} out of the tree), then put it back and run npm run up, which creates it.`,
    );
  }
  return { outs: live, inputs: Object.fromEntries(COMPARED.map((k) => [k, (live as unknown as Record<string, unknown>)[k]])) };
}

/** Dry mode (the bench): what create and update return, without a host. */
function dryOutputs(i: AccountInputs, olds?: AccountOutputs): AccountOutputs {
  return { ...i, archives: olds?.archives ?? [], diskQuotaEnforced: false, drift: [], marked: true };
}

export const accountType: ResourceType<AccountInputs, AccountOutputs> = {
  check,
  diff,
  create,
  read,
  update,
  delete: del,
  adopt,
  dryOutputs,
};

/** For tests and docs: the scripts, to show they are constant text. */
export const accountScripts = { CONVERGE, READ, ARCHIVE_SITE, DELETE };
