/** Where things live on the hosts. One place, so renderers, provider and docs agree. */
export const paths = {
  home: (handle: string) => `/home/${handle}`,
  docroot: (handle: string, host: string) => `/home/${handle}/sites/${host}/htdocs`,
  fpmSocket: (handle: string, php: string) => `/run/php/globenet-${handle}-php${php}.sock`,
  /** Debian's www-data, Apache's user on every web host (a static Debian id). */
  webUid: 33,
  /** The ids member accounts may have (the provider refuses adopting anything else). */
  memberIds: { min: 1000, max: 59999 },
  /**
   * Members' site logs: one folder per member (root:<member> 0750), so a member reads its own
   * sites' access and error logs and no other's. Not under /var/log/apache2, which Debian keeps
   * root:adm 0750.
   */
  siteLogRoot: "/var/log/globenet-sites",
  /** cron's spool: each member's crontab (its own jobs, and the block of its member file's cron:). */
  cronSpool: "/var/spool/cron/crontabs",
  /** The notice page served for suspended members' sites. */
  suspendedDir: "/var/www/globenet-suspended",
  /**
   * The primary's zone files: inside the bind file set, swapped as a whole. In /etc/bind, which
   * only root writes: /var/lib/bind is writable by the bind group.
   */
  zoneFile: (zone: string) => `/etc/bind/globenet/zones/${zone}.zone`,
  /** A secondary's copies, written by named itself after each transfer (outside any file set). */
  /**
   * What named.conf names for a primary zone: a link to zoneFile in a directory named may write,
   * because inline signing keeps its signed copy and journal beside the file it is given, and
   * the file set's generations are read-only and replaced at each apply (LAB-NOTES-style check:
   * named writes "<this>.signed" next to the link, not next to its target).
   */
  signingZoneFile: (zone: string) => `/var/lib/bind/globenet-signing/${zone}.zone`,
  /**
   * DNSSEC keys: outside every file set, kept when a set is replaced or deleted, and under
   * /var/lib (state to back up), not /var/cache: a lost KSK whose DS is at a registrar makes
   * the zone bogus.
   */
  dnssecKeyDir: "/var/lib/bind/globenet-keys",
  secondaryZoneFile: (zone: string) => `/var/cache/bind/globenet/${zone}.zone`,
  /**
   * The TSIG key that authenticates zone transfers and NOTIFY between the primary and the
   * secondaries: written by the provider's TransferKey resource (root:bind 0640), outside the
   * bind file set (whose files are world-readable and hashed into the state), included by
   * named.conf.globenet. The name is the same on every name server.
   */
  transferKeyFile: "/etc/bind/globenet-transfer.key",
  transferKeyName: "globenet-transfer",
  vpsDisk: (imagesDir: string, domain: string) => `${imagesDir}/${domain}.qcow2`,
  vpsSeed: (imagesDir: string, domain: string) => `${imagesDir}/${domain}-seed.iso`,
  /** Each guest's own copy of a direct-boot kernel and initrd (libvirt relabels them per domain). */
  vpsKernel: (imagesDir: string, domain: string) => `${imagesDir}/${domain}.vmlinuz`,
  vpsInitrd: (imagesDir: string, domain: string) => `${imagesDir}/${domain}.initrd`,
  /** The guest's serial console, written by virtlogd (libvirt's own log folder). */
  vpsConsoleLog: (domain: string) => `/var/log/libvirt/qemu/${domain}-console.log`,
};
