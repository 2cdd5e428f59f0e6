import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { simpleGit } from "simple-git";
import { changedSince } from "./local-view";
import { compareRenders, type DiffSide, type FileChange } from "./compare";
import { effectsOf, type Effect } from "./effects";
import { dataPaths, GitRefError, resolveCommit } from "./extract";
import { renderSide, type Side } from "./sides";
import { unifiedDiff } from "./unified";

export { compareRenders, formatText, groupChanges, summaryLine, toJson, DAEMON_ORDER, type FileChange, type JsonChange } from "./compare";
export { GitRefError } from "./extract";
export { effectsOf, formatEffects, type Effect } from "./effects";
export { SideError } from "./sides";
export { DiffToolError } from "./unified";

export interface RenderedDiffOptions {
  /** The git checkout holding members/, zones/ and Pulumi.<stack>.yaml. */
  root: string;
  stack: string;
  base: string;
  /** A ref for the new side (default HEAD); ignored with worktree. */
  head?: string;
  /** Compare with the working tree as it is, uncommitted edits included. */
  worktree?: boolean;
}

export interface RenderedDiff {
  base: DiffSide;
  head: DiffSide;
  changes: FileChange[];
  /** Each change's unified diff. */
  diffs: Map<FileChange, string>;
  /** Data files with uncommitted edits that the comparison left out (head is a commit). */
  uncommitted: string[];
  /** What changes for members beyond the files: VPS shut off by a suspension, departures, resizes… */
  effects: Effect[];
}

/** Renders the base and the head with the project's own loader and renderers and diffs the generated files. */
export async function renderedDiff(opts: RenderedDiffOptions): Promise<RenderedDiff> {
  const git = simpleGit(opts.root);
  if (!(await git.checkIsRepo().catch(() => false))) throw new GitRefError(`${opts.root} is not a git checkout (run this inside the repository, or give --root a clone)`);
  const baseCommit = await resolveCommit(git, opts.base);
  const headRef = opts.head ?? "HEAD";
  const headSide: Side = opts.worktree ? { role: "head", worktree: true } : { role: "head", ref: headRef, commit: await resolveCommit(git, headRef) };
  const baseSide: Side = { role: "base", ref: opts.base, commit: baseCommit };
  const tmp = mkdtempSync(join(tmpdir(), "globenet-diff-"));
  try {
    const before = await renderSide(git, opts.root, baseSide, opts.stack, tmp);
    const changedRaw = "worktree" in headSide ? changedSince(opts.root, baseCommit) : (await git.raw(["diff", "--relative", "--name-only", "--no-renames", baseCommit, headSide.commit, "--", "members", "zones"])).split("\n").filter(Boolean);
    const after = await renderSide(git, opts.root, headSide, opts.stack, tmp, new Set(changedRaw));
    const changes = compareRenders(before.files, after.files);
    const effects = effectsOf(before.model, after.model, after.root);
    const diffs = new Map<FileChange, string>();
    for (const c of changes) diffs.set(c, unifiedDiff(c, join(tmp, "files")));
    let uncommitted: string[] = [];
    if (!opts.worktree && !opts.head) {
      const st = await git.raw(["status", "--porcelain", "--untracked-files=all", "--", ...dataPaths(opts.stack)]);
      uncommitted = st.split("\n").filter(Boolean).map((l) => l.slice(3));
    }
    return {
      base: { label: opts.base, commit: baseCommit },
      head: "worktree" in headSide ? { label: "working tree" } : { label: headRef, commit: headSide.commit },
      changes,
      diffs,
      uncommitted,
      effects,
    };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
