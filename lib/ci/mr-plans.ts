import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatText, GitRefError, renderedDiff, SideError } from "../diff";
import { openStack as openStackPlain, type StackOptions } from "../engine/driver";
import { allowancesInRange, describeAllowances } from "../guard/allowances";
import { purgesDeclared } from "../guard/departures";
import { previewPlan } from "../guard/collect";
import { formatVerdict, judge } from "../guard/rules";
import { formatDiagnostic } from "../load/diagnostic";
import { loadModel } from "../check/build";
import { currentUser, findPlanNote, mergeRequest, openMergeRequests, setCommitStatus, STATUS_NAME, upsertMrNote, type GitLab, type MergeRequest } from "./gitlab";
import { dropMrRef, fetchMrHead, prepareMrTree } from "./mr-tree";
import { noPlanNote, planNote, plannedOf, type Planned } from "./note";
import { shardNames, shardStackName } from "../model/shards";
import { loadWholeIndexed } from "../check/shard-index";
import { touchedShards } from "./touched-shards";

/**
 * The trusted half of merge-request CI: a protected job of the default branch (on the
 * protected runner, with prod's variables) that plans every open merge request into that
 * branch with the branch's own code over the merge request's data, posts the plan as the
 * MR's note and sets the commit status globenet/prod-plan on its head. A merge request whose
 * head and target are the ones its note already planned is skipped.
 */
export interface MrPlansOptions {
  gl: GitLab;
  /** The checkout of the default branch: its code runs, its HEAD is the target. */
  repo: string;
  stack: string;
  targetBranch: string;
  /** The commit of `repo` being run (its HEAD). */
  target: string;
  maxShare?: number;
  jobUrl?: string;
  say?: (line: string) => void;
  /** How to open the merged tree's stack; the command passes the lab's (lib/lab/open-stack.ts), which adds the lab's keys. */
  openStack?: (o: StackOptions) => ReturnType<typeof openStackPlain>;
}

export interface MrOutcome {
  iid: number;
  what: "skipped" | "planned" | "refused" | "failed" | "error";
  detail: string;
}

const short = (s: string) => s.slice(0, 12);

export async function planOpenMergeRequests(o: MrPlansOptions): Promise<MrOutcome[]> {
  const say = o.say ?? ((l: string) => console.log(l));
  const me = await currentUser(o.gl);
  const mrs = await openMergeRequests(o.gl, o.targetBranch);
  say(`mr-plans: ${mrs.length} open merge request(s) into ${o.targetBranch}; target ${short(o.target)}, stack ${o.stack}`);
  const out: MrOutcome[] = [];
  for (const mr of mrs) {
    try {
      const note = await findPlanNote(o.gl, mr.iid, me.id);
      const was = note ? plannedOf(note.body) : undefined;
      if (was && was.head === mr.sha && was.target === o.target) {
        out.push({ iid: mr.iid, what: "skipped", detail: `already planned at ${short(mr.sha)} over ${short(o.target)}` });
        say(`!${mr.iid}: unchanged since its last plan (head ${short(mr.sha)}, target ${short(o.target)}): skipped`);
        continue;
      }
      const r = await planOne(o, mr);
      const planned = r.planned;
      await upsertMrNote(o.gl, mr.iid, r.body, me.id);
      const full = await mergeRequest(o.gl, mr.iid).catch(() => undefined);
      const pipelineId = full?.head_pipeline && full.head_pipeline.sha === planned.head ? full.head_pipeline.id : undefined;
      await setCommitStatus(o.gl, planned.head, { state: r.what === "planned" && r.ok ? "success" : "failed", name: STATUS_NAME, description: r.status, targetUrl: o.jobUrl, pipelineId });
      out.push({ iid: mr.iid, what: r.what, detail: r.status });
      say(`!${mr.iid}: ${r.what} at ${short(planned.head)}: ${r.status}`);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      out.push({ iid: mr.iid, what: "error", detail: msg });
      say(`!${mr.iid}: could not be handled: ${msg.split("\n")[0]}`);
    } finally {
      dropMrRef(o.repo, mr.iid);
    }
  }
  return out;
}

interface OneResult {
  what: "planned" | "refused" | "failed";
  ok: boolean;
  planned: Planned;
  body: string;
  /** One line for the commit status and the log. */
  status: string;
}

async function planOne(o: MrPlansOptions, mr: MergeRequest): Promise<OneResult> {
  const head = fetchMrHead(o.repo, mr.iid);
  const planned: Planned = { head, target: o.target };
  const common = { stack: o.stack, planned, targetBranch: o.targetBranch, jobUrl: o.jobUrl };
  const dir = mkdtempSync(join(tmpdir(), `globenet-mr-${mr.iid}-`));
  const dest = join(dir, "data");
  try {
    let tree;
    try {
      tree = await prepareMrTree(o.repo, { head, target: o.target, stack: o.stack, dest });
    } catch (e) {
      if (e instanceof GitRefError) return { what: "refused", ok: false, planned, body: noPlanNote({ ...common, what: "refused", reasons: [e.message] }), status: "refused: a data file is not a plain file" };
      throw e;
    }
    if (tree.refusals.length || !tree.merged) {
      return { what: "refused", ok: false, planned, body: noPlanNote({ ...common, what: "refused", reasons: tree.refusals, notPreviewed: tree.notPreviewed }), status: `refused: ${tree.refusals[0] ?? "no merged tree"}` };
    }
    // Duplicates are blamed on the files the merge request changed, as npm run validate does locally.
    // With the passphrase (the previews' key), the sharded stack's index of the merged data is written
    // as it is validated: each touched web shard's preview then loads its part (lib/check/shard-index.ts).
    const { model: merged, errors } = loadWholeIndexed(dest, o.stack, process.env.PULUMI_CONFIG_PASSPHRASE, {}, { changed: new Set(tree.changed) });
    if (errors.length) {
      const reasons = [`${errors.length} data error(s) (npm run validate lists the same):`, ...errors.map((d) => `  ${formatDiagnostic(d)}`)];
      return { what: "failed", ok: false, planned, body: noPlanNote({ ...common, what: "failed", reasons, notPreviewed: tree.notPreviewed }), status: `${errors.length} data error(s)` };
    }
    let diff: string;
    try {
      const r = await renderedDiff({ root: o.repo, stack: o.stack, base: o.target, head: tree.merged });
      diff = formatText(o.stack, { label: o.targetBranch, commit: o.target }, { label: `!${mr.iid} merged`, commit: head }, r.changes, r.diffs, r.effects);
    } catch (e) {
      if (!(e instanceof SideError)) throw e;
      diff = `(the rendered diff could not be computed: ${e.message})`;
    }
    let plan;
    try {
      // A sharded stack: only the shards whose objects the merge changes are previewed (docs/architecture.md, "Sharded stacks").
      const shards = merged && shardNames(merged).length > 0 ? touchedShards(loadModel(o.repo, o.stack).model, merged) : undefined;
      plan = { stack: o.stack, steps: [] as Awaited<ReturnType<typeof previewPlan>>["plan"]["steps"] };
      for (const name of shards ?? [undefined]) {
        const stack = await (o.openStack ?? openStackPlain)({ stack: name === undefined ? o.stack : shardStackName(o.stack, name), root: dest });
        plan.steps.push(...(await previewPlan(stack)).plan.steps);
      }
      if (shards) (o.say ?? ((l: string) => console.log(l)))(`!${mr.iid}: shard(s) previewed: ${shards.join(", ") || "none (no shard's objects change)"}`);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      const reasons = [`the preview of stack ${o.stack} failed:`, ...msg.split("\n").slice(-25)];
      return { what: "failed", ok: false, planned, body: noPlanNote({ ...common, what: "failed", reasons, notPreviewed: tree.notPreviewed }), status: "the preview failed" };
    }
    const fromCommits = allowancesInRange(o.repo, tree.mergeBase, head);
    const verdict = judge(plan, { maxShare: o.maxShare ?? 0.1, allowances: fromCommits.allowances, purges: purgesDeclared(dest, o.repo, o.target) });
    const guard = `${formatVerdict(verdict)}\n\n${describeAllowances(fromCommits)}`;
    const body = planNote({ ...common, plan, diff, guard, guardOk: verdict.ok, notPreviewed: tree.notPreviewed });
    const changes = plan.steps.filter((s) => s.op !== "same").length;
    return { what: "planned", ok: verdict.ok, planned, body, status: verdict.ok ? `guard OK: ${changes} resource change(s)` : "guard BLOCKED: member data would be lost" };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

