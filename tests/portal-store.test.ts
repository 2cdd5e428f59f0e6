import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../lib/base/repo";
import { loadModel } from "../lib/check/build";
import type { Model } from "../lib/model/types";
import { hashPassword } from "../lib/portal/credentials";
import { Lockout } from "../lib/portal/lockout";
import { buildPortal } from "../lib/portal/server";
import { SESSION_COOKIE, Sessions } from "../lib/portal/sessions";
import { attachStore } from "../lib/portal/store";

/**
 * Sessions and lockouts survive a restart (lib/portal/store.ts): the same store file read by a
 * new portal process keeps a member logged in and a locked name locked; the file is 0600, holds
 * no session id (hashes only) and no expired entry; logout on one side is seen after a restart.
 * Through fastify's inject (no network): the proxied mode prod runs behind Apache.
 */
const tmp = mkdtempSync(join(tmpdir(), "portal-store-"));
const store = join(tmp, "state", "store.json");
const PASSWORD = "velo-secret-0123456789";
let model: Model;
let creds: Map<string, string>;
let clock = Date.parse("2026-12-05T10:00:00Z");
const apps: FastifyInstance[] = [];

const csrfOf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? "";

async function portal(): Promise<FastifyInstance> {
  const app = await buildPortal({ proxied: true, store, model: () => model, credentials: () => creds, now: () => clock });
  apps.push(app);
  return app;
}

/** A browser: one cookie jar. */
function browser(app: () => FastifyInstance) {
  const jar = new Map<string, string>();
  async function send(method: "GET" | "POST", url: string, form?: Record<string, string>) {
    const r = await app().inject({
      method,
      url,
      headers: { ...(jar.size ? { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join("; ") } : {}), ...(form ? { "content-type": "application/x-www-form-urlencoded" } : {}), "x-forwarded-for": "198.51.100.7" },
      ...(form ? { payload: new URLSearchParams(form).toString() } : {}),
    });
    for (const c of ([] as string[]).concat(r.headers["set-cookie"] ?? [])) {
      const [k, v] = (c.split(";")[0] as string).split("=") as [string, string];
      if (v === "") jar.delete(k);
      else jar.set(k, v);
    }
    return r;
  }
  const login = async (handle: string, password: string) => send("POST", "/login", { _csrf: csrfOf((await send("GET", "/login")).body), handle, password });
  return { send, login, jar };
}

beforeAll(async () => {
  model = loadModel(REPO_ROOT, "lab").model as Model;
  creds = new Map([["velo-libre", await hashPassword(PASSWORD)]]);
}, 60_000);

afterAll(async () => {
  for (const a of apps) await a.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe("portal store: sessions and lockouts survive a restart", () => {
  it("a logged-in member stays logged in, a locked name stays locked, a form opened before still posts; the file is 0600 with hashes only", async () => {
    let app = await portal();
    const member = browser(() => app);
    expect((await member.login("velo-libre", PASSWORD)).statusCode).toBe(303);
    const cookie = member.jar.get(SESSION_COOKIE) as string;
    expect((await member.send("GET", "/m/velo-libre")).statusCode).toBe(200);
    // A logout form opened before the restart.
    const logoutToken = csrfOf((await member.send("GET", "/m/velo-libre")).body);
    expect(logoutToken).not.toBe("");
    // The attacker: five wrong passwords for globenet lock it.
    const attacker = browser(() => app);
    for (let i = 0; i < 5; i++) await attacker.login("globenet", `wrong-${i}`);
    expect((await attacker.login("globenet", "wrong-again")).statusCode).toBe(429);

    const text = readFileSync(store, "utf8");
    expect(statSync(store).mode & 0o777).toBe(0o600);
    expect(statSync(join(tmp, "state")).mode & 0o777).toBe(0o700);
    expect(text).not.toContain(cookie);
    expect(text).not.toContain(PASSWORD);
    expect(text).toContain("velo-libre");

    // Restart: a new process on the same file.
    await app.close();
    clock += 60_000;
    app = await portal();
    expect((await member.send("GET", "/m/velo-libre")).statusCode).toBe(200);
    const locked = await browser(() => app).login("globenet", "still-wrong");
    expect(locked.statusCode).toBe(429);
    // A fresh browser without the cookie is not logged in; a forged cookie neither.
    expect((await browser(() => app).send("GET", "/m/velo-libre")).statusCode).toBe(303);
    const forged = browser(() => app);
    forged.jar.set(SESSION_COOKIE, JSON.parse(text).sessions[0].key);
    expect((await forged.send("GET", "/m/velo-libre")).statusCode).toBe(303);
    // The form from before the restart posts (the CSRF key is kept); logout is kept across the next restart.
    expect((await member.send("POST", "/logout", { _csrf: logoutToken })).statusCode).toBe(303);
    await app.close();
    app = await portal();
    member.jar.set(SESSION_COOKIE, cookie);
    expect((await member.send("GET", "/m/velo-libre")).statusCode).toBe(303);
  }, 60_000);

  it("expired sessions and ended locks are left out when the file is read and written", () => {
    const file = join(tmp, "expiry.json");
    const now = 1_000_000_000;
    const s = new Sessions(1000, 5000);
    const l = new Lockout({ maxFailures: 2, windowMs: 1000, lockMs: 2000, maxEntries: 10 });
    const { save } = attachStore(file, s, l, () => now);
    const old = s.create("old", now - 2000);
    const live = s.create("live", now - 100);
    l.failure("locked", now - 10);
    l.failure("locked", now - 5);
    l.failure("stale", now - 5000);
    save();
    const written = JSON.parse(readFileSync(file, "utf8")) as { sessions: { handle: string }[]; lockouts: [string][] };
    expect(written.sessions.map((x) => x.handle)).toEqual(["live"]);
    expect(written.lockouts.map((x) => x[0])).toEqual(["locked"]);
    // Read back two seconds later: the session is idle too long, the lock has ended.
    const s2 = new Sessions(1000, 5000);
    const l2 = new Lockout({ maxFailures: 2, windowMs: 1000, lockMs: 2000, maxEntries: 10 });
    attachStore(file, s2, l2, () => now + 500);
    expect(s2.get(live.id, now + 500)?.handle).toBe("live");
    expect(s2.get(old.id, now + 500)).toBeUndefined();
    expect(l2.lockedFor("locked", now + 500)).toBeGreaterThan(0);
    const s3 = new Sessions(1000, 5000);
    const l3 = new Lockout({ maxFailures: 2, windowMs: 1000, lockMs: 2000, maxEntries: 10 });
    attachStore(file, s3, l3, () => now + 3000);
    expect(s3.size).toBe(0);
    expect(l3.lockedFor("locked", now + 3000)).toBe(0);
    expect(JSON.parse(readFileSync(file, "utf8")).lockouts).toEqual([]);
  });

  it("a torn file starts empty instead of refusing to start; a malformed entry is left out", () => {
    const file = join(tmp, "torn.json");
    writeFileSync(file, '{"version":1,"sessions":[{"key":"x"');
    const s = new Sessions();
    attachStore(file, s, new Lockout(), () => 0);
    expect(s.size).toBe(0);
    writeFileSync(file, JSON.stringify({ version: 1, csrfKey: "", sessions: [{ key: "short", handle: "a", created: 0, seen: 0 }, null], lockouts: [["a", { failures: ["x"] }], 7] }));
    const s2 = new Sessions();
    const l2 = new Lockout();
    attachStore(file, s2, l2, () => 0);
    expect(s2.size).toBe(0);
    expect(l2.snapshot(0)).toEqual([]);
  });
});
