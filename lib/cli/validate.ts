import { resolve } from "node:path";
import { volunteerLang } from "../i18n/lang";
import { formatDiagnostic, sortDiagnostics, type Diagnostic } from "../load/diagnostic";
import { loadModel } from "../check/build";
import { REPO_ROOT, seconds, stacksIn, UsageError } from "./args";
import type { Args, Io } from "./command";

export function runValidate(args: Args, io: Io): number {
  const root = resolve(args.str("root") ?? REPO_ROOT);
  const stacks = args.list("stack") ?? stacksIn(root);
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
    for (const d of sortDiagnostics(errors)) io.err(formatDiagnostic(d, volunteerLang()));
    io.err(`\n${errors.length} error(s); nothing can be applied until they are fixed. (${seconds(t0)})`);
    return 1;
  }
  for (const c of counts) io.out(`ok  ${c}`);
  io.out(`validated in ${seconds(t0)}`);
  return 0;
}
