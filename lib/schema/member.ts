import { z } from "zod";
import { checked, email, hostname, identifier, phpVersion, positiveInt, sshPublicKey, text } from "./common";
import { cronJob } from "./cron";
import { mailDomain } from "./mail";
import { passwordHashProblem } from "./password-hash";
import { sitePhpSettings } from "./php-settings";
import { databaseNameProblem, handleProblem } from "./system-names";

/**
 * The member's handle is its unix user name and folder name: it never changes. The rules are
 * lib/schema/system-names.ts's, which the provider applies again on its side.
 */
export const handle = checked(handleProblem);

/** A database's name, also its MariaDB account's name. */
export const databaseName = checked(databaseNameProblem);

export const dbLimits = z.strictObject({
  max_user_connections: positiveInt("connections", 500).optional(),
  max_queries_per_hour: positiveInt("queries", 100_000_000).optional(),
  max_updates_per_hour: positiveInt("updates", 100_000_000).optional(),
});

export const database = z.strictObject({
  name: databaseName,
  /** Overrides the member's db_limits for this database's user. */
  limits: dbLimits.optional(),
  /**
   * Raise it (a counter) or write today's date to get a new password at the next apply,
   * delivered in the member's ~/.my.cnf.d; the old one stops working then.
   */
  rotate_password: z
    .union([z.number().int().min(1).max(9_999_999), z.string().regex(/^\d{4}-\d{2}-\d{2}$/)], { error: 'must be a counter (1, 2, …) or a date in quotes like "2026-12-04" (change it to get a new password)' })
    .optional(),
});

export const site = z
  .strictObject({
    host: hostname,
    aliases: z.array(hostname).max(50).default([]),
    /** Other names that answer with a permanent redirect to `host`. */
    redirects: z.array(hostname).max(50).default([]),
    /** Sub-folder of the site's htdocs served as its root, for apps that want it (Dolibarr: htdocs, Symfony: public). */
    webroot: z
      .string()
      .regex(/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+){0,4}$/, { error: 'must be a relative folder like "public" or "dolibarr/htdocs" (letters, digits, _ and -, separated by /)' })
      .optional(),
    php: phpVersion.default("none"),
    /** Settings of the site's PHP pool, within the inventory's php.max (the sites of one pool agree). */
    php_settings: sitePhpSettings.optional(),
    tls: z.enum(["acme", "none"], { error: 'must be "acme" or "none"' }).default("acme"),
    /** Required with tls: none, so nobody switches HTTPS off without saying why. */
    tls_none_reason: text(200).optional(),
    /** "external": the site's names are in a zone Globenet does not serve; the member points them at us. */
    dns: z.enum(["managed", "external"], { error: 'must be "managed" (default) or "external"' }).default("managed"),
  })
  .superRefine((s, ctx) => {
    if (s.tls === "none" && !s.tls_none_reason) {
      ctx.addIssue({ code: "custom", path: ["tls"], message: "tls: none needs a stated reason (add tls_none_reason: \"…\", or remove tls to get HTTPS)" });
    }
    if (s.php === "none" && s.php_settings) {
      ctx.addIssue({ code: "custom", path: ["php_settings"], message: 'only makes sense on a site with PHP (add php: "8.2", or remove php_settings)' });
    }
    if (s.tls === "acme" && s.tls_none_reason) {
      ctx.addIssue({ code: "custom", path: ["tls_none_reason"], message: "only makes sense with tls: none (remove it)" });
    }
  });

export const memberSchema = z.strictObject({
  handle,
  name: text(200),
  contact: z.strictObject({
    email,
    /** Optional second address for emergencies. */
    backup_email: email.optional(),
  }),
  status: z.enum(["active", "suspended", "departed"], { error: 'must be "active", "suspended" or "departed"' }),
  /** Free note for volunteers, e.g. why a member is suspended. */
  note: text(500).optional(),
  ssh_keys: z.array(sshPublicKey).max(20).default([]),
  /**
   * How the member reaches its files: "ssh" (its keys, a shell; the default) or "sftp" (SFTP
   * only, locked in its home: no command, no shell, no forwarding), with its keys and/or
   * sftp_password_hash.
   */
  access: z.enum(["ssh", "sftp"], { error: 'must be "ssh" (keys and a shell) or "sftp" (SFTP only, with keys and/or sftp_password_hash)' }).default("ssh"),
  /** access: sftp only: the hash of the member's password (mkpasswd -m yescrypt), never the password. */
  sftp_password_hash: checked(passwordHashProblem).optional(),
  /** Inventory host name; may be omitted when the stack has exactly one web host. */
  web_host: identifier("host name", 32, "web1").optional(),
  db_host: identifier("host name", 32, "db1").optional(),
  /** The home's disk quota in MB; unset: the inventory's disk_quota.default_mb (at most disk_quota.max_mb). */
  disk_quota_mb: positiveInt("MB", 1_000_000).optional(),
  /**
   * The most files, folders and links the home may hold (the kernel's inode quota); unset: the
   * inventory's disk_quota.default_inodes (at most disk_quota.max_inodes).
   */
  inode_quota: positiveInt("inodes", 100_000_000).optional(),
  sites: z.array(site).max(100).default([]),
  databases: z.array(database).max(50).default([]),
  db_limits: dbLimits.default({}),
  /** Scheduled jobs, run as the member (cron); the output is mailed to the member's contact. */
  cron: z.array(cronJob).max(50, { error: "at most 50 jobs (group them in a script of your home)" }).default([]),
  /** Mail for the member's domains: mailboxes, aliases, forwards (served by the inventory's mail host). */
  mail: z.array(mailDomain).max(50, { error: "at most 50 mail domains" }).default([]),
  /**
   * A departed member's departure archives may be removed from the hosts (npm run backup --
   * purge-departure), once committed with `Allow-Destroy: departures/<handle>`.
   */
  purge_archives: z.literal(true, { error: "must be true (write it only to purge a departed member's archives; leave it out to keep them)" }).optional(),
}).superRefine((m, ctx) => {
  // A member who departed has no account: access says nothing then.
  if (m.status === "departed") return;
  if (m.access === "sftp" && m.ssh_keys.length === 0 && !m.sftp_password_hash) {
    ctx.addIssue({ code: "custom", path: ["access"], message: "sftp needs a way in: add ssh_keys, or sftp_password_hash (make one with: mkpasswd -m yescrypt)" });
  }
  if (m.access === "ssh" && m.sftp_password_hash) {
    // ssh accounts log in with keys only: a password would open a shell to whoever guesses it.
    ctx.addIssue({ code: "custom", path: ["sftp_password_hash"], message: "only works with access: sftp (an ssh account logs in with keys only: add access: sftp, or remove sftp_password_hash)" });
  }
});

export type MemberInput = z.input<typeof memberSchema>;
export type Member = z.infer<typeof memberSchema>;
export type Site = z.infer<typeof site>;
export type Database = z.infer<typeof database>;
export type DbLimits = z.infer<typeof dbLimits>;
