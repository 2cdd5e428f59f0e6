#!/usr/bin/env bash
# The size of every database on a MariaDB host (lib/status/usage.ts), as root over its socket:
# `db <name-hex> <bytes>` (data and indexes, what information_schema counts). Names go out as
# hex, so a name with a tab or line break cannot shift a column; the caller keeps its own.
export LC_ALL=C
# Every database, with or without tables (an empty one is 0 bytes, not missing).
mariadb --batch --skip-column-names -e "SELECT HEX(s.schema_name), COALESCE(SUM(t.data_length + t.index_length), 0) FROM information_schema.schemata s LEFT JOIN information_schema.tables t ON t.table_schema = s.schema_name GROUP BY s.schema_name" |
  while IFS=$'\t' read -r name bytes; do printf 'db %s %s\n' "$name" "$bytes"; done
