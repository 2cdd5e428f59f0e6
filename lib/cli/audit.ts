import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { simpleGit } from "simple-git";
import { formatStory, storyJson } from "../audit/format";
import { collectEvents, formatLeadTime, leadTimeJson } from "../audit/lead-time";
import { Mainline } from "../audit/mainline";
import { buildStory } from "../audit/story";
import { resolveTarget, TargetError } from "../audit/target";
import { loadUpdateHistory } from "../audit/updates";
import { GitRefError, resolveCommit } from "../diff/extract";
import { REPO_ROOT, runMain, UsageError } from "./args";

export const AUDIT_HELP = `Usage: npm run audit -- <member | zone | VPS | path> [options]
       npm run audit -- --lead-time [options]

Tells an object's story from git: each commit that changed it (date, author, merge request,
subject) with the change in words ("site velo-libre.example: alias www.velo-libre.example
added", "VPS atelier: memory 1024 → 2048 MB", "status active → suspended"), where it was
merged, and when the stack applied it (from the engine's update history).

  <member>       a handle (velo-libre): members/velo-libre/, its VPS included
  <zone>         a zone (velo-libre.example): zones/velo-libre.example.yaml
  <VPS>          a VPS name (atelier), or any path like members/velo-libre/vps/atelier.yaml
  --lead-time    for every new member, site, VPS and zone: request (first commit) → merge
                 → applied, with the median per kind
  --since DATE   only commits written on or after DATE (YYYY-MM-DD, UTC)
  --stack NAME   read this stack's update history (default: lab, when .lab/state has one)
  --history FILE read the update history from FILE (saved pulumi stack history --json)
  --ref REF      the branch to read (default: HEAD)
  --root DIR     the git checkout (default: this repository)
  --json         machine-readable output

The engine is never built for this: without the Pulumi CLI the report says "no update
history: engine not installed" and gives what git alone knows.`;

export async function auditCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      "lead-time": { type: "boolean" },
      since: { type: "string" },
      stack: { type: "string" },
      history: { type: "string" },
      ref: { type: "string" },
      root: { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    console.log(AUDIT_HELP);
    return 0;
  }
  const leadTime = !!values["lead-time"];
  if (leadTime && positionals.length > 0) throw new UsageError(`--lead-time covers every object; drop "${positionals[0]}" (or drop --lead-time to see its story)`);
  if (!leadTime && positionals.length === 0) throw new UsageError("name what to audit: a member handle (velo-libre), a zone (velo-libre.example), a VPS or a path; or --lead-time");
  if (positionals.length > 1) throw new UsageError(`audit one object at a time (got ${positionals.join(", ")})`);
  const since = values.since;
  if (since !== undefined && (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?(Z|[+-]\d{2}:\d{2})?)?$/.test(since) || Number.isNaN(Date.parse(since)))) {
    throw new UsageError(`--since takes a date like 2026-01-31 (or 2026-01-31T14:00Z), got "${since}"`);
  }
  const stack = values.stack;
  if (stack !== undefined && !/^[a-z0-9-]+$/.test(stack)) throw new UsageError(`--stack "${stack}" is not a stack name (lab or prod)`);

  const root = resolve(values.root ?? REPO_ROOT);
  const ref = values.ref ?? "HEAD";
  const git = simpleGit(root);
  try {
    if (!(await git.checkIsRepo().catch(() => false))) throw new GitRefError(`${root} is not a git checkout (run this inside the repository, or give --root a clone)`);
    await resolveCommit(git, ref);
    const target = leadTime ? undefined : await resolveTarget(git, ref, positionals[0] as string);
    const [mainline, history] = await Promise.all([Mainline.load(git, ref), loadUpdateHistory({ root, stack, historyFile: values.history })]);
    if (target) {
      const story = await buildStory(git, mainline, target, history, since);
      console.log(values.json ? JSON.stringify(storyJson(story), null, 2) : formatStory(story).trimEnd());
    } else {
      const events = await collectEvents(git, mainline, history.updates, since);
      console.log(values.json ? JSON.stringify(leadTimeJson(mainline.label, history, events, since), null, 2) : formatLeadTime(mainline.label, history, events, since).trimEnd());
    }
    return 0;
  } catch (e) {
    if (e instanceof TargetError || e instanceof GitRefError) {
      console.error(`error: ${e.message}`);
      return 1;
    }
    throw e;
  }
}

if (require.main === module) runMain("audit", auditCommand);
