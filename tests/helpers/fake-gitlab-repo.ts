import { readdirSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { REPO_ROOT } from "../../lib/base/repo";

/**
 * The GitLab API v4 routes the member portal writes requests with (lib/portal/requests.ts), in
 * memory: a file read at a ref, a commit on a new branch (GitLab's commits API with
 * start_branch), a merge request created. Project 42, like the CI jobs' fake
 * (lib/lab/fake-gitlab.ts); a request without `token` gets 401. Each branch's files are kept,
 * so a test can validate what the merge request would merge. The merge requests can be listed
 * (author_id and state honoured, newest first) and a test may add or change some in `mrs`.
 * Issues (the portal's requests that change no data) are created and listed the same way
 * (labels, author_id and state honoured).
 */
export interface CreatedIssue {
  iid: number;
  title: string;
  description: string;
  labels: string[];
  state: "opened" | "closed";
  author: { id: number };
  web_url: string;
  created_at: string;
}

export interface CreatedMr {
  iid: number;
  source_branch: string;
  target_branch: string;
  title: string;
  description: string;
  state: "opened" | "merged" | "closed";
  author: { id: number };
  web_url: string;
  created_at: string;
}

/** Every members/<handle>/member.yaml of the repository's data: the fake's main branch. */
export function memberFiles(): Map<string, string> {
  const out = new Map<string, string>();
  for (const h of readdirSync(join(REPO_ROOT, "members"), { withFileTypes: true })) {
    if (h.isDirectory()) out.set(`members/${h.name}/member.yaml`, readFileSync(join(REPO_ROOT, "members", h.name, "member.yaml"), "utf8"));
  }
  return out;
}

/** The token's user in the fake (the portal's bot). */
export const FAKE_BOT_ID = 7;

export function fakeGitLabRepo(token: string, main: Map<string, string>) {
  const branches = new Map<string, Map<string, string>>([["main", new Map(main)]]);
  const mrs: CreatedMr[] = [];
  const issues: CreatedIssue[] = [];
  const commits: { branch: string; message: string }[] = [];
  const requests: { method: string; path: string; query: string }[] = [];
  const server: Server = createServer((req, res) => {
    let raw = "";
    req.on("data", (d: Buffer) => (raw += d.toString("utf8")));
    req.on("end", () => {
      const send = (code: number, v: unknown) => {
        res.writeHead(code, { "Content-Type": "application/json" });
        res.end(JSON.stringify(v));
      };
      const url = new URL(req.url ?? "/", "http://x");
      requests.push({ method: req.method ?? "", path: url.pathname, query: url.search });
      if (req.headers["private-token"] !== token) return send(401, { message: "401 Unauthorized" });
      const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
      const p = url.pathname;
      let m: RegExpExecArray | null;
      if ((m = /^\/api\/v4\/projects\/42\/repository\/files\/([^/]+)$/.exec(p)) && req.method === "GET") {
        const file = decodeURIComponent(m[1] as string);
        const text = branches.get(url.searchParams.get("ref") ?? "")?.get(file);
        return text === undefined ? send(404, { message: "404 File Not Found" }) : send(200, { file_path: file, encoding: "base64", content: Buffer.from(text).toString("base64") });
      }
      if (p === "/api/v4/projects/42/repository/commits" && req.method === "POST") {
        const branch = String(body.branch);
        if (!branches.has(branch)) {
          const from = branches.get(String(body.start_branch));
          if (!from) return send(400, { message: "start_branch not found" });
          branches.set(branch, new Map(from));
        }
        const files = branches.get(branch) as Map<string, string>;
        for (const a of body.actions as { action: string; file_path: string; content: string }[]) {
          if (a.action !== "update" || !files.has(a.file_path)) return send(400, { message: `A file with this name doesn't exist: ${a.file_path}` });
          files.set(a.file_path, a.content);
        }
        commits.push({ branch, message: String(body.commit_message) });
        return send(201, { id: "0".repeat(40) });
      }
      if (p === "/api/v4/projects/42/merge_requests" && req.method === "POST") {
        const iid = mrs.length + 1;
        const mr: CreatedMr = { iid, source_branch: String(body.source_branch), target_branch: String(body.target_branch), title: String(body.title), description: String(body.description), state: "opened", author: { id: FAKE_BOT_ID }, web_url: `https://gitlab.test/globenet/infra/-/merge_requests/${iid}`, created_at: new Date().toISOString() };
        if (!branches.has(mr.source_branch)) return send(400, { message: "source branch does not exist" });
        mrs.push(mr);
        return send(201, mr);
      }
      if (p === "/api/v4/projects/42/issues" && req.method === "POST") {
        const iid = issues.length + 1;
        const issue: CreatedIssue = { iid, title: String(body.title), description: String(body.description), labels: String(body.labels ?? "").split(",").filter(Boolean), state: "opened", author: { id: FAKE_BOT_ID }, web_url: `https://gitlab.test/globenet/infra/-/issues/${iid}`, created_at: new Date().toISOString() };
        issues.push(issue);
        return send(201, issue);
      }
      if (p === "/api/v4/projects/42/issues" && req.method === "GET") {
        const author = url.searchParams.get("author_id");
        const state = url.searchParams.get("state") ?? "all";
        const labels = (url.searchParams.get("labels") ?? "").split(",").filter(Boolean);
        const per = Number(url.searchParams.get("per_page") ?? 20);
        const list = [...issues].reverse().filter((i) => (author === null || String(i.author.id) === author) && (state === "all" || i.state === state) && labels.every((l) => i.labels.includes(l)));
        return send(200, list.slice(0, per));
      }
      if (p === "/api/v4/user" && req.method === "GET") return send(200, { id: FAKE_BOT_ID, username: "project_42_bot" });
      if (p === "/api/v4/projects/42/merge_requests" && req.method === "GET") {
        const author = url.searchParams.get("author_id");
        const state = url.searchParams.get("state") ?? "all";
        const per = Number(url.searchParams.get("per_page") ?? 20);
        const page = Number(url.searchParams.get("page") ?? 1);
        const list = [...mrs].reverse().filter((m) => (author === null || String(m.author.id) === author) && (state === "all" || m.state === state));
        return send(200, list.slice((page - 1) * per, page * per));
      }
      send(404, { message: "404 Not Found" });
    });
  });
  return { server, branches, mrs, issues, commits, requests };
}
