import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { changedSince, ciBase, untrackedDataFiles } from "../diff/local-view";
import { volunteerLang } from "../i18n/lang";
import { formatDiagnostic, sortDiagnostics, type Diagnostic } from "../load/diagnostic";
import { loadModel } from "../check/build";
import { REPO_ROOT, seconds, stacksIn, UsageError } from "./args";

export const VALIDATE_HELP = `Usage: npm run validate -- [--root DIR] [--stack NAME] [--base REF]

Checks every YAML file (members/, zones/, Pulumi.<stack>.yaml) and the whole set for
consistency. Prints every error as file:line:col field: message (hint). Exit 0 when clean.
Warns about data files git does not know (never git add-ed): CI would not see them.
GLOBENET_LANG=fr (or a French locale) prints the messages in French.
  --root DIR     data tree to read (default: the repository)
  --stack NAME   check against this stack's inventory only (default: every Pulumi.<stack>.yaml)
  --base REF     what the change is compared with: a name or address written twice is blamed
                 on the file changed since REF (default: as CI, the merge base of HEAD and
                 origin/main or main)`;

export function validateCommand(argv: string[]): number {
  const { values } = parseArgs({ args: argv, options: { root: { type: "string" }, stack: { type: "string", multiple: true }, base: { type: "string" }, help: { type: "boolean", short: "h" } }, strict: true });
  if (values.help) {
    console.log(VALIDATE_HELP);
    return 0;
  }
  const lang = volunteerLang();
  const fr = lang === "fr";
  const root = resolve(values.root ?? REPO_ROOT);
  const stacks = values.stack ?? stacksIn(root);
  if (stacks.length === 0) throw new UsageError(`no Pulumi.<stack>.yaml in ${root} (is --root the repository or a data tree?)`);
  const t0 = process.hrtime.bigint();
  const base = values.base ?? ciBase(root)?.commit;
  const changed = base ? new Set(changedSince(root, base)) : undefined;
  const seen = new Set<string>();
  const errors: Diagnostic[] = [];
  const counts: string[] = [];
  for (const stack of stacks) {
    const { model, errors: e } = loadModel(root, stack, {}, { changed });
    for (const d of e) {
      const key = formatDiagnostic(d);
      if (!seen.has(key)) {
        seen.add(key);
        errors.push(d);
      }
    }
    if (model) {
      const [m, s, d, v, z] = [model.members.length, model.sites.length, model.databases.length, model.vps.length, model.zones.length];
      counts.push(fr ? `${stack} : ${m} membres, ${s} sites, ${d} bases de données, ${v} VPS, ${z} zones` : `${stack}: ${m} members, ${s} sites, ${d} databases, ${v} VPS, ${z} zones`);
    }
  }
  for (const f of untrackedDataFiles(root) ?? []) {
    console.error(fr ? `attention : ${f} n'est pas suivi par git : la CI ne le verra pas (git add ${f})` : `warning: ${f} is not tracked by git, so CI will not see it (git add ${f})`);
  }
  if (errors.length > 0) {
    for (const d of sortDiagnostics(errors)) console.error(formatDiagnostic(d, lang));
    console.error(fr ? `\n${errors.length} erreur(s) ; rien ne peut être appliqué tant qu'elles ne sont pas corrigées. (${seconds(t0)})` : `\n${errors.length} error(s); nothing can be applied until they are fixed. (${seconds(t0)})`);
    return 1;
  }
  for (const c of counts) console.log(`ok  ${c}`);
  console.log(fr ? `validé en ${seconds(t0)}` : `validated in ${seconds(t0)}`);
  return 0;
}
