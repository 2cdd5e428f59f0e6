import { describe, expect, it } from "vitest";
import { loadModel } from "../lib/check/build";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ARCHIVE, ARCHIVE_KINDS, archivePrefix, backupPlan, homesPrefix, mayHoldHome } from "../lib/model/backup";
import { baseFiles, errorsOf, HOST_KEY, inventoryWithMailHost, writeTree } from "./helpers/data-tree";

/*
 * Unit tier: which host sends what to the backup host (lib/model/backup.ts), and the
 * inventory rules for the backup host (lib/check/hosts.ts checkBackupHost).
 */

const INV = baseFiles()["Pulumi.test.yaml"] as string;
const BK = `      bk1:
        roles: [backup]
        fqdn: bk1.globenet.example
        address: 198.51.100.80
        ssh: { user: globenet-deploy, host_key: "${HOST_KEY}" }
`;
const withBackup = (section = "    backup: {}\n", host = BK) => INV.replace("    hosts:\n", `${section}    hosts:\n`) + host;

function planOf(changes: Record<string, string | null>) {
  const { model, errors } = loadModel(writeTree(changes), "test");
  expect(errors.map((e) => e.message)).toEqual([]);
  return backupPlan(model!);
}

describe("backup plan", () => {
  it("none without a backup host", () => {
    expect(planOf({})).toBeUndefined();
  });

  it("each protected host: its homes, databases, VPS disks, DNSSEC keys, ACME store, and its archives", () => {
    const plan = planOf({
      "Pulumi.test.yaml": withBackup(),
      "zones/velo-libre.example.yaml": 'owner: velo-libre\ndnssec: true\nrecords:\n  - { name: "@", type: TXT, value: "v=spf1 -all" }\n',
    });
    expect(plan?.backupHost.name).toBe("bk1");
    expect(plan?.settings).toMatchObject({ path: "/srv/globenet-backup", user: "globenet-backup", time: "02:30", retention: { daily: 7, weekly: 4, monthly: 12 }, max_age_hours: 26 });
    const by = Object.fromEntries((plan?.hosts ?? []).map((h) => [h.host, h.sources.map((s) => `${s.kind}:${s.name}`)]));
    expect(by).toEqual({
      hv1: ["path:archives", "vps-disk:velo-libre--atelier"],
      ns1: ["path:archives", "path:dnssec"],
      web1: ["database:velo_wp", "home:globenet", "home:velo-libre", "path:acme", "path:archives", "path:crontabs"],
    });
    // The secondary holds nothing of its own (it transfers from the primary): not backed up.
    expect(plan?.hosts.map((h) => h.repository)).toEqual(["/srv/globenet-backup/hv1", "/srv/globenet-backup/ns1", "/srv/globenet-backup/web1"]);
    const home = plan?.hosts.find((h) => h.host === "web1")?.sources.find((s) => s.kind === "home" && s.name === "velo-libre");
    expect(home).toEqual({ kind: "home", name: "velo-libre", handle: "velo-libre", path: "/home/velo-libre", excludes: [".cache", "tmp", "sites/*/tmp", "sites/*/htdocs/wp-content/cache"] });
    const disk = plan?.hosts.find((h) => h.host === "hv1")?.sources.find((s) => s.kind === "vps-disk");
    expect(disk).toMatchObject({ domain: "velo-libre--atelier", disk: "/var/lib/libvirt/images/globenet/velo-libre--atelier.qcow2", handle: "velo-libre" });
    // The base image the disk must be an overlay of: a stopped guest's header is checked against it.
    expect(disk && "base" in disk && disk.base).toMatch(/^\/.+\.qcow2$/);
    expect(archivePrefix({ kind: "home", name: "velo-libre" })).toBe("home--velo-libre--");
  });

  it("a departed member's home, database and VPS are no longer sources (its departure archive is, with the archives)", () => {
    const plan = planOf({
      "Pulumi.test.yaml": withBackup(),
      "members/velo-libre/member.yaml": "handle: velo-libre\nname: Association Vélo Libre\ncontact:\n  email: bureau@velo-libre.example\nstatus: departed\n",
      "members/velo-libre/vps/atelier.yaml": null,
      "zones/velo-libre.example.yaml": null,
    });
    const names = (plan?.hosts ?? []).flatMap((h) => h.sources.map((s) => `${h.host}:${s.kind}:${s.name}`));
    expect(names.filter((n) => n.includes("velo"))).toEqual([]);
    expect(names).toContain("web1:path:archives");
  });

  it("the mail host sends every member's maildirs (path--vmail: /var/vmail, owned by the fixed vmail uid) with its archives; without a mail domain, its archives only (the DKIM keys' archive)", () => {
    const HASH = "{CRYPT}$y$j9T$40b7r1AlrfQHpo6uVN/4w0$4DFJCbWQyPXFjBFK1bQ9b4RR8i/kcF/oNaWGP.CLGJ5";
    const mail = `mail:\n  - domain: velo-libre.example\n    mailboxes:\n      - { local: contact, password_hash: "${HASH}" }\n`;
    const inv = inventoryWithMailHost().replace("    hosts:\n", "    backup: {}\n    hosts:\n") + BK;
    const sources = (changes: Record<string, string | null>) => planOf({ "Pulumi.test.yaml": inv, "zones/velo-libre.example.yaml": "owner: velo-libre\n", ...changes })?.hosts.find((h) => h.host === "mx1")?.sources;
    expect(sources({ "members/velo-libre/member.yaml": `${baseFiles()["members/velo-libre/member.yaml"]}${mail}` })).toEqual([
      { kind: "path", name: "archives", path: "/var/backups/globenet-archive" },
      { kind: "path", name: "vmail", path: "/var/vmail" },
    ]);
    expect(sources({})).toEqual([{ kind: "path", name: "archives", path: "/var/backups/globenet-archive" }]);
  });

  it("backup.state: the host the protected runner writes on sends that folder as path--state (a secondary, which sends nothing else, too)", () => {
    const plan = planOf({ "Pulumi.test.yaml": withBackup("    backup:\n      state: { host: web1, path: /var/backups/globenet-state }\n") });
    expect(plan?.settings.state).toEqual({ host: "web1", path: "/var/backups/globenet-state" });
    const web1 = plan?.hosts.find((h) => h.host === "web1")?.sources.filter((s) => s.kind === "path");
    expect(web1).toEqual([
      { kind: "path", name: "acme", path: "/var/lib/apache2/md" },
      { kind: "path", name: "archives", path: "/var/backups/globenet-archive" },
      { kind: "path", name: "crontabs", path: "/var/spool/cron/crontabs" },
      { kind: "path", name: "state", path: "/var/backups/globenet-state" },
    ]);
    expect(plan?.hosts.filter((h) => h.sources.some((s) => s.name === "state")).map((h) => h.host)).toEqual(["web1"]);
    expect(archivePrefix({ kind: "path", name: "state" })).toBe("path--state--");
    const ns2 = planOf({ "Pulumi.test.yaml": withBackup("    backup: { state: { host: ns2, path: /srv/state } }\n") });
    expect(ns2?.hosts.find((h) => h.host === "ns2")?.sources.map((s) => `${s.kind}:${s.name}`)).toEqual(["path:archives", "path:state"]);
    // Left out: no host sends a state folder.
    expect(planOf({ "Pulumi.test.yaml": withBackup() })?.hosts.flatMap((h) => h.sources).filter((s) => s.name === "state")).toEqual([]);
  });

  it("retention, time and excludes come from the inventory", () => {
    const plan = planOf({ "Pulumi.test.yaml": withBackup('    backup: { time: "04:10", retention: { daily: 3, monthly: 0 }, home_excludes: [cache], max_age_hours: 30 }\n') });
    expect(plan?.settings).toMatchObject({ time: "04:10", retention: { daily: 3, weekly: 4, monthly: 0 }, max_age_hours: 30 });
    expect(plan?.hosts.find((h) => h.host === "web1")?.sources.find((s) => s.kind === "home")).toMatchObject({ excludes: ["cache"] });
  });
});

describe("archive names", () => {
  it("the run script's valid_archive knows the same kinds as the model's ARCHIVE", () => {
    const script = readFileSync(join(__dirname, "../provider/scripts/backup/run.sh"), "utf8");
    const kinds = /valid_archive\(\) \{\n\s+\[\[ \$1 =~ \^\(([a-z|-]+)\)--/.exec(script)?.[1];
    expect(kinds?.split("|").sort()).toEqual([...ARCHIVE_KINDS].sort());
    // And the homes archives it makes are named by homesPrefix.
    expect(script).toContain('archive="homes--$HOST--$(date -u +%Y%m%dT%H%M%SZ)"');
    expect(homesPrefix("web1")).toBe("homes--web1--");
  });

  it.each<[string, boolean]>([
    ["homes--web1--20261204T023000Z", true],
    ["home--velo-libre--20261204T023000Z", true],
    ["homes--web2--20261204T023000Z", false],
    ["home--velo-libre2--20261204T023000Z", false],
    ["home--globenet--20261204T023000Z", false],
    ["database--velo_wp--20261204T023000Z", false],
    ["homes--web1--20261204T0230Z", false],
    ["homes--web1--20261204T023000Z/../x", false],
  ])("%s may hold velo-libre's home on web1: %s", (name, expected) => {
    expect(mayHoldHome(name, "web1", "velo-libre")).toBe(expected);
    expect(ARCHIVE.test(name)).toBe(!name.endsWith("0230Z") && !name.includes("/"));
  });
});

describe("the backup host's rules", () => {
  it.each<[string, string, string]>([
    ["a backup role without the backup: section", withBackup(""), "Pulumi.test.yaml:38:16 config[\"globenet-infra:inventory\"].hosts.bk1.roles: a host has the backup role but the inventory has no backup: section (add backup: {} for the defaults: 02:30, 7 daily, 4 weekly, 12 monthly)"],
    ["the backup: section without a backup host", INV.replace("    hosts:\n", "    backup: {}\n    hosts:\n"), "Pulumi.test.yaml:13:13 config[\"globenet-infra:inventory\"].backup: backup: is set but no host has the backup role (add the role to the backup machine, or remove the section)"],
    ["the backup host also a web host", withBackup("    backup: {}\n", BK.replace("roles: [backup]", "roles: [backup, web]")), "hosts.bk1.roles: the backup host must not also be web: a backup kept on a host it protects is lost with it (give the backup role to another machine)"],
    ["the backup host at a protected host's address", withBackup("    backup: {}\n", BK.replace("198.51.100.80", "192.0.2.20")), "hosts.bk1.address: 192.0.2.20 is also the address of hv1: the backup host must be another machine (only the lab shares 127.0.0.1)"],
    ["two backup hosts", withBackup("    backup: {}\n", BK + BK.replace("bk1", "bk2").replace("bk1.globenet", "bk2.globenet").replace("198.51.100.80", "198.51.100.81")), "hosts.bk2.roles: only one host may have the backup role, found bk1, bk2 (keep it on one)"],
    ["a bad time", withBackup('    backup: { time: "2:30" }\n'), 'backup.time: must be a time of day HH:MM like "02:30"'],
    ["an exclude that climbs out of the home", withBackup("    backup: { home_excludes: [../etc] }\n"), "backup.home_excludes[0]: must be relative to the home, without .."],
    ["state on an unknown host", withBackup("    backup:\n      state: { host: runner, path: /var/backups/globenet-state }\n"), 'Pulumi.test.yaml:14:22 config["globenet-infra:inventory"].backup.state.host: unknown host "runner" (the inventory host the protected CI runner writes the state backups on: hv1, ns1, ns2, web1)'],
    ["state on the backup host", withBackup("    backup:\n      state: { host: bk1, path: /var/backups/globenet-state }\n"), 'backup.state.host: "bk1" is the backup host: the state backups must be sent from another machine, or they are lost with it (name the host the protected CI runner writes on: hv1, ns1, ns2, web1)'],
    ["state at a relative path", withBackup("    backup: { state: { host: web1, path: state-backups } }\n"), "backup.state.path: must be an absolute path of letters, digits, '.', '_', '-' and '/' (like /var/backups/globenet)"],
    ["state at /", withBackup("    backup: { state: { host: web1, path: / } }\n"), "backup.state.path: must be the folder of the state backups (like /var/backups/globenet-state), not /"],
    ["state without its path", withBackup("    backup: { state: { host: web1 } }\n"), "Pulumi.test.yaml:13:22 config[\"globenet-infra:inventory\"].backup.state.path: is required (add path: …; see the README for an example)"],
    ["state as a bare host name", withBackup("    backup: { state: web1 }\n"), "backup.state: must be { host: <the inventory host the protected CI runner writes on>, path: <GLOBENET_STATE_BACKUP_DIR> }"],
    ["state with an unknown field", withBackup("    backup: { state: { host: web1, path: /srv/s, dir: /x } }\n"), "Pulumi.test.yaml:13:50 config[\"globenet-infra:inventory\"].backup.state.dir: unknown key (allowed here: host, path)"],
  ])("%s", (_what, inventory, expected) => {
    const errs = errorsOf({ "Pulumi.test.yaml": inventory });
    expect(errs.filter((e) => e.includes(expected)), errs.join("\n")).toHaveLength(1);
  });

  it("the lab's backup host may share 127.0.0.1 with the others", () => {
    const lab = withBackup("    backup: {}\n", BK.replace("198.51.100.80", "127.0.0.1")).replaceAll(/address: [0-9.]+/g, "address: 127.0.0.1");
    expect(errorsOf({ "Pulumi.test.yaml": lab }).filter((e) => e.includes("backup"))).toEqual([]);
  });
});

describe("hosts that are one machine", () => {
  it("the lab's hosts on 127.0.0.1 share one client and one repository, under the first name", () => {
    const lab = withBackup("    backup: {}\n", BK.replace("198.51.100.80", "127.0.0.1")).replaceAll(/address: [0-9.]+/g, "address: 127.0.0.1");
    const plan = planOf({ "Pulumi.test.yaml": lab });
    expect(plan?.hosts.map((h) => h.host)).toEqual(["hv1"]);
    expect(plan?.hosts[0]?.repository).toBe("/srv/globenet-backup/hv1");
    expect(plan?.hosts[0]?.sources.map((s) => `${s.kind}:${s.name}`)).toEqual(["database:velo_wp", "home:globenet", "home:velo-libre", "path:acme", "path:archives", "path:crontabs", "path:dnssec", "vps-disk:velo-libre--atelier"]);
  });
});
