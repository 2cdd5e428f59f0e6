import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { gitlabFromEnv, upsertDriftIssue, upsertMrNote } from "../ci/gitlab";
import { driftIssue, planNote } from "../ci/note";
import { parsePlan } from "../guard/plan";
import { UsageError } from "./args";

/**
 * What .gitlab-ci.yml calls to talk to GitLab:
 *   tsx lib/cli/ci.ts note  --plan plan.json --diff rendered.diff --guard guard.txt --guard-exit N
 *   tsx lib/cli/ci.ts drift --plan plan.json
 * GitLab's own variables say where (CI_API_V4_URL, CI_PROJECT_ID, CI_MERGE_REQUEST_IID,
 * CI_COMMIT_SHA, CI_PIPELINE_URL); GITLAB_API_TOKEN (masked) holds the project access token.
 */
async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    options: { plan: { type: "string" }, diff: { type: "string" }, guard: { type: "string" }, "guard-exit": { type: "string" }, stack: { type: "string" } },
    strict: true,
  });
  if (!values.plan) throw new UsageError("--plan FILE is required (npm run preview -- --plan-json FILE writes it)");
  const plan = parsePlan(readFileSync(values.plan, "utf8"), values.plan);
  const stack = values.stack ?? plan.stack;
  const gl = gitlabFromEnv();
  if (cmd === "note") {
    const mr = process.env.CI_MERGE_REQUEST_IID;
    if (!mr) throw new UsageError("CI_MERGE_REQUEST_IID is not set: the note is for merge request pipelines");
    const body = planNote({
      stack,
      commit: process.env.CI_COMMIT_SHA ?? "HEAD",
      plan,
      diff: values.diff ? readFileSync(values.diff, "utf8") : "",
      guard: values.guard ? readFileSync(values.guard, "utf8") : "(the guard did not run)",
      guardOk: values["guard-exit"] === "0",
      pipelineUrl: process.env.CI_PIPELINE_URL,
    });
    const what = await upsertMrNote(gl, mr, body);
    console.log(`merge request !${mr}: plan note ${what}`);
    return 0;
  }
  if (cmd === "drift") {
    if (!plan.steps.some((s) => s.op !== "same")) {
      console.log(`stack ${stack}: no drift`);
      return 0;
    }
    const { title, body } = driftIssue(stack, plan, new Date().toISOString());
    const what = await upsertDriftIssue(gl, title, body);
    console.log(`stack ${stack}: drift issue ${what}`);
    return 0;
  }
  throw new UsageError(`unknown command ${cmd ?? "(none)"}: note or drift`);
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
