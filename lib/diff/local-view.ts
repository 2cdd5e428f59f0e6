import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";

/**
 * What CI looks at, so a volunteer's `npm run diff`, `npm run guard` and `npm run validate`
 * look at the same by default: the stack merge requests are previewed against (the
 * GLOBENET_STACK variable of .gitlab-ci.yml: prod), and the base a merge request is compared
 * with (GitLab's CI_MERGE_REQUEST_DIFF_BASE_SHA: the merge base of the branch and its target).
 */

/** The stack CI previews: $GLOBENET_STACK when set (as in CI), else the one .gitlab-ci.yml names, else prod. */
export function ciStack(root: string, env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.GLOBENET_STACK?.trim();
  if (fromEnv) return fromEnv;
  const file = join(root, ".gitlab-ci.yml");
  if (existsSync(file)) {
    try {
      const doc = parse(readFileSync(file, "utf8")) as { variables?: Record<string, unknown> } | null;
      const v = doc?.variables?.GLOBENET_STACK;
      if (typeof v === "string" && /^[a-z0-9-]+$/.test(v)) return v;
    } catch {
      // A broken CI file is CI's problem to report; prod is what it has always named.
    }
  }
  return "prod";
}

function git(root: string, args: string[]): { ok: boolean; out: string } {
  const r = spawnSync("git", ["-C", root, ...args], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024, timeout: 60_000 });
  return { ok: r.status === 0, out: (r.stdout ?? "").trim() };
}

export interface CiBase {
  /** What to name it in messages: "merge-base of HEAD and origin/main". */
  label: string;
  /** The commit. */
  commit: string;
}

/**
 * The base CI compares a merge request with: in a merge request pipeline GitLab's own
 * CI_MERGE_REQUEST_DIFF_BASE_SHA; elsewhere the merge base of HEAD and the target branch
 * (origin's default branch when known, else origin/main, else main). Undefined outside a git
 * checkout or when no such branch exists.
 */
export function ciBase(root: string, env: NodeJS.ProcessEnv = process.env): CiBase | undefined {
  const gitlab = env.CI_MERGE_REQUEST_DIFF_BASE_SHA?.trim();
  if (gitlab && /^[0-9a-f]{40,64}$/.test(gitlab) && git(root, ["cat-file", "-e", `${gitlab}^{commit}`]).ok) return { label: "CI_MERGE_REQUEST_DIFF_BASE_SHA", commit: gitlab };
  const originHead = git(root, ["symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD"]);
  const candidates = [...(originHead.ok && originHead.out ? [originHead.out] : []), "origin/main", "main"];
  for (const target of candidates) {
    if (!git(root, ["rev-parse", "--verify", "--quiet", `${target}^{commit}`]).ok) continue;
    const mb = git(root, ["merge-base", "HEAD", target]);
    if (mb.ok && /^[0-9a-f]{40,64}$/.test(mb.out)) return { label: `merge-base of HEAD and ${target}`, commit: mb.out };
  }
  return undefined;
}

/**
 * The data files that differ from `base` in the working tree (committed or not, new files
 * included): where a duplicate is to be blamed. Paths relative to the checkout, sorted.
 */
export function changedSince(root: string, base: string): string[] {
  const diff = git(root, ["diff", "--relative", "--name-only", "--no-renames", base, "--", "members", "zones"]);
  const untracked = git(root, ["ls-files", "--others", "--exclude-standard", "--", "members", "zones"]);
  return [...new Set([...diff.out.split("\n"), ...untracked.out.split("\n")].filter(Boolean))].sort();
}

/**
 * Data files CI would not see: present in the working tree but not known to git (never
 * `git add`ed, or ignored). Only .yaml files under members/ and zones/ and Pulumi.<stack>.yaml.
 * Undefined outside a git checkout.
 */
export function untrackedDataFiles(root: string): string[] | undefined {
  if (!git(root, ["rev-parse", "--is-inside-work-tree"]).ok) return undefined;
  const r = git(root, ["ls-files", "--others", "--", "members", "zones", "Pulumi.*.yaml"]);
  return r.out.split("\n").filter((p) => p.endsWith(".yaml")).sort();
}
