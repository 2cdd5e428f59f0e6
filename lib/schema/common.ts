import ipaddr from "ipaddr.js";
import { z } from "zod";
import { dangerousCharacter, hostnameProblem, identifierProblem, PHP_VERSION, recordNameProblem, targetProblem } from "./names";
import { sshHostKeyProblem, sshPublicKeyProblem } from "./ssh-key";

/** Turns a "problem or undefined" function into a zod string check. */
export function checked(problem: (s: string) => string | undefined) {
  return z.string().superRefine((v, ctx) => {
    const p = problem(v);
    if (p) ctx.addIssue({ code: "custom", message: p });
  });
}

export const hostname = checked((s) => hostnameProblem(s));
export const recordName = checked(recordNameProblem);
export const target = checked(targetProblem);
export const sshPublicKey = checked(sshPublicKeyProblem);
export const sshHostKey = checked(sshHostKeyProblem);

/** Unix-safe identifier: lowercase, starts with a letter, no doubled hyphen (we use "--" as a separator). */
export function identifier(what: string, max: number, example: string) {
  return checked((s) => identifierProblem(s, what, max, example));
}

export const ipv4 = checked((s) => {
  if (!ipaddr.IPv4.isValidFourPartDecimal(s)) return `"${s.slice(0, 60)}" is not an IPv4 address in dotted form (write it like 203.0.113.20)`;
  return undefined;
});

export const ipv6 = checked((s) => {
  if (!ipaddr.IPv6.isValid(s) || s.includes("%") || s.includes(".")) return `"${s.slice(0, 60)}" is not an IPv6 address (write it like 2001:db8:42::20)`;
  const normal = ipaddr.IPv6.parse(s).toString();
  if (normal !== s) return `must be written in its canonical short form (write "${normal}")`;
  return undefined;
});

export const mac = checked((s) => {
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(s)) return `"${s.slice(0, 40)}" is not a MAC address (write six lowercase hex pairs like 52:54:00:12:34:56)`;
  const first = parseInt(s.slice(0, 2), 16);
  if (first & 1) return "is a multicast MAC address (the first byte must be even; use the 52:54:00 prefix)";
  return undefined;
});

export function cidr(family: 4 | 6) {
  return checked((s) => {
    try {
      const [addr, len] = ipaddr.parseCIDR(s);
      if ((family === 4) !== (addr.kind() === "ipv4")) return `must be an IPv${family} prefix (like ${family === 4 ? "203.0.113.0/24" : "2001:db8:42::/64"})`;
      const network = (family === 4 ? ipaddr.IPv4 : ipaddr.IPv6).networkAddressFromCIDR(s).toString();
      if (network !== addr.toString() || s !== `${network}/${len}`) return `must name the network address (write "${network}/${len}")`;
    } catch {
      return `"${s.slice(0, 60)}" is not a prefix in CIDR form (write it like ${family === 4 ? "203.0.113.0/24" : "2001:db8:42::/64"})`;
    }
    return undefined;
  });
}

export const email = checked((s) => emailProblem(s));

export function emailProblem(s: string): string | undefined {
  const bad = dangerousCharacter(s.replace(/\//g, ""));
  if (bad) return `contains ${bad} (write a plain address like bureau@velo-libre.example)`;
  const at = s.lastIndexOf("@");
  if (at <= 0 || !/^[A-Za-z0-9._%+-]+$/.test(s.slice(0, at)) || s.slice(0, at).includes("..")) return "is not an e-mail address (write it like bureau@velo-libre.example)";
  const hp = hostnameProblem(s.slice(at + 1));
  return hp ? `has a domain that ${hp}` : undefined;
}

/** Free text shown to people (display names): one line, printable, bounded. */
export function text(max: number) {
  return checked((s) => {
    if (s.trim().length === 0) return "must not be empty (write the text)";
    if (s.length > max) return `is ${s.length} characters, over the ${max} allowed (shorten it)`;
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(s)) return "contains a line break or control character (write it on one line)";
    if (/[<>`\\]|\$\(/.test(s)) return "contains <, >, a backtick, a backslash or `$(` (remove them)";
    return undefined;
  });
}

export const positiveInt = (what: string, max: number) =>
  z
    .number({ error: `must be a whole number of ${what} (write a number without quotes)` })
    .int({ error: `must be a whole number of ${what}` })
    .min(1, { error: `must be at least 1 ${what}` })
    .max(max, { error: `must be at most ${max} ${what} (ask the hosting team if you need more)` });

/** PHP version as a quoted string: YAML would read 8.10 as the number 8.1. */
export const phpVersion = z.union([z.literal("none"), z.string().regex(PHP_VERSION)], {
  error: (iss) =>
    typeof iss.input === "number"
      ? `must be quoted, like php: "${iss.input}" (unquoted, YAML reads 8.10 as the number 8.1)`
      : `must be a PHP version like "8.2", or "none"`,
});

export const dnsTtl = z
  .number({ error: "must be a number of seconds (write a number without quotes)" })
  .int({ error: "must be a whole number of seconds" })
  .min(60, { error: "must be at least 60 seconds (use 300 for names you change often)" })
  .max(604800, { error: "must be at most 604800 seconds, one week (use 86400 for stable names)" });
