/**
 * The portal's live snapshot (lib/portal/live.ts), without hosts: which members it holds, that
 * each entry holds only that member's objects and no secret, the file's round trip, and what
 * the dashboard says of a fresh, an old and a missing snapshot. The delivery over SSH and the
 * deployed portal reading it: tests/portal-live-real.test.ts.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../lib/base/repo";
import { loadModel } from "../lib/check/build";
import type { Model } from "../lib/model/types";
import { buildSnapshot, failedParts, LIVE_MAX_AGE_MS, liveOfSnapshot, memberLiveOf, parseSnapshot, secretsIn, snapshotHandles, snapshotJson, snapshotReader, type LiveReads } from "../lib/portal/live";
import { memberView } from "../lib/portal/view";
import { dashboard } from "../lib/portal/server";
import { renderPage } from "../lib/portal/html";
import { words } from "../lib/portal/i18n";
import type { CertStatus } from "../lib/status/certs";
import type { UsageRow } from "../lib/status/usage";
import type { BackupRow } from "../lib/status/backups";
import { baseFiles, writeTree } from "./helpers/data-tree";
import { cli } from "./helpers/cli";

const tmp = mkdtempSync(join(tmpdir(), "portal-live-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function labModel(): Model {
  const { model, errors } = loadModel(REPO_ROOT, "lab");
  expect(errors).toEqual([]);
  return model as Model;
}

const NOW = new Date("2026-12-05T12:50:00Z");

/** What the readers would answer for the whole lab: one row per object of every member (the suspended one too). */
function allReads(model: Model): LiveReads {
  const certs: CertStatus[] = model.sites.filter((s) => s.tls === "acme").map((s) => ({ site: s.host, host: "web1", names: [s.host], cert: { issuer: "Pebble", names: [s.host], notAfter: new Date("2027-02-01T00:00:00Z"), daysLeft: 58 }, missing: [], extra: [], state: "ok" }));
  const usage: UsageRow[] = model.members.map((m, i) => ({ handle: m.handle, webHost: "web1", homeBytes: (i + 1) * 1_000_000, homeMissing: false, quotaMb: 1024, inodeQuota: 1000, databases: model.databases.filter((d) => d.handle === m.handle).map((d) => ({ name: d.name, dbHost: d.dbHost, bytes: 4096 })) }));
  // A reader that returned more than figures (the mailbox's hash riding along): the entry must not carry it.
  const mailboxes = model.mail.flatMap((d) => d.mailboxes.map((b) => ({ handle: d.handle, address: b.address, quotaMb: b.quotaMb, bytes: 777, passwordHash: b.passwordHash })));
  const backups: BackupRow[] = model.members.map((m) => ({ host: "hv1", id: `home--${m.handle}`, kind: "home", name: m.handle, lastOk: new Date("2026-12-05T03:00:00Z"), ageHours: 9, state: "ok" }));
  const vps = model.vps.map((v) => ({ handle: v.handle, name: v.name, domain: v.domain, hypervisor: v.hypervisor, state: "running", suspended: false }));
  return { certs, usage, mail: [{ host: "mail1", domains: [], mailboxes, errors: [] }], backups, vps, failed: [] };
}

describe("portal live snapshot: who is in it, and each entry only its member's", () => {
  it("holds the active members only (not the suspended one)", () => {
    const model = labModel();
    const handles = snapshotHandles(model);
    expect(handles).toContain("velo-libre");
    expect(handles).not.toContain("theatre-aube");
    expect(handles.sort()).toEqual(model.members.filter((m) => m.status === "active").map((m) => m.handle).sort());
    const snap = buildSnapshot(model, "lab", handles, allReads(model), NOW);
    expect(Object.keys(snap.members).sort()).toEqual(handles.sort());
    expect(snap.taken_at).toBe("2026-12-05T12:50:00.000Z");
  });

  it.each(["velo-libre", "globenet", "biblio-menil", "cine-quartier"])("%s's entry has their sites' certificates, their usage, mailboxes and backups, nothing of another member", (handle) => {
    const model = labModel();
    const e = memberLiveOf(model, handle, allReads(model), NOW);
    const sites = model.sites.filter((s) => s.handle === handle && s.tls === "acme").map((s) => s.host);
    expect(e.certs?.map((c) => c.site).sort()).toEqual(sites.sort());
    expect(e.usage?.handle).toBe(handle);
    expect(e.mailboxes?.map((b) => b.address).sort()).toEqual(model.mail.filter((d) => d.handle === handle).flatMap((d) => d.mailboxes.map((b) => b.address)).sort());
    expect(e.backups?.filter((b) => b.kind === "home").map((b) => b.name)).toEqual(model.members.find((m) => m.handle === handle)?.webHost ? [handle] : []);
    expect(e.vps).toEqual(model.vps.filter((v) => v.handle === handle).map((v) => ({ name: v.name, state: "running" })));
    const text = JSON.stringify(e);
    for (const o of model.members.filter((m) => m.handle !== handle)) expect(text).not.toContain(`"${o.handle}"`);
    for (const s of model.sites.filter((x) => x.handle !== handle)) expect(text).not.toContain(`"${s.host}"`);
  });

  it("the document never holds a secret: the mailbox hashes a reader returned and the SFTP hash in the model stay out; one that slips in stops the write", () => {
    const model = labModel();
    const hashes = [...model.mail.flatMap((d) => d.mailboxes.map((b) => b.passwordHash)), ...model.members.flatMap((m) => (m.passwordHash ? [m.passwordHash] : []))];
    expect(hashes.length).toBeGreaterThan(1);
    const snap = buildSnapshot(model, "lab", snapshotHandles(model), allReads(model), NOW);
    const text = snapshotJson(snap, model);
    for (const h of hashes) expect(text).not.toContain(h);
    expect(secretsIn(text, model)).toEqual([]);
    expect(text).not.toMatch(/passwordHash|PRIVATE KEY|scrypt\$/);
    // A reader's error text carrying a hash (a bug upstream): refused, nothing written.
    const leaky = { ...snap, members: { ...snap.members, "velo-libre": { ...snap.members["velo-libre"], error: `oops ${hashes[0]}` } } };
    expect(() => snapshotJson(leaky, model)).toThrow(/would hold a mailbox's password hash: not written/);
    expect(secretsIn("-----BEGIN OPENSSH PRIVATE KEY-----", model)).toEqual(["a private key"]);
  });

  it("a part that failed: its name for every member, never a host's text (it may name another member's files)", () => {
    const model = labModel();
    const reads: LiveReads = { ...allReads(model), usage: undefined, failed: [{ part: "usage", error: "du: cannot access '/home/globenet/x': Permission denied" }] };
    const e = memberLiveOf(model, "velo-libre", reads, NOW);
    expect(e.usage).toBeUndefined();
    expect(e.certs?.length).toBeGreaterThan(0);
    expect(e.error).toBe(failedParts(reads));
    expect(e.error).toMatch(/^usage \(/);
    expect(JSON.stringify(e)).not.toContain("/home/globenet");
  });
});

describe("portal live snapshot: the file and its age", () => {
  const model = labModel();
  const snap = buildSnapshot(model, "lab", snapshotHandles(model), allReads(model), NOW);
  const text = snapshotJson(snap, model);

  it("round-trips: dates come back as dates", () => {
    const back = parseSnapshot(text);
    const e = back.members["velo-libre"];
    expect(e?.certs?.[0]?.cert?.notAfter).toBeInstanceOf(Date);
    expect(e?.backups?.find((b) => b.kind === "home")?.lastOk?.toISOString()).toBe("2026-12-05T03:00:00.000Z");
    expect(() => parseSnapshot('{"stack":"lab"}')).toThrow(/not a live snapshot/);
    expect(() => parseSnapshot('{"taken_at":"yesterday","stack":"lab","members":{}}')).toThrow(/not a live snapshot/);
  });

  const min = 60_000;
  it.each([
    ["fresh (10 min)", "lab", "velo-libre", 10 * min, undefined, true],
    ["just within the bound", "lab", "velo-libre", LIVE_MAX_AGE_MS, undefined, true],
    ["one minute past the bound", "lab", "velo-libre", LIVE_MAX_AGE_MS + min, "old", false],
    ["a day old", "lab", "velo-libre", 24 * 60 * min, "old", false],
    ["another stack's file", "prod", "velo-libre", 10 * min, "missing", false],
    ["a member not in it (suspended)", "lab", "theatre-aube", 10 * min, "missing", false],
    ["a name that is no member", "lab", "__proto__", 10 * min, "missing", false],
    ["constructor", "lab", "constructor", 10 * min, "missing", false],
  ] as const)("%s", (_what, stack, handle, age, stale, figures) => {
    const back = parseSnapshot(text);
    const live = liveOfSnapshot(back, stack, handle, NOW.getTime() + age);
    expect(live.stale).toBe(stale);
    expect(live.certs !== undefined).toBe(figures);
    expect(live.usage !== undefined).toBe(figures);
    if (stale !== "missing") expect(live.readAt?.toISOString()).toBe(NOW.toISOString());
  });

  it("read from its file at each call: absent, torn, then written", async () => {
    const file = join(tmp, "live.json");
    let now = NOW.getTime() + 5 * min;
    const read = snapshotReader(file, "lab", () => now);
    expect(await read("velo-libre")).toEqual({ stale: "missing" });
    writeFileSync(file, text.slice(0, 100));
    expect(await read("velo-libre")).toEqual({ stale: "missing" });
    writeFileSync(file, text);
    expect((await read("velo-libre")).usage?.handle).toBe("velo-libre");
    now += LIVE_MAX_AGE_MS;
    expect((await read("velo-libre")).stale).toBe("old");
  });

  it("the dashboard: the time of fresh figures; too old or none said in its place, with no figure (French and English)", () => {
    const page = (handle: string, at: number, lang: "fr" | "en") => {
      const v = memberView(model, handle, liveOfSnapshot(parseSnapshot(text), "lab", handle, at));
      return renderPage("dashboard", { ...dashboard(v as NonNullable<typeof v>, words(lang)), w: words(lang) });
    };
    const fresh = page("velo-libre", NOW.getTime() + 10 * min, "fr");
    expect(fresh).toContain("Chiffres lus le 2026-12-05 12:50 UTC sur les serveurs.");
    expect(fresh).toContain("2027-02-01");
    // The VPS's state as its hypervisor said it, in the member's language.
    expect(fresh).toContain("<td>en marche</td>");
    expect(page("velo-libre", NOW.getTime() + 10 * min, "en")).toContain("<td>running</td>");
    expect(page("velo-libre", NOW.getTime() + 10 * min, "en")).toContain("Figures read from the servers at 2026-12-05 12:50 UTC.");
    const old = page("velo-libre", NOW.getTime() + 2 * LIVE_MAX_AGE_MS, "fr");
    expect(old).toContain("Les derniers chiffres lus sur les serveurs datent du 2026-12-05 12:50 UTC, il y a plus de 60 minutes : ils ne sont pas affichés.");
    expect(old).not.toContain("2027-02-01");
    expect(old).not.toContain("en marche");
    expect(old).not.toContain("Chiffres lus le");
    expect(page("velo-libre", NOW.getTime() + 2 * LIVE_MAX_AGE_MS, "en")).toContain("The last figures read from the servers are from 2026-12-05 12:50 UTC, more than 60 minutes ago: they are not shown.");
    const none = page("theatre-aube", NOW.getTime(), "fr");
    expect(none).toContain("ne sont pas disponibles pour le moment");
    // A member's page holds their own entry only, though the file holds everyone's.
    expect(fresh).not.toMatch(/>globenet\.example<|wiki\.globenet|ondes-libres|amis-biblio|cine-quartier/);
  });
});

describe("npm run portal -- --snapshot", () => {
  it("refuses a stack with no portal to deliver to; --out writes the document here (no active member: no host is read)", async () => {
    const base = baseFiles();
    const tree = writeTree(Object.fromEntries(["globenet", "velo-libre"].map((h) => [`members/${h}/member.yaml`, (base[`members/${h}/member.yaml`] as string).replace("status: active", "status: suspended")])));
    const refused = await cli(["portal", "--snapshot", "--stack", "test", "--root", tree]);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/stack test has no portal \(the inventory's portal: section\)/);
    const out = join(tmp, "snapshot.json");
    const made = await cli(["portal", "--snapshot", "--stack", "test", "--root", tree, "--out", out]);
    expect(made.stderr).toBe("");
    expect(made.status).toBe(0);
    expect(made.stdout).toMatch(/^portal snapshot of stack test: 0 active member\(s\), taken at \S+ in [\d.]+ s, \d+ bytes → this machine:/);
    const snap = parseSnapshot(readFileSync(out, "utf8"));
    expect([snap.stack, snap.members]).toEqual(["test", {}]);
  });
});
