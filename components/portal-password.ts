import * as pulumi from "@pulumi/pulumi";
import type { PortalPasswordInputs } from "../provider/resources/portal-password";
import { RESOURCE_TOKENS } from "../lib/base/tokens";

/** A member's portal password, made at create and delivered in their home (provider/resources/portal-password.ts). */
export class PortalPassword extends pulumi.CustomResource {
  declare readonly handle: pulumi.Output<string>;
  /** The scrypt hash the portal verifies (secret). */
  declare readonly hash: pulumi.Output<string>;
  declare readonly drift: pulumi.Output<string[]>;

  constructor(name: string, args: PortalPasswordInputs, opts?: pulumi.CustomResourceOptions) {
    super(RESOURCE_TOKENS.portalPassword, name, { ...args, password: undefined, hash: undefined, drift: undefined }, { ...opts, additionalSecretOutputs: ["password", "hash"] });
  }
}
