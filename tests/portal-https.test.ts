import { request } from "node:https";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../lib/base/repo";
import { loadModel } from "../lib/check/build";
import { labPaths } from "../lib/lab/paths";
import type { Model } from "../lib/model/types";
import { hashPassword } from "../lib/portal/credentials";
import { ensurePortalCert } from "../lib/portal/lab-cert";
import { buildPortal } from "../lib/portal/server";

/**
 * The member portal over real HTTPS on 127.0.0.1 (node's https client, trusting only the lab
 * CA the portal's certificate comes from): each attack performed next to the legitimate use.
 */

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

const tmp = mkdtempSync(join(tmpdir(), "portal-https-"));
let ca = "";
let apps: FastifyInstance[] = [];

function get(port: number, path: string, opts: { cookies?: Jar; headers?: Record<string, string>; caOverride?: string | null } = {}): Promise<Answer> {
  return send(port, "GET", path, undefined, opts);
}

function post(port: number, path: string, form: Record<string, string>, opts: { cookies?: Jar; headers?: Record<string, string> } = {}): Promise<Answer> {
  return send(port, "POST", path, new URLSearchParams(form).toString(), opts);
}

function send(port: number, method: string, path: string, body: string | undefined, opts: { cookies?: Jar; headers?: Record<string, string>; caOverride?: string | null }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.cookies?.size) headers.cookie = [...opts.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
    if (body !== undefined) headers["content-type"] = "application/x-www-form-urlencoded";
    const req = request(
      { host: "127.0.0.1", servername: "localhost", port, path, method, headers, agent: false, ...(opts.caOverride === null ? {} : { ca: opts.caOverride ?? ca }) },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (text += c));
        res.on("end", () => {
          opts.cookies?.take(res.headers["set-cookie"]);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text });
        });
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** A browser's cookie jar, enough for the portal: name=value, deleted by an expired Set-Cookie. */
class Jar extends Map<string, string> {
  take(setCookie: string[] | undefined): void {
    for (const c of setCookie ?? []) {
      const [pair] = c.split(";");
      const [k, v] = (pair as string).split("=") as [string, string];
      if (/expires=Thu, 01 Jan 1970/i.test(c) || v === "") this.delete(k);
      else this.set(k, v);
    }
  }
}

const csrfOf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? "";

let model: Model;
let clock = Date.parse("2026-12-05T10:00:00Z");
let port = 0;
let strictPort = 0;
const PASSWORDS = { "velo-libre": "velo-secret-0123456789", globenet: "globenet-secret-0123456789" };

async function start(loginMax: number): Promise<number> {
  const tls = ensurePortalCert(labPaths(tmp));
  ca = readFileSync(tls.caFile, "utf8");
  const creds = new Map([
    ["velo-libre", await hashPassword(PASSWORDS["velo-libre"])],
    ["globenet", await hashPassword(PASSWORDS.globenet)],
  ]);
  const app = await buildPortal({ tls, model: () => model, credentials: () => creds, now: () => clock, rateLimit: { max: 1000, loginMax } });
  await app.listen({ host: "127.0.0.1", port: 0 });
  apps.push(app);
  const a = app.server.address();
  return typeof a === "object" && a ? a.port : 0;
}

async function login(handle: keyof typeof PASSWORDS, jar = new Jar()): Promise<{ jar: Jar; answer: Answer }> {
  const form = await get(port, "/login", { cookies: jar });
  const answer = await post(port, "/login", { _csrf: csrfOf(form.body), handle, password: PASSWORDS[handle] }, { cookies: jar });
  return { jar, answer };
}

beforeAll(async () => {
  const loaded = loadModel(REPO_ROOT, "lab");
  model = loaded.model as Model;
  const velo = model.members.find((m) => m.handle === "velo-libre");
  if (!velo) throw new Error("velo-libre missing from the example data");
  velo.name = `Vélo <script>alert("pwned")</script>' onload='x`;
  port = await start(1000);
  strictPort = await start(3);
}, 120_000);

afterAll(async () => {
  for (const a of apps) await a.close();
  apps = [];
  rmSync(tmp, { recursive: true, force: true });
});

describe("portal over HTTPS (lab CA)", () => {
  it("serves TLS with the lab CA's certificate for localhost; a client without that CA refuses it", async () => {
    const ok = await get(port, "/login");
    expect(ok.status).toBe(200);
    await expect(get(port, "/login", { caOverride: null })).rejects.toThrow(/self[- ]signed|unable to (get|verify)/i);
  });

  it("legit: log in, see one's own sites, databases, mailboxes; secure cookies and headers", async () => {
    const { jar, answer } = await login("velo-libre");
    expect(answer.status).toBe(303);
    expect(answer.headers.location).toBe("/m/velo-libre");
    const cookies = (answer.headers["set-cookie"] ?? []) as string[];
    const session = cookies.find((c) => c.startsWith("__Host-globenet-portal="));
    expect(session).toBeDefined();
    expect(session).toMatch(/; HttpOnly/);
    expect(session).toMatch(/; Secure/);
    expect(session).toMatch(/; SameSite=Strict/);
    expect(session).toMatch(/; Path=\//);
    const page = await get(port, "/m/velo-libre", { cookies: jar });
    expect(page.status).toBe(200);
    expect(page.headers["content-security-policy"]).toContain("default-src 'none'");
    expect(page.headers["cache-control"]).toBe("no-store");
    for (const s of model.sites.filter((x) => x.handle === "velo-libre")) expect(page.body).toContain(s.host);
    for (const d of model.databases.filter((x) => x.handle === "velo-libre")) expect(page.body).toContain(`~/.my.cnf.d/${d.name}.cnf`);
    expect(page.body).toMatch(/@velo-libre\.example/);
    // Nothing of another member.
    for (const s of model.sites.filter((x) => x.handle !== "velo-libre")) expect(page.body).not.toContain(`<td>${s.host}</td>`);
    expect(page.body).not.toContain("globenet_spip");
  });

  it("attack: HTML in member data is escaped (a name holding <script> and quotes)", async () => {
    const { jar } = await login("velo-libre");
    const page = await get(port, "/m/velo-libre", { cookies: jar });
    expect(page.body).not.toContain("<script>");
    expect(page.body).not.toContain("' onload='");
    expect(page.body).toContain("Vélo &lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;&apos; onload=&apos;x");
    // and what the visitor types, echoed in the login form
    const visitor = new Jar();
    const form = await get(port, "/login", { cookies: visitor });
    const back = await post(port, "/login", { _csrf: csrfOf(form.body), handle: `"><script>x</script>`, password: "x" }, { cookies: visitor });
    expect(back.status).toBe(401);
    expect(back.body).not.toContain("<script>x");
    expect(back.body).toContain('value="&quot;&gt;&lt;script&gt;x&lt;/script&gt;"');
  });

  it("attack: another member's page (IDOR) is refused with 403, existing or not; without a session, the login page", async () => {
    const { jar } = await login("velo-libre");
    for (const other of ["globenet", "jardins-partages", "nobody", "..%2Fglobenet", "VELO-LIBRE"]) {
      const a = await get(port, `/m/${other}`, { cookies: jar });
      expect(a.status, other).toBe(403);
      expect(a.body).not.toContain("globenet.example</td>");
    }
    expect((await get(port, "/m/velo-libre", { cookies: jar })).status).toBe(200);
    const anon = await get(port, "/m/velo-libre");
    expect(anon.status).toBe(303);
    expect(anon.headers.location).toBe("/login");
    const forged = new Jar([["__Host-globenet-portal", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"]]);
    expect((await get(port, "/m/velo-libre", { cookies: forged })).status).toBe(303);
  });

  it("attack: POSTs without the CSRF token, or with another session's, are refused; the legit logout works", async () => {
    const form = await get(port, "/login");
    const jar = new Jar();
    jar.take(form.headers["set-cookie"] as string[]);
    const noToken = await post(port, "/login", { handle: "velo-libre", password: PASSWORDS["velo-libre"] }, { cookies: jar });
    expect(noToken.status).toBe(403);
    expect(noToken.headers["set-cookie"] ?? []).not.toEqual(expect.arrayContaining([expect.stringMatching(/^__Host-globenet-portal=./)]));
    const noCookie = await post(port, "/login", { _csrf: csrfOf(form.body), handle: "velo-libre", password: PASSWORDS["velo-libre"] });
    expect(noCookie.status).toBe(403);

    const a = await login("velo-libre");
    const b = await login("globenet");
    const tokenA = csrfOf((await get(port, "/m/velo-libre", { cookies: a.jar })).body);
    const tokenB = csrfOf((await get(port, "/m/globenet", { cookies: b.jar })).body);
    expect((await post(port, "/logout", {}, { cookies: a.jar })).status).toBe(403);
    expect((await post(port, "/logout", { _csrf: tokenB }, { cookies: a.jar })).status).toBe(403);
    expect((await get(port, "/m/velo-libre", { cookies: a.jar })).status).toBe(200);
    const copied = new Jar(a.jar);
    const out = await post(port, "/logout", { _csrf: tokenA }, { cookies: a.jar });
    expect(out.status).toBe(303);
    expect(out.headers.location).toBe("/login");
    // The session is gone on the server: a copy of the old cookie is worth nothing.
    expect((await get(port, "/m/velo-libre", { cookies: copied })).status).toBe(303);
  });

  it("attack: five wrong passwords lock the name, even for the right password, while another member logs in; it opens again after 15 minutes", async () => {
    const jar = new Jar();
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const form = await get(port, "/login", { cookies: jar });
      const a = await post(port, "/login", { _csrf: csrfOf(form.body), handle: "globenet", password: `guess-${i}` }, { cookies: jar });
      statuses.push(a.status);
      if (i === 0) expect(a.body).toContain("Identifiant ou mot de passe incorrect.");
    }
    expect(statuses).toEqual([401, 401, 401, 401, 429]);
    const locked = await login("globenet");
    expect(locked.answer.status).toBe(429);
    expect(locked.answer.body).toContain("bloqué pendant 15 minutes");
    expect(locked.answer.headers["set-cookie"] ?? []).not.toEqual(expect.arrayContaining([expect.stringMatching(/^__Host-globenet-portal=./)]));
    expect((await login("velo-libre")).answer.status).toBe(303);
    clock += 16 * 60_000;
    expect((await login("globenet")).answer.status).toBe(303);
  });

  it("attack: an address posting the login form too often gets 429 (rate limit), whatever the names", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const jar = new Jar();
      const form = await get(strictPort, "/login", { cookies: jar });
      statuses.push((await post(strictPort, "/login", { _csrf: csrfOf(form.body), handle: `name${i}`, password: "x" }, { cookies: jar })).status);
    }
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
  });

  it("French by default, English by Accept-Language or the switch (a link, no JavaScript)", async () => {
    expect((await get(port, "/login")).body).toContain('<html lang="fr">');
    const en = await get(port, "/login", { headers: { "accept-language": "en-GB,en;q=0.8" } });
    expect(en.body).toContain('<html lang="en">');
    expect(en.body).toContain("Account name");
    const jar = new Jar();
    const sw = await get(port, "/lang/en", { cookies: jar });
    expect(sw.status).toBe(303);
    const after = await get(port, "/login", { cookies: jar });
    expect(after.body).toContain("Log in");
    expect(after.body).toContain('<label for="password">Password</label>');
  });
});
