import * as pulumi from "@pulumi/pulumi";
import type { MaildirsInputs } from "../provider/resources/maildirs";
import { RESOURCE_TOKENS } from "../lib/base/tokens";

/** The resource's inputs are the provider's contract: one definition for both sides. */
export type MaildirsArgs = MaildirsInputs;

/** The stored mail of one member's mail domain on the mail host; its delete archives every maildir before removing them. */
export class Maildirs extends pulumi.CustomResource {
  constructor(name: string, args: MaildirsArgs, opts?: pulumi.CustomResourceOptions) {
    super(RESOURCE_TOKENS.maildirs, name, { ...args }, opts);
  }
}
