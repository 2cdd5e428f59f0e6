import * as pulumi from "@pulumi/pulumi";
import type { GuestInputs } from "../provider/resources/guest-check";
import { RESOURCE_TOKENS } from "../lib/base/tokens";

/** The guest's inputs are the provider's contract: one definition for both sides. */
export type VpsArgs = GuestInputs;

/** A libvirt guest with its disk (an overlay of the base image) and its cloud-init seed. */
export class Vps extends pulumi.CustomResource {
  declare readonly uuid: pulumi.Output<string>;
  declare readonly archives: pulumi.Output<string[]>;

  constructor(name: string, args: VpsArgs, opts?: pulumi.CustomResourceOptions) {
    super(RESOURCE_TOKENS.guest, name, { ...args, uuid: undefined, archives: undefined }, opts);
  }
}
