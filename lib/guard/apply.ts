import type { Stack } from "@pulumi/pulumi/automation";
import { allowancesSinceApplied, describeAllowances, type RangeAllowances } from "./allowances";
import { previewPlan } from "./collect";
import type { Plan } from "./plan";
import { formatVerdict, judge, normalisePath, type Verdict } from "./rules";

/**
 * The guard at apply time, on the apply's own plan: the plan judged at merge-request time can
 * be stale (two merge requests merged in a row: the second one's plan was made before the
 * first was applied), so `up` previews again, judges that plan, and only then updates.
 * Allow-Destroy lines come from the commits since the stack's last successful update
 * (./allowances.ts), plus what a volunteer passes by hand with --allow.
 */
export interface ApplyGuard {
  ok: boolean;
  plan: Plan;
  verdict: Verdict;
  fromCommits: RangeAllowances;
  /** The verdict and where its allowances came from, for the job log. */
  text: string;
}

/** How many past updates are read to find the last successful one. */
const HISTORY_PAGE = 100;

export async function guardBeforeUp(stack: Stack, checkout: string, opts: { allow?: string[]; maxShare?: number; refresh?: boolean } = {}): Promise<ApplyGuard> {
  // refresh: the up reads the hosts first, so the plan judged must too.
  const { plan } = await previewPlan(stack, { color: "never", refresh: opts.refresh });
  const history = await stack.history(HISTORY_PAGE);
  const fromCommits = allowancesSinceApplied(checkout, history);
  const byHand = (opts.allow ?? []).map(normalisePath);
  const allowances = [...new Set([...fromCommits.allowances, ...byHand])].sort();
  const verdict = judge(plan, { maxShare: opts.maxShare ?? 0.1, allowances });
  const text = [formatVerdict(verdict), "", describeAllowances(fromCommits), ...(byHand.length ? [`Allowed by hand (--allow): ${byHand.join(", ")}`] : [])].join("\n");
  return { ok: verdict.ok, plan, verdict, fromCommits, text };
}
