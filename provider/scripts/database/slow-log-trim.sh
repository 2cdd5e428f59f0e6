#!/usr/bin/env bash
# Installed by globenet:db:ServerSettings (provider/resources/db-settings.ts) as
# /usr/local/sbin/globenet-slow-log-trim and run nightly from /etc/cron.d/globenet-slow-log:
#   globenet-slow-log-trim KEEP_DAYS [SOCKET]
# mysql.slow_log is a log table: the server refuses DELETE on it and allows a swap (the way
# MariaDB documents to rotate a log table). Once its oldest entry is older than KEEP_DAYS, it
# becomes mysql.slow_log_prev (the one before is dropped) and an empty copy takes its place in one
# RENAME, so the server never stops logging. Entries are kept at least KEEP_DAYS days, at most
# about twice that; `npm run status -- slow-queries` reads both tables.
set -euo pipefail
keep=${1:-}
case "$keep" in '' | *[!0-9]*) echo "usage: globenet-slow-log-trim KEEP_DAYS [SOCKET]" >&2; exit 2 ;; esac
sock=()
[ -z "${2:-}" ] || sock=("--socket=$2")
sql() { mariadb "${sock[@]}" --batch --skip-column-names -e "$1"; }
# NOW(6): start_time has microseconds; NOW() would leave out this second's entries.
old=$(sql "SELECT COUNT(*) FROM mysql.slow_log WHERE start_time <= NOW(6) - INTERVAL $keep DAY")
if [ "$old" = 0 ]; then
  echo "slow-log=kept"
  exit 0
fi
sql "DROP TABLE IF EXISTS mysql.slow_log_new;
CREATE TABLE mysql.slow_log_new LIKE mysql.slow_log;
DROP TABLE IF EXISTS mysql.slow_log_prev;
RENAME TABLE mysql.slow_log TO mysql.slow_log_prev, mysql.slow_log_new TO mysql.slow_log;"
echo "slow-log=rotated entries=$old"
