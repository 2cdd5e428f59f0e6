import { EFFECTS_TITLE } from "../diff/effects";
import type { Plan } from "../guard/plan";
import { needsAttention } from "../status/backups";
import { driftDetails } from "./drift";

/** Markdown for the merge request's plan note and the drift issue (pure: tested as text). */

const LIMIT = 60_000;

function fenced(text: string, lang = ""): string {
  let t = text.trimEnd();
  if (t.length > LIMIT) t = `${t.slice(0, LIMIT)}\n… (truncated: the whole text is in the job's artifacts)`;
  // A fence longer than any run of backticks inside.
  const ticks = "`".repeat(Math.max(3, ...[...t.matchAll(/`+/g)].map((m) => m[0].length + 1)));
  return `${ticks}${lang}\n${t}\n${ticks}`;
}

export function planCounts(plan: Plan): Record<string, number> {
  const c: Record<string, number> = {};
  for (const s of plan.steps) c[s.op] = (c[s.op] ?? 0) + 1;
  return c;
}

export function countsLine(c: Record<string, number>): string {
  const order = ["create", "update", "replace", "delete", "same"];
  const rank = (k: string) => (order.includes(k) ? order.indexOf(k) : order.length);
  const keys = Object.keys(c).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  return keys.map((k) => `${k} ${c[k]}`).join(", ") || "nothing";
}

/** What changes, per resource: "update globenet:files:FileSet web1-apache2". */
export function changedSteps(plan: Plan): string[] {
  return plan.steps.filter((s) => s.op !== "same").map((s) => `${s.op.padEnd(8)} ${s.type} ${s.name}`);
}

/** What a plan note was computed from: the merge request's head and the target's head. */
export interface Planned {
  head: string;
  target: string;
}

const PLANNED = /^<!-- globenet-infra:planned head=([0-9a-f]{40,64}) target=([0-9a-f]{40,64}) -->$/m;

export function plannedLine(p: Planned): string {
  return `<!-- globenet-infra:planned head=${p.head} target=${p.target} -->`;
}

/** The head and target a note says it planned (undefined for a note without the line). */
export function plannedOf(body: string): Planned | undefined {
  const m = PLANNED.exec(body);
  return m ? { head: m[1] as string, target: m[2] as string } : undefined;
}

export interface PlanNoteInput {
  stack: string;
  /** The merge request's head, the target branch's head (whose code computed the plan). */
  planned: Planned;
  targetBranch: string;
  plan: Plan;
  /** The rendered-file diff (npm run diff), already grouped by host and daemon. */
  diff: string;
  /** The guard's verdict and where its Allow-Destroy lines came from. */
  guard: string;
  guardOk: boolean;
  /** Files the merge request changes that are not data: not previewed. */
  notPreviewed: string[];
  /** Link to the job, when known. */
  jobUrl?: string;
}

const short = (s: string) => s.slice(0, 12);

function header(stack: string, p: Planned, targetBranch: string, jobUrl?: string): string[] {
  return [
    plannedLine(p),
    `### Plan for stack \`${stack}\`: this merge request at ${short(p.head)}, merged into \`${targetBranch}\` at ${short(p.target)}${jobUrl ? ` ([job](${jobUrl}))` : ""}`,
    "",
    `_Computed by the protected \`mr-plans\` job: the code of \`${targetBranch}\` (reviewed, merged) run over this merge request's data only (members/, zones/ and the inventory of Pulumi.${stack}.yaml). Nothing of this merge request's own code ran._`,
    "",
  ];
}

function notPreviewedText(files: string[], targetBranch: string): string[] {
  if (files.length === 0) return [];
  // File names come from the merge request: inside a fence, so they cannot turn into markup.
  const shown = [...files.slice(0, 50), ...(files.length > 50 ? [`… and ${files.length - 50} more`] : [])];
  return [
    `**Not previewed:** this merge request also changes files that are not data (below). The plan above is \`${targetBranch}\`'s code over this merge request's data; review those files as code. After the merge, \`apply\` previews again with the merged code and runs the guard before changing anything.`,
    "",
    fenced(shown.join("\n")),
    "",
  ];
}

export function planNote(i: PlanNoteInput): string {
  const changed = changedSteps(i.plan);
  return [
    ...header(i.stack, i.planned, i.targetBranch, i.jobUrl),
    `**Preview:** ${countsLine(planCounts(i.plan))}`,
    "",
    changed.length ? fenced(changed.join("\n")) : "_Nothing to apply._",
    "",
    `**Guard:** ${i.guardOk ? "OK" : "BLOCKED — this merge request cannot be applied as it is"}`,
    "",
    fenced(i.guard),
    "",
    "**Rendered files that change** (what will actually change on disk, per host and daemon):",
    "",
    // npm run diff says "no rendered change" when no file differs; what changes beyond the files (a VPS shut off) is still shown.
    i.diff.trim() && (!/^no rendered change$/m.test(i.diff) || i.diff.includes(EFFECTS_TITLE.en)) ? fenced(i.diff, "diff") : "_No generated file changes._",
    "",
    ...notPreviewedText(i.notPreviewed, i.targetBranch),
    `_Updated whenever this merge request or \`${i.targetBranch}\` moves on._`,
  ].join("\n");
}

/** The note when no plan could be computed: refused (code-like change, conflict) or failed (data errors, preview error). */
export function noPlanNote(i: { stack: string; planned: Planned; targetBranch: string; what: "refused" | "failed"; reasons: string[]; jobUrl?: string; notPreviewed?: string[] }): string {
  return [
    ...header(i.stack, i.planned, i.targetBranch, i.jobUrl),
    i.what === "refused" ? "**No plan: refused.** The trusted job plans data changes only, and this merge request:" : "**No plan: the data of this merge request cannot be planned:**",
    "",
    fenced(i.reasons.join("\n")),
    "",
    ...notPreviewedText(i.notPreviewed ?? [], i.targetBranch),
    `**Guard:** BLOCKED until a plan can be computed (status \`globenet/prod-plan\`: failed).`,
    "",
    `_Updated whenever this merge request or \`${i.targetBranch}\` moves on._`,
  ].join("\n");
}

export function driftIssue(stack: string, plan: Plan, when: string): { title: string; body: string } {
  const changed = plan.steps.filter((s) => s.op !== "same");
  // Each resource, then what of it differs (a file set's files, a property): names and paths only, never values.
  const lines = changed.flatMap((s) => [`${s.op.padEnd(8)} ${s.type} ${s.name}`, ...driftDetails(s).map((d) => `    ${d}`)]);
  return {
    title: `Drift on stack ${stack}: ${changed.length} resource(s) differ from git`,
    body: [
      `The scheduled preview of \`${stack}\` on ${when} found that the hosts no longer match the repository.`,
      "",
      fenced(lines.join("\n")),
      "",
      "Look at what changed by hand on the hosts (npm run refresh reads them into the state), then either put it in git or put git's version back (npm run up -- --refresh: a plain up compares git with the state only and leaves the hand edit). The drift job updates this issue at every scheduled run, and closes it once the hosts match the repository again.",
    ].join("\n"),
  };
}

/** What the drift job appends to its issue when it closes it: the hosts match git again. */
export function driftResolved(stack: string, when: string): string {
  return `\n\n---\n**Resolved:** the scheduled preview of \`${stack}\` on ${when} found the hosts match the repository again; closed by the drift job.`;
}

/** A backup row as `npm run status -- backups --json` prints it (lib/status/backups.ts). */
export interface BackupStatusRow {
  host: string;
  id: string;
  state: string;
  lastOk?: string;
  ageHours?: number;
  result?: string;
}

/** The backups issue: each backup that is stale, failed or never made, and what to do. */
export function backupsIssue(stack: string, rows: BackupStatusRow[], when: string): { title: string; body: string } | undefined {
  const bad = needsAttention(rows);
  if (bad.length === 0) return undefined;
  const lines = bad.map((r) => `${r.host}  ${r.id}  ${r.state.toUpperCase()}  last good: ${r.lastOk ?? "never"}${r.ageHours === undefined ? "" : ` (${r.ageHours.toFixed(1)} h ago)`}${r.result && r.result !== r.state ? `  last run: ${r.result}` : ""}`);
  return {
    title: `Backups on stack ${stack}: ${bad.length} need attention`,
    body: [
      `The scheduled check of \`${stack}\`'s backups on ${when} found backups that are too old, failed or were never made.`,
      "",
      fenced(lines.join("\n")),
      "",
      "On the host named, /var/lib/globenet/backup/<host>/status and /var/log/globenet-backup-<host>.log say why (backup host unreachable, disk full, a dump that failed). Run it again with `npm run backup -- run --host <host>`; `npm run status -- backups` shows the result. Close this issue once every backup is fresh; the next scheduled pipeline opens a new one if any is still late.",
    ].join("\n"),
  };
}
