#!/usr/bin/env bash
# shellcheck disable=SC2034 # the paths are read by the step scripts the loader appends
# Shared by the backup Client's steps (the loader puts it first; provider/scripts/load.ts).
# Where a protected host keeps its backup set-up; run.sh reads the same paths.
umask 077
export LC_ALL=C
ETC=/etc/globenet/backup
STATE=/var/lib/globenet/backup
RUN=/usr/local/sbin/globenet-backup
CRON=/etc/cron.d/globenet-backup
die() { printf '%s\n' "$*" >&2; exit 1; }
# root_only DIR…: each folder exists, is root's, 0700, and is not a symbolic link.
root_only() {
  local d
  for d in "$@"; do
    [ ! -L "$d" ] || die "$d is a symbolic link: refusing to keep the backup key there"
    [ -d "$d" ] || mkdir -m 0700 -- "$d"
    chown root:root -- "$d"
    chmod 0700 -- "$d"
  done
}
sha_of() { if [ -f "$1" ] && [ ! -L "$1" ]; then sha256sum -- "$1" | cut -d' ' -f1; else echo absent; fi; }
