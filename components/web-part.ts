import * as pulumi from "@pulumi/pulumi";
import type { RenderedFile } from "../lib/render";
import { FileSet } from "./file-set";
import type { Target } from "./target";
import { COMPONENT_TOKENS } from "../lib/base/tokens";
import { filesUnder, poolSets } from "./web-server";

export interface WebPartArgs {
  target: Target;
  /** The part's name on the host (lib/model/shards.ts, bucketPart). */
  part: string;
  /** The part's rendered files: its members' vhosts (daemon apache2) and pools (php-fpm). */
  files: RenderedFile[];
  /** The runner's content store the file sets write (FileSetArgs.fileStore). */
  fileStore: string;
}

/**
 * One bucket's part of a split web host's configuration (docs/architecture.md, "Members split
 * by hash"): its members' vhosts as an Apache set and their pools as one set per PHP version,
 * live beside the host's own sets, which the host's shard declares, and checked with them by
 * each daemon before they go live. The accounts they run as are in the same stack: pass them in
 * `dependsOn`, so a new member's account comes before its pool, and a departing member's pool
 * before its account goes.
 */
export class WebPart extends pulumi.ComponentResource {
  constructor(name: string, args: WebPartArgs, opts?: pulumi.ComponentResourceOptions) {
    super(COMPONENT_TOKENS.webPart, name, {}, opts);
    const { target, part, fileStore } = args;
    const pools = poolSets(name, this, target, args.files.filter((f) => f.daemon === "php-fpm"), fileStore, part);
    // Vhosts point at the pools' sockets: those go live first.
    const sites = args.files.filter((f) => f.daemon === "apache2");
    new FileSet(`${name}-apache2`, { target, kind: "apache2", part, files: filesUnder(sites, "apache2/"), fileStore }, { parent: this, dependsOn: pools });
    this.registerOutputs({});
  }
}
