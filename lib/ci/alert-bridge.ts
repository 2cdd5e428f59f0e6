import { createServer, type IncomingMessage, type Server } from "node:http";
import { alertWebhookSchema } from "../schema/alertmanager";
import { alertKey, handleAlert } from "./alert-issues";
import type { GitLab } from "./gitlab";

/** Alertmanager's payloads are small; anything bigger is not Alertmanager. */
export const MAX_BODY_BYTES = 1 << 20;

async function readBody(req: IncomingMessage): Promise<Buffer | "too big"> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY_BYTES) return "too big";
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * The webhook Alertmanager sends to (alertmanager.yml's receiver): POST /alerts with its JSON
 * payload; each alert opens, updates or closes its GitLab issue (lib/ci/alert-issues.ts). It
 * listens on the monitor host's loopback only (Alertmanager is beside it); the GitLab token
 * comes from its environment and is never written out. Alerts are handled one at a time, in
 * order, so a firing and its resolution cannot race.
 */
export function alertBridge(gl: GitLab, log: (line: string) => void = () => {}): Server {
  let queue: Promise<unknown> = Promise.resolve();
  return createServer((req, res) => {
    const answer = (code: number, text: string) => {
      res.writeHead(code, { "Content-Type": "text/plain; charset=utf-8" });
      res.end(`${text}\n`);
    };
    if (req.url !== "/alerts") return answer(404, "POST Alertmanager's payload to /alerts");
    if (req.method !== "POST") return answer(405, "POST only");
    void (async () => {
      const body = await readBody(req);
      if (body === "too big") return answer(413, `payload over ${MAX_BODY_BYTES} bytes`);
      let json: unknown;
      try {
        json = JSON.parse(body.toString("utf8"));
      } catch {
        return answer(400, "not JSON");
      }
      const parsed = alertWebhookSchema.safeParse(json);
      if (!parsed.success) return answer(400, `not an Alertmanager payload: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ").slice(0, 500)}`);
      const work = queue.then(async () => {
        for (const a of parsed.data.alerts) log(`${a.status} ${alertKey(a)}: issue ${await handleAlert(gl, a)}`);
      });
      queue = work.catch(() => undefined);
      try {
        await work;
        answer(200, "ok");
      } catch (e) {
        log(`GitLab refused: ${(e as Error).message}`);
        // 5xx: Alertmanager sends the notification again later.
        answer(502, "GitLab did not take it; Alertmanager will retry");
      }
    })();
  });
}
