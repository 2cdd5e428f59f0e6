import * as pulumi from "@pulumi/pulumi";
import type { RenderedFile } from "../lib/render";
import { FileSet } from "./file-set";
import type { Target } from "./target";
import { COMPONENT_TOKENS } from "../lib/base/tokens";

export interface WebServerArgs {
  target: Target;
  /** This host's rendered files (daemons apache2, www, php-fpm). */
  files: RenderedFile[];
  /** The runner's content store the file sets write (FileSetArgs.fileStore). */
  fileStore: string;
}

/** The files under `prefix`, by their path below it (a file set's paths). */
export function filesUnder(files: RenderedFile[], prefix: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of files) if (f.path.startsWith(prefix)) out[f.path.slice(prefix.length)] = f.content;
  return out;
}

/** One FPM file set per PHP version of `fpm` (the pool files, under php/<v>/fpm/), named `<name>-php<v>`, a part's when `part` is given. */
export function poolSets(name: string, parent: pulumi.Resource, target: Target, fpm: RenderedFile[], fileStore: string, part?: string): FileSet[] {
  const versions = [...new Set(fpm.map((f) => f.path.split("/")[1] as string))].sort();
  return versions.map((v) => new FileSet(`${name}-php${v}`, { target, kind: "php-fpm", phpVersion: v, ...(part === undefined ? {} : { part }), files: filesUnder(fpm, `php/${v}/fpm/`), fileStore }, { parent }));
}

/**
 * One web host's configuration: all vhosts as one Apache file set, the suspended notice,
 * and one FPM file set per PHP version (a split host's member vhosts and pools are in its
 * buckets' parts instead: ./web-part.ts). Each is checked by its daemon before it goes live.
 * Accounts must exist before the pools that run as them: pass them in `dependsOn`.
 */
export class WebServer extends pulumi.ComponentResource {
  constructor(name: string, args: WebServerArgs, opts?: pulumi.ComponentResourceOptions) {
    super(COMPONENT_TOKENS.webServer, name, {}, opts);
    const byDaemon = (d: RenderedFile["daemon"]) => args.files.filter((f) => f.daemon === d);
    const www = new FileSet(`${name}-www`, { target: args.target, kind: "www", files: filesUnder(byDaemon("www"), "www/globenet-suspended/"), fileStore: args.fileStore }, { parent: this });
    const pools = poolSets(name, this, args.target, byDaemon("php-fpm"), args.fileStore);
    // Vhosts point at the pools' sockets and the notice page: those go live first.
    new FileSet(`${name}-apache2`, { target: args.target, kind: "apache2", files: filesUnder(byDaemon("apache2"), "apache2/"), fileStore: args.fileStore }, { parent: this, dependsOn: [www, ...pools] });
    this.registerOutputs({});
  }
}
