import { createServer, type Server } from "node:http";

/**
 * The GitLab API v4 routes CI's protected jobs use (lib/ci/gitlab.ts), in memory: for the tests
 * that run .gitlab-ci.yml's jobs with gitlab-ci-local, and for the multi-host lab, whose monitor
 * host's alert bridge opens and closes its issues here (fake-gitlab-serve.ts): merge requests,
 * their notes, commit statuses and issues of project 42. Every request is recorded (method, path, token, body);
 * a request without `token` gets 401, as GitLab answers.
 */

export interface Recorded {
  method: string;
  path: string;
  token?: string;
  body?: Record<string, unknown>;
}
export interface FakeNote {
  id: number;
  body: string;
  author: { id: number };
}
export interface FakeMr {
  iid: number;
  sha: string;
  target_branch: string;
  source_branch: string;
  head_pipeline: { id: number; sha: string } | null;
}
export interface FakeIssue {
  iid: number;
  title: string;
  description: string;
  labels: string;
  state: "opened" | "closed";
  author: { id: number };
}

export const FAKE_PROJECT = "42";

export function fakeGitLab(token: string, bot: { id: number; username: string }) {
  const requests: Recorded[] = [];
  const mrs: FakeMr[] = [];
  const notes = new Map<number, FakeNote[]>();
  const statuses: Array<{ sha: string } & Record<string, unknown>> = [];
  const issues: FakeIssue[] = [];
  let nextNote = 100;
  const server: Server = createServer((req, res) => {
    let raw = "";
    req.on("data", (d: Buffer) => (raw += d.toString("utf8")));
    req.on("end", () => {
      const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : undefined;
      const url = new URL(req.url ?? "/", "http://x");
      const given = req.headers["private-token"] as string | undefined;
      requests.push({ method: req.method ?? "", path: url.pathname, token: given, body });
      const send = (code: number, v: unknown) => {
        res.writeHead(code, { "Content-Type": "application/json" });
        res.end(JSON.stringify(v));
      };
      if (given !== token) return send(401, { message: "401 Unauthorized" });
      const p = url.pathname;
      const page = Number(url.searchParams.get("page") ?? "1");
      let m: RegExpExecArray | null;
      if (p === "/api/v4/user") return send(200, bot);
      if (p === "/api/v4/projects/42/merge_requests" && req.method === "GET") {
        const list = mrs.filter((x) => url.searchParams.get("state") === "opened" && x.target_branch === url.searchParams.get("target_branch"));
        return send(200, page === 1 ? list.map(({ head_pipeline: _, ...rest }) => rest) : []);
      }
      if ((m = /^\/api\/v4\/projects\/42\/merge_requests\/(\d+)$/.exec(p))) {
        const mr = mrs.find((x) => x.iid === Number(m?.[1]));
        return mr ? send(200, mr) : send(404, { message: "404 Not Found" });
      }
      if ((m = /^\/api\/v4\/projects\/42\/merge_requests\/(\d+)\/notes(?:\/(\d+))?$/.exec(p))) {
        const list = notes.get(Number(m[1])) ?? [];
        notes.set(Number(m[1]), list);
        if (req.method === "GET") return send(200, page === 1 ? list : []);
        if (req.method === "POST") {
          const n = { id: nextNote++, body: String(body?.body), author: { id: bot.id } };
          list.push(n);
          return send(201, n);
        }
        const n = list.find((x) => x.id === Number(m?.[2]));
        if (req.method === "PUT" && n && n.author.id === bot.id) {
          n.body = String(body?.body);
          return send(200, n);
        }
        return send(403, { message: "403 Forbidden" });
      }
      if ((m = /^\/api\/v4\/projects\/42\/statuses\/([0-9a-f]{40})$/.exec(p)) && req.method === "POST") {
        statuses.push({ sha: m[1] as string, ...body });
        return send(201, { sha: m[1], ...body });
      }
      if ((m = /^\/api\/v4\/projects\/42\/issues(?:\/(\d+))?$/.exec(p))) {
        if (req.method === "GET") {
          // GitLab's filters: state (opened, closed, all), labels (all of them), author_id.
          const state = url.searchParams.get("state") ?? "all";
          const labels = (url.searchParams.get("labels") ?? "").split(",").filter(Boolean);
          const author = url.searchParams.get("author_id");
          const hit = issues.filter((i) => (state === "all" || i.state === state) && labels.every((l) => i.labels.split(",").includes(l)) && (!author || String(i.author.id) === author));
          return send(200, page === 1 ? hit : []);
        }
        if (req.method === "POST") {
          const i: FakeIssue = { iid: issues.length + 1, title: String(body?.title), description: String(body?.description), labels: String(body?.labels), state: "opened", author: { id: bot.id } };
          issues.push(i);
          return send(201, i);
        }
        const i = issues.find((x) => x.iid === Number(m?.[1]));
        // A Developer token may edit any issue: the job itself must pick only its own.
        if (req.method === "PUT" && i) {
          if (body?.title !== undefined) i.title = String(body.title);
          if (body?.description !== undefined) i.description = String(body.description);
          if (body?.state_event === "close") i.state = "closed";
          if (body?.state_event === "reopen") i.state = "opened";
          return send(200, i);
        }
      }
      send(404, { message: "404 Not Found" });
    });
  });
  return { server, requests, mrs, notes, statuses, issues };
}
