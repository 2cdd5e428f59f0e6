import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { openStack } from "../lab/open-stack";
import { previewPlan } from "../guard/collect";
import { parsePlan, type Plan } from "../guard/plan";
import { allowancesInRange, describeAllowances, fullCommit, type RangeAllowances } from "../guard/allowances";
import { formatVerdict, judge, normalisePath } from "../guard/rules";
import { REPO_ROOT, runMain, UsageError } from "./args";

export const GUARD_HELP = `Usage: npm run guard -- [--plan FILE | --stack NAME] [options]

Refuses a change that would delete or replace member data (a hosting account and its home,
a database, a VPS and its disk) or remove more than --max-share of the members or zones,
unless a commit message of the change allows each one with a line "Allow-Destroy: <path>",
e.g. "Allow-Destroy: members/velo-libre" or "Allow-Destroy: members/ondes/vps/stream".

  --plan FILE        a plan from npm run preview -- --plan-json FILE (or pulumi preview --json)
  --stack NAME       run the preview here instead (lab by default)
  --root DIR         data tree for --stack (default: the repository)
  --base REF         read Allow-Destroy lines from the commits REF..HEAD (merge commits left out)
  --allow PATH       allow PATH (repeatable), as an Allow-Destroy line would
  --max-share N      largest share of members or zones removed at once (default 0.1)
  --json             print the verdict as JSON

A merge request's description never counts: it can be edited after the approvals. (npm run up
runs the same guard on its own fresh plan, reading the commits since the stack's last
successful update.)
Exit 0 when the change may go, 1 when it is blocked, 2 on a usage error.`;

function commitAllowances(checkout: string, base: string): RangeAllowances {
  const from = fullCommit(checkout, base);
  if (!from) throw new UsageError(`--base ${base}: unknown commit in ${checkout} (fetch the base branch first: git fetch origin ${base})`);
  return allowancesInRange(checkout, from, "HEAD");
}

export async function guardCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      plan: { type: "string" },
      stack: { type: "string" },
      root: { type: "string" },
      base: { type: "string" },
      allow: { type: "string", multiple: true },
      "max-share": { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    console.log(GUARD_HELP);
    return 0;
  }
  const maxShare = values["max-share"] === undefined ? 0.1 : Number(values["max-share"]);
  if (!Number.isFinite(maxShare) || maxShare < 0 || maxShare > 1) throw new UsageError(`--max-share must be a number from 0 to 1, got ${values["max-share"]}`);
  let plan: Plan;
  if (values.plan) {
    plan = parsePlan(readFileSync(values.plan, "utf8"), values.plan);
  } else {
    const stack = await openStack({ stack: values.stack ?? "lab", root: values.root });
    process.stderr.write(`guard: previewing stack ${stack.name} …\n`);
    plan = (await previewPlan(stack)).plan;
  }
  const fromCommits = values.base ? commitAllowances(values.root ?? REPO_ROOT, values.base) : undefined;
  const allowances = [...new Set([...(fromCommits?.allowances ?? []), ...(values.allow ?? []).map(normalisePath)])].sort();
  const verdict = judge(plan, { maxShare, allowances });
  console.log(values.json ? JSON.stringify(verdict, null, 2) : formatVerdict(verdict));
  if (fromCommits && !values.json) console.log(`\n${describeAllowances(fromCommits)}`);
  return verdict.ok ? 0 : 1;
}

if (require.main === module) runMain("guard", guardCommand);
