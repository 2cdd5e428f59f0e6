#!/usr/bin/env bash
# Account create and update (after prelude.sh, sshd.sh and quota.sh).
#   H HOME STATUS QUOTA_KB QUOTA_INODES MODE DROPIN_DIR SSHD_PIDFILE SSHD_CONF SSHD_BANNER QUOTA_POLICY ACCESS SFTP_CONF SITE…
#   Also the member's site log folder ($LOGS/H, root:H 0750; ~/logs points at it, or, for an
#   sftp member, is a read-only bind mount of it kept in /etc/fstab).
#   QUOTA_POLICY: required (no user quota on the homes' file system: refuse before any change) or warn.
#   ACCESS: ssh (home H:H 0750, a shell) or sftp (home root:H 0750 for sshd's ChrootDirectory,
#   no login shell, SFTP_CONF as its sshd drop-in).
#   stdin: one line, the password hash of an sftp member (crypt(3); empty: none, keys only),
#   then the authorized_keys file. The hash is never an argument (argv is world-readable).
#   Prints key=value lines (created, quota, procs_left, marked, password, sshd_sftp, fstab, logs).
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
  # (An sftp member's home is root's: root made the entries of its top level, .my.cnf empty.)
  # Only a regular file is read: a FIFO or a device there would hold this step forever.
  if [ -L .my.cnf ] || { [ -e .my.cnf ] && [ ! -f .my.cnf ]; }; then mv -f -- .my.cnf ".my.cnf.not-a-file.$(date +%s)"; fi
  if [ ! -s .my.cnf ]; then
    printf '%s\n' "# MariaDB credentials, one file per database in ~/.my.cnf.d (kept up to date by Globenet)." \
      "# Connect with: mariadb --defaults-group-suffix=_<database name>" "$line" > .my.cnf
  elif ! grep -qxF -- "$line" .my.cnf; then
    printf '%s\n' "$line" >> .my.cnf
  fi
  chmod 0600 .my.cnf
}
# sftp_entries HOME LOGDIR: for an sftp member, whose home is root's (sshd's ChrootDirectory
# wants it so), root makes the top-level entries the member's own steps need: folders tmp,
# .ssh, .my.cnf.d, sites, an empty .my.cnf, each made by root, then given to the member (chown
# -h: never through a link); and logs, root's, where prelude.sh's logs_on mounts LOGDIR
# read-only (a link would lead outside the chroot). Something of that name that is not what it
# should be (a file where a folder goes) is renamed aside, never followed: the home is root's,
# so the member can no longer swap it in between.
sftp_entries() {
  local home=$1 logs=$2 n p
  for n in tmp .ssh .my.cnf.d sites .my.cnf; do
    p="$home/$n"
    if [ "$n" = .my.cnf ]; then
      if [ -L "$p" ] || { [ -e "$p" ] && [ ! -f "$p" ]; }; then mv -f -- "$p" "$p.not-a-file.$(date +%s)"; fi
      [ -e "$p" ] || { install -m 0600 /dev/null "$p"; chown -h "$uid:$gid" -- "$p"; }
      continue
    fi
    # A link stays: what the member's own steps do through it, they do with the member's rights.
    [ ! -L "$p" ] || continue
    if [ -e "$p" ] && [ ! -d "$p" ]; then mv -f -- "$p" "$p.not-a-folder.$(date +%s)"; fi
    if [ ! -e "$p" ]; then
      if [ "$n" = sites ]; then mkdir -m 0755 -- "$p"; else mkdir -m 0700 -- "$p"; fi
      chown -h "$uid:$gid" -- "$p"
    fi
  done
  p="$home/logs"
  if [ -L "$p" ]; then
    # The link the member had while it was ssh goes; any other is set aside.
    if [ "$(readlink -- "$p")" = "$logs" ]; then rm -f -- "$p"; else mv -f -- "$p" "$p.not-a-mount-point.$(date +%s)"; fi
  elif [ -e "$p" ] && { [ ! -d "$p" ] || [ "$(stat -c %u -- "$p")" != 0 ]; }; then
    mv -f -- "$p" "$p.not-a-mount-point.$(date +%s)"
  fi
  if [ ! -e "$p" ]; then mkdir -m 0750 -- "$p"; chown -h "0:$gid" -- "$p"; fi
}
h=$1 home=$2 status=$3 kb=$4 inodes=$5 mode=$6 dropin=$7 pidfile=$8 sshdconf=$9 sshdbanner=${10} qpolicy=${11} access=${12} sftpconf=${13}; shift 13
case "$access" in ssh) shell=/bin/bash ;; sftp) shell=/usr/sbin/nologin ;; *) die "access must be ssh or sftp, not $access" ;; esac
[ -x "$shell" ] || die "$shell is missing on this host: cannot give $h access: $access"
pwhash=''
IFS= read -r pwhash || true
case "$pwhash" in '' | \$y\$* | \$6\$*) ;; *) die "the password hash of $h is not a yescrypt or sha512-crypt hash (nothing was changed)" ;; esac
case "$pwhash" in *:*) die "the password hash of $h contains ':' (nothing was changed)" ;; esac
if [ "$access" = sftp ]; then
  # sshd's ChrootDirectory wants every folder above the home root's and writable by no one else.
  p=$home
  while [ "$p" != / ]; do
    p=$(dirname -- "$p")
    { [ "$(stat -c %u -- "$p")" = 0 ] && [ $((0$(stat -c %a -- "$p") & 022)) = 0 ]; } || die "$p is not root's or is writable by others: sshd refuses a chroot below it, so $h cannot have access: sftp with home $home (nothing was changed)"
  done
fi
qdir=$home
[ -d "$qdir" ] || qdir=$(dirname -- "$home")
if [ "$qpolicy" = required ] && ! quota_mount "$qdir" >/dev/null; then
  die "the file system of $qdir has no user quota on, so the disk quota of $h cannot be enforced: turn user quotas on for it (Debian package quota; usrquota in /etc/fstab, quotacheck -cum, quotaon; or tune2fs -O quota on ext4), or set home_quota: warn on this host in Pulumi.<stack>.yaml to apply without enforcement (nothing was changed)"
fi
getent group www-data >/dev/null || die "there is no www-data group on this host (install apache2 first)"
if member "$h"; then
  own user "$h" "$uid" "$mode"
else
  # One new user at a time on a host, from the checks to useradd: accounts are applied in
  # parallel, and an adopted home's uid, checked free below, could otherwise be handed by
  # useradd to another new account in between (which would then own that home's files).
  USERS_LOCK=/var/lib/globenet/users.lock
  host_lock 7 "$USERS_LOCK" "new account"
  opts=(-m) og=
  if [ -L "$home" ]; then die "$home is a symbolic link: refusing to make it the home of $h"; fi
  if [ -e "$home" ]; then
    # The user was deleted by hand but the home stayed: adopt it under its old uid, never a
    # system uid, one in use, or one that Globenet's own marker says was another.
    [ -d "$home" ] || die "$home exists and is not a folder: refusing to adopt it"
    ou=$(stat -c %u -- "$home")
    # An sftp member's home is root's: its owner is the one of ~/tmp then.
    if [ "$ou" = 0 ] && [ -d "$home/tmp" ] && [ ! -L "$home/tmp" ]; then ou=$(stat -c %u -- "$home/tmp"); fi
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
  useradd "${opts[@]}" -d "$home" -s "$shell" -g "$h" -p '*' -- "$h" || { unmark user "$h"; die "useradd $h failed"; }
  member "$h" || die "useradd did not create $h"
  mark user "$h" "$uid"
  exec 7>&-
  echo "created=yes"
fi
[ "$mhome" = "$home" ] || die "the user $h exists with home $mhome, not $home: refusing to change it"
# Its primary group is its own group, and Globenet's.
[ "$(getent group "$gid" | cut -d: -f1)" = "$h" ] || die "the user $h has primary group $gid, not its own group $h: refusing"
own group "$h" "$gid" "$mode"
if [ -L "$home" ]; then die "$home is a symbolic link: refusing"; fi
[ -d "$home" ] || install -d -- "$home"
# The login shell: ssh members get bash; sftp members none (sshd runs its own SFTP server for
# them, so a missing drop-in could never turn into a shell).
[ "$(getent passwd "$h" | cut -d: -f7)" = "$shell" ] || usermod -s "$shell" -- "$h"
if [ "$access" = sftp ]; then
  # sshd's ChrootDirectory: the home and every folder above it root's, writable by no one else.
  chown -h "0:$gid" -- "$home"
  chmod 0750 -- "$home"
  site_logs "$h" "$gid"
  # shellcheck disable=SC2153 # LOGS is prelude.sh's
  sftp_entries "$home" "$LOGS/$h"
  logs_on "$h" "$home"
else
  # Going back to ssh: sshd stops chrooting the member, and the logs' mount goes, before its
  # home is its own again (mount follows links: never a line in fstab for a path it controls).
  sshd_sftp_off "$h" "$dropin" "$pidfile"
  logs_off "$h" "$home"
  chown -h "$uid:$gid" -- "$home"
  chmod 0750 -- "$home"
  site_logs "$h" "$gid"
fi
cd /
# Inside the home, with the member's rights only. authorized_keys comes on stdin.
# shellcheck disable=SC2153 # LOGS is prelude.sh's
as_member_fn home_setup account-setup "$home" "$LOGS/$h" "$@"
pw=$(getent shadow "$h" | cut -d: -f2) || pw=''
case "$status" in
  active)
    n=0
    while [[ $pw == '!'?* ]] && [ "$n" -lt 5 ]; do usermod -U -- "$h"; pw=$(getent shadow "$h" | cut -d: -f2) || pw=''; n=$((n + 1)); done
    # '*' (keys only) but for an sftp member with a password hash: then that hash, fed to
    # chpasswd -e on a pipe (printf is bash's own: the hash is in no process's arguments). A bare
    # '!', an empty field or a password set by hand on an ssh account becomes '*'.
    wantpw='*'
    if [ "$access" = sftp ] && [ -n "$pwhash" ]; then wantpw=$pwhash; fi
    if [ "$pw" != "$wantpw" ]; then
      if [ "$wantpw" = '*' ]; then usermod -p '*' -- "$h"; else printf '%s:%s\n' "$h" "$wantpw" | chpasswd -e; fi
      [ "$(getent shadow "$h" | cut -d: -f2)" = "$wantpw" ] || die "could not set the password of $h"
      echo "password=set"
    fi
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
# The SFTP-only drop-in last: its password login opens only once the home is a chroot and the
# password is the member's.
if [ "$access" = sftp ]; then sshd_sftp_on "$h" "$dropin" "$pidfile" "$sftpconf"; fi
quota=off
if mnt=$(quota_mount "$home"); then
  quota_set "$h" "$kb" "$inodes" "$mnt"
  quota=on
fi
echo "quota=$quota"
