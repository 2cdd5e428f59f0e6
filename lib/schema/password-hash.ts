/**
 * An SFTP member's password, as the member gives it: a crypt(3) hash, never the password.
 * Two formats, both of Debian's libcrypt (libxcrypt) and both what `mkpasswd` (Debian package
 * whois) writes: yescrypt (`$y$…`, Debian's default since 11) and sha512-crypt (`$6$…`, also
 * what `openssl passwd -6` writes). Weaker ones (md5-crypt `$1$`, DES, bcrypt variants that
 * are not Debian's default) are refused. The hash goes into /etc/shadow as it is (chpasswd -e,
 * fed on stdin), so its alphabet is checked here: `:` or a line break would be a second field
 * or a second shadow entry.
 */

/** yescrypt: $y$<params>$<salt>$<43-character hash>, crypt's base-64 alphabet. */
const YESCRYPT = /^\$y\$[./0-9A-Za-z]{1,32}\$[./0-9A-Za-z]{1,86}\$[./0-9A-Za-z]{43}$/;
/** sha512-crypt: $6$[rounds=N$]<salt up to 16>$<86-character hash>. */
const SHA512 = /^\$6\$(rounds=[1-9][0-9]{3,8}\$)?[./0-9A-Za-z]{1,16}\$[./0-9A-Za-z]{86}$/;

export const PASSWORD_HASH_HINT = "make one with: mkpasswd -m yescrypt (Debian package whois), and paste the line it prints, in quotes";

/** The problem with a password hash, or undefined. The value itself is never repeated (it is a member's). */
export function passwordHashProblem(s: string): string | undefined {
  if (YESCRYPT.test(s) || SHA512.test(s)) return undefined;
  // A clear password is the likeliest mistake: say so, without echoing it.
  if (!s.startsWith("$")) return `is not a password hash: never write the password itself here (${PASSWORD_HASH_HINT})`;
  if (/^\$(1|2[abxy]?|5|md5|sha1|gy|7)\$/.test(s)) return `uses an old or unsupported hash method: only yescrypt ($y$…) or sha512-crypt ($6$…) are accepted (${PASSWORD_HASH_HINT})`;
  return `is not a whole yescrypt ($y$…) or sha512-crypt ($6$…) hash (${PASSWORD_HASH_HINT})`;
}
