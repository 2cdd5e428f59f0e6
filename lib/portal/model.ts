import { loadModel } from "../check/build";
import type { Model } from "../model/types";

/**
 * The model of `stack`'s data, or the first errors as one message. Its own module (not
 * serve.ts, which opens the lab's stacks) so the deployed portal's bundle holds neither the
 * lab, the engine nor Pulumi (docs/architecture.md, "Member portal", "Shipping the code").
 */
export function loadPortalModel(root: string, stack: string): Model {
  const { model, errors } = loadModel(root, stack);
  if (!model) throw new Error(`the data of stack ${stack} has errors (npm run validate lists them): ${errors.length} error(s)`);
  return model;
}
