import { resolve } from "node:path";
import { changedSince, ciBase, untrackedDataFiles } from "../diff/local-view";
import { volunteerLang } from "../i18n/lang";
import { formatDiagnostic, sortDiagnostics, type Diagnostic } from "../load/diagnostic";
import { loadModel } from "../check/build";
import { REPO_ROOT, seconds, stacksIn, UsageError } from "./args";
import type { Args, Io } from "./command";

/** npm run validate (table entry and help: lib/cli/commands.ts). */
export function runValidate(args: Args, io: Io): number {
  const lang = volunteerLang();
  const fr = lang === "fr";
  const root = resolve(args.str("root") ?? REPO_ROOT);
  const stacks = args.list("stack") ?? stacksIn(root);
  if (stacks.length === 0) throw new UsageError(`no Pulumi.<stack>.yaml in ${root} (is --root the repository or a data tree?)`);
  const t0 = process.hrtime.bigint();
  const base = args.str("base") ?? ciBase(root)?.commit;
  // A name or address written twice is blamed on the file this change touched.
  const changed = base ? new Set(changedSince(root, base)) : undefined;
  const seen = new Set<string>();
  const errors: Diagnostic[] = [];
  const warnings: Diagnostic[] = [];
  const counts: string[] = [];
  for (const stack of stacks) {
    const { model, errors: e, warnings: w } = loadModel(root, stack, {}, { changed });
    for (const [list, into] of [[e, errors], [w, warnings]] as const) {
      for (const d of list) {
        const key = formatDiagnostic(d);
        if (!seen.has(key)) {
          seen.add(key);
          into.push(d);
        }
      }
    }
    if (model) {
      const [m, s, d, v, z] = [model.members.length, model.sites.length, model.databases.length, model.vps.length, model.zones.length];
      counts.push(fr ? `${stack} : ${m} membres, ${s} sites, ${d} bases de données, ${v} VPS, ${z} zones` : `${stack}: ${m} members, ${s} sites, ${d} databases, ${v} VPS, ${z} zones`);
    }
  }
  for (const f of untrackedDataFiles(root) ?? []) {
    io.err(fr ? `attention : ${f} n'est pas suivi par git : la CI ne le verra pas (git add ${f})` : `warning: ${f} is not tracked by git, so CI will not see it (git add ${f})`);
  }
  // Warnings never refuse the data (a setting of the inventory can make one kind an error);
  // beside errors they would only hide them, so they wait until the errors are fixed.
  if (errors.length === 0) for (const d of sortDiagnostics(warnings)) io.err(`${fr ? "attention :" : "warning:"} ${formatDiagnostic(d, lang)}`);
  if (errors.length === 0 && warnings.length > 0) {
    io.err(
      fr
        ? `${warnings.length} avertissement(s) : les données restent valides (checks: { ptr: error } dans Pulumi.<pile>.yaml en fait des erreurs ; docs/guide-benevole.md, « Adresses sans PTR »)`
        : `${warnings.length} warning(s): the data stays valid (checks: { ptr: error } in Pulumi.<stack>.yaml makes them errors; docs/architecture.md, "Every address has its PTR")`,
    );
  }
  if (errors.length > 0) {
    for (const d of sortDiagnostics(errors)) io.err(formatDiagnostic(d, lang));
    io.err(fr ? `\n${errors.length} erreur(s) ; rien ne peut être appliqué tant qu'elles ne sont pas corrigées. (${seconds(t0)})` : `\n${errors.length} error(s); nothing can be applied until they are fixed. (${seconds(t0)})`);
    return 1;
  }
  for (const c of counts) io.out(`ok  ${c}`);
  io.out(fr ? `validé en ${seconds(t0)}` : `validated in ${seconds(t0)}`);
  return 0;
}
