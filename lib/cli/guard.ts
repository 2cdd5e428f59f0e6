import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { ciBase, ciStack } from "../diff/local-view";
import { GitRefError } from "../diff/extract";
import { formatDiagnostic } from "../load/diagnostic";
import { volunteerLang } from "../i18n/lang";
import { formatOfflineGuard, offlineGuard, OfflineSideError } from "../diff/offline-guard";
import { parsePlan, type Plan } from "../guard/plan";
import type * as OpenStack from "../lab/open-stack";
import type * as Collect from "../guard/collect";
import { allowancesInRange, describeAllowances, fullCommit, type RangeAllowances } from "../guard/allowances";
import { formatVerdict, judge, normalisePath } from "../guard/rules";
import { REPO_ROOT, runMain, UsageError } from "./args";

export const GUARD_HELP = `Usage: npm run guard -- [--base REF] [--stack NAME] [options]
       npm run guard -- --plan FILE | --engine [options]

Refuses a change that would delete or replace member data (a hosting account and its home,
a site's folder, a database, a VPS and its disk) or remove more than --max-share of the
members or zones, unless a commit message of the change allows each one with a line
"Allow-Destroy: <path>", e.g. "Allow-Destroy: members/velo-libre" or
"Allow-Destroy: members/ondes/vps/stream".

By default it needs no engine: it compares the data at the base (as git holds it) with the
working tree, lists what changes for members (suspensions, VPS shut off or resized,
departures, new things) and asks for the same Allow-Destroy lines CI's note will ask for.
Set GLOBENET_LANG=fr (or a French locale) to read it in French.

  --base REF         the base (default: as CI, the merge base of HEAD and origin/main or main);
                     Allow-Destroy lines are read from the commits REF..HEAD (merge commits left out)
  --stack NAME       the stack (default: the one CI previews, GLOBENET_STACK of .gitlab-ci.yml: prod)
  --plan FILE        judge a plan from npm run preview -- --plan-json FILE (or pulumi preview --json)
  --engine           run the engine's preview of --stack and judge that plan (needs the engine)
  --root DIR         the checkout to read (default: the repository)
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
      engine: { type: "boolean" },
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
  const root = resolve(values.root ?? REPO_ROOT);
  if (!values.plan && !values.engine) return offline(root, values, maxShare);
  let plan: Plan;
  if (values.plan) {
    plan = parsePlan(readFileSync(values.plan, "utf8"), values.plan);
  } else {
    // Loaded only here: the offline guard never touches the engine.
    const { openStack } = require("../lab/open-stack") as typeof OpenStack;
    const { previewPlan } = require("../guard/collect") as typeof Collect;
    const stack = await openStack({ stack: values.stack ?? ciStack(root), root: values.root });
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

async function offline(root: string, values: { base?: string; stack?: string; allow?: string[]; json?: boolean }, maxShare: number): Promise<number> {
  const lang = volunteerLang();
  const stack = values.stack ?? ciStack(root);
  const found = values.base ? { ref: values.base } : ciBase(root);
  if (!found) throw new UsageError("no base to compare with: give --base REF (no origin/main or main branch here)");
  const base = "commit" in found ? { ref: found.commit, label: found.label } : found;
  try {
    const g = await offlineGuard({ root, stack, base, allow: values.allow, maxShare });
    console.log(values.json ? JSON.stringify({ stack: g.stack, base: g.base, effects: g.effects, verdict: g.verdict }, null, 2) : formatOfflineGuard(g, lang));
    return g.verdict.ok ? 0 : 1;
  } catch (e) {
    if (e instanceof OfflineSideError) {
      const where = e.side === "head" ? (lang === "fr" ? "l'arbre de travail" : "the working tree") : e.label;
      console.error(lang === "fr" ? `erreur : ${where} a ${e.diagnostics.length} erreur(s) de données (npm run validate les liste aussi) :` : `error: ${where} has ${e.diagnostics.length} data error(s) (npm run validate lists the same):`);
      for (const d of e.diagnostics) console.error(`  ${formatDiagnostic(d, lang)}`);
      return 1;
    }
    if (e instanceof GitRefError) {
      console.error(`error: ${e.message}`);
      return 1;
    }
    throw e;
  }
}

if (require.main === module) runMain("guard", guardCommand);
