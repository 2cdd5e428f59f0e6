import * as pulumi from "@pulumi/pulumi";
import type { PortalInputs, PortalRelease } from "../provider/resources/portal";
import { RESOURCE_TOKENS } from "../lib/base/tokens";

/** The portal's inputs are the provider's contract; `env` (the bot token) and `credentials` (the hashes) are secrets; `release` is built while the program runs. */
export type PortalArgs = Omit<PortalInputs, "env" | "credentials" | "release"> & { env: pulumi.Input<string>; credentials: pulumi.Input<string>; release: pulumi.Input<PortalRelease> };

/** The member portal on its web host: its user, unit, token file, the members' password hashes, and the code and data it runs (provider/resources/portal.ts). */
export class Portal extends pulumi.CustomResource {
  declare readonly drift: pulumi.Output<string[]>;

  constructor(name: string, args: PortalArgs, opts?: pulumi.CustomResourceOptions) {
    super(RESOURCE_TOKENS.portal, name, { ...args, env: pulumi.secret(args.env), credentials: pulumi.secret(args.credentials), drift: undefined }, { ...opts, additionalSecretOutputs: ["env", "credentials"] });
  }
}
