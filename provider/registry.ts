import type { ResourceType } from "./types";
import { accountType } from "./resources/account";
import { databaseType } from "./resources/database";
import { fileSetType } from "./resources/file-set";
import { guestType } from "./resources/guest";

/** Resource types by token. Each lives in provider/resources/<name>.ts. */
export const registry: Record<string, ResourceType<any, any>> = {
  "globenet:files:FileSet": fileSetType,
  "globenet:hosting:Account": accountType,
  "globenet:db:Database": databaseType,
  "globenet:vm:Guest": guestType,
};
