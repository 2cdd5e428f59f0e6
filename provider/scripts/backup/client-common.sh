#!/usr/bin/env bash
# shellcheck disable=SC2034 # the paths are read by the step scripts the loader appends
# Shared by the backup Client's steps (the loader puts it first; provider/scripts/load.ts).
# $1 is always the protected host's inventory name: one machine may play several hosts (the
# lab), each with its own folder, key, schedule and status. run.sh reads the same paths.
umask 077
export LC_ALL=C
die() { printf '%s\n' "$*" >&2; exit 1; }
HOST=${1:?the host name}
[[ $HOST =~ ^[a-z0-9][a-z0-9-]{0,31}$ ]] || die "\"$HOST\" is not an inventory host name"
ETC=/etc/globenet/backup/$HOST
STATE=/var/lib/globenet/backup/$HOST
RUN=/usr/local/sbin/globenet-backup
# cron reads only names of letters, digits, - and _ in /etc/cron.d.
CRON=/etc/cron.d/globenet-backup-$HOST
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
