import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import type { Browser } from "playwright-core";
import { simpleGit } from "simple-git";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../lib/base/repo";
import { loadModel } from "../lib/check/build";
import { labPaths } from "../lib/lab/paths";
import type { Model } from "../lib/model/types";
import { hashPassword } from "../lib/portal/credentials";
import { ensurePortalCert } from "../lib/portal/lab-cert";
import { buildPortal } from "../lib/portal/server";
import { fakeGitLabRepo, memberFiles } from "./helpers/fake-gitlab-repo";
import { requireTool } from "./helpers/tools";
import { launchChromium } from "./helpers/chromium";

/**
 * The member portal in a real browser: Debian's chromium driven by playwright-core (no browser
 * download), which trusts the portal's certificate by its key (the SPKI pin of the lab-signed
 * certificate, nothing else ignored). Log in, the dashboard, an alias asked → one MR in the fake
 * GitLab API; an invalid alias → the French message; a cross-site forged form → refused and no
 * MR; five wrong passwords → locked. Screenshots of each page go to out/portal-screenshots/.
 */
const TOKEN = "glpat-portal-browser";
const PASSWORD = "velo-secret-0123456789";
const SHOTS = join(REPO_ROOT, "out", "portal-screenshots");
const tmp = mkdtempSync(join(tmpdir(), "portal-browser-"));
let app: FastifyInstance;
let base = "";
let browser: Browser;
let gitlab: ReturnType<typeof fakeGitLabRepo>;


beforeAll(async () => {
  requireTool("chromium", "chromium");
  requireTool("doveadm", "dovecot-core");
  mkdirSync(SHOTS, { recursive: true });
  gitlab = fakeGitLabRepo(TOKEN, memberFiles());
  await new Promise<void>((r) => gitlab.server.listen(0, "127.0.0.1", r));
  const api = `http://127.0.0.1:${(gitlab.server.address() as AddressInfo).port}/api/v4`;
  const tls = ensurePortalCert(labPaths(tmp));
  const model = loadModel(REPO_ROOT, "lab").model as Model;
  const creds = new Map([
    ["velo-libre", await hashPassword(PASSWORD)],
    ["globenet", await hashPassword("globenet-secret-0123456789")],
  ]);
  app = await buildPortal({ tls, model: () => model, credentials: () => creds, requests: { gitlab: { api, project: "42", token: TOKEN }, target: "main", root: REPO_ROOT, stack: "lab" }, history: { git: simpleGit(REPO_ROOT), ref: "HEAD" } });
  await app.listen({ host: "127.0.0.1", port: 0 });
  base = `https://localhost:${(app.server.address() as AddressInfo).port}`;
  browser = await launchChromium(tls.cert);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await new Promise((r) => gitlab?.server.close(r));
  rmSync(tmp, { recursive: true, force: true });
});

describe("portal in a real browser (chromium)", () => {
  it("log in, see one's sites, ask for an alias → one MR; an invalid alias → French message, no MR", async () => {
    const context = await browser.newContext({ locale: "fr-FR", viewport: { width: 420, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${base}/`);
    expect(page.url()).toBe(`${base}/login`);
    await page.screenshot({ path: join(SHOTS, "1-login.png"), fullPage: true });
    await page.getByLabel("Identifiant (nom du compte)").fill("velo-libre");
    await page.getByLabel("Mot de passe").fill(PASSWORD);
    await page.getByRole("button", { name: "Se connecter" }).click();
    await page.waitForURL(`${base}/m/velo-libre`);
    await expect(page.getByRole("cell", { name: "velo-libre.example", exact: true }).count()).resolves.toBe(1);
    expect(await page.content()).not.toContain("<td>globenet.example</td>");
    await page.screenshot({ path: join(SHOTS, "2-dashboard.png"), fullPage: true });

    await page.getByRole("link", { name: "Demander un alias de courriel" }).click();
    await page.getByLabel("Nom de l'alias (avant le @)").fill("Pas Valide!");
    await page.getByLabel(/Destinataires/).fill("contact");
    await page.getByRole("button", { name: "Envoyer la demande" }).click();
    await expect(page.getByRole("alert").innerText()).resolves.toContain("ne peut contenir que a-z, 0-9");
    await page.screenshot({ path: join(SHOTS, "3-alias-refused.png"), fullPage: true });
    expect(gitlab.mrs).toHaveLength(0);

    await page.getByLabel("Nom de l'alias (avant le @)").fill("benevoles");
    await page.getByLabel(/Destinataires/).fill("contact, tresorier");
    await page.getByRole("button", { name: "Envoyer la demande" }).click();
    await expect(page.getByRole("heading", { name: "Demande envoyée" }).count()).resolves.toBe(1);
    await page.screenshot({ path: join(SHOTS, "4-alias-sent.png"), fullPage: true });
    expect(gitlab.mrs).toHaveLength(1);
    expect(gitlab.mrs[0]?.description).toContain("+      - { local: benevoles, to: [contact, tresorier] }");

    // A mailbox, its password typed in the browser: only Dovecot's hash reaches the MR.
    await page.goto(`${base}/m/velo-libre`);
    await page.getByRole("link", { name: "Demander une boîte de courriel" }).click();
    await page.getByLabel("Nom de la boîte (avant le @)").fill("atelier2");
    await page.getByLabel("Mot de passe de la boîte").fill("pédales et chaînes 2026");
    await page.getByLabel("Le même mot de passe, encore").fill("pédales et chaînes 2026");
    await page.getByRole("button", { name: "Envoyer la demande" }).click();
    await expect(page.getByRole("heading", { name: "Demande envoyée" }).count()).resolves.toBe(1);
    await page.screenshot({ path: join(SHOTS, "4a-mailbox-sent.png"), fullPage: true });
    expect(gitlab.mrs).toHaveLength(2);
    expect(gitlab.mrs[1]?.description).toMatch(/\+ {8}password_hash: "\{ARGON2ID\}\$argon2id\$/);
    expect(gitlab.mrs[1]?.description).not.toContain("pédales et chaînes 2026");
    expect(await page.content()).not.toContain("pédales et chaînes 2026");

    // The request is listed with its state; the history of the member's file has its commits.
    await page.getByRole("link", { name: "Vos demandes" }).click();
    await expect(page.getByRole("cell", { name: "en attente de relecture" }).count()).resolves.toBe(2);
    await page.screenshot({ path: join(SHOTS, "4b-requests.png"), fullPage: true });
    await page.goto(`${base}/m/velo-libre`);
    await page.getByRole("link", { name: "Historique de votre fiche" }).click();
    expect(await page.locator("tbody tr").count()).toBeGreaterThan(0);
    await page.screenshot({ path: join(SHOTS, "4c-history.png"), fullPage: true });

    // Another member's page, by changing the URL.
    const other = await page.goto(`${base}/m/globenet`);
    expect(other?.status()).toBe(403);
    await page.screenshot({ path: join(SHOTS, "5-other-member-403.png"), fullPage: true });

    // A forged form on another site, submitted by the logged-in browser: SameSite=Strict keeps
    // the session cookie home, and there is no CSRF token; no MR either way.
    const evil = await context.newPage();
    await evil.setContent(`<form method="post" action="${base}/m/velo-libre/alias"><input name="domain" value="velo-libre.example"><input name="local" value="pirate"><input name="to" value="pirate@example.net"></form>`);
    await Promise.all([evil.waitForNavigation(), evil.evaluate("document.querySelector('form').submit()")]);
    expect(evil.url()).toMatch(/\/login$|\/m\/velo-libre\/alias$/);
    expect(await evil.content()).not.toContain("Demande envoyée");
    expect(gitlab.mrs).toHaveLength(2);

    await page.goto(`${base}/m/velo-libre`);
    await page.getByRole("button", { name: "Se déconnecter" }).click();
    await page.waitForURL(`${base}/login`);
    expect((await page.goto(`${base}/m/velo-libre`))?.url()).toBe(`${base}/login`);
    await context.close();
  }, 180_000);

  it("five wrong passwords lock the account, in English too", async () => {
    const context = await browser.newContext({ locale: "en-GB" });
    const page = await context.newPage();
    for (let i = 0; i < 5; i++) {
      await page.goto(`${base}/login`);
      await page.getByLabel("Account name").fill("globenet");
      await page.getByLabel("Password").fill(`guess-${i}`);
      await page.getByRole("button", { name: "Log in" }).click();
      await page.waitForLoadState();
    }
    await expect(page.getByRole("alert").innerText()).resolves.toContain("locked for 15 minutes");
    await page.getByLabel("Password").fill("globenet-secret-0123456789");
    await page.getByRole("button", { name: "Log in" }).click();
    await expect(page.getByRole("alert").innerText()).resolves.toContain("locked");
    expect(page.url()).toBe(`${base}/login`);
    await page.screenshot({ path: join(SHOTS, "6-locked.png"), fullPage: true });
    await context.close();
  }, 180_000);
});
