import type { RenderedFile } from "../render";

export type Daemon = RenderedFile["daemon"];
export type ChangeStatus = "added" | "removed" | "changed";

/** One generated file that differs between the two sides. */
export interface FileChange {
  host: string;
  daemon: Daemon;
  path: string;
  status: ChangeStatus;
  before?: RenderedFile;
  after?: RenderedFile;
}

/** The order a reader meets the daemons in: web first, then databases, DNS, VPS. */
export const DAEMON_ORDER: readonly Daemon[] = ["apache2", "www", "php-fpm", "mariadb", "bind", "libvirt", "cloud-init"];

const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The files that differ (content or mode), sorted by host, then daemon in DAEMON_ORDER,
 * then path. Pure.
 */
export function compareRenders(before: readonly RenderedFile[], after: readonly RenderedFile[]): FileChange[] {
  const key = (f: RenderedFile) => `${f.host}\0${f.path}`;
  const old = new Map(before.map((f) => [key(f), f]));
  const changes: FileChange[] = [];
  for (const f of after) {
    const b = old.get(key(f));
    old.delete(key(f));
    if (!b) changes.push({ host: f.host, daemon: f.daemon, path: f.path, status: "added", after: f });
    else if (b.content !== f.content || (b.mode ?? 0o644) !== (f.mode ?? 0o644)) changes.push({ host: f.host, daemon: f.daemon, path: f.path, status: "changed", before: b, after: f });
  }
  for (const b of old.values()) changes.push({ host: b.host, daemon: b.daemon, path: b.path, status: "removed", before: b });
  const rank = (d: Daemon) => DAEMON_ORDER.indexOf(d);
  return changes.sort((x, y) => byCodeUnit(x.host, y.host) || rank(x.daemon) - rank(y.daemon) || byCodeUnit(x.path, y.path));
}

export interface HostGroup {
  host: string;
  daemons: { daemon: Daemon; changes: FileChange[] }[];
}

/** Groups sorted changes by host, then daemon. */
export function groupChanges(changes: readonly FileChange[]): HostGroup[] {
  const groups: HostGroup[] = [];
  for (const c of changes) {
    let g = groups[groups.length - 1];
    if (!g || g.host !== c.host) groups.push((g = { host: c.host, daemons: [] }));
    let d = g.daemons[g.daemons.length - 1];
    if (!d || d.daemon !== c.daemon) g.daemons.push((d = { daemon: c.daemon, changes: [] }));
    d.changes.push(c);
  }
  return groups;
}

/** "2 files changed on 1 host: 1 added, 0 removed, 1 changed". */
export function summaryLine(changes: readonly FileChange[]): string {
  const n = (s: ChangeStatus) => changes.filter((c) => c.status === s).length;
  const hosts = new Set(changes.map((c) => c.host)).size;
  const plural = (k: number, w: string) => `${k} ${w}${k === 1 ? "" : "s"}`;
  return `${plural(changes.length, "file")} differ on ${plural(hosts, "host")}: ${n("added")} added, ${n("removed")} removed, ${n("changed")} changed`;
}

export interface DiffSide {
  /** What the user named: a ref, or "working tree". */
  label: string;
  /** The commit, when the side is one. */
  commit?: string;
}

export interface JsonChange {
  host: string;
  daemon: Daemon;
  path: string;
  status: ChangeStatus;
  diff: string;
}

/** The text report: a header, then per host and daemon each file's unified diff. */
export function formatText(stack: string, base: DiffSide, head: DiffSide, changes: readonly FileChange[], diffs: ReadonlyMap<FileChange, string>): string {
  const side = (s: DiffSide) => (s.commit ? `${s.label} (${s.commit.slice(0, 12)})` : s.label);
  const lines = [`rendered diff of stack ${stack}: ${side(base)} → ${side(head)}`];
  if (changes.length === 0) {
    lines.push("no rendered change");
    return `${lines.join("\n")}\n`;
  }
  lines.push(summaryLine(changes));
  for (const g of groupChanges(changes)) {
    lines.push("", `# host ${g.host}`);
    for (const d of g.daemons) {
      lines.push("", `## ${g.host} / ${d.daemon}`);
      for (const c of d.changes) {
        lines.push("", `### ${c.status}: ${c.path}`);
        const text = diffs.get(c) ?? "";
        lines.push(text.endsWith("\n") ? text.slice(0, -1) : text);
      }
    }
  }
  return `${lines.join("\n")}\n`;
}

export function toJson(changes: readonly FileChange[], diffs: ReadonlyMap<FileChange, string>): JsonChange[] {
  return changes.map((c) => ({ host: c.host, daemon: c.daemon, path: c.path, status: c.status, diff: diffs.get(c) ?? "" }));
}
