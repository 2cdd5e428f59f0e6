import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { purgeDecision } from "../lib/cli/backup-purge-departure";
import { offlineGuard } from "../lib/diff/offline-guard";
import { formatVerdict } from "../lib/guard/rules";
import { captureIo } from "../lib/cli/command";
import { main } from "../lib/cli/main";
import { baseFiles, errorsOf, HOST_KEY, writeTree } from "./helpers/data-tree";

/*
 * Unit tier: when `npm run backup -- purge-departure` may remove a departed member's archives
 * (lib/cli/backup-purge-departure.ts): declared in the member's file, committed, and allowed
 * by an Allow-Destroy line; and the member field's rule. The removal on a host, for real, is in
 * tests/provider-backup.test.ts.
 */

const M = "members/velo-libre/member.yaml";
const ACTIVE = "handle: velo-libre\nname: Association Vélo Libre\ncontact:\n  email: bureau@velo-libre.example\nstatus: active\nsites:\n  - host: velo-libre.example\ndatabases:\n  - name: velo_wp\n  - name: velo_old\n";
const DEPARTED = "handle: velo-libre\nname: Association Vélo Libre\ncontact:\n  email: bureau@velo-libre.example\nstatus: departed\n";

function git(root: string, ...args: string[]): string {
  const r = spawnSync("git", ["-C", root, "-c", "user.name=t", "-c", "user.email=t@example.org", ...args], { encoding: "utf8" });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

/** A checkout where velo-libre was active (two databases), then departed, in commits of their own. */
function history(): string {
  const inv = (baseFiles()["Pulumi.test.yaml"] as string).replace("    hosts:\n", "    backup: {}\n    hosts:\n") +
    `      bk1:\n        roles: [backup]\n        fqdn: bk1.globenet.example\n        address: 198.51.100.80\n        ssh: { user: globenet-deploy, host_key: "${HOST_KEY}" }\n`;
  // Departed as members/README.md says: its VPS file and zone gone too.
  const root = writeTree({ [M]: ACTIVE, "Pulumi.test.yaml": inv, "members/velo-libre/vps/atelier.yaml": null, "zones/velo-libre.example.yaml": null });
  git(root, "init", "-q", "-b", "main");
  git(root, "add", "-A");
  git(root, "commit", "-q", "-m", "initial");
  writeFileSync(join(root, M), DEPARTED);
  git(root, "commit", "-q", "-am", "velo-libre leaves\n\nAllow-Destroy: members/velo-libre");
  return root;
}

describe("purge-departure: declared in git, then allowed", () => {
  it("refused while the file does not declare it, by the command too (before any host is reached)", async () => {
    const root = history();
    const io = captureIo();
    expect(await main(["backup", "purge-departure", "velo-libre", "--yes", "--stack", "test", "--root", root], io)).toBe(2);
    expect(io.stderr).toContain(`${M} does not declare the purge`);
    expect(io.stdout).toBe("");
    expect(() => purgeDecision(root, "velo-libre")).toThrow(`${M} does not declare the purge: set status: departed and purge_archives: true in ${M}, in a commit whose message has the line "Allow-Destroy: departures/velo-libre", reviewed and merged`);
  });

  it("refused for a member that has not departed, and for an unknown one", () => {
    const root = writeTree({ [M]: `${ACTIVE}` });
    expect(() => purgeDecision(root, "velo-libre")).toThrow("velo-libre has not departed (status: active)");
    expect(() => purgeDecision(root, "nobody")).toThrow("there is no members/nobody/member.yaml");
  });

  it("refused when declared but not committed, or committed without the Allow-Destroy line", () => {
    const root = history();
    writeFileSync(join(root, M), `${DEPARTED}purge_archives: true\n`);
    expect(() => purgeDecision(root, "velo-libre")).toThrow("members/velo-libre/ has changes that are not committed");
    git(root, "commit", "-q", "-am", "purge velo-libre's archives\n\nAllow-Destroy: members/velo-libre");
    expect(() => purgeDecision(root, "velo-libre")).toThrow('no commit says "Allow-Destroy: departures/velo-libre"');
  });

  it("the line in an empty commit counts (what the guard's message suggests); another member's line does not", () => {
    const root = history();
    writeFileSync(join(root, M), `${DEPARTED}purge_archives: true\n`);
    git(root, "commit", "-q", "-am", "purge");
    git(root, "commit", "-q", "--allow-empty", "-m", "other\n\nAllow-Destroy: departures/velo, departures/velo-libre-2");
    expect(() => purgeDecision(root, "velo-libre")).toThrow('no commit says "Allow-Destroy: departures/velo-libre"');
    git(root, "commit", "-q", "--allow-empty", "-m", "intended\n\nallow-destroy: departures/velo-libre");
    expect(purgeDecision(root, "velo-libre").allowedBy.subject).toBe("intended");
  });

  it("allowed: declared, committed with the line; the member's databases come from the file's history", () => {
    const root = history();
    writeFileSync(join(root, M), `${DEPARTED}purge_archives: true\n`);
    git(root, "commit", "-q", "-am", "Purge velo-libre's departure archives\n\nAllow-Destroy: departures/velo-libre");
    const d = purgeDecision(root, "velo-libre");
    expect(d.databases).toEqual(["velo_old", "velo_wp"]);
    expect(d.allowedBy.subject).toBe("Purge velo-libre's departure archives");
    expect(d.allowedBy.sha).toBe(git(root, "rev-parse", "HEAD").trim());
  });
});

describe("the guard: a declared purge is a guarded deletion in the plan (npm run guard, the MR note)", () => {
  it("asks Allow-Destroy: departures/<handle> for the change that declares it, and only for that change", async () => {
    const root = history();
    const base = git(root, "rev-parse", "HEAD").trim();
    writeFileSync(join(root, M), `${DEPARTED}purge_archives: true\n`);
    git(root, "commit", "-q", "-am", "purge velo-libre's archives");
    const blocked = await offlineGuard({ root, stack: "test", base: { ref: base } });
    expect(blocked.verdict.ok).toBe(false);
    expect(blocked.verdict.needed).toEqual(["departures/velo-libre"]);
    const text = formatVerdict(blocked.verdict);
    expect(text).toContain("BLOCKED  departures/velo-libre: the departure archives of velo-libre (home, crontab, sites, database dumps, VPS disks, maildirs in archive_dir) may then be removed from the hosts (npm run backup -- purge-departure velo-libre)");
    expect(text).toContain("kept in place: in the backup repository, until retention prunes the last snapshot that holds them");
    expect(text).toContain("  Allow-Destroy: departures/velo-libre");
    expect(formatVerdict(blocked.verdict, "fr")).toContain("les archives de départ de velo-libre");
    // members/velo-libre (the departure's line) does not cover the purge.
    git(root, "commit", "-q", "--allow-empty", "-m", "x\n\nAllow-Destroy: members/velo-libre");
    expect((await offlineGuard({ root, stack: "test", base: { ref: base } })).verdict.ok).toBe(false);
    git(root, "commit", "-q", "--allow-empty", "-m", "the purge is intended\n\nAllow-Destroy: departures/velo-libre");
    const allowed = await offlineGuard({ root, stack: "test", base: { ref: base } });
    expect(allowed.verdict.ok).toBe(true);
    expect(allowed.verdict.losses.map((l) => `${l.path} ${l.allowedBy}`)).toEqual(["departures/velo-libre departures/velo-libre"]);
    // Once merged, later changes do not ask again.
    const later = git(root, "rev-parse", "HEAD").trim();
    writeFileSync(join(root, "README.md"), "x\n");
    git(root, "add", "README.md");
    git(root, "commit", "-q", "-m", "docs");
    expect((await offlineGuard({ root, stack: "test", base: { ref: later } })).verdict.losses).toEqual([]);
  });
});

describe("purge_archives in a member file", () => {
  it("only for a departed member, with file:line", () => {
    const errs = errorsOf({ [M]: `${ACTIVE.replace("status: active\n", "status: suspended\n")}purge_archives: true\n` });
    expect(errs).toContain(`${M}:11:17 purge_archives: purge_archives is only for a departed member (status: departed); velo-libre is suspended and its archives are kept (remove purge_archives)`);
  });

  it("true or nothing", () => {
    const errs = errorsOf({ [M]: `${DEPARTED}purge_archives: false\n` });
    expect(errs.filter((e) => e.includes("purge_archives: must be true (write it only to purge a departed member's archives; leave it out to keep them)"))).toHaveLength(1);
  });
});
