import * as pulumi from "@pulumi/pulumi";
import type { Target } from "./target";

export interface VpsArgs {
  target: Target;
  domain: string;
  xml: string;
  seed: { userData: string; metaData: string; networkConfig: string };
  baseImage: string;
  diskPath: string;
  seedPath: string;
  diskGb: number;
  vcpus: number;
  memoryMb: number;
  running: boolean;
  archiveDir: string;
}

/** A libvirt guest with its disk (an overlay of the base image) and its cloud-init seed. */
export class Vps extends pulumi.CustomResource {
  declare readonly uuid: pulumi.Output<string>;
  declare readonly archives: pulumi.Output<string[]>;

  constructor(name: string, args: VpsArgs, opts?: pulumi.CustomResourceOptions) {
    super("globenet:vm:Guest", name, { ...args, uuid: undefined, archives: undefined }, opts);
  }
}
