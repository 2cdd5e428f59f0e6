import type { Host, Inventory, Role } from "../schema/inventory";
import type { DbLimits, Member } from "../schema/member";
import type { ZoneRecord } from "../schema/zone";
import type { CronJob } from "../schema/cron";
import type { PoolFieldValues } from "../schema/site-scope";
import { poolKey, poolSettings, type FpmPoolSettings } from "./fpm-pool-settings";

/**
 * The validated, derived model: everything the renderers and the Pulumi components need,
 * with no defaults left to guess. Arrays are sorted by their stable key so rendering is
 * deterministic.
 */
export interface Model {
  stack: string;
  inventory: Inventory;
  hosts: HostModel[];
  members: MemberModel[];
  sites: SiteModel[];
  databases: DatabaseModel[];
  vps: VpsModel[];
  zones: ZoneModel[];
  /** Members' mail domains, served by the inventory's mail host (lib/check/mail.ts). */
  mail: MailDomainModel[];
}

/** One member's mail domain, as the mail host serves it: every address whole and lower case. */
export interface MailDomainModel {
  handle: string;
  status: Member["status"];
  domain: string;
  /** The zone Globenet serves that holds the domain (its MX, SPF, DMARC… are derived there). */
  zone: string;
  mailHost: string;
  mailboxes: { address: string; local: string; quotaMb: number; passwordHash: string }[];
  /** Each alias's targets as whole addresses (a bare local part is of this domain). */
  aliases: { address: string; local: string; to: string[] }[];
  catchAll?: string;
  file: string;
}

export interface HostModel {
  name: string;
  roles: Role[];
  fqdn: string;
  address: string;
  ipv4?: string;
  ipv6?: string;
  host: Host;
}

export interface MemberModel {
  handle: string;
  name: string;
  status: Member["status"];
  email: string;
  sshKeys: string[];
  /** "ssh": keys and a shell; "sftp": chrooted SFTP only (keys and/or the password hash). */
  access: "ssh" | "sftp";
  /** access sftp: the crypt(3) hash the member gave (yescrypt or sha512-crypt), never a password. */
  passwordHash?: string;
  /** The home's disk quota in MB (the member file's disk_quota_mb, else the inventory's disk_quota.default_mb). */
  diskQuotaMb: number;
  /** The most inodes the home may hold (inode_quota, else disk_quota.default_inodes). */
  inodeQuota: number;
  /** Scheduled jobs, run as the member on its web host (members/<handle>/member.yaml cron:). */
  cron: CronJob[];
  /** Web host holding the account; undefined for a member with no sites (and departed members). */
  webHost?: string;
  home: string;
  /** Source file, for messages and audit. */
  file: string;
}

export interface SiteModel {
  handle: string;
  status: Member["status"];
  /** The canonical name (ServerName); unique across the whole tree. */
  host: string;
  aliases: string[];
  redirects: string[];
  php: string | "none";
  tls: "acme" | "none";
  dns: "managed" | "external";
  webHost: string;
  docroot: string;
  /** FPM socket when php is not "none". */
  fpmSocket?: string;
  /** The site's values for its pool's settings (lib/schema/site-scope.ts). */
  poolFields: PoolFieldValues;
  file: string;
}

export interface FpmPoolModel {
  handle: string;
  phpVersion: string;
  webHost: string;
  socket: string;
  home: string;
  /** Derived from the pool's sites, which agree on them (lib/check/fpm-pools.ts). */
  settings: FpmPoolSettings;
}

export interface DatabaseModel {
  handle: string;
  status: Member["status"];
  name: string;
  /** The MariaDB user: same as the database name. */
  user: string;
  dbHost: string;
  /** The host part of the MariaDB account: "localhost" when web and db host are one machine. */
  clientHost: string;
  limits: Required<Pick<DbLimits, "max_user_connections">> & DbLimits;
  /** Web host that receives ~/.my.cnf. */
  webHost?: string;
  /** rotate_password as text, when the member file has one: a new value, a new password. */
  rotation?: string;
  file: string;
}

export interface VpsModel {
  handle: string;
  name: string;
  status: Member["status"];
  /** libvirt domain name: <handle>--<name> (handles and names never contain "--"). */
  domain: string;
  hypervisor: string;
  vcpus: number;
  memoryMb: number;
  diskGb: number;
  image: string;
  imagePath: string;
  osVariant: string;
  diskPath: string;
  seedPath: string;
  ipv4?: { address: string; prefixLength: number; gateway: string };
  ipv6?: { address: string; prefixLength: number; gateway: string };
  mac: string;
  /** Name the PTR points at; A/AAAA derived for it where a zone we serve holds it. */
  fqdn: string;
  sshKeys: string[];
  resolvers: string[];
  domainType: "kvm" | "qemu";
  /** Seconds a graceful stop may take before the guest is forced off (the hypervisor's setting). */
  shutdownTimeoutSec: number;
  /** user (lab): the guest's SSH is forwarded by QEMU from sshForwardAddress:sshForwardPort on the machine running it. */
  network: { type: "bridge"; bridge: string } | { type: "user"; sshForwardPort: number; sshForwardAddress: string };
  /** A stable id for cloud-init (changes only if the VPS is recreated under the same name). */
  instanceId: string;
  /**
   * Boot this kernel directly instead of the disk's boot loader (the lab image is a bare
   * ext4 file system with no boot loader; see LAB-NOTES). Absent: boot from the disk.
   */
  directBoot?: {
    /** The guest's own copies (paths.vpsKernel/vpsInitrd), which the domain XML names. */
    kernel: string;
    initrd: string;
    cmdline: string;
    /** The image's kernel and initrd on the hypervisor, copied to the above. */
    kernelSource: string;
    initrdSource: string;
  };
  file: string;
}

export type ModelRecord = ZoneRecord & {
  /** "file": written in zones/<zone>.yaml; otherwise what it was derived from. */
  origin: "file" | "site" | "vps" | "host" | "ns" | "mail";
  /** For derived records, what asked for it (for comments in the zone file). */
  why?: string;
};

export interface ZoneModel {
  name: string;
  reverse: boolean;
  owner: string;
  ttl: number;
  /** Signed by BIND with the stack's dnssec policy; false: served unsigned (walked back if it was signed). */
  dnssec: boolean;
  /** BIND's built-in "default" policy kept from an adopted server (zones/*.yaml dnssec_policy); absent: the stack's. */
  dnssecPolicy?: "default";
  /** Hand-written and derived records, sorted by name then type then value. */
  records: ModelRecord[];
  primary: string;
  secondaries: string[];
  /** Name servers for the apex NS and SOA MNAME, as absolute names with the final dot. */
  nameservers: string[];
  /** SOA RNAME with the final dot, e.g. hostmaster.globenet.example. */
  hostmaster: string;
  file: string;
}

/**
 * The FPM pools follow from the sites: one per active member, PHP version and web host. A
 * suspended member has none (its sites show the notice): its PHP stops at the next FPM reload.
 */
const memberIndexes = new WeakMap<readonly MemberModel[], Map<string, number>>();

/**
 * The member of `handle` in the model (the first, as a scan would find it), through an index
 * of positions built once per members list: renderers ask once per pool or site, and a scan
 * each time grows with the square of the members. A list that has grown since is indexed
 * again; an answer the list no longer holds at that position falls back to the scan.
 */
export function memberOf(model: Pick<Model, "members">, handle: string): MemberModel | undefined {
  let index = memberIndexes.get(model.members);
  if (!index || index.size !== model.members.length) {
    index = new Map();
    model.members.forEach((m, i) => {
      if (!index?.has(m.handle)) index?.set(m.handle, i);
    });
    memberIndexes.set(model.members, index);
  }
  const at = index.get(handle);
  const m = at === undefined ? undefined : model.members[at];
  return m?.handle === handle ? m : model.members.find((x) => x.handle === handle);
}

export function fpmPools(model: Model): FpmPoolModel[] {
  const pools = new Map<string, { pool: Omit<FpmPoolModel, "settings">; sites: SiteModel[] }>();
  const homes = new Map(model.members.map((m) => [m.handle, m.home]));
  for (const s of model.sites) {
    const key = poolKey(s.webHost, s.handle, s.php);
    if (s.status !== "active" || !key || !s.fpmSocket) continue;
    const entry = pools.get(key) ?? { pool: { handle: s.handle, phpVersion: s.php, webHost: s.webHost, socket: s.fpmSocket, home: homes.get(s.handle) ?? `/home/${s.handle}` }, sites: [] };
    entry.sites.push(s);
    pools.set(key, entry);
  }
  return [...pools.values()]
    .map(({ pool, sites }) => ({ ...pool, settings: poolSettings(pool.phpVersion, sites, model.inventory.php) }))
    .sort((a, b) => (a.webHost + a.phpVersion + a.handle < b.webHost + b.phpVersion + b.handle ? -1 : 1));
}
