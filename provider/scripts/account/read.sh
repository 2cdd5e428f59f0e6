#!/usr/bin/env bash
# Account read (after prelude.sh): H HOME DROPIN_DIR SITE…  Prints key=value lines.
# shellcheck disable=SC2154 # uid, gid and mhome are set by member() of prelude.sh, which the loader puts first
# Inside the home, with the member's rights only (as_member_fn): HOME SITE…
home_read() {
  local home=$1 d s l n
  shift
  cd -- "$home" || exit 0
  for d in tmp .ssh .my.cnf.d; do [ -d "$d" ] && echo "dir=$d"; done
  [ -f .my.cnf ] && [ ! -L .my.cnf ] && grep -qxF -- "!includedir $home/.my.cnf.d" .my.cnf 2>/dev/null && echo "mycnf=ok"
  for s in "$@"; do [ -d "sites/$s/htdocs" ] && echo "site=$s"; done
  if [ -f .ssh/authorized_keys ]; then
    n=0
    while IFS= read -r l || [ -n "$l" ]; do
      n=$((n + 1)); [ "$n" -le 200 ] || break
      printf 'key=%s\n' "$l"
    done < .ssh/authorized_keys
  fi
  exit 0
}
h=$1 home=$2 dropin=$3; shift 3
member "$h" || { echo "present=no"; exit 0; }
echo "present=yes"
have=$(marker user "$h")
if [ "$have" = "$uid" ] && [ "$(marker group "$h")" = "$gid" ]; then echo "marker=ok"; elif [ -z "$have" ]; then echo "marker=missing"; else echo "marker=other"; fi
echo "home=$mhome"
echo "shadow=$(getent shadow "$h" | awk -F: '{ print substr($2, 1, 1) ":" $8 }' || true)"
# The password field itself stays on the host: its sha256 (the lock's '!' taken off) is enough to compare.
echo "pwsha=$(getent shadow "$h" | cut -d: -f2 | sed 's/^!*//' | tr -d '\n' | sha256sum | cut -d' ' -f1)"
echo "shell=$(getent passwd "$h" | cut -d: -f7)"
[ ! -e "$dropin/globenet-suspended-$h.conf" ] || echo "sshd=denied"
[ ! -e "$dropin/globenet-sftp-$h.conf" ] || echo "sftp=$(sha256sum < "$dropin/globenet-sftp-$h.conf" | cut -d' ' -f1)"
echo "procs=$(member_pids "$uid" | wc -l)"
# An sftp member's logs: the read-only mount on ~/logs, and its line in fstab.
echo "logsmount=$(logs_state "$h" "$home")"
echo "logsfstab=$(fstab_state "$h" "$home")"
[ ! -f "/var/spool/cron/crontabs/$h" ] || echo "crontab=spool"
if [ "$mhome" != "$home" ] || [ -L "$home" ] || [ ! -d "$home" ]; then echo "homestat=missing"; exit 0; fi
echo "homestat=$(stat -c '%U:%G:%a' -- "$home")"
cd /
as_member_fn home_read account-read "$home" "$@"
