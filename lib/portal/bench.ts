import { request } from "node:https";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { simpleGit } from "simple-git";
import type { AddressInfo } from "node:net";
import { labPaths } from "../lab/paths";
import { generatePassword, hashPassword } from "./credentials";
import { ensurePortalCert } from "./lab-cert";
import { liveReader, loadPortalModel } from "./serve";
import { buildPortal, type PortalOptions } from "./server";
import { snapshotJson, takeSnapshot } from "./live";
import { snapshotReader } from "./live-file";
import { onStackHosts } from "../lab/open-stack";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";

/**
 * npm run bench -- portal: how long a member's dashboard takes, over HTTPS on 127.0.0.1 with a
 * real client, from the request to the last byte (issue 23's target: under 1 s). The data only,
 * or with --live the status views' reads of the hosts (the lab must be up).
 */
export interface PortalBench {
  member: string;
  live: boolean;
  loginMs: number;
  pagesMs: number[];
  medianMs: number;
  maxMs: number;
  /** The history page (git log of the member's folder in this checkout), when the root is one. */
  history?: { runs: number; medianMs: number; maxMs: number; entries: number };
  /**
   * With --live, the deployed portal's way too: the runner's snapshot of every active member
   * (lib/portal/live.ts, the portal-live schedule) timed, written to a file, and the same
   * dashboard served from it (`--serve` reads that file, never the hosts).
   */
  snapshot?: { members: number; takeMs: number; bytes: number; failed: string[]; loginMs: number; pagesMs: number[]; medianMs: number; maxMs: number };
}

const spread = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return { medianMs: sorted[Math.floor(sorted.length / 2)] as number, maxMs: sorted[sorted.length - 1] as number };
};

function get(port: number, ca: string, path: string, method = "GET", body?: string, cookie?: string): Promise<{ status: number; body: string; cookies: string[] }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (body) headers["content-type"] = "application/x-www-form-urlencoded";
    if (cookie) headers.cookie = cookie;
    const req = request({ host: "127.0.0.1", servername: "localhost", port, path, method, headers, ca }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text, cookies: (res.headers["set-cookie"] ?? []).map((c) => c.split(";")[0] as string) }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

export async function portalBench(opts: { root: string; stack: string; runs: number; live: boolean; member?: string }): Promise<PortalBench> {
  const model = loadPortalModel(opts.root, opts.stack);
  const member = opts.member ?? (model.members.find((m) => m.handle === "velo-libre") ?? model.members.find((m) => m.status === "active"))?.handle;
  if (!member) throw new Error(`stack ${opts.stack} has no member to show`);
  const password = generatePassword();
  const creds = new Map([[member, await hashPassword(password)]]);
  const tls = ensurePortalCert(labPaths(opts.root));
  const ca = readFileSync(tls.caFile, "utf8");
  const history = existsSync(join(opts.root, ".git")) ? { git: simpleGit(opts.root), ref: "HEAD" } : undefined;
  const serve = async (live: PortalOptions["live"], withHistory: boolean) => {
    const app = await buildPortal({ tls, model: () => model, credentials: () => creds, rateLimit: { max: 100_000, loginMax: 100 }, ...(live ? { live } : {}), ...(history && withHistory ? { history } : {}) });
    await app.listen({ host: "127.0.0.1", port: 0 });
    try {
      return await timePages((app.server.address() as AddressInfo).port, ca, member, password, opts.runs, withHistory && !!history);
    } finally {
      await app.close();
    }
  };
  const first = await serve(opts.live ? liveReader(opts.root, opts.stack, () => model) : undefined, true);
  let snapshot: PortalBench["snapshot"];
  if (opts.live) {
    const t = performance.now();
    const taken = await onStackHosts(opts.root, opts.stack, () => takeSnapshot(opts.root, opts.stack, model));
    const takeMs = performance.now() - t;
    const text = snapshotJson(taken.snapshot, model);
    const dir = mkdtempSync(join(tmpdir(), "globenet-portal-bench-"));
    try {
      const file = join(dir, "live.json");
      writeFileSync(file, text, { mode: 0o600 });
      const served = await serve(snapshotReader(file, opts.stack), false);
      snapshot = { members: Object.keys(taken.snapshot.members).length, takeMs, bytes: Buffer.byteLength(text), failed: taken.failed.map((f) => f.part), loginMs: served.loginMs, pagesMs: served.pagesMs, ...spread(served.pagesMs) };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return { member, live: opts.live, loginMs: first.loginMs, pagesMs: first.pagesMs, ...spread(first.pagesMs), ...(first.history ? { history: first.history } : {}), ...(snapshot ? { snapshot } : {}) };
}

/** Logs in as `member` and times `runs` dashboards (and up to 5 history pages). */
async function timePages(port: number, ca: string, member: string, password: string, runs: number, withHistory: boolean): Promise<{ loginMs: number; pagesMs: number[]; history?: PortalBench["history"] }> {
  const form = await get(port, ca, "/login");
  const csrf = /name="_csrf" value="([^"]+)"/.exec(form.body)?.[1] ?? "";
  const t0 = performance.now();
  const logged = await get(port, ca, "/login", "POST", new URLSearchParams({ _csrf: csrf, handle: member, password }).toString(), form.cookies.join("; "));
  const loginMs = performance.now() - t0;
  if (logged.status !== 303) throw new Error(`login as ${member} answered ${logged.status}`);
  const cookie = [...form.cookies, ...logged.cookies].join("; ");
  const pagesMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const page = await get(port, ca, `/m/${encodeURIComponent(member)}`, "GET", undefined, cookie);
    pagesMs.push(performance.now() - t);
    if (page.status !== 200) throw new Error(`the dashboard answered ${page.status}`);
  }
  if (!withHistory) return { loginMs, pagesMs };
  const times: number[] = [];
  let entries = 0;
  for (let i = 0; i < Math.min(runs, 5); i++) {
    const t = performance.now();
    const page = await get(port, ca, `/m/${encodeURIComponent(member)}/history`, "GET", undefined, cookie);
    times.push(performance.now() - t);
    if (page.status !== 200) throw new Error(`the history page answered ${page.status}`);
    entries = (page.body.match(/<tr><td>/g) ?? []).length;
  }
  return { loginMs, pagesMs, history: { runs: times.length, entries, ...spread(times) } };
}

export function formatPortalBench(r: PortalBench): string {
  const ms = (x: number) => `${Math.round(x)} ms`;
  return [
    `member portal, ${r.member}'s dashboard over HTTPS on 127.0.0.1 (${r.live ? "with the live reads of the hosts" : "the data only; --live reads the hosts"})`,
    `  login (scrypt verify)  ${ms(r.loginMs)}`,
    `  dashboard, ${r.pagesMs.length} runs    median ${ms(r.medianMs)}, max ${ms(r.maxMs)} (target: under 1 s)`,
    ...(r.history ? [`  history page, ${r.history.runs} runs median ${ms(r.history.medianMs)}, max ${ms(r.history.maxMs)} (${r.history.entries} commits of the member's folder)`] : []),
    ...(r.snapshot
      ? [
          `as deployed: the runner's snapshot of ${r.snapshot.members} active member(s) took ${(r.snapshot.takeMs / 1000).toFixed(1)} s (${r.snapshot.bytes} bytes${r.snapshot.failed.length ? `; failed: ${r.snapshot.failed.join(", ")}` : ""}); the portal reads that file`,
          `  dashboard, ${r.snapshot.pagesMs.length} runs    median ${ms(r.snapshot.medianMs)}, max ${ms(r.snapshot.maxMs)} (target: under 1 s)`,
        ]
      : []),
  ].join("\n");
}
