import { resolve } from "node:path";
import { simpleGit } from "simple-git";
import { formatStory, storyJson } from "../audit/format";
import { collectEvents, formatLeadTime, leadTimeJson } from "../audit/lead-time";
import { Mainline } from "../audit/mainline";
import { buildStory } from "../audit/story";
import { resolveTarget, TargetError } from "../audit/target";
import { loadUpdateHistory } from "../audit/updates";
import { GitRefError, resolveCommit } from "../diff/extract";
import { REPO_ROOT, UsageError } from "./args";
import { givenOrUpLab } from "./stack-default";
import type { Args, Io } from "./command";

/** npm run audit (table entry and help: lib/cli/commands.ts). */
export async function runAudit(args: Args, io: Io): Promise<number> {
  const { positionals } = args;
  const leadTime = args.flag("lead-time");
  if (leadTime && positionals.length > 0) throw new UsageError(`--lead-time covers every object; drop "${positionals[0]}" (or drop --lead-time to see its story)`);
  if (!leadTime && positionals.length === 0) throw new UsageError("name what to audit: a member handle (velo-libre), a zone (velo-libre.example), a VPS or a path; or --lead-time");
  if (positionals.length > 1) throw new UsageError(`audit one object at a time (got ${positionals.join(", ")})`);
  const since = args.str("since");
  if (since !== undefined && (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?(Z|[+-]\d{2}:\d{2})?)?$/.test(since) || Number.isNaN(Date.parse(since)))) {
    throw new UsageError(`--since takes a date like 2026-01-31 (or 2026-01-31T14:00Z), got "${since}"`);
  }
  const stack = args.str("stack");
  if (stack !== undefined && !/^[a-z0-9-]+$/.test(stack)) throw new UsageError(`--stack "${stack}" is not a stack name (lab or prod)`);

  const root = resolve(args.str("root") ?? REPO_ROOT);
  // Named, or the multi-host lab's when it is up; else loadUpdateHistory's own rule (lab, when .lab/state has one).
  const historyStack = givenOrUpLab(stack, root);
  const ref = args.str("ref") ?? "HEAD";
  const json = args.flag("json");
  const git = simpleGit(root);
  if (!(await git.checkIsRepo().catch(() => false))) throw new GitRefError(`${root} is not a git checkout (run this inside the repository, or give --root a clone)`);
  await resolveCommit(git, ref);
  const target = leadTime ? undefined : await resolveTarget(git, ref, positionals[0] as string);
  const [mainline, history] = await Promise.all([Mainline.load(git, ref), loadUpdateHistory({ root, stack: historyStack, historyFile: args.str("history") })]);
  if (target) {
    const story = await buildStory(git, mainline, target, history, since);
    io.out(json ? JSON.stringify(storyJson(story), null, 2) : formatStory(story).trimEnd());
  } else {
    const events = await collectEvents(git, mainline, history.updates, since);
    io.out(json ? JSON.stringify(leadTimeJson(mainline.label, history, events, since), null, 2) : formatLeadTime(mainline.label, history, events, since).trimEnd());
  }
  return 0;
}

/** Shown as one line (exit 1): an unknown object or ref. */
export const expected = [TargetError, GitRefError];
