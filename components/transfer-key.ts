import * as pulumi from "@pulumi/pulumi";
import type { TransferKeyInputs } from "../provider/resources/transfer-key";
import { RESOURCE_TOKENS } from "../lib/base/tokens";

/** The key's inputs are the provider's contract; `secret` may be another copy's output. */
export type TransferKeyArgs = Omit<TransferKeyInputs, "secret"> & { secret?: pulumi.Input<string> };

/** One name server's copy of the TSIG key of zone transfers (made by the primary's copy, a stack secret). */
export class TransferKey extends pulumi.CustomResource {
  declare readonly secret: pulumi.Output<string>;

  constructor(name: string, args: TransferKeyArgs, opts?: pulumi.CustomResourceOptions) {
    super(RESOURCE_TOKENS.transferKey, name, { ...args, secret: args.secret === undefined ? undefined : pulumi.secret(args.secret), drift: undefined }, { ...opts, additionalSecretOutputs: ["secret"] });
  }
}
