import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { simpleGit } from "simple-git";
import { extractDataTree, resolveCommit } from "./extract";
import { effectsOf, formatEffects, type Effect } from "./effects";
import type { Lang } from "../i18n/lang";
import { formatDiagnostic, type Diagnostic } from "../load/diagnostic";
import { loadModel } from "../check/build";
import type { Model } from "../model/types";
import { allowancesInRange, describeAllowances, type RangeAllowances } from "../guard/allowances";
import { purgesDeclared } from "../guard/departures";
import { planFromModels } from "../guard/offline";
import type { Plan } from "../guard/plan";
import { formatVerdict, judge, normalisePath, type Verdict } from "../guard/rules";

/**
 * `npm run guard -- --base REF` without the engine: the base's data as git holds it at REF,
 * the head's data as the working tree holds it (uncommitted edits included), both loaded by
 * the project's own loader, judged by ./rules.ts on the plan ./offline.ts works out. The
 * Allow-Destroy lines counted are those of the commits REF..HEAD, as CI counts them.
 */
export interface OfflineGuardOptions {
  root: string;
  stack: string;
  /** The base: a ref, and how to name it. */
  base: { ref: string; label?: string };
  allow?: string[];
  maxShare?: number;
}

export interface OfflineGuard {
  stack: string;
  base: { label: string; commit: string };
  plan: Plan;
  verdict: Verdict;
  effects: Effect[];
  fromCommits: RangeAllowances;
  byHand: string[];
}

export class OfflineSideError extends Error {
  constructor(
    readonly side: "base" | "head",
    readonly diagnostics: Diagnostic[],
    readonly label: string,
  ) {
    super(`${label} has ${diagnostics.length} data error(s):\n${diagnostics.map((d) => `  ${formatDiagnostic(d)}`).join("\n")}`);
  }
}

export async function offlineGuard(o: OfflineGuardOptions): Promise<OfflineGuard> {
  const git = simpleGit(o.root);
  const commit = await resolveCommit(git, o.base.ref);
  const label = o.base.label ?? o.base.ref;
  const tmp = mkdtempSync(join(tmpdir(), "globenet-guard-"));
  let base: Model | undefined;
  try {
    await extractDataTree(git, o.root, commit, tmp, o.stack);
    const b = loadModel(tmp, o.stack);
    if (!b.model) throw new OfflineSideError("base", b.errors, `the base (${label}, ${commit.slice(0, 12)})`);
    base = b.model;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const h = loadModel(o.root, o.stack);
  if (!h.model) throw new OfflineSideError("head", h.errors, "the working tree");
  const plan = planFromModels(base, h.model);
  const fromCommits = allowancesInRange(o.root, commit, "HEAD");
  const byHand = (o.allow ?? []).map(normalisePath);
  const allowances = [...new Set([...fromCommits.allowances, ...byHand])].sort();
  const verdict = judge(plan, { maxShare: o.maxShare ?? 0.1, allowances, purges: purgesDeclared(o.root, o.root, commit) });
  return { stack: o.stack, base: { label, commit }, plan, verdict, effects: effectsOf(base, h.model, o.root), fromCommits, byHand };
}

/**
 * The report: a header naming the stack and the base, what changes for members, then the
 * guard's verdict and where its Allow-Destroy lines came from, in the same words as the
 * merge request note's guard block (English) or in French.
 */
export function formatOfflineGuard(g: OfflineGuard, lang: Lang = "en"): string {
  const base = `${g.base.label} (${g.base.commit.slice(0, 12)})`;
  const head =
    lang === "fr"
      ? `garde-fou hors ligne, pile ${g.stack} : ${base} → l'arbre de travail (d'après les données seules, sans le moteur)`
      : `offline guard of stack ${g.stack}: ${base} → the working tree (from the data alone, without the engine)`;
  const lines = [head, ""];
  const effects = formatEffects(g.effects, lang);
  if (effects.length) lines.push(...effects, "");
  lines.push(formatVerdict(g.verdict, lang), "", describeAllowances(g.fromCommits, lang));
  if (g.byHand.length) lines.push(lang === "fr" ? `Autorisé à la main (--allow) : ${g.byHand.join(", ")}` : `Allowed by hand (--allow): ${g.byHand.join(", ")}`);
  return lines.join("\n");
}
