import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { closeDriftIssue, gitlabFromEnv, upsertBackupsIssue, upsertDriftIssue } from "../ci/gitlab";
import { planOpenMergeRequests } from "../ci/mr-plans";
import { openStack } from "../lab/open-stack";
import { backupsIssue, driftIssue, driftResolved, type BackupStatusRow } from "../ci/note";
import { parsePlan } from "../guard/plan";
import { REPO_ROOT, UsageError } from "./args";

/**
 * What .gitlab-ci.yml's protected jobs call to talk to GitLab:
 *   tsx lib/cli/ci.ts mr-plans [--stack prod]   plan every open merge request (trusted code, MR data)
 *   tsx lib/cli/ci.ts drift --plan plan.json    open or update the drift issue; close it when no drift is left
 *   tsx lib/cli/ci.ts backups --status b.json   open or update the backups issue (stale, failed, never made)
 * GitLab's own variables say where (CI_API_V4_URL, CI_PROJECT_ID, CI_DEFAULT_BRANCH,
 * CI_JOB_URL); GITLAB_API_TOKEN (protected, masked) holds the project access token. Merge
 * request pipelines call none of this: they hold no token.
 */
async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    options: { plan: { type: "string" }, stack: { type: "string" }, "max-share": { type: "string" }, status: { type: "string" } },
    strict: true,
  });
  if (cmd === "mr-plans") {
    const stack = values.stack ?? process.env.GLOBENET_STACK ?? "prod";
    const targetBranch = process.env.CI_DEFAULT_BRANCH;
    if (!targetBranch) throw new UsageError("CI_DEFAULT_BRANCH is not set: mr-plans runs in a pipeline of the default branch");
    if (process.env.CI_COMMIT_BRANCH !== undefined && process.env.CI_COMMIT_BRANCH !== targetBranch) {
      throw new UsageError(`mr-plans runs only from the default branch (${targetBranch}), not from ${process.env.CI_COMMIT_BRANCH}: its code is what plans every merge request`);
    }
    const maxShare = values["max-share"] === undefined ? 0.1 : Number(values["max-share"]);
    if (!Number.isFinite(maxShare) || maxShare < 0 || maxShare > 1) throw new UsageError(`--max-share must be a number from 0 to 1, got ${values["max-share"]}`);
    const repo = process.env.CI_PROJECT_DIR ?? REPO_ROOT;
    const head = spawnSync("git", ["-C", repo, "rev-parse", "--verify", "HEAD^{commit}"], { encoding: "utf8" });
    const target = head.stdout?.trim() ?? "";
    if (head.status !== 0 || !/^[0-9a-f]{40,64}$/.test(target)) throw new Error(`${repo} is not a git checkout with a commit`);
    const outcomes = await planOpenMergeRequests({ gl: gitlabFromEnv(), repo, stack, targetBranch, target, maxShare, jobUrl: process.env.CI_JOB_URL, openStack });
    const count = (w: string) => outcomes.filter((x) => x.what === w).length;
    console.log(`mr-plans: ${count("planned")} planned, ${count("refused")} refused, ${count("failed")} failed to plan, ${count("skipped")} unchanged, ${count("error")} error(s)`);
    // A refused or blocked merge request is the job doing its work; only our own trouble fails it.
    return count("error") > 0 ? 1 : 0;
  }
  if (cmd === "drift") {
    if (!values.plan) throw new UsageError("--plan FILE is required (npm run preview -- --plan-json FILE writes it)");
    const plan = parsePlan(readFileSync(values.plan, "utf8"), values.plan);
    const stack = values.stack ?? plan.stack;
    const when = new Date().toISOString();
    if (!plan.steps.some((s) => s.op !== "same")) {
      const closed = await closeDriftIssue(gitlabFromEnv(), driftResolved(stack, when));
      console.log(`stack ${stack}: no drift${closed === undefined ? "" : `; drift issue #${closed} closed`}`);
      return 0;
    }
    const { title, body } = driftIssue(stack, plan, when);
    const what = await upsertDriftIssue(gitlabFromEnv(), title, body);
    console.log(`stack ${stack}: drift issue ${what}`);
    return 0;
  }
  if (cmd === "backups") {
    if (!values.status) throw new UsageError("--status FILE is required (npm run status -- backups --json > FILE writes it)");
    const text = readFileSync(values.status, "utf8");
    let rows: BackupStatusRow[];
    try {
      rows = JSON.parse(text) as BackupStatusRow[];
      if (!Array.isArray(rows)) throw new Error("not a list");
    } catch (e) {
      throw new Error(`${values.status} is not the JSON of npm run status -- backups --json (${e instanceof Error ? e.message : String(e)}): the status command itself failed, see its output above`);
    }
    const stack = values.stack ?? process.env.GLOBENET_STACK ?? "prod";
    const issue = backupsIssue(stack, rows, new Date().toISOString());
    if (!issue) {
      console.log(`stack ${stack}: every backup is fresh`);
      return 0;
    }
    const what = await upsertBackupsIssue(gitlabFromEnv(), issue.title, issue.body);
    console.log(`stack ${stack}: backups issue ${what}`);
    return 0;
  }
  throw new UsageError(`unknown command ${cmd ?? "(none)"}: mr-plans, drift or backups`);
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(`error: ${e instanceof Error ? e.message : String(e)}`);
      process.exit(e instanceof UsageError ? 2 : 1);
    },
  );
}
