import * as pulumi from "@pulumi/pulumi";
import type { Target } from "./target";

export interface HostingAccountArgs {
  target: Target;
  handle: string;
  home: string;
  status: "active" | "suspended";
  sshKeys: string[];
  /** Site host names: each gets ~/sites/<host>/htdocs. */
  sites: string[];
  archiveDir: string;
  diskQuotaMb: number;
}

/** A member's unix account on its web host: user, home, site folders, authorized_keys. */
export class HostingAccount extends pulumi.CustomResource {
  declare readonly archives: pulumi.Output<string[]>;

  constructor(name: string, args: HostingAccountArgs, opts?: pulumi.CustomResourceOptions) {
    super("globenet:hosting:Account", name, { ...args, archives: undefined }, opts);
  }
}
