import * as pulumi from "@pulumi/pulumi";
import type { FileSetInputs } from "../provider/resources/file-set-inputs";
import { RESOURCE_TOKENS } from "../lib/base/tokens";

/** The file set's inputs are the provider's contract: one definition for both sides (files may wait for another resource's output). */
export type FileSetArgs = Omit<FileSetInputs, "files"> & { files: pulumi.Input<Record<string, string>> };

/** The config files of one daemon on one host: staged, checked by the daemon, swapped, reloaded once. */
export class FileSet extends pulumi.CustomResource {
  /** Path → sha256 of each file as on the host (the state keeps hashes, not a second copy of the contents). */
  declare readonly hashes: pulumi.Output<Record<string, string>>;
  declare readonly serials: pulumi.Output<Record<string, number> | undefined>;
  declare readonly generation: pulumi.Output<string>;

  constructor(name: string, args: FileSetArgs, opts?: pulumi.CustomResourceOptions) {
    super(RESOURCE_TOKENS.fileSet, name, { ...args, hashes: undefined, serials: undefined, generation: undefined }, opts);
  }
}
