import { describe, expect, it } from "vitest";
import type { Plan, PlanStep } from "../lib/guard/plan";
import { formatVerdict, judge } from "../lib/guard/rules";

/*
 * Unit tier: removing a site is an update of the hosting account (the provider archives
 * ~<handle>/sites/<host>, then deletes it), not a delete; the guard asks for Allow-Destroy
 * all the same. Same shape of plan as tests/guard-rules.test.ts.
 */

const target = { name: "web1", address: "192.0.2.10", port: 22, user: "globenet-deploy", hostKey: "k" };
const account = (op: string, before: string[] | undefined, after: string[] | undefined, handle = "velo-libre"): PlanStep => ({
  op,
  type: "globenet:hosting:Account",
  name: handle,
  urn: `urn:pulumi:prod::globenet-infra::globenet:member:Member$globenet:hosting:Account::${handle}`,
  old: before && { handle, sites: before, target, archiveDir: "/var/backups/globenet-archive" },
  new: after && { handle, sites: after, target, archiveDir: "/var/backups/globenet-archive" },
});
const members = ["velo-libre", "a2", "a3", "a4", "a5", "a6"].map((n): PlanStep => ({ op: "same", type: "globenet:member:Member", name: n, urn: `urn:pulumi:prod::globenet-infra::globenet:member:Member::${n}` }));
const plan = (...steps: PlanStep[]): Plan => ({ stack: "prod", steps: [...members, ...steps] });

describe("the guard and a site's removal", () => {
  it.each<[string, Plan, string[], boolean, string[]]>([
    ["a site added: nothing lost", plan(account("update", ["velo-libre.example"], ["agenda.velo-libre.example", "velo-libre.example"])), [], true, []],
    ["a status change, same sites: nothing lost", plan(account("update", ["velo-libre.example"], ["velo-libre.example"])), [], true, []],
    ["a site removed without leave", plan(account("update", ["agenda.velo-libre.example", "velo-libre.example"], ["velo-libre.example"])), [], false, ["members/velo-libre/sites/agenda.velo-libre.example"]],
    ["a site renamed: the old folder goes", plan(account("update", ["velo-libre.example"], ["velo-libre.org"])), [], false, ["members/velo-libre/sites/velo-libre.example"]],
    ["two sites removed, each named", plan(account("update", ["a.example", "b.example", "c.example"], ["b.example"])), [], false, ["members/velo-libre/sites/a.example", "members/velo-libre/sites/c.example"]],
    ["a site removed, allowed by its path", plan(account("update", ["a.example", "b.example"], ["b.example"])), ["members/velo-libre/sites/a.example"], true, []],
    ["a site removed, allowed by its member", plan(account("update", ["a.example", "b.example"], ["b.example"])), ["members/velo-libre"], true, []],
    ["another site's leave does not count", plan(account("update", ["a.example", "b.example"], ["b.example"])), ["members/velo-libre/sites/b.example"], false, ["members/velo-libre/sites/a.example"]],
    ["the account deleted: one loss for the whole home", plan(account("delete", ["a.example"], undefined)), [], false, ["members/velo-libre"]],
  ])("%s", (_what, p, allowances, ok, wanted) => {
    const v = judge(p, { maxShare: 0.5, allowances });
    expect(v.ok).toBe(ok);
    const asked = [...formatVerdict(v).matchAll(/^ {2}Allow-Destroy: (.+)$/gm)].map((m) => m[1]).sort();
    expect(asked).toEqual(wanted);
  });

  it("says which folder goes and where its archive is", () => {
    const text = formatVerdict(judge(plan(account("update", ["a.example", "b.example"], ["b.example"])), { maxShare: 0.5, allowances: [] }));
    expect(text).toContain("guard: BLOCKED");
    expect(text).toContain("BLOCKED  members/velo-libre: site folder ~velo-libre/sites/a.example (its files) would be deleted on web1");
    expect(text).toContain("archived first to /var/backups/globenet-archive/sites/velo-libre--a.example-<UTC time>.tar.gz on web1, verified before anything is removed");
  });
});
