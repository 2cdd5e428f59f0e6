import * as pulumi from "@pulumi/pulumi";
import type { RenderedFile } from "../lib/render";
import { FileSet } from "./file-set";
import type { Target } from "./target";
import { TransferKey } from "./transfer-key";
import { COMPONENT_TOKENS } from "../lib/base/tokens";

export interface DnsServerArgs {
  target: Target;
  role: "primary" | "secondary";
  /** This host's rendered bind files. */
  files: RenderedFile[];
  /** The runner's content store the file set writes (FileSetArgs.fileStore). */
  fileStore: string;
  /**
   * Zone transfers signed with the stack's TSIG key, when the stack has secondaries: the
   * rotation number, and on a secondary the key (the primary's `transferSecret`).
   */
  transfers?: { rotation: number; secret?: pulumi.Input<string> };
  /**
   * On the primary: text appended to zone files (path in the set, like zones/<zone>.zone), for
   * records known only at apply: a mail domain's DKIM TXT from the key made on the mail host
   * (index.ts renders them with renderAppendedRecords). The zone set waits for them.
   */
  appended?: Record<string, pulumi.Input<string>>;
}

/**
 * One name server: for the primary, named.conf fragment and every zone as one file set (the
 * provider raises a zone's serial only when its content changes); for a secondary, the
 * fragment that makes it transfer the zones from the primary. With secondaries, each also
 * gets its copy of the transfer key first (named.conf.globenet includes it): the primary's
 * copy makes the key.
 */
export class DnsServer extends pulumi.ComponentResource {
  /** The transfer key, made by the primary's copy (a secret output); undefined without secondaries. */
  readonly transferSecret?: pulumi.Output<string>;

  constructor(name: string, args: DnsServerArgs, opts?: pulumi.ComponentResourceOptions) {
    super(COMPONENT_TOKENS.dnsServer, name, {}, opts);
    const files: Record<string, string> = {};
    for (const f of args.files) if (f.daemon === "bind" && f.path.startsWith("bind/")) files[f.path.slice("bind/".length)] = f.content;
    const key = args.transfers ? new TransferKey(`${name}-transfer-key`, { target: args.target, rotation: args.transfers.rotation, secret: args.transfers.secret }, { parent: this }) : undefined;
    this.transferSecret = key?.secret;
    const appended = Object.entries(args.appended ?? {}).filter(([path]) => path in files);
    const all = appended.length === 0 ? files : pulumi.all(appended.map(([, text]) => text)).apply((texts) => {
      const out = { ...files };
      appended.forEach(([path], i) => (out[path] = `${out[path]}${texts[i]}`));
      return out;
    });
    new FileSet(`${name}-bind`, { target: args.target, kind: args.role === "primary" ? "bind-primary" : "bind-secondary", files: all, fileStore: args.fileStore }, { parent: this, dependsOn: key ? [key] : [] });
    this.registerOutputs({});
  }
}
