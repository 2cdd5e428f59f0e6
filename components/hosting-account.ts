import * as pulumi from "@pulumi/pulumi";
import type { AccountInputs } from "../provider/resources/account";
import { RESOURCE_TOKENS } from "../lib/base/tokens";
import { SPEC_PROPERTY, specText } from "../lib/base/spec-inputs";

/** The account's inputs are the provider's contract: one definition for both sides. */
export type HostingAccountArgs = AccountInputs;

/** A member's unix account on its web host: user, home, site folders, authorized_keys. Its inputs go as one JSON text, `spec` (lib/base/spec-inputs.ts). */
export class HostingAccount extends pulumi.CustomResource {
  constructor(name: string, args: HostingAccountArgs, opts?: pulumi.CustomResourceOptions) {
    // Its outputs (the provider's, in the state) are declared here only when the program reads one: each costs an Output and its promises per resource at every run (docs/architecture.md, "Speed").
    super(RESOURCE_TOKENS.account, name, { [SPEC_PROPERTY]: specText(args) }, opts);
  }
}
