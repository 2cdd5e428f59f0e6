import { readFileSync } from "node:fs";
import { openStack } from "../lab/open-stack";
import { previewPlan } from "../guard/collect";
import { parsePlan, type Plan } from "../guard/plan";
import { allowancesInRange, describeAllowances, fullCommit, type RangeAllowances } from "../guard/allowances";
import { formatVerdict, judge, normalisePath } from "../guard/rules";
import { REPO_ROOT, UsageError } from "./args";
import { consoleIo, runCommand, type Args, type Io } from "./command";
import { findCommand } from "./commands";

function commitAllowances(checkout: string, base: string): RangeAllowances {
  const from = fullCommit(checkout, base);
  if (!from) throw new UsageError(`--base ${base}: unknown commit in ${checkout} (fetch the base branch first: git fetch origin ${base})`);
  return allowancesInRange(checkout, from, "HEAD");
}

/** npm run guard (table entry and help: lib/cli/commands.ts). */
export async function runGuard(a: Args, io: Io): Promise<number> {
  const values = { plan: a.str("plan"), stack: a.str("stack"), root: a.str("root"), base: a.str("base"), allow: a.list("allow"), "max-share": a.str("max-share"), json: a.flag("json") };
  const maxShare = Number(values["max-share"] ?? 0.1);
  if (!Number.isFinite(maxShare) || maxShare < 0 || maxShare > 1) throw new UsageError(`--max-share must be a number from 0 to 1, got ${values["max-share"]}`);
  let plan: Plan;
  if (values.plan) {
    plan = parsePlan(readFileSync(values.plan, "utf8"), values.plan);
  } else {
    const stack = await openStack({ stack: values.stack ?? "lab", root: values.root });
    io.err(`guard: previewing stack ${stack.name} …`);
    plan = (await previewPlan(stack)).plan;
  }
  const fromCommits = values.base ? commitAllowances(values.root ?? REPO_ROOT, values.base) : undefined;
  const allowances = [...new Set([...(fromCommits?.allowances ?? []), ...(values.allow ?? []).map(normalisePath)])].sort();
  const verdict = judge(plan, { maxShare, allowances });
  io.out(values.json ? JSON.stringify(verdict, null, 2) : formatVerdict(verdict));
  if (fromCommits && !values.json) io.out(`\n${describeAllowances(fromCommits)}`);
  return verdict.ok ? 0 : 1;
}

/** The guard as `npm run guard -- argv` parses and reports it (never throws). */
export function guardCommand(argv: string[], io: Io = consoleIo): Promise<number> {
  return runCommand(findCommand("guard")!, argv, io);
}
