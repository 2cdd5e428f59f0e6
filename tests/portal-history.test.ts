import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../lib/base/repo";
import { loadModel } from "../lib/check/build";
import { labPaths } from "../lib/lab/paths";
import type { Model } from "../lib/model/types";
import { hashPassword } from "../lib/portal/credentials";
import { memberHistory } from "../lib/portal/history";
import { words } from "../lib/portal/i18n";
import { ensurePortalCert } from "../lib/portal/lab-cert";
import { buildPortal, historyView, requestsView } from "../lib/portal/server";
import { DataRepo } from "./helpers/data-repo";
import { FAKE_BOT_ID, fakeGitLabRepo, memberFiles } from "./helpers/fake-gitlab-repo";
import { csrfOf, portalClient } from "./helpers/portal-client";

/**
 * The member's file history (the audit's git code on a throwaway data repository) and their
 * requests with their merge-request state (the fake GitLab API), over real HTTPS: each
 * legitimate read next to the attempts to see another member's (another URL, a sibling folder
 * `velo-libre-evil`, a shared commit's subject, a crafted branch name, a volunteer's MR on the
 * member's prefix), in French and English.
 */
const TOKEN = "glpat-portal-bot-token";
const PASSWORD = "velo-secret-0123456789";
const tmp = mkdtempSync(join(tmpdir(), "portal-history-"));
let ca = "";
let app: FastifyInstance;
let port = 0;
let gitlab: ReturnType<typeof fakeGitLabRepo>;
let repo: DataRepo;
const client = portalClient(() => port, () => ca);
const hashes: Record<string, string> = {};
let hashOnce = "";


beforeAll(async () => {
  repo = await new DataRepo("portal-history-repo-").init();
  hashes.seed = await repo.commit("seed", "2026-01-01T10:00:00+01:00", "Example data: every member");
  repo.edit("members/velo-libre/member.yaml", 'php: "8.2"', 'php: "8.3"');
  hashes.php = await repo.commit("alice", "2026-02-01T10:00:00+01:00", `velo-libre : PHP 8.3 <script>alert("x")</script> & 'co' (!12)`);
  repo.write("members/velo-libre-evil/member.yaml", repo.read("members/velo-libre/member.yaml").replace("handle: velo-libre", "handle: velo-libre-evil"));
  hashes.evil = await repo.commit("bob", "2026-03-01T10:00:00+01:00", "velo-libre-evil : SECRET-EVIL-COMMIT");
  repo.edit("members/velo-libre/member.yaml", "name: Association Vélo Libre", "name: Association Vélo Libre (Lyon)");
  repo.edit("members/cine-quartier/member.yaml", "status: active", "status: suspended");
  hashes.shared = await repo.commit("alice", "2026-04-01T10:00:00+02:00", "cine-quartier : SECRET-CINE suspendu pour impayés ; velo-libre : nom");
  const zone = readdirSync(repo.path("zones"))[0] as string;
  repo.write(`zones/${zone}`, `${repo.read(`zones/${zone}`)}\n# a comment\n`);
  hashes.zone = await repo.commit("bob", "2026-05-01T10:00:00+02:00", "zones : SECRET-ZONE-COMMIT");

  gitlab = fakeGitLabRepo(TOKEN, memberFiles());
  await new Promise<void>((r) => gitlab.server.listen(0, "127.0.0.1", r));
  const api = `http://127.0.0.1:${(gitlab.server.address() as AddressInfo).port}/api/v4`;
  const tls = ensurePortalCert(labPaths(tmp));
  ca = readFileSync(tls.caFile, "utf8");
  const model = loadModel(REPO_ROOT, "lab").model as Model;
  hashOnce = await hashPassword(PASSWORD);
  const creds = new Map([["velo-libre", hashOnce]]);
  app = await buildPortal({
    tls,
    model: () => model,
    credentials: () => creds,
    requests: { gitlab: { api, project: "42", token: TOKEN }, target: "main", root: REPO_ROOT, stack: "lab" },
    history: { git: repo.git, ref: "main" },
    projectUrl: "https://gitlab.test/globenet/infra",
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  port = (app.server.address() as AddressInfo).port;
  expect((await client.login("velo-libre", PASSWORD)).status).toBe(303);
}, 120_000);

afterAll(async () => {
  await app?.close();
  await new Promise((r) => gitlab?.server.close(r));
  repo?.remove();
  rmSync(tmp, { recursive: true, force: true });
});

describe("portal: the history of the member's file", () => {
  it("memberHistory: the commits that touched members/velo-libre/ only, newest first; a shared commit's subject is withheld", async () => {
    const h = await memberHistory(repo.git, "main", "velo-libre");
    expect(h.map((e) => e.hash)).toEqual([hashes.shared, hashes.php, hashes.seed]);
    const [shared, php, seed] = h as [(typeof h)[0], (typeof h)[0], (typeof h)[0]];
    // Only velo-libre's folder: the sibling velo-libre-evil and the zone commit are not there.
    expect(JSON.stringify(h)).not.toMatch(/SECRET|velo-libre-evil|cine-quartier/);
    expect(shared.subject).toBeUndefined();
    expect(shared.otherFiles).toBe(1);
    expect(shared.files).toEqual([{ path: "member.yaml", changes: [expect.stringContaining("Association Vélo Libre (Lyon)")] }]);
    expect(php.subject).toBe(`velo-libre : PHP 8.3 <script>alert("x")</script> & 'co' (!12)`);
    expect(php.mergeRequest).toBe("!12");
    expect(php.otherFiles).toBe(0);
    expect(php.author).toBe("Alice Martin");
    expect(php.date).toBe("2026-02-01T10:00:00+01:00");
    expect(php.files[0]?.changes.join(" ")).toContain("8.3");
    expect(seed.subject).toBeUndefined();
    expect(seed.files.map((f) => f.path)).toEqual(["member.yaml", "vps/atelier.yaml"]);
    // The sibling's own history holds its commit, not velo-libre's.
    expect((await memberHistory(repo.git, "main", "velo-libre-evil")).map((e) => e.subject)).toEqual(["velo-libre-evil : SECRET-EVIL-COMMIT"]);
    expect(await memberHistory(repo.git, "main", "velo-libre", 1)).toHaveLength(1);
  });

  it.each(["velo-libre/../cine-quartier", "*", "velo-libre/", ":(glob)**", ""])("a handle that is not one (%j) is refused before git runs", async (bad) => {
    await expect(memberHistory(repo.git, "main", bad)).rejects.toThrow(/is not a member handle/);
  });

  it("legit (FR): the page lists the three entries, escaped, with links to the commits; nothing of another member", async () => {
    const dash = await client.send("GET", "/m/velo-libre");
    expect(dash.body).toContain('href="/m/velo-libre/history"');
    const page = await client.send("GET", "/m/velo-libre/history");
    expect(page.status).toBe(200);
    expect(page.body).toContain("Historique de votre fiche");
    expect(page.body).toContain("velo-libre : PHP 8.3 &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &apos;co&apos; (!12)");
    expect(page.body).not.toContain("<script>");
    expect(page.body).toContain(`<a href="https://gitlab.test/globenet/infra/-/commit/${hashes.php}"><code>${hashes.php?.slice(0, 8)}</code></a>`);
    expect(page.body).toContain("(modification commune avec 1 autre(s) fichier(s) : titre non affiché)");
    expect(page.body).toContain("2026-04-01 10:00");
    expect(page.body).toContain("Alice Martin");
    expect(page.body.match(/<tr><td>2026-/g)).toHaveLength(3);
    expect(page.body).not.toMatch(/SECRET|velo-libre-evil|cine-quartier/);
    expect(page.body).not.toContain(hashes.zone as string);
    expect(page.body).not.toContain(hashes.evil as string);
  });

  it("legit (EN): the same page in English", async () => {
    const page = await client.send("GET", "/m/velo-libre/history", undefined, { "accept-language": "en" });
    expect(page.body).toContain("History of your file");
    expect(page.body).toContain("(change shared with 1 other file(s): title not shown)");
  });

  it("attacks: another member's history, the sibling's, no session → 403 / login, and nothing of theirs", async () => {
    for (const other of ["cine-quartier", "velo-libre-evil", "nobody", "velo-libre%2F..%2Fcine-quartier"]) {
      const r = await client.send("GET", `/m/${other}/history`);
      expect(r.status, other).toBe(403);
      expect(r.body).not.toMatch(/SECRET/);
    }
    const anonymous = portalClient(() => port, () => ca);
    const r = await anonymous.send("GET", "/m/velo-libre/history");
    expect(r.status).toBe(303);
    expect(r.headers.location).toBe("/login");
  });

  it("historyView: a project URL that is not http(s) gives no link", () => {
    const rows = historyView([{ hash: "a".repeat(40), short: "aaaaaaaa", date: "2026-01-01T00:00:00Z", author: "x", otherFiles: 0, subject: "s", files: [] }], words("fr"), "javascript:alert(1)") as { href: string }[];
    expect(rows[0]?.href).toBe("");
  });
});

describe("portal: the member's requests with their merge-request state", () => {
  it("legit: a request made in the form is listed, waiting; merged → accepted (FR/EN); only the member's own", async () => {
    const form = await client.send("GET", "/m/velo-libre/alias");
    const sent = await client.send("POST", "/m/velo-libre/alias", { _csrf: csrfOf(form.body), domain: "velo-libre.example", local: "benevoles", to: "contact" });
    expect(sent.status).toBe(200);
    expect(sent.body).toContain('href="/m/velo-libre/requests"');
    expect(gitlab.mrs).toHaveLength(1);
    const mine = gitlab.mrs[0] as (typeof gitlab.mrs)[0];
    expect(mine.source_branch.startsWith("portal/velo-libre/")).toBe(true);
    // What must not show: another member's request, the sibling's crafted branch, a volunteer's
    // MR on the member's own prefix; and one of the member's, closed, with a hostile title and link.
    const add = (source_branch: string, title: string, author: number, more: Partial<(typeof gitlab.mrs)[0]> = {}) =>
      gitlab.mrs.push({ iid: gitlab.mrs.length + 1, source_branch, target_branch: "main", title, description: "", state: "opened", author: { id: author }, web_url: `https://gitlab.test/globenet/infra/-/merge_requests/${gitlab.mrs.length + 1}`, created_at: "2026-12-01T10:00:00Z", ...more });
    add("portal/globenet/20261201T100000-abcdef", "SECRET-GLOBENET alias", FAKE_BOT_ID);
    add("portal/velo-libre-evil/20261201T100000-abcdef", "SECRET-EVIL-MR", FAKE_BOT_ID);
    add("portal/velo-libre/volunteer", "SECRET-VOLUNTEER", 99);
    add("portalvelo-libre/x", "SECRET-NO-SLASH", FAKE_BOT_ID);
    add("portal/velo-libre/20261201T100000-zzzzzz", `<img src=x onerror=alert(1)>`, FAKE_BOT_ID, { state: "closed", web_url: "javascript:alert(1)" });

    const dash = await client.send("GET", "/m/velo-libre");
    expect(dash.body).toContain('href="/m/velo-libre/requests"');
    const page = await client.send("GET", "/m/velo-libre/requests");
    expect(page.status).toBe(200);
    expect(page.body).toContain("Vos demandes");
    expect(page.body).toContain(`<a href="https://gitlab.test/globenet/infra/-/merge_requests/1">!1 Espace adhérent : velo-libre demande l&apos;alias benevoles@velo-libre.example</a>`);
    expect(page.body).toContain('<td class="mr-opened">en attente de relecture</td>');
    expect(page.body).toContain("!6 &lt;img src=x onerror=alert(1)&gt;</td>");
    expect(page.body).toContain('<td class="mr-closed">refusée (fermée)</td>');
    expect(page.body).not.toContain("javascript:");
    expect(page.body).not.toContain("<img");
    expect(page.body).not.toMatch(/SECRET/);
    expect(page.body.match(/<td class="mr-/g)).toHaveLength(2);
    // The list asked GitLab for the bot's merge requests only (the portal also checks each one's author).
    const list = gitlab.requests.filter((r) => r.method === "GET" && r.path.endsWith("/merge_requests"));
    expect(list.length).toBeGreaterThan(0);
    for (const r of list) expect(new URLSearchParams(r.query).get("author_id")).toBe(String(FAKE_BOT_ID));

    mine.state = "merged";
    const en = await client.send("GET", "/m/velo-libre/requests", undefined, { "accept-language": "en" });
    expect(en.body).toContain("Your requests");
    expect(en.body).toContain('<td class="mr-merged">accepted</td>');
    expect(en.body).toContain('<td class="mr-closed">declined (closed)</td>');
    expect(en.body).not.toMatch(/SECRET/);
  });

  it("attacks: another member's or the sibling's requests page → 403, and GitLab is not even asked", async () => {
    const before = gitlab.requests.length;
    for (const other of ["globenet", "velo-libre-evil"]) expect((await client.send("GET", `/m/${other}/requests`)).status).toBe(403);
    expect(gitlab.requests.length).toBe(before);
  });

  it("GitLab refusing the token: the page says it could not be read (without the token), history still works, and a renewed token works at once", async () => {
    const BAD = "glpat-revoked-0123456789";
    const api = `http://127.0.0.1:${(gitlab.server.address() as AddressInfo).port}/api/v4`;
    const gl = { api, project: "42", token: BAD };
    const broken = await buildPortal({
      tls: ensurePortalCert(labPaths(tmp)),
      model: () => loadModel(REPO_ROOT, "lab").model as Model,
      credentials: () => new Map([["velo-libre", hashOnce]]),
      requests: { gitlab: gl, target: "main", root: REPO_ROOT, stack: "lab" },
      history: { git: repo.git, ref: "main" },
    });
    try {
      await broken.listen({ host: "127.0.0.1", port: 0 });
      const other = portalClient(() => (broken.server.address() as AddressInfo).port, () => ca);
      expect((await other.login("velo-libre", PASSWORD)).status).toBe(303);
      const page = await other.send("GET", "/m/velo-libre/requests");
      expect(page.status).toBe(200);
      expect(page.body).toContain("Lecture impossible pour le moment");
      expect(page.body).toContain("HTTP 401");
      expect(page.body).not.toContain(BAD);
      expect(page.body).not.toContain("Aucune demande.");
      expect((await other.send("GET", "/m/velo-libre/history")).body.match(/<tr><td>2026-/g)).toHaveLength(3);
      // The token renewed: the bot's user is asked again (a failure is not remembered).
      gl.token = TOKEN;
      const again = await other.send("GET", "/m/velo-libre/requests");
      expect(again.body).not.toContain("Lecture impossible");
      expect(again.body).toContain("!1 Espace adhérent : velo-libre");
    } finally {
      await broken.close();
    }
  });

  it("requestsView: states in words, only http(s) links", () => {
    const rows = requestsView([{ iid: 3, title: "t", state: "merged", branch: "portal/velo-libre/x", webUrl: "https://gitlab.test/x" }, { iid: 4, title: "t", state: "opened", branch: "portal/velo-libre/y", webUrl: "data:text/html,x" }], words("fr")) as { stateText: string; href: string }[];
    expect(rows[0]).toMatchObject({ stateText: "acceptée", href: "https://gitlab.test/x" });
    expect(rows[1]).toMatchObject({ stateText: "en attente de relecture", href: "" });
  });
});
