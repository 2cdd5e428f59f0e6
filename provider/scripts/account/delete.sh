#!/usr/bin/env bash
# Account delete (after prelude.sh and sshd.sh): H HOME ARCHIVE_DIR STAMP DROPIN_DIR SSHD_PIDFILE.
# Archives the home (verified) and the crontab, then removes the user, home and group.
# shellcheck disable=SC2154 # uid, gid and mhome are set by member() of prelude.sh, which the loader puts first
h=$1 home=$2 adir=$3 stamp=$4 dropin=$5 pidfile=$6
present=no
if member "$h"; then
  [ "$mhome" = "$home" ] || die "the user $h has home $mhome, not $home: refusing to delete it"
  # Never remove a user Globenet did not create (the handle may name a local login).
  own user "$h" "$uid" delete
  present=yes
  # No new logins while the archive is made, and nothing left running as the member.
  usermod -L -e 1 -- "$h"
  # A site still served here (its pool and vhost live: a host whose members are split by hash
  # drops them in its own shard, after this one) starts processes as the member again: they are
  # stopped once more right before userdel, below.
  busy=no
  stop_processes "$uid" || busy=yes
elif [ -e "$home" ] && [ -z "$(marker user "$h")" ]; then
  die "refusing: $home exists, there is no user $h, and nothing says Globenet created it: it was left alone (archive or remove it by hand if it is this member's)"
fi
if [ -L "$home" ]; then die "$home is a symbolic link: refusing"; fi
# An sftp member's logs mount: out of fstab and off, before the archive (the logs stay Globenet's).
logs_off "$h" "$home"
if [ -d "$home" ]; then
  install -d -m 0700 -- "$adir/accounts"
  out=$(free_name "$adir/accounts/$h-$stamp" .tar.gz)
  # A site still served may change a file while it is read: GNU tar says so and exits 1, with the archive made.
  trc=0
  tar -C "${home%/*}" -czf "$out.partial" -- "${home##*/}" || trc=$?
  [ "$trc" -le 1 ] || die "the archive of $home failed (tar exit $trc): nothing was deleted"
  [ "$trc" -eq 0 ] || echo "note=files of $h changed while they were archived (its site was still served)"
  tar -tzf "$out.partial" > "$out.partial.list"
  grep -qx -- "${home##*/}/" "$out.partial.list" || die "the archive $out.partial does not hold ${home##*/}/: nothing was deleted"
  rm -f -- "$out.partial.list"
  mv -- "$out.partial" "$out"
  echo "archive=$out"
fi
# The crontab (in cron's spool, or set aside while suspended) is kept beside the home's archive.
for c in "$CRONTABS/$h" "$ASIDE/$h"; do
  if [ -f "$c" ] && [ ! -L "$c" ]; then
    install -d -m 0700 -- "$adir/accounts"
    cout=$(free_name "$adir/accounts/$h-$stamp" .crontab)
    cp -- "$c" "$cout.partial"
    mv -- "$cout.partial" "$cout"
    rm -f -- "$c"
    echo "archive=$cout"
  fi
done
# The site logs stay for Globenet (they age out with the rotation), but root's only: the
# member's group id may be given to someone else later.
if [ -d "$LOGS/$h" ] && [ ! -L "$LOGS/$h" ]; then
  chgrp -R root -- "$LOGS/$h"
  chmod 0700 -- "$LOGS/$h"
  echo "note=the site logs of $h stay in $LOGS/$h, root's only"
fi
# userdel refuses a user with a process (exit 8): while its site is served, a request starts one
# again (PHP-FPM's ondemand child, mpm-itk's), so each try kills what runs, lets the parents
# reap it, and removes the user at once.
if [ "$present" = yes ]; then
  for try in $(seq 1 40); do
    pids=$(member_pids "$uid")
    if [ -n "$pids" ]; then
      # shellcheck disable=SC2086 # one pid a word
      kill -KILL $pids 2>/dev/null || true
      sleep 0.03
    fi
    rc=0
    said=$(userdel -- "$h" 2>&1) || rc=$?
    [ "$rc" -eq 8 ] || break
    [ "$try" -lt 40 ] || die "processes of $h keep running or starting (its site may still be served, and busy): its home is archived; apply the shard of its web host, which drops the site, or stop them on this host, then apply this one again"
  done
  [ "$rc" -eq 0 ] || die "userdel $h failed (exit $rc: $said): its home is archived; fix that on the host, then apply again"
  [ "$busy" = no ] || echo "note=$h's site was still served during the archive: processes started as $h were stopped before the user was removed"
fi
rm -rf -- "$home"
unmark user "$h"
if getent group "$h" >/dev/null; then
  g=$(getent group "$h" | cut -d: -f3)
  if [ "$(marker group "$h")" = "$g" ]; then groupdel -- "$h" || true; else echo "group=kept:$g"; fi
fi
[ -n "$(getent group "$h" || true)" ] || unmark group "$h"
# A drop-in left for a user that is gone is harmless: a reload failure here only says so.
( sshd_allow "$h" "$dropin" "$pidfile" ) || echo "note=the sshd drop-in of $h was removed but sshd was not reloaded"
( sshd_sftp_off "$h" "$dropin" "$pidfile" ) || echo "note=the SFTP-only sshd drop-in of $h was removed but sshd was not reloaded"
echo "deleted=$present"
