import * as pulumi from "@pulumi/pulumi";
import type { AlertBridgeInputs } from "../provider/resources/alert-bridge";
import { RESOURCE_TOKENS } from "../lib/base/tokens";

/** The bridge's inputs are the provider's contract; `env` holds the GitLab token (a stack secret). */
export type AlertBridgeArgs = Omit<AlertBridgeInputs, "env"> & { env: pulumi.Input<string> };

/** The alert bridge on the monitor host: its systemd unit and its token file (provider/resources/alert-bridge.ts). */
export class AlertBridge extends pulumi.CustomResource {
  declare readonly drift: pulumi.Output<string[]>;

  constructor(name: string, args: AlertBridgeArgs, opts?: pulumi.CustomResourceOptions) {
    super(RESOURCE_TOKENS.alertBridge, name, { ...args, env: pulumi.secret(args.env), drift: undefined }, { ...opts, additionalSecretOutputs: ["env"] });
  }
}
