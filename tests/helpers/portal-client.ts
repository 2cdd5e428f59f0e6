import { request } from "node:https";
import { request as plainRequest } from "node:http";

/**
 * A member's browser for the portal tests, enough for them: node's https client trusting only
 * the given CA (no CA: plain HTTP, straight to a deployed portal's loopback port), one cookie
 * jar, form posts.
 */
export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export const csrfOf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? "";

export function portalClient(port: () => number, ca?: () => string) {
  const jar = new Map<string, string>();
  function send(method: string, path: string, form?: Record<string, string>, headers: Record<string, string> = {}): Promise<Answer> {
    const body = form ? new URLSearchParams(form).toString() : undefined;
    return new Promise((resolve, reject) => {
      const h: Record<string, string> = { ...headers };
      if (jar.size) h.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
      if (body !== undefined) h["content-type"] = "application/x-www-form-urlencoded";
      const done = (res: import("node:http").IncomingMessage) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (text += c));
        res.on("end", () => {
          for (const c of res.headers["set-cookie"] ?? []) {
            const [k, v] = (c.split(";")[0] as string).split("=") as [string, string];
            jar.set(k, v);
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text });
        });
      };
      const req = ca ? request({ host: "127.0.0.1", servername: "localhost", port: port(), path, method, headers: h, ca: ca(), agent: false }, done) : plainRequest({ host: "127.0.0.1", port: port(), path, method, headers: h, agent: false }, done);
      req.on("error", reject);
      req.end(body);
    });
  }
  /** Logs in (the form's CSRF token first); the answer of the POST. */
  async function login(handle: string, password: string): Promise<Answer> {
    const form = await send("GET", "/login");
    return send("POST", "/login", { _csrf: csrfOf(form.body), handle, password });
  }
  return { send, login, jar };
}
