/**
 * The Account's quota code on a real file system with user quotas (issue 20; docs/architecture.md,
 * "Disk quotas"), as far as this machine's kernel goes: an ext4 image, loop-mounted with
 * `usrquota`, its quota file made by Debian's quotacheck. The real setquota writes the limits
 * the Account computes (blocks and inodes) into that file, and they are read back with quota(1);
 * quota.sh's test and the usage view call the file system's quota off while the kernel has not
 * turned it on. Whether the kernel can turn it on is asked for real: where it can (a kernel with
 * a quota format), a write past the quota must fail for the user; where it cannot (this
 * machine: no CONFIG_QFMT_V2), the kernel's refusal is what is checked.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { quotaArgs } from "../provider/resources/account";
import { loadScript } from "../provider/scripts/load";
import { requireRoot, requireTools, run } from "./helpers/tools";

const ok = requireTools("setquota", "quotaon", "quotacheck", "quota", "mkfs.ext4", "mount", "umount", "findmnt", "setpriv") && requireRoot("a loop-mounted file system with user quotas");

const QUOTA_SH = loadScript("account/quota.sh");
const READ_USAGE = loadScript("account/quota.sh", "status/read-usage.sh");
const sh = (cmd: string, args: string[], input?: string) => run(cmd, args, { timeoutMs: 60_000, env: { LC_ALL: "C" }, ...(input !== undefined ? { input } : {}) });
/** A function of quota.sh, called as the converge calls it. */
const quotaFn = (fn: string, ...args: string[]) => sh("bash", ["-c", `${QUOTA_SH}\n${fn} "$@"`, "quota.sh", ...args]);
/** `quota -w -v -u USER`'s line for DEVICE: blocks used, soft, hard, then files used, soft, hard (no grace: soft = hard). */
function limits(user: string, device: string): number[] | undefined {
  const line = sh("quota", ["-w", "-v", "-u", user]).stdout.split("\n").find((l) => l.trim().split(/\s+/)[0] === device);
  return line?.trim().split(/\s+/).slice(1).map(Number);
}

describe.skipIf(!ok)("the Account's quota code on a loop-mounted ext4 with usrquota", () => {
  let dir: string;
  let mnt: string;
  let device: string;
  const user = "nobody";

  beforeAll(() => {
    dir = mkdtempSync("/tmp/globenet-quota-");
    mnt = join(dir, "homes");
    mkdirSync(mnt);
    const img = join(dir, "homes.img");
    expect(sh("truncate", ["-s", "32M", img]).status).toBe(0);
    expect(sh("mkfs.ext4", ["-q", "-F", img]).status).toBe(0);
    // The old-style mount option (a quota file on the file system), what Debian's quota package documents.
    const m = sh("mount", ["-o", "loop,usrquota", img, mnt]);
    expect(m.status, m.stderr).toBe(0);
    device = sh("findmnt", ["-n", "-o", "SOURCE", mnt]).stdout.trim();
    expect(device).toMatch(/^\/dev\/loop\d+$/);
    const c = sh("quotacheck", ["-c", "-u", "-m", mnt]);
    expect(c.status, c.stderr).toBe(0);
  });

  afterAll(() => {
    if (!dir) return;
    sh("quotaoff", ["-u", mnt]);
    sh("umount", [mnt]);
    rmSync(dir, { recursive: true, force: true });
  });

  it("quota_set gives setquota the Account's limits, blocks (1 KiB) and inodes, soft = hard: read back from the file system's quota file", () => {
    const [kb, inodes] = quotaArgs({ diskQuotaMb: 512, inodeQuota: 10_000 });
    expect(limits(user, device)).toEqual([0, 0, 0, 0, 0, 0]);
    const r = quotaFn("quota_set", user, kb, inodes, mnt);
    expect(r.status, r.stderr).toBe(0);
    expect(limits(user, device)).toEqual([0, 524_288, 524_288, 0, 10_000, 10_000]);
    // An update sets the new limits over the old ones.
    const [kb2, inodes2] = quotaArgs({ diskQuotaMb: 2, inodeQuota: 30 });
    expect(quotaFn("quota_set", user, kb2, inodes2, mnt).status).toBe(0);
    expect(limits(user, device)).toEqual([0, 2048, 2048, 0, 30, 30]);
    // A limit that is not a whole number never reaches setquota (which would read "1k" as a unit).
    const bad = quotaFn("quota_set", user, "1k", "30", mnt);
    expect([bad.status, bad.stderr.trim()]).toEqual([2, "quota_set: limits must be whole numbers"]);
    expect(limits(user, device)).toEqual([0, 2048, 2048, 0, 30, 30]);
    // setquota parses its arguments strictly: one limit short is refused, so the call above was read as four limits and a file system.
    const short = sh("setquota", ["-u", user, kb2, kb2, inodes2, mnt]);
    expect(short.status).not.toBe(0);
    expect(short.stderr).toMatch(/Bad inode hardlimit/);
  });

  it("quota files and usrquota are not enough: until the kernel turns quota on, quota_mount and the usage view say off; the kernel either enforces it or refuses, and which is checked", () => {
    expect(sh("quotaon", ["-p", "-u", mnt]).stdout).toContain(`user quota on ${mnt} (${device}) is off`);
    expect(quotaFn("quota_mount", mnt).status).toBe(1);
    const home = join(mnt, "velo");
    mkdirSync(home);
    expect(sh("bash", ["-c", `${READ_USAGE}`, "read-usage.sh", home]).stdout).toMatch(new RegExp(`^home ${home} \\d+ \\d+ off$`, "m"));

    const on = sh("quotaon", ["-u", mnt]);
    if (on.status === 0) {
      // A kernel with a quota format: what converge.sh then does, and the member is stopped at its limits.
      expect(quotaFn("quota_mount", mnt).stdout).toBe(mnt);
      expect(sh("bash", ["-c", `${READ_USAGE}`, "read-usage.sh", home]).stdout).toMatch(/ on$/m);
      sh("chown", [user, home]);
      const [kb, inodes] = quotaArgs({ diskQuotaMb: 1, inodeQuota: 5 });
      expect(quotaFn("quota_set", user, kb, inodes, mnt).status).toBe(0);
      const big = sh("setpriv", ["--reuid", user, "--regid", "nogroup", "--clear-groups", "dd", "if=/dev/zero", `of=${home}/big`, "bs=1M", "count=2", "conv=fsync"]);
      expect(big.status).not.toBe(0);
      expect(big.stderr).toMatch(/Disk quota exceeded/);
      const many = sh("setpriv", ["--reuid", user, "--regid", "nogroup", "--clear-groups", "bash", "-c", `for i in $(seq 1 10); do : > "${home}/f$i" || exit 1; done`]);
      expect(many.status).not.toBe(0);
      expect(many.stderr).toMatch(/Disk quota exceeded/);
    } else {
      // This machine (docs/architecture.md, "Disk quotas"): CONFIG_QUOTA without a quota format.
      expect(on.stderr).toMatch(/Quota format not supported in kernel/);
      const config = sh("bash", ["-c", "zcat /proc/config.gz 2>/dev/null || cat /boot/config-$(uname -r)"]).stdout;
      expect(config).toMatch(/^# CONFIG_QFMT_V2 is not set$/m);
      expect(sh("quotaon", ["-p", "-u", mnt]).stdout).toContain("is off");
      expect(quotaFn("quota_mount", mnt).status).toBe(1);
    }
  });
});

