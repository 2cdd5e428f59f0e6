import type { SimpleGit } from "simple-git";
import { gitTime, historyLine, utcTime, appliedAt } from "./format";
import { Blobs, changeCommits, type ChangeCommit } from "./git-log";
import type { Mainline } from "./mainline";
import { classifyPath, siteHostsIn } from "./semantic";
import { firstApplied, sinceFilter } from "./story";
import type { Update, UpdateHistory } from "./updates";

export const KINDS = ["new member", "new site", "new VPS", "new zone"] as const;
export type LeadKind = (typeof KINDS)[number];

/** A thing that appeared in the data, and the moments it went through. */
export interface LeadEvent {
  kind: LeadKind;
  /** The member's handle, the site's name, handle/VPS, the zone. */
  object: string;
  /** The first commit in which it exists: the request. */
  commit: string;
  request: string;
  /** When that commit landed on the branch (merge commit, or itself). */
  merge?: { hash: string; date: string };
  /** The first successful update whose git.head contains the landing commit. */
  applied?: { version: number; date: string };
}

/** What appeared in one commit, from its touched files' texts before and after. Pure. */
export function appearances(files: { path: string; status: string; before?: string; after?: string }[]): { kind: LeadKind; object: string }[] {
  const out: { kind: LeadKind; object: string }[] = [];
  for (const f of files) {
    const k = classifyPath(f.path);
    const added = f.before === undefined && f.after !== undefined;
    if (k.kind === "member") {
      if (added) out.push({ kind: "new member", object: k.handle });
      if (f.after !== undefined) {
        const old = new Set(siteHostsIn(f.before, f.path));
        for (const h of siteHostsIn(f.after, f.path)) if (!old.has(h)) out.push({ kind: "new site", object: h });
      }
    } else if (k.kind === "vps" && added) out.push({ kind: "new VPS", object: `${k.handle}/${k.name}` });
    else if (k.kind === "zone" && added) out.push({ kind: "new zone", object: k.zone });
  }
  return out;
}

/** Every member, site, VPS and zone that appeared on the branch, oldest request first. */
export async function collectEvents(git: SimpleGit, mainline: Mainline, updates: readonly Update[], since?: string): Promise<LeadEvent[]> {
  const blobs = new Blobs(git);
  const commits: ChangeCommit[] = (await changeCommits(git, mainline.ref, ["members", "zones"])).filter(sinceFilter(since));
  const perCommit = await Promise.all(
    commits.map(async (c) => {
      const files = await Promise.all(c.files.map(async (f) => ({ path: f.path, status: f.status, before: await blobs.text(f.before), after: await blobs.text(f.after) })));
      const found = appearances(files);
      if (found.length === 0) return [];
      const landing = await mainline.landing(c.hash);
      const applied = landing ? await firstApplied(mainline, updates, landing.hash) : undefined;
      return found.map(
        (a): LeadEvent => ({
          ...a,
          commit: c.hash,
          request: c.authored,
          merge: landing ? { hash: landing.hash, date: landing.committed } : undefined,
          applied: applied ? { version: applied.version, date: appliedAt(applied) } : undefined,
        }),
      );
    }),
  );
  return perCommit.flat();
}

/** The middle value (mean of the two middle ones for an even count); undefined when empty. */
export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** "45 s", "12 min", "3 h 20 min", "2 d 4 h"; "-" for undefined. */
export function formatDuration(ms: number | undefined): string {
  if (ms === undefined) return "-";
  const sign = ms < 0 ? "-" : "";
  const s = Math.round(Math.abs(ms) / 1000);
  if (s < 60) return `${sign}${s} s`;
  const min = Math.round(s / 60);
  if (min < 60) return `${sign}${min} min`;
  const h = Math.floor(min / 60);
  if (h < 24) return `${sign}${h} h${min % 60 ? ` ${min % 60} min` : ""}`;
  const d = Math.floor(h / 24);
  return `${sign}${d} d${h % 24 ? ` ${h % 24} h` : ""}`;
}

const span = (from: string | undefined, to: string | undefined) => (from && to ? Date.parse(to) - Date.parse(from) : undefined);

export interface KindRow {
  kind: LeadKind;
  count: number;
  merged: number;
  applied: number;
  requestToMerge?: number;
  mergeToApplied?: number;
  requestToApplied?: number;
}

/** Per kind: how many, and the median of each step over the events that reached it. Pure. */
export function leadTimeRows(events: readonly LeadEvent[]): KindRow[] {
  return KINDS.map((kind) => {
    const ev = events.filter((e) => e.kind === kind);
    const vals = (f: (e: LeadEvent) => number | undefined) => ev.map(f).filter((n): n is number => n !== undefined);
    return {
      kind,
      count: ev.length,
      merged: ev.filter((e) => e.merge).length,
      applied: ev.filter((e) => e.applied).length,
      requestToMerge: median(vals((e) => span(e.request, e.merge?.date))),
      mergeToApplied: median(vals((e) => span(e.merge?.date, e.applied?.date))),
      requestToApplied: median(vals((e) => span(e.request, e.applied?.date))),
    };
  });
}

function table(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  return rows.map((r) =>
    r
      .map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join("  ")
      .trimEnd(),
  );
}

/** The lead-time report: a table of medians per kind, then each event. */
export function formatLeadTime(ref: string, history: UpdateHistory, events: readonly LeadEvent[], since?: string): string {
  const withApply = !history.unavailable;
  const lines = [`Lead time on ${ref}${since ? ` since ${since}` : ""}: request (first commit) → merge${withApply ? " → applied" : ""}`, historyLine(history)];
  if (!withApply) lines.push("so lead time is request → merge only");
  const rows = leadTimeRows(events);
  const head = withApply ? ["kind", "count", "request → merge", "merge → applied", "request → applied"] : ["kind", "count", "request → merge"];
  lines.push(
    "",
    ...table([
      head,
      ...rows.map((r) => {
        const base = [r.kind, String(r.count), formatDuration(r.requestToMerge)];
        return withApply ? [...base, formatDuration(r.mergeToApplied), formatDuration(r.requestToApplied)] : base;
      }),
    ]),
    "",
    `medians over the changes that reached each step ("-": none did)`,
  );
  if (events.length > 0) lines.push("");
  for (const e of events) {
    const parts = [`${gitTime(e.request)}  ${e.kind} ${e.object} (${e.commit.slice(0, 12)})`];
    parts.push(e.merge ? `merged ${gitTime(e.merge.date)}, after ${formatDuration(span(e.request, e.merge.date))}` : "not merged");
    if (withApply) parts.push(e.applied ? `applied ${utcTime(e.applied.date)} by update #${e.applied.version}, ${formatDuration(span(e.merge?.date, e.applied.date))} after the merge` : "not applied yet");
    lines.push(parts.join(" · "));
  }
  return `${lines.join("\n")}\n`;
}

export function leadTimeJson(ref: string, history: UpdateHistory, events: readonly LeadEvent[], since?: string): unknown {
  return {
    ref,
    since: since ?? null,
    history: { stack: history.stack ?? null, updates: history.updates.length, unavailable: history.unavailable ?? null },
    kinds: leadTimeRows(events).map((r) => ({
      kind: r.kind,
      count: r.count,
      merged: r.merged,
      applied: r.applied,
      medianRequestToMergeMs: r.requestToMerge ?? null,
      medianMergeToAppliedMs: r.mergeToApplied ?? null,
      medianRequestToAppliedMs: r.requestToApplied ?? null,
    })),
    events: events.map((e) => ({ ...e, merge: e.merge ?? null, applied: e.applied ?? null })),
  };
}
