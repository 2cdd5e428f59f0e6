/**
 * The two things CI writes to GitLab, through its REST API (v4) with a project access token:
 * one note per merge request holding the plan (updated on each pipeline, never duplicated),
 * and one open issue for drift (updated while drift lasts). Each is found again by a marker
 * comment in its body. The token travels in a header only; error text never includes it.
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

async function call<T>(gl: GitLab, method: string, path: string, body?: Record<string, unknown>): Promise<T> {
  const url = `${gl.api.replace(/\/+$/, "")}/projects/${encodeURIComponent(gl.project)}${path}`;
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
    const hint = res.status === 401 || res.status === 403 ? " (the token in GITLAB_API_TOKEN needs the api scope and at least Reporter on the project)" : "";
    throw new Error(`GitLab API ${method} ${url}: HTTP ${res.status} ${text}${hint}`);
  }
  return (await res.json()) as T;
}

interface Note {
  id: number;
  body: string;
}

/** Creates or updates the merge request's plan note; returns what it did. */
export async function upsertMrNote(gl: GitLab, mrIid: string, body: string): Promise<"created" | "updated"> {
  const full = `${PLAN_MARKER}\n${body}`;
  const notes = await call<Note[]>(gl, "GET", `/merge_requests/${encodeURIComponent(mrIid)}/notes?per_page=100&sort=asc`);
  const mine = notes.find((n) => n.body.startsWith(PLAN_MARKER));
  if (mine) {
    await call(gl, "PUT", `/merge_requests/${encodeURIComponent(mrIid)}/notes/${mine.id}`, { body: full });
    return "updated";
  }
  await call(gl, "POST", `/merge_requests/${encodeURIComponent(mrIid)}/notes`, { body: full });
  return "created";
}

interface Issue {
  iid: number;
  description: string | null;
}

/** Opens (or updates) the one drift issue; closes nothing: a volunteer closes it once handled. */
export async function upsertDriftIssue(gl: GitLab, title: string, body: string): Promise<"created" | "updated"> {
  const full = `${DRIFT_MARKER}\n${body}`;
  const open = await call<Issue[]>(gl, "GET", `/issues?state=opened&labels=drift&per_page=100`);
  const mine = open.find((i) => (i.description ?? "").startsWith(DRIFT_MARKER));
  if (mine) {
    await call(gl, "PUT", `/issues/${mine.iid}`, { title, description: full });
    return "updated";
  }
  await call(gl, "POST", `/issues`, { title, description: full, labels: "drift" });
  return "created";
}

/** The connection facts from GitLab CI's own variables and the token variable. */
export function gitlabFromEnv(env: NodeJS.ProcessEnv = process.env): GitLab {
  const missing = ["CI_API_V4_URL", "CI_PROJECT_ID", "GITLAB_API_TOKEN"].filter((k) => !env[k]);
  if (missing.length) {
    throw new Error(`${missing.join(", ")} not set: GitLab CI sets CI_API_V4_URL and CI_PROJECT_ID; GITLAB_API_TOKEN is a masked CI/CD variable holding a project access token (api scope)`);
  }
  return { api: env.CI_API_V4_URL as string, project: env.CI_PROJECT_ID as string, token: env.GITLAB_API_TOKEN as string };
}
