/**
 * globenet:db:ServerSettings — what Globenet sets on a database host's MariaDB server itself
 * (docs/architecture.md, "Slow queries"): the slow query log, into the mysql.slow_log table
 * (log_output=TABLE: read back with SQL by `npm run status -- slow-queries`, no log file to
 * parse or give rights on), with the inventory's threshold. Set live (SET GLOBAL) and written
 * to /etc/mysql/mariadb.conf.d/90-globenet.cnf so that it survives a restart; a nightly trim
 * (/usr/local/sbin/globenet-slow-log-trim from /etc/cron.d/globenet-slow-log) keeps the table to
 * the inventory's days. Nothing of the members' is touched; deleting it turns the log off.
 */
import type { DiffResult } from "@pulumi/pulumi/provider";
import { loadScript } from "../scripts/load";
import { run } from "../ssh/remote";
import type { ResourceType, Target } from "../types";
import { Failures, asTarget, sameHost, checkTarget, hasUnknown, parseLines, pathProblem, plain } from "./account-shared";
import { runSql } from "./database";

export interface DbSettingsInputs {
  target: Target;
  /** Queries slower than this many seconds are logged. */
  slowQuerySeconds: number;
  /** The nightly trim keeps entries at least this many days (at most about twice). */
  keepDays: number;
  socket?: string;
}

export interface DbSettingsOutputs extends DbSettingsInputs {
  /** What read found out of line (the log off, another threshold, not into the table). */
  drift: string[];
}

const FILE = loadScript("database/settings-file.sh");
const TRIM = loadScript("database/slow-log-trim.sh");
const TRIM_INSTALL = loadScript("database/slow-log-trim-install.sh");

function check(raw: Record<string, unknown>): { inputs?: DbSettingsInputs; failures?: { property: string; reason: string }[] } {
  const news = plain<Record<string, unknown>>(raw);
  if (hasUnknown(news)) return { inputs: news as unknown as DbSettingsInputs };
  const f = new Failures();
  checkTarget(f, "target", news.target);
  const s = news.slowQuerySeconds;
  if (typeof s !== "number" || !Number.isFinite(s) || s < 0.1 || s > 3600) f.add("slowQuerySeconds", "must be a number of seconds from 0.1 to 3600");
  const k = news.keepDays;
  if (typeof k !== "number" || !Number.isInteger(k) || k < 1 || k > 3650) f.add("keepDays", "must be a whole number of days from 1 to 3650");
  if (news.socket !== undefined && news.socket !== null) {
    const sp = pathProblem(news.socket, "socket path");
    if (sp) f.add("socket", sp);
  }
  if (!f.ok) return { failures: f.list };
  return { inputs: { target: asTarget(news.target), slowQuerySeconds: s as number, keepDays: k as number, ...(news.socket ? { socket: news.socket as string } : {}) } };
}

function diff(_id: string, rawOlds: DbSettingsOutputs, rawNews: DbSettingsInputs): DiffResult & { diffs: string[] } {
  const olds = plain<DbSettingsOutputs>(rawOlds);
  const news = plain<DbSettingsInputs>(rawNews);
  const diffs: string[] = (["target", "slowQuerySeconds", "keepDays", "socket"] as const).filter((k) => JSON.stringify(olds[k] ?? null) !== JSON.stringify(news[k] ?? null));
  if ((olds.drift ?? []).length > 0) diffs.push("drift");
  const replaces = sameHost(olds.target, news.target) ? [] : ["target"];
  return { changes: diffs.length > 0, replaces, diffs, deleteBeforeReplace: false };
}

/** The [mariadbd] section that makes the settings survive a restart. */
export function settingsFile(i: DbSettingsInputs): string {
  return [
    "# Managed by globenet-infra (globenet:db:ServerSettings, the inventory's mariadb:): replaced at each apply.",
    "[mariadbd]",
    "slow_query_log = ON",
    "log_output = TABLE",
    `long_query_time = ${i.slowQuerySeconds}`,
    "",
  ].join("\n");
}

/** The trim's arguments, as the cron line carries them: keep days, then the socket when not the system's. */
const trimArgs = (i: DbSettingsInputs) => [String(i.keepDays), ...(i.socket ? [i.socket] : [])];

async function apply(i: DbSettingsInputs): Promise<DbSettingsOutputs> {
  // A number from check (0.1-3600): nothing else reaches the SQL.
  await runSql(i.target, i.socket, `SET GLOBAL log_output = 'TABLE';\nSET GLOBAL long_query_time = ${Number(i.slowQuerySeconds)};\nSET GLOBAL slow_query_log = ON;\n`, `setting the slow query log on ${i.target.name}`);
  const r = await run(i.target, FILE, { args: ["write"], stdin: settingsFile(i), what: `writing MariaDB's settings file on ${i.target.name}`, kind: "converge" });
  if (parseLines(r.stdout).get("file")?.[0] === "absent") console.error(`globenet: ${i.target.name}: no /etc/mysql/mariadb.conf.d: the slow query log is on until MariaDB restarts (apply again then)`);
  await run(i.target, TRIM_INSTALL, { args: ["install", ...trimArgs(i)], stdin: TRIM, what: `installing the slow query log's nightly trim on ${i.target.name}`, kind: "converge" });
  return { ...i, drift: [] };
}

async function read(_id: string, raw: DbSettingsOutputs): Promise<DbSettingsOutputs> {
  const props = plain<DbSettingsOutputs>(raw);
  const r = await runSql(props.target, props.socket, "SELECT @@GLOBAL.slow_query_log, @@GLOBAL.long_query_time, @@GLOBAL.log_output;\n", `reading the slow query log settings on ${props.target.name}`, [], true, "read");
  const [on, seconds, output] = r.stdout.trim().split("\t");
  const drift: string[] = [];
  if (on !== "1") drift.push("the slow query log is off");
  if (Number(seconds) !== props.slowQuerySeconds) drift.push(`long_query_time is ${seconds}, not ${props.slowQuerySeconds}`);
  if (!(output ?? "").split(",").includes("TABLE")) drift.push(`log_output is ${output}, not TABLE`);
  const t = parseLines((await run(props.target, TRIM_INSTALL, { args: ["read"], what: `reading the slow query log's trim on ${props.target.name}`, kind: "read" })).stdout);
  if (t.get("installed")?.[0] !== "yes") drift.push("the nightly trim of the slow query log is not installed");
  else if ((t.get("args")?.[0] ?? "") !== trimArgs(props).join(" ")) drift.push(`the nightly trim runs with "${t.get("args")?.[0] ?? ""}", not "${trimArgs(props).join(" ")}"`);
  return { ...props, drift };
}

async function del(_id: string, raw: DbSettingsOutputs): Promise<void> {
  const props = plain<DbSettingsOutputs>(raw);
  await runSql(props.target, props.socket, "SET GLOBAL slow_query_log = OFF;\n", `turning the slow query log off on ${props.target.name}`);
  await run(props.target, FILE, { args: ["remove"], what: `removing MariaDB's settings file on ${props.target.name}`, kind: "converge" });
  await run(props.target, TRIM_INSTALL, { args: ["remove", ...(props.socket ? [props.socket] : [])], what: `removing the slow query log's trim on ${props.target.name}`, kind: "converge" });
}

export const dbSettingsType: ResourceType<DbSettingsInputs, DbSettingsOutputs> = {
  check,
  diff,
  create: async (raw) => ({ id: plain<DbSettingsInputs>(raw).target.name, outs: await apply(plain<DbSettingsInputs>(raw)) }),
  read,
  update: async (_id, _olds, raw) => apply(plain<DbSettingsInputs>(raw)),
  delete: del,
  dryOutputs: (i) => ({ ...i, drift: [] }),
};
