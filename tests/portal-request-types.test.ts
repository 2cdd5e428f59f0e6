import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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
import { ensurePortalCert } from "../lib/portal/lab-cert";
import { hashMailPassword, verifyMailPassword } from "../lib/portal/mail-password";
import { REQUEST_TYPES } from "../lib/portal/request-types";
import { buildPortal } from "../lib/portal/server";
import { fakeGitLabRepo, memberFiles } from "./helpers/fake-gitlab-repo";
import { csrfOf, portalClient } from "./helpers/portal-client";
import { requireTool } from "./helpers/tools";

/**
 * Every request a member can make in the portal (lib/portal/request-types.ts), over real HTTPS
 * against a fake GitLab API: valid → exactly one merge request whose branch validates and whose
 * diff is exactly the change (or, for a restart or a restore, exactly one issue with the
 * command and no commit); invalid → the French message in the form, nothing sent; a form or a
 * posted choice naming another member's object → 403 with GitLab not asked. Then the mailbox
 * login: a member logs in with a mailbox and its password (checked by doveadm against the hash
 * in the data); another member's mailbox reaches only that member's pages.
 */
const TOKEN = "glpat-portal-bot-token";
const tmp = mkdtempSync(join(tmpdir(), "portal-types-"));
let ca = "";
let app: FastifyInstance;
let port = 0;
let gitlab: ReturnType<typeof fakeGitLabRepo>;
let model: Model;
const PASSWORD = "velo-secret-0123456789";
const MAILBOX_PASSWORD = "une phrase de passe du tresorier";
const OTHER_MAILBOX_PASSWORD = "la boite du cinema de quartier";
const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILhL+iQEIR82xSa+H9wl0efV2wpxN5c8lA7fqFK9utZ3 benevole@atelier";

const member = portalClient(() => port, () => ca);
const send = member.send;

beforeAll(async () => {
  requireTool("doveadm", "dovecot-core");
  gitlab = fakeGitLabRepo(TOKEN, new Map([...memberFiles(), ...["velo-libre/vps/atelier.yaml", "ondes-libres/vps/stream.yaml"].map((f) => [`members/${f}`, readFileSync(join(REPO_ROOT, "members", f), "utf8")] as [string, string])]));
  await new Promise<void>((r) => gitlab.server.listen(0, "127.0.0.1", r));
  const api = `http://127.0.0.1:${(gitlab.server.address() as AddressInfo).port}/api/v4`;
  const tls = ensurePortalCert(labPaths(tmp));
  ca = readFileSync(tls.caFile, "utf8");
  model = loadModel(REPO_ROOT, "lab").model as Model;
  // The data's mailbox hashes are of passwords nobody here knows: velo-libre's tresorier gets a
  // hash of a known one, and cine-quartier a mail domain with one mailbox, in this test's model.
  const tresorier = model.mail.find((d) => d.handle === "velo-libre")?.mailboxes.find((b) => b.local === "tresorier");
  if (!tresorier) throw new Error("velo-libre's tresorier mailbox is gone from the data");
  tresorier.passwordHash = await hashMailPassword(MAILBOX_PASSWORD);
  model.mail.push({ ...(model.mail[0] as Model["mail"][0]), handle: "cine-quartier", domain: "cine-quartier.test", mailboxes: [{ address: "programmation@cine-quartier.test", local: "programmation", quotaMb: 1024, passwordHash: await hashMailPassword(OTHER_MAILBOX_PASSWORD) }], aliases: [] });
  const creds = new Map([["velo-libre", await hashPassword(PASSWORD)]]);
  app = await buildPortal({ tls, model: () => model, credentials: () => creds, requests: { gitlab: { api, project: "42", token: TOKEN }, target: "main", root: REPO_ROOT, stack: "lab" } });
  await app.listen({ host: "127.0.0.1", port: 0 });
  port = (app.server.address() as AddressInfo).port;
  expect((await member.login("velo-libre", PASSWORD)).status).toBe(303);
}, 120_000);

afterAll(async () => {
  await app?.close();
  await new Promise((r) => gitlab?.server.close(r));
  rmSync(tmp, { recursive: true, force: true });
});

/** Posts the request's form (the token from its GET). */
async function ask(slug: string, form: Record<string, string>, handle = "velo-libre", client = member) {
  const page = await client.send("GET", `/m/velo-libre/${slug}`);
  return client.send("POST", `/m/${handle}/${slug}`, { _csrf: csrfOf(page.body), ...form });
}

/** The lines a unified diff adds and removes (headers left out). */
function changedLines(diff: string): { added: string[]; removed: string[] } {
  const lines = diff.split("\n").filter((l) => !l.startsWith("+++") && !l.startsWith("---"));
  return { added: lines.filter((l) => l.startsWith("+")).map((l) => l.slice(1)), removed: lines.filter((l) => l.startsWith("-")).map((l) => l.slice(1)) };
}

/** The branch's data tree (this checkout's, with the branch's files) validates for the lab stack. */
function validates(files: Map<string, string>): Model {
  const copy = mkdtempSync(join(tmpdir(), "portal-branch-"));
  try {
    for (const part of ["members", "zones", "Pulumi.lab.yaml"]) cpSync(join(REPO_ROOT, part), join(copy, part), { recursive: true });
    for (const [f, t] of files) writeFileSync(join(copy, f), t);
    const { model: m, errors } = loadModel(copy, "lab");
    expect(errors).toEqual([]);
    return m as Model;
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}

const velo = "members/velo-libre/member.yaml";
/** tresorier's password_hash line as the repository has it: the one line a new password replaces. */
const TRESORIER_HASH_LINE = /- local: tresorier\n(?:.*\n)*?( +password_hash: .*)\n/.exec(readFileSync(join(REPO_ROOT, velo), "utf8"))?.[1] ?? "";
const NEW_TRESORIER_PASSWORD = "un vélo, deux roues, trois rayons";

/**
 * Runs `fn` with a `doveadm` first in PATH that writes its argv (one call a line) to a file and
 * runs the real one: what the portal passes to doveadm, and whether it ran at all.
 */
async function doveadmArgv<T>(fn: () => Promise<T>): Promise<{ result: T; calls: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), "portal-doveadm-"));
  const real = spawnSync("sh", ["-c", "command -v doveadm"], { encoding: "utf8" }).stdout.trim();
  const log = join(dir, "argv");
  writeFileSync(log, "");
  writeFileSync(join(dir, "doveadm"), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\nexec '${real}' "$@"\n`);
  chmodSync(join(dir, "doveadm"), 0o755);
  const path = process.env.PATH;
  process.env.PATH = `${dir}:${path ?? ""}`;
  try {
    const result = await fn();
    return { result, calls: readFileSync(log, "utf8").split("\n").filter(Boolean) };
  } finally {
    process.env.PATH = path;
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Data changes: the form, the file changed, the exact lines added and removed, a check on the validated model. */
const MR_CASES: Array<{ slug: string; form: Record<string, string>; file?: string; added: string[] | ((l: string[]) => void); removed: string[]; then: (m: Model) => void }> = [
  {
    slug: "alias-remove",
    form: { alias: "atelier@velo-libre.example" },
    added: [],
    removed: ["      # The repair workshop's volunteer reads it in their own mailbox elsewhere (a forward).", "      - { local: atelier, to: [mecano@example.net] }"],
    then: (m) => expect(m.mail[0]?.aliases.map((a) => a.local)).toEqual(["bureau"]),
  },
  {
    slug: "alias",
    form: { domain: "velo-libre.example", local: "reparation", to: "mecano@example.net, contact" },
    added: ["      - { local: reparation, to: [mecano@example.net, contact] }"],
    removed: [],
    then: (m) => expect(m.mail[0]?.aliases.find((a) => a.local === "reparation")?.to).toEqual(["mecano@example.net", "contact@velo-libre.example"]),
  },
  {
    slug: "site-alias",
    form: { site: "velo-libre.example", name: "velo.velo-libre.example" },
    added: ["    aliases: [www.velo-libre.example, velo.velo-libre.example]"],
    removed: ["    aliases: [www.velo-libre.example]"],
    then: (m) => expect(m.sites.find((s) => s.host === "velo-libre.example")?.aliases).toEqual(["www.velo-libre.example", "velo.velo-libre.example"]),
  },
  {
    slug: "site-alias-remove",
    form: { name: "www.velo-libre.example" },
    added: [],
    removed: ["    aliases: [www.velo-libre.example]"],
    then: (m) => expect(m.sites.find((s) => s.host === "velo-libre.example")?.aliases).toEqual([]),
  },
  {
    slug: "site",
    form: { host: "blog.velo-libre.example", php: "8.2" },
    added: ["  - host: blog.velo-libre.example", '    php: "8.2"'],
    removed: [],
    then: (m) => expect(m.sites.find((s) => s.host === "blog.velo-libre.example")?.handle).toBe("velo-libre"),
  },
  {
    slug: "database",
    form: { name: "velo_blog" },
    added: ["  - name: velo_blog"],
    removed: [],
    then: (m) => expect(m.databases.filter((d) => d.handle === "velo-libre").map((d) => d.name).sort()).toEqual(["velo_blog", "velo_wp"]),
  },
  {
    slug: "ssh-key",
    form: { key: KEY },
    added: [`  - ${KEY}`],
    removed: [],
    then: (m) => expect(m.members.find((x) => x.handle === "velo-libre")?.sshKeys).toHaveLength(2),
  },
  {
    slug: "mailbox",
    form: { domain: "velo-libre.example", local: "atelier2", password: "pédales et chaînes 2026", confirm: "pédales et chaînes 2026" },
    added: (lines) => {
      expect(lines).toHaveLength(2);
      expect(lines[0]).toBe("      - local: atelier2");
      expect(lines[1]).toMatch(/^ {8}password_hash: "\{ARGON2ID\}\$argon2id\$v=19\$m=65536,t=3,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+"$/);
    },
    removed: [],
    then: (m) => expect(m.mail[0]?.mailboxes.map((b) => b.local)).toEqual(["contact", "tresorier", "atelier2"]),
  },
  {
    slug: "mailbox-password",
    form: { mailbox: "tresorier@velo-libre.example", password: NEW_TRESORIER_PASSWORD, confirm: NEW_TRESORIER_PASSWORD },
    added: (lines) => {
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^ {8}password_hash: "\{ARGON2ID\}\$argon2id\$v=19\$m=65536,t=3,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+"$/);
    },
    removed: [TRESORIER_HASH_LINE],
    then: (m) => {
      const boxes = m.mail[0]?.mailboxes ?? [];
      const mine = model.mail.find((d) => d.handle === "velo-libre")?.mailboxes ?? [];
      expect(boxes.map((b) => `${b.local} ${b.quotaMb}`)).toEqual(mine.map((b) => `${b.local} ${b.quotaMb}`));
      expect(boxes[1]?.passwordHash.startsWith("{ARGON2ID}$argon2id$")).toBe(true);
      // contact's hash is untouched.
      expect(boxes[0]?.passwordHash).toBe(mine[0]?.passwordHash);
    },
  },
  {
    slug: "vps-resize",
    form: { vps: "atelier", size: "large" },
    file: "members/velo-libre/vps/atelier.yaml",
    added: ["vcpus: 4", "memory_mb: 4096", "disk_gb: 40"],
    removed: ["vcpus: 2", "memory_mb: 2048", "disk_gb: 20"],
    then: (m) => expect(m.vps.find((v) => v.name === "atelier")).toMatchObject({ vcpus: 4, memoryMb: 4096, diskGb: 40 }),
  },
  {
    slug: "suspend",
    form: { reason: "pause pendant l'hiver" },
    added: ["status: suspended", "note: \"Suspendu à sa demande (espace adhérent) : pause pendant l'hiver\""],
    removed: ["status: active"],
    then: (m) => expect(m.members.find((x) => x.handle === "velo-libre")?.status).toBe("suspended"),
  },
];

describe("every request type: valid → one merge request with exactly the change", () => {
  it("the dashboard offers each request the member can make", async () => {
    const dash = await send("GET", "/m/velo-libre");
    for (const t of REQUEST_TYPES) expect(dash.body).toContain(`href="/m/velo-libre/${t.slug}"`);
  });

  for (const c of MR_CASES) {
    it(`${c.slug}: one merge request, its branch validates, its diff is exactly the change`, async () => {
      const [mrs, commits, issues] = [gitlab.mrs.length, gitlab.commits.length, gitlab.issues.length];
      const { result: sent, calls } = await doveadmArgv(() => ask(c.slug, c.form));
      expect(sent.body).toContain("Demande envoyée");
      expect(sent.status).toBe(200);
      expect(gitlab.mrs.length).toBe(mrs + 1);
      expect(gitlab.commits.length).toBe(commits + 1);
      expect(gitlab.issues.length).toBe(issues);
      const mr = gitlab.mrs.at(-1) as (typeof gitlab.mrs)[0];
      expect(mr.source_branch.startsWith("portal/velo-libre/")).toBe(true);
      expect(mr.description).toContain("Requested-by: velo-libre");
      expect(mr.description).toContain("Demande de l'adhérent `velo-libre`");
      expect(mr.title).toMatch(/^Espace adhérent : velo-libre /);
      const main = gitlab.branches.get("main") as Map<string, string>;
      const branch = gitlab.branches.get(mr.source_branch) as Map<string, string>;
      const changed = [...branch].filter(([f, t]) => main.get(f) !== t).map(([f]) => f);
      expect(changed).toEqual([c.file ?? velo]);
      const diff = /```diff\n([\s\S]*?)\n```/.exec(mr.description)?.[1] ?? "";
      const { added, removed } = changedLines(diff);
      if (typeof c.added === "function") c.added(added);
      else expect(added).toEqual(c.added);
      expect(removed).toEqual(c.removed);
      c.then(validates(branch));
      if (c.slug !== "mailbox" && c.slug !== "mailbox-password") expect(calls).toEqual([]);
      else {
        // The password is nowhere but in the member's head: not in the MR, the commit, the branch or the page.
        const password = c.form.password as string;
        for (const text of [mr.description, mr.title, gitlab.commits.at(-1)?.message ?? "", branch.get(velo) ?? "", sent.body, JSON.stringify(gitlab.requests)]) expect(text).not.toContain(password);
        if (c.slug === "mailbox-password") expect(mr.description).toContain("changer le mot de passe de la boîte tresorier@velo-libre.example");
        // doveadm ran once, the password on its stdin: its arguments are the scheme only.
        expect(calls).toEqual(["-c /dev/null pw -s ARGON2ID"]);
        const hash = /password_hash: "([^"]+)"/.exec(added.find((l) => l.includes("password_hash")) ?? "")?.[1] as string;
        expect(await verifyMailPassword(password, hash)).toBe(true);
        expect(await verifyMailPassword(`${password}x`, hash)).toBe(false);
        // And doveadm itself (the mail host's verifier) agrees, password on stdin.
        expect(spawnSync("doveadm", ["-c", "/dev/null", "pw", "-t", hash], { input: `${password}\n` }).status).toBe(0);
      }
    });
  }

  const ISSUE_CASES: Array<{ slug: string; form: Record<string, string>; command: RegExp[] }> = [
    { slug: "vps-restart", form: { vps: "atelier", reason: "ne répond plus" }, command: [/^ssh root@\S+ virsh reboot velo-libre--atelier$/m] },
    { slug: "restore-file", form: { path: "sites/velo-libre.example/htdocs/wp-config.php", date: "" }, command: [/^npm run backup -- list velo-libre$/m, /^npm run backup -- restore velo-libre 'sites\/velo-libre\.example\/htdocs\/wp-config\.php' --in-place$/m] },
    { slug: "restore-file", form: { path: "~/sites/it's mine.txt", date: "2026-11-30" }, command: [/^npm run backup -- restore velo-libre 'sites\/it'\\''s mine\.txt' --at ARCHIVE --in-place$/m] },
    { slug: "restore-db", form: { database: "velo_wp", date: "2026-12-01" }, command: [/^npm run backup -- restore-db velo_wp --at ARCHIVE --replace$/m] },
  ];
  for (const c of ISSUE_CASES) {
    it(`${c.slug} (${c.form.path ?? c.form.vps ?? c.form.database}): not a data change → one issue with the exact command, no commit, no merge request`, async () => {
      const [mrs, commits, issues] = [gitlab.mrs.length, gitlab.commits.length, gitlab.issues.length];
      const sent = await ask(c.slug, c.form);
      expect(sent.status).toBe(200);
      expect(sent.body).toContain("ticket n°");
      expect([gitlab.mrs.length, gitlab.commits.length, gitlab.issues.length]).toEqual([mrs, commits, issues + 1]);
      const issue = gitlab.issues.at(-1) as (typeof gitlab.issues)[0];
      expect(issue.labels).toEqual(["portal-request", "portal:velo-libre"]);
      expect(issue.description).toContain("Requested-by: velo-libre");
      for (const re of c.command) expect(issue.description).toMatch(re);
    });
  }

  it("the requests page lists the member's merge requests and tickets", async () => {
    const page = await send("GET", "/m/velo-libre/requests");
    expect(page.status).toBe(200);
    expect(page.body).toContain("!1 Espace adhérent : velo-libre retire l&apos;alias atelier@velo-libre.example");
    expect(page.body).toContain("#1 Espace adhérent : velo-libre demande de redémarrer le VPS atelier");
  });
});

describe("invalid requests: the French message in the form, nothing sent", () => {
  const INVALID: Array<{ slug: string; form: Record<string, string>; message: string | RegExp }> = [
    { slug: "alias", form: { domain: "velo-libre.example", local: "bureau", to: "contact" }, message: "l'alias bureau@velo-libre.example existe déjà" },
    { slug: "mailbox", form: { domain: "velo-libre.example", local: "benevoles", password: "court", confirm: "court" }, message: "au moins 12 caractères" },
    { slug: "mailbox", form: { domain: "velo-libre.example", local: "benevoles", password: "une longue phrase 1", confirm: "une longue phrase 2" }, message: "ne sont pas identiques" },
    { slug: "mailbox", form: { domain: "velo-libre.example", local: "Pas Bien", password: "une longue phrase 1", confirm: "une longue phrase 1" }, message: /mailboxes\[\d+\]\.local/ },
    { slug: "mailbox", form: { domain: "velo-libre.example", local: "contact", password: "une longue phrase 1", confirm: "une longue phrase 1" }, message: "la boîte contact@velo-libre.example existe déjà" },
    { slug: "mailbox-password", form: { mailbox: "tresorier@velo-libre.example", password: "court", confirm: "court" }, message: "au moins 12 caractères" },
    { slug: "mailbox-password", form: { mailbox: "tresorier@velo-libre.example", password: "aaaaaaaaaaaaaaaa", confirm: "aaaaaaaaaaaaaaaa" }, message: "trop simple" },
    { slug: "mailbox-password", form: { mailbox: "tresorier@velo-libre.example", password: "Tresorier-2026!", confirm: "Tresorier-2026!" }, message: "ne doit pas contenir le nom de la boîte" },
    { slug: "mailbox-password", form: { mailbox: "tresorier@velo-libre.example", password: " une longue phrase ", confirm: " une longue phrase " }, message: "ni finir par une espace" },
    { slug: "mailbox-password", form: { mailbox: "tresorier@velo-libre.example", password: "une longue phrase 1", confirm: "une longue phrase 2" }, message: "ne sont pas identiques" },
    { slug: "mailbox-password", form: { mailbox: "tresorier@velo-libre.example", password: "une longue phrase 1", confirm: "" }, message: "à remplir" },
    { slug: "site-alias", form: { site: "velo-libre.example", name: "www.velo-libre.example" }, message: "est déjà un nom d'un de vos sites" },
    { slug: "site-alias", form: { site: "velo-libre.example", name: "pirate.globenet.example" }, message: /members\/velo-libre\/member\.yaml:\d+/ },
    { slug: "site", form: { host: "cinema.cine-quartier.test", php: "none" }, message: /members\/velo-libre\/member\.yaml:\d+/ },
    { slug: "site", form: { host: "pas un nom", php: "none" }, message: /sites\[\d+\]\.host/ },
    { slug: "database", form: { name: "Velo-Blog" }, message: /databases\[\d+\]\.name/ },
    { slug: "database", form: { name: "velo_wp" }, message: "la base velo_wp existe déjà" },
    { slug: "ssh-key", form: { key: "ssh-dss AAAAB3NzaC1kc3MAAACBAP= vieux@pc" }, message: /ssh_keys\[\d+\]/ },
    { slug: "ssh-key", form: { key: "-----BEGIN OPENSSH PRIVATE KEY-----" }, message: /ssh_keys\[\d+\]/ },
    // velo-libre's own key (the file's), with another comment.
    { slug: "ssh-key", form: { key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK+tBZeYUZ4D98ehwVRHgYI6hfIPcJsByHLI3gzNJUtK autre@pc" }, message: "cette clé est déjà dans votre fiche" },
    { slug: "vps-resize", form: { vps: "atelier", size: "small" }, message: "un disque ne fait que grandir" },
    { slug: "vps-resize", form: { vps: "atelier", size: "medium" }, message: "le VPS a déjà cette taille" },
    { slug: "restore-file", form: { path: "sites/../../etc/shadow", date: "" }, message: "n'est pas un chemin dans votre dossier" },
    { slug: "restore-file", form: { path: "sites/x", date: "hier" }, message: "n'est pas une date AAAA-MM-JJ" },
    { slug: "restore-db", form: { database: "velo_wp", date: "2026-13-45" }, message: "n'est pas une date AAAA-MM-JJ" },
    { slug: "suspend", form: { reason: "" }, message: "à remplir" },
  ];
  for (const c of INVALID) {
    it(`${c.slug} ${JSON.stringify(c.form).slice(0, 80)} → refused in French, no commit, no MR, no issue`, async () => {
      const [mrs, commits, issues] = [gitlab.mrs.length, gitlab.commits.length, gitlab.issues.length];
      // The main branch of the fake has the earlier cases' MRs unmerged: the file is as in the repository.
      const { result: refused, calls } = await doveadmArgv(() => ask(c.slug, c.form));
      // A password refused by the rules is never hashed.
      if (c.slug === "mailbox-password") expect(calls).toEqual([]);
      expect(refused.status).toBe(400);
      expect(refused.body).toContain("Demande refusée");
      if (typeof c.message === "string") expect(refused.body).toContain(c.message.replace(/'/g, "&apos;"));
      else expect(refused.body).toMatch(c.message);
      expect([gitlab.mrs.length, gitlab.commits.length, gitlab.issues.length]).toEqual([mrs, commits, issues]);
      // A password is never echoed back in the form.
      if (c.form.password) expect(refused.body).not.toContain(c.form.password);
    });
  }
});

describe("attacks: another member's objects → 403 before anything is read", () => {
  const other = (m: Model) => ({
    domain: "cine-quartier.test",
    alias: "contact@globenet.example",
    site: m.sites.find((s) => s.handle === "cine-quartier")?.host ?? "",
    name: m.sites.find((s) => s.handle !== "velo-libre" && s.aliases.length > 0)?.aliases[0] ?? "",
    database: m.databases.find((d) => d.handle !== "velo-libre")?.name ?? "",
    mailbox: "programmation@cine-quartier.test",
    vps: "stream",
    php: "7.0-evil",
    size: "huge",
  });

  it("each request's form and POST under another member's URL → 403; each select posted with another member's object → 403; GitLab never asked", async () => {
    const before = gitlab.requests.length;
    const o = other(model) as Record<string, string>;
    for (const k of ["site", "name", "database"]) expect(o[k]).not.toBe("");
    let forged = 0;
    for (const t of REQUEST_TYPES) {
      expect((await send("GET", `/m/globenet/${t.slug}`)).status).toBe(403);
      const valid = Object.fromEntries(t.fields.map((f) => [f.name, "x"]));
      expect((await ask(t.slug, valid, "globenet")).status).toBe(403);
      expect((await ask(t.slug, valid, "cine-quartier")).status).toBe(403);
      for (const f of t.fields.filter((x) => x.options)) {
        const form = { ...valid, [f.name]: o[f.name] ?? "x" };
        const r = await ask(t.slug, form);
        expect(r.status, `${t.slug} ${f.name}=${form[f.name]}`).toBe(403);
        expect(r.body).toContain("Cette page n&apos;est pas la vôtre.");
        forged++;
      }
      // Without the CSRF token: refused before the rest.
      expect((await send("POST", `/m/velo-libre/${t.slug}`, valid)).status).toBe(403);
    }
    // Every select of every form was forged once.
    expect(forged).toBe(REQUEST_TYPES.flatMap((t) => t.fields.filter((f) => f.options)).length);
    expect(forged).toBe(11);
    expect(gitlab.requests.length).toBe(before);
  });

  it("mailbox-password for another member's mailbox (cine-quartier's, and velo-libre's from cine-quartier's session): 403, doveadm never run, GitLab never asked, nothing of the password in the answer", async () => {
    const before = gitlab.requests.length;
    const form = { password: "une phrase pirate assez longue", confirm: "une phrase pirate assez longue" };
    const { result: forged, calls } = await doveadmArgv(() => ask("mailbox-password", { mailbox: "programmation@cine-quartier.test", ...form }));
    expect(forged.status).toBe(403);
    expect(forged.body).not.toContain(form.password);
    // cine-quartier logged in with its own mailbox: velo-libre's tresorier is not its object, under either URL.
    const other = portalClient(() => port, () => ca);
    expect((await other.login("programmation@cine-quartier.test", OTHER_MAILBOX_PASSWORD)).status).toBe(303);
    const page = await other.send("GET", "/m/cine-quartier/mailbox-password");
    expect(page.body).toContain('value="programmation@cine-quartier.test"');
    expect(page.body).not.toContain("tresorier@velo-libre.example");
    const { calls: otherCalls } = await doveadmArgv(async () => {
      for (const url of ["/m/cine-quartier/mailbox-password", "/m/velo-libre/mailbox-password"]) {
        expect((await other.send("POST", url, { _csrf: csrfOf(page.body), mailbox: "tresorier@velo-libre.example", ...form })).status, url).toBe(403);
      }
    });
    expect([...calls, ...otherCalls]).toEqual([]);
    expect(gitlab.requests.length).toBe(before);
  });

  it("a form offers only the member's own objects", async () => {
    const o = other(model);
    for (const t of REQUEST_TYPES) {
      const page = await send("GET", `/m/velo-libre/${t.slug}`);
      expect(page.status).toBe(200);
      for (const v of [o.domain, o.site, o.name, o.database, o.mailbox, "stream", "globenet.example"]) expect(page.body).not.toContain(`value="${v}"`);
    }
    expect((await send("GET", "/m/velo-libre/vps-resize")).body).toContain('<option value="atelier">');
    expect((await send("GET", "/m/velo-libre/restore-db")).body).toContain('<option value="velo_wp">');
  });
});

describe("mailbox login: a mailbox address and its password (doveadm against the data's hash)", () => {
  it("legit: tresorier@velo-libre.example logs in to velo-libre's pages; its requests say which mailbox asked", async () => {
    const c = portalClient(() => port, () => ca);
    const t0 = Date.now();
    const r = await c.login("Tresorier@velo-libre.example", MAILBOX_PASSWORD);
    const ms = Date.now() - t0;
    expect(r.status).toBe(303);
    expect(r.headers.location).toBe("/m/velo-libre");
    expect(ms).toBeLessThan(5000);
    expect((await c.send("GET", "/m/velo-libre")).body).toContain("Association Vélo Libre");
    const sent = await ask("database", { name: "velo_tresor" }, "velo-libre", c);
    expect(sent.status).toBe(200);
    const mr = gitlab.mrs.at(-1) as (typeof gitlab.mrs)[0];
    expect(mr.description).toContain("Requested-by: velo-libre");
    expect(mr.description).toContain("Connecté·e avec la boîte `tresorier@velo-libre.example`");
  });

  it("wrong password, an alias address, an unknown address → refused; five wrong passwords lock that address", async () => {
    const c = portalClient(() => port, () => ca);
    expect((await c.login("tresorier@velo-libre.example", "pas le bon mot de passe")).status).toBe(401);
    expect((await c.login("bureau@velo-libre.example", MAILBOX_PASSWORD)).status).toBe(401);
    expect((await c.login("personne@velo-libre.example", MAILBOX_PASSWORD)).status).toBe(401);
    // The portal credential's password is not a mailbox's.
    expect((await c.login("contact@velo-libre.example", PASSWORD)).status).toBe(401);
    for (let i = 0; i < 4; i++) await c.login("contact@velo-libre.example", `guess-${i}`);
    expect((await c.login("contact@velo-libre.example", "guess-5")).status).toBe(429);
    expect((await c.send("GET", "/m/velo-libre")).status).toBe(303);
  });

  it("another member's mailbox reaches only that member's pages: velo-libre's are 403, its requests too", async () => {
    const c = portalClient(() => port, () => ca);
    const r = await c.login("programmation@cine-quartier.test", OTHER_MAILBOX_PASSWORD);
    expect(r.status).toBe(303);
    expect(r.headers.location).toBe("/m/cine-quartier");
    expect((await c.send("GET", "/m/cine-quartier")).status).toBe(200);
    const before = gitlab.requests.length;
    for (const path of ["/m/velo-libre", "/m/velo-libre/requests", "/m/velo-libre/alias", "/m/velo-libre/mailbox"]) expect((await c.send("GET", path)).status).toBe(403);
    const form = await c.send("GET", "/m/cine-quartier/alias");
    expect((await c.send("POST", "/m/velo-libre/alias", { _csrf: csrfOf(form.body), domain: "velo-libre.example", local: "pirate", to: "pirate@example.net" })).status).toBe(403);
    expect((await c.send("POST", "/m/cine-quartier/alias", { _csrf: csrfOf(form.body), domain: "velo-libre.example", local: "pirate", to: "pirate@example.net" })).status).toBe(403);
    expect(gitlab.requests.length).toBe(before);
  });
});
