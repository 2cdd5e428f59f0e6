/**
 * globenet:backup:Repository — one protected host's BorgBackup repository on the backup host
 * (docs/architecture.md, "Backups").
 *
 * - The account (the inventory's backup.user) is a system user the provider makes, with the
 *   ownership marker of provider/scripts/account/prelude.sh: an existing user Globenet did not
 *   make is never adopted. Its home, <backup.path>, is root's and holds only .ssh/authorized_keys
 *   (root's): the account cannot change which keys get in.
 * - The repository, <backup.path>/<host> (0700, the account's), is made by `borg init
 *   --encryption=repokey-blake2` run as the account, the passphrase on a file descriptor.
 * - The client's key gets one authorized_keys line: `restrict,command="borg serve --append-only
 *   --restrict-to-repository <path>"`. Whatever the client's root runs, it reaches borg serve on
 *   its own repository only, which adds and never removes (a delete or prune is recorded, the
 *   data stays until a volunteer on the backup host compacts). A new key replaces the line.
 * - The backup host checks the repository itself once a week, without the key:
 *   /usr/local/sbin/globenet-backup-repo-check (provider/scripts/backup/repo-check.sh) from
 *   /etc/cron.d/globenet-backup-repo-<host> (lib/render/backup-repository.ts).
 * - Delete removes the key line and that weekly check only: the repository and its history
 *   stay where they are, and the message says so. Purging them is a separate, explicit act.
 */
import { createHash } from "node:crypto";
import type { DiffResult } from "@pulumi/pulumi/provider";
import { renderRepoCheckCron } from "../../lib/render/backup-repository";
import { identifierProblem } from "../../lib/schema/names";
import { sshPublicKeyProblem } from "../../lib/schema/ssh-key";
import { loadScript } from "../scripts/load";
import { run } from "../ssh/remote";
import type { ResourceType, Target } from "../types";
import { Failures, asTarget, sameHost, checkTarget, hasUnknown, parseLines, pathProblem, plain, secret, str, type SecretValue } from "./account-shared";

export interface BackupRepositoryInputs {
  /** The backup host. */
  target: Target;
  /** The unix account that owns the repositories (the inventory's backup.user). */
  account: string;
  /** <backup.path>/<sourceHost>. */
  path: string;
  /** The protected host whose repository this is (inventory name). */
  sourceHost: string;
  /** Its backup Client's public key. */
  publicKey: string;
  passphrase: SecretValue<string> | string;
  /** The nightly backup's HH:MM (backup.time): the weekly check runs twelve hours away from it. */
  time: string;
}

export interface BackupRepositoryOutputs extends BackupRepositoryInputs {
  passphrase: SecretValue<string>;
  drift: string[];
}

const CREATE = loadScript("account/prelude.sh", "backup/repo-common.sh", "backup/repo-create.sh");
const READ = loadScript("account/prelude.sh", "backup/repo-common.sh", "backup/repo-read.sh");
const DELETE = loadScript("account/prelude.sh", "backup/repo-common.sh", "backup/repo-delete.sh");
/** What the backup host runs each week (installed by CREATE, compared by READ). */
export const REPO_CHECK_SCRIPT = loadScript("backup/repo-check.sh");

function checkCron(i: Pick<BackupRepositoryInputs, "sourceHost" | "account" | "path" | "time">): string {
  return renderRepoCheckCron({ sourceHost: i.sourceHost, account: i.account, repository: i.path, time: i.time });
}

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

/** Key type and blob only: the comment of the client's key is the client's text, not ours to splice. */
export function keyOnly(line: string): string {
  return line.trim().split(/\s+/).slice(0, 2).join(" ");
}

function passphraseOf(o: { passphrase?: unknown }): string {
  const p = plain<unknown>(o.passphrase);
  return str(p) ? p : "";
}

function check(raw: Record<string, unknown>): { inputs?: BackupRepositoryInputs; failures?: { property: string; reason: string }[] } {
  const news = plain<Record<string, unknown>>(raw);
  if (hasUnknown(news)) return { inputs: news as unknown as BackupRepositoryInputs };
  const f = new Failures();
  checkTarget(f, "target", news.target);
  const ap = str(news.account) ? identifierProblem(news.account, "user name", 32, "globenet-backup") : "must be a string";
  if (ap) f.add("account", `must be a unix user name: ${ap}`);
  const pp = pathProblem(news.path, "repository path");
  if (pp) f.add("path", pp);
  else if ((news.path as string).split("/").filter(Boolean).length < 2) f.add("path", "must be <backup.path>/<host>, two levels deep at least");
  const hp = str(news.sourceHost) ? identifierProblem(news.sourceHost, "host name", 32, "web1") : "must be a string";
  if (hp) f.add("sourceHost", `must be the inventory name of the protected host: ${hp}`);
  if (!str(news.publicKey) || sshPublicKeyProblem(keyOnly(news.publicKey))) f.add("publicKey", "must be the backup Client's public key line");
  const pass = passphraseOf(news);
  if (!/^[A-Za-z0-9_-]{16,200}$/.test(pass)) f.add("passphrase", "must be the backup Client's passphrase (letters, digits, - and _)");
  if (!str(news.time) || !/^([01][0-9]|2[0-3]):[0-5][0-9]$/.test(news.time)) f.add("time", 'must be the backup time HH:MM like "02:30"');
  if (!f.ok) return { failures: f.list };
  return {
    inputs: {
      target: asTarget(news.target),
      account: news.account as string,
      path: news.path as string,
      sourceHost: news.sourceHost as string,
      publicKey: keyOnly(news.publicKey as string),
      passphrase: secret(pass),
      time: news.time as string,
    },
  };
}

const COMPARED = ["target", "account", "path", "sourceHost", "publicKey", "time"];

function diff(_id: string, rawOlds: BackupRepositoryOutputs, rawNews: BackupRepositoryInputs): DiffResult & { diffs: string[] } {
  const olds = plain<Record<string, unknown>>(rawOlds);
  const news = plain<Record<string, unknown>>(rawNews);
  const diffs = COMPARED.filter((k) => JSON.stringify(olds[k] ?? null) !== JSON.stringify(news[k] ?? null));
  if (passphraseOf(olds) !== passphraseOf(news)) diffs.push("passphrase");
  if (((olds.drift as string[] | undefined) ?? []).length > 0) diffs.push("drift");
  // Another path or machine is another repository: the old one stays (its delete keeps it).
  const replaces = ["path", "account"].filter((k) => olds[k] !== news[k]);
  if (!sameHost(olds.target as Target | undefined, news.target as Target | undefined)) replaces.push("target");
  return { changes: diffs.length > 0, replaces, diffs, deleteBeforeReplace: replaces.length > 0 };
}

async function converge(i: BackupRepositoryInputs, mode: "create" | "update"): Promise<void> {
  const pass = passphraseOf(i);
  const r = await run(i.target, CREATE, { args: [i.account, i.path, i.publicKey, mode, REPO_CHECK_SCRIPT, checkCron(i)], stdin: `${pass}\n`, what: `${mode === "create" ? "creating" : "updating"} the backup repository ${i.path}`, kind: "converge" }, [pass]);
  const v = parseLines(r.stdout);
  if (v.get("created")) console.error(`globenet: ${i.target.name}: backup account ${i.account} created`);
  if (v.get("repository")?.[0] === "existing") console.error(`globenet: ${i.target.name}: ${i.path} already held a repository that the passphrase opens: used as it is (its history is kept)`);
}

async function create(raw: BackupRepositoryInputs): Promise<{ id: string; outs: BackupRepositoryOutputs }> {
  const i = plain<BackupRepositoryInputs>(raw);
  await converge(i, "create");
  return { id: i.path, outs: { ...i, passphrase: secret(passphraseOf(i)), drift: [] } };
}

async function update(_id: string, _olds: BackupRepositoryOutputs, rawNews: BackupRepositoryInputs): Promise<BackupRepositoryOutputs> {
  const news = plain<BackupRepositoryInputs>(rawNews);
  await converge(news, "update");
  return { ...news, passphrase: secret(passphraseOf(news)), drift: [] };
}

async function read(_id: string, rawProps: BackupRepositoryOutputs): Promise<BackupRepositoryOutputs | undefined> {
  const props = plain<BackupRepositoryOutputs>(rawProps);
  const r = await run(props.target, READ, { args: [props.account, props.path, props.publicKey, sha256(REPO_CHECK_SCRIPT), props.time ? sha256(checkCron(props)) : "-"], what: `reading the backup repository ${props.path}`, kind: "read" });
  const v = parseLines(r.stdout);
  const repo = v.get("repository")?.[0];
  const key = v.get("key")?.[0];
  // The history outlives this resource: a folder without its key line is no longer in use.
  if (repo !== "present" && key === "absent") return undefined;
  const drift: string[] = [];
  const account = v.get("account")?.[0];
  if (account === "absent") drift.push(`the backup account ${props.account} is missing`);
  if (account === "foreign") drift.push(`the user ${props.account} was not made by Globenet (its marker is missing or names another uid)`);
  if (repo !== "present") drift.push(`${props.path} holds no borg repository`);
  if (key === "absent") drift.push(`${props.sourceHost}'s key is not in ~${props.account}/.ssh/authorized_keys`);
  if (key === "other") drift.push(`${props.sourceHost}'s line in ~${props.account}/.ssh/authorized_keys differs from the one written (another key or options)`);
  const weekly = v.get("check")?.[0];
  if (weekly === "absent") drift.push(`the backup host's weekly check of ${props.path} is not installed (/usr/local/sbin/globenet-backup-repo-check or /etc/cron.d/globenet-backup-repo-${props.sourceHost})`);
  if (weekly === "other") drift.push(`the backup host's weekly check of ${props.path} differs from the one written`);
  return { ...props, passphrase: secret(passphraseOf(props)), drift };
}

async function del(_id: string, rawProps: BackupRepositoryOutputs): Promise<void> {
  const props = plain<BackupRepositoryOutputs>(rawProps);
  const r = await run(props.target, DELETE, { args: [props.account, props.path], what: `removing ${props.sourceHost}'s key from the backup host`, kind: "converge" });
  const kept = parseLines(r.stdout).get("kept")?.[0];
  console.error(
    `globenet: ${props.target.name}: ${props.sourceHost} can no longer reach its backup repository (its key was removed)` +
      (kept ? `; the repository and its history stay in ${kept} (purging them is a separate, explicit act: docs/architecture.md, Backups)` : ""),
  );
}

function dryOutputs(i: BackupRepositoryInputs): BackupRepositoryOutputs {
  return { ...i, passphrase: secret(passphraseOf(i)), drift: [] };
}

export const backupRepositoryType: ResourceType<BackupRepositoryInputs, BackupRepositoryOutputs> = { check, diff, create, read, update, delete: del, dryOutputs };
