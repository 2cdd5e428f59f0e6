import * as pulumi from "@pulumi/pulumi";
import type { RenderedFile } from "../lib/render";
import { FileSet } from "./file-set";
import type { Target } from "./target";
import { COMPONENT_TOKENS } from "../lib/base/tokens";

export interface DnsServerArgs {
  target: Target;
  role: "primary" | "secondary";
  /** This host's rendered bind files. */
  files: RenderedFile[];
}

/**
 * One name server: for the primary, named.conf fragment and every zone as one file set (the
 * provider raises a zone's serial only when its content changes); for a secondary, the
 * fragment that makes it transfer the zones from the primary.
 */
export class DnsServer extends pulumi.ComponentResource {
  constructor(name: string, args: DnsServerArgs, opts?: pulumi.ComponentResourceOptions) {
    super(COMPONENT_TOKENS.dnsServer, name, {}, opts);
    const files: Record<string, string> = {};
    for (const f of args.files) if (f.daemon === "bind" && f.path.startsWith("bind/")) files[f.path.slice("bind/".length)] = f.content;
    new FileSet(`${name}-bind`, { target: args.target, kind: args.role === "primary" ? "bind-primary" : "bind-secondary", files }, { parent: this });
    this.registerOutputs({});
  }
}
