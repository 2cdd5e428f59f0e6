import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { effectsOf } from "../lib/diff/effects";
import { planFromModels } from "../lib/guard/offline";
import type { Plan, PlanStep } from "../lib/guard/plan";
import { formatVerdict, judge } from "../lib/guard/rules";
import { loadModel } from "../lib/check/build";
import type { Model } from "../lib/model/types";

/**
 * Unit tier: the offline guard (a plan worked out from two models) asks for the same
 * Allow-Destroy lines as the rules ask of the engine's plan for the same change, written here
 * as the engine announces it (op, type, name, old/new inputs: tests/guard-rules.test.ts).
 */
const REPO = join(__dirname, "..");
const tmp = mkdtempSync(join(tmpdir(), "globenet-offline-guard-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function modelOf(name: string, edits: Array<[string, string, string]>): Model {
  const dir = join(tmp, name);
  for (const p of ["members", "zones", "Pulumi.prod.yaml"]) cpSync(join(REPO, p), join(dir, p), { recursive: true });
  for (const [file, from, to] of edits) {
    const f = join(dir, file);
    if (from === "DELETE") rmSync(f, { recursive: true });
    else {
      const t = readFileSync(f, "utf8");
      if (!t.includes(from)) throw new Error(`${file} no longer holds ${from}: update the test`);
      writeFileSync(f, t.replace(from, to));
    }
  }
  const { model, errors } = loadModel(dir, "prod");
  if (!model) throw new Error(errors.map((e) => e.message).join("\n"));
  return model;
}

const base = modelOf("base", []);
const target = (name: string) => ({ name, address: "192.0.2.10", port: 22, user: "globenet-deploy", hostKey: "k" });
const step = (op: string, type: string, name: string, old?: Record<string, unknown>, nw?: Record<string, unknown>): PlanStep => ({ op, type, name, urn: `urn:pulumi:prod::globenet-infra::${type}::${name}`, old, new: nw });
const members = (m: Model) => m.members.map((x) => step("same", "globenet:member:Member", x.handle));
const archiveDir = base.inventory.archive_dir;
const needed = (p: Plan, allowances: string[] = []) => judge(p, { maxShare: 0.1, allowances }).needed;
const offline = (head: Model, allowances: string[] = []) => judge(planFromModels(base, head), { maxShare: 0.1, allowances });

describe("the offline guard asks what the rules ask of the engine's plan", () => {
  it("a site removed from an account that stays: its folder is archived, then deleted", () => {
    const head = modelOf("site", [["members/velo-libre/member.yaml", "    aliases: [www.velo-libre.example]\n", "    aliases: [www.velo-libre.example]\n  - host: blog.velo-libre.example\n"]]);
    // Base has the blog; head has not: swap the roles (the base above has no blog).
    const withBlog = head;
    const v = judge(planFromModels(withBlog, base), { maxShare: 0.1, allowances: [] });
    const engine: Plan = { stack: "prod", steps: [...members(base), step("update", "globenet:hosting:Account", "velo-libre", { handle: "velo-libre", target: target("web1"), archiveDir, sites: ["blog.velo-libre.example", "velo-libre.example"] }, { handle: "velo-libre", target: target("web1"), archiveDir, sites: ["velo-libre.example"] })] };
    expect(v.needed).toEqual(["members/velo-libre/sites/blog.velo-libre.example"]);
    expect(v.needed).toEqual(needed(engine));
    expect(formatVerdict(v)).toContain(`archived first to ${archiveDir}/sites/velo-libre--blog.velo-libre.example-<UTC time>.tar.gz on web1`);
    expect(formatVerdict(v, "fr")).toContain("members/velo-libre : le dossier du site ~velo-libre/sites/blog.velo-libre.example (ses fichiers) serait supprimé sur web1");
    // Allowed by the site's path, or by the member's.
    expect(judge(planFromModels(withBlog, base), { maxShare: 0.1, allowances: ["members/velo-libre"] }).ok).toBe(true);
    expect(judge(planFromModels(withBlog, base), { maxShare: 0.1, allowances: ["members/velo-libre/sites/blog.velo-libre.example"] }).ok).toBe(true);
  });

  it("a VPS moved to another hypervisor is a new machine: the old one is archived and deleted", () => {
    const head = modelOf("move", [["members/velo-libre/vps/atelier.yaml", "hypervisor: hv1", "hypervisor: hv2"]]);
    const engine: Plan = { stack: "prod", steps: [...members(base), step("delete-replaced", "globenet:vm:Guest", "velo-libre--atelier", { domain: "velo-libre--atelier", target: target("hv1"), archiveDir }), step("create-replacement", "globenet:vm:Guest", "velo-libre--atelier", undefined, { domain: "velo-libre--atelier", target: target("hv2") })] };
    expect(offline(head).needed).toEqual(["members/velo-libre/vps/atelier"]);
    expect(offline(head).needed).toEqual(needed(engine));
  });

  it("a hypervisor renamed in the inventory (same address and port) is the same machine: its VPS is updated, nothing is asked", () => {
    const head = modelOf("rename", [
      ["Pulumi.prod.yaml", "      hv1:\n", "      hv9:\n"],
      ["members/velo-libre/vps/atelier.yaml", "hypervisor: hv1", "hypervisor: hv9"],
    ]);
    const guest = planFromModels(base, head).steps.find((s) => s.type === "globenet:vm:Guest" && s.name === "velo-libre--atelier");
    expect(guest?.op).toBe("update");
    expect(offline(head).needed).toEqual([]);
    // The same rename with a new address is another machine, as a move is.
    const moved = modelOf("rename-moved", [
      ["Pulumi.prod.yaml", "      hv1:\n", "      hv9:\n"],
      ["Pulumi.prod.yaml", "address: 192.0.2.21", "address: 192.0.2.29"],
      ["members/velo-libre/vps/atelier.yaml", "hypervisor: hv1", "hypervisor: hv9"],
    ]);
    expect(offline(moved).needed).toEqual(["members/velo-libre/vps/atelier"]);
  });

  it("a mail domain taken out of a member's file: its maildirs are archived, then deleted; the member's line or the domain's allows it", () => {
    const domain = base.mail.find((d) => d.handle === "velo-libre");
    expect(domain).toBeDefined();
    const head = modelOf("maildrop", [["members/velo-libre/member.yaml", `  - domain: ${domain!.domain}\n`, `  - domain: lists.${domain!.domain}\n`]]);
    const name = `${domain!.mailHost}-maildirs-${domain!.domain}`;
    const engine: Plan = { stack: "prod", steps: [...members(base), step("delete", "globenet:mail:Maildirs", name, { handle: "velo-libre", domain: domain!.domain, target: target(domain!.mailHost), archiveDir }), step("create", "globenet:mail:Maildirs", `${domain!.mailHost}-maildirs-lists.${domain!.domain}`)] };
    const path = `members/velo-libre/mail/${domain!.domain}`;
    expect(offline(head).needed).toEqual([path]);
    expect(offline(head).needed).toEqual(needed(engine));
    const v = offline(head);
    expect(formatVerdict(v)).toContain(`${path}: the mail of ${domain!.domain} (every mailbox's maildir) would be deleted on ${domain!.mailHost}`.replace(path, "members/velo-libre"));
    expect(formatVerdict(v)).toContain(`archived first to ${archiveDir}/mail/velo-libre--${domain!.domain}-<UTC time>.tar.gz on ${domain!.mailHost}`);
    expect(formatVerdict(v, "fr")).toContain(`members/velo-libre : le courrier de ${domain!.domain} (le maildir de chaque boîte) serait supprimé sur ${domain!.mailHost}`);
    expect(offline(head, ["members/velo-libre"]).ok).toBe(true);
    expect(offline(head, [path]).ok).toBe(true);
    // Departed (its mail domains say so in the model): the maildirs go, covered by the member's line.
    const gone: Model = { ...base, mail: base.mail.map((d) => (d.handle === "velo-libre" ? { ...d, status: "departed" as const } : d)) };
    expect(offline(gone).needed).toEqual([path]);
    expect(offline(gone, ["members/velo-libre"]).ok).toBe(true);
    expect(planFromModels(base, gone).steps.filter((s) => s.type === "globenet:mail:Maildirs" && s.op === "delete").map((s) => s.name)).toEqual([name]);
  });

  it("a mailbox taken out of a domain that stays: its maildir is archived, then deleted; its line, the domain's or the member's allows it", () => {
    const domain = base.mail.find((d) => d.handle === "velo-libre");
    expect(domain?.mailboxes.map((b) => b.local)).toEqual(["contact", "tresorier"]);
    const file = "members/velo-libre/member.yaml";
    const head = modelOf("mailboxdrop", [
      [file, "      - local: tresorier\n        quota_mb: 2048\n", "      - local: ancien-tresorier\n        quota_mb: 2048\n"],
      [file, "to: [contact, tresorier]", "to: [contact, ancien-tresorier]"],
    ]);
    const name = `${domain!.mailHost}-maildirs-${domain!.domain}`;
    const inputs = (mailboxes: string[]) => ({ handle: "velo-libre", domain: domain!.domain, mailboxes, target: target(domain!.mailHost), archiveDir });
    const engine: Plan = { stack: "prod", steps: [...members(base), step("update", "globenet:mail:Maildirs", name, inputs(["contact", "tresorier"]), inputs(["ancien-tresorier", "contact"]))] };
    const path = `members/velo-libre/mail/${domain!.domain}/tresorier`;
    expect(planFromModels(base, head).steps.filter((s) => s.type === "globenet:mail:Maildirs").map((s) => [s.op, s.name])).toEqual([["update", name]]);
    expect(offline(head).needed).toEqual([path]);
    expect(offline(head).needed).toEqual(needed(engine));
    expect(formatVerdict(offline(head))).toContain(`archived first to ${archiveDir}/mail/velo-libre--${domain!.domain}--tresorier-<UTC time>.tar.gz on ${domain!.mailHost}`);
    for (const a of [path, `members/velo-libre/mail/${domain!.domain}`, "members/velo-libre"]) expect(offline(head, [a]).ok).toBe(true);
    // Made again later (a new treasurer, the other one gone): only the mailbox that goes is asked for, not the one made again.
    expect(judge(planFromModels(head, base), { maxShare: 0.1, allowances: [] }).needed).toEqual([`members/velo-libre/mail/${domain!.domain}/ancien-tresorier`]);
  });

  it("a database renamed: the old one is deleted", () => {
    const head = modelOf("dbrename", [["members/velo-libre/member.yaml", "- name: velo_wp", "- name: velo_site"]]);
    const engine: Plan = { stack: "prod", steps: [...members(base), step("delete", "globenet:db:Database", "velo_wp", { handle: "velo-libre", name: "velo_wp", target: target("db1"), archiveDir }), step("create", "globenet:db:Database", "velo_site")] };
    expect(offline(head).needed).toEqual(["members/velo-libre/databases/velo_wp"]);
    expect(offline(head).needed).toEqual(needed(engine));
  });

  it("two zones dropped at once: over the share, each must be allowed", () => {
    // A base that served two more (empty) zones; the head, the example data, serves them no more.
    const before = modelOf("zones", []);
    const dir = join(tmp, "zones2");
    for (const p of ["members", "zones", "Pulumi.prod.yaml"]) cpSync(join(REPO, p), join(dir, p), { recursive: true });
    for (const z of ["alpha", "beta"]) writeFileSync(join(dir, "zones", `${z}.globenet-test.example.yaml`), "owner: globenet\nrecords: []\n");
    const withTwo = loadModel(dir, "prod").model as Model;
    const files = (m: Model) => Object.fromEntries(m.zones.map((z) => [`zones/${z.name}.zone`, "x"]));
    const engine: Plan = { stack: "prod", steps: [...members(before), step("update", "globenet:files:FileSet", "ns1-bind", { kind: "bind-primary", target: target("ns1"), files: files(withTwo) }, { kind: "bind-primary", files: files(before) })] };
    const v = (allowances: string[]) => judge(planFromModels(withTwo, before), { maxShare: 0.1, allowances });
    expect(v([]).needed).toEqual(["zones/alpha.globenet-test.example", "zones/beta.globenet-test.example"]);
    expect(v([]).needed).toEqual(needed(engine));
    expect(v(["zones/alpha.globenet-test.example", "zones/beta.globenet-test.example"]).ok).toBe(true);
  });

  it("a suspension destroys nothing, and says the VPS is shut off; a shrinking disk is refused", () => {
    const head = modelOf("suspend", [["members/velo-libre/member.yaml", "status: active", "status: suspended"], ["members/velo-libre/vps/atelier.yaml", "disk_gb: 20", "disk_gb: 10"]]);
    expect(offline(head).ok).toBe(true);
    const effects = effectsOf(base, head, join(tmp, "suspend"));
    expect(effects.map((e) => e.en)).toEqual([
      "members/velo-libre: suspended: its sites show the suspension notice, its PHP and SSH access stop, its database accounts are locked, its VPS are shut off, its mailboxes refuse logins (IMAP and sending) but keep receiving",
      "members/velo-libre/vps/atelier: VPS shut off (the member is suspended; its disk is kept)",
      "members/velo-libre/vps/atelier: VPS resized: disk 20 → 10 GB",
      "members/velo-libre/vps/atelier: a disk cannot shrink (20 → 10 GB would lose data): the preview refuses it; keep 20 GB or more",
    ]);
    expect(effects.every((e) => e.fr && e.fr !== e.en)).toBe(true);
  });

  it("nothing changed: no step but same, nothing asked", () => {
    const p = planFromModels(base, base);
    expect(p.steps.every((s) => s.op === "same")).toBe(true);
    expect(judge(p, { maxShare: 0.1, allowances: [] }).ok).toBe(true);
  });
});
