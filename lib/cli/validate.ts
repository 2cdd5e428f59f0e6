import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { formatDiagnostic, sortDiagnostics, type Diagnostic } from "../load/diagnostic";
import { loadModel } from "../check/build";
import { REPO_ROOT, seconds, stacksIn, UsageError } from "./args";

export const VALIDATE_HELP = `Usage: npm run validate -- [--root DIR] [--stack NAME]

Checks every YAML file (members/, zones/, Pulumi.<stack>.yaml) and the whole set for
consistency. Prints every error as file:line:col field: message (hint). Exit 0 when clean.
  --root DIR     data tree to read (default: the repository)
  --stack NAME   check against this stack's inventory only (default: every Pulumi.<stack>.yaml)`;

export function validateCommand(argv: string[]): number {
  const { values } = parseArgs({ args: argv, options: { root: { type: "string" }, stack: { type: "string", multiple: true }, help: { type: "boolean", short: "h" } }, strict: true });
  if (values.help) {
    console.log(VALIDATE_HELP);
    return 0;
  }
  const root = resolve(values.root ?? REPO_ROOT);
  const stacks = values.stack ?? stacksIn(root);
  if (stacks.length === 0) throw new UsageError(`no Pulumi.<stack>.yaml in ${root} (is --root the repository or a data tree?)`);
  const t0 = process.hrtime.bigint();
  const seen = new Set<string>();
  const errors: Diagnostic[] = [];
  const counts: string[] = [];
  for (const stack of stacks) {
    const { model, errors: e } = loadModel(root, stack);
    for (const d of e) {
      const key = formatDiagnostic(d);
      if (!seen.has(key)) {
        seen.add(key);
        errors.push(d);
      }
    }
    if (model) counts.push(`${stack}: ${model.members.length} members, ${model.sites.length} sites, ${model.databases.length} databases, ${model.vps.length} VPS, ${model.zones.length} zones`);
  }
  if (errors.length > 0) {
    for (const d of sortDiagnostics(errors)) console.error(formatDiagnostic(d));
    console.error(`\n${errors.length} error(s); nothing can be applied until they are fixed. (${seconds(t0)})`);
    return 1;
  }
  for (const c of counts) console.log(`ok  ${c}`);
  console.log(`validated in ${seconds(t0)}`);
  return 0;
}
