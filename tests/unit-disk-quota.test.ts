// Unit tier: a member's disk_quota_mb stays within the inventory's disk_quota.max_mb (issue 20's bad input).
import { describe, expect, it } from "vitest";
import { baseFiles, errorsOf, memberWith } from "./helpers/data-tree";

const M = "members/velo-libre/member.yaml";
const quota = (mb: string) => memberWith("databases:\n", `disk_quota_mb: ${mb}\ndatabases:\n`);
const inventoryWith = (extra: string) => (baseFiles()["Pulumi.test.yaml"] as string).replace('    php_versions: ["8.2"]\n', `    php_versions: ["8.2"]\n${extra}`);

describe("disk_quota_mb is refused with file:line and what to do", () => {
  const refused: [string, Record<string, string>, RegExp][] = [
    ["above the stack's default maximum (20480 MB)", { [M]: quota("30000") }, new RegExp(`^${M}:\\d+:\\d+ disk_quota_mb: is 30000, above this stack's maximum of 20480 \\(disk_quota\\.max_mb, Pulumi\\.test\\.yaml:\\d+ .*\\) \\(ask the hosting team: they raise disk_quota\\.max_mb in the inventory if the web host's disk has room\\)$`)],
    ["above a maximum the inventory lowered", { [M]: quota("3000"), "Pulumi.test.yaml": inventoryWith("    disk_quota: { max_mb: 2048 }\n") }, new RegExp(`^${M}:\\d+:\\d+ disk_quota_mb: is 3000, above this stack's maximum of 2048 \\(disk_quota\\.max_mb, Pulumi\\.test\\.yaml:6 `)],
    ["a maximum that is not a whole number of MB", { "Pulumi.test.yaml": inventoryWith("    disk_quota: { max_mb: 0 }\n") }, /^Pulumi\.test\.yaml:6:\d+ .*disk_quota\.max_mb: must be at least 1 MB/],
  ];
  it.each(refused)("%s", (_what, files, expected) => {
    const errors = errorsOf(files);
    expect(errors.some((e) => expected.test(e)), errors.join("\n")).toBe(true);
  });

  it("at the maximum, or below it, is accepted", () => {
    expect(errorsOf({ [M]: quota("20480") })).toEqual([]);
    expect(errorsOf({ [M]: quota("2048"), "Pulumi.test.yaml": inventoryWith("    disk_quota: { max_mb: 2048 }\n") })).toEqual([]);
  });
});
