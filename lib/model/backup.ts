import type { BackupSettings } from "../schema/inventory";
import { MAIL_PATHS } from "./mail";
import { paths } from "./paths";
import type { HostModel, Model } from "./types";

/**
 * What each protected host sends to the backup host (docs/architecture.md, "Backups"). One
 * BorgBackup repository per protected host. Archives are named `<kind>--<name>--<UTC stamp>`:
 * one per run for all the host's homes (`homes--<host>--…`: one borg process instead of one per
 * member, the cost `npm run bench -- backup` measures), one per run and source for the others,
 * so a listing per database, VPS or zone is a prefix.
 */
export type BackupSource =
  /** A member's home: sites, keys, crontab copy; caches and tmp left out. */
  | { kind: "home"; name: string; handle: string; path: string; excludes: string[] }
  /** A database, dumped while it is written (a consistent snapshot, no lock that stops the site). */
  | { kind: "database"; name: string; handle: string }
  /**
   * A VPS disk, the whole chain as one raw image, read at one point in time while the guest
   * runs (libvirt's pull-mode backup), frozen by the guest agent when one answers. `base` is
   * the base image the disk must be an overlay of: a stopped guest's disk is read by root, and
   * a header naming another backing file is refused (as the guest's delete does).
   */
  | { kind: "vps-disk"; name: string; handle: string; domain: string; disk: string; base: string }
  /**
   * A folder of Globenet's own: DNSSEC keys and signing state, mod_md's store, the archives, CI's
   * state backups, members' crontabs; on the mail host every member's maildirs
   * (`vmail`: <vmailDir>/<domain>/<local>/Maildir, one archive a night like the homes).
   */
  | { kind: "path"; name: PathSourceName; path: string };

export interface BackupHostPlan {
  /** The protected host (inventory name). */
  host: string;
  /** Its repository on the backup host. */
  repository: string;
  sources: BackupSource[];
}

export interface BackupPlan {
  /** The backup host (inventory name). */
  backupHost: HostModel;
  settings: BackupSettings;
  hosts: BackupHostPlan[];
}

/**
 * The archive kinds: `homes` holds every home of a host's run; `home` is the former one archive
 * per member, still listed, restored and expired (provider/scripts/backup/run.sh valid_archive
 * has the same list: tests/unit-backup-plan.test.ts compares them).
 */
/** The folders a host may send as `path--<name>` (one list for the plan and the provider's check). */
export const PATH_SOURCE_NAMES = ["dnssec", "acme", "archives", "state", "crontabs", "vmail"] as const;
export type PathSourceName = (typeof PATH_SOURCE_NAMES)[number];

export const ARCHIVE_KINDS = ["home", "homes", "database", "vps-disk", "path"] as const;

/** An archive name as globenet-backup makes them: <kind>--<name>--<UTC stamp>. */
export const ARCHIVE = new RegExp(`^(${ARCHIVE_KINDS.join("|")})--[A-Za-z0-9._-]+--\\d{8}T\\d{6}Z$`);

/**
 * The archive name prefix of one source (`home--<handle>--` names a member's former own
 * archives), and the id of its line in the host's status file (without the last `--`).
 */
export function archivePrefix(s: Pick<BackupSource, "kind" | "name">): string {
  return `${s.kind}--${s.name}--`;
}

/** The prefix of a host's homes archives: every home the host backs up, one archive a run. */
export function homesPrefix(host: string): string {
  return `homes--${host}--`;
}

/** Whether an archive name may hold the home of `handle` on `host`: the host's homes runs, or the member's former own archives. */
export function mayHoldHome(archive: string, host: string, handle: string): boolean {
  return ARCHIVE.test(archive) && (archive.startsWith(homesPrefix(host)) || archive.startsWith(archivePrefix({ kind: "home", name: handle })));
}

/**
 * The backup plan of a model, or undefined when no host has the backup role. Sources are
 * sorted by kind then name, hosts by name: the rendered configuration is stable.
 * Departed members have no home, database or VPS left; their departure archive is in the
 * archives folder of each host, which is backed up. Hosts that are one machine (same address
 * and SSH port: the lab) share one plan.
 */
export function backupPlan(model: Model): BackupPlan | undefined {
  const backupHost = model.hosts.find((h) => h.roles.includes("backup"));
  const settings = model.inventory.backup;
  if (!backupHost || !settings) return undefined;
  const archives = model.inventory.archive_dir;
  const plans: BackupHostPlan[] = [];
  const machineOf = new Map<string, string>();
  // Hosts by name, so a machine's plan carries its first name whatever the inventory's order.
  for (const h of [...model.hosts].sort((a, b) => a.name.localeCompare(b.name))) {
    if (h.name === backupHost.name) continue;
    const sources: BackupSource[] = [];
    if (h.roles.includes("web")) {
      for (const m of model.members) {
        if (m.webHost === h.name && m.status !== "departed") sources.push({ kind: "home", name: m.handle, handle: m.handle, path: m.home, excludes: settings.home_excludes });
      }
      if (model.inventory.acme && model.sites.some((s) => s.webHost === h.name && s.tls === "acme")) sources.push({ kind: "path", name: "acme", path: model.inventory.acme.store_dir });
      // Members' own cron jobs (crontab -e) live only here; the jobs of their files are in git too.
      sources.push({ kind: "path", name: "crontabs", path: paths.cronSpool });
    }
    if (h.roles.includes("db")) {
      for (const d of model.databases) if (d.dbHost === h.name && d.status !== "departed") sources.push({ kind: "database", name: d.name, handle: d.handle });
    }
    // Every member's maildirs (/var/vmail/<domain>/<local>), in one archive a night: one borg
    // process whatever the number of mailboxes (the homes' reason); a member's mail is its
    // domains' folders in it. Owned by the fixed vmail uid, so a restore keeps the owner.
    if (h.roles.includes("mail") && model.mail.some((d) => d.mailHost === h.name)) sources.push({ kind: "path", name: "vmail", path: MAIL_PATHS.vmailDir });
    if (h.roles.includes("dns-primary") && model.zones.some((z) => z.dnssec)) sources.push({ kind: "path", name: "dnssec", path: paths.dnssecKeyDir });
    if (h.roles.includes("hypervisor")) {
      for (const v of model.vps) if (v.hypervisor === h.name && v.status !== "departed") sources.push({ kind: "vps-disk", name: v.domain, handle: v.handle, domain: v.domain, disk: v.diskPath, base: v.imagePath });
    }
    // CI's state backups, on the host the protected runner writes them (backup.state).
    if (settings.state?.host === h.name) sources.push({ kind: "path", name: "state", path: settings.state.path });
    if (sources.length === 0 && !h.roles.some((r) => r === "web" || r === "db" || r === "hypervisor" || r === "mail")) continue;
    sources.push({ kind: "path", name: "archives", path: archives });
    // Inventory hosts reached at one address and port are one machine (the lab's 127.0.0.1):
    // one client, one repository, under the first of their names.
    const machine = `${h.address} ${h.host.ssh.port}`;
    const same = plans.find((p) => machineOf.get(p.host) === machine);
    if (same) {
      for (const src of sources) if (!same.sources.some((x) => x.kind === src.kind && x.name === src.name)) same.sources.push(src);
    } else {
      plans.push({ host: h.name, repository: `${settings.path}/${h.name}`, sources });
      machineOf.set(h.name, machine);
    }
  }
  for (const p of plans) p.sources.sort((a, b) => a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name));
  plans.sort((a, b) => a.host.localeCompare(b.host));
  return { backupHost, settings, hosts: plans };
}
