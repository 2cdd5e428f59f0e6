import * as pulumi from "@pulumi/pulumi";
import type { CrontabInputs } from "../provider/resources/crontab";
import { RESOURCE_TOKENS } from "../lib/base/tokens";

/** The crontab block's inputs are the provider's contract: one definition for both sides. */
export type MemberCrontabArgs = CrontabInputs;

/** The jobs of a member file (cron:), as the managed block of the member's crontab on its web host. */
export class MemberCrontab extends pulumi.CustomResource {
  constructor(name: string, args: MemberCrontabArgs, opts?: pulumi.CustomResourceOptions) {
    super(RESOURCE_TOKENS.crontab, name, { ...args }, opts);
  }
}
