import { identifierProblem } from "./names";

/**
 * Names owned by the system: a member's handle becomes a unix user and group on the web host,
 * a database name becomes a MariaDB database and account. Either can collide with something
 * the host already has (`disk`, `sudo`, `root@localhost`), and the provider would then hand
 * that thing to the member. These lists are the one definition: the member schema and the
 * provider's own check (provider/resources/account-shared.ts) both call the functions below.
 *
 * The lists are the static part of the defence; the provider also refuses, on the host, any
 * user, group, database or account it did not create (its ownership markers,
 * docs/architecture.md "Names owned by the system"), which covers what a list cannot know.
 */

/** Debian's base-passwd: the fixed users and groups of every Debian system (users-and-groups.txt). */
const DEBIAN_BASE = [
  // users (and their groups)
  "root", "daemon", "bin", "sys", "sync", "games", "man", "lp", "mail", "news", "uucp", "proxy", "www-data",
  "backup", "list", "irc", "gnats", "nobody",
  // groups only
  "adm", "tty", "disk", "kmem", "dialout", "fax", "voice", "cdrom", "floppy", "tape", "sudo", "audio", "dip",
  "operator", "src", "shadow", "utmp", "video", "sasl", "plugdev", "staff", "users", "nogroup",
  // base-passwd's list of names that packages create dynamically
  "majordom", "postgres", "messagebus", "postfix", "gdm", "saned", "klog", "syslog", "lpadmin", "scanner",
  "libvirt", "sshd", "fetchmail", "cupsys",
];

/**
 * Users and groups of the packages the project installs or runs (scripts/ensure-debs.sh, the
 * web, db, DNS and hypervisor roles), as found in /etc/passwd and /etc/group once they are
 * installed, plus systemd's and udev's groups on a Debian 12 host.
 */
const DEBIAN_PACKAGES = [
  "systemd-journal", "systemd-network", "systemd-resolve", "systemd-timesync", "systemd-coredump",
  "input", "kvm", "render", "sgx", "netdev", "polkitd", "rdma", "tcpdump", "ssl-cert", "crontab",
  "mysql", "bind", "libvirt-qemu", "libvirt-dnsmasq", "dnsmasq", "uuidd", "ntp", "ntpsec", "statd",
  "pebble", "apache", "apache2", "httpd", "nginx", "php", "php-fpm", "mariadb", "cloud-init",
];

/** Names that Globenet's daemons, roles to come (mail, monitoring, backups) and usual admin roles use. */
const SERVICES = [
  // mail
  "postdrop", "dovecot", "dovenull", "vmail", "opendkim", "opendmarc", "rspamd", "spamd", "clamav", "amavis",
  "mailman", "sympa", "roundcube", "exim", "smtp", "imap", "pop",
  // monitoring and metrics
  "prometheus", "node-exporter", "alertmanager", "grafana", "nagios", "icinga", "zabbix", "munin", "monit",
  "collectd", "telegraf", "netdata",
  // Globenet's own daemons' users (the member portal's, lib/render/portal.ts PORTAL_USER)
  "globenet-portal",
  // backups
  "borg", "borgbackup", "restic", "bacula", "amanda", "rsnapshot", "duplicity", "mariabackup", "rsync",
  // other daemons a host may get
  "redis", "memcache", "memcached", "haproxy", "varnish", "squid", "unbound", "knot", "nsd", "pdns", "named",
  "ftp", "sftp", "git", "gitlab", "gitlab-runner", "docker", "lxd", "qemu", "libvirtd", "cron", "at",
  // people's roles (RFC 2142 mailboxes, administrators)
  "admin", "administrator", "hostmaster", "postmaster", "webmaster", "abuse", "noc", "security", "support",
  "debian", "ubuntu", "user", "guest", "test",
];

/**
 * Prefixes that belong to the system: a handle starting with one is refused whatever follows.
 * (The deployment's own SSH user comes from the inventory: lib/check/hosts.ts refuses it.)
 */
const PREFIXES: Array<[string, string]> = [
  ["systemd-", "systemd's own accounts"],
  ["debian-", "Debian's package accounts (debian-exim, debian-tor…)"],
  ["libvirt", "libvirt's accounts and groups"],
  ["www-", "the web server's accounts"],
];

const SYSTEM_NAMES: ReadonlySet<string> = new Set([...DEBIAN_BASE, ...DEBIAN_PACKAGES, ...SERVICES]);

/** Why `name` is the system's as a unix user or group; undefined when a member may have it. */
export function systemAccountProblem(name: string): string | undefined {
  if (SYSTEM_NAMES.has(name)) return `"${name}" is a system account name (choose another handle)`;
  for (const [prefix, whose] of PREFIXES) {
    if (name.startsWith(prefix)) return `"${name}" starts with "${prefix}", kept for ${whose} (choose another handle)`;
  }
  return undefined;
}

/** A member's handle: its unix user, group and folder name. */
export function handleProblem(h: string): string | undefined {
  return identifierProblem(h, "handle", 32, "velo-libre") ?? systemAccountProblem(h);
}

/**
 * Database names (each is also its MariaDB account's name) that MariaDB, Debian or Globenet
 * use: system schemas, built-in accounts and roles (mariadb.sys and debian-sys-maint cannot be
 * written here, their look-alikes are refused all the same), phpMyAdmin's, and the provider's
 * own database of ownership markers.
 */
const RESERVED_DB: Array<[string, string]> = [
  ...["mysql", "information_schema", "performance_schema", "sys", "test"].map((n): [string, string] => [n, "a MariaDB system database"]),
  ...["root", "mariadb_sys", "mariadb", "public", "none", "current_user", "current_role", "admin", "replication", "repl", "replica", "slave", "monitor"].map(
    (n): [string, string] => [n, "a MariaDB account or role name"],
  ),
  ...["debian_sys_maint", "debian", "phpmyadmin", "pma", "backup", "mariabackup", "prometheus", "mysqld_exporter", "exporter", "zabbix", "nagios", "munin", "postfix", "dovecot", "roundcube"].map(
    (n): [string, string] => [n, "a name Debian packages and monitoring or backup tools give their MariaDB accounts"],
  ),
  ["globenet", "Globenet's own"],
  ["globenet_meta", "where the provider records what it created"],
];
const RESERVED_DB_NAMES = new Map(RESERVED_DB);

/** Prefixes of database names MariaDB treats specially. */
const DB_PREFIXES: Array<[string, string]> = [
  // MariaDB's default privilege tables open `test` and `test\_%` to anonymous users on some installs.
  ["test_", "which MariaDB's default grants may open to every user"],
  ["globenet_meta", "the provider's own database"],
];

/** A database (and its MariaDB account) name: shape first, then the names that are not the member's to take. */
export function databaseNameProblem(n: string): string | undefined {
  if (!/^[a-z][a-z0-9_]{1,31}$/.test(n)) return 'must be 2 to 32 characters: a lowercase letter, then a-z, 0-9 or _ (like "velo_wp")';
  const why = RESERVED_DB_NAMES.get(n);
  if (why) return `"${n}" is reserved: ${why} (choose another name, like "velo_wp")`;
  for (const [prefix, whyPrefix] of DB_PREFIXES) {
    if (n.startsWith(prefix)) return `"${n}" starts with "${prefix}", ${whyPrefix} (choose another name, like "velo_wp")`;
  }
  return undefined;
}
