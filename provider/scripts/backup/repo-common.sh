#!/usr/bin/env bash
# Shared by the backup Repository's steps (after account/prelude.sh, for die, marker, mark).
# ACCOUNT is the unix account on the backup host that owns every repository; REPO one
# repository, <backup.path>/<host>; the account's home is <backup.path>, root's, holding only
# .ssh/authorized_keys (root's too: the account cannot change which keys get in).
# shellcheck disable=SC2034 # read by the step scripts the loader appends
KEYS_LOCK=/var/lib/globenet/backup-keys.lock
# Held while the repositories' account is looked at and made (repo-create.sh).
ACCOUNT_LOCK=/var/lib/globenet/backup-account.lock
# The backup host's weekly check of each repository (repo-check.sh) and its schedule.
CHECK_BIN=/usr/local/sbin/globenet-backup-repo-check
CHECK_STATE=/var/lib/globenet/backup-repos
check_cron_file() { printf '/etc/cron.d/globenet-backup-repo-%s\n' "$(basename -- "$1")"; }
auid='' agid='' ahome=''
# account NAME: sets auid/agid/ahome; status 1 when there is no such user.
account() {
  local ent
  ent=$(getent passwd "$1") || return 1
  IFS=: read -r _ _ auid agid _ ahome _ <<<"$ent"
}
# The line of authorized_keys that lets one host into one repository, and nothing else:
# restrict (no pty, no forwarding), and whatever the client asks, borg serve in append-only
# mode on that repository only.
key_line() { printf 'restrict,command="borg serve --append-only --restrict-to-repository %s" %s globenet-repository=%s\n' "$2" "$1" "$2"; }
# edit_keys BASE REPO [LINE]: authorized_keys without REPO's line, plus LINE if given; under a
# lock, since the repositories of several hosts are applied at once.
edit_keys() {
  local base=$1 repo=$2 line=${3:-} ak tmp
  ak=$base/.ssh/authorized_keys
  install -d -m 0755 -o root -g root -- /var/lib/globenet
  exec 8>"$KEYS_LOCK"
  flock 8
  [ ! -L "$base/.ssh" ] || die "$base/.ssh is a symbolic link: refusing"
  install -d -m 0755 -o root -g root -- "$base/.ssh"
  tmp=$(mktemp "$base/.ssh/.authorized_keys.XXXXXX")
  if [ -f "$ak" ]; then awk -v c="globenet-repository=$repo" '$NF != c' "$ak" >"$tmp"; fi
  if [ -n "$line" ]; then printf '%s\n' "$line" >>"$tmp"; fi
  chown root:root -- "$tmp"
  chmod 0644 -- "$tmp"
  mv -f -- "$tmp" "$ak"
  exec 8>&-
}
