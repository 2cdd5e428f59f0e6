import * as pulumi from "@pulumi/pulumi";
import type { FileSetInputs } from "../provider/resources/file-set-inputs";
import { storeManifest } from "../provider/resources/file-store";
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
 * The contents never reach the engine, nor their list: they go into the runner's content store
 * here with their manifest (path → sha256 of each content), and the engine gets the manifest's
 * sha256 (`fileManifest`) and the store's folder, which the provider reads back and checks
 * (docs/architecture.md, "File sets carry sha256 refs, not contents" and "One manifest per
 * set"). Files that wait for an output are stored when it is known (a preview with an unknown
 * value sends no manifest yet).
 */
export class FileSet extends pulumi.CustomResource {
  constructor(name: string, args: FileSetArgs, opts?: pulumi.CustomResourceOptions) {
    const { files, fileStore, ...rest } = args;
    // Plain contents are stored at once (the adoption's transform reads the manifest as a plain value); an output's when it resolves (a secret's manifest stays secret).
    const fileManifest = pulumi.Output.isInstance(files) || files instanceof Promise ? pulumi.output(files).apply((f) => storeManifest(fileStore, f)) : storeManifest(fileStore, files);
    // Its outputs (the provider's, in the state) are declared here only when the program reads one: each costs an Output and its promises per resource at every run (docs/architecture.md, "Speed").
    super(RESOURCE_TOKENS.fileSet, name, { ...rest, fileManifest, fileStore }, opts);
  }
}
