// Unit tier: a member's disk_quota_mb and inode_quota (issue 20): defaults from the inventory,
// refused above the inventory's maxima with file:line, and the limits the Account gives setquota.
import { describe, expect, it } from "vitest";
import { loadModel } from "../lib/check/build";
import { quotaArgs } from "../provider/resources/account";
import { baseFiles, errorsOf, memberWith, writeTree } from "./helpers/data-tree";

const M = "members/velo-libre/member.yaml";
const member = (lines: string) => memberWith("databases:\n", `${lines}databases:\n`);
const inventoryWith = (extra: string) => (baseFiles()["Pulumi.test.yaml"] as string).replace('    php_versions: ["8.2"]\n', `    php_versions: ["8.2"]\n${extra}`);
const INV = "Pulumi.test.yaml";

describe("disk_quota_mb and inode_quota are refused with file:line and what to do", () => {
  const refused: [string, Record<string, string>, RegExp][] = [
    ["disk above the stack's default maximum (20480 MB)", { [M]: member("disk_quota_mb: 30000\n") }, new RegExp(`^${M}:\\d+:\\d+ disk_quota_mb: is 30000, above this stack's maximum of 20480 \\(disk_quota\\.max_mb, Pulumi\\.test\\.yaml:\\d+ .*\\) \\(ask the hosting team: they raise disk_quota\\.max_mb in the inventory if the web host's disk has room\\)$`)],
    ["disk above a maximum the inventory lowered", { [M]: member("disk_quota_mb: 3000\n"), [INV]: inventoryWith("    disk_quota: { max_mb: 2048 }\n") }, new RegExp(`^${M}:\\d+:\\d+ disk_quota_mb: is 3000, above this stack's maximum of 2048 \\(disk_quota\\.max_mb, Pulumi\\.test\\.yaml:6 `)],
    ["inodes above the stack's default maximum (1000000)", { [M]: member("inode_quota: 2000000\n") }, new RegExp(`^${M}:\\d+:\\d+ inode_quota: is 2000000, above this stack's maximum of 1000000 \\(disk_quota\\.max_inodes, Pulumi\\.test\\.yaml:\\d+ .*\\) \\(ask the hosting team: they raise disk_quota\\.max_inodes in the inventory if the web host's disk has room\\)$`)],
    ["inodes above a maximum the inventory lowered", { [M]: member("inode_quota: 60000\n"), [INV]: inventoryWith("    disk_quota: { max_inodes: 50000, default_inodes: 20000 }\n") }, new RegExp(`^${M}:\\d+:\\d+ inode_quota: is 60000, above this stack's maximum of 50000 \\(disk_quota\\.max_inodes, Pulumi\\.test\\.yaml:6 `)],
    ["inodes written in quotes", { [M]: member('inode_quota: "50000"\n') }, new RegExp(`^${M}:\\d+:\\d+ inode_quota: must be a whole number of inodes \\(write a number without quotes\\)$`)],
    ["inodes that are not whole", { [M]: member("inode_quota: 1.5\n") }, new RegExp(`^${M}:\\d+:\\d+ inode_quota: must be a whole number of inodes$`)],
    ["no inode at all", { [M]: member("inode_quota: 0\n") }, new RegExp(`^${M}:\\d+:\\d+ inode_quota: must be at least 1 inodes$`)],
    ["a maximum that is not a whole number of MB", { [INV]: inventoryWith("    disk_quota: { max_mb: 0 }\n") }, /^Pulumi\.test\.yaml:6:\d+ .*disk_quota\.max_mb: must be at least 1 MB/],
    ["a default above the maximum (MB)", { [INV]: inventoryWith("    disk_quota: { default_mb: 4096, max_mb: 2048 }\n") }, /^Pulumi\.test\.yaml:6:\d+ .*disk_quota: default_mb \(4096\) is above max_mb \(2048\): a member asking for nothing would already be over the limit \(lower default_mb or raise max_mb\)$/],
    ["a default above the maximum (inodes)", { [INV]: inventoryWith("    disk_quota: { max_inodes: 50000 }\n") }, /^Pulumi\.test\.yaml:6:\d+ .*disk_quota: default_inodes \(100000\) is above max_inodes \(50000\): a member asking for nothing would already be over the limit \(lower default_inodes or raise max_inodes\)$/],
    ["an unknown key in disk_quota", { [INV]: inventoryWith("    disk_quota: { inodes: 5 }\n") }, /^Pulumi\.test\.yaml:6:\d+ .*disk_quota\.inodes: unknown key/],
  ];
  it.each(refused)("%s", (_what, files, expected) => {
    const errors = errorsOf(files);
    expect(errors.some((e) => expected.test(e)), errors.join("\n")).toBe(true);
  });

  it("at the maximum, or below it, is accepted", () => {
    expect(errorsOf({ [M]: member("disk_quota_mb: 20480\ninode_quota: 1000000\n") })).toEqual([]);
    expect(errorsOf({ [M]: member("disk_quota_mb: 2048\ninode_quota: 50000\n"), [INV]: inventoryWith("    disk_quota: { max_mb: 2048, max_inodes: 50000, default_inodes: 50000 }\n") })).toEqual([]);
  });
});

describe("a member's quotas: its file's, else the inventory's defaults", () => {
  const quotas = (files: Record<string, string>) => {
    const { model, errors } = loadModel(writeTree(files), "test");
    expect(errors).toEqual([]);
    const m = model!.members.find((x) => x.handle === "velo-libre")!;
    return [m.diskQuotaMb, m.inodeQuota];
  };
  const table: [string, Record<string, string>, [number, number]][] = [
    ["nothing said anywhere: 1024 MB and 100000 inodes", {}, [1024, 100_000]],
    ["the inventory's defaults", { [INV]: inventoryWith("    disk_quota: { default_mb: 2048, default_inodes: 250000 }\n") }, [2048, 250_000]],
    ["the member's file wins over the defaults", { [M]: member("disk_quota_mb: 512\ninode_quota: 30000\n"), [INV]: inventoryWith("    disk_quota: { default_mb: 2048, default_inodes: 250000 }\n") }, [512, 30_000]],
    ["one given, the other the default", { [M]: member("inode_quota: 30000\n"), [INV]: inventoryWith("    disk_quota: { default_mb: 3000 }\n") }, [3000, 30_000]],
  ];
  it.each(table)("%s", (_what, files, expected) => {
    expect(quotas(files)).toEqual(expected);
  });
});

describe("what the Account gives setquota (provider/scripts/account/quota.sh's quota_set: blocks of 1 KiB, then inodes)", () => {
  const table: [number, number, [string, string]][] = [
    [1, 1, ["1024", "1"]],
    [1024, 100_000, ["1048576", "100000"]],
    [20_480, 1_000_000, ["20971520", "1000000"]],
  ];
  it.each(table)("%i MB and %i inodes → QUOTA_KB and QUOTA_INODES %j", (diskQuotaMb, inodeQuota, args) => {
    expect(quotaArgs({ diskQuotaMb, inodeQuota })).toEqual(args);
  });
});
