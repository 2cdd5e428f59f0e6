/**
 * What each member uses (`npm run status -- usage`): its home's bytes and inodes on its web
 * host against its disk quota and inode quota (the member file's disk_quota_mb and inode_quota,
 * else the inventory's defaults), each of its databases' size on its database host, and its
 * mail: the folders of its mail domains on the mail host (every maildir of the domain, as du
 * counts them). Read live over the provider's SSH (lib/status/remote.ts), with constant scripts
 * (provider/scripts/status/read-usage.sh, which measures any folder it is given, and
 * read-db-sizes.sh).
 */
import type { Lang } from "../i18n/lang";
import { MAIL_PATHS } from "../model/mail";
import type { Model } from "../model/types";
import { loadScript } from "../../provider/scripts/load";
import { onHost } from "./remote";
import { humanBytes, textTable } from "./text-table";

const READ_USAGE = loadScript("account/quota.sh", "status/read-usage.sh");
const READ_DB_SIZES = loadScript("status/read-db-sizes.sh");

export interface UsageRow {
  handle: string;
  webHost?: string;
  /** Undefined: the member has no home on a web host (no site), or it was not found. */
  homeBytes?: number;
  homeInodes?: number;
  /** Whether the kernel's user quota is on for the home's file system (false: disk_quota_mb is a figure, not a limit). */
  quotaEnforced?: boolean;
  homeMissing: boolean;
  quotaMb: number;
  inodeQuota: number;
  databases: { name: string; dbHost: string; bytes?: number }[];
  /**
   * Its mail domains' folders on the mail host, added up (every mailbox's maildir; a domain
   * that has had no mail yet has no folder and counts 0). Undefined: no mail domain, or the
   * mail host was not read.
   */
  mail?: { host: string; domains: string[]; bytes?: number };
}

/** A mail domain's folder on the mail host: every maildir of the domain is under it. */
export const mailDomainDir = (domain: string, vmailDir: string = MAIL_PATHS.vmailDir) => `${vmailDir}/${domain}`;

/** `home <path> <bytes> <inodes> <quota on|off>` / `home <path> missing` lines, by path. */
export function parseHomes(out: string): Map<string, { bytes: number; inodes: number; quota?: boolean } | "missing"> {
  const m = new Map<string, { bytes: number; inodes: number; quota?: boolean } | "missing">();
  for (const line of out.split("\n")) {
    const f = line.trim().split(" ");
    if (f[0] !== "home" || !f[1]) continue;
    if (f[2] === "missing") m.set(f[1], "missing");
    else if (/^\d+$/.test(f[2] ?? "") && /^\d+$/.test(f[3] ?? "")) m.set(f[1], { bytes: Number(f[2]), inodes: Number(f[3]), ...(f[4] === "on" || f[4] === "off" ? { quota: f[4] === "on" } : {}) });
  }
  return m;
}

/** `db <name-hex> <bytes>` lines, by name. */
export function parseDbSizes(out: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of out.split("\n")) {
    const f = line.trim().split(" ");
    if (f[0] !== "db" || !/^([0-9A-Fa-f]{2})+$/.test(f[1] ?? "") || !/^\d+$/.test(f[2] ?? "")) continue;
    m.set(Buffer.from(f[1] as string, "hex").toString("utf8"), Number(f[2]));
  }
  return m;
}

/** One row per member with a home or a database, from what the hosts answered. */
export function usageRows(model: Model, homes: Map<string, ReturnType<typeof parseHomes>>, dbSizes: Map<string, Map<string, number>>, mailDirs: Map<string, ReturnType<typeof parseHomes>> = new Map()): UsageRow[] {
  const rows: UsageRow[] = [];
  for (const m of model.members) {
    const dbs = model.databases.filter((d) => d.handle === m.handle).map((d) => ({ name: d.name, dbHost: d.dbHost, bytes: dbSizes.get(d.dbHost)?.get(d.name) }));
    const domains = model.mail.filter((d) => d.handle === m.handle && d.status !== "departed");
    const mailHost = domains[0]?.mailHost;
    if (!m.webHost && dbs.length === 0 && domains.length === 0) continue;
    const read = mailHost ? mailDirs.get(mailHost) : undefined;
    // A domain without a folder has had no mail yet: 0 bytes, not a fault.
    const mailBytes = read ? domains.reduce((n, d) => { const x = read.get(mailDomainDir(d.domain)); return n + (x && x !== "missing" ? x.bytes : 0); }, 0) : undefined;
    const h = m.webHost ? homes.get(m.webHost)?.get(m.home) : undefined;
    rows.push({
      handle: m.handle,
      webHost: m.webHost,
      homeBytes: h && h !== "missing" ? h.bytes : undefined,
      homeInodes: h && h !== "missing" ? h.inodes : undefined,
      quotaEnforced: h && h !== "missing" ? h.quota : undefined,
      homeMissing: h === "missing",
      quotaMb: m.diskQuotaMb,
      inodeQuota: m.inodeQuota,
      databases: dbs,
      ...(mailHost ? { mail: { host: mailHost, domains: domains.map((d) => d.domain), ...(mailBytes !== undefined ? { bytes: mailBytes } : {}) } } : {}),
    });
  }
  return rows;
}

/** Reads every web host's homes and every database host's sizes. */
export async function readUsage(root: string, model: Model): Promise<UsageRow[]> {
  const homes = new Map<string, ReturnType<typeof parseHomes>>();
  for (const host of model.hosts.filter((h) => model.members.some((m) => m.webHost === h.name))) {
    const list = model.members.filter((m) => m.webHost === host.name).map((m) => m.home);
    homes.set(host.name, parseHomes(await onHost(root, host, READ_USAGE, list, `reading the homes' disk use on ${host.name}`)));
  }
  const sizes = new Map<string, Map<string, number>>();
  for (const host of model.hosts.filter((h) => model.databases.some((d) => d.dbHost === h.name))) {
    sizes.set(host.name, parseDbSizes(await onHost(root, host, READ_DB_SIZES, [], `reading the databases' sizes on ${host.name}`)));
  }
  const mailDirs = new Map<string, ReturnType<typeof parseHomes>>();
  for (const host of model.hosts.filter((h) => model.mail.some((d) => d.mailHost === h.name && d.status !== "departed"))) {
    const list = model.mail.filter((d) => d.mailHost === host.name && d.status !== "departed").map((d) => mailDomainDir(d.domain));
    mailDirs.set(host.name, parseHomes(await onHost(root, host, READ_USAGE, list, `reading the maildirs' disk use on ${host.name}`)));
  }
  return usageRows(model, homes, sizes, mailDirs);
}

/** The share of the quota a home uses, in percent (rounded down), or undefined. */
export function quotaPercent(r: UsageRow): number | undefined {
  return r.homeBytes === undefined ? undefined : Math.floor((r.homeBytes * 100) / (r.quotaMb * 1024 * 1024));
}

/** The share of the inode quota a home uses, in percent (rounded down), or undefined. */
export function inodePercent(r: UsageRow): number | undefined {
  return r.homeInodes === undefined ? undefined : Math.floor((r.homeInodes * 100) / r.inodeQuota);
}

/** Homes at or above this share of their quota (disk or inodes) are flagged. */
export const NEAR_QUOTA_PERCENT = 90;

export function formatUsage(rows: UsageRow[], lang: Lang = "en"): string {
  const fr = lang === "fr";
  const head = fr ? ["adhérent", "hôte", "disque", "quota", "%", "inodes", "bases de données", "courriel"] : ["member", "host", "disk", "quota", "%", "inodes", "databases", "mail"];
  const table = rows.map((r) => {
    const pct = quotaPercent(r);
    return [
      r.handle,
      r.webHost ?? "-",
      r.homeMissing ? (fr ? "PAS DE DOSSIER" : "NO HOME") : humanBytes(r.homeBytes),
      r.webHost ? `${r.quotaMb} MiB${r.quotaEnforced === false ? (fr ? " (non appliqué)" : " (not enforced)") : ""}` : "-",
      pct === undefined ? "-" : `${pct}${pct >= NEAR_QUOTA_PERCENT ? " !" : ""}`,
      r.homeInodes === undefined ? "-" : `${r.homeInodes} / ${r.inodeQuota}${(inodePercent(r) ?? 0) >= NEAR_QUOTA_PERCENT ? " !" : ""}`,
      r.databases.map((d) => `${d.name} ${d.bytes === undefined ? (fr ? "absente" : "missing") : humanBytes(d.bytes)}`).join(", ") || "-",
      r.mail ? `${humanBytes(r.mail.bytes)} (${r.mail.host})` : "-",
    ];
  });
  const near = rows.filter((r) => Math.max(quotaPercent(r) ?? 0, inodePercent(r) ?? 0) >= NEAR_QUOTA_PERCENT).map((r) => r.handle);
  const missing = rows.flatMap((r) => [...(r.homeMissing ? [`${r.handle}: ${fr ? "dossier personnel" : "home"} (${r.webHost})`] : []), ...r.databases.filter((d) => d.bytes === undefined).map((d) => `${r.handle}: ${fr ? "base" : "database"} ${d.name} (${d.dbHost})`)]);
  const gone = missing.length
    ? [
        fr
          ? `absent de l'hôte alors que git le décrit : ${missing.join(", ")} (regardez la dernière application : npm run preview)`
          : `missing on the host although git describes it: ${missing.join(", ")} (look at the last apply: npm run preview)`,
      ]
    : [];
  const last = near.length
    ? fr
      ? `${near.length} adhérent(s) à ${NEAR_QUOTA_PERCENT} % ou plus de leur quota (${near.join(", ")}) : prévenez-les, ou relevez disk_quota_mb (disque) ou inode_quota (inodes) dans leur fichier`
      : `${near.length} member(s) at ${NEAR_QUOTA_PERCENT} % or more of their quota (${near.join(", ")}): tell them, or raise disk_quota_mb (disk) or inode_quota (inodes) in their file`
    : fr
      ? `chaque adhérent est sous ${NEAR_QUOTA_PERCENT} % de son quota`
      : `every member is below ${NEAR_QUOTA_PERCENT} % of its quota`;
  // A quota the kernel does not enforce is said, host by host: the figures are du's, and nothing stops a member at its quota.
  const unenforced = [...new Set(rows.filter((r) => r.quotaEnforced === false).map((r) => r.webHost))];
  const noQuota = unenforced.length
    ? [
        fr
          ? `quotas disque NON appliqués sur ${unenforced.join(", ")} : le système de fichiers des dossiers personnels n'a pas de quota utilisateur actif ; les chiffres viennent de du, et rien n'arrête un adhérent à son quota (docs/architecture.md, « Disk quotas »)`
          : `disk quotas NOT enforced on ${unenforced.join(", ")}: the homes' file system has no user quota on; the figures are du's, and nothing stops a member at its quota (docs/architecture.md, "Disk quotas")`,
      ]
    : [];
  return [...textTable(head, table), "", ...gone, ...noQuota, last].join("\n");
}
