/**
 * What each update records for auditors: the commit applied, its merge request and who ran
 * it. The Pulumi CLI already records the commit as `git.head` in the update's environment
 * when the data tree is a git checkout (and `ci.pr.number` in a merge-request pipeline); the
 * driver adds the rest as the update's message, which every backend keeps in its history:
 *   "Add member velo-libre [commit 3f2a9c1b7d4e, MR !12, by alice (CI job 4711)]"
 * `parseUpdateMessage` reads it back for `npm run history`.
 */
import { spawnSync } from "node:child_process";
import { hostname, userInfo } from "node:os";
import { mergeRequestOf } from "./merge-request";

export interface UpdateFacts {
  subject?: string;
  commit?: string;
  mr?: string;
  who?: string;
  /** The working tree had changes not in the commit. */
  dirty?: boolean;
}

const TAG = /\s*\[((?:commit [0-9a-f]{7,64}|MR [\w./-]*![0-9]+|by [^,\]]+|uncommitted changes)(?:, (?:commit [0-9a-f]{7,64}|MR [\w./-]*![0-9]+|by [^,\]]+|uncommitted changes))*)\]$/;

export function formatUpdateMessage(f: UpdateFacts): string {
  const tags = [f.commit ? `commit ${f.commit.slice(0, 12)}` : "", f.mr ? `MR ${f.mr}` : "", f.dirty ? "uncommitted changes" : "", f.who ? `by ${f.who.replace(/[,\]\n]/g, " ")}` : ""].filter(Boolean);
  const subject = (f.subject ?? "").replace(/\s+/g, " ").trim().slice(0, 200);
  return [subject, tags.length ? `[${tags.join(", ")}]` : ""].filter(Boolean).join(" ");
}

export function parseUpdateMessage(message: string): UpdateFacts {
  const m = TAG.exec(message);
  if (!m) return { subject: message.trim() || undefined };
  const f: UpdateFacts = { subject: message.slice(0, m.index).trim() || undefined };
  for (const part of (m[1] as string).split(", ")) {
    if (part.startsWith("commit ")) f.commit = part.slice(7);
    else if (part.startsWith("MR ")) f.mr = part.slice(3);
    else if (part.startsWith("by ")) f.who = part.slice(3);
    else if (part === "uncommitted changes") f.dirty = true;
  }
  return f;
}

function git(root: string, args: string[]): string | undefined {
  const r = spawnSync("git", ["-C", root, ...args], { encoding: "utf8", timeout: 10_000 });
  return r.status === 0 ? r.stdout : undefined;
}

/** The facts of the commit in `root` (or, outside a checkout, of CI's variables) and of who runs. */
export function updateFacts(root: string, env: NodeJS.ProcessEnv = process.env): UpdateFacts {
  const head = git(root, ["rev-parse", "--verify", "-q", "HEAD"])?.trim();
  const message = head ? git(root, ["log", "-1", "--format=%B", head]) ?? "" : env.CI_COMMIT_MESSAGE ?? "";
  const commit = head || env.CI_COMMIT_SHA || undefined;
  const dirty = head ? (git(root, ["status", "--porcelain", "--untracked-files=no", "--", "."]) ?? "").trim() !== "" : false;
  const mr = env.CI_MERGE_REQUEST_IID ? `${env.CI_MERGE_REQUEST_PROJECT_PATH ?? ""}!${env.CI_MERGE_REQUEST_IID}` : mergeRequestOf(message);
  let who: string;
  if (env.GITLAB_USER_LOGIN) who = `${env.GITLAB_USER_LOGIN}${env.CI_JOB_ID ? ` (CI job ${env.CI_JOB_ID})` : " (CI)"}`;
  else {
    let user = "unknown";
    try {
      user = userInfo().username;
    } catch {
      /* no passwd entry */
    }
    who = `${user}@${hostname()}`;
  }
  return { subject: message.split("\n")[0]?.trim() || undefined, commit, mr, who, dirty };
}

/**
 * Environment for the CLI so that it records `git.head` even when the data tree is not a
 * git checkout (a CI job that copied it, a test tree): PULUMI_GIT_HEAD from CI.
 */
export function gitEnvFor(root: string, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  if (git(root, ["rev-parse", "--git-dir"]) !== undefined) return {};
  return env.CI_COMMIT_SHA ? { PULUMI_GIT_HEAD: env.CI_COMMIT_SHA } : {};
}
