import * as pulumi from "@pulumi/pulumi";
import type { GuestInputs } from "../provider/resources/guest-check";
import { storeGuest } from "../provider/resources/guest-refs";
import { RESOURCE_TOKENS } from "../lib/base/tokens";
import { SPEC_PROPERTY, specText } from "../lib/base/spec-inputs";

/**
 * The guest's inputs are the provider's contract: one definition for both sides. `fileStore`:
 * the runner's content store of this data root (provider/resources/file-store.ts, fileStoreOf(root)).
 */
export type VpsArgs = GuestInputs & { fileStore: string };

/**
 * A libvirt guest with its disk (an overlay of the base image) and its cloud-init seed.
 *
 * Its domain XML, seed files and network filter XML never reach the engine: they go into the
 * runner's content store here, and the engine gets their sha256 (`xmlRef`, `seedRefs`,
 * `nwfilter.xmlRef`) and the store's folder, which the provider reads back and checks
 * (provider/resources/guest-refs.ts; docs/architecture.md, "Sharded stacks": "Guests carry sha256 refs too").
 * Its inputs go as one JSON text, `spec` (lib/base/spec-inputs.ts).
 */
export class Vps extends pulumi.CustomResource {
  constructor(name: string, args: VpsArgs, opts?: pulumi.CustomResourceOptions) {
    const { fileStore, ...inputs } = args;
    // Its outputs (the provider's, in the state) are declared here only when the program reads one: each costs an Output and its promises per resource at every run (docs/architecture.md, "Speed").
    super(RESOURCE_TOKENS.guest, name, { [SPEC_PROPERTY]: specText(storeGuest(fileStore, inputs)) }, opts);
  }
}
