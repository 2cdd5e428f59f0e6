#!/usr/bin/env bash
# The slow query log of a database host (lib/status/slow-queries.ts), as root over its socket:
# the last DAYS days of mysql.slow_log (log_output=TABLE, set by globenet:db:ServerSettings) and of
# mysql.slow_log_prev, where the nightly trim (database/slow-log-trim.sh) moves older entries.
#   read-slow-log.sh DAYS [SOCKET]   (SOCKET: another server's; default the system one)
# One line a query: hex(user_host) tab query_time tab hex(db) tab hex(sql_text), so no text of a
# member's query can shift a column. DAYS is checked here too: it is the only value, a number.
set -euo pipefail
days=${1:-7}
case "$days" in '' | *[!0-9]*) echo "bad days" >&2; exit 2 ;; esac
sock=()
[ -z "${2:-}" ] || sock=("--socket=$2")
cols="HEX(user_host), TIME_TO_SEC(query_time), HEX(db), HEX(LEFT(sql_text, 4000))"
tables=(slow_log)
prev=$(mariadb "${sock[@]}" --batch --skip-column-names -e "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'mysql' AND TABLE_NAME = 'slow_log_prev'")
[ "$prev" = 0 ] || tables+=(slow_log_prev)
for t in "${tables[@]}"; do
  mariadb "${sock[@]}" --batch --skip-column-names -e "SELECT $cols FROM mysql.$t WHERE start_time > NOW() - INTERVAL $days DAY"
done
