import * as pulumi from "@pulumi/pulumi";
import type { DbSettingsInputs } from "../provider/resources/db-settings";
import { RESOURCE_TOKENS } from "../lib/base/tokens";

/** The settings' inputs are the provider's contract: one definition for both sides. */
export type DbServerSettingsArgs = DbSettingsInputs;

/** A database host's MariaDB server settings (the slow query log, from the inventory's mariadb:). */
export class DbServerSettings extends pulumi.CustomResource {
  constructor(name: string, args: DbServerSettingsArgs, opts?: pulumi.CustomResourceOptions) {
    super(RESOURCE_TOKENS.dbSettings, name, { ...args, drift: undefined }, opts);
  }
}
