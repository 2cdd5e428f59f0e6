import * as pulumi from "@pulumi/pulumi";
import { DataError } from "./lib/load/diagnostic";
import { loadModel } from "./lib/model/build";

/**
 * The Pulumi program. It only reads the stack, loads and validates the data, and (from the
 * engine issue on) instantiates the components. Exported as a function so the project's
 * driver runs it inline through the Automation API, and a stock Pulumi install runs it with
 * `pulumi up` through the default export.
 */
export function program(root: string = __dirname): Record<string, unknown> {
  const stack = pulumi.getStack();
  const { model, errors } = loadModel(root, stack);
  if (!model) throw new DataError(errors);
  return {
    members: model.members.length,
    sites: model.sites.length,
    databases: model.databases.length,
    vps: model.vps.length,
    zones: model.zones.length,
  };
}

export default () => program();
