import ipaddr from "ipaddr.js";

/**
 * One escaper per target format. Renderers call these in TypeScript, before a value reaches
 * a template: templates are compiled with `noEscape`, so what a template receives is printed
 * as is. The schemas already reject dangerous characters in names; these functions are the
 * second wall, so each one either produces a value the target parser reads back exactly, or
 * throws UnsafeValueError when the format has no way to carry the value.
 */

/** A value that the target format cannot carry safely; never expected after validation. */
export class UnsafeValueError extends Error {
  constructor(format: string, value: string, why: string) {
    super(`cannot write ${JSON.stringify(value.slice(0, 80))} into ${format}: ${why}`);
    this.name = "UnsafeValueError";
  }
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function refuseControl(format: string, s: string): void {
  if (CONTROL.test(s)) throw new UnsafeValueError(format, s, "it contains a line break or control character");
  if (LONE_SURROGATE.test(s)) throw new UnsafeValueError(format, s, "it is not well-formed Unicode");
}

/**
 * Text inside a line comment (`#`, `;`, `//`, `--`). A line break would end the comment and
 * let the rest be read as configuration, so every control character becomes a space.
 */
export function lineComment(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f\u0085\u2028\u2029]/g, " ");
}

/**
 * A crontab line's command (crontab(5)): cron reads the rest of the line as the command, so a
 * line break would start another entry, and turns each unescaped `%` into a line break (the
 * rest becomes the command's input). `%` is written `\%`, which cron passes as `%`.
 */
export function crontabCommand(s: string): string {
  refuseControl("a crontab line", s);
  if (s.trim() === "") throw new UnsafeValueError("a crontab line", s, "the command is empty");
  return s.replace(/%/g, "\\%");
}

/**
 * Text inside an XML/HTML comment. XML forbids `--` inside a comment and a `-` just before
 * `-->`, and a comment cannot hold control characters; each `-` that would start such a
 * sequence is followed by a space.
 */
export function xmlComment(s: string): string {
  return lineComment(s).replace(/-(?=-|$)/g, "- ");
}

/**
 * A bare word in Apache's configuration (ServerName, ServerAlias, parts of log file names
 * and Redirect targets). Apache splits arguments on white space, expands `${VAR}` and reads
 * quotes; a host name needs none of that, so anything outside the host-name alphabet is
 * refused rather than quoted.
 */
export function apacheToken(s: string): string {
  if (!/^[A-Za-z0-9*_][A-Za-z0-9.*_-]*$/.test(s)) throw new UnsafeValueError("an Apache directive", s, "only letters, digits, '.', '-', '_' and '*' are allowed in a name");
  return s;
}

/** An unquoted absolute path in Apache's configuration (an <IfFile> argument): no spaces, quotes or `${`. */
export function apachePath(s: string): string {
  if (!/^\/[A-Za-z0-9._\/-]+$/.test(s) || s.includes("..")) throw new UnsafeValueError("an Apache directive", s, "only an absolute path of letters, digits, '.', '_', '-' and '/' is allowed here");
  return s;
}

/**
 * A double-quoted argument in Apache's configuration (paths, handler URLs). Inside double
 * quotes ap_getword_conf reads `\"` as `"` and `\\` as `\` and nothing else, so those two are
 * backslash-escaped. There is no escape for `${`, which Apache expands as a variable when it
 * reads the line, nor for a line break, which ends the directive: both are refused.
 */
export function apacheQuoted(s: string): string {
  refuseControl("an Apache directive", s);
  if (s.includes("${")) throw new UnsafeValueError("an Apache directive", s, "Apache would expand `${…}` as a variable");
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/**
 * A value in a PHP-FPM pool file. FPM reads it with PHP's INI parser, where `;` starts a
 * comment, `$`/`${}` expand variables, `"` and `'` quote, `=`, `|`, `&`, `~`, `!`, `(`, `)`
 * are operators and quoting rules differ between scanner modes. No quoting is safe in all
 * of them, so only an allow-list of plain path and name characters passes.
 */
export function fpmIniValue(s: string): string {
  if (!/^[A-Za-z0-9._/:@+-]+$/.test(s)) throw new UnsafeValueError("a PHP-FPM pool", s, "only letters, digits and . _ / : @ + - are allowed");
  return s;
}

/**
 * A quoted string in named.conf (zone names, file paths). BIND's lexer reads `\` as an escape
 * for the next character inside quotes, so `\` and `"` are backslash-escaped; a line break
 * has no escape there and is refused.
 */
export function namedConfString(s: string): string {
  refuseControl("named.conf", s);
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/**
 * An address in a named.conf address match list (allow-transfer, also-notify, primaries).
 * These are bare words that BIND parses as addresses, so only a literal IPv4 or IPv6 address
 * passes; anything else could be read as an ACL name or a keyword such as `any`.
 */
export function namedConfAddress(s: string): string {
  if (!(ipaddr.IPv4.isValidFourPartDecimal(s) || (ipaddr.IPv6.isValid(s) && /^[0-9a-fA-F:.]+$/.test(s)))) {
    throw new UnsafeValueError("named.conf", s, "an address list accepts only a literal IP address here");
  }
  return s;
}

/**
 * A domain name in a zone file (owner names, $ORIGIN, SOA names, CNAME/NS/MX/SRV/PTR targets).
 * RFC 1035 §5.1: any character may be written as `\DDD` (decimal byte); white space, `;`,
 * `(`, `)`, `"`, `$` and `\` would otherwise be read as syntax. Letters, digits, `-`, `_`, `.`
 * and `*` stay as they are; `@` stays only when it is the whole name (the zone's origin).
 */
const ZONE_NAME_PLAIN = /^[A-Za-z0-9._*-]+$/;

export function zoneDomainName(s: string): string {
  if (s === "@") return s;
  if (s.length === 0) throw new UnsafeValueError("a zone file", s, "a name cannot be empty");
  // Nearly every name is written as it is: only a name holding another character is walked byte by byte.
  if (ZONE_NAME_PLAIN.test(s)) return s;
  return [...Buffer.from(s, "utf8")]
    .map((b) => (/[A-Za-z0-9._*-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `\\${String(b).padStart(3, "0")}`))
    .join("");
}

/**
 * One <character-string> of a zone file (TXT, CAA value), from its bytes, in double quotes.
 * RFC 1035 §5.1: inside quotes `\"` and `\\` stand for themselves and `\DDD` for any byte.
 * Every byte outside printable ASCII is written as `\DDD`, so the zone file stays ASCII and
 * no parser has to guess an encoding. `"` and `\` are escaped although the schema rejects
 * them. The caller keeps each string at 255 bytes or less (see splitUtf8).
 */
const CHARACTER_STRING_PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

export function zoneCharacterString(bytes: Uint8Array): string {
  if (bytes.length > 255) throw new UnsafeValueError("a zone file", Buffer.from(bytes).toString("utf8"), "a character-string holds at most 255 bytes");
  // Printable ASCII but `"` and `\\` (nearly every TXT and CAA value) is written as it is.
  const latin1 = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
  if (CHARACTER_STRING_PLAIN.test(latin1)) return `"${latin1}"`;
  let out = '"';
  for (const b of bytes) {
    if (b === 0x22 || b === 0x5c) out += `\\${String.fromCharCode(b)}`;
    else if (b >= 0x20 && b <= 0x7e) out += String.fromCharCode(b);
    else out += `\\${String(b).padStart(3, "0")}`;
  }
  return `${out}"`;
}

/** Hexadecimal rdata (SSHFP fingerprints, TLSA data): hex digits only. */
export function zoneHex(s: string): string {
  if (!/^[0-9a-fA-F]+$/.test(s)) throw new UnsafeValueError("a zone file", s, "only hexadecimal digits are allowed");
  return s;
}

/** Text content of an XML element: `&` and `<` start markup, `>` is escaped for `]]>`. */
export function xmlText(s: string): string {
  refuseXmlChars(s);
  return s.replace(/[&<>]/g, (c) => XML_ENTITIES[c] as string);
}

/**
 * An XML attribute value, for either quote style. Besides markup characters, tab and line
 * breaks are written as character references, because attribute-value normalisation would
 * otherwise turn them into spaces.
 */
export function xmlAttr(s: string): string {
  refuseXmlChars(s);
  return s.replace(/[&<>"'\t\n\r]/g, (c) => XML_ENTITIES[c] as string);
}

const XML_ENTITIES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&apos;",
  "\t": "&#9;",
  "\n": "&#10;",
  "\r": "&#13;",
};

/** XML 1.0 cannot carry C0 controls other than tab, LF and CR, even as references. */
function refuseXmlChars(s: string): void {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/.test(s) || LONE_SURROGATE.test(s)) {
    throw new UnsafeValueError("XML", s, "XML 1.0 cannot hold this character");
  }
}

/** Text in an HTML page: the same five characters as XML markup. */
export function htmlText(s: string): string {
  return xmlAttr(s);
}

/**
 * A YAML double-quoted scalar (cloud-init files). JSON's string escapes (`\"`, `\\`, `\n`,
 * `\t`, `\uXXXX`, …) are a subset of YAML's double-quoted escapes, so JSON.stringify output
 * is a valid YAML double-quoted scalar with the same value. On top of it every character
 * outside printable ASCII is written as `\uXXXX` or `\UXXXXXXXX`: YAML 1.1 (PyYAML, which
 * cloud-init uses) reads U+0085, U+2028 and U+2029 as line breaks and rejects DEL and C1
 * controls, and JSON leaves those raw. The result is pure ASCII.
 */
export function yamlDoubleQuoted(s: string): string {
  if (LONE_SURROGATE.test(s)) throw new UnsafeValueError("YAML", s, "it is not well-formed Unicode");
  let out = "";
  for (const ch of JSON.stringify(s)) {
    const cp = ch.codePointAt(0) as number;
    if (cp >= 0x20 && cp <= 0x7e) out += ch;
    else if (cp <= 0xffff) out += `\\u${cp.toString(16).toUpperCase().padStart(4, "0")}`;
    else out += `\\U${cp.toString(16).toUpperCase().padStart(8, "0")}`;
  }
  return out;
}

/**
 * A MariaDB identifier (database name) in backticks. Inside backticks the only special
 * character is the backtick itself, written twice. NUL cannot appear in an identifier.
 * Backticks keep their meaning whatever the sql_mode (ANSI_QUOTES only changes `"`).
 */
export function sqlIdentifier(s: string): string {
  if (s.length === 0 || s.includes("\u0000")) throw new UnsafeValueError("SQL", s, "an identifier cannot be empty or hold NUL");
  return `\`${s.replace(/`/g, "``")}\``;
}

/**
 * A database name where GRANT reads it as a pattern: `_` and `%` are wildcards there, so a
 * grant on `velo_wp` would also open `veloxwp` to the user. Escaped with a backslash, they
 * match themselves only.
 */
export function sqlGrantDatabase(s: string): string {
  return sqlIdentifier(s.replace(/\\/g, "\\\\").replace(/([_%])/g, "\\$1"));
}

/**
 * A MariaDB string literal in single quotes, escaped as mysql_real_escape_string does:
 * NUL, LF, CR, Ctrl-Z, `\`, `'` and `"` get a backslash form, so the literal is one line and
 * survives being piped to the `mariadb` client. This relies on backslash escapes being on:
 * rendered SQL files pin their session's sql_mode so NO_BACKSLASH_ESCAPES cannot be set.
 */
export function sqlString(s: string): string {
  const map: Record<string, string> = { "\u0000": "\\0", "\n": "\\n", "\r": "\\r", "\u001a": "\\Z", "\\": "\\\\", "'": "\\'", '"': '\\"' };
  // eslint-disable-next-line no-control-regex
  return `'${s.replace(/[\u0000\n\r\u001a\\'"]/g, (c) => map[c] as string)}'`;
}

/**
 * A value inside one QEMU `-netdev`/`-device` option string (key=value,key=value). QEMU's
 * option parser reads `,` as the separator and `,,` as a literal comma, so commas are doubled;
 * control characters are refused. The result still goes through xmlAttr in the domain XML.
 */
export function qemuOptValue(s: string): string {
  refuseControl("a QEMU option", s);
  return s.replace(/,/g, ",,");
}

/**
 * A word in a Postfix map or Dovecot's passwd-file: the schema lets through only addresses of
 * a-z, 0-9 and . _ % + - (and hashes of their own alphabets), which no field separator of
 * either format uses. A value with white space, a comma, a colon or a # would be a second
 * field, another entry or a comment.
 */
export function mailMapWord(v: string): string {
  refuseControl("a mail map", v);
  if (v.length === 0) throw new UnsafeValueError("a mail map", v, "it is empty");
  if (/[\s,:#]/.test(v)) throw new UnsafeValueError("a mail map", v, "it contains white space, a comma, a colon or #, which separate fields there");
  return v;
}

/** An IP address in Postfix (inet_interfaces: IPv6 in brackets) or Dovecot (listen: bare). */
export function mailAddress(s: string, daemon: "postfix" | "dovecot"): string {
  if (!ipaddr.isValid(s)) throw new UnsafeValueError(`${daemon}'s listen addresses`, s, "it is not an IP address");
  const a = ipaddr.parse(s).toString();
  return daemon === "postfix" && a.includes(":") ? `[${a}]` : a;
}

/** A field of Dovecot's passwd-file (user:password:…): a colon or white space would end it. */
export function dovecotPasswdField(v: string): string {
  refuseControl("Dovecot's passwd-file", v);
  if (v.length === 0 || /[\s:]/.test(v)) throw new UnsafeValueError("Dovecot's passwd-file", v, "it is empty or contains white space or a colon, which separate fields there");
  return v;
}
