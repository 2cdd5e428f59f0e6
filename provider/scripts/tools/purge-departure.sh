#!/usr/bin/env bash
# npm run backup -- purge-departure (lib/cli/backup-purge-departure.ts) on one host, as root:
# ARCHIVE_DIR list|purge HANDLE [DATABASE…]. The departure archives of HANDLE that the
# provider made in ARCHIVE_DIR: accounts/<handle>-<stamp>.tar.gz and .crontab,
# sites/<handle>--<site>-<stamp>.tar.gz, vps/<handle>--<vps>-<stamp>.qcow2,
# mail/<handle>--<domain>-<stamp>.tar.gz (its mail domains' maildirs, on the mail host) and
# mail/<handle>--<domain>--<local>-<stamp>.tar.gz (a mailbox removed earlier, its local part may hold _), and
# databases/<db>-<stamp>.sql.gz for the member's databases. Only regular files whose whole
# name matches (velo never matches velo-libre's); `list` prints them, `purge` removes them.
# Prints file=PATH size=BYTES for each, then removed=PATH when purged.
set -euo pipefail
die() { printf 'purge-departure: %s\n' "$*" >&2; exit 1; }
adir=${1:?archive folder} mode=${2:?list or purge} h=${3:?handle}
shift 3
[[ $adir == /* ]] || die "the archive folder must be an absolute path"
[[ $h =~ ^[a-z][a-z0-9-]*[a-z0-9]$ ]] || die "\"$h\" is not a member handle"
case $mode in list | purge) ;; *) die "unknown mode $mode (list or purge)" ;; esac
stamp='[0-9]{8}T[0-9]{6}Z(-[0-9]+)?'
# The handle and database names are checked above and below: as regex text they hold only
# letters, digits, - and _, which mean themselves.
patterns=("^accounts/$h-$stamp\\.(tar\\.gz|crontab)\$" "^sites/$h--[a-z0-9.-]+-$stamp\\.tar\\.gz\$" "^vps/$h--[a-z0-9-]+-$stamp\\.qcow2\$" "^mail/$h--[a-z0-9._-]+-$stamp\\.tar\\.gz\$")
for db in "$@"; do
  [[ $db =~ ^[A-Za-z0-9_]{1,64}$ ]] || die "\"$db\" is not a database name"
  patterns+=("^databases/$db-$stamp\\.sql\\.gz\$")
done
if [ ! -d "$adir" ]; then
  echo "none=$adir does not exist"
  exit 0
fi
[ ! -L "$adir" ] || die "$adir is a symbolic link: refusing"
found=0
for sub in accounts sites vps databases mail; do
  if [ ! -d "$adir/$sub" ] || [ -L "$adir/$sub" ]; then continue; fi
  while IFS= read -r -d '' f; do
    rel=${f#"$adir"/}
    for p in "${patterns[@]}"; do
      if [[ $rel =~ $p ]]; then
        found=$((found + 1))
        printf 'file=%s size=%s\n' "$f" "$(stat -c %s -- "$f")"
        if [ "$mode" = purge ]; then
          rm -f -- "$f"
          printf 'removed=%s\n' "$f"
        fi
        break
      fi
    done
  done < <(find "$adir/$sub" -mindepth 1 -maxdepth 1 -type f -print0 | sort -z)
done
[ "$found" -gt 0 ] || echo "none=no departure archive of $h in $adir"
