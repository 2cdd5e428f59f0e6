import tr46 from "tr46";
import type { z } from "zod";
import { zoneNameProblem } from "../load/tree";
import { email, sshPublicKey, text } from "../schema/common";
import { handle } from "../schema/member";

/** The first message a schema gives for a value, exactly as validate would print it; undefined when valid. */
export function schemaProblem(schema: z.ZodType, value: unknown): string | undefined {
  const r = schema.safeParse(value);
  return r.success ? undefined : r.error.issues[0]?.message;
}

export const handleProblem = (s: string) => schemaProblem(handle, s);
export const memberNameProblem = (s: string) => schemaProblem(text(200), s);
export const emailProblem = (s: string) => schemaProblem(email, s);
export const sshKeyProblem = (s: string) => schemaProblem(sshPublicKey, s);

/** The VPS file-name rule of the loader (lib/load/tree.ts). */
export function vpsNameProblem(name: string): string | undefined {
  if (!/^[a-z][a-z0-9-]{0,30}[a-z0-9]$/.test(name) || name.includes("--")) {
    return 'is not a VPS name (2-32 characters: lowercase letters, digits and single hyphens, starting with a letter, like "atelier")';
  }
  return undefined;
}

/**
 * The zone's file name from what a volunteer types: a final dot dropped, an accented
 * domain turned into its xn-- form as the schema asks (UTS #46, non-transitional, like
 * lib/schema/names.ts), ASCII lowercased; then the loader's own zone-name rule.
 */
export function normaliseZoneName(input: string): { name: string } | { problem: string } {
  let name = input.trim().replace(/\.$/, "");
  if (/[^\x20-\x7e]/.test(name)) {
    const ascii = tr46.toASCII(name, { transitionalProcessing: false, checkBidi: true, checkJoiners: true, verifyDNSLength: true });
    if (!ascii) return { problem: "is not a valid internationalised domain name (check the spelling)" };
    name = ascii;
  } else name = name.toLowerCase();
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(name)) return { problem: "is not a lowercase domain name (write it like velo-libre.example)" };
  const p = zoneNameProblem(name);
  return p ? { problem: p } : { name };
}

/** A path inside a member's home (sites/x/htdocs/index.php), as `npm run backup -- restore` takes it: nothing that climbs out. */
export function homePathProblem(p: string): string | undefined {
  const clean = p.replace(/^\/+|\/+$/g, "");
  // eslint-disable-next-line no-control-regex
  if (!clean || clean.split("/").some((s) => s === ".." || s === ".") || /[\u0000-\u001f\u007f]/.test(clean)) return `"${p}" is not a path inside the home (like sites/velo-libre.example/htdocs/index.php)`;
  return undefined;
}
