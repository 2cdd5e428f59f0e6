import type { DatabaseModel } from "../model/types";
import { lineComment, sqlGrantDatabase, sqlIdentifier, sqlString } from "./escape";
import { renderTemplate } from "./handlebars";
import { generatedNotice } from "./notice";

/** Stands for the password until the apply step generates it (secrets never reach renders). */
export const DB_PASSWORD_PLACEHOLDER = "__GENERATED_AT_APPLY__";

/**
 * mariadb/<db>.sql, run on the database host with the `mariadb` client as root. Re-running it
 * converges: everything is create-if-absent, then set to the wanted state. Limits the YAML
 * does not set are written as 0 (MariaDB's "no limit"), so removing a limit from the YAML
 * removes it from the server too. A member who is not active has the account locked; the
 * database and its data stay.
 */
export function renderDatabaseSql(db: DatabaseModel, password: string): string {
  const account = `${sqlString(db.user)}@${sqlString(db.clientHost)}`;
  return renderTemplate("mariadb-database.sql", {
    notice: lineComment(generatedNotice(db.file)),
    status: lineComment(db.status),
    database: sqlIdentifier(db.name),
    grantDatabase: sqlGrantDatabase(db.name),
    account,
    password: sqlString(password),
    maxUserConnections: int(db.limits.max_user_connections),
    maxQueriesPerHour: int(db.limits.max_queries_per_hour ?? 0),
    maxUpdatesPerHour: int(db.limits.max_updates_per_hour ?? 0),
    lock: db.status === "active" ? "ACCOUNT UNLOCK" : "ACCOUNT LOCK",
  });
}

function int(n: number): string {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`${n} is not a non-negative integer`);
  return String(n);
}

/** mariadb/<db>.sql; it holds the password once the apply step fills it in, hence 0600. */
export function databaseSqlPath(db: DatabaseModel): string {
  return `mariadb/${db.name}.sql`;
}
