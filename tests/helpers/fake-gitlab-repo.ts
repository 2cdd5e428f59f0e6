import { createServer, type Server } from "node:http";

/**
 * The GitLab API v4 routes the member portal writes requests with (lib/portal/requests.ts), in
 * memory: a file read at a ref, a commit on a new branch (GitLab's commits API with
 * start_branch), a merge request created. Project 42, like the CI jobs' fake
 * (lib/lab/fake-gitlab.ts); a request without `token` gets 401. Each branch's files are kept,
 * so a test can validate what the merge request would merge.
 */
export interface CreatedMr {
  iid: number;
  source_branch: string;
  target_branch: string;
  title: string;
  description: string;
}

export function fakeGitLabRepo(token: string, main: Map<string, string>) {
  const branches = new Map<string, Map<string, string>>([["main", new Map(main)]]);
  const mrs: CreatedMr[] = [];
  const commits: { branch: string; message: string }[] = [];
  const requests: { method: string; path: string }[] = [];
  const server: Server = createServer((req, res) => {
    let raw = "";
    req.on("data", (d: Buffer) => (raw += d.toString("utf8")));
    req.on("end", () => {
      const send = (code: number, v: unknown) => {
        res.writeHead(code, { "Content-Type": "application/json" });
        res.end(JSON.stringify(v));
      };
      const url = new URL(req.url ?? "/", "http://x");
      requests.push({ method: req.method ?? "", path: url.pathname });
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
        const mr = { iid: mrs.length + 1, source_branch: String(body.source_branch), target_branch: String(body.target_branch), title: String(body.title), description: String(body.description) };
        if (!branches.has(mr.source_branch)) return send(400, { message: "source branch does not exist" });
        mrs.push(mr);
        return send(201, { ...mr, web_url: `https://gitlab.test/globenet/infra/-/merge_requests/${mr.iid}` });
      }
      send(404, { message: "404 Not Found" });
    });
  });
  return { server, branches, mrs, commits, requests };
}
