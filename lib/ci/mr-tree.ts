import { spawnSync } from "node:child_process";
import { simpleGit } from "simple-git";
import { extractDataTree } from "../diff/extract";
import { changesOutsideInventory } from "./stack-file";

/**
 * A merge request's DATA, taken out of git for the trusted mr-plans job, which then runs the
 * default branch's own code over it. Nothing of the merge request is executed or checked out:
 * its commits are fetched into a private ref, merged with the target by `git merge-tree`
 * (objects only, no working tree, no hooks), and only members/, zones/ and the stack's
 * Pulumi.<stack>.yaml are written out as plain files (symbolic links refused). The stack file
 * may differ from the target's only in its inventory; Pulumi.yaml (the project's runtime and
 * provider path) may not change at all: either is code, and the plan is refused, saying why.
 */

export class GitError extends Error {}

function git(repo: string, args: string[], env: Record<string, string> = {}): { status: number | null; out: string; err: string } {
  const r = spawnSync("git", ["-C", repo, ...args], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024, timeout: 300_000, env: { ...process.env, GIT_TERMINAL_PROMPT: "0", ...env } });
  return { status: r.status, out: r.stdout ?? "", err: (r.stderr ?? r.error?.message ?? "").trim() };
}

function must(repo: string, args: string[], env: Record<string, string> = {}): string {
  const r = git(repo, args, env);
  if (r.status !== 0) throw new GitError(`git ${args[0]} failed: ${r.err.split("\n").slice(-3).join(" ")}`);
  return r.out;
}

/** The private ref a merge request's head is fetched into. */
export const mrRef = (iid: number) => `refs/globenet-mr/${iid}`;

/**
 * Fetches the merge request's head (GitLab keeps it at refs/merge-requests/<iid>/head in the
 * target project, forks included) into a private ref; returns its commit.
 */
export function fetchMrHead(repo: string, iid: number, remote = "origin"): string {
  // The merge base must be in reach: CI's clones are shallow unless GIT_DEPTH is 0.
  if (git(repo, ["rev-parse", "--is-shallow-repository"]).out.trim() === "true") must(repo, ["fetch", "--quiet", "--no-tags", "--unshallow", remote]);
  must(repo, ["fetch", "--quiet", "--no-tags", "--no-write-fetch-head", remote, `+refs/merge-requests/${iid}/head:${mrRef(iid)}`]);
  return must(repo, ["rev-parse", "--verify", `${mrRef(iid)}^{commit}`]).trim();
}

export function dropMrRef(repo: string, iid: number): void {
  git(repo, ["update-ref", "-d", mrRef(iid)]);
}

export interface MrTree {
  head: string;
  target: string;
  mergeBase: string;
  /** A local commit (never pushed) whose tree is target and head merged as GitLab would. */
  merged?: string;
  /** Every path the merge request changes (merge-base..head). */
  changed: string[];
  /** Those that are neither members/, zones/ nor the planned stack's file: not previewed. */
  notPreviewed: string[];
  /** Why the plan is refused; empty when the data tree was written. */
  refusals: string[];
}

const isData = (p: string, stack: string) => p.startsWith("members/") || p.startsWith("zones/") || p === `Pulumi.${stack}.yaml`;

function blob(repo: string, rev: string, path: string): string | undefined {
  const r = git(repo, ["cat-file", "blob", `${rev}:${path}`]);
  return r.status === 0 ? r.out : undefined;
}

/** A fixed identity for the local merge commit: nothing about the runner leaks into it. */
const IDENTITY = { GIT_AUTHOR_NAME: "globenet mr-plans", GIT_AUTHOR_EMAIL: "mr-plans@invalid", GIT_COMMITTER_NAME: "globenet mr-plans", GIT_COMMITTER_EMAIL: "mr-plans@invalid", GIT_AUTHOR_DATE: "2000-01-01T00:00:00Z", GIT_COMMITTER_DATE: "2000-01-01T00:00:00Z" };

/**
 * Checks what the merge request changes, merges it with `target` in git's object store and
 * writes the merged data (members/, zones/, Pulumi.<stack>.yaml) into `dest`.
 */
export async function prepareMrTree(repo: string, opts: { head: string; target: string; stack: string; dest: string }): Promise<MrTree> {
  const { head, target, stack } = opts;
  const stackFile = `Pulumi.${stack}.yaml`;
  const base = git(repo, ["merge-base", target, head]);
  const tree: MrTree = { head, target, mergeBase: base.out.trim(), changed: [], notPreviewed: [], refusals: [] };
  if (base.status !== 0 || !tree.mergeBase) {
    tree.refusals.push(`the merge request has no common history with the target branch (git merge-base found none): rebase it on the target branch`);
    return tree;
  }
  tree.changed = must(repo, ["diff", "--name-only", "-z", "--no-renames", tree.mergeBase, head]).split("\0").filter(Boolean).sort();
  tree.notPreviewed = tree.changed.filter((p) => !isData(p, stack));
  if (tree.changed.includes("Pulumi.yaml")) {
    tree.refusals.push("it changes Pulumi.yaml, the project's settings (runtime, provider path): that is code, so no plan is computed before review; a maintainer reviews it as code");
  }
  if (tree.changed.includes(stackFile)) {
    const diff = changesOutsideInventory(blob(repo, tree.mergeBase, stackFile) ?? "", blob(repo, head, stackFile) ?? "", stackFile);
    if (diff.length) {
      tree.refusals.push(`it changes ${stackFile} outside \`config: globenet-infra:inventory\` (${diff.join(", ")}): those settings steer the engine itself, so only the inventory may change in a merge request that gets a plan`);
    }
  }
  if (tree.refusals.length) return tree;
  // As GitLab would merge it: the target's data plus the merge request's changes.
  const m = git(repo, ["merge-tree", "--write-tree", "--no-messages", target, head]);
  if (m.status === 1) {
    tree.refusals.push("it conflicts with the target branch: rebase it (or merge the target branch into it) and push again");
    return tree;
  }
  if (m.status !== 0) throw new GitError(`git merge-tree failed: ${m.err.split("\n").slice(-3).join(" ")}`);
  const mergedTree = m.out.split("\n")[0]?.trim() ?? "";
  if (!/^[0-9a-f]{40,64}$/.test(mergedTree)) throw new GitError(`git merge-tree gave no tree (${m.out.slice(0, 80)})`);
  const merged = blob(repo, mergedTree, stackFile);
  const current = blob(repo, target, stackFile);
  if (merged !== undefined && current !== undefined) {
    const diff = changesOutsideInventory(current, merged, stackFile);
    if (diff.length) tree.refusals.push(`merged with the target branch, ${stackFile} would differ outside its inventory (${diff.join(", ")})`);
  }
  if (merged === undefined) tree.refusals.push(`${stackFile} would not exist after the merge`);
  if (tree.refusals.length) return tree;
  tree.merged = must(repo, ["commit-tree", mergedTree, "-p", target, "-p", head, "-m", "mr-plans: the merge request merged with its target (local, never pushed)"], IDENTITY).trim();
  await extractDataTree(simpleGit(repo), repo, tree.merged, opts.dest, stack);
  return tree;
}
