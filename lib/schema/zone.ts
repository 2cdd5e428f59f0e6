import { z } from "zod";
import { dnsTtl, identifier, ipv4, ipv6, recordName, target } from "./common";
import { recordNameProblem } from "./names";

/**
 * Text carried inside quotes in the zone file (TXT, CAA). `;` and `/` are allowed because
 * DKIM, DMARC and SPF need them and are literal inside quotes; what could end the quotes or
 * start a directive is not.
 */
export const quotedText = (max: number) =>
  z.string().superRefine((s, ctx) => {
    const fail = (message: string) => ctx.addIssue({ code: "custom", message });
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(s)) return fail("contains a line break or control character (write it on one line; long values are split for you)");
    if (s.includes('"')) return fail("contains a double quote (remove it; the value is quoted for you)");
    if (s.includes("\\")) return fail("contains a backslash (remove it)");
    if (s.includes("`")) return fail("contains a backtick (remove it)");
    if (s.includes("$(")) return fail("contains `$(` (remove it)");
    if (/\$(INCLUDE|ORIGIN|TTL|GENERATE)/i.test(s)) return fail("contains a zone-file directive such as $INCLUDE (remove it)");
    if (s.length === 0) return fail("must not be empty (write the text)");
    if (Buffer.byteLength(s) > max) return fail(`is ${Buffer.byteLength(s)} bytes, over the ${max} allowed (shorten it)`);
  });

const u8 = (what: string, max = 255) =>
  z.number({ error: `must be a number (${what})` }).int({ error: `must be a whole number (${what})` }).min(0, { error: `must be 0 or more (${what})` }).max(max, { error: `must be at most ${max} (${what})` });
const u16 = (what: string) => u8(what, 65535);
const hex = (what: string) =>
  z.string().regex(/^[0-9a-f]+$/, { error: `must be lowercase hexadecimal (${what})` }).refine((s) => s.length % 2 === 0, { error: `must have an even number of hex digits (${what})` });

const base = { name: recordName, ttl: dnsTtl.optional() };

export const recordSchema = z.discriminatedUnion(
  "type",
  [
    z.strictObject({ ...base, type: z.literal("A"), value: ipv4 }),
    z.strictObject({ ...base, type: z.literal("AAAA"), value: ipv6 }),
    z.strictObject({ ...base, type: z.literal("CNAME"), value: target }),
    z.strictObject({ ...base, type: z.literal("MX"), priority: u16("lower is preferred, like 10"), value: target }),
    z.strictObject({ ...base, type: z.literal("TXT"), value: quotedText(8192) }),
    z.strictObject({ ...base, type: z.literal("SRV"), priority: u16("like 10"), weight: u16("like 5"), port: u16("the service's port"), value: target }),
    z.strictObject({ ...base, type: z.literal("CAA"), flags: u8("0, or 128 for critical").default(0), tag: z.enum(["issue", "issuewild", "iodef"], { error: 'must be "issue", "issuewild" or "iodef"' }), value: quotedText(255) }),
    z.strictObject({ ...base, type: z.literal("NS"), value: target }),
    z.strictObject({ ...base, type: z.literal("PTR"), value: target }),
    z.strictObject({ ...base, type: z.literal("SSHFP"), algorithm: u8("1 RSA, 3 ECDSA, 4 Ed25519"), fingerprint_type: u8("1 SHA-1, 2 SHA-256"), fingerprint: hex("the key's fingerprint") }),
    z.strictObject({ ...base, type: z.literal("TLSA"), usage: u8("0-3, usually 3", 3), selector: u8("0 or 1", 1), matching_type: u8("0, 1 or 2", 2), data: hex("the certificate association data") }),
  ],
  { error: "type must be one of A, AAAA, CNAME, MX, TXT, SRV, CAA, NS, PTR, SSHFP, TLSA (write it in capitals)" },
);

/** The name of a sub-zone relative to its parent: host-name labels only ("radio", "radio.fr"). */
const subZoneName = z.string().superRefine((s, ctx) => {
  const fail = (message: string) => ctx.addIssue({ code: "custom", message });
  const p = recordNameProblem(s);
  if (p) return fail(p);
  if (s === "@") return fail('is the zone itself (name the sub-zone relative to this zone, like "radio" for radio.<this zone>)');
  if (s.split(".").some((l) => l === "*" || l.startsWith("_"))) return fail('must be a sub-zone name of letters, digits and hyphens (no "*" or "_" labels)');
});

/**
 * The parent's consent to a member's zone inside it: `{ name: radio, to: ondes-libres }` in
 * zones/<parent>.yaml lets member ondes-libres own zones/radio.<parent>.yaml. Without it, a
 * zone inside another member's zone is refused (docs/architecture.md, "Zones inside zones").
 */
const delegation = z.strictObject({
  /** The sub-zone, relative to this zone: "radio" hands radio.<this zone> over. */
  name: subZoneName,
  /** The member that may own that sub-zone. */
  to: identifier("handle", 32, "ondes-libres"),
});

/** A zone, forward or reverse, in zones/<domain>.yaml; its name is the file name. */
export const zoneSchema = z.strictObject({
  /** The member handle that owns the zone (Globenet's own zones: "globenet"). */
  owner: identifier("handle", 32, "velo-libre"),
  ttl: dnsTtl.default(3600),
  /**
   * Signed by BIND with the stack's dnssec policy (inline signing, rollovers by BIND). New
   * zones are signed; false walks a signed zone back to unsigned without ever serving it bogus
   * (remove the DS at the registrar first, then npm run dnssec -- withdrawn <zone>).
   */
  dnssec: z.boolean({ error: "must be true or false" }).default(true),
  /**
   * A zone adopted from a server that signs it with BIND's built-in "default" policy (one
   * combined key, never rolled) keeps that policy, so BIND keeps its keys (under the stack's
   * policy, a KSK and a ZSK, it would make new ones). Absent: the stack's policy.
   */
  dnssec_policy: z.literal("default", { error: "must be default (BIND's built-in policy, kept from an adopted server); leave it out for the stack's policy" }).optional(),
  records: z.array(recordSchema).max(5000).default([]),
  /** Sub-zones of this zone that other members may own (the owner's written consent). */
  delegations: z
    .array(delegation)
    .max(1000)
    .superRefine((list, ctx) => {
      const first = new Map<string, number>();
      list.forEach((d, i) => {
        const prev = first.get(d.name);
        if (prev === undefined) first.set(d.name, i);
        else ctx.addIssue({ code: "custom", path: [i, "name"], message: `"${d.name}" is already delegated at delegations[${prev}] (a sub-zone has one owner; remove one of them)` });
      });
    })
    .optional(),
});

export type Zone = z.infer<typeof zoneSchema>;
export type ZoneRecord = z.infer<typeof recordSchema>;
export type Delegation = z.infer<typeof delegation>;
export type RecordType = ZoneRecord["type"];
