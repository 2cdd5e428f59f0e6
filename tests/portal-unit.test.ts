import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../lib/base/repo";
import { loadModel } from "../lib/check/build";
import type { Model } from "../lib/model/types";
import { generatePassword, hashPassword, issuePassword, NO_ONE, readCredentials, verifyPassword } from "../lib/portal/credentials";
import { escapeView, html, Raw, renderPage } from "../lib/portal/html";
import { pickLang, words } from "../lib/portal/i18n";
import { Lockout } from "../lib/portal/lockout";
import { Sessions } from "../lib/portal/sessions";
import { memberView, modelOf } from "../lib/portal/view";
import { dashboard } from "../lib/portal/server";
import { backupPlan } from "../lib/model/backup";
import { judgeHost } from "../lib/status/backups";
import { memberBackups, memberPlan } from "../lib/portal/backups";

const tmp = mkdtempSync(join(tmpdir(), "portal-unit-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function labModel(): Model {
  const { model, errors } = loadModel(REPO_ROOT, "lab");
  expect(errors).toEqual([]);
  return model as Model;
}

describe("portal: HTML escaping is code (the templates are noEscape)", () => {
  it.each([
    ["<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"],
    [`" onmouseover="x`, "&quot; onmouseover=&quot;x"],
    ["l'école & co", "l&apos;école &amp; co"],
    ["a\u0000b\u001bc", "a\uFFFDb\uFFFDc"],
    ["Vélo", "Vélo"],
  ])("html(%j)", (input, want) => {
    expect(html(input)).toBe(want);
  });

  it("escapes every string of a view, leaves and arrays, but not Raw markup", () => {
    expect(escapeView({ a: "<b>", list: ["<i>", { deep: "'" }], n: 3, ok: true, raw: new Raw("<p>x</p>") })).toEqual({
      a: "&lt;b&gt;",
      list: ["&lt;i&gt;", { deep: "&apos;" }],
      n: 3,
      ok: true,
      raw: "<p>x</p>",
    });
  });

  it("a member's name with markup reaches the dashboard page as text", () => {
    const model = labModel();
    const evil = structuredClone(model);
    const m = evil.members.find((x) => x.handle === "velo-libre");
    if (!m) throw new Error("velo-libre missing from the example data");
    m.name = `<script>alert("x")</script><img src=x onerror='y'>`;
    const view = memberView(evil, "velo-libre");
    if (!view) throw new Error("no view");
    const page = renderPage("dashboard", { ...dashboard(view, words("fr")), w: words("fr") });
    expect(page).not.toContain("<script>");
    expect(page).not.toContain("<img");
    expect(page).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=&apos;y&apos;&gt;");
  });
});

describe("portal: passwords", () => {
  it("scrypt: the right password verifies, a wrong one, a malformed hash and the no-one hash do not", async () => {
    const hash = await hashPassword("correct horse");
    expect(hash).toMatch(/^scrypt\$15\$8\$1\$/);
    expect(await verifyPassword("correct horse", hash)).toBe(true);
    expect(await verifyPassword("correct hors", hash)).toBe(false);
    expect(await verifyPassword("correct horse", hash.replace(/\$15\$/, "$99$"))).toBe(false);
    expect(await verifyPassword("correct horse", "plain")).toBe(false);
    expect(await verifyPassword("", NO_ONE)).toBe(false);
    expect(await hashPassword("correct horse")).not.toBe(hash); // salted
  });

  it("generated passwords are 20 characters without look-alikes, and differ", () => {
    const a = generatePassword();
    expect(a).toMatch(/^[a-km-zA-HJ-NP-Z2-9]{20}$/);
    expect(a).not.toMatch(/[lIO01o]/);
    expect(new Set(Array.from({ length: 50 }, generatePassword)).size).toBe(50);
  });

  it("issuing keeps only the hash, in a 0600 file; a second issue replaces it", async () => {
    const file = join(tmp, "portal", "credentials.json");
    const p1 = await issuePassword(file, "velo-libre");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const h1 = readCredentials(file).get("velo-libre") as string;
    expect(h1).not.toContain(p1);
    expect(await verifyPassword(p1, h1)).toBe(true);
    const p2 = await issuePassword(file, "velo-libre");
    const h2 = readCredentials(file).get("velo-libre") as string;
    expect(await verifyPassword(p1, h2)).toBe(false);
    expect(await verifyPassword(p2, h2)).toBe(true);
  });
});

describe("portal: lockout per name", () => {
  const policy = { maxFailures: 5, windowMs: 15 * 60_000, lockMs: 15 * 60_000, maxEntries: 3 };
  it("five failures in the window lock the name for lockMs; others are untouched", () => {
    const l = new Lockout(policy);
    for (let i = 0; i < 4; i++) expect(l.failure("a", i * 1000)).toBe(0);
    expect(l.lockedFor("a", 4000)).toBe(0);
    expect(l.failure("a", 5000)).toBe(15 * 60_000);
    expect(l.lockedFor("a", 6000)).toBe(15 * 60_000 - 1000);
    expect(l.lockedFor("b", 6000)).toBe(0);
    expect(l.lockedFor("a", 5000 + 15 * 60_000)).toBe(0);
  });
  it("failures older than the window do not count; a success resets", () => {
    const l = new Lockout(policy);
    for (let i = 0; i < 4; i++) l.failure("a", i);
    expect(l.failure("a", 16 * 60_000)).toBe(0);
    for (let i = 0; i < 3; i++) l.failure("b", i);
    l.success("b");
    for (let i = 0; i < 4; i++) expect(l.failure("b", 10 + i)).toBe(0);
  });
  it("remembers at most maxEntries names", () => {
    const l = new Lockout(policy);
    for (const n of ["a", "b", "c", "d"]) l.failure(n, 0);
    for (let i = 0; i < 4; i++) l.failure("a", 1 + i);
    // "a" was dropped when "d" came, so its count started again.
    expect(l.lockedFor("a", 10)).toBe(0);
  });
});

describe("portal: sessions", () => {
  it("ids are random, expire when idle or too old, and logout deletes them", () => {
    const s = new Sessions(1000, 5000);
    const a = s.create("velo-libre", 0);
    expect(a.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(s.create("velo-libre", 0).id).not.toBe(a.id);
    expect(s.get(a.id, 900)?.handle).toBe("velo-libre");
    expect(s.get(a.id, 1800)?.handle).toBe("velo-libre");
    expect(s.get(a.id, 2900)).toBeUndefined();
    const b = s.create("x", 0);
    for (let t = 900; t < 5000; t += 900) expect(s.get(b.id, t)).toBeDefined();
    expect(s.get(b.id, 5400)).toBeUndefined();
    const c = s.create("x", 0);
    s.delete(c.id);
    expect(s.get(c.id, 1)).toBeUndefined();
    expect(s.get(undefined, 1)).toBeUndefined();
  });
});

describe("portal: language", () => {
  it.each([
    [undefined, undefined, "fr"],
    [undefined, "en-GB,en;q=0.9", "en"],
    [undefined, "de-DE,en;q=0.5,fr;q=0.8", "fr"],
    [undefined, "fr;q=0, en", "en"],
    [undefined, "de", "fr"],
    ["en", "fr", "en"],
    ["xx", "en", "en"],
  ])("cookie %j, Accept-Language %j → %s", (cookie, accept, want) => {
    expect(pickLang(cookie, accept)).toBe(want);
  });
  it("every word has both languages", () => {
    const fr = words("fr");
    const en = words("en");
    expect(Object.keys(fr)).toEqual(Object.keys(en));
    for (const k of Object.keys(fr) as (keyof typeof fr)[]) expect(fr[k].length * en[k].length).toBeGreaterThan(0);
  });
});

describe("portal: what a member sees", () => {
  it("velo-libre's view holds its own sites, databases, mailboxes and VPS, none of another member's", () => {
    const model = labModel();
    const v = memberView(model, "velo-libre");
    if (!v) throw new Error("no view");
    expect(v.sites.map((s) => s.host)).toEqual(model.sites.filter((s) => s.handle === "velo-libre").map((s) => s.host));
    expect(v.sites.map((s) => s.host)).toContain("velo-libre.example");
    expect(v.databases.length).toBeGreaterThan(0);
    for (const d of v.databases) expect(d.credentials).toBe(`~/.my.cnf.d/${d.name}.cnf`);
    expect(v.mailboxes.length).toBeGreaterThan(0);
    for (const b of v.mailboxes) expect(b.address.endsWith("@velo-libre.example")).toBe(true);
    expect(v.vps.map((x) => x.name)).toEqual(model.vps.filter((x) => x.handle === "velo-libre").map((x) => x.name));
    const others = new Set([...model.sites.filter((s) => s.handle !== "velo-libre").map((s) => s.host), ...model.databases.filter((d) => d.handle !== "velo-libre").map((d) => d.name)]);
    const text = JSON.stringify(v);
    for (const o of others) expect(text).not.toContain(`"${o}"`);
    expect(memberView(model, "nobody")).toBeUndefined();
  });
  it("modelOf keeps only one member's objects (what the live reads get)", () => {
    const model = labModel();
    const mine = modelOf(model, "globenet");
    expect(mine.members.map((m) => m.handle)).toEqual(["globenet"]);
    for (const list of [mine.sites, mine.databases, mine.vps, mine.mail]) for (const x of list) expect(x.handle).toBe("globenet");
    expect(mine.sites.length).toBe(model.sites.filter((s) => s.handle === "globenet").length);
  });
  it("live figures join the view: certificate dates, sizes, and a read error shown as such", () => {
    const model = labModel();
    const notAfter = new Date("2027-01-31T00:00:00Z");
    const v = memberView(model, "velo-libre", {
      certs: [{ site: "velo-libre.example", host: "web1", names: [], cert: { issuer: "Pebble", names: [], notAfter, daysLeft: 42 }, missing: [], extra: [], state: "ok" }],
      usage: { handle: "velo-libre", homeBytes: 2 * 1024 * 1024, homeMissing: false, quotaMb: 1024, inodeQuota: 100000, quotaEnforced: false, databases: [] },
      error: "web1 unreachable",
    });
    if (!v) throw new Error("no view");
    const d = dashboard(v, words("en")) as { sites: { host: string; cert: string }[]; usage: string; liveError: string };
    expect(d.sites.find((s) => s.host === "velo-libre.example")?.cert).toBe("valid until 2027-01-31 (42 days)");
    expect(d.usage).toContain("(not enforced)");
    expect(d.liveError).toBe("The live figures could not be read: web1 unreachable");
  });
});

describe("portal: last backup per object (the status view's judgement, the member's sources only)", () => {
  const now = new Date("2026-12-05T12:00:00Z");
  // hv1's status file as globenet-backup writes it: velo-libre's lines next to other members'
  // and the host's shared ones.
  const status = [
    "home--velo-libre result=ok last_ok=2026-12-05T03:00:00Z last_run=2026-12-05T03:00:00Z duration=12 size=1000",
    "database--velo_wp result=failed last_ok=2026-12-01T03:00:00Z last_run=2026-12-05T03:00:00Z",
    "home--globenet result=ok last_ok=2026-12-05T03:00:00Z last_run=2026-12-05T03:00:00Z",
    "database--globenet_spip result=ok last_ok=2026-12-05T03:00:00Z last_run=2026-12-05T03:00:00Z",
    "vps-disk--ondes-libres--stream result=ok last_ok=2026-12-05T03:00:00Z last_run=2026-12-05T03:00:00Z",
    "path--vmail result=ok last_ok=2026-12-05T03:00:00Z last_run=2026-12-05T03:00:00Z",
    "run result=ok last_ok=2026-12-05T03:00:00Z last_run=2026-12-05T03:00:00Z",
  ].join("\n");

  it("memberPlan keeps the member's home, databases and VPS disks, none of another member's nor the shared paths", () => {
    const model = labModel();
    const full = backupPlan(model);
    if (!full) throw new Error("the lab has no backup plan");
    const mine = memberPlan(full, "velo-libre");
    const names = mine.hosts.flatMap((h) => h.sources.map((x) => `${x.kind}--${x.name}`));
    expect(names.sort()).toEqual(["database--velo_wp", "home--velo-libre", "vps-disk--velo-libre--atelier"]);
    expect(memberPlan(full, "nobody").hosts).toEqual([]);
  });

  it("each object gets its last good backup and state as status -- backups judges it; another member's lines are not read into the view", () => {
    const model = labModel();
    const plan = memberPlan(backupPlan(modelOf(model, "velo-libre")) as NonNullable<ReturnType<typeof backupPlan>>, "velo-libre");
    const rows = judgeHost(plan, "hv1", status, now);
    const mine = memberBackups(plan, "velo-libre", rows);
    expect(mine.map((b) => [b.kind, b.name, b.state, b.lastOk?.toISOString()])).toEqual([
      ["database", "velo_wp", "failed", "2026-12-01T03:00:00.000Z"],
      ["home", "velo-libre", "ok", "2026-12-05T03:00:00.000Z"],
      ["vps-disk", "velo-libre--atelier", "never", undefined],
    ]);
    const view = memberView(model, "velo-libre", { backups: mine });
    if (!view) throw new Error("no view");
    const fr = renderPage("dashboard", { ...dashboard(view, words("fr")), w: words("fr") });
    expect(fr).toContain("<td>Votre dossier (sites, fichiers)</td><td>2026-12-05 03:00 UTC</td><td class=\"backup-ok\">à jour</td>");
    expect(fr).toContain("<td>Base velo_wp</td><td>2026-12-01 03:00 UTC</td><td class=\"backup-failed\">la dernière a échoué : les bénévoles sont prévenus</td>");
    expect(fr).toContain("<td>Disque du VPS atelier</td><td>—</td><td class=\"backup-never\">pas encore faite</td>");
    expect(fr).not.toMatch(/globenet_spip|ondes-libres|vmail/);
    const en = renderPage("dashboard", { ...dashboard(view, words("en")), w: words("en") });
    expect(en).toContain("<td>Database velo_wp</td>");
    expect(en).toContain("the last one failed: the volunteers are told");
    // Without the live reads, no backup section at all (the data alone cannot say).
    const dataOnly = memberView(model, "velo-libre");
    expect(renderPage("dashboard", { ...dashboard(dataOnly as NonNullable<typeof dataOnly>, words("fr")), w: words("fr") })).not.toContain("Sauvegardes");
  });

  it("a host that could not be read: the member's objects say so, not a stale 'never'", () => {
    const model = labModel();
    const plan = memberPlan(backupPlan(modelOf(model, "velo-libre")) as NonNullable<ReturnType<typeof backupPlan>>, "velo-libre");
    const rows = [{ host: "hv1", id: "run", kind: "run", name: "hv1", result: "unreachable: ssh: connect to host", state: "failed" as const }];
    expect(memberBackups(plan, "velo-libre", rows).map((b) => b.state)).toEqual(["unread", "unread", "unread"]);
  });
});
