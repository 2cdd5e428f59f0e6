import { z } from "zod";
import { mailSettings } from "./mail";
import { cidr, email, hostname, identifier, ipv4, ipv6, positiveInt, sshHostKey } from "./common";
import { PHP_VERSION } from "./names";
import { inventoryPhp } from "./php-settings";

export const ROLES = ["web", "db", "dns-primary", "dns-secondary", "hypervisor", "backup", "monitor", "mail"] as const;
export type Role = (typeof ROLES)[number];

const absPath = z.string().regex(/^\/[A-Za-z0-9._\/-]*$/, { error: "must be an absolute path of letters, digits, '.', '_', '-' and '/' (like /var/backups/globenet)" }).refine((s) => !s.includes(".."), { error: "must not contain `..` (write the real path)" });

const ssh = z
  .strictObject({
    user: identifier("user name", 32, "globenet-deploy"),
    port: z.number().int().min(1).max(65535, { error: "must be a TCP port, 1-65535" }).default(22),
    /** The host's public key, pinned: a different key refuses the connection. */
    host_key: sshHostKey.optional(),
    /** Or a file holding it, relative to the repository root (the lab generates its key at run time). */
    host_key_file: z.string().regex(/^[A-Za-z0-9._-][A-Za-z0-9._\/-]*$/, { error: "must be a relative path inside the repository (like .lab/ssh/host_key.pub)" }).refine((s) => !s.includes(".."), { error: "must not contain `..`" }).optional(),
  })
  .superRefine((s, ctx) => {
    if (!s.host_key === !s.host_key_file) ctx.addIssue({ code: "custom", path: [], message: "needs exactly one of host_key (pinned key) or host_key_file (get it with: ssh-keyscan -t ed25519 HOST)" });
  });

/**
 * The host's OpenSSH server, where members log in (web hosts): a suspended member's account
 * gets a drop-in there that refuses the login with a message. Debian's defaults: its
 * sshd_config includes /etc/ssh/sshd_config.d/*.conf, and sshd writes /run/sshd.pid.
 */
const sshd = z.strictObject({
  /** A folder the sshd config includes at its top (`Include <dir>/*.conf`). */
  dropin_dir: absPath.default("/etc/ssh/sshd_config.d"),
  /** The running sshd's pid file: the provider tests its config (sshd -t) and reloads it (SIGHUP, what systemd's reload does). */
  pid_file: absPath.default("/run/sshd.pid"),
});

const network = z.discriminatedUnion(
  "type",
  [
    /** Production: the guest sits on a bridge with its public addresses. */
    z.strictObject({ type: z.literal("bridge"), bridge: identifier("bridge name", 15, "br0") }),
    /**
     * Lab: QEMU user-mode network, guest SSH forwarded to a port of `ssh_forward_address` on the
     * machine running QEMU (see LAB-NOTES): 127.0.0.1, or the hypervisor's own address (the
     * multi-host lab, so that the monitor host can probe the guest's SSH through it; lib/check/hosts.ts
     * refuses any other address).
     */
    z.strictObject({
      type: z.literal("user"),
      ssh_forward_base: z.number().int().min(1024).max(60000).default(22200),
      ssh_forward_address: ipv4.default("127.0.0.1"),
    }),
  ],
  { error: 'type must be "bridge" (production) or "user" (lab)' },
);

export const hostSchema = z
  .strictObject({
    roles: z.array(z.enum(ROLES, { error: `must be one of ${ROLES.join(", ")}` })).min(1, { error: "needs at least one role" }),
    /** The host's own public name; PTR records point at it. */
    fqdn: hostname,
    /** Where SSH connects. */
    address: z.union([ipv4, ipv6]),
    /** Public addresses published in DNS for what the host serves (default: address). */
    ipv4: ipv4.optional(),
    ipv6: ipv6.optional(),
    ssh,
    sshd: sshd.prefault({}),
    /**
     * Web hosts: the members' disk quotas are the kernel's user quotas on the homes' file
     * system. "required": an apply refuses to make accounts where they are off; "warn": it
     * makes them and says the quota is not enforced (a machine whose kernel has no quotas).
     */
    home_quota: z.enum(["required", "warn"], { error: 'must be "required" (no account without an enforced quota) or "warn" (apply, saying the quota is not enforced)' }).default("required"),
    capacity: z.strictObject({ vcpus: positiveInt("vCPUs", 4096), memory_mb: positiveInt("MB", 16_777_216), disk_gb: positiveInt("GB", 1_000_000) }).optional(),
    libvirt: z
      .strictObject({
        domain_type: z
          .enum(["kvm", "qemu", "auto"], { error: 'must be "kvm" (production), "qemu" (software emulation) or "auto" (lab: KVM when this machine can, else qemu)' })
          .default("kvm"),
        network,
        images_dir: absPath.default("/var/lib/libvirt/images/globenet"),
        /** How long a guest may take to stop on the ACPI power button before it is forced off. */
        shutdown_timeout_sec: z.number({ error: "must be a whole number of seconds" }).int({ error: "must be a whole number of seconds" }).min(0).max(3600, { error: "must be at most 3600 (one hour)" }).default(90),
      })
      .optional(),
  })
  .superRefine((h, ctx) => {
    const hv = h.roles.includes("hypervisor");
    if (hv && !h.capacity) ctx.addIssue({ code: "custom", path: ["capacity"], message: "a hypervisor needs capacity: { vcpus, memory_mb, disk_gb } (what it may give to guests)" });
    if (hv && !h.libvirt) ctx.addIssue({ code: "custom", path: ["libvirt"], message: "a hypervisor needs libvirt: { domain_type, network } (bridge in production, user in the lab)" });
    if (!hv && (h.capacity || h.libvirt)) ctx.addIssue({ code: "custom", path: [h.capacity ? "capacity" : "libvirt"], message: "only a host with the hypervisor role has this (remove it or add the role)" });
    if (h.libvirt?.domain_type === "auto" && h.address !== "127.0.0.1" && h.address !== "::1") {
      ctx.addIssue({ code: "custom", path: ["libvirt", "domain_type"], message: 'auto is for a lab hypervisor on 127.0.0.1, where the machine running the driver is the hypervisor (say "kvm" for a real one)' });
    }
    if (new Set(h.roles).size !== h.roles.length) ctx.addIssue({ code: "custom", path: ["roles"], message: "lists a role twice (remove the repeat)" });
  });

/**
 * A base image on the hypervisors. `boot`: start guests with this kernel and initrd instead of
 * a boot loader on the disk — the lab's image is a bare ext4 file system (scripts/lab-image.sh);
 * Debian's cloud images (production) boot from their own disk and leave it out.
 */
const image = z.strictObject({
  path: absPath,
  os_variant: z.string().regex(/^[a-z0-9.]+$/).default("debian12"),
  boot: z
    .strictObject({
      kernel: absPath,
      initrd: absPath,
      cmdline: z
        .string()
        .max(400)
        .regex(/^[A-Za-z0-9=/_.,:+ -]+$/, { error: 'must be kernel parameters: letters, digits and = / _ . , : + - separated by spaces (like "root=/dev/vda rw console=ttyS0")' }),
    })
    .optional(),
});

/** An https:// URL without credentials, spaces or quotes (it lands in Apache's config). */
const httpsUrl = z
  .string()
  .regex(/^https:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?(\/[A-Za-z0-9._~\/-]*)?$/, { error: "must be an https:// URL without user, query or spaces (like https://acme-v02.api.letsencrypt.org/directory)" });

/**
 * Certificates for the sites, obtained and renewed by the web hosts themselves with Apache's
 * mod_md (docs/architecture.md, "HTTPS"). One CA per stack: Let's Encrypt in prod, the lab's
 * pebble in the lab.
 */
const acme = z.strictObject({
  /** The CA's ACME directory URL. */
  directory: httpsUrl,
  /** The CA's domain as CAA records name it (letsencrypt.org); derived CAA records allow it. */
  caa_issuer: hostname,
  /** PEM file on the web hosts with the roots that the ACME server's own HTTPS chains to; omit for a public CA. */
  ca_trust: absPath.optional(),
  /** Where mod_md keeps accounts, keys and certificates on the web hosts. */
  store_dir: absPath.default("/var/lib/apache2/md"),
  /** First retry after a failed attempt (mod_md doubles it each time); seconds. */
  retry_delay_sec: z.number().int().min(1).max(86400, { error: "must be at most 86400 (a day)" }).default(5),
});

/**
 * How BIND signs the zones with dnssec: true (dnssec-policy, inline signing, rollovers by BIND).
 * Durations are BIND's (like "1h", "P90D"); prod keeps BIND's usual values, the lab short ones
 * so that unsigning a zone completes within a test.
 */
const duration = z.string().regex(/^([0-9]+[smhdwy]?|P[0-9DWMYTHMS]+)$/i, { error: 'must be a BIND duration like "3600", "1h", "90d" or "P90D"' });
const dnssec = z.strictObject({
  /** DNSSEC algorithm: 13 (ECDSA P-256 SHA-256) or 15 (Ed25519). */
  algorithm: z.union([z.literal(13), z.literal(15), z.literal(8)], { error: "must be 13 (ECDSAP256SHA256), 15 (ED25519) or 8 (RSASHA256)" }).default(13),
  /** Lifetime of the zone-signing key; the key-signing key is never rolled by itself (its DS is at the registrar). */
  zsk_lifetime: duration.default("90d"),
  dnskey_ttl: duration.default("1h"),
  /** At least the longest TTL a zone may have (a week, the zone schema's limit), else BIND refuses the zone. */
  max_zone_ttl: duration.default("1w"),
  zone_propagation_delay: duration.default("5m"),
  parent_ds_ttl: duration.default("1d"),
  parent_propagation_delay: duration.default("1h"),
  retire_safety: duration.default("1h"),
  publish_safety: duration.default("1h"),
});

/**
 * Zone transfers between the primary and the secondaries, signed with one TSIG key the apply
 * makes (a stack secret; docs/architecture.md, "Secondary name servers and TSIG").
 */
const dnsTransfers = z.strictObject({
  /** Raise by one to make a new key: every name server gets it in the same apply (rotation). */
  key_rotation: z.number({ error: "must be a whole number (raise it by one to make a new transfer key)" }).int({ error: "must be a whole number (raise it by one to make a new transfer key)" }).min(0).max(1_000_000, { error: "must be at most 1000000" }).default(0),
});

/** How many snapshots pruning keeps (borg prune --keep-daily/weekly/monthly). */
const keep = (what: string, dflt: number) =>
  z.number({ error: `must be a whole number of ${what} snapshots to keep` }).int({ error: `must be a whole number of ${what} snapshots to keep` }).min(0).max(1000, { error: "must be at most 1000" }).default(dflt);

/**
 * Backups (docs/architecture.md, "Backups"): every protected host sends its data to the host
 * with the backup role, into a BorgBackup repository of its own, encrypted with a passphrase
 * the apply generates (a stack secret).
 */
const backup = z.strictObject({
  /** The folder of the repositories on the backup host: one repository per protected host, <path>/<host>. */
  path: absPath.default("/srv/globenet-backup"),
  /** The unix account on the backup host that owns the repositories; hosts log in as it with their own key. */
  user: identifier("user name", 32, "globenet-backup").default("globenet-backup"),
  /** When each host's daily run starts (the host's local time, HH:MM). */
  time: z.string().regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/, { error: 'must be a time of day HH:MM like "02:30"' }).default("02:30"),
  retention: z.strictObject({ daily: keep("daily", 7), weekly: keep("weekly", 4), monthly: keep("monthly", 12) }).prefault({}),
  /** A snapshot older than this is flagged by npm run status -- backups and by CI's nightly job. */
  max_age_hours: z.number({ error: "must be a whole number of hours" }).int({ error: "must be a whole number of hours" }).min(1).max(24 * 31, { error: "must be at most 744 (31 days)" }).default(26),
  /** Every how many days the repositories are checked (borg check). */
  check_every_days: z.number({ error: "must be a whole number of days" }).int({ error: "must be a whole number of days" }).min(1).max(90, { error: "must be at most 90" }).default(7),
  /** Left out of every member's home: caches and temporary files (borg patterns, relative to the home). */
  home_excludes: z
    .array(z.string().regex(/^[A-Za-z0-9._*?\/-]+$/, { error: "must be a relative pattern of letters, digits and . _ * ? / - (like .cache or sites/*/tmp)" }).refine((s) => !s.startsWith("/") && !s.split("/").includes(".."), { error: "must be relative to the home, without .." }))
    .max(50)
    .default([".cache", "tmp", "sites/*/tmp", "sites/*/htdocs/wp-content/cache"]),
  /**
   * Where CI's state-backup job writes `npm run state -- backup` (GLOBENET_STATE_BACKUP_DIR on
   * the protected runner): that host sends the folder with its own backups, as the source
   * path--state. Left out: the state backups stay on the runner only.
   */
  state: z
    .strictObject(
      {
        host: identifier("host name", 32, "db1"),
        path: absPath.refine((s) => s !== "/" && s.length > 1, { error: "must be the folder of the state backups (like /var/backups/globenet-state), not /" }),
      },
      { error: "must be { host: <the inventory host the protected CI runner writes on>, path: <GLOBENET_STATE_BACKUP_DIR> }" },
    )
    .optional(),
});

/** A delay in minutes, at least 3 s (0.05): Prometheus takes it in whole seconds. */
const minutes = z
  .number({ error: "must be a number of minutes (write a number without quotes, like 5 or 0.25)" })
  .min(0.05, { error: "must be at least 0.05 minutes (3 s)" })
  .max(1440, { error: "must be at most 1440 minutes (a day)" });

/** Thresholds of the alerts the monitor host's Prometheus evaluates. */
const monitoring = z.strictObject({
  scrape_interval_sec: positiveInt("seconds", 3600).default(30),
  /** A site's certificate with fewer days left fires. */
  cert_days: positiveInt("days", 89).default(14),
  /**
   * A signed zone's SOA RRSIG expiring within this many days on a name server fires. BIND's
   * default policy signs for 14 days and re-signs when 5 are left: 3 means it has failed to
   * re-sign for two days, or a secondary stopped following its primary.
   */
  rrsig_days: positiveInt("days", 30).default(3),
  /** A host's file system fuller than this (blocks or inodes) fires. */
  disk_percent: positiveInt("%", 99).default(85),
  /** A secondary's serial behind the primary's for this long fires (decimals allowed: the lab waits seconds). */
  serial_lag_minutes: minutes.default(15),
  /** A site, zone, VPS or database failing for this long fires (decimals allowed: the lab waits seconds). */
  down_minutes: minutes.default(5),
  /**
   * A backup source whose last good archive is older than this fires. Unset: backup.max_age_hours
   * (what `status -- backups` and CI's nightly "backups" issue call too old), one threshold for all.
   */
  backup_hours: positiveInt("hours", 24 * 31).optional(),
  /** Alertmanager: how long it gathers alerts of a group before the first notification. */
  group_wait_sec: positiveInt("seconds", 3600).default(30),
  /** Alertmanager: how long it waits before notifying a group again after a change (a new or resolved alert). */
  group_interval_sec: positiveInt("seconds", 86400).default(300),
  /**
   * The GitLab project where the alert bridge on the monitor host opens its issues; with the
   * stack secret alertBridgeToken (pulumi config set --secret alertBridgeToken …), the apply
   * installs the bridge (globenet-alert-bridge.service). Unset: the bridge is not installed.
   */
  gitlab: z
    .strictObject({
      api: z.url({ protocol: /^https?$/, error: "must be GitLab's API URL, like https://gitlab.example/api/v4" }),
      project: z.string().regex(/^[A-Za-z0-9._%/-]{1,200}$/, { error: "must be the project's id or path, like 42 or globenet/infra" }),
    })
    .optional(),
  /**
   * Optional mail from Alertmanager (besides the GitLab issues): every alert, and its
   * resolution, to the volunteers' address, through the inventory's mail host (port 25,
   * STARTTLS) or the smarthost named here.
   */
  mail: z
    .strictObject({
      to: email,
      from: email,
      /** host:port Alertmanager hands the mail to; default the inventory's mail host on port 25. */
      smarthost: z.string().regex(/^[a-z0-9.-]+:\d{1,5}$/, { error: 'must be a host name and a port, like "mail.globenet.example:25"' }).optional(),
      /** STARTTLS required (the default); false only for a smarthost on the monitor host's loopback. */
      require_tls: z.boolean({ error: "must be true or false" }).default(true),
    })
    .optional(),
  /** Where Alertmanager sends alerts (the GitLab issue bridge); default the monitor host's own. */
  webhook: z.url({ protocol: /^https?$/, error: "must be an http(s) URL, like http://127.0.0.1:9099/alerts" }).optional(),
});

/**
 * The member portal deployed by the apply (docs/architecture.md, "Member portal"): on which web
 * host, under which public name (its Apache vhost, certificate by mod_md), on which loopback
 * port behind Apache, and the GitLab project its requests become merge requests in (with the
 * stack secret portalToken: pulumi config set --secret portalToken). Absent: no portal.
 */
const portal = z.strictObject({
  /** The web host that runs it (an inventory host with the web role). */
  host: identifier("host name", 32, "web1"),
  /** Its public name, like espace.globenet.example: Apache's vhost and mod_md's certificate. */
  name: hostname,
  /** The loopback port Apache proxies to (127.0.0.1 only). */
  port: z.number({ error: "must be a port number (write it without quotes, like 8451)" }).int({ error: "must be a whole port number" }).min(1024, { error: "must be at least 1024 (the portal runs as its own unprivileged user)" }).max(65535, { error: "must be at most 65535" }).default(8451),
  /** Request forms: merge requests into `target_branch` of this project; unset: the portal only shows. */
  gitlab: z
    .strictObject({
      api: z.url({ protocol: /^https?$/, error: "must be GitLab's API URL, like https://gitlab.example/api/v4" }),
      project: z.string().regex(/^[A-Za-z0-9._%/-]{1,200}$/, { error: "must be the project's id or path, like 42 or globenet/infra" }),
      /** The project's web address (its commits are linked from the member's history). */
      url: z.url({ protocol: /^https?$/, error: "must be the project's web address, like https://gitlab.example/globenet/infra" }).optional(),
      target_branch: z.string().regex(/^[A-Za-z0-9._/-]{1,100}$/, { error: 'must be a branch name, like "main"' }).default("main"),
    })
    .optional(),
});

/** How strict a few checks are (docs/architecture.md, "Every address has its PTR"). */
const checks = z.strictObject({
  ptr: z.enum(["warn", "error"], { error: 'must be "warn" (validate prints it, nothing is refused) or "error" (validate refuses the data)' }).default("warn"),
});

/** Blocks (MB) and inodes (files, folders, links: one each) of a member's home. */
const diskQuota = z
  .strictObject({
    default_mb: positiveInt("MB", 1_000_000).default(1024),
    max_mb: positiveInt("MB", 1_000_000).default(20480),
    default_inodes: positiveInt("inodes", 100_000_000).default(100_000),
    max_inodes: positiveInt("inodes", 100_000_000).default(1_000_000),
  })
  .superRefine((q, ctx) => {
    // A member asking for nothing must not already be over the limit.
    // On disk_quota itself: either value may be the one left to its default, with no line of its own.
    for (const [d, m] of [["default_mb", "max_mb"], ["default_inodes", "max_inodes"]] as const) {
      if (q[d] > q[m]) ctx.addIssue({ code: "custom", path: [], message: `${d} (${q[d]}) is above ${m} (${q[m]}): a member asking for nothing would already be over the limit (lower ${d} or raise ${m})` });
    }
  });

const pool4 = z.strictObject({ cidr: cidr(4), gateway: ipv4 });
const pool6 = z.strictObject({ cidr: cidr(6), gateway: ipv6 });

/**
 * The most buckets one web host's members split into: each is a stack, a CI job, and a part of
 * the host's Apache and PHP-FPM sets, which every apply of a part checks with the others live
 * (docs/architecture.md, "Members split by hash"). 49 buckets of 1,250 members hold 60,000.
 */
export const MAX_BUCKETS = 49;

export const inventorySchema = z.strictObject({
  /** Globenet's own domain: name servers and default VPS names live under it. */
  domain: hostname,
  /** SOA contact. */
  hostmaster: email,
  /** Where removed homes, dumps and disks are kept, on each host. */
  archive_dir: absPath.default("/var/backups/globenet-archive"),
  php_versions: z.array(z.string().regex(PHP_VERSION, { error: 'must be a PHP version like "8.2" (quoted)' })).min(1),
  /** PHP-FPM pool settings: what a site gets (defaults) and the most a site may ask for (max). */
  php: inventoryPhp.prefault({}),
  images: z.record(identifier("image name", 40, "debian-12"), image),
  pools: z.strictObject({ ipv4: z.array(pool4).default([]), ipv6: z.array(pool6).default([]) }),
  /** Resolvers given to VPS through cloud-init. */
  resolvers: z.array(z.union([ipv4, ipv6])).min(1).max(3),
  /** First three bytes of derived MACs (52:54:00 is QEMU's). */
  mac_prefix: z.string().regex(/^[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2}$/, { error: "must be three lowercase hex pairs like 52:54:00" }).default("52:54:00"),
  /** Needed as soon as a site has tls: acme (the default). */
  acme: acme.optional(),
  dnssec: dnssec.prefault({}),
  dns_transfers: dnsTransfers.prefault({}),
  /** Needed when a host has the backup role. */
  backup: backup.optional(),
  /**
   * Members' disk quotas on the web hosts' homes: what a member whose file says nothing gets
   * (default_mb, default_inodes), and the most a member's file may ask for (max_mb, max_inodes:
   * disk_quota_mb, inode_quota). The web host's disk is shared by every member, so these are the
   * hosting team's, here, not the member's.
   */
  disk_quota: diskQuota.prefault({}),
  /** Members' site logs on the web hosts (each member reads its own): how long they are kept. */
  site_logs: z.strictObject({ keep_days: positiveInt("days", 3650).default(14) }).prefault({}),
  /** MariaDB server settings on the database hosts. */
  mariadb: z.strictObject({
    /** Queries slower than this (seconds) go to the slow query log that npm run status -- slow-queries reads. */
    slow_query_seconds: z.number({ error: "must be a number of seconds" }).min(0.1, { error: "must be at least 0.1 s" }).max(3600, { error: "must be at most 3600 s" }).default(2),
    /** The slow query log's entries are kept at least this many days (a nightly trim; at most about twice). */
    slow_log_keep_days: positiveInt("days", 3650).default(14),
  }).prefault({}),
  /** The mail host's offer and limits (docs/architecture.md, "Mail"). */
  mail: mailSettings.prefault({}),
  /** What the monitor host watches and when an alert fires (docs/architecture.md, "Monitoring"). */
  monitoring: monitoring.prefault({}),
  /** The member portal (docs/architecture.md, "Member portal"); absent: not deployed. */
  portal: portal.optional(),
  /** Warn (the default) or refuse when a host's or a VPS's address has no PTR we serve. */
  checks: checks.prefault({}),
  /**
   * Sharded stacks (docs/architecture.md, "Sharded stacks"): shard name → `hosts:`, the hosts
   * whose objects it holds, or `members_of:` a web host with `bucket:` and `buckets:`, one part
   * of that host's members by a hash of their handle (their accounts, crontabs, databases; the
   * host's own sets stay with its `hosts:` shard). Each shard is a stack of its own,
   * `<stack>.<shard>`, with its own state and lock; every host is in exactly one `hosts:` shard.
   * Absent: one stack holds everything. lib/check/shards.ts checks the rule as a whole.
   */
  shards: z
    .record(
      identifier("shard name", 24, "web-a"),
      z.strictObject({
        hosts: z.array(identifier("host name", 32, "web1")).min(1, { error: "needs at least one host (or remove the shard)" }).optional(),
        members_of: identifier("host name", 32, "web1").optional(),
        bucket: z.number({ error: "must be a whole number from 0 (write a number without quotes)" }).int({ error: "must be a whole number" }).min(0, { error: "must be 0 or more (the first bucket is 0)" }).optional(),
        buckets: positiveInt("buckets", MAX_BUCKETS).optional(),
      }),
    )
    .refine((s) => Object.keys(s).length > 0, { error: "needs at least one shard (or remove shards:)" })
    .optional(),
  hosts: z.record(identifier("host name", 32, "web1"), hostSchema).refine((h) => Object.keys(h).length > 0, { error: "needs at least one host" }),
});

export type Inventory = z.infer<typeof inventorySchema>;
export type Host = z.infer<typeof hostSchema>;
export type Sshd = z.infer<typeof sshd>;
export type Acme = z.infer<typeof acme>;
export type DnssecPolicy = z.infer<typeof dnssec>;
export type BackupSettings = z.infer<typeof backup>;

/** The config key under which the inventory sits in Pulumi.<stack>.yaml. */
export const INVENTORY_KEY = "globenet-infra:inventory";

/**
 * The stack's secrets beside the inventory in Pulumi.<stack>.yaml (`pulumi config set --secret`:
 * stored as `secure:` ciphertext, never in clear), each with the role of the host whose objects
 * read it: a sharded stack hands a secret to the shard holding such a host only
 * (docs/architecture.md, "Sharded stacks").
 */
export const STACK_SECRETS = { alertBridgeToken: "monitor", portalToken: "web" } as const satisfies Record<string, Role>;
export type StackSecretName = keyof typeof STACK_SECRETS;
