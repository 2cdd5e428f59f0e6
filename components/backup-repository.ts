import * as pulumi from "@pulumi/pulumi";
import type { BackupRepositoryInputs } from "../provider/resources/backup-repository";
import { RESOURCE_TOKENS } from "../lib/base/tokens";

type Inputs<T> = { [K in keyof T]: pulumi.Input<T[K]> };

/** The repository's inputs are the provider's contract; the key and passphrase come from the client's outputs. */
export type BackupRepositoryArgs = Inputs<Omit<BackupRepositoryInputs, "passphrase">> & { passphrase: pulumi.Input<string> };

/** One protected host's BorgBackup repository on the backup host, reachable by that host's key only, append-only. */
export class BackupRepository extends pulumi.CustomResource {
  constructor(name: string, args: BackupRepositoryArgs, opts?: pulumi.CustomResourceOptions) {
    super(RESOURCE_TOKENS.backupRepository, name, { ...args, drift: undefined }, { ...opts, additionalSecretOutputs: ["passphrase"] });
  }
}
