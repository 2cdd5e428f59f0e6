import * as pulumi from "@pulumi/pulumi";
import type { Target } from "./target";

export interface DatabaseArgs {
  target: Target;
  webTarget?: Target;
  handle: string;
  home: string;
  name: string;
  user: string;
  clientHost: string;
  limits: { max_user_connections: number; max_queries_per_hour?: number; max_updates_per_hour?: number };
  status: "active" | "suspended";
  archiveDir: string;
}

/** A MariaDB database with its user, grants and limits; its password is made by the provider and kept secret. */
export class Database extends pulumi.CustomResource {
  declare readonly password: pulumi.Output<string>;
  declare readonly archives: pulumi.Output<string[]>;

  constructor(name: string, args: DatabaseArgs, opts?: pulumi.CustomResourceOptions) {
    super("globenet:db:Database", name, { ...args, password: undefined, archives: undefined }, { ...opts, additionalSecretOutputs: ["password"] });
  }
}
