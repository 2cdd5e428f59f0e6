import * as pulumi from "@pulumi/pulumi";
import type { DatabaseInputs } from "../provider/resources/database";
import { RESOURCE_TOKENS } from "../lib/base/tokens";
import { SPEC_PROPERTY, specText } from "../lib/base/spec-inputs";

/** The database's inputs are the provider's contract: one definition for both sides. */
export type DatabaseArgs = DatabaseInputs;

/** A MariaDB database with its user, grants and limits; its password is made by the provider and kept secret. Its inputs go as one JSON text, `spec` (lib/base/spec-inputs.ts). */
export class Database extends pulumi.CustomResource {
  declare readonly password: pulumi.Output<string>;

  constructor(name: string, args: DatabaseArgs, opts?: pulumi.CustomResourceOptions) {
    // Its outputs (the provider's, in the state) are declared here only when the program reads one: each costs an Output and its promises per resource at every run (docs/architecture.md, "Speed").
    // The password is the exception: the one secret output, declared so that the program sees it as secret too (tests/program-graph.test.ts).
    super(RESOURCE_TOKENS.database, name, { [SPEC_PROPERTY]: specText(args), password: undefined }, { ...opts, additionalSecretOutputs: ["password"] });
  }
}
