import type { SimpleGit } from "simple-git";
import { Blobs, LOG_FORMAT, parseLog } from "../audit/git-log";
import { describeFileChange } from "../audit/semantic";
import { mergeRequestOf } from "../state/merge-request";

/**
 * The history of a member's file (docs/architecture.md, "Member portal"): the commits of `ref`
 * that touched `members/<handle>/`, newest first, read with the audit's own git code
 * (lib/audit/git-log.ts: its log format and parser, merges left out as in changeCommits). Only that folder counts: the pathspec is literal, with its trailing
 * slash, so `members/velo-libre-evil/` is not `members/velo-libre/`.
 *
 * A commit's subject is free text written for volunteers. It is shown only when the commit
 * touched nothing but this member's folder; a commit that also changed another file (another
 * member's, a zone, the inventory, code) shows a neutral line instead, so a subject like
 * "atelier: suspended for unpaid fees; velo-libre: alias" never reaches velo-libre. The change
 * in words of *this member's* files (the audit's describeFileChange) is shown for every commit.
 */
export interface HistoryEntry {
  hash: string;
  short: string;
  /** Author date, ISO 8601 as git stored it. */
  date: string;
  author: string;
  /** The commit's subject; undefined when the commit also touched files outside the member's folder. */
  subject?: string;
  /** How many files outside the member's folder the commit touched (its subject is then hidden). */
  otherFiles: number;
  /** "!12" when the message names its merge request. */
  mergeRequest?: string;
  /** This member's files, each with its change in words (the audit's). */
  files: { path: string; changes: string[] }[];
}

const HANDLE = /^[a-z][a-z0-9-]*$/;

/** Every file each commit touched (all paths, not only the member's), by hash. */
async function allFiles(git: SimpleGit, hashes: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (!hashes.length) return out;
  const text = await git.raw(["show", "--no-renames", "--name-only", "--format=%x1e%H", ...hashes]);
  for (const rec of text.split("\x1e")) {
    const [hash, ...files] = rec.split("\n").filter(Boolean);
    if (hash) out.set(hash, files);
  }
  return out;
}

/** The member's history, newest first, at most `limit` commits. */
export async function memberHistory(git: SimpleGit, ref: string, handle: string, limit = 50): Promise<HistoryEntry[]> {
  if (!HANDLE.test(handle)) throw new Error(`"${handle}" is not a member handle`);
  const folder = `members/${handle}/`;
  // changeCommits' command, newest first and only the `limit` newest read.
  const commits = parseLog(await git.raw(["log", `--max-count=${limit}`, "--no-merges", "--no-renames", "--raw", "--no-abbrev", LOG_FORMAT, ref, "--", `:(literal)${folder}`]));
  const touched = await allFiles(git, commits.map((c) => c.hash));
  const blobs = new Blobs(git);
  return Promise.all(
    commits.map(async (c): Promise<HistoryEntry> => {
      const mine = c.files.filter((f) => f.path.startsWith(folder));
      const others = (touched.get(c.hash) ?? []).filter((p) => !p.startsWith(folder)).length;
      const files = await Promise.all(mine.map(async (f) => ({ path: f.path.slice(folder.length), changes: describeFileChange(f.path, await blobs.text(f.before), await blobs.text(f.after)) })));
      const mr = others === 0 ? mergeRequestOf(`${c.subject}\n\n${c.body}`) : undefined;
      return {
        hash: c.hash,
        short: c.hash.slice(0, 8),
        date: c.authored,
        author: c.author,
        ...(others === 0 ? { subject: c.subject } : {}),
        otherFiles: others,
        ...(mr ? { mergeRequest: mr } : {}),
        files,
      };
    }),
  );
}
