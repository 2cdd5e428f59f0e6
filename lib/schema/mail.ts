import { z } from "zod";
import { checked, email, emailProblem, hostname, positiveInt } from "./common";

/**
 * Mail for a member's domains (docs/architecture.md, "Mail"): per domain, mailboxes, aliases
 * (to local mailboxes or outside addresses) and an optional catch-all. Passwords are hashes the
 * member makes (`doveadm pw -s ARGON2ID`): no clear password is ever in git or in the state.
 */

/**
 * A local part that is safe everywhere it is written: Postfix maps, Dovecot's passwd-file,
 * maildir paths, shell arguments. Lower case (mail is case-insensitive; one spelling each).
 */
export function localPartProblem(s: string): string | undefined {
  if (s.length === 0) return 'must not be empty (write the part before the @, like "contact")';
  if (s.length > 64) return `is ${s.length} characters, over the 64 a local part may have (shorten it)`;
  if (s.includes("@")) return `must be the part before the @ only (write "${s.slice(0, s.indexOf("@"))}")`;
  if (/[A-Z]/.test(s) && /^[A-Za-z0-9._-]+$/.test(s)) return `must be in lower case (write "${s.toLowerCase()}")`;
  if (!/^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$/.test(s)) return "may hold only a-z, 0-9, '.', '_' and '-', starting and ending with a letter or digit";
  if (s.includes("..")) return "must not have two dots in a row";
  return undefined;
}

export const localPart = checked(localPartProblem);

/**
 * The schemes Dovecot verifies that are fit for passwords today ({SCHEME} prefix, as
 * `doveadm pw` prints): Argon2 (libsodium, Debian's Dovecot has it), bcrypt, SHA-512-crypt,
 * and {CRYPT} for a libc hash like yescrypt ($y$). Plain, MD5 and unsalted schemes are refused.
 */
const HASH_FORMS: Array<[RegExp, string]> = [
  [/^\{ARGON2ID\}\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/, "ARGON2ID"],
  [/^\{ARGON2I\}\$argon2i\$v=19\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/, "ARGON2I"],
  [/^\{BLF-CRYPT\}\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/, "BLF-CRYPT"],
  [/^\{SHA512-CRYPT\}\$6\$(rounds=\d+\$)?[./A-Za-z0-9]{1,16}\$[./A-Za-z0-9]{86}$/, "SHA512-CRYPT"],
  [/^\{CRYPT\}\$y\$[./A-Za-z0-9]+\$[./A-Za-z0-9]+\$[./A-Za-z0-9]{43}$/, "CRYPT (yescrypt)"],
  [/^\{CRYPT\}\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/, "CRYPT (bcrypt)"],
  [/^\{CRYPT\}\$6\$(rounds=\d+\$)?[./A-Za-z0-9]{1,16}\$[./A-Za-z0-9]{86}$/, "CRYPT (sha512)"],
];

export function mailPasswordHashProblem(s: string): string | undefined {
  if (HASH_FORMS.some(([re]) => re.test(s))) return undefined;
  if (/^\{(PLAIN|CLEAR|CLEARTEXT|PLAIN-MD5|LDAP-MD5|MD5|MD5-CRYPT|SHA|SHA1|SSHA|SHA256|SHA512|SSHA256|SSHA512)\}/i.test(s)) {
    return "uses a scheme too weak for a password (make one with: doveadm pw -s ARGON2ID)";
  }
  if (!s.startsWith("{") && !s.startsWith("$")) return "must be a password hash, never the password itself (make one with: doveadm pw -s ARGON2ID, and paste what it prints)";
  return "is not a hash Dovecot accepts here: {ARGON2ID}, {ARGON2I}, {BLF-CRYPT}, {SHA512-CRYPT} or {CRYPT} with a $y$, $2y$ or $6$ hash (make one with: doveadm pw -s ARGON2ID)";
}

export const mailPasswordHash = checked(mailPasswordHashProblem);

export const mailbox = z.strictObject({
  local: localPart,
  /** Default from the inventory's mail.default_quota_mb; at most its mail.max_quota_mb. */
  quota_mb: positiveInt("MB", 1_000_000).optional(),
  password_hash: mailPasswordHash,
});

/** An alias's target: a local part of the same domain, or a whole address (ours or outside). */
export const aliasTarget = checked((s) => (s.includes("@") ? emailProblem(s) : localPartProblem(s)));

export const alias = z.strictObject({
  local: localPart,
  to: z
    .array(aliasTarget)
    .min(1, { error: "needs at least one address (a mailbox of the domain, like contact, or a whole address)" })
    .max(20, { error: "at most 20 addresses (ask the hosting team for a mailing list)" }),
});

export const mailDomain = z.strictObject({
  /** A domain (or a name under one) in a zone the member owns. */
  domain: hostname,
  mailboxes: z.array(mailbox).max(200, { error: "at most 200 mailboxes on a domain" }).default([]),
  aliases: z.array(alias).max(200, { error: "at most 200 aliases on a domain" }).default([]),
  /** Mail to any unknown local part goes to this mailbox of the domain. Off by default (it gathers spam). */
  catch_all: localPart.optional(),
});

export type MailDomain = z.infer<typeof mailDomain>;
export type Mailbox = z.infer<typeof mailbox>;
export type Alias = z.infer<typeof alias>;

const dkimSelector = z.string().regex(/^[a-z0-9][a-z0-9-]{0,30}$/, { error: 'must be a short name of a-z, 0-9 and -, like "g2026"' });

/** The inventory's mail: what the mail host offers and the limits it applies. */
export const mailSettings = z.strictObject({
  /** The name clients and MX records use; default the mail host's fqdn. */
  public_name: hostname.optional(),
  /** Largest message accepted, in MB (Postfix message_size_limit). */
  message_size_mb: positiveInt("MB", 200).default(25),
  /** Messages one authenticated sender may submit per hour (beyond that, deferred). */
  send_per_hour: positiveInt("messages", 100_000).default(200),
  /** Where outgoing mail goes when not directly (a smarthost), as host or host:port. */
  relay: z.string().regex(/^[a-z0-9.-]+(:\d{1,5})?$/, { error: 'must be a host name, optionally with a port, like "smtp.relay.example:587"' }).optional(),
  default_quota_mb: positiveInt("MB", 1_000_000).default(1024),
  max_quota_mb: positiveInt("MB", 1_000_000).default(10_240),
  /** Outside addresses that one domain's aliases may forward to, in all. */
  max_forwards: positiveInt("addresses", 1000).default(50),
  /** The DKIM selector of the current key (a new selector is a key rotation). */
  dkim_selector: dkimSelector.default("g1"),
  /**
   * Selectors of keys rotated out: no longer signing, their TXT still published (mail signed with
   * them may still be on its way or re-checked) until a volunteer removes them here.
   */
  dkim_retired_selectors: z.array(dkimSelector).max(4, { error: "at most 4 retired selectors (remove the oldest: a week after a rotation is enough)" }).default([]),
  /** The DMARC policy published for members' domains. */
  dmarc_policy: z.enum(["none", "quarantine", "reject"], { error: 'must be "none", "quarantine" or "reject"' }).default("quarantine"),
  /** Where DMARC aggregate and TLS reports go; default dmarc-reports@ the inventory's domain. */
  reports_to: email.optional(),
});

export type MailSettings = z.infer<typeof mailSettings>;
