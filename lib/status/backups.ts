/**
 * Backups as the protected hosts last ran them: each host's status file
 * (/var/lib/globenet/backup/<host>/status, written by globenet-backup: one line per source,
 * `<kind>--<name> result=… last_ok=… last_run=… duration=… size=… added=… archive=…`, plus
 * `homes`, `run`, `prune` and `check` lines), read over SSH and judged against the plan: a
 * source the plan has but the file lacks was never backed up; a last good run older than the
 * inventory's max_age_hours, or a failed last run or check, needs attention.
 * Every home of a host goes into one archive a run (`homes`: its duration, the archive's size
 * and what it added); each member keeps its own `home--<handle>` line from that run: its result
 * (failed when its home was missing, the others still backed up), the run's duration, the
 * home's own size (its regular files, counted while borg reads: run.sh's home_sizes, not
 * borg's), nothing for what it added.
 */
import type { Lang } from "../i18n/lang";
import { archivePrefix, type BackupPlan } from "../model/backup";
import type { Model } from "../model/types";
import { loadScript } from "../../provider/scripts/load";
import { onHost } from "./remote";
import { humanBytes as size, textTable } from "./text-table";

const READ_STATUS = loadScript("status/read-backups.sh");
const READ_REPO_CHECKS = loadScript("status/read-backup-repos.sh");

export interface StatusLine {
  id: string;
  fields: Record<string, string>;
}

/** The status file's lines; a malformed line is skipped (the file is root's, written by the script). */
export function parseStatus(text: string): StatusLine[] {
  const out: StatusLine[] = [];
  for (const raw of text.split("\n")) {
    const [id, ...rest] = raw.trim().split(/\s+/);
    if (!id || !/^[a-z0-9][a-z0-9._-]*$/.test(id)) continue;
    const fields: Record<string, string> = {};
    for (const kv of rest) {
      const eq = kv.indexOf("=");
      if (eq > 0) fields[kv.slice(0, eq)] = kv.slice(eq + 1);
    }
    out.push({ id, fields });
  }
  return out;
}

export type BackupState = "ok" | "stale" | "failed" | "never" | "unsupported" | "absent" | "scheduled";

export interface BackupRow {
  host: string;
  /** `<kind>--<name>`, or homes / run / check for the host's own lines. */
  id: string;
  kind: string;
  name: string;
  lastOk?: Date;
  ageHours?: number;
  result?: string;
  durationSec?: number;
  sizeBytes?: number;
  addedBytes?: number;
  archive?: string;
  /** A VPS disk's copy: file systems frozen by the guest agent, crash-consistent, or the guest off. */
  consistency?: Consistency;
  state: BackupState;
}

export type Consistency = "frozen" | "crash" | "off";

function date(v: string | undefined): Date | undefined {
  if (!v || v === "-") return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** Hours from `d` to `now`, or undefined without a date. */
function hoursSince(d: Date | undefined, now: Date): number | undefined {
  return d ? (now.getTime() - d.getTime()) / 3_600_000 : undefined;
}

/** The first line of an error's message: what a status row has room for. */
function firstLine(e: unknown): string {
  return e instanceof Error ? (e.message.split("\n")[0] ?? "") : String(e);
}

function consistencyOf(v: string | undefined): Consistency | undefined {
  return v === "frozen" || v === "crash" || v === "off" ? v : undefined;
}

function num(v: string | undefined): number | undefined {
  return v && /^\d+$/.test(v) ? Number(v) : undefined;
}

/**
 * One row per source of the plan on `host`, then the host's run and check, judged at `now`.
 * The check may be older than the backups: it is due every check_every_days (+ a day).
 */
export function judgeHost(plan: BackupPlan, host: string, statusText: string | undefined, now: Date): BackupRow[] {
  const hp = plan.hosts.find((h) => h.host === host);
  if (!hp) return [];
  const lines = new Map(parseStatus(statusText ?? "").map((l) => [l.id, l.fields]));
  const maxAge = plan.settings.max_age_hours;
  const row = (id: string, kind: string, name: string, limitHours: number): BackupRow => {
    const f = lines.get(id);
    if (!f) return { host, id, kind, name, state: "never" };
    const lastOk = date(f.last_ok);
    const ageHours = hoursSince(lastOk, now);
    const result = f.result;
    let state: BackupState;
    if (result === "unsupported") state = "unsupported";
    else if (result === "absent") state = "absent";
    else if (result === "failed") state = "failed";
    else if (ageHours === undefined) state = "never";
    else if (ageHours > limitHours) state = "stale";
    else state = "ok";
    return { host, id, kind, name, lastOk, ageHours, result, durationSec: num(f.duration), sizeBytes: num(f.size), addedBytes: num(f.added), archive: f.archive && f.archive !== "-" ? f.archive : undefined, consistency: consistencyOf(f.consistency), state };
  };
  const rows = hp.sources.map((s) => row(archivePrefix(s).slice(0, -2), s.kind, s.name, maxAge));
  if (hp.sources.some((s) => s.kind === "home")) rows.push(row("homes", "homes", host, maxAge));
  rows.push(row("run", "run", host, maxAge));
  rows.push(row("check", "check", host, (plan.settings.check_every_days + 1) * 24));
  return rows;
}

/** A week between two checks on the backup host, plus a day of slack. */
const REPO_CHECK_HOURS = 8 * 24;

/**
 * The backup host's weekly check of each repository (provider/scripts/backup/repo-check.sh),
 * from its lines `<host> repository-check result=… last_ok=… last_run=… [installed=…]`: one row
 * per protected host. Before its first run the check is "scheduled" for a week after its
 * installation, then "never".
 */
export function judgeRepoChecks(plan: BackupPlan, text: string | undefined, now: Date): BackupRow[] {
  const lines = new Map<string, Record<string, string>>();
  for (const raw of (text ?? "").split("\n")) {
    const [host, ...rest] = raw.trim().split(/\s+/);
    const parsed = parseStatus(rest.join(" "))[0];
    if (host && parsed?.id === "repository-check") lines.set(host, parsed.fields);
  }
  return plan.hosts.map((hp): BackupRow => {
    const base = { host: plan.backupHost.name, id: `repository-check--${hp.host}`, kind: "repository-check", name: hp.host };
    const f = lines.get(hp.host);
    if (!f) return { ...base, state: "never" };
    const lastOk = date(f.last_ok);
    const ageHours = hoursSince(lastOk, now);
    let state: BackupState;
    if (f.result === "failed") state = "failed";
    else if (ageHours !== undefined) state = ageHours > REPO_CHECK_HOURS ? "stale" : "ok";
    else if (f.result === "scheduled" && (hoursSince(date(f.installed), now) ?? Infinity) <= REPO_CHECK_HOURS) state = "scheduled";
    else state = "never";
    return { ...base, lastOk, ageHours, result: f.result, durationSec: num(f.duration), state };
  });
}

/** Reads every protected host's status file (the lab's key for the lab stack: lib/lab/open-stack.ts onStackHosts). */
export async function readBackups(root: string, model: Model, plan: BackupPlan, now = new Date()): Promise<BackupRow[]> {
  const out: BackupRow[] = [];
  for (const hp of plan.hosts) {
    const host = model.hosts.find((h) => h.name === hp.host);
    if (!host) continue;
    let text: string | undefined;
    try {
      text = await onHost(root, host, READ_STATUS, [hp.host], `reading the backup status of ${hp.host}`);
    } catch (e) {
      out.push({ host: hp.host, id: "run", kind: "run", name: hp.host, result: `unreachable: ${firstLine(e)}`, state: "failed" });
      continue;
    }
    out.push(...judgeHost(plan, hp.host, text, now));
  }
  try {
    const text = await onHost(root, plan.backupHost, READ_REPO_CHECKS, plan.hosts.map((h) => h.host), `reading the repository checks on ${plan.backupHost.name}`);
    out.push(...judgeRepoChecks(plan, text, now));
  } catch (e) {
    out.push({ host: plan.backupHost.name, id: "repository-check", kind: "repository-check", name: plan.backupHost.name, result: `unreachable: ${firstLine(e)}`, state: "failed" });
  }
  return out;
}

/** The rows a volunteer must look at; also what CI's nightly job reads back from --json. */
export function needsAttention<T extends { state: string }>(rows: T[]): T[] {
  return rows.filter((r) => r.state === "stale" || r.state === "failed" || r.state === "never");
}

const STATE_TEXT: Record<Lang, Record<BackupState, string>> = {
  en: { ok: "ok", stale: "STALE", failed: "FAILED", never: "NEVER", unsupported: "not backed up yet", absent: "nothing there yet", scheduled: "scheduled, not run yet" },
  fr: { ok: "ok", stale: "TROP ANCIENNE", failed: "ÉCHEC", never: "JAMAIS", unsupported: "pas encore sauvegardé", absent: "rien à sauvegarder pour l'instant", scheduled: "prévue, pas encore faite" },
};

const CONSISTENCY_TEXT: Record<Lang, Record<Consistency, string>> = {
  en: { frozen: "frozen by the guest agent", crash: "crash-consistent: no guest agent", off: "guest off" },
  fr: { frozen: "gelé par l'agent de l'invité", crash: "sans gel : comme après une coupure", off: "invité éteint" },
};

/** The table a volunteer reads, and a last line saying what to do. */
export function formatBackups(rows: BackupRow[], plan: BackupPlan, lang: Lang = "en"): string {
  const fr = lang === "fr";
  const head = fr ? ["hôte", "quoi", "état", "dernière réussie", "âge", "durée", "taille", "ajouté"] : ["host", "what", "state", "last good", "age", "took", "size", "added"];
  const table = rows.map((r) => [
    r.host,
    r.id,
    STATE_TEXT[lang][r.state] + (r.state === "failed" && r.result && r.result !== "failed" ? ` (${r.result})` : "") + (r.consistency ? ` (${CONSISTENCY_TEXT[lang][r.consistency]})` : ""),
    r.lastOk ? r.lastOk.toISOString().replace(".000Z", "Z") : "-",
    r.ageHours === undefined ? "-" : `${r.ageHours.toFixed(1)} h`,
    r.durationSec === undefined ? "-" : `${r.durationSec} s`,
    size(r.sizeBytes),
    size(r.addedBytes),
  ]);
  const bad = needsAttention(rows);
  const limit = plan.settings.max_age_hours;
  const last = bad.length
    ? fr
      ? `${bad.length} à regarder (limite d'âge ${limit} h) : voir la sortie de la dernière exécution sur l'hôte (/var/lib/globenet/backup/<hôte>/status), relancer avec npm run backup -- run --host <hôte>`
      : `${bad.length} need attention (age limit ${limit} h): see the host's last run (/var/lib/globenet/backup/<host>/status), run again with npm run backup -- run --host <host>`
    : fr
      ? `toutes les sauvegardes ont moins de ${limit} h`
      : `every backup is younger than ${limit} h`;
  return [...textTable(head, table), "", last].join("\n");
}
