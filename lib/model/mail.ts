import { relativeName } from "./dns-names";
import type { HostModel, MailDomainModel, Model } from "./types";

/**
 * What the mail host serves, from the members' mail: (docs/architecture.md, "Mail"): the
 * domains, the mailboxes with their hash and quota, the aliases as Postfix reads them
 * (RFC 2142 addresses to Globenet, the catch-all last), and who may send as which address.
 * Pure: lib/render/mail.ts writes it out for Postfix and Dovecot.
 */

/** Where Postfix and Dovecot keep their files on the mail host (tests and the lab move them). */
export interface MailPaths {
  /** Postfix's config_directory: main.cf, master.cf. */
  postfixDir: string;
  /** Postfix's queue_directory; its private/ holds Dovecot's LMTP and auth sockets. */
  queueDir: string;
  /** Postfix's data_directory. */
  dataDir: string;
  /** The maps Globenet writes (domains, mailboxes, aliases, senders), compiled by postmap. */
  mapsDir: string;
  /** Dovecot's configuration folder: dovecot.conf and the users file. */
  dovecotDir: string;
  /** Dovecot's base_dir (its runtime sockets). */
  dovecotBaseDir: string;
  /** The mailboxes: <vmail>/<domain>/<local>/Maildir, owned by the vmail user. */
  vmailDir: string;
  vmailUser: string;
  /** The certificate and key for SMTP STARTTLS, submissions and IMAPS. */
  tlsCert: string;
  tlsKey: string;
  /** Where both daemons log when there is no syslog (the lab): undefined means syslog. */
  logFile?: string;
  /** OpenDKIM's configuration folder (opendkim.conf, its key and signing tables). */
  opendkimDir: string;
  /** The DKIM private keys, made on the host (<selector>/<domain>.private), never leaving it. */
  dkimKeyDir: string;
  /** lego's store (account, key, certificate as issued): the ACME client's own, root's 0700. */
  acmeDir: string;
}

/** On a mail host: Debian's folders, and the maps and tables in the mail file set (/etc/globenet/mail/conf). */
export const MAIL_PATHS: MailPaths = {
  postfixDir: "/etc/postfix",
  queueDir: "/var/spool/postfix",
  dataDir: "/var/lib/postfix",
  mapsDir: "/etc/globenet/mail/conf/postfix/maps",
  dovecotDir: "/etc/globenet/mail/conf/dovecot",
  dovecotBaseDir: "/run/dovecot",
  vmailDir: "/var/vmail",
  vmailUser: "vmail",
  tlsCert: "/etc/globenet/mail/tls/fullchain.pem",
  tlsKey: "/etc/globenet/mail/tls/privkey.pem",
  opendkimDir: "/etc/globenet/mail/conf/opendkim",
  dkimKeyDir: "/etc/globenet/mail/dkim",
  acmeDir: "/var/lib/globenet/mail-acme",
};

export interface MailPlan {
  host: string;
  publicName: string;
  /** Addresses the daemons listen on (the host's). */
  listen: string[];
  ports: { smtp: number; submission: number; submissions: number; imaps: number };
  messageSizeBytes: number;
  sendPerHour: number;
  relay?: string;
  domains: string[];
  mailboxes: { address: string; quotaMb: number; passwordHash: string; suspended: boolean }[];
  aliases: { address: string; to: string[] }[];
  /** Who may send as an address after logging in (Postfix smtpd_sender_login_maps). */
  senders: { address: string; logins: string[] }[];
  /** The DKIM selector whose key signs every domain's submitted mail. */
  dkimSelector: string;
  /**
   * The certificate for publicName from the inventory's ACME CA (the sites' acme:), by lego on
   * the mail host; absent when the inventory has no acme: (the certificate is then placed by hand).
   */
  acme?: MailAcme;
  /**
   * Debian's Postfix exporter, when a monitor host scrapes it (lib/model/monitoring.ts: the host's
   * address, port 9154): the one address it listens on (it takes a single --web.listen-address:
   * the one the monitor scrapes) and the monitor host its port is open to.
   */
  exporter?: MailExporter;
  /** SRS for forwards (postsrsd): docs/architecture.md, "Mail", "SRS". */
  srs: MailSrs;
  paths: MailPaths;
}

/**
 * The Sender Rewriting Scheme for forwards (Debian's postsrsd 1.10, docs/architecture.md "Mail"):
 * a forward to an outside address leaves with SRS0=…@domain, so the receiver's SPF check is of
 * our domain; a bounce to that address is reversed to the original sender. postsrsd's two tcp
 * tables and the re-injection smtpd listen on the host's loopback only.
 */
export interface MailSrs {
  /** The rewritten senders' domain: the mail host's public name (its A/AAAA, its SPF `a`). */
  domain: string;
  /** postsrsd's address and ports (tcp tables: forward for senders, reverse for recipients). */
  listen: string;
  forwardPort: number;
  reversePort: number;
  /** Postfix's second smtpd, where mail for outside addresses from outside senders is rewritten. */
  reinjectPort: number;
  /** postsrsd's secret, made on the host at the apply (never in git, argv or logs). */
  secret: string;
}

/** postsrsd's Debian defaults (ports, loopback, secret file), and the re-injection port beside them. */
export const MAIL_SRS = { listen: "127.0.0.1", forwardPort: 10001, reversePort: 10002, reinjectPort: 10026, secret: "/etc/postsrsd.secret" } as const;

/** What the mail host's Postfix exporter needs (lib/render/mail-exporter.ts renders it). */
export interface MailExporter {
  listen: string;
  monitor: Pick<HostModel, "name" | "address" | "ipv6">;
}

/** What the mail host's ACME client needs (lib/render/mail-acme.ts renders it). */
export interface MailAcme {
  directory: string;
  /** The account's contact: the inventory's hostmaster, as mod_md's MDContactEmail. */
  email: string;
  /** PEM file the ACME server's own HTTPS chains to (the lab's pebble); absent for a public CA. */
  caTrust?: string;
  /** Renew when fewer days than this are left (Let's Encrypt's 90-day certificates: at 30). */
  renewDays: number;
}

/** lego renews in the last third of a 90-day certificate, as mod_md does for the sites. */
export const MAIL_CERT_RENEW_DAYS = 30;

export const MAIL_PORTS = { smtp: 25, submission: 587, submissions: 465, imaps: 993 } as const;

/** RFC 2142 and the bounce sender: on every domain they go to Globenet's hostmaster. */
export const RFC2142 = ["postmaster", "abuse", "hostmaster", "mailer-daemon"] as const;

/** The name mail clients and MX records use: the inventory's mail.public_name, else the mail host's fqdn. */
export function mailPublicName(inventory: Model["inventory"], hosts: Model["hosts"], mailHost: string): string {
  return inventory.mail.public_name ?? hosts.find((h) => h.name === mailHost)?.fqdn ?? mailHost;
}

export function mailPlan(model: Model, host: string, over: { paths?: Partial<MailPaths>; listen?: string[]; ports?: Partial<MailPlan["ports"]>; srs?: Partial<Omit<MailSrs, "domain">> } = {}): MailPlan {
  const inv = model.inventory;
  const h = model.hosts.find((x) => x.name === host);
  const domains: MailDomainModel[] = model.mail.filter((d) => d.mailHost === host && d.status !== "departed");
  const mailboxes = domains.flatMap((d) => d.mailboxes.map((b) => ({ address: b.address, quotaMb: b.quotaMb, passwordHash: b.passwordHash, suspended: d.status === "suspended" })));
  const aliases: MailPlan["aliases"] = [];
  const senders: MailPlan["senders"] = [];
  for (const d of domains) {
    const defined = new Set([...d.mailboxes, ...d.aliases].map((x) => x.local));
    // Globenet's own domains may define them (validate refuses it to members).
    for (const l of RFC2142) if (!defined.has(l)) aliases.push({ address: `${l}@${d.domain}`, to: [inv.hostmaster] });
    for (const a of d.aliases) aliases.push({ address: a.address, to: a.to });
    // With a catch-all, each mailbox maps to itself first, or the catch-all would take its mail too.
    if (d.catchAll) {
      for (const b of d.mailboxes) aliases.push({ address: b.address, to: [b.address] });
      aliases.push({ address: `@${d.domain}`, to: [d.catchAll] });
    }
    for (const b of d.mailboxes) senders.push({ address: b.address, logins: [b.address] });
    // An alias's own mailboxes may send as the alias (bureau@ from contact@'s client).
    for (const a of d.aliases) {
      const own = a.to.filter((t) => d.mailboxes.some((b) => b.address === t));
      if (own.length > 0) senders.push({ address: a.address, logins: own });
    }
  }
  const monitor = model.hosts.find((x) => x.roles.includes("monitor"));
  const publicName = mailPublicName(model.inventory, model.hosts, host);
  // The SRS domain (the public name) takes mail too (bounces to rewritten senders): its RFC 2142 addresses are Globenet's.
  if (!domains.some((d) => d.domain === publicName)) for (const l of RFC2142) aliases.push({ address: `${l}@${publicName}`, to: [inv.hostmaster] });
  return {
    host,
    publicName,
    // Both of the host's addresses: mail for our domains comes over IPv6 as often as IPv4.
    listen: over.listen ?? (h ? [h.address, ...(h.ipv6 ? [h.ipv6] : [])] : ["127.0.0.1"]),
    ports: { ...MAIL_PORTS, ...over.ports },
    messageSizeBytes: inv.mail.message_size_mb * 1024 * 1024,
    sendPerHour: inv.mail.send_per_hour,
    ...(inv.mail.relay ? { relay: inv.mail.relay } : {}),
    domains: domains.map((d) => d.domain).sort(),
    mailboxes: mailboxes.sort((a, b) => (a.address < b.address ? -1 : 1)),
    aliases,
    senders,
    dkimSelector: inv.mail.dkim_selector,
    ...(inv.acme ? { acme: { directory: inv.acme.directory, email: inv.hostmaster, ...(inv.acme.ca_trust ? { caTrust: inv.acme.ca_trust } : {}), renewDays: MAIL_CERT_RENEW_DAYS } } : {}),
    ...(h && monitor ? { exporter: { listen: h.address, monitor: { name: monitor.name, address: monitor.address, ...(monitor.ipv6 ? { ipv6: monitor.ipv6 } : {}) } } } : {}),
    srs: { domain: publicName, ...MAIL_SRS, ...over.srs },
    paths: { ...MAIL_PATHS, ...over.paths },
  };
}

/**
 * The vmail user's uid and gid on the mail host, fixed so restored maildirs and a rebuilt host
 * keep their owner (the mail file set makes the user: provider/scripts/file-set/file-set.sh
 * VMAIL_UID, the same number).
 */
export const VMAIL_UID = 5000;

/**
 * The member mail domains a mail host serves, with their member and their mailboxes' local
 * parts, sorted (one Maildirs resource each: a local part that leaves the list is a mailbox whose
 * maildir is archived, then removed).
 */
export function mailDomainsOf(model: Model, host: string): { handle: string; domain: string; mailboxes: string[] }[] {
  return model.mail
    .filter((d) => d.mailHost === host && d.status !== "departed")
    .map((d) => ({ handle: d.handle, domain: d.domain, mailboxes: mailboxLocals(d) }))
    .sort((a, b) => (a.domain < b.domain ? -1 : 1));
}

/** A mail domain's mailboxes as its Maildirs resource lists them: local parts, sorted. */
export const mailboxLocals = (d: MailDomainModel): string[] => d.mailboxes.map((b) => b.local).sort();

/**
 * The mailboxes a domain loses between two lists of local parts (a Maildirs resource's before
 * and after, docs/architecture.md "Mail"): each is archived, then its maildir removed, and the
 * guard asks for it (lib/guard/mailbox-removal.ts). A before that is not a list is a state
 * written before the resource knew its mailboxes: nothing is known to be lost, nothing is removed.
 */
export function removedMailboxes(before: unknown, after: unknown): string[] {
  if (!Array.isArray(before)) return [];
  const kept = new Set(Array.isArray(after) ? after : []);
  return [...new Set(before.filter((l): l is string => typeof l === "string" && !kept.has(l)))].sort();
}

/** The mail host's DKIM selectors: the current one first (it signs), then the retired ones (published only). */
export function dkimSelectors(inventory: Model["inventory"]): string[] {
  return [inventory.mail.dkim_selector, ...inventory.mail.dkim_retired_selectors];
}

/**
 * Each mail domain's DKIM TXT records: where each goes (zone, owner relative to it), for the
 * current selector and each retired one (docs/architecture.md, "Mail": rotation).
 */
export function dkimRecordPlaces(model: Model, host: string): { domain: string; zone: string; name: string; selector: string; retired: boolean }[] {
  const [current, ...retired] = dkimSelectors(model.inventory);
  return model.mail
    .filter((d) => d.mailHost === host && d.status !== "departed")
    .sort((a, b) => (a.domain < b.domain ? -1 : 1))
    .flatMap((d) => [current as string, ...retired].map((sel) => ({ domain: d.domain, zone: d.zone, name: relativeName(`${sel}._domainkey.${d.domain}`, d.zone), selector: sel, retired: sel !== current })));
}

/** Where a domain's DKIM private key is on the mail host. */
export const dkimKeyPath = (paths: MailPaths, selector: string, domain: string) => `${paths.dkimKeyDir}/${selector}/${domain}.private`;

/** The DKIM TXT record's value for a public key (PEM or bare base64, as opendkim-genkey's .txt or openssl prints it). */
export function dkimRecordValue(publicKey: string): string {
  const b64 = publicKey.replace(/-----(BEGIN|END) PUBLIC KEY-----/g, "").replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length < 200 || b64.length > 1000) throw new Error("not an RSA public key of 1024 to 4096 bits in base64");
  return `v=DKIM1; k=rsa; p=${b64}`;
}
