#!/usr/bin/env bash
# Account create and update (after prelude.sh and sshd.sh).
#   H HOME STATUS QUOTA_KB MODE DROPIN_DIR SSHD_PIDFILE SSHD_CONF SSHD_BANNER QUOTA_POLICY SITE…
#   Also the member's site log folder ($LOGS/H, root:H 0750; ~/logs points at it).
#   QUOTA_POLICY: required (no user quota on the homes' file system: refuse before any change) or warn.
#   stdin: the authorized_keys file. Prints key=value lines (created, quota, procs_left, marked).
# shellcheck disable=SC2154 # uid, gid and mhome are set by member() of prelude.sh, which the loader puts first
# Inside the home, with the member's rights only (as_member_fn): HOME SITE…; stdin: authorized_keys.
home_setup() {
  set -euo pipefail
  umask 077
  local home=$1 logs=$2 tmp line
  shift 2
  cd -- "$home"
  mkdir -p tmp .ssh .my.cnf.d
  chmod 0700 tmp .ssh .my.cnf.d
  (umask 022; mkdir -p sites; for s in "$@"; do mkdir -p -- "sites/$s/htdocs"; done)
  tmp=$(mktemp .ssh/.authorized_keys.XXXXXX)
  cat > "$tmp"
  chmod 0600 "$tmp"
  mv -f -- "$tmp" .ssh/authorized_keys
  # ~/logs: the member's site logs (root's folder, readable by the member's group). A link the
  # member may remove or replace: it only ever points at what the member may read anyway.
  if [ ! -e logs ] && [ ! -L logs ]; then ln -s -- "$logs" logs; fi
  line="!includedir $home/.my.cnf.d"
  # Only a regular file is read: a FIFO or a device there would hold this step forever.
  if [ -L .my.cnf ] || { [ -e .my.cnf ] && [ ! -f .my.cnf ]; }; then mv -f -- .my.cnf ".my.cnf.not-a-file.$(date +%s)"; fi
  if [ ! -e .my.cnf ]; then
    printf '%s\n' "# MariaDB credentials, one file per database in ~/.my.cnf.d (kept up to date by Globenet)." \
      "# Connect with: mariadb --defaults-group-suffix=_<database name>" "$line" > .my.cnf
  elif ! grep -qxF -- "$line" .my.cnf; then
    printf '%s\n' "$line" >> .my.cnf
  fi
  chmod 0600 .my.cnf
}
h=$1 home=$2 status=$3 kb=$4 mode=$5 dropin=$6 pidfile=$7 sshdconf=$8 sshdbanner=$9 qpolicy=${10}; shift 10
# Whether the file system holding $1 has user quotas on (the kernel's, set with setquota).
quota_mount() {
  command -v setquota >/dev/null 2>&1 && command -v quotaon >/dev/null 2>&1 || return 1
  local mnt qs
  mnt=$(df --output=target -- "$1" | tail -n 1)
  qs=$(quotaon -p -u "$mnt" 2>&1 || true)
  case "$qs" in *" is on"*) printf '%s' "$mnt" ;; *) return 1 ;; esac
}
qdir=$home
[ -d "$qdir" ] || qdir=$(dirname -- "$home")
if [ "$qpolicy" = required ] && ! quota_mount "$qdir" >/dev/null; then
  die "the file system of $qdir has no user quota on, so the disk quota of $h cannot be enforced: turn user quotas on for it (Debian package quota; usrquota in /etc/fstab, quotacheck -cum, quotaon; or tune2fs -O quota on ext4), or set home_quota: warn on this host in Pulumi.<stack>.yaml to apply without enforcement (nothing was changed)"
fi
getent group www-data >/dev/null || die "there is no www-data group on this host (install apache2 first)"
if member "$h"; then
  own user "$h" "$uid" "$mode"
else
  opts=(-m) og=
  if [ -L "$home" ]; then die "$home is a symbolic link: refusing to make it the home of $h"; fi
  if [ -e "$home" ]; then
    # The user was deleted by hand but the home stayed: adopt it under its old uid, never a
    # system uid, one in use, or one that Globenet's own marker says was another.
    [ -d "$home" ] || die "$home exists and is not a folder: refusing to adopt it"
    ou=$(stat -c %u -- "$home")
    { [ "$ou" -ge 1000 ] && [ "$ou" -lt 60000 ]; } || die "$home belongs to a system account (uid $ou): refusing to adopt it"
    if getent passwd "$ou" >/dev/null; then die "$home belongs to another user (uid $ou): refusing to adopt it"; fi
    was=$(marker user "$h")
    if [ -n "$was" ] && [ "$was" != creating ] && [ "$was" != "$ou" ]; then die "$home belongs to uid $ou, but Globenet made $h with uid $was: refusing to adopt it"; fi
    opts=(-M -u "$ou")
    # Its group: the one of ~/tmp (older homes were www-data's, so the home's own group says nothing), when that gid is free.
    og=$(stat -c %g -- "$home/tmp" 2>/dev/null || true)
  fi
  if getent group "$h" >/dev/null; then
    # A group of that name may only be Globenet's own (a leftover of this member).
    own group "$h" "$(getent group "$h" | cut -d: -f3)" "$mode"
  else
    mark group "$h" creating
    gopts=()
    if [ -n "$og" ] && [ "$og" -ge 1000 ] && [ "$og" -lt 60000 ] && ! getent group "$og" >/dev/null; then gopts=(-g "$og"); fi
    groupadd "${gopts[@]}" -- "$h" || { unmark group "$h"; die "groupadd $h failed"; }
    mark group "$h" "$(getent group "$h" | cut -d: -f3)"
  fi
  mark user "$h" creating
  # Password '*': no password login, yet not "locked" (sshd without PAM refuses keys to '!' accounts).
  useradd "${opts[@]}" -d "$home" -s /bin/bash -g "$h" -p '*' -- "$h" || { unmark user "$h"; die "useradd $h failed"; }
  member "$h" || die "useradd did not create $h"
  mark user "$h" "$uid"
  echo "created=yes"
fi
[ "$mhome" = "$home" ] || die "the user $h exists with home $mhome, not $home: refusing to change it"
# Its primary group is its own group, and Globenet's.
[ "$(getent group "$gid" | cut -d: -f1)" = "$h" ] || die "the user $h has primary group $gid, not its own group $h: refusing"
own group "$h" "$gid" "$mode"
if [ -L "$home" ]; then die "$home is a symbolic link: refusing"; fi
[ -d "$home" ] || install -d -- "$home"
chown -h "$uid:$gid" -- "$home"
chmod 0750 -- "$home"
cd /
site_logs "$h" "$gid"
# Inside the home, with the member's rights only. authorized_keys comes on stdin.
# shellcheck disable=SC2153 # LOGS is prelude.sh's
as_member_fn home_setup account-setup "$home" "$LOGS/$h" "$@"
pw=$(getent shadow "$h" | cut -d: -f2)
case "$status" in
  active)
    n=0
    while [[ $pw == '!'?* ]] && [ "$n" -lt 5 ]; do usermod -U -- "$h"; pw=$(getent shadow "$h" | cut -d: -f2); n=$((n + 1)); done
    # A bare '!' (or an empty field: a password-less account) becomes '*': keys only.
    if [ "$pw" = "!" ] || [ -z "$pw" ]; then usermod -p '*' -- "$h"; fi
    usermod -e "" -- "$h"
    sshd_allow "$h" "$dropin" "$pidfile"
    crontab_back "$h"
    ;;
  *)
    # No new login (sshd shows why), no password or PAM service (locked, expired), no cron job,
    # then nothing left running: shells, PHP workers, daemons the member started.
    sshd_deny "$h" "$dropin" "$pidfile" "$sshdconf" "$sshdbanner"
    usermod -L -e 1 -- "$h"
    crontab_aside "$h"
    # Something that keeps starting them (a pool the same apply removes next) is reported, not fatal.
    if ! left=$(stop_processes "$uid" 2>&1); then echo "procs_left=$left"; fi
    ;;
esac
quota=off
if mnt=$(quota_mount "$home"); then
  setquota -u "$h" "$kb" "$kb" 0 0 "$mnt"
  quota=on
fi
echo "quota=$quota"
