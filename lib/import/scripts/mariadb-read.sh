#!/usr/bin/env bash
# Import, read-only (lib/import/databases.ts): what a MariaDB server holds for members —
# databases with their size, accounts with their limits, and every privilege granted at any
# level — as tagged, tab-separated rows. Argument: SOCKET (empty: the client's default).
#
# Nothing here is interpolated: the query set is fixed text (a quoted here-document), the
# socket travels as one quoted argument, and every name the server returns is printed as
# HEX() so no byte of it (tab, line break, quote) can shift a column. The session is read-only
# (START TRANSACTION READ ONLY). Password hashes are never selected: for each account only
# whether it has a password at all (1/0) leaves the server. SHOW GRANTS is not used because
# it prints the hash ("IDENTIFIED BY PASSWORD '*…'"). Needs MariaDB 10.4 or later
# (mysql.global_priv: Debian 11 and later).
set -euo pipefail
sock=()
[ -z "${1:-}" ] || sock=("--socket=$1")
exec mariadb "${sock[@]}" --batch --skip-column-names --no-auto-rehash <<'SQL'
SET SESSION TRANSACTION READ ONLY;
START TRANSACTION READ ONLY;
SELECT 'version', HEX(VERSION());
SELECT 'db', HEX(s.SCHEMA_NAME), IFNULL(SUM(t.DATA_LENGTH + t.INDEX_LENGTH), 0), COUNT(t.TABLE_NAME)
  FROM information_schema.SCHEMATA s
  LEFT JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = s.SCHEMA_NAME
  WHERE s.SCHEMA_NAME NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')
  GROUP BY s.SCHEMA_NAME ORDER BY s.SCHEMA_NAME;
SELECT 'user', HEX(u.User), HEX(u.Host), u.is_role, HEX(u.plugin),
       IF(u.authentication_string <> '' OR u.Password <> '', 1, 0),
       u.max_user_connections, u.max_questions, u.max_updates, u.max_connections,
       IFNULL(JSON_VALUE(g.Priv, '$.account_locked'), 0)
  FROM mysql.user u LEFT JOIN mysql.global_priv g ON g.User = u.User AND g.Host = u.Host
  ORDER BY u.User, u.Host;
SELECT 'global', HEX(u.User), HEX(u.Host), p.PRIVILEGE_TYPE, p.IS_GRANTABLE
  FROM information_schema.USER_PRIVILEGES p
  JOIN mysql.user u ON p.GRANTEE = CONCAT('''', u.User, '''@''', u.Host, '''')
  WHERE p.PRIVILEGE_TYPE <> 'USAGE' ORDER BY u.User, u.Host, p.PRIVILEGE_TYPE;
SELECT 'schema', HEX(u.User), HEX(u.Host), HEX(p.TABLE_SCHEMA), p.PRIVILEGE_TYPE, p.IS_GRANTABLE
  FROM information_schema.SCHEMA_PRIVILEGES p
  JOIN mysql.user u ON p.GRANTEE = CONCAT('''', u.User, '''@''', u.Host, '''')
  ORDER BY u.User, u.Host, p.TABLE_SCHEMA, p.PRIVILEGE_TYPE;
SELECT 'table', HEX(User), HEX(Host), HEX(Db), HEX(Table_name), REPLACE(Table_priv, ',', ' '), REPLACE(Column_priv, ',', ' ')
  FROM mysql.tables_priv ORDER BY User, Host, Db, Table_name;
SELECT 'routine', HEX(User), HEX(Host), HEX(Db), HEX(Routine_name), Routine_type, REPLACE(Proc_priv, ',', ' ')
  FROM mysql.procs_priv ORDER BY User, Host, Db, Routine_name;
SELECT 'proxy', HEX(User), HEX(Host), HEX(Proxied_user), HEX(Proxied_host), With_grant
  FROM mysql.proxies_priv ORDER BY User, Host;
SELECT 'role', HEX(User), HEX(Host), HEX(Role), Admin_option
  FROM mysql.roles_mapping ORDER BY User, Host, Role;
COMMIT;
SQL
