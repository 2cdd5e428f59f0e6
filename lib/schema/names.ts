import tr46 from "tr46";

/**
 * Name rules shared by every schema. Each function returns undefined when the value is fine,
 * else the message (what is wrong, then the hint in parentheses).
 */

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Characters that must never reach a shell, a config file or SQL from a name. */
export function dangerousCharacter(s: string): string | undefined {
  if (/[\r\n]/.test(s)) return "a line break";
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(s)) return "a control character";
  if (s.includes("$(")) return "`$(`";
  if (s.includes("`")) return "a backtick";
  if (s.includes('"')) return "a double quote";
  if (s.includes("'")) return "a single quote";
  if (s.includes("\\")) return "a backslash";
  if (s.includes(";")) return "`;`";
  if (s.includes("..")) return "`..`";
  if (s.includes("/")) return "`/`";
  if (/\s/.test(s)) return "white space";
  return undefined;
}

/**
 * A host name every rule of hostnameProblem accepts: lowercase ASCII labels of the LABEL form,
 * at least two, none with "--" (so no punycode), the last with a letter, 253 characters at
 * most. Most names are of this form and are answered by it alone.
 */
const PLAIN_HOSTNAME = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export function plainHostname(name: string): boolean {
  return name.length <= 253 && PLAIN_HOSTNAME.test(name) && !name.includes("--") && /[a-z]/.test(name.slice(name.lastIndexOf(".") + 1));
}

/** A host name we serve or point at: lowercase ASCII (punycode), at least two labels. */
export function hostnameProblem(name: string, opts: { wildcard?: boolean } = {}): string | undefined {
  return plainHostname(name) ? undefined : hostnameProblemByRules(name, opts);
}

/** hostnameProblem, every rule in turn (tests check the plain form's answer against it). */
export function hostnameProblemByRules(name: string, opts: { wildcard?: boolean } = {}): string | undefined {
  const bad = dangerousCharacter(name);
  if (bad) return `contains ${bad} (a host name is only letters a-z, digits, hyphens and dots)`;
  if (name.endsWith(".")) return `must not end with a dot (write "${name.replace(/\.+$/, "")}")`;
  if (name.length > 253) return `is ${name.length} characters, over the 253 allowed for a DNS name (choose a shorter name)`;
  if (/[^\x20-\x7e]/.test(name)) {
    const ascii = tr46.toASCII(name, { transitionalProcessing: false, checkBidi: true, checkJoiners: true, verifyDNSLength: true });
    return ascii
      ? `must be written in its ASCII (punycode) form (write "${ascii}")`
      : "is not a valid internationalised domain name (check the spelling)";
  }
  if (name !== name.toLowerCase()) return `must be lowercase (write "${name.toLowerCase()}")`;
  const labels = name.split(".");
  if (labels.length < 2) return "needs at least two labels, like example.org (write the full name)";
  for (const [i, label] of labels.entries()) {
    if (label === "*" && i === 0 && opts.wildcard) continue;
    if (label.length === 0) return "has an empty label (remove the doubled or leading dot)";
    if (label.length > 63) return `has a label of ${label.length} characters, over the 63 allowed ("${label.slice(0, 20)}…"; shorten it)`;
    if (label === "*") return "may not contain a wildcard here (name one host)";
    if (!LABEL.test(label)) {
      if (label.includes("_")) return `has "${label}" with an underscore, which a host name cannot contain (use a hyphen)`;
      return `has an invalid label "${label}" (use letters a-z, digits and inner hyphens only)`;
    }
    if (label.slice(2, 4) === "--" && !label.startsWith("xn--")) return `has a label "${label}" with "--" in 3rd-4th position, reserved for encodings (remove the double hyphen)`;
    const puny = punycodeProblem(label);
    if (puny) return puny;
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1] ?? "")) return "ends in an all-numeric label, which is an IP address, not a host name (write a host name)";
  return undefined;
}

/** An xn-- label must decode and re-encode to itself, or resolvers and browsers disagree on it. */
function punycodeProblem(label: string): string | undefined {
  if (!label.startsWith("xn--")) return undefined;
  const uni = tr46.toUnicode(label, { transitionalProcessing: false, checkBidi: true, checkJoiners: true });
  const back = uni.error ? null : tr46.toASCII(uni.domain, { transitionalProcessing: false, checkBidi: true, checkJoiners: true, verifyDNSLength: true });
  return uni.error || back !== label ? `has "${label}", which is not valid punycode (write the name in Unicode in a converter and copy its xn-- form)` : undefined;
}

/** A name relative to a zone: "@", "www", "_dmarc", "_sip._tcp", "*.lists". */
export function recordNameProblem(name: string): string | undefined {
  const bad = dangerousCharacter(name);
  if (bad) return `contains ${bad} (a record name is letters a-z, digits, hyphens, underscores and dots, or "@" for the zone itself)`;
  if (name === "@") return undefined;
  if (name.endsWith(".")) return `must be relative to the zone, without a final dot (write "${name.replace(/\.+$/, "")}" or "@")`;
  if (name.startsWith("$")) return `starts with "$", which a zone file reads as a directive such as $INCLUDE (use a plain name)`;
  if (name !== name.toLowerCase()) return `must be lowercase (write "${name.toLowerCase()}")`;
  if (name.length > 253) return `is ${name.length} characters, over the 253 allowed (shorten it)`;
  const labels = name.split(".");
  for (const [i, label] of labels.entries()) {
    if (label === "*" && i === 0) continue;
    if (label.length === 0) return "has an empty label (remove the doubled dot)";
    if (label.length > 63) return `has a label of ${label.length} characters, over the 63 allowed (shorten it)`;
    if (!/^(?:_?[a-z0-9](?:[a-z0-9-]*[a-z0-9])?|_[a-z0-9-]+)$/.test(label)) return `has an invalid label "${label}" (use letters a-z, digits, inner hyphens, or a leading underscore for service names)`;
    const puny = punycodeProblem(label);
    if (puny) return puny;
  }
  return undefined;
}

/** A fully qualified target inside a record (MX, CNAME, NS, SRV, PTR): must end with a dot. */
export function targetProblem(value: string): string | undefined {
  if (value === ".") return undefined;
  if (!value.endsWith(".")) {
    return `must be a fully qualified name ending with a dot (write "${value}." — without the dot the zone's name would be appended)`;
  }
  const p = hostnameProblem(value.slice(0, -1));
  return p ? p.replace(/\(write "([^"]*)"\)/, '(write "$1.")') : undefined;
}

/**
 * A unix-safe identifier (handles, host names of the inventory, image names): lowercase,
 * starting with a letter, no doubled hyphen (we use "--" as a separator).
 */
export function identifierProblem(s: string, what: string, max: number, example: string): string | undefined {
  const bad = dangerousCharacter(s);
  if (bad) return `contains ${bad} (a ${what} is lowercase letters, digits and single hyphens, like "${example}")`;
  if (s.length < 2 || s.length > max) return `must be 2 to ${max} characters long (choose a ${what} like "${example}")`;
  if (!/^[a-z][a-z0-9-]*[a-z0-9]$/.test(s)) return `must start with a lowercase letter and use only a-z, 0-9 and inner hyphens (like "${example}")`;
  if (s.includes("--")) return `must not contain "--" (use a single hyphen)`;
  return undefined;
}

/** A VPS's name: the name of its file under members/<handle>/vps/. */
export function vpsNameProblem(name: string): string | undefined {
  return identifierProblem(name, "VPS name", 32, "atelier");
}

/** A VPS's libvirt domain: <handle>--<VPS name> (neither part may hold "--", so the split is unique). */
export function guestDomainProblem(domain: string): string | undefined {
  const at = domain.indexOf("--");
  if (at < 0) return 'must be <handle>--<VPS name> (like "velo-libre--atelier")';
  return identifierProblem(domain.slice(0, at), "handle", 32, "velo-libre") ?? vpsNameProblem(domain.slice(at + 2));
}

/** A PHP version as the data writes it: "8.2". */
export const PHP_VERSION = /^[5-9]\.[0-9]{1,2}$/;
