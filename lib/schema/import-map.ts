import { z } from "zod";
import { email, hostname, text } from "./common";
import { handle } from "./member";

/**
 * The import's mapping file (`npm run import -- … --map import-map.yaml`): what the import of a
 * live host cannot decide by itself, said once by a volunteer and kept for the next run.
 *
 *   accounts:  a unix account → the member it belongs to (a new handle when the unix name is
 *              not a valid one), that member's name and contact; or ignore: true (a system or
 *              former account that is no member)
 *   sites:     a site's name → the member who owns it (when neither the PHP pool's user nor the
 *              document root's owner is a member's account, or they disagree)
 *   zones:     a zone → the member who owns it
 *   databases, database_prefixes: a MariaDB database (or every one starting "<prefix>_") → its member
 *   domains:   a libvirt domain → its member and the VPS's name
 */
const unixUser = z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/, { error: "must be a unix user name as getent passwd shows it" });

export const importAccountSchema = z
  .strictObject({
    member: handle.optional(),
    name: text(200).optional(),
    email: email.optional(),
    ignore: z.literal(true, { error: "must be true (leave it out to import the account)" }).optional(),
  })
  .superRefine((a, ctx) => {
    if (a.ignore && (a.member || a.name || a.email)) ctx.addIssue({ code: "custom", message: "ignore: true takes nothing else (remove member, name and email, or remove ignore)" });
  });

export const importMapSchema = z.strictObject({
  accounts: z.record(unixUser, importAccountSchema).default({}),
  sites: z.record(hostname, z.strictObject({ member: handle })).default({}),
  zones: z.record(hostname, z.strictObject({ owner: handle })).default({}),
  /** MariaDB database → the member who owns it. */
  databases: z.record(z.string().regex(/^[A-Za-z0-9_$-]{1,64}$/, { error: "must be a database name as MariaDB shows it" }), z.strictObject({ member: handle })).default({}),
  /** The part of database names before the first "_" → the member who owns them. */
  database_prefixes: z.record(z.string().regex(/^[A-Za-z0-9$-]{1,64}$/, { error: "must be the part of a database name before its first _" }), z.strictObject({ member: handle })).default({}),
  /** libvirt domain → its member and the VPS's name. */
  domains: z.record(z.string().regex(/^[A-Za-z0-9_.+-]{1,64}$/, { error: "must be a libvirt domain name as virsh list shows it" }), z.strictObject({ member: handle, name: handle })).default({}),
});

export type ImportMap = z.infer<typeof importMapSchema>;
export type ImportAccountMap = z.infer<typeof importAccountSchema>;
