#!/usr/bin/env bash
# shellcheck disable=SC2034 # the paths are read by the step scripts the loader appends
# Shared by the backup Client's steps (the loader puts it after account/prelude.sh, whose
# die and root_dir they use; provider/scripts/load.ts).
# $1 is always the protected host's inventory name: one machine may play several hosts (the
# lab), each with its own folder, key, schedule and status. run.sh reads the same paths.
HOST=${1:?the host name}
[[ $HOST =~ ^[a-z0-9][a-z0-9-]{0,31}$ ]] || die "\"$HOST\" is not an inventory host name"
ETC=/etc/globenet/backup/$HOST
STATE=/var/lib/globenet/backup/$HOST
RUN=/usr/local/sbin/globenet-backup
# cron reads only names of letters, digits, - and _ in /etc/cron.d.
CRON=/etc/cron.d/globenet-backup-$HOST
