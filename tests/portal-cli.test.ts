import { spawn, type ChildProcess } from "node:child_process";
import { request } from "node:https";
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../lib/base/repo";
import { cli } from "./helpers/cli";

/**
 * `npm run portal` as a volunteer starts it: the real command (tsx lib/cli/main.ts portal) on a
 * copy of the data, its URL printed, HTTPS with the lab CA, a password issued for each member
 * in a 0600 file, a member logging in with it; `--issue` replacing one password.
 */
const root = mkdtempSync(join(tmpdir(), "portal-cli-"));
for (const part of ["members", "zones", "Pulumi.lab.yaml"]) cpSync(join(REPO_ROOT, part), join(root, part), { recursive: true });
let child: ChildProcess | undefined;

afterAll(() => {
  child?.kill("SIGTERM");
  rmSync(root, { recursive: true, force: true });
});

function httpsReq(url: URL, ca: string, method = "GET", body?: string, cookie?: string): Promise<{ status: number; body: string; cookies: string[]; location?: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (body) headers["content-type"] = "application/x-www-form-urlencoded";
    if (cookie) headers.cookie = cookie;
    const req = request(url, { method, ca, headers, agent: false }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text, cookies: (res.headers["set-cookie"] ?? []).map((c) => c.split(";")[0] as string), location: res.headers.location }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("npm run portal", () => {
  it("starts on HTTPS with the lab CA, prints its URL, issues passwords (0600) a member logs in with", async () => {
    child = spawn(process.execPath, [join(REPO_ROOT, "node_modules/tsx/dist/cli.mjs"), join(REPO_ROOT, "lib/cli/main.ts"), "portal", "--root", root, "--port", "0"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
    const started = Date.now();
    while (!/Ctrl-C/.test(out) && Date.now() - started < 150_000) await new Promise((r) => setTimeout(r, 200));
    const url = /portal for stack lab: (https:\/\/localhost:\d+\/)/.exec(out)?.[1];
    expect(url, out).toBeDefined();
    expect(out).toContain("requests: off");
    const caFile = join(root, ".lab", "portal", "ca", "ca.pem");
    expect(out).toContain(`--cacert ${caFile}`);
    const passwords = join(root, ".lab", "portal", "passwords.txt");
    expect(statSync(passwords).mode & 0o777).toBe(0o600);
    expect(statSync(join(root, ".lab", "portal", "credentials.json")).mode & 0o777).toBe(0o600);
    const line = readFileSync(passwords, "utf8").split("\n").find((l) => l.startsWith("velo-libre "));
    const password = line?.split(" ")[1] as string;
    expect(password).toMatch(/^\S{20}$/);
    expect(readFileSync(join(root, ".lab", "portal", "credentials.json"), "utf8")).not.toContain(password);
    const ca = readFileSync(caFile, "utf8");
    const base = new URL(url as string);
    const form = await httpsReq(new URL("/login", base), ca);
    expect(form.status).toBe(200);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(form.body)?.[1] as string;
    const logged = await httpsReq(new URL("/login", base), ca, "POST", new URLSearchParams({ _csrf: csrf, handle: "velo-libre", password }).toString(), form.cookies.join("; "));
    expect(logged.status).toBe(303);
    expect(logged.location).toBe("/m/velo-libre");
    const page = await httpsReq(new URL("/m/velo-libre", base), ca, "GET", undefined, [...form.cookies, ...logged.cookies].join("; "));
    expect(page.status).toBe(200);
    expect(page.body).toContain("velo-libre.example");

    // --issue: a new password, printed once; the old one no longer opens.
    const issued = await cli(["portal", "--root", root, "--issue", "velo-libre"]);
    expect(issued.status).toBe(0);
    const fresh = issued.stdout.trim().split("\n").pop() as string;
    expect(fresh).toMatch(/^\S{20}$/);
    expect(fresh).not.toBe(password);
    const form2 = await httpsReq(new URL("/login", base), ca);
    const csrf2 = /name="_csrf" value="([^"]+)"/.exec(form2.body)?.[1] as string;
    const old = await httpsReq(new URL("/login", base), ca, "POST", new URLSearchParams({ _csrf: csrf2, handle: "velo-libre", password }).toString(), form2.cookies.join("; "));
    expect(old.status).toBe(401);
    const now = await httpsReq(new URL("/login", base), ca, "POST", new URLSearchParams({ _csrf: csrf2, handle: "velo-libre", password: fresh }).toString(), form2.cookies.join("; "));
    expect(now.status).toBe(303);
    expect((await cli(["portal", "--root", root, "--issue", "nobody"])).status).toBe(2);
  }, 240_000);
});

describe("npm run bench -- portal", () => {
  it("times a member's dashboard over HTTPS and says it against the 1 s target", async () => {
    const r = await cli(["bench", "portal", "--runs", "3", "--stack", "lab"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/velo-libre's dashboard over HTTPS/);
    expect(r.stdout).toMatch(/dashboard, 3 runs +median \d+ ms, max \d+ ms \(target: under 1 s\)/);
    // This checkout is a git repository: the history page is timed too, with velo-libre's commits.
    expect(r.stdout).toMatch(/history page, 3 runs median \d+ ms, max \d+ ms \([1-9]\d* commits of the member's folder\)/);
    expect((await cli(["bench", "portal", "--runs", "0"])).status).toBe(2);
  }, 120_000);
});
