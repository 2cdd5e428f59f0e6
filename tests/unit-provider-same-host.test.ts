import { describe, expect, it } from "vitest";
import { accountType } from "../provider/resources/account";
import { sameHost } from "../provider/resources/account-shared";
import { alertBridgeType } from "../provider/resources/alert-bridge";
import { backupClientType } from "../provider/resources/backup-client";
import { backupRepositoryType } from "../provider/resources/backup-repository";
import { crontabType } from "../provider/resources/crontab";
import { databaseType } from "../provider/resources/database";
import { dbSettingsType } from "../provider/resources/db-settings";
import { dkimKeyType } from "../provider/resources/dkim-key";
import { maildirsType } from "../provider/resources/maildirs";
import type { ResourceType, Target } from "../provider/types";

const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOHostKeyOfTheMachineHostKeyOfTheMachineAb";
const web1: Target = { name: "web1", address: "192.0.2.10", port: 22, user: "root", hostKey: HOST_KEY };

/** How a target may change between two runs, and whether that is another machine. */
const MOVES: { what: string; to: Target; other: boolean }[] = [
  { what: "renamed in the inventory (same address and port)", to: { ...web1, name: "web-a" }, other: false },
  { what: "renumbered under its name", to: { ...web1, address: "192.0.2.11" }, other: false },
  { what: "reinstalled (new host key), reached as another user", to: { ...web1, user: "globenet-deploy", hostKey: HOST_KEY.replace("Ab", "Cd") }, other: false },
  { what: "another host (name and address)", to: { ...web1, name: "web2", address: "192.0.2.12" }, other: true },
  { what: "another host on the same address, another port (the lab's hosts)", to: { ...web1, name: "web2", port: 2222 }, other: true },
];

describe("sameHost", () => {
  it.each(MOVES)("$what: another machine = $other", ({ to, other }) => {
    expect(sameHost(web1, to)).toBe(!other);
    expect(sameHost(to, web1)).toBe(!other);
  });
  it("an absent target is the same only as another absent one", () => {
    expect(sameHost(undefined, undefined)).toBe(true);
    expect(sameHost(web1, undefined)).toBe(false);
  });
});

// Each resource that holds data on its host, with inputs whose only change is the target's.
type AnyType = ResourceType<any, any>;
const RESOURCES: { name: string; type: AnyType; inputs: Record<string, unknown> }[] = [
  { name: "Account", type: accountType, inputs: { handle: "velo", home: "/home/velo", status: "active", access: "ssh", sshKeys: [], sites: [], archiveDir: "/var/backups/globenet", marked: true, drift: [] } },
  { name: "Crontab", type: crontabType, inputs: { handle: "velo", block: "", active: true } },
  { name: "Database", type: databaseType, inputs: { name: "velo_wp", user: "velo_wp", handle: "velo", status: "active", marked: true, drift: [] } },
  { name: "BackupRepository", type: backupRepositoryType, inputs: { account: "globenet-backup", path: "/srv/globenet-backup/web1", sourceHost: "web1", publicKey: "k", time: "03:00", drift: [] } },
  { name: "BackupClient", type: backupClientType, inputs: { backup: {}, sources: [], settings: {}, drift: [] } },
  { name: "AlertBridge", type: alertBridgeType, inputs: { unit: "u", env: "", drift: [] } },
  { name: "Maildirs", type: maildirsType, inputs: { handle: "velo", domain: "velo.example", mailboxes: [], vmailDir: "/var/vmail", archiveDir: "/var/backups/globenet" } },
  { name: "DkimKey", type: dkimKeyType, inputs: { selector: "g2026", domain: "velo.example", archiveDir: "/var/backups/globenet", drift: [] } },
  { name: "DbSettings", type: dbSettingsType, inputs: { slowQuerySeconds: 2, keepDays: 14, drift: [] } },
];

describe("a host renamed, renumbered or reinstalled is an update of what it holds; another machine is a replacement", () => {
  for (const r of RESOURCES) {
    it.each(MOVES)(`${r.name}: $what`, ({ to, other }) => {
      const d = r.type.diff("id", { ...r.inputs, target: web1 }, { ...r.inputs, target: to }) as { changes: boolean; replaces?: string[] };
      expect(d.changes).toBe(true);
      expect((d.replaces ?? []).includes("target")).toBe(other);
    });
    it(`${r.name}: the same target is no change`, () => {
      expect(r.type.diff("id", { ...r.inputs, target: web1 }, { ...r.inputs, target: { ...web1 } }).changes).toBe(false);
    });
  }
});
