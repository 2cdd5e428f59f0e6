import type { SimpleGit } from "simple-git";
import { Blobs, changeCommits, type ChangeCommit } from "./git-log";
import type { Landing, Mainline } from "./mainline";
import { mergeRequestOf } from "../state/merge-request";
import { describeFileChange } from "./semantic";
import type { Target } from "./target";
import { applyingUpdates, type Update, type UpdateHistory } from "./updates";

export interface StoryEntry {
  hash: string;
  /** Author date, ISO 8601 with the author's offset. */
  date: string;
  author: string;
  email: string;
  subject: string;
  mergeRequest?: string;
  /** Per file the commit touched: the change in words. */
  files: { path: string; changes: string[] }[];
  landing?: Landing;
  /** The first successful update whose git.head contains the commit. */
  applied?: Update;
}

export interface Story {
  target: Target;
  ref: string;
  since?: string;
  history: UpdateHistory;
  entries: StoryEntry[];
}

/** The first update (oldest first) that applied a tree containing `commit`. */
export async function firstApplied(mainline: Mainline, updates: readonly Update[], commit: string): Promise<Update | undefined> {
  for (const u of applyingUpdates(updates)) if (await mainline.contains(u.head as string, commit)) return u;
  return undefined;
}

/** Commits authored at or after `since` (an ISO date), all when undefined. */
export function sinceFilter(since: string | undefined): (c: ChangeCommit) => boolean {
  if (!since) return () => true;
  const t = Date.parse(since);
  return (c) => Date.parse(c.authored) >= t;
}

/** Each commit that touched the target, oldest first, with its change in words, where it landed and when it was applied. */
export async function buildStory(git: SimpleGit, mainline: Mainline, target: Target, history: UpdateHistory, since?: string): Promise<Story> {
  const blobs = new Blobs(git);
  const commits = (await changeCommits(git, mainline.ref, target.paths)).filter(sinceFilter(since));
  const entries = await Promise.all(
    commits.map(async (c): Promise<StoryEntry> => {
      const files = await Promise.all(
        c.files.map(async (f) => ({ path: f.path, changes: describeFileChange(f.path, await blobs.text(f.before), await blobs.text(f.after)) })),
      );
      const landing = await mainline.landing(c.hash);
      return {
        hash: c.hash,
        date: c.authored,
        author: c.author,
        email: c.email,
        subject: c.subject,
        mergeRequest: mergeRequestOf(`${c.subject}\n\n${c.body}`) ?? landing?.mergeRequest,
        files,
        landing,
        applied: await firstApplied(mainline, history.updates, c.hash),
      };
    }),
  );
  return { target, ref: mainline.label, since, history, entries };
}
