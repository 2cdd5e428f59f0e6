import type { Lang } from "../i18n/lang";
import type { RenderedFile } from "../render";
import { formatEffects, type Effect } from "./effects";

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
export const DAEMON_ORDER: readonly Daemon[] = ["apache2", "www", "php-fpm", "mariadb", "bind", "libvirt", "cloud-init", "monitoring", "node-exporter"];

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

/** "2 files differ on 1 host: 1 added, 0 removed, 1 changed" (or in French). */
export function summaryLine(changes: readonly FileChange[], lang: Lang = "en"): string {
  const n = (s: ChangeStatus) => changes.filter((c) => c.status === s).length;
  const hosts = new Set(changes.map((c) => c.host)).size;
  const plural = (k: number, w: string) => `${k} ${w}${k === 1 ? "" : "s"}`;
  if (lang === "fr") {
    return `${plural(changes.length, "fichier")} ${changes.length === 1 ? "diffère" : "diffèrent"} sur ${plural(hosts, "hôte")} : ${n("added")} ajouté(s), ${n("removed")} retiré(s), ${n("changed")} modifié(s)`;
  }
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

const STATUS_FR: Record<ChangeStatus, string> = { added: "ajouté", removed: "retiré", changed: "modifié" };

/**
 * The text report: a header, what changes for members beyond the files (a VPS shut off by a
 * suspension is no file), then per host and daemon each file's unified diff. English for CI
 * and its note; French headings for a volunteer (the diffs themselves are the files).
 */
export function formatText(stack: string, base: DiffSide, head: DiffSide, changes: readonly FileChange[], diffs: ReadonlyMap<FileChange, string>, effects: readonly Effect[] = [], lang: Lang = "en"): string {
  const fr = lang === "fr";
  const side = (s: DiffSide) => (s.commit ? `${s.label} (${s.commit.slice(0, 12)})` : fr && s.label === "working tree" ? "l'arbre de travail" : s.label);
  const lines = [fr ? `diff des fichiers générés, pile ${stack} : ${side(base)} → ${side(head)}` : `rendered diff of stack ${stack}: ${side(base)} → ${side(head)}`];
  const more = formatEffects(effects, lang);
  if (more.length) lines.push("", ...more, "");
  if (changes.length === 0) {
    lines.push(fr ? "aucun fichier généré ne change" : "no rendered change");
    return `${lines.join("\n")}\n`;
  }
  lines.push(summaryLine(changes, lang));
  for (const g of groupChanges(changes)) {
    lines.push("", fr ? `# hôte ${g.host}` : `# host ${g.host}`);
    for (const d of g.daemons) {
      lines.push("", `## ${g.host} / ${d.daemon}`);
      for (const c of d.changes) {
        lines.push("", `### ${fr ? STATUS_FR[c.status] : c.status}: ${c.path}`);
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
