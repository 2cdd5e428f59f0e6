/**
 * A member's slowest queries (`npm run status -- slow-queries <member>`): the database hosts'
 * slow query log (mysql.slow_log, globenet:db:ServerSettings turns it on with the inventory's
 * threshold), read as root over SSH, kept to the member's own database users, each query
 * normalized (literals become ?) and grouped: how often, total and longest time, which database.
 */
import type { Lang } from "../i18n/lang";
import type { Model } from "../model/types";
import { loadScript } from "../../provider/scripts/load";
import { onHost } from "./remote";
import { textTable } from "./text-table";

export const READ_SLOW_LOG = loadScript("status/read-slow-log.sh");

export interface SlowEntry {
  user: string;
  seconds: number;
  db: string;
  sql: string;
}

const unhex = (h: string | undefined) => (h && /^([0-9A-Fa-f]{2})*$/.test(h) ? Buffer.from(h, "hex").toString("utf8") : "");

/** The read script's lines; the account is the user part of user_host ("velo_wp[velo_wp] @ localhost []"). */
export function parseSlowLog(out: string): SlowEntry[] {
  const rows: SlowEntry[] = [];
  for (const line of out.split("\n")) {
    const [uh, secs, db, sql] = line.split("\t");
    if (uh === undefined || secs === undefined || !/^\d+(\.\d+)?$/.test(secs)) continue;
    const user = /^([^[\s]*)\[/.exec(unhex(uh))?.[1] ?? "";
    rows.push({ user, seconds: Number(secs), db: unhex(db), sql: unhex(sql) });
  }
  return rows;
}

/** A query's shape: string and number literals become ?, lists of them one ?, white space one space. */
export function normalizeQuery(sql: string): string {
  return sql
    .replace(/'(?:[^'\\]|\\.|'')*'/g, "?")
    .replace(/"(?:[^"\\]|\\.|"")*"/g, "?")
    .replace(/\b0x[0-9a-fA-F]+\b/g, "?")
    .replace(/(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])/g, "?")
    .replace(/\(\s*\?(?:\s*,\s*\?)+\s*\)/g, "(?+)")
    .replace(/\s+/g, " ")
    .trim();
}

export interface SlowGroup {
  query: string;
  db: string;
  count: number;
  totalSeconds: number;
  maxSeconds: number;
}

/** The member's entries only (its databases' users), grouped by shape, the costliest first. */
export function slowGroups(entries: SlowEntry[], users: ReadonlySet<string>): SlowGroup[] {
  const groups = new Map<string, SlowGroup>();
  for (const e of entries.filter((x) => users.has(x.user))) {
    const query = normalizeQuery(e.sql);
    const key = `${e.db}\u0000${query}`;
    const g = groups.get(key) ?? { query, db: e.db, count: 0, totalSeconds: 0, maxSeconds: 0 };
    g.count++;
    g.totalSeconds += e.seconds;
    g.maxSeconds = Math.max(g.maxSeconds, e.seconds);
    groups.set(key, g);
  }
  return [...groups.values()].sort((a, b) => b.totalSeconds - a.totalSeconds || b.count - a.count);
}

/** Reads every database host holding one of the member's databases. */
export async function readSlowQueries(root: string, model: Model, handle: string, days: number): Promise<SlowGroup[]> {
  const mine = model.databases.filter((d) => d.handle === handle);
  const users = new Set(mine.map((d) => d.user));
  const entries: SlowEntry[] = [];
  for (const host of model.hosts.filter((h) => mine.some((d) => d.dbHost === h.name))) {
    entries.push(...parseSlowLog(await onHost(root, host, READ_SLOW_LOG, [String(days)], `reading the slow query log on ${host.name}`)));
  }
  return slowGroups(entries, users);
}

export function formatSlowQueries(handle: string, groups: SlowGroup[], threshold: number, lang: Lang = "en"): string {
  const fr = lang === "fr";
  if (groups.length === 0) return fr ? `${handle} : aucune requête de plus de ${threshold} s dans le journal` : `${handle}: no query over ${threshold} s in the log`;
  const head = fr ? ["fois", "total", "max", "base", "requête"] : ["count", "total", "max", "database", "query"];
  const rows = groups.slice(0, 20).map((g) => [String(g.count), `${g.totalSeconds.toFixed(1)} s`, `${g.maxSeconds.toFixed(1)} s`, g.db || "-", g.query.length > 120 ? `${g.query.slice(0, 117)}...` : g.query]);
  return textTable(head, rows).join("\n");
}
