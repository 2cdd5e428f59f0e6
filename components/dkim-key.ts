import * as pulumi from "@pulumi/pulumi";
import type { DkimKeyInputs } from "../provider/resources/dkim-key";
import { RESOURCE_TOKENS } from "../lib/base/tokens";

/** The key's inputs are the provider's contract: one definition for both sides. */
export type DkimKeyArgs = DkimKeyInputs;

/** One mail domain's DKIM key, made on the mail host (the private half stays there); `publicKey` is what the zone publishes. */
export class DkimKey extends pulumi.CustomResource {
  declare readonly publicKey: pulumi.Output<string>;

  constructor(name: string, args: DkimKeyArgs, opts?: pulumi.CustomResourceOptions) {
    super(RESOURCE_TOKENS.dkimKey, name, { ...args, publicKey: undefined, drift: undefined }, opts);
  }
}
