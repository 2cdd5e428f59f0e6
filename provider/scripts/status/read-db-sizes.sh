#!/usr/bin/env bash
# The size of every database on a MariaDB host (lib/status/usage.ts), as root over its socket:
# `db <name-hex> <bytes>` (data and indexes, what information_schema counts). Names go out as
# hex, so a name with a tab or line break cannot shift a column; the caller keeps its own.
export LC_ALL=C
mariadb --batch --skip-column-names -e "SELECT HEX(table_schema), COALESCE(SUM(data_length + index_length), 0) FROM information_schema.tables GROUP BY table_schema" |
  while IFS=$'\t' read -r name bytes; do printf 'db %s %s\n' "$name" "$bytes"; done
