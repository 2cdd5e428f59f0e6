import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { ciBase, ciStack } from "../diff/local-view";
import { GitRefError } from "../diff/extract";
import { formatOfflineGuard, offlineGuard, OfflineSideError } from "../diff/offline-guard";
import { formatDiagnostic } from "../load/diagnostic";
import { volunteerLang } from "../i18n/lang";
import { parsePlan, type Plan } from "../guard/plan";
import type * as OpenStack from "../lab/open-stack";
import type * as Collect from "../guard/collect";
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
  const values = { plan: a.str("plan"), engine: a.flag("engine"), stack: a.str("stack"), root: a.str("root"), base: a.str("base"), allow: a.list("allow"), "max-share": a.str("max-share"), json: a.flag("json") };
  const maxShare = Number(values["max-share"] ?? 0.1);
  if (!Number.isFinite(maxShare) || maxShare < 0 || maxShare > 1) throw new UsageError(`--max-share must be a number from 0 to 1, got ${values["max-share"]}`);
  if (values.plan && values.engine) throw new UsageError("give --plan FILE or --engine, not both");
  const root = resolve(values.root ?? REPO_ROOT);
  if (!values.plan && !values.engine) return offline(root, values, maxShare, io);
  let plan: Plan;
  if (values.plan) {
    plan = parsePlan(readFileSync(values.plan, "utf8"), values.plan);
  } else {
    // Loaded only here: the offline guard never touches the engine.
    const { openStack } = require("../lab/open-stack") as typeof OpenStack;
    const { previewPlan } = require("../guard/collect") as typeof Collect;
    const stack = await openStack({ stack: values.stack ?? ciStack(root), root: values.root });
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

/** Without --plan or --engine: the rules judged on a plan worked out from the base's and the working tree's data. */
async function offline(root: string, values: { base?: string; stack?: string; allow?: string[]; json?: boolean }, maxShare: number, io: Io): Promise<number> {
  const lang = volunteerLang();
  const stack = values.stack ?? ciStack(root);
  const found = values.base ? { ref: values.base } : ciBase(root);
  if (!found) throw new UsageError("no base to compare with: give --base REF (no origin/main or main branch here)");
  const base = "commit" in found ? { ref: found.commit, label: found.label } : found;
  try {
    const g = await offlineGuard({ root, stack, base, allow: values.allow, maxShare });
    io.out(values.json ? JSON.stringify({ stack: g.stack, base: g.base, effects: g.effects, verdict: g.verdict }, null, 2) : formatOfflineGuard(g, lang));
    return g.verdict.ok ? 0 : 1;
  } catch (e) {
    if (e instanceof OfflineSideError) {
      const where = e.side === "head" ? (lang === "fr" ? "l'arbre de travail" : "the working tree") : e.label;
      io.err(lang === "fr" ? `erreur : ${where} a ${e.diagnostics.length} erreur(s) de données (npm run validate les liste aussi) :` : `error: ${where} has ${e.diagnostics.length} data error(s) (npm run validate lists the same):`);
      for (const d of e.diagnostics) io.err(`  ${formatDiagnostic(d, lang)}`);
      return 1;
    }
    throw e;
  }
}

/** Shown as one line (exit 1): an unknown git ref. */
export const expected = [GitRefError];

/** The guard as `npm run guard -- argv` parses and reports it (never throws). */
export function guardCommand(argv: string[], io: Io = consoleIo): Promise<number> {
  return runCommand(findCommand("guard")!, argv, io);
}
