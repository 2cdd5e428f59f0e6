/**
 * What CI's protected jobs write to GitLab, through its REST API (v4) with a project access
 * token: one plan note per merge request (updated by the mr-plans job, never duplicated), a
 * commit status on the merge request's head, and one open issue for drift (updated while
 * drift lasts, closed by the drift job once the hosts match git again). Notes and issues are
 * found again by a marker comment in their body; a plan note counts only when the token's own
 * user wrote it (anyone may post a note that starts with the marker). The token travels in a
 * header only; error text never includes it.
 */

export interface GitLab {
  /** CI_API_V4_URL, e.g. https://gitlab.example/api/v4 */
  api: string;
  /** CI_PROJECT_ID */
  project: string;
  token: string;
}

export const PLAN_MARKER = "<!-- globenet-infra:plan -->";
export const DRIFT_MARKER = "<!-- globenet-infra:drift -->";
export const BACKUPS_MARKER = "<!-- globenet-infra:backups -->";
/** The commit status the mr-plans job sets on a merge request's head. */
export const STATUS_NAME = "globenet/prod-plan";

export async function call<T>(gl: GitLab, method: string, path: string, body?: Record<string, unknown>): Promise<T> {
  return callApi<T>(gl, method, `/projects/${encodeURIComponent(gl.project)}${path}`, body);
}

async function callApi<T>(gl: GitLab, method: string, path: string, body?: Record<string, unknown>): Promise<T> {
  const url = `${gl.api.replace(/\/+$/, "")}${path}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: { "PRIVATE-TOKEN": gl.token, ...(body ? { "Content-Type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
  } catch (e) {
    throw new Error(`GitLab API ${method} ${url}: ${(e as Error).message} (is CI_API_V4_URL right and GitLab reachable?)`);
  }
  if (!res.ok) {
    const text = (await res.text()).slice(0, 300).split(gl.token).join("[token]");
    const hint = res.status === 401 || res.status === 403 ? " (the token in GITLAB_API_TOKEN needs the api scope and the Developer role on the project)" : "";
    throw new Error(`GitLab API ${method} ${url}: HTTP ${res.status} ${text}${hint}`);
  }
  return (await res.json()) as T;
}

/** Every page of a list (GitLab pages at most 100 items). */
async function all<T>(gl: GitLab, path: string): Promise<T[]> {
  const out: T[] = [];
  for (let page = 1; page <= 50; page++) {
    const items = await call<T[]>(gl, "GET", `${path}${path.includes("?") ? "&" : "?"}per_page=100&page=${page}`);
    out.push(...items);
    if (items.length < 100) break;
  }
  return out;
}

export interface Note {
  id: number;
  body: string;
  author?: { id: number };
}

/** The token's own user (a project access token has a bot user of its own). */
export async function currentUser(gl: GitLab): Promise<{ id: number; username: string }> {
  return callApi(gl, "GET", "/user");
}

/** The plan note this user wrote on the merge request, if any. */
export async function findPlanNote(gl: GitLab, mrIid: number | string, authorId: number): Promise<Note | undefined> {
  const notes = await all<Note>(gl, `/merge_requests/${encodeURIComponent(String(mrIid))}/notes?sort=asc`);
  return notes.find((n) => n.author?.id === authorId && n.body.startsWith(PLAN_MARKER));
}

/** Creates or updates the merge request's plan note (the one `authorId` wrote); returns what it did. */
export async function upsertMrNote(gl: GitLab, mrIid: number | string, body: string, authorId: number): Promise<"created" | "updated"> {
  const full = `${PLAN_MARKER}\n${body}`;
  const iid = encodeURIComponent(String(mrIid));
  const mine = await findPlanNote(gl, mrIid, authorId);
  if (mine) {
    await call(gl, "PUT", `/merge_requests/${iid}/notes/${mine.id}`, { body: full });
    return "updated";
  }
  await call(gl, "POST", `/merge_requests/${iid}/notes`, { body: full });
  return "created";
}

export interface MergeRequest {
  iid: number;
  /** The head commit of the merge request's source branch. */
  sha: string;
  title?: string;
  target_branch: string;
  source_branch?: string;
  web_url?: string;
  head_pipeline?: { id: number; sha: string } | null;
}

/** The open merge requests into `target` (oldest first). */
export async function openMergeRequests(gl: GitLab, target: string): Promise<MergeRequest[]> {
  const list = await all<MergeRequest>(gl, `/merge_requests?state=opened&target_branch=${encodeURIComponent(target)}&order_by=created_at&sort=asc`);
  return list.filter((m) => m.target_branch === target && /^[0-9a-f]{40,64}$/.test(m.sha ?? ""));
}

export async function mergeRequest(gl: GitLab, iid: number): Promise<MergeRequest> {
  return call(gl, "GET", `/merge_requests/${iid}`);
}

/**
 * Sets the commit status `name` on `sha`, in the merge request's pipeline when GitLab has
 * one for that commit (so "Pipelines must succeed" sees it), else on its own.
 */
export async function setCommitStatus(gl: GitLab, sha: string, s: { state: "pending" | "running" | "success" | "failed"; name: string; description: string; targetUrl?: string; pipelineId?: number }): Promise<void> {
  await call(gl, "POST", `/statuses/${encodeURIComponent(sha)}`, {
    state: s.state,
    name: s.name,
    description: s.description.slice(0, 250),
    ...(s.targetUrl ? { target_url: s.targetUrl } : {}),
    ...(s.pipelineId ? { pipeline_id: s.pipelineId } : {}),
  });
}

interface Issue {
  iid: number;
  description: string | null;
  author?: { id: number };
}

/**
 * The open issue carrying `marker` and `label` that the token's own user opened, if any:
 * anyone may open an issue that starts with the marker, and the job neither writes its report
 * into nor closes someone else's.
 */
async function openMarkedIssue(gl: GitLab, marker: string, label: string): Promise<Issue | undefined> {
  const me = await currentUser(gl);
  const open = await all<Issue>(gl, `/issues?state=opened&labels=${encodeURIComponent(label)}&author_id=${me.id}`);
  return open.find((i) => i.author?.id === me.id && (i.description ?? "").startsWith(marker));
}

/** Opens (or updates) the one issue carrying `marker` and `label`. */
export async function upsertMarkedIssue(gl: GitLab, marker: string, label: string, title: string, body: string): Promise<"created" | "updated"> {
  const full = `${marker}\n${body}`;
  const mine = await openMarkedIssue(gl, marker, label);
  if (mine) {
    await call(gl, "PUT", `/issues/${mine.iid}`, { title, description: full });
    return "updated";
  }
  await call(gl, "POST", `/issues`, { title, description: full, labels: label });
  return "created";
}

/** Closes the open issue carrying `marker` and `label`, `addendum` appended to it; its iid, or undefined when none was open. */
export async function closeMarkedIssue(gl: GitLab, marker: string, label: string, addendum: string): Promise<number | undefined> {
  const mine = await openMarkedIssue(gl, marker, label);
  if (!mine) return undefined;
  await call(gl, "PUT", `/issues/${mine.iid}`, { description: `${mine.description ?? marker}${addendum}`, state_event: "close" });
  return mine.iid;
}

/** Closes the drift issue once a scheduled preview finds no drift (a volunteer applied git again, or put the change in git). */
export function closeDriftIssue(gl: GitLab, addendum: string): Promise<number | undefined> {
  return closeMarkedIssue(gl, DRIFT_MARKER, "drift", addendum);
}

/** The one drift issue (npm run preview -- --refresh found the hosts differ from git). */
export function upsertDriftIssue(gl: GitLab, title: string, body: string): Promise<"created" | "updated"> {
  return upsertMarkedIssue(gl, DRIFT_MARKER, "drift", title, body);
}

/** The one backups issue (npm run status -- backups found a backup stale, failed or never made). */
export function upsertBackupsIssue(gl: GitLab, title: string, body: string): Promise<"created" | "updated"> {
  return upsertMarkedIssue(gl, BACKUPS_MARKER, "backups", title, body);
}

/** The connection facts from GitLab CI's own variables and the token variable. */
export function gitlabFromEnv(env: NodeJS.ProcessEnv = process.env): GitLab {
  const missing = ["CI_API_V4_URL", "CI_PROJECT_ID", "GITLAB_API_TOKEN"].filter((k) => !env[k]);
  if (missing.length) {
    throw new Error(`${missing.join(", ")} not set: GitLab CI sets CI_API_V4_URL and CI_PROJECT_ID; GITLAB_API_TOKEN is a protected, masked CI/CD variable holding a project access token (api scope, Developer), given only to the default branch's pipelines`);
  }
  return { api: env.CI_API_V4_URL as string, project: env.CI_PROJECT_ID as string, token: env.GITLAB_API_TOKEN as string };
}
