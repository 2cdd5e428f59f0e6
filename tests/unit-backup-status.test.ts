import { describe, expect, it } from "vitest";
import { loadModel } from "../lib/check/build";
import { backupPlan, type BackupPlan } from "../lib/model/backup";
import { diskRestoreReport, sourcesOf } from "../lib/cli/backup";
import { formatBackups, judgeHost, judgeRepoChecks, needsAttention, parseStatus } from "../lib/status/backups";
import { cli } from "./helpers/cli";
import { baseFiles, HOST_KEY, writeTree } from "./helpers/data-tree";

/*
 * Unit tier: npm run status -- backups judges each protected host's status file
 * (lib/status/backups.ts) against the plan and the inventory's age limit.
 */

const INV = (baseFiles()["Pulumi.test.yaml"] as string).replace("    hosts:\n", "    backup: { max_age_hours: 26, check_every_days: 7 }\n    hosts:\n") +
  `      bk1:\n        roles: [backup]\n        fqdn: bk1.globenet.example\n        address: 198.51.100.80\n        ssh: { user: globenet-deploy, host_key: "${HOST_KEY}" }\n`;

function plan(): BackupPlan {
  const { model, errors } = loadModel(writeTree({ "Pulumi.test.yaml": INV }), "test");
  expect(errors).toEqual([]);
  return backupPlan(model!) as BackupPlan;
}

const NOW = new Date("2026-12-04T12:00:00Z");
const line = (id: string, result: string, lastOk: string, extra = "duration=12 size=1048576 added=2048 archive=x") => `${id} result=${result} last_ok=${lastOk} last_run=2026-12-04T02:31:00Z ${extra}`;

describe("backup status", () => {
  it("parses the status file's lines and skips what is not one", () => {
    expect(parseStatus("home--velo-libre result=ok last_ok=2026-12-04T02:30:12Z size=10\n\n$(rm) x=1\nrun result=failed failed=database--velo_wp\n")).toEqual([
      { id: "home--velo-libre", fields: { result: "ok", last_ok: "2026-12-04T02:30:12Z", size: "10" } },
      { id: "run", fields: { result: "failed", failed: "database--velo_wp" } },
    ]);
  });

  it.each<[string, string, string]>([
    ["a backup of this night", line("home--velo-libre", "ok", "2026-12-04T02:30:12Z"), "ok"],
    ["a backup older than the limit", line("home--velo-libre", "ok", "2026-12-03T02:30:12Z"), "stale"],
    ["a last run that failed, even with an older good one", line("home--velo-libre", "failed", "2026-12-04T02:30:12Z"), "failed"],
    ["a borg warning (a file changed while read) counts as a backup", line("home--velo-libre", "warning", "2026-12-04T02:30:12Z"), "ok"],
    ["nothing in the file for it", line("home--globenet", "ok", "2026-12-04T02:30:12Z"), "never"],
  ])("%s", (_what, text, state) => {
    const rows = judgeHost(plan(), "web1", text, NOW);
    expect(rows.find((r) => r.id === "home--velo-libre")?.state).toBe(state);
  });

  it("every source of the plan has a row, then the host's run and check; the check has its own limit", () => {
    const text = [
      line("database--velo_wp", "ok", "2026-12-04T02:31:00Z"),
      line("home--globenet", "ok", "2026-12-04T02:30:00Z"),
      line("home--velo-libre", "ok", "2026-12-04T02:30:00Z"),
      line("path--acme", "ok", "2026-12-04T02:30:00Z"),
      line("path--archives", "absent", "-"),
      line("path--crontabs", "ok", "2026-12-04T02:30:00Z"),
      line("homes", "ok", "2026-12-04T02:30:00Z"),
      line("run", "ok", "2026-12-04T02:32:00Z"),
      line("check", "ok", "2026-11-28T03:00:00Z"),
    ].join("\n");
    const rows = judgeHost(plan(), "web1", text, NOW);
    expect(rows.map((r) => `${r.id}:${r.state}`)).toEqual(["database--velo_wp:ok", "home--globenet:ok", "home--velo-libre:ok", "path--acme:ok", "path--archives:absent", "path--crontabs:ok", "homes:ok", "run:ok", "check:ok"]);
    expect(needsAttention(rows)).toEqual([]);
    // Nine days without a check is past check_every_days + 1.
    const late = judgeHost(plan(), "web1", text.replace("2026-11-28T03:00:00Z", "2026-11-25T03:00:00Z"), NOW);
    expect(needsAttention(late).map((r) => r.id)).toEqual(["check"]);
  });

  it("the homes run: one archive for every home, a line per member; a missing home fails that member only", () => {
    // What globenet-backup writes after a run where velo-libre's home was missing.
    const text = [
      line("homes", "ok", "2026-12-04T02:30:40Z", "duration=40 size=3145728000 added=30408704 archive=homes--web1--20261204T023000Z"),
      line("home--globenet", "ok", "2026-12-04T02:30:40Z", "duration=40 size=20971520 added=- archive=homes--web1--20261204T023000Z"),
      line("home--velo-libre", "failed", "2026-12-03T02:30:38Z", "duration=0 size=- added=- archive=-"),
    ].join("\n");
    const rows = judgeHost(plan(), "web1", text, NOW);
    const by = Object.fromEntries(rows.map((r) => [r.id, r]));
    expect([by["homes"]?.state, by["home--globenet"]?.state, by["home--velo-libre"]?.state]).toEqual(["ok", "ok", "failed"]);
    expect(by["home--globenet"]?.archive).toBe("homes--web1--20261204T023000Z");
    expect(needsAttention(rows).map((r) => r.id)).toContain("home--velo-libre");
    expect(needsAttention(rows).map((r) => r.id)).not.toContain("home--globenet");
    // The member's size is its home's; what it added is not known (the archive's is on the homes line).
    const en = formatBackups(rows, plan(), "en");
    expect(en).toMatch(/^web1 +home--globenet +ok +2026-12-04T02:30:40Z +9\.5 h +40 s +20\.0 MiB +-$/m);
    expect(en).toMatch(/^web1 +homes +ok +2026-12-04T02:30:40Z +9\.5 h +40 s +2\.9 GiB +29\.0 MiB$/m);
    expect(en).toMatch(/^web1 +home--velo-libre +FAILED +2026-12-03T02:30:38Z +33\.5 h +0 s +- +-$/m);
    // A host without homes has no homes row.
    expect(judgeHost(plan(), "ns1", undefined, NOW).map((r) => r.id)).not.toContain("homes");
  });

  it("a host that never ran: every row says never, and the table says what to do, in English and French", () => {
    const p = plan();
    const rows = judgeHost(p, "hv1", undefined, NOW);
    expect(rows.map((r) => r.state)).toEqual(["never", "never", "never", "never"]);
    const en = formatBackups(rows, p, "en");
    expect(en.split("\n")[0]).toMatch(/^host +what +state +last good +age +took +size +added$/);
    expect(en).toMatch(/^hv1 +vps-disk--velo-libre--atelier +NEVER/m);
    expect(en.trimEnd().split("\n").at(-1)).toBe("4 need attention (age limit 26 h): see the host's last run (/var/lib/globenet/backup/<host>/status), run again with npm run backup -- run --host <host>");
    const fr = formatBackups(judgeHost(p, "web1", line("home--velo-libre", "ok", "2026-12-04T02:30:12Z"), NOW), p, "fr");
    expect(fr).toMatch(/^web1 +home--velo-libre +ok +2026-12-04T02:30:12Z +9\.5 h +12 s +1\.0 MiB +2\.0 KiB$/m);
    expect(fr.trimEnd().split("\n").at(-1)).toMatch(/^\d+ à regarder \(limite d'âge 26 h\)/);
  });
});

describe("backup status of a VPS disk: how consistent the copy is", () => {
  it.each<[string, string, RegExp, RegExp]>([
    ["frozen", "ok", / ok \(frozen by the guest agent\)/, / ok \(gelé par l'agent de l'invité\)/],
    ["crash", "ok", / ok \(crash-consistent: no guest agent\)/, / ok \(sans gel : comme après une coupure\)/],
    ["off", "ok", / ok \(guest off\)/, / ok \(invité éteint\)/],
    ["crash", "failed", / FAILED \(crash-consistent: no guest agent\)/, / ÉCHEC \(sans gel : comme après une coupure\)/],
  ])("consistency=%s, result %s: the row and the table say it", (c, result, en, fr) => {
    const p = plan();
    const rows = judgeHost(p, "hv1", line("vps-disk--velo-libre--atelier", result, "2026-12-04T02:30:12Z", `duration=40 size=3221225472 added=1048576 archive=vps-disk--velo-libre--atelier--20261204T023000Z consistency=${c}`), NOW);
    const row = rows.find((r) => r.id === "vps-disk--velo-libre--atelier");
    expect(row?.consistency).toBe(c);
    expect(row?.state).toBe(result === "ok" ? "ok" : "failed");
    expect(formatBackups(rows, p, "en")).toMatch(en);
    expect(formatBackups(rows, p, "fr")).toMatch(fr);
  });

  it("an unknown consistency word is not shown (the file is the script's, but the view trusts no free text)", () => {
    const rows = judgeHost(plan(), "hv1", line("vps-disk--velo-libre--atelier", "ok", "2026-12-04T02:30:12Z", "consistency=$(rm)"), NOW);
    expect(rows[0]?.consistency).toBeUndefined();
    expect(formatBackups(rows, plan(), "en")).not.toContain("rm)");
  });
});

describe("npm run backup -- restore <member>/<vps>: what the volunteer reads", () => {
  it("staging only, or replaced with the old disk kept, in English and French", () => {
    expect(diskRestoreReport("staging=/var/lib/globenet/restore/20261204T100000Z/velo-libre--atelier.qcow2\n", "hv1", false)).toEqual([
      "restored image: /var/lib/globenet/restore/20261204T100000Z/velo-libre--atelier.qcow2 on hv1 (root's staging folder; run again with --replace to put it in place of the disk)",
    ]);
    const replaced = "staging=/x/d.qcow2\nstopped=velo-libre--atelier\nkept=/img/d.qcow2.before-restore-20261204T100000Z\nreplaced=/img/d.qcow2\nstarted=velo-libre--atelier\n";
    expect(diskRestoreReport(replaced, "hv1", false)).toEqual([
      "guest velo-libre--atelier stopped",
      "the old disk is kept: /img/d.qcow2.before-restore-20261204T100000Z on hv1 (remove it by hand once checked)",
      "restored disk in place: /img/d.qcow2",
      "guest velo-libre--atelier started",
    ]);
    expect(diskRestoreReport(replaced, "hv1", true)[1]).toBe("l'ancien disque est gardé : /img/d.qcow2.before-restore-20261204T100000Z sur hv1 (à effacer à la main une fois vérifié)");
  });

  it("refuses a path, --in-place, or a VPS that is not backed up, before reaching a host", async () => {
    const root = writeTree({ "Pulumi.test.yaml": INV });
    const path = await cli(["backup", "restore", "velo-libre/atelier", "etc/passwd", "--stack", "test", "--root", root]);
    expect([path.status, path.stderr.split("\n")[0]]).toEqual([2, "error: a VPS disk is restored whole: no path after velo-libre/atelier"]);
    const inPlace = await cli(["backup", "restore", "velo-libre/atelier", "--in-place", "--stack", "test", "--root", root]);
    expect([inPlace.status, inPlace.stderr.split("\n")[0]]).toEqual([2, "error: --in-place is for homes; a VPS disk is put in place with --replace"]);
    const none = await cli(["backup", "restore", "velo-libre/nothing", "--replace", "--stack", "test", "--root", root]);
    expect([none.status, none.stderr.split("\n")[0]]).toEqual([2, "error: velo-libre/nothing is not a VPS that is backed up in stack test (<member>/<vps>, as in members/<member>/vps/<vps>.yaml)"]);
    const at = await cli(["backup", "restore", "velo-libre/atelier", "--at", "home--velo-libre--20261204T023000Z", "--stack", "test", "--root", root]);
    expect([at.status, at.stderr.split("\n")[0]]).toEqual([2, "error: --at home--velo-libre--20261204T023000Z is not an archive of vps-disk--velo-libre--atelier (npm run backup -- list shows them)"]);
  });
});

describe("npm run backup: what a name stands for", () => {
  it("a member, a VPS, a zone or a host", async () => {
    const { model } = loadModel(writeTree({ "Pulumi.test.yaml": INV, "zones/velo-libre.example.yaml": 'owner: velo-libre\ndnssec: true\nrecords:\n  - { name: "@", type: TXT, value: "v=spf1 -all" }\n' }), "test");
    const p = backupPlan(model!) as BackupPlan;
    const ids = (what: string) => sourcesOf(p, model!, what).map((w) => `${w.host}:${w.source.kind}--${w.source.name}`);
    expect(ids("velo-libre")).toEqual(["hv1:vps-disk--velo-libre--atelier", "web1:database--velo_wp", "web1:home--velo-libre"]);
    expect(ids("velo-libre/atelier")).toEqual(["hv1:vps-disk--velo-libre--atelier"]);
    expect(ids("velo-libre.example")).toEqual(["ns1:path--dnssec"]);
    expect(ids("ns1")).toEqual(["ns1:path--archives", "ns1:path--dnssec"]);
    expect(ids("nobody")).toEqual([]);
  });

  it("refuses a path that climbs out of the home, and a name nothing stands for, before reaching a host", async () => {
    const root = writeTree({ "Pulumi.test.yaml": INV });
    const out = await cli(["backup", "restore", "velo-libre", "../../etc/shadow", "--stack", "test", "--root", root]);
    expect([out.status, out.stderr.split("\n")[0]]).toEqual([2, 'error: "../../etc/shadow" is not a path inside the home (like sites/velo-libre.example/htdocs/index.php)']);
    const at = await cli(["backup", "restore-db", "velo_wp", "--at", "home--velo-libre--20261204T023000Z", "--stack", "test", "--root", root]);
    expect([at.status, at.stderr.split("\n")[0]]).toEqual([2, "error: --at home--velo-libre--20261204T023000Z is not an archive of database--velo_wp (npm run backup -- list shows them)"]);
    // A member's home is restored from its host's homes archives or its own former ones only.
    for (const other of ["home--globenet--20261204T023000Z", "homes--ns1--20261204T023000Z", "homes--web1--2026"]) {
      const r = await cli(["backup", "restore", "velo-libre", "--at", other, "--stack", "test", "--root", root]);
      expect([r.status, r.stderr.split("\n")[0]]).toEqual([2, `error: --at ${other} is not an archive of homes--web1--… or home--velo-libre--… (npm run backup -- list shows them)`]);
    }
    const nobody = await cli(["backup", "list", "nobody", "--stack", "test", "--root", root]);
    expect([nobody.status, nobody.stderr.split("\n")[0]]).toEqual([2, 'error: nothing of "nobody" is backed up in stack test (a member, member/vps, a zone or a host)']);
  });
});

describe("CI's nightly backups job", () => {
  it("opens an issue only when a backup needs attention, naming host, source and last good run", async () => {
    const { backupsIssue } = await import("../lib/ci/note.js");
    const p = plan();
    const fresh = judgeHost(p, "web1", [line("run", "ok", "2026-12-04T02:32:00Z"), line("check", "ok", "2026-12-01T02:32:00Z"), ...["database--velo_wp", "home--globenet", "home--velo-libre", "homes", "path--acme", "path--archives", "path--crontabs"].map((id) => line(id, "ok", "2026-12-04T02:30:00Z"))].join("\n"), NOW);
    expect(backupsIssue("prod", JSON.parse(JSON.stringify(fresh)), "2026-12-04T12:00:00Z")).toBeUndefined();
    const late = judgeHost(p, "web1", line("home--velo-libre", "failed", "2026-12-02T02:30:00Z"), NOW);
    const issue = backupsIssue("prod", JSON.parse(JSON.stringify(late)), "2026-12-04T12:00:00Z");
    expect(issue?.title).toBe(`Backups on stack prod: ${needsAttention(late).length} need attention`);
    expect(issue?.body).toContain("web1  home--velo-libre  FAILED  last good: 2026-12-02T02:30:00.000Z (57.5 h ago)");
    expect(issue?.body).toContain("web1  database--velo_wp  NEVER  last good: never");
    expect(issue?.body).toContain("npm run backup -- run --host <host>");
  });

  it.each<[string, string, string]>([
    ["checked this week", "repository-check result=ok last_ok=2026-12-01T14:30:02Z last_run=2026-12-01T14:30:02Z duration=40", "ok"],
    ["checked nine days ago", "repository-check result=ok last_ok=2026-11-25T14:30:02Z last_run=2026-11-25T14:30:02Z duration=40", "stale"],
    ["the last check found damage", "repository-check result=failed last_ok=2026-12-01T14:30:02Z last_run=2026-12-03T14:30:02Z duration=40", "failed"],
    ["installed two days ago, not run yet", "repository-check result=scheduled last_ok=- last_run=- installed=2026-12-02T10:00:00Z", "scheduled"],
    ["installed ten days ago and never run (cron is not running)", "repository-check result=scheduled last_ok=- last_run=- installed=2026-11-24T10:00:00Z", "never"],
  ])("the backup host's weekly check, %s: %s", (_what, statusLine, state) => {
    const p = plan();
    const rows = judgeRepoChecks(p, p.hosts.map((h) => `${h.host} ${statusLine}`).join("\n"), NOW);
    expect(rows.map((r) => [r.host, r.id, r.state])).toEqual(p.hosts.map((h) => ["bk1", `repository-check--${h.host}`, state]));
    expect(needsAttention(rows).length > 0).toBe(state === "stale" || state === "failed" || state === "never");
  });

  it("a protected host whose repository has no check result on the backup host is never checked", () => {
    const p = plan();
    const [first, ...others] = p.hosts;
    const text = others.map((h) => `${h.host} repository-check result=ok last_ok=2026-12-01T14:30:02Z last_run=2026-12-01T14:30:02Z duration=4`).join("\n") + "\n$(id) repository-check result=ok\n";
    const rows = judgeRepoChecks(p, text, NOW);
    expect(rows.find((r) => r.name === first?.host)?.state).toBe("never");
    expect(rows.filter((r) => r.state === "ok").length).toBe(others.length);
  });
});
