import * as pulumi from "@pulumi/pulumi";
import { COMPONENT_TOKENS } from "../lib/base/tokens";
import { dkimRecordValue } from "../lib/model/mail";
import { DkimKey } from "./dkim-key";
import { FileSet } from "./file-set";
import { Maildirs } from "./maildirs";
import type { Target } from "./target";

export interface MailServerArgs {
  target: Target;
  /** The mail set's files (lib/render/mail.ts mailSetFiles of the plan with MAIL_PATHS). */
  files: Record<string, string>;
  /** The runner's content store the file set writes (FileSetArgs.fileStore). */
  fileStore: string;
  /** The mail domains this host signs for: one DKIM key each. */
  domains: string[];
  /** The inventory's mail.dkim_selector: its keys sign (a new one is a rotation: new keys). */
  selector: string;
  /** The inventory's mail.dkim_retired_selectors: their keys stay, their TXT published; removed from the list, archived. */
  retired: string[];
  /** Where a removed key is moved (the inventory's archive_dir); a removed domain's maildirs are archived there too. */
  archiveDir: string;
  /** Each member mail domain's stored mail: one Maildirs each, whose delete archives the maildirs (and whose update, a removed mailbox's). */
  maildirs: { handle: string; domain: string; mailboxes: string[] }[];
  /** The mailboxes' root on the host (MAIL_PATHS.vmailDir). */
  vmailDir: string;
}

/** The key of MailServer.dkim for a selector's record of a domain. */
export const dkimOutput = (selector: string, domain: string) => `${selector}/${domain}`;

/**
 * The mail host (docs/architecture.md, "Mail"): one DKIM key per hosted mail domain, made on
 * the host, then Postfix's, Dovecot's and OpenDKIM's files as one checked file set (whose apply
 * also makes the vmail user with its fixed uid and the maildirs' root). `dkim` holds each
 * domain's TXT value from its key's public half, for the zones (index.ts hands them to the
 * primary name server).
 */
export class MailServer extends pulumi.ComponentResource {
  /** dkimOutput(selector, domain) → the DKIM TXT record's value (v=DKIM1; k=rsa; p=…), for the current and each retired selector. */
  readonly dkim: Record<string, pulumi.Output<string>> = {};

  constructor(name: string, args: MailServerArgs, opts?: pulumi.ComponentResourceOptions) {
    super(COMPONENT_TOKENS.mailServer, name, {}, opts);
    // One key per domain and selector, named with its selector, so a rotation adds a resource
    // and leaves the retired one as it is (no replacement that would archive its key). The name
    // keys had before retired selectors existed goes, as an alias, to the selector that state
    // holds: the first retired one during a rotation, else the current one.
    const legacyOwner = args.retired[0] ?? args.selector;
    const keys = args.domains.flatMap((domain) =>
      [args.selector, ...args.retired].map((selector) => {
        const aliases = selector === legacyOwner ? [{ name: `${name}-dkim-${domain}` }] : [];
        const key = new DkimKey(`${name}-dkim-${domain}-${selector}`, { target: args.target, selector, domain, archiveDir: args.archiveDir }, { parent: this, aliases });
        this.dkim[dkimOutput(selector, domain)] = key.publicKey.apply(dkimRecordValue);
        return key;
      }),
    );
    // OpenDKIM's key table names the keys: they exist before the set that names them goes live.
    const set = new FileSet(`${name}-mail`, { target: args.target, kind: "mail", files: args.files, fileStore: args.fileStore }, { parent: this, dependsOn: keys });
    // After the set: a domain or a mailbox removed leaves Postfix's maps and Dovecot's users first, so nothing arrives while its maildirs are archived.
    for (const d of args.maildirs) new Maildirs(`${name}-maildirs-${d.domain}`, { target: args.target, handle: d.handle, domain: d.domain, mailboxes: d.mailboxes, vmailDir: args.vmailDir, archiveDir: args.archiveDir }, { parent: this, dependsOn: [set] });
    this.registerOutputs({ dkim: this.dkim });
  }
}
