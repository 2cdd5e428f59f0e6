import * as pulumi from "@pulumi/pulumi";
import type { FileSetInputs } from "../provider/resources/file-set-inputs";
import { storeFiles } from "../provider/resources/file-store";
import { RESOURCE_TOKENS } from "../lib/base/tokens";

/**
 * The file set's inputs are the provider's contract: one definition for both sides (files may
 * wait for another resource's output). `fileStore`: the runner's content store of this data
 * root (provider/resources/file-store.ts, fileStoreOf(root)).
 */
export type FileSetArgs = Omit<FileSetInputs, "files"> & { files: pulumi.Input<Record<string, string>>; fileStore: string };

/**
 * The config files of one daemon on one host: staged, checked by the daemon, swapped, reloaded once.
 *
 * The contents never reach the engine: they go into the runner's content store here, and the
 * engine gets `fileRefs` (path → sha256 of each content) and the store's folder, which the
 * provider reads back and checks (docs/architecture.md, "Sharded stacks": "File sets carry sha256 refs, not contents"). Files that wait for
 * an output are stored when it is known (a preview with an unknown value sends no refs yet).
 */
export class FileSet extends pulumi.CustomResource {
  /** Path → sha256 of each file as on the host (the state keeps hashes, not a second copy of the contents). */
  declare readonly hashes: pulumi.Output<Record<string, string>>;
  declare readonly serials: pulumi.Output<Record<string, number> | undefined>;
  declare readonly generation: pulumi.Output<string>;

  constructor(name: string, args: FileSetArgs, opts?: pulumi.CustomResourceOptions) {
    const { files, fileStore, ...rest } = args;
    // Plain contents are stored at once (the adoption's transform reads the refs as plain values); an output's when it resolves (a secret's refs stay secret).
    const fileRefs = pulumi.Output.isInstance(files) || files instanceof Promise ? pulumi.output(files).apply((f) => storeFiles(fileStore, f)) : storeFiles(fileStore, files);
    super(RESOURCE_TOKENS.fileSet, name, { ...rest, fileRefs, fileStore, hashes: undefined, serials: undefined, generation: undefined }, opts);
  }
}
