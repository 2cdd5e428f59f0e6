import * as pulumi from "@pulumi/pulumi";
import type { Target } from "./target";

export type FileSetKind = "apache2" | "php-fpm" | "bind-primary" | "bind-secondary" | "www";

export interface FileSetArgs {
  target: Target;
  kind: FileSetKind;
  phpVersion?: string;
  /** Path inside the set → content. */
  files: Record<string, string>;
}

/** The config files of one daemon on one host: staged, checked by the daemon, swapped, reloaded once. */
export class FileSet extends pulumi.CustomResource {
  declare readonly serials: pulumi.Output<Record<string, number> | undefined>;
  declare readonly generation: pulumi.Output<string>;

  constructor(name: string, args: FileSetArgs, opts?: pulumi.CustomResourceOptions) {
    super("globenet:files:FileSet", name, { ...args, serials: undefined, generation: undefined }, opts);
  }
}
