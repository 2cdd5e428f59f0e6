import type { ResourceType } from "./types";
import { accountType } from "./resources/account";
import { crontabType } from "./resources/crontab";
import { backupClientType } from "./resources/backup-client";
import { backupRepositoryType } from "./resources/backup-repository";
import { databaseType } from "./resources/database";
import { dbSettingsType } from "./resources/db-settings";
import { fileSetType } from "./resources/file-set";
import { guestType } from "./resources/guest";
import { transferKeyType } from "./resources/transfer-key";
import { alertBridgeType } from "./resources/alert-bridge";
import { dkimKeyType } from "./resources/dkim-key";
import { maildirsType } from "./resources/maildirs";
import { portalType } from "./resources/portal";
import { portalPasswordType } from "./resources/portal-password";
import { RESOURCE_TOKENS, type ResourceToken } from "../lib/base/tokens";

/** Resource types by token. Each lives in provider/resources/<name>.ts. */
export const registry: Record<string, ResourceType<any, any>> = {
  [RESOURCE_TOKENS.fileSet]: fileSetType,
  [RESOURCE_TOKENS.account]: accountType,
  [RESOURCE_TOKENS.crontab]: crontabType,
  [RESOURCE_TOKENS.database]: databaseType,
  [RESOURCE_TOKENS.dbSettings]: dbSettingsType,
  [RESOURCE_TOKENS.guest]: guestType,
  [RESOURCE_TOKENS.backupClient]: backupClientType,
  [RESOURCE_TOKENS.backupRepository]: backupRepositoryType,
  [RESOURCE_TOKENS.transferKey]: transferKeyType,
  [RESOURCE_TOKENS.alertBridge]: alertBridgeType,
  [RESOURCE_TOKENS.dkimKey]: dkimKeyType,
  [RESOURCE_TOKENS.maildirs]: maildirsType,
  [RESOURCE_TOKENS.portal]: portalType,
  [RESOURCE_TOKENS.portalPassword]: portalPasswordType,
} satisfies Record<ResourceToken, ResourceType<any, any>>;
