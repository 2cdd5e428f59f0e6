import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { DiffToolError, formatText, GitRefError, renderedDiff, SideError, toJson } from "../diff";
import { ciBase, ciStack } from "../diff/local-view";
import { volunteerLang } from "../i18n/lang";
import { REPO_ROOT, runMain, UsageError } from "./args";

export const DIFF_HELP = `Usage: npm run diff -- [--base REF] [--worktree | --head REF] [--stack NAME] [--json]

Renders the data (members/, zones/, Pulumi.<stack>.yaml) at REF and at HEAD with the
project's own loader and renderers, and prints the unified diff of every generated file
that differs, by host and then by daemon (apache2, www, php-fpm, mariadb, bind, libvirt,
cloud-init). Zone serials and database passwords are placeholders in renders, so they
never show. Prints "no rendered change" when the generated files are identical. Before the
files, it lists what changes for members beyond them (a VPS shut off by a suspension, a
departure, a VPS resized), as the merge request note does. GLOBENET_LANG=fr (or a French
locale) prints the headings in French.

  --base REF     the side to compare with: a branch, tag or commit (default: as CI, the
                 merge base of HEAD and origin/main or main)
  --head REF     the new side (default: HEAD, the last commit; uncommitted edits left out)
  --worktree     the new side is the working tree, uncommitted edits included
  --stack NAME   whose inventory to render with (default: the stack CI previews, GLOBENET_STACK
                 of .gitlab-ci.yml: prod; also lab)
  --root DIR     the git checkout to read (default: this repository)
  --json         print a JSON list of {host, daemon, path, status, diff} (status: added,
                 removed or changed), [] when nothing differs

Exit 0 when the comparison ran (whatever it found), 1 when a side's data has errors (each
printed as file:line:col, naming the side), 2 on a usage error.`;

export async function diffCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      base: { type: "string" },
      head: { type: "string" },
      worktree: { type: "boolean" },
      stack: { type: "string" },
      root: { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    console.log(DIFF_HELP);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}" (name the base with --base ${positionals[0]})`);
  const root = resolve(values.root ?? REPO_ROOT);
  const found = values.base ? undefined : ciBase(root);
  const base = values.base ?? found?.commit;
  if (!base) throw new UsageError("no base to compare with: give --base REF (the branch or commit to compare with, e.g. --base origin/main)");
  if (values.worktree && values.head) throw new UsageError("give --head REF or --worktree, not both");
  const stack = values.stack ?? ciStack(root);
  const lang = volunteerLang();
  if (!/^[a-z0-9-]+$/.test(stack)) throw new UsageError(`--stack "${stack}" is not a stack name (lab or prod)`);
  try {
    const r = await renderedDiff({ root, stack, base, head: values.head, worktree: values.worktree });
    const baseSide = found ? { label: found.label, commit: r.base.commit } : r.base;
    if (values.json) console.log(JSON.stringify(toJson(r.changes, r.diffs), null, 2));
    else process.stdout.write(formatText(stack, baseSide, r.head, r.changes, r.diffs, r.effects, lang));
    if (r.uncommitted.length > 0) {
      console.error(
        lang === "fr"
          ? `note : les modifications non commitées de ${r.uncommitted.join(", ")} ne sont pas comparées (ajoutez --worktree pour les inclure)`
          : `note: uncommitted edits in ${r.uncommitted.join(", ")} are not compared (add --worktree to include them)`,
      );
    }
    return 0;
  } catch (e) {
    if (e instanceof SideError || e instanceof GitRefError || e instanceof DiffToolError) {
      console.error(`error: ${e.message}`);
      return 1;
    }
    throw e;
  }
}

if (require.main === module) runMain("diff", diffCommand);
