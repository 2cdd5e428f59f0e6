import type { Model } from "../model/types";
import type { CertStatus } from "../status/certs";
import type { UsageRow } from "../status/usage";
import type { MailboxUse } from "../status/mail";
import type { MemberBackup } from "./backups";

/**
 * What one member sees (docs/architecture.md, "Member portal"): their own objects only, from
 * the model (git's data, as validate builds it) and, when the portal reads the hosts, the live
 * figures of the status views for that member alone. Pure: the server picks `handle` from the
 * session, never from the request.
 */
export interface MemberLive {
  certs?: CertStatus[];
  usage?: UsageRow;
  mailboxes?: MailboxUse[];
  /** The last backup of each of the member's objects (lib/portal/backups.ts). */
  backups?: MemberBackup[];
  /** Each VPS's state as its hypervisor reports it (lib/status/vps.ts). */
  vps?: { name: string; state: string }[];
  /** Why a live read failed (shown instead of figures). */
  error?: string;
  /** When the figures were read from the hosts (the lab: now; prod: the snapshot's taken_at, lib/portal/live.ts). */
  readAt?: Date;
  /** Why no figures are shown although live reads are on: the snapshot is too old, or there is none (for this member). */
  stale?: "old" | "missing";
}

export interface MemberView {
  handle: string;
  name: string;
  email: string;
  status: string;
  access: "ssh" | "sftp";
  diskQuotaMb: number;
  webHost?: string;
  sites: { host: string; aliases: string[]; redirects: string[]; php: string; tls: string; cert?: { notAfter: string; daysLeft: number; state: string } }[];
  databases: { name: string; host: string; credentials: string; bytes?: number }[];
  mailboxes: { address: string; quotaMb: number; bytes?: number }[];
  aliases: { address: string; to: string[] }[];
  vps: { name: string; vcpus: number; memoryMb: number; diskGb: number; image: string; ipv4?: string; ipv6?: string; fqdn: string; login: string; state?: string }[];
  usage?: { homeBytes?: number; quotaEnforced?: boolean };
  /** Only with the live reads: one per home, database and VPS disk of the member; `object` is the database's or VPS's name. */
  backups?: { kind: MemberBackup["kind"]; object: string; lastOk?: string; state: MemberBackup["state"] }[];
  liveError?: string;
  /** When the live figures were read, and why there are none (lib/portal/live.ts). */
  readAt?: string;
  stale?: MemberLive["stale"];
}

export function memberView(model: Model, handle: string, live: MemberLive = {}): MemberView | undefined {
  const m = model.members.find((x) => x.handle === handle);
  if (!m) return undefined;
  const fqdn = (host: string) => model.hosts.find((h) => h.name === host)?.fqdn ?? host;
  const certOf = (site: string) => live.certs?.find((c) => c.site === site);
  const dbBytes = (name: string) => live.usage?.databases.find((d) => d.name === name)?.bytes;
  const boxBytes = (address: string) => live.mailboxes?.find((b) => b.address === address)?.bytes;
  const mail = model.mail.filter((d) => d.handle === handle);
  return {
    handle,
    name: m.name,
    email: m.email,
    status: m.status,
    access: m.access,
    diskQuotaMb: m.diskQuotaMb,
    webHost: m.webHost ? fqdn(m.webHost) : undefined,
    sites: model.sites
      .filter((s) => s.handle === handle)
      .map((s) => {
        const c = certOf(s.host);
        return {
          host: s.host,
          aliases: s.aliases,
          redirects: s.redirects,
          php: s.php,
          tls: s.tls,
          ...(c?.cert ? { cert: { notAfter: c.cert.notAfter.toISOString().slice(0, 10), daysLeft: c.cert.daysLeft, state: c.state } } : {}),
        };
      }),
    databases: model.databases
      .filter((d) => d.handle === handle)
      .map((d) => ({ name: d.name, host: fqdn(d.dbHost), credentials: `~/.my.cnf.d/${d.name}.cnf`, bytes: dbBytes(d.name) })),
    mailboxes: mail.flatMap((d) => d.mailboxes.map((b) => ({ address: b.address, quotaMb: b.quotaMb, bytes: boxBytes(b.address) }))),
    aliases: mail.flatMap((d) => d.aliases.map((a) => ({ address: a.address, to: a.to }))),
    vps: model.vps
      .filter((v) => v.handle === handle)
      .map((v) => ({
        name: v.name,
        vcpus: v.vcpus,
        memoryMb: v.memoryMb,
        diskGb: v.diskGb,
        image: v.image,
        ipv4: v.ipv4?.address,
        ipv6: v.ipv6?.address,
        fqdn: v.fqdn,
        login: v.network.type === "user" ? `ssh -p ${v.network.sshForwardPort} ${handle}@${fqdn(v.hypervisor)}` : `ssh ${handle}@${v.ipv4?.address ?? v.fqdn}`,
        state: live.vps?.find((x) => x.name === v.name)?.state,
      })),
    ...(live.usage ? { usage: { homeBytes: live.usage.homeBytes, quotaEnforced: live.usage.quotaEnforced } } : {}),
    ...(live.backups
      ? {
          backups: live.backups.map((b) => ({
            kind: b.kind,
            object: b.kind === "vps-disk" ? (model.vps.find((v) => v.handle === handle && v.domain === b.name)?.name ?? b.name) : b.name,
            ...(b.lastOk ? { lastOk: `${b.lastOk.toISOString().slice(0, 16).replace("T", " ")} UTC` } : {}),
            state: b.state,
          })),
        }
      : {}),
    ...(live.error ? { liveError: live.error } : {}),
    ...(live.readAt ? { readAt: `${live.readAt.toISOString().slice(0, 16).replace("T", " ")} UTC` } : {}),
    ...(live.stale ? { stale: live.stale } : {}),
  };
}

/**
 * The same model restricted to one member's objects (or those of several: the snapshot's active
 * members, lib/portal/live.ts): what the status views read for the portal's live figures.
 */
export function modelOf(model: Model, handle: string | readonly string[]): Model {
  const keep = new Set(typeof handle === "string" ? [handle] : handle);
  return {
    ...model,
    members: model.members.filter((m) => keep.has(m.handle)),
    sites: model.sites.filter((s) => keep.has(s.handle)),
    databases: model.databases.filter((d) => keep.has(d.handle)),
    vps: model.vps.filter((v) => keep.has(v.handle)),
    mail: model.mail.filter((d) => keep.has(d.handle)),
  };
}
