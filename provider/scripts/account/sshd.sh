#!/usr/bin/env bash
# sshd and crontab functions of the account scripts (after prelude.sh).
#
# sshd for a suspended member: `sshd_deny H DIR PIDFILE CONF BANNER` puts the drop-in and its
# banner in place and reloads sshd, `sshd_allow H DIR PIDFILE` takes them away. sshd is found
# through its pid file (the inventory's `sshd.pid_file`): its binary and the config file on its
# command line. The drop-in is tested with `sshd -t` before it enters the folder sshd reads, the
# whole config again after, and `sshd -T` must then show the refusal for the member (else the
# folder is not included, and the drop-in is taken back out): a broken or useless drop-in never
# stays live. Members with access: sftp get a drop-in of their own the same way (sshd_sftp_on).
#
# One change of sshd at a time on a host: the engine applies accounts in parallel, and on SIGHUP
# sshd removes its pid file, executes itself again and writes the file back once it listens, so
# a script that looked for sshd meanwhile found no pid file, and one that reloaded meanwhile
# measured nothing. sshd_of takes the host's lock (held until sshd_reload is over, or the
# script ends); a reload from elsewhere (an admin's) is waited for.
SSHD_LOCK=/var/lib/globenet/sshd.lock
sshd_lock() { host_lock 8 "$SSHD_LOCK" "change of sshd"; }
# pid_in FILE: the pid a pid file holds, empty when there is none (gone, empty, being rewritten).
pid_in() { head -c 20 -- "$1" 2>/dev/null | tr -dc 0-9 || true; }
sshd_of() {
  local pf=$1 pid a prev='' words _
  sshd_lock
  for _ in $(seq 1 100); do
    [ ! -s "$pf" ] || break
    sleep 0.1
  done
  [ -f "$pf" ] || die "no sshd pid file $pf on this host (the inventory's hosts.<host>.sshd.pid_file): is sshd running there?"
  pid=$(pid_in "$pf")
  { [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ]; } || die "the sshd of $pf (pid ${pid:-none}) is not running"
  sshd_bin=$(readlink -- "/proc/$pid/exe") || die "the sshd of $pf (pid $pid) stopped while it was being looked at: apply again"
  sshd_bin=${sshd_bin% (deleted)}
  case "${sshd_bin##*/}" in sshd) ;; *) die "$pf names pid $pid, which runs $sshd_bin, not sshd" ;; esac
  # Its config file: -f on its command line, which sshd rewrites as one title string
  # ("sshd: /usr/sbin/sshd -D -f /etc/… [listener] …"), else the default.
  sshd_conf=/etc/ssh/sshd_config
  read -r -a words <<<"$(tr '\0' ' ' < "/proc/$pid/cmdline")"
  for a in "${words[@]}"; do
    if [ "$prev" = -f ]; then sshd_conf=$a; fi
    case "$a" in -f?*) sshd_conf=${a#-f} ;; esac
    prev=$a
  done
  [ -f "$sshd_conf" ] || die "cannot tell the config file of sshd (pid $pid) from its command line: $sshd_conf is not a file"
  sshd_pid=$pid sshd_pidfile=$pf
}
sshd_reload() {
  local before now pid _
  before=$(stat -c %.9Y -- "$sshd_pidfile" 2>/dev/null || echo none)
  "$sshd_bin" -t -f "$sshd_conf" || die "sshd rejects its configuration $sshd_conf: not reloaded"
  kill -HUP "$sshd_pid"
  # On SIGHUP sshd removes its pid file, executes itself again (the same pid under -D, as
  # systemd runs it; a new one when it daemonizes) and writes the file back once it listens:
  # over when the file is there again, newer, naming a live process.
  for _ in $(seq 1 100); do
    now=$(stat -c %.9Y -- "$sshd_pidfile" 2>/dev/null || echo none)
    pid=$(pid_in "$sshd_pidfile")
    if [ "$now" != none ] && [ "$now" != "$before" ] && [ -n "$pid" ] && [ -d "/proc/$pid" ]; then
      flock -u 8
      return 0
    fi
    sleep 0.1
  done
  die "sshd (pid $sshd_pid) did not come back within 10 s of its reload: check it on this host now"
}
sshd_dir() {
  [ ! -L "$1" ] || die "$1 is a symbolic link: refusing to write sshd drop-ins through it"
  [ -d "$1" ] || install -d -m 0755 -- "$1"
  [ "$(stat -c %u -- "$1")" = 0 ] || die "$1 is not owned by root: refusing to write sshd drop-ins there"
}
# sshd_put H CONF WANT WHAT CHECK…: WANT becomes the drop-in CONF. It is staged under a name
# sshd's Include (*.conf) does not match, tested alone before the config, moved in, the whole
# config tested again, and `sshd -T` for user H must show each CHECK line (else the folder is
# not included): on any failure the drop-in is taken out again and the script stops. WHAT says
# which drop-in in messages. sshd_of must have run; the caller reloads.
sshd_put() {
  local h=$1 conf=$2 want=$3 what=$4 dir stage t out c
  shift 4
  dir=$(dirname -- "$conf")
  stage="$dir/.${conf##*/}.new"
  printf '%s\n' "$want" > "$stage"
  chmod 0644 -- "$stage"
  t=$(mktemp)
  printf 'Include %s\nInclude %s\n' "$stage" "$sshd_conf" > "$t"
  if ! out=$("$sshd_bin" -t -f "$t" 2>&1); then rm -f -- "$t" "$stage"; die "sshd rejects the $what drop-in of $h (nothing changed): $out"; fi
  rm -f -- "$t"
  mv -f -- "$stage" "$conf"
  if ! out=$("$sshd_bin" -t -f "$sshd_conf" 2>&1); then rm -f -- "$conf"; die "sshd rejects $sshd_conf with $conf, which was taken out again: $out"; fi
  out=$("$sshd_bin" -T -f "$sshd_conf" -C "user=$h,host=globenet-check,addr=127.0.0.1" 2>/dev/null || true)
  for c in "$@"; do
    if ! grep -qxF -- "$c" <<<"$out"; then
      rm -f -- "$conf"
      die "sshd does not read $dir (its config $sshd_conf has no 'Include $dir/*.conf'): the $what drop-in was taken out again. Add that Include at the top of $sshd_conf, or correct sshd.dropin_dir in the inventory (or, if it is there, a file read before it sets '${c%% *}' for $h: remove that)"
    fi
  done
}
# sshd_same FILE TEXT: FILE is a plain file holding TEXT (and its final newline).
sshd_same() { [ -f "$1" ] && [ ! -L "$1" ] && [ "$(cat -- "$1")" = "$2" ]; }
sshd_deny() {
  local h=$1 dir=$2 want=$4 btext=$5 conf="$2/globenet-suspended-$1.conf" banner="$2/globenet-suspended-$1.txt"
  sshd_dir "$dir"
  if sshd_same "$conf" "$want" && sshd_same "$banner" "$btext"; then return 0; fi
  sshd_of "$3"
  printf '%s\n' "$btext" > "$banner.new"
  chmod 0644 -- "$banner.new"
  mv -f -- "$banner.new" "$banner"
  sshd_put "$h" "$conf" "$want" suspension "banner $banner" 'denyusers *'
  sshd_reload
  echo "sshd=denied"
}
# access: sftp: `sshd_sftp_on H DIR PIDFILE CONF` puts the member's SFTP-only drop-in in place
# (sshd -T must then force internal-sftp in a chroot for H), `sshd_sftp_off H DIR PIDFILE`
# takes it away (access: ssh). Each reloads sshd when it changed something.
sshd_sftp_on() {
  local h=$1 dir=$2 want=$4 conf="$2/globenet-sftp-$1.conf"
  sshd_dir "$dir"
  if sshd_same "$conf" "$want"; then return 0; fi
  sshd_of "$3"
  sshd_put "$h" "$conf" "$want" SFTP-only 'forcecommand internal-sftp' 'chrootdirectory %h' 'permittty no' 'allowtcpforwarding no'
  sshd_reload
  echo "sshd_sftp=on"
}
sshd_sftp_off() {
  local conf="$2/globenet-sftp-$1.conf"
  [ -e "$conf" ] || [ -L "$conf" ] || return 0
  rm -f -- "$conf"
  sshd_of "$3"
  sshd_reload
  echo "sshd_sftp=off"
}
sshd_allow() {
  local conf="$2/globenet-suspended-$1.conf" banner="$2/globenet-suspended-$1.txt"
  rm -f -- "$banner"
  [ -e "$conf" ] || [ -L "$conf" ] || return 0
  rm -f -- "$conf"
  sshd_of "$3"
  sshd_reload
  echo "sshd=allowed"
}
# A suspended member's crontab waits in a root-only folder (cron then has nothing of theirs to
# run) and comes back, byte for byte, on reactivation.
CRONTABS=/var/spool/cron/crontabs
ASIDE=/var/lib/globenet/suspended-crontabs
crontab_aside() {
  local f="$CRONTABS/$1"
  if [ ! -f "$f" ] || [ -L "$f" ]; then return 0; fi
  [ ! -e "$ASIDE/$1" ] || die "$1 has a crontab in $CRONTABS and another set aside in $ASIDE: keep one (compare them), then apply again"
  root_dir /var/lib/globenet "$ASIDE"
  mv -- "$f" "$ASIDE/$1"
  touch -- "$CRONTABS"
  echo "crontab=aside"
}
crontab_back() {
  local f="$ASIDE/$1"
  [ -f "$f" ] && [ -d "$CRONTABS" ] || return 0
  [ ! -e "$CRONTABS/$1" ] || die "$1 has a crontab in $CRONTABS and another set aside in $ASIDE: keep one (compare them), then apply again"
  mv -- "$f" "$CRONTABS/$1"
  touch -- "$CRONTABS"
  echo "crontab=back"
}

