#!/usr/bin/env bash
# npm run backup (lib/cli/backup.ts) on a protected host, as root: HOST ACTION ARGS…, handed to
# the globenet-backup command the backup Client installed there (its set-up for HOST).
set -euo pipefail
bin=/usr/local/sbin/globenet-backup
if [ ! -x "$bin" ]; then
  echo "globenet-backup is not installed on this host: apply the stack first (npm run up), it installs the backups" >&2
  exit 3
fi
host=${1:?the inventory host name}
shift
case ${1:-} in
  list | list-home | run | restore | restore-db | restore-disk | check | files | export-key) ;;
  *) echo "unknown backup action: ${1:-none}" >&2; exit 2 ;;
esac
exec "$bin" --host "$host" "$@"
