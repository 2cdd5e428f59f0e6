import type { Plan } from "../guard/plan";

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

export interface PlanNoteInput {
  stack: string;
  commit: string;
  plan: Plan;
  /** The rendered-file diff (npm run diff), already grouped by host and daemon. */
  diff: string;
  guard: string;
  guardOk: boolean;
  /** Link to the pipeline, when known. */
  pipelineUrl?: string;
}

export function planNote(i: PlanNoteInput): string {
  const changed = changedSteps(i.plan);
  return [
    `### Plan for stack \`${i.stack}\` at ${i.commit.slice(0, 12)}${i.pipelineUrl ? ` ([pipeline](${i.pipelineUrl}))` : ""}`,
    "",
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
    // npm run diff says "no rendered change" when nothing differs.
    i.diff.trim() && !/^no rendered change$/m.test(i.diff) ? fenced(i.diff, "diff") : "_No generated file changes._",
    "",
    "_Updated by CI on every pipeline of this merge request._",
  ].join("\n");
}

export function driftIssue(stack: string, plan: Plan, when: string): { title: string; body: string } {
  const changed = changedSteps(plan);
  return {
    title: `Drift on stack ${stack}: ${changed.length} resource(s) differ from git`,
    body: [
      `The scheduled preview of \`${stack}\` on ${when} found that the hosts no longer match the repository.`,
      "",
      fenced(changed.join("\n")),
      "",
      "Look at what changed by hand on the hosts (npm run refresh shows the live values), then either put it in git or apply the repository again. Close this issue once it is handled; the next scheduled pipeline opens a new one if drift remains.",
    ].join("\n"),
  };
}
