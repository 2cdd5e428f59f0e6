/**
 * globenet:backup:Client — one protected host's side of the backups (docs/architecture.md,
 * "Backups"): BorgBackup sends its homes, databases and folders every day to its repository on
 * the backup host (the Repository resource), over SSH with a key of its own.
 *
 * On the host, root only, per protected host (one machine may play several: the lab):
 * - /etc/globenet/backup/<host>/ (0700): id_ed25519 (made on the host by ssh-keygen: the private key
 *   never leaves it), known_hosts (the backup host's pinned key), passphrase (0600: the
 *   repository key's, made here with node:crypto, travels on stdin only, returned as a
 *   secret), sources (lib/render/backup-client.ts);
 * - /usr/local/sbin/globenet-backup: provider/scripts/backup/run.sh (run, list, restore…);
 * - /etc/cron.d/globenet-backup-<host>: the daily run, then the check when one is due.
 * Update rewrites configuration, script and schedule; the key and the passphrase stay. Delete
 * removes schedule, configuration and script, and keeps key and passphrase: without them the
 * history in the repository cannot be read.
 */
import { createHash, randomBytes } from "node:crypto";
import type { DiffResult } from "@pulumi/pulumi/provider";
import { PATH_SOURCE_NAMES, type BackupSource, type PathSourceName } from "../../lib/model/backup";
import { renderBackupCron, renderBackupSources } from "../../lib/render/backup-client";
import { sshPublicKeyProblem } from "../../lib/schema/ssh-key";
import { loadScript } from "../scripts/load";
import { run } from "../ssh/remote";
import type { ResourceType, Target } from "../types";
import { Failures, asTarget, sameHost, checkTarget, dbNameProblem, handleProblem, hasUnknown, homeProblem, parseLines, pathProblem, plain, printable, secret, str, type SecretValue } from "./account-shared";

export interface BackupClientInputs {
  /** The protected host. */
  target: Target;
  /** Where its repository is: the backup host's SSH facts for the backup account, and the repository's path there. */
  backup: { address: string; port: number; user: string; hostKey: string; repository: string };
  sources: BackupSource[];
  settings: { time: string; retention: { daily: number; weekly: number; monthly: number }; checkEveryDays: number; maxAgeHours: number };
  /** The MariaDB server's unix socket for the dumps (as the Database resource's); none: the client's default. */
  socket?: string;
}

export interface BackupClientOutputs extends BackupClientInputs {
  /** The host's backup key (public part): the Repository lets it in. */
  publicKey: string;
  passphrase: SecretValue<string>;
  /** What `read` found out of line (configuration, schedule or script changed, key missing). */
  drift: string[];
}

// ---- remote scripts (constant) ----------------------------------------------------------

const SETUP = loadScript("account/prelude.sh", "backup/client-common.sh", "backup/client-setup.sh");
const PASSPHRASE = loadScript("account/prelude.sh", "backup/client-common.sh", "backup/client-passphrase.sh");
const WRITE = loadScript("account/prelude.sh", "backup/client-common.sh", "backup/client-write.sh");
const READ = loadScript("account/prelude.sh", "backup/client-common.sh", "backup/client-read.sh");
const DELETE = loadScript("account/prelude.sh", "backup/client-common.sh", "backup/client-delete.sh");
/** The run script as installed on the host (the file itself, not script text to run now). */
export const RUN_SCRIPT = loadScript("backup/run.sh");

/** The alias under which run.sh pins the backup host's key (HostKeyAlias). */
const HOST_ALIAS = "globenet-backup";

// ---- helpers ----------------------------------------------------------------------------

export function newPassphrase(): string {
  // 32 random bytes: 43 characters of [A-Za-z0-9_-], 256 bits.
  return randomBytes(32).toString("base64url");
}

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

/** The files the Client writes, by the name client-write.sh knows them under. */
export function clientFiles(i: BackupClientInputs): Record<"sources" | "known_hosts" | "run" | "cron", string> {
  const key = i.backup.hostKey.trim().split(/\s+/).slice(0, 2).join(" ");
  return {
    sources: renderBackupSources({ host: i.target.name, backup: i.backup, sources: i.sources, retention: i.settings.retention, checkEveryDays: i.settings.checkEveryDays, time: i.settings.time, socket: i.socket }),
    known_hosts: `${HOST_ALIAS} ${key}\n`,
    run: RUN_SCRIPT,
    cron: renderBackupCron({ host: i.target.name, time: i.settings.time, checkEveryDays: i.settings.checkEveryDays }),
  };
}

async function writeFiles(i: BackupClientInputs): Promise<void> {
  for (const [name, text] of Object.entries(clientFiles(i))) {
    await run(i.target, WRITE, { args: [i.target.name, name], stdin: text, what: `writing the backup ${name} file`, kind: "converge" });
  }
}

/** Key and passphrase on the host; a passphrase it already had wins (it opens the history). */
async function setup(i: BackupClientInputs, passphrase: string, mode: "create" | "update"): Promise<{ publicKey: string; passphrase: string }> {
  const r = await run(i.target, SETUP, { args: [i.target.name], stdin: passphrase, what: `${mode === "create" ? "setting up" : "updating"} the backup key`, kind: "converge" }, [passphrase]);
  const v = parseLines(r.stdout);
  const publicKey = v.get("pub")?.[0];
  if (!publicKey || sshPublicKeyProblem(publicKey.trim())) throw new Error(`${i.target.name}: the backup key setup printed no usable public key`);
  if (v.get("passphrase")?.[0] !== "kept") return { publicKey: publicKey.trim(), passphrase };
  if (mode === "update") return { publicKey: publicKey.trim(), passphrase };
  // Created again after a delete: the host kept the passphrase that opens its history.
  const p = await run(i.target, PASSPHRASE, { args: [i.target.name], what: "reading the kept backup passphrase", kind: "read" });
  const kept = p.stdout.trim();
  if (!/^[A-Za-z0-9_-]{16,200}$/.test(kept)) throw new Error(`${i.target.name}: /etc/globenet/backup/${i.target.name}/passphrase is not one this provider makes: fix or move it aside by hand (docs/architecture.md, Backups)`);
  console.error(`globenet: ${i.target.name}: backup: the key and passphrase kept on the host from before are used again (they open its history)`);
  return { publicKey: publicKey.trim(), passphrase: kept };
}

function passphraseOf(o: Partial<BackupClientOutputs> | undefined): string | undefined {
  const p = plain<unknown>(o?.passphrase);
  return str(p) && p !== "" ? p : undefined;
}

// ---- check ------------------------------------------------------------------------------

const EXCLUDE = /^[A-Za-z0-9._*?/-]+$/;

function sourceProblems(f: Failures, sources: unknown): BackupSource[] {
  const out: BackupSource[] = [];
  if (!Array.isArray(sources)) {
    f.add("sources", "must be a list of backup sources");
    return out;
  }
  const ids = new Set<string>();
  sources.forEach((raw, n) => {
    const at = `sources[${n}]`;
    const s = raw as Record<string, unknown>;
    if (!s || typeof s !== "object") return f.add(at, "must be an object { kind, name, … }");
    const id = `${String(s.kind)}--${String(s.name)}`;
    if (ids.has(id)) f.add(at, `${printable(id)} is listed twice`);
    ids.add(id);
    if (s.kind === "home") {
      const p = handleProblem(s.name) ?? homeProblem(s.path, s.name);
      if (p) return f.add(at, p);
      if (!Array.isArray(s.excludes) || s.excludes.some((e) => !str(e) || !EXCLUDE.test(e) || e.split("/").includes(".."))) return f.add(`${at}.excludes`, "must be relative patterns of letters, digits and . _ * ? / - (without ..)");
      out.push({ kind: "home", name: s.name as string, handle: s.name as string, path: s.path as string, excludes: [...(s.excludes as string[])] });
    } else if (s.kind === "database") {
      const p = dbNameProblem(s.name);
      if (p) return f.add(`${at}.name`, p);
      out.push({ kind: "database", name: s.name as string, handle: str(s.handle) ? s.handle : "" });
    } else if (s.kind === "path") {
      if (!(PATH_SOURCE_NAMES as readonly string[]).includes(s.name as string)) return f.add(`${at}.name`, `must be one of ${PATH_SOURCE_NAMES.map((n) => `"${n}"`).join(", ")}`);
      const p = pathProblem(s.path, "folder");
      if (p) return f.add(`${at}.path`, p);
      out.push({ kind: "path", name: s.name as PathSourceName, path: s.path as string });
    } else if (s.kind === "vps-disk") {
      if (!str(s.domain) || !/^[a-z0-9][a-z0-9-]{0,80}$/.test(s.domain) || s.name !== s.domain) return f.add(`${at}.domain`, "must be the guest's libvirt domain name (<handle>--<vps>), also its name");
      const p = pathProblem(s.disk, "disk path");
      if (p) return f.add(`${at}.disk`, p);
      const b = pathProblem(s.base, "base image path");
      if (b) return f.add(`${at}.base`, b);
      out.push({ kind: "vps-disk", name: s.domain, handle: str(s.handle) ? s.handle : "", domain: s.domain, disk: s.disk as string, base: s.base as string });
    } else f.add(`${at}.kind`, 'must be "home", "database", "path" or "vps-disk"');
  });
  return out;
}

function whole(f: Failures, prop: string, v: unknown, min: number, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) f.add(prop, `must be a whole number from ${min} to ${max}`);
  return v as number;
}

function check(raw: Record<string, unknown>): { inputs?: BackupClientInputs; failures?: { property: string; reason: string }[] } {
  const news = plain<Record<string, unknown>>(raw);
  if (hasUnknown(news)) return { inputs: news as unknown as BackupClientInputs };
  const f = new Failures();
  checkTarget(f, "target", news.target);
  const b = news.backup as Record<string, unknown> | undefined;
  if (!b || typeof b !== "object") f.add("backup", "must be an object { address, port, user, hostKey, repository }");
  else {
    checkTarget(f, "backup", { name: "backup", ...b });
    const rp = pathProblem(b.repository, "repository path");
    if (rp) f.add("backup.repository", rp);
  }
  const sources = sourceProblems(f, news.sources);
  const s = news.settings as Record<string, unknown> | undefined;
  if (!s || typeof s !== "object") f.add("settings", "must be an object { time, retention, checkEveryDays, maxAgeHours }");
  else {
    if (!str(s.time) || !/^([01][0-9]|2[0-3]):[0-5][0-9]$/.test(s.time)) f.add("settings.time", 'must be a time of day HH:MM like "02:30"');
    const r = s.retention as Record<string, unknown> | undefined;
    if (!r || typeof r !== "object") f.add("settings.retention", "must be an object { daily, weekly, monthly }");
    else {
      for (const k of ["daily", "weekly", "monthly"]) whole(f, `settings.retention.${k}`, r[k], 0, 10_000);
      if (r.daily === 0 && r.weekly === 0 && r.monthly === 0) f.add("settings.retention", "keeps nothing: at least one of daily, weekly, monthly must be 1 or more");
    }
    whole(f, "settings.checkEveryDays", s.checkEveryDays, 1, 90);
    whole(f, "settings.maxAgeHours", s.maxAgeHours, 1, 744);
  }
  if (news.socket !== undefined && news.socket !== null) {
    const sp = pathProblem(news.socket, "socket path");
    if (sp) f.add("socket", sp);
  }
  if (!f.ok || !b || !s) return { failures: f.list };
  const r = s.retention as Record<string, number>;
  const inputs: BackupClientInputs = {
    target: asTarget(news.target),
    backup: { address: b.address as string, port: b.port as number, user: b.user as string, hostKey: (b.hostKey as string).trim(), repository: b.repository as string },
    sources,
    settings: { time: s.time as string, retention: { daily: r.daily as number, weekly: r.weekly as number, monthly: r.monthly as number }, checkEveryDays: s.checkEveryDays as number, maxAgeHours: s.maxAgeHours as number },
  };
  if (news.socket) inputs.socket = news.socket as string;
  return { inputs };
}

// ---- diff / create / update / read / delete -----------------------------------------------

const COMPARED = ["target", "backup", "sources", "settings", "socket"];

function diff(_id: string, rawOlds: BackupClientOutputs, rawNews: BackupClientInputs): DiffResult & { diffs: string[] } {
  const olds = plain<Record<string, unknown>>(rawOlds);
  const news = plain<Record<string, unknown>>(rawNews);
  const diffs = COMPARED.filter((k) => JSON.stringify(olds[k] ?? null) !== JSON.stringify(news[k] ?? null));
  if (((olds.drift as string[] | undefined) ?? []).length > 0) diffs.push("drift");
  // Another machine is another client (its own key); the old one's delete keeps its key.
  const replaces = sameHost(olds.target as Target | undefined, news.target as Target | undefined) ? [] : ["target"];
  return { changes: diffs.length > 0, replaces, diffs, deleteBeforeReplace: replaces.length > 0 };
}

async function create(raw: BackupClientInputs): Promise<{ id: string; outs: BackupClientOutputs }> {
  const i = plain<BackupClientInputs>(raw);
  const fresh = newPassphrase();
  const { publicKey, passphrase } = await setup(i, fresh, "create");
  await writeFiles(i);
  return { id: i.target.name, outs: { ...i, publicKey, passphrase: secret(passphrase), drift: [] } };
}

async function update(_id: string, rawOlds: BackupClientOutputs, rawNews: BackupClientInputs): Promise<BackupClientOutputs> {
  const olds = plain<BackupClientOutputs>(rawOlds);
  const news = plain<BackupClientInputs>(rawNews);
  // The state's passphrase is written again only if the host lost its file.
  const { publicKey, passphrase } = await setup(news, passphraseOf(olds) ?? newPassphrase(), "update");
  await writeFiles(news);
  return { ...news, publicKey, passphrase: secret(passphrase), drift: [] };
}

async function read(_id: string, rawProps: BackupClientOutputs): Promise<BackupClientOutputs | undefined> {
  const props = plain<BackupClientOutputs>(rawProps);
  const r = await run(props.target, READ, { args: [props.target.name], what: "reading the backup set-up", kind: "read" });
  const v = parseLines(r.stdout);
  if (v.get("present")?.[0] !== "yes") return undefined;
  const drift: string[] = [];
  const etc = `/etc/globenet/backup/${props.target.name}`;
  const pub = v.get("pub")?.[0]?.trim();
  if (!pub) drift.push(`the backup key ${etc}/id_ed25519 is missing (the next apply makes a new one and lets it in)`);
  const pass = passphraseOf(props);
  const ps = v.get("passphrase")?.[0];
  if (ps === "absent") drift.push(`${etc}/passphrase is missing (the next apply writes it from the stack's secret)`);
  else if (pass && ps !== sha256(pass)) drift.push(`${etc}/passphrase differs from the stack's secret`);
  const want = clientFiles(props);
  const where: Record<keyof typeof want, string> = { sources: `${etc}/sources`, known_hosts: `${etc}/known_hosts`, run: "/usr/local/sbin/globenet-backup", cron: `/etc/cron.d/globenet-backup-${props.target.name}` };
  for (const k of Object.keys(want) as (keyof typeof want)[]) {
    const have = v.get(k)?.[0];
    if (have === "absent") drift.push(`${where[k]} is missing`);
    else if (have !== sha256(want[k])) drift.push(`${where[k]} differs from what was written`);
  }
  return { ...props, publicKey: pub ?? props.publicKey, passphrase: secret(pass ?? ""), drift };
}

async function del(_id: string, rawProps: BackupClientOutputs): Promise<void> {
  const props = plain<BackupClientOutputs>(rawProps);
  const r = await run(props.target, DELETE, { args: [props.target.name], what: "removing the backup schedule", kind: "converge" });
  const kept = parseLines(r.stdout).get("kept") ?? [];
  console.error(
    `globenet: ${props.target.name}: backups stopped (schedule, configuration and run script removed)` +
      (kept.length ? `; kept ${kept.join(" and ")}: they open the history in ${props.backup.repository} on the backup host` : ""),
  );
}

/** Dry mode (the bench): what create and update return, without a host. */
function dryOutputs(i: BackupClientInputs, olds?: BackupClientOutputs): BackupClientOutputs {
  return { ...i, publicKey: olds?.publicKey ?? "", passphrase: olds?.passphrase ?? secret(""), drift: [] };
}

export const backupClientType: ResourceType<BackupClientInputs, BackupClientOutputs> = { check, diff, create, read, update, delete: del, dryOutputs };
