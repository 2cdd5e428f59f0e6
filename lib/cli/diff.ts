import { resolve } from "node:path";
import { DiffToolError, formatText, GitRefError, renderedDiff, SideError, toJson } from "../diff";
import { ciBase, ciStack } from "../diff/local-view";
import { volunteerLang } from "../i18n/lang";
import { REPO_ROOT, UsageError } from "./args";
import type { Args, Io } from "./command";

/** npm run diff (table entry and help: lib/cli/commands.ts). */
export async function runDiff(args: Args, io: Io): Promise<number> {
  const [extra] = args.positionals;
  if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}" (name the base with --base ${extra})`);
  const root = resolve(args.str("root") ?? REPO_ROOT);
  const given = args.str("base");
  const found = given ? undefined : ciBase(root);
  const base = given ?? found?.commit;
  if (!base) throw new UsageError("no base to compare with: give --base REF (the branch or commit to compare with, e.g. --base origin/main)");
  const head = args.str("head");
  if (args.flag("worktree") && head) throw new UsageError("give --head REF or --worktree, not both");
  const stack = args.str("stack") ?? ciStack(root);
  if (!/^[a-z0-9-]+$/.test(stack)) throw new UsageError(`--stack "${stack}" is not a stack name (lab or prod)`);
  const lang = volunteerLang();
  const r = await renderedDiff({ root, stack, base, head, worktree: args.flag("worktree") });
  const baseSide = found ? { label: found.label, commit: r.base.commit } : r.base;
  if (args.flag("json")) io.out(JSON.stringify(toJson(r.changes, r.diffs), null, 2));
  else io.write(formatText(stack, baseSide, r.head, r.changes, r.diffs, r.effects, lang));
  if (r.uncommitted.length > 0) {
    io.err(
      lang === "fr"
        ? `note : les modifications non commitées de ${r.uncommitted.join(", ")} ne sont pas comparées (ajoutez --worktree pour les inclure)`
        : `note: uncommitted edits in ${r.uncommitted.join(", ")} are not compared (add --worktree to include them)`,
    );
  }
  return 0;
}

/** Shown as one line (exit 1): a side's data errors, an unknown ref, git diff missing. */
export const expected = [SideError, GitRefError, DiffToolError];
