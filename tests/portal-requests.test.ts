import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../lib/base/repo";
import { loadModel } from "../lib/check/build";
import { labPaths } from "../lib/lab/paths";
import type { Model } from "../lib/model/types";
import { hashPassword } from "../lib/portal/credentials";
import { ensurePortalCert } from "../lib/portal/lab-cert";
import { addAlias, RequestRefused } from "../lib/portal/requests";
import { buildPortal } from "../lib/portal/server";
import { fakeGitLabRepo, memberFiles } from "./helpers/fake-gitlab-repo";
import { csrfOf, portalClient } from "./helpers/portal-client";

/**
 * A member asks for a mail alias in the portal (real HTTPS) → a merge request in the fake
 * GitLab API whose branch validates and whose diff adds exactly that alias; an invalid alias
 * → the French message in the form and no merge request; forged forms → 403, nothing sent.
 */
const TOKEN = "glpat-portal-bot-token";
const tmp = mkdtempSync(join(tmpdir(), "portal-req-"));
let ca = "";
let app: FastifyInstance;
let port = 0;
let gitlab: ReturnType<typeof fakeGitLabRepo>;
const PASSWORD = "velo-secret-0123456789";

const { send } = portalClient(() => port, () => ca);


beforeAll(async () => {
  gitlab = fakeGitLabRepo(TOKEN, memberFiles());
  await new Promise<void>((r) => gitlab.server.listen(0, "127.0.0.1", r));
  const api = `http://127.0.0.1:${(gitlab.server.address() as AddressInfo).port}/api/v4`;
  const tls = ensurePortalCert(labPaths(tmp));
  ca = readFileSync(tls.caFile, "utf8");
  const model = loadModel(REPO_ROOT, "lab").model as Model;
  const creds = new Map([["velo-libre", await hashPassword(PASSWORD)]]);
  app = await buildPortal({ tls, model: () => model, credentials: () => creds, requests: { gitlab: { api, project: "42", token: TOKEN }, target: "main", root: REPO_ROOT, stack: "lab" } });
  await app.listen({ host: "127.0.0.1", port: 0 });
  port = (app.server.address() as AddressInfo).port;
  const form = await send("GET", "/login");
  const logged = await send("POST", "/login", { _csrf: csrfOf(form.body), handle: "velo-libre", password: PASSWORD });
  expect(logged.status).toBe(303);
}, 120_000);

afterAll(async () => {
  await app?.close();
  await new Promise((r) => gitlab?.server.close(r));
  rmSync(tmp, { recursive: true, force: true });
});

describe("portal requests become merge requests (fake GitLab API)", () => {
  it("addAlias keeps the file's comments and refuses an existing alias or another domain", () => {
    const text = readFileSync(join(REPO_ROOT, "members/velo-libre/member.yaml"), "utf8");
    const after = addAlias(text, "velo-libre.example", "benevoles", ["contact"]);
    expect(after).toContain("# The board: both mailboxes get it.");
    expect(after).toContain("{ local: benevoles, to: [contact] }");
    expect(() => addAlias(text, "velo-libre.example", "bureau", ["contact"])).toThrow(RequestRefused);
    expect(() => addAlias(text, "globenet.example", "x", ["contact"])).toThrow(/n'est pas un de vos domaines/);
  });

  it("legit: an alias asked in the form → one merge request whose branch validates and whose diff adds exactly that alias", async () => {
    const dash = await send("GET", "/m/velo-libre");
    expect(dash.body).toContain('href="/m/velo-libre/alias"');
    const form = await send("GET", "/m/velo-libre/alias");
    expect(form.status).toBe(200);
    expect(form.body).toContain('<option value="velo-libre.example">');
    const sent = await send("POST", "/m/velo-libre/alias", { _csrf: csrfOf(form.body), domain: "velo-libre.example", local: "benevoles", to: "contact, tresorier" });
    expect(sent.status).toBe(200);
    expect(sent.body).toContain("Demande envoyée");
    expect(gitlab.mrs).toHaveLength(1);
    const mr = gitlab.mrs[0] as (typeof gitlab.mrs)[0];
    expect(mr.target_branch).toBe("main");
    expect(mr.description).toContain("Requested-by: velo-libre");
    expect(mr.description).toContain("Demande de l'adhérent");
    expect(mr.description).toContain("+      - { local: benevoles, to: [contact, tresorier] }");
    expect(gitlab.commits[0]?.message).toContain("Requested-by: velo-libre");
    // Only that member's file changed on the branch.
    const main = gitlab.branches.get("main") as Map<string, string>;
    const branch = gitlab.branches.get(mr.source_branch) as Map<string, string>;
    const changed = [...branch].filter(([f, t]) => main.get(f) !== t).map(([f]) => f);
    expect(changed).toEqual(["members/velo-libre/member.yaml"]);
    const before = parse(main.get(changed[0] as string) as string);
    const after = parse(branch.get(changed[0] as string) as string);
    expect(after.mail[0].aliases).toEqual([...before.mail[0].aliases, { local: "benevoles", to: ["contact", "tresorier"] }]);
    // The branch's data validates with the project's loader and checks.
    const copy = mkdtempSync(join(tmpdir(), "portal-branch-"));
    try {
      for (const part of ["members", "zones", "Pulumi.lab.yaml"]) cpSync(join(REPO_ROOT, part), join(copy, part), { recursive: true });
      for (const [f, t] of branch) writeFileSync(join(copy, f), t);
      const { model, errors } = loadModel(copy, "lab");
      expect(errors).toEqual([]);
      expect(model?.mail.find((d) => d.domain === "velo-libre.example")?.aliases.map((a) => a.local)).toContain("benevoles");
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  it("an invalid alias: the French validation message in the form, and no merge request", async () => {
    const mrsBefore = gitlab.mrs.length;
    const commitsBefore = gitlab.commits.length;
    const form = await send("GET", "/m/velo-libre/alias");
    const refused = await send("POST", "/m/velo-libre/alias", { _csrf: csrfOf(form.body), domain: "velo-libre.example", local: "Bad Alias!", to: "contact" });
    expect(refused.status).toBe(400);
    expect(refused.body).toContain("Demande refusée");
    expect(refused.body).toContain("members/velo-libre/member.yaml:");
    expect(refused.body).toMatch(/aliases\[\d+\]\.local/);
    expect(refused.body).toContain("ne peut contenir que a-z, 0-9");
    expect(refused.body).toContain('value="Bad Alias!"');
    const target = await send("POST", "/m/velo-libre/alias", { _csrf: csrfOf(form.body), domain: "velo-libre.example", local: "ok", to: "not an address@" });
    expect(target.status).toBe(400);
    expect(target.body).toContain("contient une espace");
    expect(gitlab.mrs.length).toBe(mrsBefore);
    expect(gitlab.commits.length).toBe(commitsBefore);
  });

  it("attacks: another member's URL, another member's domain, no CSRF token → refused, nothing sent to GitLab", async () => {
    const before = gitlab.requests.length;
    const form = await send("GET", "/m/velo-libre/alias");
    const token = csrfOf(form.body);
    expect((await send("GET", "/m/globenet/alias")).status).toBe(403);
    expect((await send("POST", "/m/globenet/alias", { _csrf: token, domain: "velo-libre.example", local: "x", to: "contact" })).status).toBe(403);
    expect((await send("POST", "/m/velo-libre/alias", { _csrf: token, domain: "globenet.example", local: "x", to: "contact" })).status).toBe(403);
    expect((await send("POST", "/m/velo-libre/alias", { domain: "velo-libre.example", local: "x", to: "contact" })).status).toBe(403);
    expect(gitlab.requests.length).toBe(before);
  });
});
