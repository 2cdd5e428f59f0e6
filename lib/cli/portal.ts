import { issueMissing, portalFiles, startLabPortal } from "../portal/serve";
import { loadPortalModel } from "../portal/model";
import { issuePassword, readCredentials } from "../portal/credentials";
import { serve } from "./portal-serve";
import { REPO_ROOT, UsageError } from "./args";
import { LabError } from "../base/proc";
import { defaultStack } from "./stack-default";
import { gitlabFromEnv } from "../ci/gitlab";
import type { Args, Io } from "./command";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { simpleGit } from "simple-git";
import { onStackHosts } from "../lab/open-stack";
import { deliverSnapshot, snapshotJson, takeSnapshot } from "../portal/live";

export const expected = [LabError];

/** npm run portal: the member portal on this machine (docs/architecture.md, "Member portal"). */
export async function runPortal(a: Args, io: Io): Promise<number> {
  const root = a.str("root") ?? REPO_ROOT;
  if (a.flag("serve")) return serve(a, io, root);
  if (a.flag("snapshot")) return snapshot(a, io, root);
  const stack = defaultStack(a.str("stack"), root);
  if (stack === "prod") throw new UsageError("npm run portal serves a lab stack (lab or lab-multi); prod's portal runs behind Apache, deployed by the apply (--serve: docs/architecture.md, \"Member portal\")");
  const port = Number(a.str("port") ?? 8443);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError("--port must be a port number (0: any free one)");
  const model = loadPortalModel(root, stack);
  const files = portalFiles(root);
  const issue = a.str("issue");
  if (issue !== undefined) {
    if (!model.members.some((m) => m.handle === issue)) throw new UsageError(`no member ${issue} on stack ${stack} (members/<handle>/member.yaml)`);
    const password = await issuePassword(files.credentials, issue);
    io.out(`${issue}: new portal password (shown once; give it to the member by the channel you use for database passwords):`);
    io.out(password);
    return 0;
  }
  const made = await issueMissing(root, model);
  const live = a.flag("live");
  // Request forms only with a GitLab to write to: the API URL, project and bot token from the
  // environment (never argv), as the CI jobs take them.
  const target = a.str("requests");
  const requests = target === undefined ? undefined : { gitlab: gitlabFromEnv(), target, root, stack };
  // The history of each member's file: this checkout's git, at the requests' target branch
  // (what volunteers merged) or HEAD; commits link to CI_PROJECT_URL when it is set.
  const history = existsSync(join(root, ".git")) ? { git: simpleGit(root), ref: target ?? "HEAD" } : undefined;
  const projectUrl = process.env.CI_PROJECT_URL;
  const started = await startLabPortal(root, stack, port, { live, ...(requests ? { requests } : {}), ...(history ? { history } : {}), ...(projectUrl ? { projectUrl } : {}) });
  io.out(`portal for stack ${stack}: ${started.url}`);
  io.out(`  trust the lab CA: curl --cacert ${started.caFile} ${started.url}`);
  if (made.length) io.out(`  passwords issued for ${made.join(", ")}: ${files.passwords} (0600)`);
  io.out(`  credentials (scrypt hashes): ${files.credentials}; ${live ? "live figures read from the hosts" : "the data only (--live reads the hosts)"}`);
  io.out(`  requests: ${requests ? `merge requests into ${requests.target} at ${requests.gitlab.api} (project ${requests.gitlab.project})` : "off (--requests BRANCH with CI_API_V4_URL, CI_PROJECT_ID, GITLAB_API_TOKEN)"}`);
  io.out(`  history of the member files: ${history ? `git at ${history.ref}` : "off (the data folder is not a git checkout)"}`);
  io.out("  Ctrl-C stops it; kill -HUP reloads the data");
  process.on("SIGHUP", started.reload);
  await new Promise<void>((resolve) => {
    const stop = () => void started.app.close().then(() => resolve());
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  return 0;
}

/**
 * npm run portal -- --snapshot: every active member's live figures, read in one pass over the
 * stack's hosts (the protected runner's key), delivered to the portal's host as its state's
 * live.json (the portal-live schedule, .gitlab-ci.yml), or written to --out FILE instead.
 */
async function snapshot(a: Args, io: Io, root: string): Promise<number> {
  const stack = defaultStack(a.str("stack"), root);
  const model = loadPortalModel(root, stack);
  const out = a.str("out");
  if (out === undefined && !model.inventory.portal) throw new UsageError(`stack ${stack} has no portal (the inventory's portal: section): nothing to deliver the figures to; --out FILE writes them here`);
  const started = Date.now();
  const done = await onStackHosts(root, stack, async () => {
    const { snapshot: snap, failed } = await takeSnapshot(root, stack, model);
    const text = snapshotJson(snap, model);
    const where = out === undefined ? await deliverSnapshot(root, model, text) : (writeFileSync(out, text, { mode: 0o600 }), { host: "this machine", path: out });
    return { snap, failed, text, where };
  });
  // The full text of a part that failed: here, in the job's log (the members read its name only).
  for (const f of done.failed) io.err(`portal snapshot: ${f.part} could not be read: ${f.error}`);
  io.out(`portal snapshot of stack ${stack}: ${Object.keys(done.snap.members).length} active member(s), taken at ${done.snap.taken_at} in ${((Date.now() - started) / 1000).toFixed(1)} s, ${done.text.length} bytes → ${done.where.host}:${done.where.path}`);
  return done.failed.length ? 1 : 0;
}
