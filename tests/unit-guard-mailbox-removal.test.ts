import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Plan, PlanStep } from "../lib/guard/plan";
import { formatVerdict, judge } from "../lib/guard/rules";
import { removedMailboxes } from "../lib/model/mail";
import { maildirsType, type MaildirsInputs } from "../provider/resources/maildirs";

/*
 * Unit tier: a mailbox taken out of a mail domain that stays is an update of the domain's
 * Maildirs resource (the provider archives <vmail>/<domain>/<local>, then removes it, so the
 * address made again later starts empty), not a delete; the guard asks for Allow-Destroy all the
 * same, as for a site (tests/guard-site-removal.unit.test.ts). The real archive is in
 * tests/provider-maildirs.test.ts.
 */

const target = { name: "mail1", address: "192.0.2.30", port: 22, user: "globenet-deploy", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIt66hsl0UmhbWOOYYARi4o8U8BR+ZZgOBKkbfMpve29" };
const DOMAIN = "velo-libre.example";
const maildirs = (op: string, before: string[] | undefined | null, after: string[] | undefined | null, handle = "velo-libre"): PlanStep => ({
  op,
  type: "globenet:mail:Maildirs",
  name: `mail1-maildirs-${DOMAIN}`,
  urn: `urn:pulumi:prod::globenet-infra::globenet:mail:MailServer$globenet:mail:Maildirs::mail1-maildirs-${DOMAIN}`,
  old: before === null ? undefined : { handle, domain: DOMAIN, target, archiveDir: "/var/backups/globenet-archive", ...(before ? { mailboxes: before } : {}) },
  new: after === null ? undefined : { handle, domain: DOMAIN, target, archiveDir: "/var/backups/globenet-archive", ...(after ? { mailboxes: after } : {}) },
});
const members = ["velo-libre", "a2", "a3", "a4", "a5", "a6"].map((n): PlanStep => ({ op: "same", type: "globenet:member:Member", name: n, urn: `urn:pulumi:prod::globenet-infra::globenet:member:Member::${n}` }));
const plan = (...steps: PlanStep[]): Plan => ({ stack: "prod", steps: [...members, ...steps] });
const P = `members/velo-libre/mail/${DOMAIN}`;

describe("the guard and a mailbox's removal", () => {
  it.each<[string, Plan, string[], boolean, string[]]>([
    ["a mailbox added: nothing lost", plan(maildirs("update", ["contact"], ["contact", "tresorier"])), [], true, []],
    ["a state written before the resource knew its mailboxes: nothing known lost, nothing removed", plan(maildirs("update", undefined, ["contact"])), [], true, []],
    ["a mailbox removed without leave", plan(maildirs("update", ["contact", "tresorier"], ["contact"])), [], false, [`${P}/tresorier`]],
    ["the last mailbox removed, the domain stays (aliases only)", plan(maildirs("update", ["contact"], [])), [], false, [`${P}/contact`]],
    ["a mailbox renamed: the old maildir goes", plan(maildirs("update", ["contact"], ["secretariat"])), [], false, [`${P}/contact`]],
    ["two mailboxes removed, each named", plan(maildirs("update", ["a", "b", "c"], ["b"])), [], false, [`${P}/a`, `${P}/c`]],
    ["a mailbox removed, allowed by its path", plan(maildirs("update", ["contact", "tresorier"], ["contact"])), [`${P}/tresorier`], true, []],
    ["a mailbox removed, allowed by its domain", plan(maildirs("update", ["contact", "tresorier"], ["contact"])), [P], true, []],
    ["a mailbox removed, allowed by its member", plan(maildirs("update", ["contact", "tresorier"], ["contact"])), ["members/velo-libre"], true, []],
    ["another mailbox's leave does not count", plan(maildirs("update", ["contact", "tresorier"], ["contact"])), [`${P}/contact`], false, [`${P}/tresorier`]],
    ["the same local part in another domain does not count", plan(maildirs("update", ["contact", "tresorier"], ["contact"])), ["members/velo-libre/mail/other.example/tresorier"], false, [`${P}/tresorier`]],
    ["the domain deleted: one loss for every maildir", plan(maildirs("delete", ["contact", "tresorier"], null)), [], false, [P]],
  ])("%s", (_what, p, allowances, ok, wanted) => {
    const v = judge(p, { maxShare: 0.5, allowances });
    expect(v.ok).toBe(ok);
    const asked = [...formatVerdict(v).matchAll(/^ {2}Allow-Destroy: (.+)$/gm)].map((m) => m[1]).sort();
    expect(asked).toEqual(wanted);
  });

  it("names the mailbox, says it would come back empty and where its archive is, in English and in French", () => {
    const v = judge(plan(maildirs("update", ["contact", "tresorier"], ["contact"])), { maxShare: 0.5, allowances: [] });
    const text = formatVerdict(v);
    expect(text).toContain("guard: BLOCKED");
    expect(text).toContain(`BLOCKED  members/velo-libre: the mailbox tresorier@${DOMAIN} (its maildir, every message) would be deleted on mail1; the address made again later starts empty`);
    expect(text).toContain(`archived first to /var/backups/globenet-archive/mail/velo-libre--${DOMAIN}--tresorier-<UTC time>.tar.gz on mail1, verified before anything is removed`);
    expect(text).toContain(`  Allow-Destroy: ${P}/tresorier`);
    const fr = formatVerdict(v, "fr");
    expect(fr).toContain(`BLOQUÉ   members/velo-libre : la boîte tresorier@${DOMAIN} (son maildir, tous ses messages) serait supprimée sur mail1`);
    expect(fr).toContain(`archivé d'abord dans /var/backups/globenet-archive/mail/velo-libre--${DOMAIN}--tresorier-<heure UTC>.tar.gz sur mail1`);
    // Allowed: OK, and the archive still said.
    const ok = formatVerdict(judge(plan(maildirs("update", ["contact", "tresorier"], ["contact"])), { maxShare: 0.5, allowances: [`${P}/tresorier`] }));
    expect(ok).toContain("guard: OK — every destructive change is allowed explicitly:");
    expect(ok).toContain(`(Allow-Destroy: ${P}/tresorier)`);
  });
});

describe("the mailboxes a domain loses (lib/model/mail.ts removedMailboxes, used by the provider and the guard)", () => {
  it.each<[string, unknown, unknown, string[]]>([
    ["none removed", ["a", "b"], ["a", "b", "c"], []],
    ["one removed", ["a", "b"], ["a"], ["b"]],
    ["all removed", ["b", "a"], [], ["a", "b"]],
    ["after not a list (cannot happen after check): all of before", ["a"], undefined, ["a"]],
    ["before unknown (a state written before the list): nothing", undefined, ["a"], []],
    ["before not a list of strings: strings only", ["a", 3, null], [], ["a"]],
    ["duplicates once", ["a", "a"], [], ["a"]],
  ])("%s", (_what, before, after, gone) => {
    expect(removedMailboxes(before, after)).toEqual(gone);
  });
});

describe("the Maildirs resource's mailbox list (check and diff, no host)", () => {
  const inputs: MaildirsInputs = { target, handle: "velo-libre", domain: DOMAIN, mailboxes: ["contact", "tresorier"], vmailDir: "/var/vmail", archiveDir: "/var/backups/globenet-archive" };

  it("check refuses a mailbox name that could leave the domain's folder or reach the script as an option, and duplicates; sorts the list", () => {
    for (const bad of ["../etc", "a/b", "-rf", "Contact", "", "a..b", 7]) {
      const f = maildirsType.check({ ...inputs, mailboxes: ["contact", bad] }).failures;
      expect(f?.map((x) => x.property)).toEqual(["mailboxes"]);
    }
    expect(maildirsType.check({ ...inputs, mailboxes: "contact" }).failures?.[0]?.reason).toBe("must be a list of local parts");
    expect(maildirsType.check({ ...inputs, mailboxes: ["contact", "contact"] }).failures?.[0]?.reason).toBe("must not name a mailbox twice");
    expect(maildirsType.check({ ...inputs, mailboxes: ["tresorier", "contact"] }).inputs?.mailboxes).toEqual(["contact", "tresorier"]);
    // A state written before the list: kept without one (nothing removed until a list is stored).
    const { mailboxes: _m, ...old } = inputs;
    expect(maildirsType.check(old).inputs).toEqual(old);
  });

  it("a mailbox added or removed is an update, never a replacement (the other mailboxes' mail stays)", () => {
    const id = `mail1:maildirs:${DOMAIN}`;
    expect(maildirsType.diff(id, inputs, { ...inputs, mailboxes: ["contact"] })).toMatchObject({ changes: true, replaces: [], diffs: ["mailboxes"] });
    expect(maildirsType.diff(id, inputs, { ...inputs, mailboxes: ["contact", "secretariat", "tresorier"] })).toMatchObject({ changes: true, replaces: [] });
    const { mailboxes: _m, ...old } = inputs;
    expect(maildirsType.diff(id, old, inputs)).toMatchObject({ changes: true, replaces: [], diffs: ["mailboxes"] });
    expect(maildirsType.diff(id, inputs, { ...inputs }).changes).toBe(false);
  });
});

describe("purge-departure finds a removed mailbox's archive (provider/scripts/tools/purge-departure.sh, no root needed to list)", () => {
  const dir = mkdtempSync(join(tmpdir(), "globenet-purge-mailbox-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("lists <handle>--<domain>--<local>-<stamp>.tar.gz, a local part with _ or . included, and not another member's", () => {
    mkdirSync(join(dir, "mail"));
    const mine = [`velo-libre--${DOMAIN}-20261205T101500Z.tar.gz`, `velo-libre--${DOMAIN}--tresorier-20261205T101500Z.tar.gz`, `velo-libre--${DOMAIN}--jean_paul.m-20261205T101500Z-1.tar.gz`];
    const others = [`velo-libre-bis--${DOMAIN}--contact-20261205T101500Z.tar.gz`, `velo-libre--${DOMAIN}--contact-20261205T101500Z.tar.gz.partial`];
    for (const f of [...mine, ...others]) writeFileSync(join(dir, "mail", f), "x");
    const r = spawnSync("bash", [join(__dirname, "..", "provider/scripts/tools/purge-departure.sh"), dir, "list", "velo-libre"], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const listed = [...r.stdout.matchAll(/^file=(\S+) /gm)].map((m) => (m[1] as string).slice(dir.length + "/mail/".length)).sort();
    expect(listed).toEqual([...mine].sort());
  });
});
