#!/usr/bin/env bash
# Shared functions of the account and database scripts: the loader puts this file first
# (provider/scripts/load.ts). `member NAME` sets uid/gid/mhome of an existing member account
# (refusing system accounts); `as_member CMD…` runs a command with the member's rights only, so
# work inside a home (which the member controls: symlinks, renamed folders) can never touch
# anything the member could not touch anyway.
#
# Ownership: `own KIND NAME ID MODE` refuses a unix user or group that the provider did not
# create. Its proof is a marker, a file $REG/<user|group>/<name> holding the uid or gid, in a
# folder only root can write (a member cannot forge one, and a uid reused by someone else does
# not match). In "update" mode (the resource is in Pulumi's state, which proves the provider
# made it, before markers existed) a missing marker is written instead of refusing.
# REG is OWNED_DIR of provider/resources/account-shared.ts (tests/shell-scripts.test.ts checks).
umask 077
export LC_ALL=C
die() { printf '%s\n' "$*" >&2; exit 1; }
uid='' gid='' mhome=''
member() {
  local ent
  ent=$(getent passwd "$1") || return 1
  # shellcheck disable=SC2034 # mhome is read by the step scripts the loader appends, not here
  IFS=: read -r _ _ uid gid _ mhome _ <<<"$ent"
  { [ "$uid" -ge 1000 ] && [ "$uid" -lt 60000 ]; } || die "refusing: $1 is a system account (uid $uid), not a member's"
}
as_member() { setpriv --reuid="$uid" --regid="$gid" --clear-groups -- "$@"; }
# as_member_fn FUNC NAME ARG…: the shell function FUNC of this script, alone in a bash of its
# own ($0 NAME), with the member's rights only. The text it runs is the function's (declare
# -f), linted where it is written; its values are arguments.
as_member_fn() {
  local fn=$1 name=$2
  shift 2
  as_member bash -c "$(declare -f "$fn"); $fn \"\$@\"" "$name" "$@"
}
# The first free name: NAME, else NAME-1, NAME-2… before the extension (never overwrite an archive).
free_name() {
  local base=$1 ext=$2 n=0 out="$1$2"
  while [ -e "$out" ] || [ -e "$out.partial" ]; do n=$((n + 1)); out="$base-$n$ext"; done
  printf '%s' "$out"
}
# ---- members' site logs (paths.siteLogRoot in lib/model/paths.ts; tests/shell-scripts.test.ts checks)
LOGS=/var/log/globenet-sites
# site_logs NAME GID: Apache (as root) writes the member's sites' logs in $LOGS/NAME; the member's
# group may read them, no one else. Never through a symbolic link.
site_logs() {
  local d=$LOGS/$1
  if [ -L "$LOGS" ] || [ -L "$d" ]; then die "$LOGS or $d is a symbolic link: refusing to keep site logs there"; fi
  # Accounts are applied in parallel: one that loses the race to make it finds it made.
  [ -d "$LOGS" ] || mkdir -m 0755 -- "$LOGS" 2>/dev/null || [ -d "$LOGS" ] || die "cannot make $LOGS"
  chown root:root -- "$LOGS"
  chmod 0755 -- "$LOGS"
  [ -d "$d" ] || mkdir -m 0750 -- "$d"
  chown "root:$2" -- "$d"
  chmod 0750 -- "$d"
}
# ---- an sftp member's logs inside its chroot (docs/architecture.md, "Members' site logs")
# sshd locks an sftp member in its home, so ~/logs cannot be a link to $LOGS/NAME: it is a
# root's folder on which $LOGS/NAME is bind-mounted read-only, the mount kept in FSTAB (so it
# comes back at boot; nofail: a boot never stops for it). Everything mount follows is root's:
# the home (sshd's chroot wants it so) and the folder; Apache still opens the logs as root in
# $LOGS/NAME only.
FSTAB=/etc/fstab
# logs_line NAME HOME: the fstab line of that mount.
logs_line() { printf '%s %s none bind,ro,nosuid,nodev,noexec,nofail 0 0' "$LOGS/$1" "$2/logs"; }
logs_note() { printf '# globenet: the site logs of %s, read-only in its SFTP chroot' "$1"; }
# mounts_at PATH: "<root in its file system> <options>" of each mount on exactly PATH (the
# kernel's table, no link followed).
mounts_at() { awk -v t="$1" '$5 == t { print $4, $6 }' /proc/self/mountinfo; }
# logs_state NAME HOME: none (nothing mounted on HOME/logs), ok (one read-only mount of
# $LOGS/NAME) or wrong.
logs_state() {
  local m
  m=$(mounts_at "$2/logs")
  if [ -z "$m" ]; then echo none; return 0; fi
  if [ "$(wc -l <<<"$m")" = 1 ] && [[ ,${m#* }, == *,ro,* ]] && [ "$(stat -c %d:%i -- "$2/logs")" = "$(stat -c %d:%i -- "$LOGS/$1" 2>/dev/null || true)" ]; then echo ok; else echo wrong; fi
}
# fstab_state NAME HOME: none (no line mounts HOME/logs), ok (logs_line's) or other.
fstab_state() {
  local l=''
  if [ -f "$FSTAB" ]; then l=$(awk -v t="$2/logs" '$1 !~ /^#/ && $2 == t' "$FSTAB"); fi
  if [ -z "$l" ]; then echo none; elif [ "$l" = "$(logs_line "$1" "$2")" ]; then echo ok; else echo other; fi
}
# fstab_set NAME HOME on|off: FSTAB with (or without) the line, every other line as it was,
# under a lock (accounts are applied in parallel), replaced at once.
fstab_set() {
  local want=none tmp
  if [ "$3" = on ]; then want=ok; fi
  if [ "$(fstab_state "$1" "$2")" = "$want" ]; then return 0; fi
  [ ! -L "$FSTAB" ] || die "$FSTAB is a symbolic link: refusing to edit it"
  root_dir /var/lib/globenet
  (
    flock 9
    if [ "$(fstab_state "$1" "$2")" = "$want" ]; then exit 0; fi
    tmp=$(mktemp "$(dirname -- "$FSTAB")/.fstab.globenet.XXXXXX")
    {
      if [ -f "$FSTAB" ]; then awk -v t="$2/logs" -v n="$(logs_note "$1")" '!($1 !~ /^#/ && $2 == t) && $0 != n' "$FSTAB"; fi
      if [ "$want" = ok ]; then logs_note "$1"; echo; logs_line "$1" "$2"; echo; fi
    } >"$tmp"
    chown root:root -- "$tmp"
    chmod 0644 -- "$tmp"
    mv -f -- "$tmp" "$FSTAB"
  ) 9>/var/lib/globenet/fstab.lock
  echo "fstab=$3"
}
# logs_umount HOME: every mount stacked on HOME/logs taken off (lazily when a session is inside).
logs_umount() {
  local n=0
  while [ -n "$(mounts_at "$1/logs")" ]; do
    n=$((n + 1))
    [ "$n" -le 10 ] || die "$1/logs is still mounted after 10 unmounts"
    umount -- "$1/logs" 2>/dev/null || umount --lazy -- "$1/logs"
  done
}
# logs_on NAME HOME: the mount, made through FSTAB's line (as at boot) and checked.
logs_on() {
  local st
  { [ "$(stat -c %u -- "$2")" = 0 ] && [ -d "$2/logs" ] && [ ! -L "$2/logs" ] && [ "$(stat -c %u -- "$2/logs")" = 0 ]; } || die "$2 or $2/logs is not root's: refusing to mount the site logs of $1 there"
  fstab_set "$1" "$2" on
  st=$(logs_state "$1" "$2")
  if [ "$st" = ok ]; then return 0; fi
  if [ "$st" = wrong ]; then logs_umount "$2"; fi
  mount --fstab "$FSTAB" --target "$2/logs" || die "could not mount $LOGS/$1 on $2/logs"
  [ "$(logs_state "$1" "$2")" = ok ] || { logs_umount "$2"; die "$2/logs is not a read-only mount of $LOGS/$1 after mounting it (taken off again)"; }
  echo "logs=mounted"
}
# logs_off NAME HOME: no line in FSTAB, nothing mounted, and the empty root's folder gone (so the
# member's link can take its place): before the home is the member's again, or removed.
logs_off() {
  fstab_set "$1" "$2" off
  if [ -n "$(mounts_at "$2/logs")" ]; then logs_umount "$2"; echo "logs=unmounted"; fi
  if [ -d "$2/logs" ] && [ ! -L "$2/logs" ] && [ "$(stat -c %u -- "$2/logs")" = 0 ]; then
    rmdir -- "$2/logs" 2>/dev/null || mv -f -- "$2/logs" "$2/logs.not-empty.$(date +%s)"
  fi
}
# ---- ownership markers
REG=/var/lib/globenet/owned
# root_dir DIR…: each folder exists, is root's, 0700, and is not a symbolic link.
root_dir() {
  local d
  for d in "$@"; do
    [ ! -L "$d" ] || die "$d is a symbolic link: refusing to keep Globenet's records there"
    # Several resources' scripts may make it at once (an apply creates accounts in parallel):
    # one that loses the race finds the folder made.
    [ -d "$d" ] || mkdir -m 0700 -- "$d" 2>/dev/null || [ -d "$d" ] || die "cannot make $d"
    chown root:root -- "$d"
    chmod 0700 -- "$d"
  done
}
# host_lock FD FILE WHAT: this script holds FILE (a lock in /var/lib/globenet) on descriptor FD
# (a literal number) until it closes it or ends; waits 2 minutes for whoever holds it. 0600 under
# the scripts' umask: a member who could open a lock could hold it and stop every change behind it.
host_lock() {
  root_dir /var/lib/globenet
  eval "exec $1>>\"\$2\""
  flock -w 120 "$1" || die "another $3 on this host has held $2 for 2 minutes: look for a stuck account script (ps), then apply again"
}
# root_file DEST MODE: stdin becomes DEST, root's with MODE, written beside it and renamed over
# it, so a reader (cron, a run) never sees half a file.
root_file() {
  local dir tmp
  dir=$(dirname -- "$1")
  [ -d "$dir" ] || die "$dir does not exist on this host (is cron installed?)"
  tmp=$(mktemp "$dir/.globenet.XXXXXX")
  cat >"$tmp"
  chown root:root -- "$tmp"
  chmod "$2" -- "$tmp"
  mv -f -- "$tmp" "$1"
}
# A service's root-only environment file (ENV, 0600 in /etc/globenet) or its systemd unit (UNIT,
# 0644), from stdin: what `write env|unit` does for each service the provider deploys. Called
# as a plain command (never on the left of || or &&), so errexit still stops it at a failure.
write_env_or_unit() {
  case $1 in
    env)
      install -d -m 0755 -o root -g root /etc/globenet
      root_file "$2" 0600 ;;
    unit)
      install -d -m 0755 /etc/systemd/system
      root_file "$3" 0644 ;;
    *) die "unknown file $1" ;;
  esac
}
# The sha256 of a plain file, or "absent" (a link or nothing there).
sha_of() { if [ -f "$1" ] && [ ! -L "$1" ]; then sha256sum -- "$1" | cut -d' ' -f1; else echo absent; fi; }
# The id the marker of KIND NAME records, or nothing.
marker() {
  local f="$REG/$1/$2"
  if [ -f "$f" ] && [ ! -L "$f" ]; then head -c 40 -- "$f" | tr -dc 'a-z0-9'; fi
}
mark() {
  local tmp
  root_dir /var/lib/globenet "$REG" "$REG/$1"
  # A temporary name of its own: several resources may mark the same name at once (each backup
  # repository on a backup host marks its one backup account).
  tmp=$(mktemp "$REG/$1/.$2.XXXXXX")
  printf '%s\n' "$3" >"$tmp"
  mv -f -- "$tmp" "$REG/$1/$2"
}
unmark() { rm -f -- "$REG/$1/$2"; }
own() {
  local kind=$1 name=$2 id=$3 mode=$4 have
  have=$(marker "$kind" "$name")
  [ "$have" != "$id" ] || return 0
  # A create interrupted between useradd/groupadd and its marker: the pending marker is ours.
  if [ "$have" = creating ] && [ "$mode" != delete ]; then mark "$kind" "$name" "$id"; return 0; fi
  if [ -z "$have" ] && [ "$mode" = update ]; then mark "$kind" "$name" "$id"; echo "marked=$kind:$name"; return 0; fi
  if [ -n "$have" ]; then
    die "refusing: the $kind $name on this host has id $id, but Globenet created it with id $have ($REG/$kind/$name): it was removed and made again outside Globenet. Find out whose it is before anything else; if it is the member's, remove that marker and apply again"
  fi
  die "refusing: a $kind named $name already exists on this host (id $id) and Globenet did not create it (no marker in $REG/$kind). A member's handle never takes over an existing $kind: choose another handle in members/$name/member.yaml, or, if it is this member's leftover, see docs/architecture.md (Names owned by the system)"
}
# owned_member NAME: member NAME, and "foreign" (status 2) when the provider did not create that user.
owned_member() {
  member "$1" || return 1
  [ "$(marker user "$1")" = "$uid" ] || return 2
}
# ---- processes
# Live processes whose real or effective uid is $1 (zombies are dead already).
member_pids() { ps -e -o pid=,ruid=,euid=,stat= | awk -v u="$1" '($2 == u || $3 == u) && $4 !~ /^Z/ { print $1 }'; }
# Stops every process of uid $1: TERM and up to 3 s to exit, then rounds of STOP (a forking
# process is frozen first) and KILL. Status 1, naming them, if some still run after 20 rounds
# (something keeps starting them: an FPM pool still configured for the member, for instance).
stop_processes() {
  local u=$1 pids _
  pids=$(member_pids "$u")
  [ -n "$pids" ] || return 0
  # shellcheck disable=SC2086
  kill -TERM $pids 2>/dev/null || true
  for _ in $(seq 1 30); do sleep 0.1; pids=$(member_pids "$u"); [ -n "$pids" ] || return 0; done
  for _ in $(seq 1 20); do
    # shellcheck disable=SC2086
    kill -STOP $pids 2>/dev/null || true
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
    sleep 0.1
    pids=$(member_pids "$u"); [ -n "$pids" ] || return 0
  done
  # shellcheck disable=SC2086
  printf 'still running as uid %s: %s\n' "$u" "$(ps -o pid=,comm= -p "$(echo $pids | tr ' ' ,)" | tr -s ' \n' ' ' | head -c 300)" >&2
  return 1
}
