import * as pulumi from "@pulumi/pulumi";
import type { BackupClientInputs } from "../provider/resources/backup-client";
import { RESOURCE_TOKENS } from "../lib/base/tokens";

/** The client's inputs are the provider's contract: one definition for both sides. */
export type BackupClientArgs = BackupClientInputs;

/** One protected host's backups: its key, its passphrase (made by the provider, kept secret), what it sends and when. */
export class BackupClient extends pulumi.CustomResource {
  declare readonly publicKey: pulumi.Output<string>;
  declare readonly passphrase: pulumi.Output<string>;

  constructor(name: string, args: BackupClientArgs, opts?: pulumi.CustomResourceOptions) {
    super(RESOURCE_TOKENS.backupClient, name, { ...args, publicKey: undefined, passphrase: undefined, drift: undefined }, { ...opts, additionalSecretOutputs: ["passphrase"] });
  }
}
