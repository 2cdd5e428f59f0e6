import { spawnSync } from "node:child_process";
import { parseUpdateMessage } from "../state/metadata";
import type { Lang } from "../i18n/lang";
import { allowancesIn } from "./rules";

/**
 * Where `Allow-Destroy:` comes from: the messages of the commits being applied, and nothing
 * else. A commit message is part of what reviewers approve (GitLab resets approvals when a
 * commit is pushed, if the project says so) and of the history auditors read; the merge
 * request's description is not: anyone with write access to the MR can edit it after the
 * approvals, without resetting them. Merge commits are left out: GitLab lets whoever merges
 * edit the merge commit's message at that moment, after every review.
 *
 * The range: at merge-request time, the MR's own commits (merge-base..head); at apply time,
 * the commits since the last commit applied successfully to the stack (its update history's
 * `git.head`) up to HEAD, so that an allowance counts for as long as it is not applied yet,
 * and never again after.
 */

export interface CommitAllowance {
  sha: string;
  subject: string;
  paths: string[];
}

export interface RangeAllowances {
  /** Every path allowed by a commit in the range, normalised and sorted. */
  allowances: string[];
  /** The commits that allow something, newest first. */
  commits: CommitAllowance[];
  /** The range read, for messages ("3f2a9c1b7d4e..9c41e07a5d2f", or why none was). */
  range: string;
  /** Set when no commit could be counted: says why (no applied commit, unknown commit…). */
  problem?: string;
  /** The same in French. */
  problemFr?: string;
}

function git(root: string, args: string[]): { ok: boolean; out: string; err: string } {
  const r = spawnSync("git", ["-C", root, ...args], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024, timeout: 60_000 });
  return { ok: r.status === 0, out: r.stdout ?? "", err: (r.stderr ?? "").trim() };
}

const short = (s: string) => s.slice(0, 12);

/** Parses `git log -z --format=%H%x00%B` output: (sha, message) pairs. */
export function parseLog(out: string): Array<{ sha: string; message: string }> {
  const parts = out.split("\0");
  const list: Array<{ sha: string; message: string }> = [];
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const sha = (parts[i] ?? "").trim();
    if (/^[0-9a-f]{40,64}$/.test(sha)) list.push({ sha, message: parts[i + 1] ?? "" });
  }
  return list;
}

/** The Allow-Destroy lines of the non-merge commits `from..to` in the checkout `root`. */
export function allowancesInRange(root: string, from: string, to: string): RangeAllowances {
  const range = `${short(from)}..${short(to)}`;
  for (const [what, whatFr, ref] of [
    ["the last applied commit", "le dernier commit appliqué", from],
    ["the commit to apply", "le commit à appliquer", to],
  ] as const) {
    if (!git(root, ["cat-file", "-e", `${ref}^{commit}`]).ok) {
      return {
        allowances: [],
        commits: [],
        range,
        problem: `${what} ${short(ref)} is not in this repository's history (a shallow clone, or a commit never pushed): no Allow-Destroy line is counted`,
        problemFr: `${whatFr} ${short(ref)} n'est pas dans l'historique de ce dépôt (un clone superficiel, ou un commit jamais poussé) : aucune ligne Allow-Destroy n'est comptée`,
      };
    }
  }
  const log = git(root, ["log", "--no-merges", "-z", "--format=%H%x00%B", `${from}..${to}`]);
  if (!log.ok) return { allowances: [], commits: [], range, problem: `git log ${range} failed (${log.err.split("\n")[0]}): no Allow-Destroy line is counted`, problemFr: `git log ${range} a échoué (${log.err.split("\n")[0]}) : aucune ligne Allow-Destroy n'est comptée` };
  const commits: CommitAllowance[] = [];
  for (const c of parseLog(log.out)) {
    const paths = allowancesIn(c.message);
    if (paths.length) commits.push({ sha: c.sha, subject: c.message.split("\n")[0]?.trim() ?? "", paths });
  }
  return { allowances: [...new Set(commits.flatMap((c) => c.paths))].sort(), commits, range };
}

interface UpdateLike {
  version: number;
  kind: string;
  result: string;
  message?: string;
  environment?: Record<string, string>;
}

/**
 * The commit of the stack's last successful update (newest first by version): the CLI's
 * `git.head`, else the commit the driver wrote into the update's message. Undefined when the
 * stack has no such update.
 */
export function lastAppliedCommit(history: ReadonlyArray<UpdateLike>): string | undefined {
  const done = [...history].filter((u) => u.kind === "update" && u.result === "succeeded").sort((a, b) => b.version - a.version);
  for (const u of done) {
    const c = u.environment?.["git.head"] ?? parseUpdateMessage(u.message ?? "").commit;
    if (c && /^[0-9a-f]{7,64}$/.test(c)) return c;
  }
  return undefined;
}

/** The full commit name of a (possibly abbreviated) commit in `root`, if git knows it. */
export function fullCommit(root: string, ref: string): string | undefined {
  if (ref.startsWith("-")) return undefined;
  const r = git(root, ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]);
  const sha = r.out.trim();
  return r.ok && /^[0-9a-f]{40,64}$/.test(sha) ? sha : undefined;
}

/** What apply may count: the commits since the stack's last successful update, up to HEAD. */
export function allowancesSinceApplied(root: string, history: ReadonlyArray<UpdateLike>): RangeAllowances {
  const head = fullCommit(root, "HEAD");
  if (!head) return { allowances: [], commits: [], range: "(no commit)", problem: `${root} is not a git checkout with a commit: no Allow-Destroy line is counted` };
  const last = lastAppliedCommit(history);
  if (!last) {
    return { allowances: [], commits: [], range: `..${short(head)}`, problem: "the stack has no successful update that recorded its commit, so there is no range of commits to read: no Allow-Destroy line is counted" };
  }
  const from = fullCommit(root, last) ?? last;
  return allowancesInRange(root, from, head);
}

/** For the job log and the note (English), or a volunteer reading French: which commits allowed what. */
export function describeAllowances(r: RangeAllowances, lang: Lang = "en"): string {
  const fr = lang === "fr";
  const lines = [
    fr
      ? `Lignes Allow-Destroy lues dans les messages de commit ${r.range} (les commits de fusion et la description de la merge request ne comptent jamais) :`
      : `Allow-Destroy lines read from the commit messages ${r.range} (merge commits and merge request descriptions never count):`,
  ];
  if (r.problem) lines.push(fr ? `  aucune : ${r.problemFr ?? r.problem}` : `  none: ${r.problem}`);
  else if (r.commits.length === 0) lines.push(fr ? "  aucune" : "  none");
  for (const c of r.commits) lines.push(`  ${short(c.sha)} ${c.subject}: ${c.paths.join(", ")}`);
  return lines.join("\n");
}
