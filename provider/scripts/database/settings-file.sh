#!/usr/bin/env bash
# The server settings Globenet keeps, made to survive a restart (provider/resources/db-settings.ts):
#   settings-file.sh write    stdin becomes /etc/mysql/mariadb.conf.d/90-globenet.cnf, root's, 0644
#   settings-file.sh remove   the file goes (the resource is deleted)
# On a
# host without that folder (a MariaDB not from Debian's packages) nothing is written: the live
# settings (SET GLOBAL) still hold until a restart, and read shows when they are lost.
set -euo pipefail
dir=/etc/mysql/mariadb.conf.d
if [ "${1:-}" = remove ]; then rm -f -- "$dir/90-globenet.cnf"; echo "file=removed"; exit 0; fi
if [ ! -d "$dir" ] || [ -L "$dir" ]; then cat >/dev/null; echo "file=absent"; exit 0; fi
tmp=$(mktemp "$dir/.globenet.XXXXXX")
cat >"$tmp"
chown root:root -- "$tmp"
chmod 0644 -- "$tmp"
mv -f -- "$tmp" "$dir/90-globenet.cnf"
echo "file=written"
