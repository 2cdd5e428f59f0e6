#!/usr/bin/env bash
# The one remote script of the FileSet resource (provider/resources/file-set.ts). It is
# CONSTANT: what varies arrives as positional arguments the provider has validated (action,
# kind, PHP version, generation, the md-reload systemd units of lib/render/md-reload.ts, and
# for `fetch` relative paths taken from the host's own listing), and the files as a tar on
# stdin. provider/ssh/remote.ts prefixes `set -euo pipefail`.
#
#   ACTION KIND VER GEN UNIT PATHUNIT SERVICEUNIT PART [PATH…]
# PART is empty, or for apache2 and php-fpm the name of one part of a web host's member sites
# (a bucket's: docs/architecture.md, "Members split by hash"), beside the host's own set.
#   apply   GEN: the generation; stdin: a tar   stage, check, swap, wire, reload once, prune generations
#   read    GEN empty                           "absent", or "present" then NUL-terminated "<sha256> <path>"
#   fetch   GEN "-", then PATH…                 NUL-terminated "<path>" "<base64 content>" pairs
#   serials GEN empty                           bind-primary: "<serial> zones/<zone>.zone" lines, the SOA serial each live zone file serves
#   delete  GEN empty                           unwire, reload (if the daemon runs), remove root and generations
#   check   GEN empty, then DIR                 apply's check alone, on the files of DIR (see do_check)
#   takeover-read GEN "-", then NAME…          the hand-made definitions an adoption takes over (see do_takeover_read)
#
# apply takes, after GEN and the units, the takeover steps of an adoption (provider/resources/takeover.ts):
#   disable-site=ENTRY   apache2: move /etc/apache2/sites-enabled/ENTRY to the backup folder
#   conf=PATH            bind: replace /etc/bind/named.conf* PATH by the tar's .takeover/<its name>
#   keys=ZONE:DIR        bind-primary: copy ZONE's DNSSEC key files from DIR into Globenet's key directory
#   copy=ZONE:FMT:FILE   bind-secondary: the hand-made copy FILE (format text or raw) of ZONE becomes
#                        Globenet's copy of it (named-compilezone as bind), then a refresh asks the primary
#   disable-pool=FILE    php-fpm: move /etc/php/VER/fpm/pool.d/FILE (a hand-made pool of a Globenet name) to the backup folder
#   md-store=DIR         apache2: mod_md's store (MDStoreDir), for md-cert
#   md-cert=NAME:CERT:KEY[:CHAIN]  apache2: the hand-made certificate (and key, chain) of a disabled
#                        HTTPS vhost put into mod_md's store as managed domain NAME's, unless it has one
# all done between the swap and the one reload, after the whole configuration is checked.
#
# Exit codes: 2 bad arguments or missing daemon, 3 the daemon's check rejected the files
# (nothing changed), 4 the reload failed (the new files are live), 5 lock timeout.
umask 022
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH
action=$1 kind=$2 ver=$3 gen=${4:-}
# The md-reload units (names and texts of lib/render/md-reload.ts).
MD_UNIT=${5:-} MD_PATH_UNIT=${6:-} MD_SERVICE_UNIT=${7:-}
part=${8:-}
say() { printf '%s\n' "$*" >&2; }

case "$MD_UNIT" in
  ''|*[!a-z0-9-]*) say "not a systemd unit name: $MD_UNIT"; exit 2 ;;
esac

case "$ver" in
  '') ;;
  *[!0-9.]*|.*|*.) say "not a PHP version: $ver"; exit 2 ;;
esac
case "$gen" in
  *[!0-9a-f-]*) say "not a generation: $gen"; exit 2 ;;
esac
case "$part" in
  '') ;;
  [!a-z]*|*[!a-z0-9-]*|*-) say "not a part name: $part"; exit 2 ;;
esac
case "$kind" in
  apache2) root=/etc/apache2/globenet; k=apache2 ;;
  php-fpm)
    [ -n "$ver" ] || { say "a php-fpm file set needs a PHP version"; exit 2; }
    root=/etc/php/$ver/fpm/globenet; k=php_fpm ;;
  bind-primary|bind-secondary) root=/etc/bind/globenet; k=bind ;;
  www) root=/var/www/globenet-suspended; k=www ;;
  monitoring) root=/etc/prometheus/globenet; k=monitoring ;;
  mail) root=/etc/globenet/mail/conf; k=mail ;;
  node-exporter) root=/etc/prometheus/globenet-node; k=node_exporter ;;
  *) say "unknown file set kind: $kind"; exit 2 ;;
esac
gens=$root.d
# The sets of one daemon (the host's and its parts) are checked together and reloaded one at a
# time: one lock for all of them (other kinds lock their own folder).
lockfile=$gens/.lock
case "$kind" in
  apache2) lockfile=/etc/apache2/.globenet-lock ;;
  php-fpm) lockfile=/etc/php/$ver/fpm/.globenet-lock ;;
esac
if [ -n "$part" ]; then
  case "$k" in
    apache2) root=/etc/apache2/globenet-parts/$part gens=/etc/apache2/globenet-parts.d/$part k=apache2_part ;;
    php_fpm) root=/etc/php/$ver/fpm/globenet-parts/$part gens=/etc/php/$ver/fpm/globenet-parts.d/$part k=php_fpm_part ;;
    *) say "only apache2 and php-fpm sets have parts, not $kind"; exit 2 ;;
  esac
fi

tmp="" stage=""
# Live root → the new generation of that set an apply prepared (see plan_moves), until swapped.
declare -A moved_gen=()
cleanup() {
  if [ -n "$stage" ]; then rm -rf -- "$stage"; fi
  if [ -n "$tmp" ]; then rm -rf -- "$tmp"; fi
  local g
  for g in "${moved_gen[@]}"; do rm -rf -- "$g"; done
  return 0
}
trap cleanup EXIT

# ─── helpers ───────────────────────────────────────────────────────────────────────────────────

# rename_in FILE: FILE.globenet-new, written by the caller, takes FILE's place in one rename
# (a daemon reloading at that moment reads the old file or the new one, never half of one), with
# FILE's owner and mode when FILE exists. On failure the new file is removed.
rename_in() {
  local new=$1.globenet-new
  if { [ ! -f "$1" ] || { chown --reference="$1" -- "$new" && chmod --reference="$1" -- "$new"; }; } && mv -fT -- "$new" "$1"; then return 0; fi
  rm -f -- "$new"
  return 1
}

# Replaces a file's content (keeping its owner and mode) only when it differs.
write_if_changed() {
  if [ -f "$1" ] && [ "$(cat -- "$1")" = "$2" ]; then return 0; fi
  rm -f -- "$1.globenet-new"
  printf '%s\n' "$2" > "$1.globenet-new" || return
  rename_in "$1"
}

# Appends lines to a file unless the first one is already there (exactly, as a whole line).
append_once() {
  local f=$1; shift
  if [ -f "$f" ] && grep -qxF -- "$1" "$f"; then return 0; fi
  if [ -s "$f" ] && [ -n "$(tail -c1 -- "$f")" ]; then echo >> "$f" || return; fi
  printf '%s\n' "$@" >> "$f"
}

# Removes whole lines from a file, keeping its owner and mode (renamed in: rename_in).
remove_lines() {
  local f=$1; shift
  [ -f "$f" ] || return 0
  local args=() l
  for l in "$@"; do args+=(-e "$l"); done
  grep -qxF "${args[@]}" "$f" || return 0
  # A symbolic link (an admin's layout) keeps pointing where it did: its target is rewritten.
  f=$(readlink -f -- "$f") || { say "could not resolve the link $f"; return 1; }
  rm -f -- "$f.globenet-new"
  # grep exits 1 when no line is left: an empty file, not a failure.
  if { grep -vxF "${args[@]}" "$f" > "$f.globenet-new" || [ $? -eq 1 ]; } && rename_in "$f"; then return 0; fi
  rm -f -- "$f.globenet-new"
  say "could not rewrite $f"
  return 1
}

# Runs a command that may leave a daemon behind without letting the daemon hold the SSH channel
# or the set's lock (fd 9: a daemon holding it would block every later apply).
detached() {
  local log rc=0
  log=$(mktemp /tmp/globenet-daemon.XXXXXX)
  "$@" 9>&- < /dev/null > "$log" 2>&1 || rc=$?
  cat -- "$log" >&2
  rm -f -- "$log"
  return $rc
}

# Is PID (from a pid file) alive and running a program whose name starts with NAME?
alive() {
  local pidfile=$1 name=$2 pid
  [ -s "$pidfile" ] || return 1
  pid=$(tr -dc 0-9 < "$pidfile")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  case "$(cat "/proc/$pid/comm" 2>/dev/null)" in "$name"*) return 0 ;; *) return 1 ;; esac
}

# Checker output with temp paths shown as the live ones the volunteer knows, without the
# lines that say nothing about the problem (zones that loaded, apache2ctl's pointer to an
# error log the check never wrote, php-fpm's timestamps).
show() {
  local s=(sed -E
    -e '/^zone [^ ]+: loaded serial [0-9]+$/d'
    -e "/^Action '.*' failed\.$/d"
    -e '/^The Apache error log may have more information\.$/d'
    -e 's/^\[[0-9]{2}-[A-Za-z]{3}-[0-9]{4} [0-9:]{8}\] //')
  if [ -n "$stage" ]; then s+=(-e "s#$stage#$root#g"); fi
  if [ -n "$tmp" ]; then
    s+=(-e "s#$tmp/apache2-check/#/etc/apache2/#g" -e "s#$tmp/named.conf.globenet#$root/named.conf.globenet#g")
    s+=(-e "s#$tmp/php-fpm.conf#/etc/php/$ver/fpm/php-fpm.conf#g" -e "s#$tmp/#<check dir>/#g")
  fi
  "${s[@]}"
}

# An exporter's port table (lib/render/monitoring-units.ts renderMonitorOnlyNft): loaded from
# the set's FILE, and its listing as the kernel has it then kept beside the generations (LOADED,
# not a file of the set), so read tells a table flushed (nft flush ruleset, nftables.service
# restarted) or edited by hand: drift, shown as the table file's hash, and the next apply loads it again.
# The table as the kernel has it, without counters (-s): the same text while no rule changes.
nft_listing() { nft -s list table inet "$1" 2> /dev/null; }
nft_load() {
  local file=$1 table=$2 loaded=$3
  nft -f "$root/$file" || { say "nft -f $root/$file failed"; return 1; }
  nft_listing "$table" > "$gens/$loaded" || { say "nft list table inet $table failed after loading it"; return 1; }
}
# For read: the live table against the one the apply loaded; empty when they agree.
nft_drift() {
  local table=$1 loaded=$2 live
  live=$(nft_listing "$table") || { echo nft-table-not-loaded; return 0; }
  [ -f "$gens/$loaded" ] && [ "$live" = "$(cat -- "$gens/$loaded")" ] || echo nft-table-differs
}

# A set's oneshot service and its timer (FOLDER/NAME.service, FOLDER/NAME.timer in the set),
# copied to /etc/systemd/system and the timer enabled, where systemd runs; elsewhere (the lab)
# whoever runs the host runs the script. WHAT names the check in the note.
wire_set_timer() {
  local folder=$1 what=$2 name=$3 u changed=no
  if [ ! -d /run/systemd/system ]; then
    say "note: systemd does not run on this host: $what's timer is not installed (run it as $root/$folder/$name.service does)"
    return 0
  fi
  for u in "$name.service" "$name.timer"; do
    if [ ! -f "/etc/systemd/system/$u" ] || ! cmp -s -- "$root/$folder/$u" "/etc/systemd/system/$u"; then
      write_if_changed "/etc/systemd/system/$u" "$(cat -- "$root/$folder/$u")" || return
      changed=yes
    fi
  done
  if [ "$changed" = yes ]; then systemctl daemon-reload || return; fi
  systemctl enable --quiet --now "$name.timer" || { say "$name.timer does not start"; return 1; }
}
unwire_set_timer() {
  [ -d /run/systemd/system ] || return 0
  systemctl disable --quiet --now "$1.timer" 2> /dev/null || true
  rm -f -- "/etc/systemd/system/$1.service" "/etc/systemd/system/$1.timer"
}

# ─── apache2 ───────────────────────────────────────────────────────────────────────────────────
# Shared settings go with the other conf-enabled snippets; the vhosts come after
# sites-enabled/000-default.conf, so the default site stays the answer for unknown names.
# Paths are relative to ServerRoot, so a checked copy of /etc/apache2 resolves them inside the copy.
APACHE_CONF_WIRING='# Managed by globenet-infra (FileSet apache2): Globenet shared settings.
IncludeOptional globenet/conf-available/*.conf'
APACHE_SITES_WIRING='# Managed by globenet-infra (FileSet apache2): Globenet members sites.
IncludeOptional globenet/sites-available/*.conf
IncludeOptional globenet-parts/*.conf'
# The parts' live links (one per part: the sites of a bucket of members, made by its own shard),
# each with its include beside it: Apache's wildcards skip a linked folder (apr_dir_read sees a
# link), so the wiring's wildcard names files, and each file names its part's folder.
APACHE_PARTS=/etc/apache2/globenet-parts
apache_part_include() { printf '# Managed by globenet-infra (FileSet apache2, part %s).\nIncludeOptional globenet-parts/%s/sites-available/*.conf\n' "$1" "$1"; }
# What the vhosts use; expires for the caching headers members' .htaccess files ask for.
APACHE_MODULES=(proxy_fcgi setenvif rewrite headers expires ssl md)
# mpm-itk (Debian libapache2-mpm-itk) runs each member site's requests as the member: the kernel
# then keeps one member's site out of another's files and FPM socket. It works with prefork only.
APACHE_MPM=mpm_itk
APACHE_MPM_OFF=(mpm_event mpm_worker)
# No status page may answer on a member's site (a .htaccess can name any handler with a
# rewrite's [H=server-status]): the modules that serve them are off on a web host.
APACHE_MODULES_OFF=(status info)
# mod_md's MDMessageCmd (md-event.sh, in the set when the stack has acme) asks for a reload when
# a renewed certificate waits, by creating a flag root must answer (lib/render/md-reload.ts):
# systemd's path unit does, where systemd runs. Earlier versions had a sudo rule instead, which
# mpm-itk's seccomp filter makes useless: it is removed.
MD_SUDOERS=/etc/sudoers.d/globenet-apache-reload

# The MPM modules enabled in an Apache config dir, as one line (to tell whether a reload must be a restart).
apache_mpms() {
  local f out=""
  for f in "$1"/mods-enabled/mpm_*.load; do if [ -e "$f" ]; then out+="$(basename -- "$f" .load) "; fi; done
  printf '%s' "$out"
}
# Those of the named modules that are enabled in an Apache config dir.
enabled_of() {
  local d=$1 m; shift
  for m in "$@"; do if [ -e "$d/mods-enabled/$m.load" ]; then printf '%s\n' "$m"; fi; done
}

wire_apache2_in() {
  local d=$1 off
  write_if_changed "$d/conf-enabled/zz-globenet.conf" "$APACHE_CONF_WIRING" || return
  write_if_changed "$d/sites-enabled/zz-globenet.conf" "$APACHE_SITES_WIRING" || return
  # The other MPMs first: a2enmod refuses prefork (which mpm_itk depends on) beside them.
  mapfile -t off < <(enabled_of "$d" "${APACHE_MPM_OFF[@]}" "${APACHE_MODULES_OFF[@]}")
  if [ "${#off[@]}" -gt 0 ]; then APACHE_CONFDIR=$d a2dismod -q "${off[@]}" || return; fi
  APACHE_CONFDIR=$d a2enmod -q "$APACHE_MPM" "${APACHE_MODULES[@]}"
}
# What the wiring may switch, as the host had it before the first wiring: delete puts it back.
APACHE_MODS_BEFORE=/etc/apache2/globenet.d/.modules-before
apache_restart=no
wire_apache2() {
  local before
  if [ ! -f "$APACHE_MODS_BEFORE" ]; then
    enabled_of /etc/apache2 "${APACHE_MPM_OFF[@]}" mpm_prefork "$APACHE_MPM" "${APACHE_MODULES_OFF[@]}" > "$APACHE_MODS_BEFORE" || return
  fi
  before=$(apache_mpms /etc/apache2)
  wire_apache2_in /etc/apache2 >&2 || return
  # Apache cannot change its MPM in a graceful reload (it exits instead): that takes a restart.
  if [ "$(apache_mpms /etc/apache2)" != "$before" ]; then apache_restart=yes; fi
  if [ -f /etc/apache2/globenet/md-event.sh ]; then wire_md_reload; else unwire_md_reload; fi
  wire_site_logrotate
}
# Members' site logs rotate with the host's logrotate (cron.daily): a copy of the set's file,
# since logrotate reads only /etc/logrotate.d.
SITE_LOGROTATE=/etc/logrotate.d/globenet-sites
wire_site_logrotate() {
  if [ -f /etc/apache2/globenet/logrotate-sites.conf ] && [ -d /etc/logrotate.d ]; then
    write_if_changed "$SITE_LOGROTATE" "$(cat /etc/apache2/globenet/logrotate-sites.conf)"
  else
    rm -f -- "$SITE_LOGROTATE"
  fi
}
wire_md_reload() {
  rm -f -- "$MD_SUDOERS"
  if [ ! -d /run/systemd/system ]; then
    say "note: systemd does not run on this host: a renewed certificate goes live at the next Apache reload (the lab runs its own md-reload watcher)"
    return 0
  fi
  local d=/etc/systemd/system changed=no
  if [ ! -f "$d/$MD_UNIT.path" ] || [ "$(cat -- "$d/$MD_UNIT.path")" != "$MD_PATH_UNIT" ]; then changed=yes; fi
  if [ ! -f "$d/$MD_UNIT.service" ] || [ "$(cat -- "$d/$MD_UNIT.service")" != "$MD_SERVICE_UNIT" ]; then changed=yes; fi
  write_if_changed "$d/$MD_UNIT.path" "$MD_PATH_UNIT" || return
  write_if_changed "$d/$MD_UNIT.service" "$MD_SERVICE_UNIT" || return
  if [ "$changed" = yes ]; then systemctl daemon-reload || return; fi
  systemctl enable --now --quiet "$MD_UNIT.path"
}
unwire_md_reload() {
  rm -f -- "$MD_SUDOERS"
  if [ -d /run/systemd/system ] && [ -f "/etc/systemd/system/$MD_UNIT.path" ]; then
    systemctl disable --now --quiet "$MD_UNIT.path" || true
  fi
  if [ -f "/etc/systemd/system/$MD_UNIT.path" ] || [ -f "/etc/systemd/system/$MD_UNIT.service" ]; then
    rm -f -- "/etc/systemd/system/$MD_UNIT.path" "/etc/systemd/system/$MD_UNIT.service"
    if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
  fi
}
unwire_apache2() {
  rm -f /etc/apache2/conf-enabled/zz-globenet.conf /etc/apache2/sites-enabled/zz-globenet.conf "$SITE_LOGROTATE"
  unwire_md_reload
  restore_apache_modules >&2
}
# The MPM and status modules as they were before the first wiring (proxy_fcgi and the others
# the sites needed stay enabled, as before).
restore_apache_modules() {
  [ -f "$APACHE_MODS_BEFORE" ] || return 0
  local before m on=() off=()
  before=$(apache_mpms /etc/apache2)
  for m in "${APACHE_MPM_OFF[@]}" "$APACHE_MPM" mpm_prefork "${APACHE_MODULES_OFF[@]}"; do
    if grep -qxF -- "$m" "$APACHE_MODS_BEFORE"; then
      [ -e "/etc/apache2/mods-enabled/$m.load" ] || on+=("$m")
    else
      if [ -e "/etc/apache2/mods-enabled/$m.load" ]; then off+=("$m"); fi
    fi
  done
  if [ "${#off[@]}" -gt 0 ]; then a2dismod -q "${off[@]}" || return; fi
  if [ "${#on[@]}" -gt 0 ]; then a2enmod -q "${on[@]}" || return; fi
  if [ "$(apache_mpms /etc/apache2)" != "$before" ]; then apache_restart=yes; fi
}

precheck_apache2() {
  { command -v apache2ctl > /dev/null && [ -f /etc/apache2/apache2.conf ]; } || { say "Apache is not installed on this host (apache2ctl, /etc/apache2/apache2.conf)"; exit 2; }
  [ -f "/etc/apache2/mods-available/$APACHE_MPM.load" ] ||
    { say "mpm-itk is not installed on this host (/etc/apache2/mods-available/$APACHE_MPM.load): install libapache2-mpm-itk (members' sites run as their own users)"; exit 2; }
}

# apache2ctl -t on a copy of /etc/apache2 as it will be: the host's set and every part, live,
# with this set's staged generation in place of its live one. Debian's envvars is sourced by
# apache2ctl; the copy's gets run, lock, pid and log dirs in the temp dir appended, so the check
# reads and writes nothing of the live Apache.
check_apache2() {
  local copy=$tmp/apache2-check o n
  mkdir -- "$copy" || return
  tar -C /etc/apache2 --anchored --exclude=./globenet --exclude=./globenet.d --exclude=./globenet-parts --exclude=./globenet-parts.d --exclude=./.globenet-lock -cf - . | tar -C "$copy" -xf - || return
  mkdir -- "$copy/globenet-parts" || return
  if [ -z "$part" ]; then ln -sfn -- "$stage" "$copy/globenet" || return; fi
  # The other sets as they will be (a part's include file beside its link, as live).
  while IFS= read -r o; do
    n=${o##*/}
    case "$o" in
      "$APACHE_PARTS"/*) if [ -f "$o.conf" ]; then ln -s -- "$(set_dir "$o")" "$copy/globenet-parts/$n" && apache_part_include "$n" > "$copy/globenet-parts/$n.conf" || return; fi ;;
      *) ln -sfn -- "$(set_dir "$o")" "$copy/globenet" || return ;;
    esac
  done < <(other_sets)
  if [ -n "$part" ]; then ln -s -- "$stage" "$copy/globenet-parts/$part" && apache_part_include "$part" > "$copy/globenet-parts/$part.conf" || return; fi
  apache_duplicates "$copy" || return
  # A takeover's hand-made sites are checked as disabled, as they will be at the reload.
  local e
  for e in "${takeover_sites[@]}"; do rm -f -- "$copy/sites-enabled/$e" || return; done
  # a2enmod in the copy keeps its "enabled by admin" markers in the temp dir, not /var/lib/apache2.
  mkdir -p -- "$tmp/state" || return
  APACHE_STATE_DIRECTORY=$tmp/state wire_apache2_in "$copy" > /dev/null || return
  mkdir -p -- "$tmp/run" "$tmp/lock" "$tmp/log" || return
  # Members' site logs (GLOBENET_SITE_LOGS, defined by globenet's conf unless defined before):
  # apache2ctl -t wants each ErrorLog's folder to exist, so the check writes to scratch ones.
  printf 'Define GLOBENET_SITE_LOGS %s\n' "$tmp/site-logs" > "$copy/conf-enabled/000-globenet-check.conf" || return
  local d
  while IFS= read -r d; do
    mkdir -p -- "$tmp/site-logs/$d" || return
  done < <(find -L "$copy/globenet/sites-available" "$copy/globenet-parts" -name '*.conf' -type f -exec cat -- {} + 2> /dev/null | grep -o '[$]{GLOBENET_SITE_LOGS}/[a-z0-9-]*/' | sed 's|^[$]{GLOBENET_SITE_LOGS}/||; s|/$||' | sort -u)
  printf '\n# globenet-infra staging check\nexport APACHE_RUN_DIR=%s\nexport APACHE_PID_FILE=%s\nexport APACHE_LOCK_DIR=%s\nexport APACHE_LOG_DIR=%s\n' \
    "$tmp/run" "$tmp/run/apache2.pid" "$tmp/lock" "$tmp/log" >> "$copy/envvars" || return
  APACHE_CONFDIR=$copy apache2ctl -t || return
  # logrotate's own reading of the site logs' rotation (-d: nothing is rotated).
  if [ -f "$stage/logrotate-sites.conf" ] && command -v logrotate > /dev/null; then
    logrotate -d -s "$tmp/logrotate.status" -- "$stage/logrotate-sites.conf" > "$tmp/logrotate.out" 2>&1 ||
      { cat -- "$tmp/logrotate.out" >&2; return 1; }
  fi
}
check_apache2_part() { check_apache2; }

# A site is in one set at a time: mod_md refuses a domain two MDomain lines name when Apache
# starts (AH10038, which apache2ctl -t does not see), and a graceful reload into that stops
# Apache. Paths are shown as the live ones.
apache_duplicates() {
  local found
  found=$(cd -- "$1" && find -L globenet/sites-available globenet-parts -path '*/sites-available/*.conf' -type f 2> /dev/null | LC_ALL=C sort |
    awk -F/ '{ n = $NF; if (n in seen) print "sites-available/" n ": in /etc/apache2/" seen[n] " and in /etc/apache2/" $0; else seen[n] = $0 }')
  [ -z "$found" ] && return 0
  printf '%s\n' "$found"
  say "a site may be in one set only (the host's, or one part's): apply first the set that drops it (its shard), then this one"
  return 1
}

precheck_apache2_part() {
  precheck_apache2
  if [ ! -L /etc/apache2/globenet ] || [ ! -f /etc/apache2/sites-enabled/zz-globenet.conf ]; then
    say "the host's own Apache set is not applied (/etc/apache2/globenet, /etc/apache2/sites-enabled/zz-globenet.conf): apply the host's own shard first, then this part"
    exit 2
  fi
}
# The host's wiring as its own set writes it (a host wired before parts existed lacks their include).
wire_apache2_part() {
  write_if_changed "$root.conf" "$(apache_part_include "$part")" || return
  write_if_changed /etc/apache2/sites-enabled/zz-globenet.conf "$APACHE_SITES_WIRING"
}
# The part's sites leave Apache at the reload that follows.
unwire_apache2_part() { rm -f -- "$root.conf" "$root"; }
reload_apache2_part() { reload_apache2; }
reload_if_running_apache2_part() { reload_if_running_apache2; }

apache_pidfile() {
  # envvars is written for plain sh: no set -u while it runs.
  # shellcheck disable=SC2034 # envvars reads APACHE_CONFDIR
  # shellcheck source=/dev/null # the host's own file, not the repository's
  (set +u; APACHE_CONFDIR=/etc/apache2; . /etc/apache2/envvars > /dev/null 2>&1 || true; echo "${APACHE_PID_FILE:-/var/run/apache2/apache2.pid}")
}
# graceful starts Apache when it is not running.
reload_apache2() {
  if [ "$apache_restart" = yes ]; then
    restart_apache2 || { say "the restart of Apache for its new MPM failed: the new files are live, Apache did not take them"; return 4; }
    return 0
  fi
  detached apache2ctl graceful || { say "apache2ctl graceful failed: the new files are live, Apache did not take them"; return 4; }
}
reload_if_running_apache2() {
  if alive "$(apache_pidfile)" apache2; then
    if [ "$apache_restart" = yes ]; then restart_apache2; else detached apache2ctl graceful; fi
  fi
}
# A full stop and start (systemd's, where systemd runs Apache), for an MPM change.
restart_apache2() {
  say "Apache's MPM changed (now: $(apache_mpms /etc/apache2)): restarting it, since a graceful reload cannot change the MPM"
  if [ -d /run/systemd/system ] && systemctl is-active --quiet apache2 2> /dev/null; then
    systemctl restart apache2
    return
  fi
  local pidfile pid n=0
  pidfile=$(apache_pidfile)
  if alive "$pidfile" apache2; then
    pid=$(tr -dc 0-9 < "$pidfile")
    detached apache2ctl stop || return
    while kill -0 "$pid" 2> /dev/null && [ "$n" -lt 300 ]; do sleep 0.1; n=$((n + 1)); done
    if kill -0 "$pid" 2> /dev/null; then say "Apache (pid $pid) did not stop within 30 s"; return 1; fi
  fi
  detached apache2ctl start
}

# ─── php-fpm ───────────────────────────────────────────────────────────────────────────────────
fpm_conf() { echo "/etc/php/$ver/fpm/php-fpm.conf"; }
FPM_COMMENT='; Managed by globenet-infra (FileSet php-fpm): the Globenet members pools.'
fpm_include() { echo "include=/etc/php/$ver/fpm/globenet/pool.d/*.conf"; }

precheck_php_fpm() {
  { command -v "php-fpm$ver" > /dev/null && [ -f "$(fpm_conf)" ]; } || { say "PHP $ver FPM is not installed on this host (php-fpm$ver, $(fpm_conf)): install php$ver-fpm"; exit 2; }
}
# The parts' pools (one folder per part: the pools of a bucket of members, made by its own shard).
FPM_PARTS_COMMENT='; Managed by globenet-infra (FileSet php-fpm parts): the pools of the Globenet members split by hash.'
fpm_parts() { echo "/etc/php/$ver/fpm/globenet-parts"; }
fpm_parts_include() { echo "include=$(fpm_parts)/*/pool.d/*.conf"; }
# Whether a part other than this set's is live.
other_fpm_parts() {
  local l
  for l in "$(fpm_parts)"/*; do if [ -L "$l" ] && [ "${l##*/}" != "$part" ]; then return 0; fi; done
  return 1
}
# Debian's stock pool (www-data, no open_basedir) is off on a web host: its file is renamed
# out of the include's pattern, kept as it was, and renamed back when the last set is deleted.
fpm_stock_pool() { echo "/etc/php/$ver/fpm/pool.d/www.conf"; }
FPM_STOCK_OFF_SUFFIX=.globenet-disabled
stock_pool_off() {
  local stock
  stock=$(fpm_stock_pool)
  if [ -f "$stock" ]; then mv -f -- "$stock" "$stock$FPM_STOCK_OFF_SUFFIX"; fi
}
stock_pool_back() {
  local stock
  stock=$(fpm_stock_pool)
  if [ -f "$stock$FPM_STOCK_OFF_SUFFIX" ] && [ ! -e "$stock" ]; then mv -- "$stock$FPM_STOCK_OFF_SUFFIX" "$stock"; fi
}
wire_php_fpm() {
  append_once "$(fpm_conf)" "$FPM_COMMENT" "$(fpm_include)" || return
  stock_pool_off
}
unwire_php_fpm() {
  remove_lines "$(fpm_conf)" "$FPM_COMMENT" "$(fpm_include)" || return
  if ! other_fpm_parts; then stock_pool_back; fi
}
# A part wires its own include: a host split in parts may have no pool of its own for a version.
wire_php_fpm_part() {
  append_once "$(fpm_conf)" "$FPM_PARTS_COMMENT" "$(fpm_parts_include)" || return
  stock_pool_off
}
unwire_php_fpm_part() {
  rm -f -- "$root"
  other_fpm_parts && return 0
  remove_lines "$(fpm_conf)" "$FPM_PARTS_COMMENT" "$(fpm_parts_include)" || return
  if [ ! -e "/etc/php/$ver/fpm/globenet" ]; then stock_pool_back; fi
}
precheck_php_fpm_part() { precheck_php_fpm; }

# php-fpm -t on the live main config with our includes pointing at the pools as they will be
# (the host's set and every part, live, with this set's staged generation in place of its live
# one), its pid and error log in the temp dir, and the host's own pools without the stock one
# (as wired). Run as root, so the pools' users must exist.
check_php_fpm() {
  local f pools=/etc/php/$ver/fpm/pool.d o l
  local -a sets=()
  mkdir -- "$tmp/host-pool.d" || return
  for f in "$pools"/*.conf; do
    # A takeover's hand-made pools are checked as moved aside, as they will be at the reload.
    if printf '%s\n' "${takeover_pools[@]}" | grep -qxF -- "$(basename -- "$f")"; then continue; fi
    if [ -f "$f" ] && [ "$f" != "$(fpm_stock_pool)" ]; then cp -- "$f" "$tmp/host-pool.d/" || return; fi
  done
  # Each set as LIVE-ROOT:FOLDER, the folder the check includes.
  if [ -z "$part" ]; then sets+=("$root:$stage"); fi
  while IFS= read -r o; do sets+=("$o:$(set_dir "$o")"); done < <(other_sets)
  if [ -n "$part" ]; then sets+=("$root:$stage"); fi
  local -a dup=("$pools:$tmp/host-pool.d")
  for l in "${sets[@]}"; do dup+=("${l%%:*}/pool.d:${l#*:}/pool.d"); done
  fpm_duplicates "${dup[@]}" || return
  {
    grep -vxF -e "$FPM_COMMENT" -e "$(fpm_include)" -e "$FPM_PARTS_COMMENT" -e "$(fpm_parts_include)" -- "$(fpm_conf)" |
      sed -e "s#^[[:space:]]*pid[[:space:]]*=.*#pid = $tmp/php-fpm.pid#" -e "s#^[[:space:]]*error_log[[:space:]]*=.*#error_log = $tmp/php-fpm.log#" \
        -e "s#^[[:space:]]*include[[:space:]]*=[[:space:]]*$pools/\*\.conf[[:space:]]*\$#include=$tmp/host-pool.d/*.conf#"
    for l in "${sets[@]}"; do printf '\ninclude=%s/pool.d/*.conf\n' "${l#*:}"; done
  } > "$tmp/php-fpm.conf" || return
  "php-fpm$ver" -t -y "$tmp/php-fpm.conf"
}
check_php_fpm_part() { check_php_fpm; }

# A pool defined twice is one pool to FPM (the second section's settings go into the first,
# silently): each pool is in one set only. Each argument is LIVE:FOLDER, a folder of pool files
# and the live path it is shown as.
fpm_duplicates() {
  local a found
  found=$(for a in "$@"; do
    find -L "${a#*:}" -maxdepth 1 -name '*.conf' -type f -exec grep -H -o '^[[:space:]]*\[[^]]*\]' {} + 2> /dev/null | sed "s#^${a#*:}/#${a%%:*}/#"
  done | LC_ALL=C sort | awk -F: '{ n = $NF; gsub(/[][[:space:]]/, "", n); if (n in seen) print "pool " n ": in " seen[n] " and in " $1; else seen[n] = $1 }')
  [ -z "$found" ] && return 0
  printf '%s\n' "$found"
  say "a pool may be in one set only (the host's, or one part's): apply first the set that drops it (its shard), then this one"
  return 1
}

fpm_pidfile() { echo "/run/php/php$ver-fpm.pid"; }
# After USR2 the master executes itself again and writes its pid file anew (unlinked first): the
# previous set of this PHP version may have sent one just before this set took the lock, so a
# missing pid file is looked at again for 2 s before php-fpm is called not running.
fpm_alive() {
  local _
  for _ in $(seq 1 20); do
    alive "$(fpm_pidfile)" php-fpm && return 0
    sleep 0.1
  done
  return 1
}
reload_php_fpm() {
  install -d -m 0755 /run/php
  if fpm_alive; then
    kill -USR2 "$(tr -dc 0-9 < "$(fpm_pidfile)")"
  else
    detached "php-fpm$ver" --daemonize --fpm-config "$(fpm_conf)" || { say "php-fpm$ver did not start: the new files are live"; return 4; }
  fi
}
reload_if_running_php_fpm() {
  if fpm_alive; then kill -USR2 "$(tr -dc 0-9 < "$(fpm_pidfile)")"; fi
}
reload_php_fpm_part() { reload_php_fpm; }
reload_if_running_php_fpm_part() { reload_if_running_php_fpm; }

# ─── bind ──────────────────────────────────────────────────────────────────────────────────────
# The set lives in /etc/bind, which only root writes. /var/lib/bind and /var/cache/bind are
# writable by the bind group (Debian's postinst makes them root:bind 0775): whoever runs as
# bind (a compromised named) can rename anything in them and put a link in its place, so root
# never acts on a path there. What has to be there (named's signing links, the directories
# named writes in) is made and removed by the bind user itself (as_bind), which gains nothing
# by following its own links.
BIND_INCLUDE='include "/etc/bind/globenet/named.conf.globenet";'
# Where the set lived before (a root-owned generation directory in a bind-writable folder).
BIND_LEGACY_INCLUDE='include "/var/lib/bind/globenet/named.conf.globenet";'
BIND_LEGACY=(/var/lib/bind/globenet /var/lib/bind/globenet.d /var/lib/bind/globenet.globenet-new)

precheck_bind() {
  { command -v named-checkconf > /dev/null && command -v named-checkzone > /dev/null && command -v rndc > /dev/null && [ -d /etc/bind ] && [ -d /var/lib/bind ]; } ||
    { say "BIND is not installed on this host (named-checkconf, named-checkzone, rndc, /etc/bind, /var/lib/bind): install bind9 bind9-utils"; exit 2; }
  id -u bind > /dev/null 2>&1 || { say "there is no bind user on this host: install bind9"; exit 2; }
  # The generations go in /etc/bind: it must be root's alone, or moving them there gains nothing.
  if [ -L /etc/bind ] || [ "$(stat -c %u -- /etc/bind)" != 0 ] || [ -n "$(find /etc/bind -maxdepth 0 -perm /022)" ]; then
    say "/etc/bind must be a directory only root can write ($(stat -c '%U:%G %A' -- /etc/bind)): chown root /etc/bind; chmod go-w /etc/bind"
    exit 2
  fi
}
# From /, which bind may enter (find, for one, fails when it cannot come back to root's home).
as_bind() { (cd / && setpriv --reuid=bind --regid=bind --clear-groups -- "$@"); }
SIGNING=/var/lib/bind/globenet-signing
KEYS=/var/lib/bind/globenet-keys
# lib/model/paths.ts transferKeyFile, transferKeyName (written by provider/scripts/dns/transfer-key.sh).
TRANSFER_KEY=/etc/bind/globenet-transfer.key
TRANSFER_KEY_NAME=globenet-transfer
# A directory named writes in: made by bind itself when missing where bind may write (root
# making it there could be made to chown a link bind put in its place); root only looks at it.
bind_dir() {
  local mode=$1 d=$2
  if [ -L "$d" ]; then say "refusing $d: it is a symbolic link (remove it; named's directories are real ones)"; return 1; fi
  if [ ! -e "$d" ]; then
    if as_bind test -w "$(dirname -- "$d")"; then as_bind mkdir -m "$mode" -- "$d" || return
    else install -d -o bind -g bind -m "$mode" -- "$d" || return; fi
  fi
  if [ ! -d "$d" ] || [ -L "$d" ] || [ "$(stat -c %U -- "$d")" != bind ]; then
    say "refusing $d: not a directory owned by bind ($(stat -c '%U:%G %F' -- "$d" 2> /dev/null)); move it away, the next apply makes it"
    return 1
  fi
}
wire_bind() {
  remove_lines /etc/bind/named.conf.local "$BIND_LEGACY_INCLUDE" || return
  append_once /etc/bind/named.conf.local "$BIND_INCLUDE" || return
  # Where a secondary's copies go (named writes them as bind).
  bind_dir 0755 /var/cache/bind/globenet || return
  # Inline signing writes "<file>.signed" and journals beside the file named.conf names: a link
  # per zone in a directory named owns, to the zone in the live generation. Keys: kept forever.
  bind_dir 0750 "$SIGNING" || return
  bind_dir 0750 "$KEYS" || return
  local f z
  for f in "$root"/zones/*.zone; do
    [ -e "$f" ] || continue
    z=$(basename -- "$f")
    if [ "$(readlink -- "$SIGNING/$z" 2> /dev/null)" != "$root/zones/$z" ]; then as_bind ln -sfn -- "$root/zones/$z" "$SIGNING/$z" || return; fi
  done
  # Zones no longer served: their link and named's signed copies and journals go, removed by
  # bind (rm never follows the last link of a path; bind gains nothing by its own links).
  for f in "$SIGNING"/*.zone; do
    [ -L "$f" ] || continue
    z=$(basename -- "$f")
    if [ ! -e "$root/zones/$z" ]; then as_bind rm -f -- "$f" "$f.signed" "$f.signed.jnl" "$f.jnl" "$f.jbk" || return; fi
  done
  remove_bind_legacy
}
# The old layout, once the include no longer names it. GNU rm removes a link given as argument
# (never its target) and descends with O_NOFOLLOW relative to each opened directory, so what
# bind put in its place is removed, not followed.
remove_bind_legacy() {
  local d
  for d in "${BIND_LEGACY[@]}"; do
    if [ -L "$d" ] || [ -e "$d" ]; then rm -rf --one-file-system -- "$d" || say "could not remove $d (left as it was)"; fi
  done
}
unwire_bind() {
  remove_lines /etc/bind/named.conf.local "$BIND_INCLUDE" "$BIND_LEGACY_INCLUDE"
  # Emptied by bind (its own files and links), then the empty folder removed by root: rmdir
  # removes nothing else, and fails on a link bind might have put in its place.
  if [ -L "$SIGNING" ]; then rm -f -- "$SIGNING"
  elif [ -d "$SIGNING" ]; then
    { as_bind find "$SIGNING" -mindepth 1 -delete && rmdir -- "$SIGNING"; } || { say "could not remove $SIGNING (see above)"; return 1; }
  fi
  remove_bind_legacy
}

# named-checkconf -z on a named.conf of ours including a copy of the staged
# named.conf.globenet whose /etc/bind/globenet/ paths point at the staged files, then
# named-checkzone on each staged zone (serials already in place).
check_bind() {
  [ -f "$stage/named.conf.globenet" ] || { say "named.conf.globenet is missing from the set"; return 1; }
  # The transfer key's file is the TransferKey resource's, checked when it is written: here a
  # stand-in of the same name, so the check never reads (nor can print) the secret.
  printf 'key "%s" { algorithm hmac-sha256; secret "%s"; };\n' "$TRANSFER_KEY_NAME" AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= > "$tmp/transfer.key" || return
  sed -e "s#$root/#$stage/#g" -e "s#$SIGNING/#$stage/zones/#g" -e "s#$KEYS#$tmp#g" -e "s#\"$TRANSFER_KEY\"#\"$tmp/transfer.key\"#g" -- "$stage/named.conf.globenet" > "$tmp/named.conf.globenet" || return
  {
    printf 'options { directory "%s"; };\n' "$tmp"
    if [ -f /etc/bind/named.conf.default-zones ]; then printf 'include "/etc/bind/named.conf.default-zones";\n'; fi
    printf 'include "%s/named.conf.globenet";\n' "$tmp"
  } > "$tmp/named.conf" || return
  named-checkconf -z "$tmp/named.conf" || return
  local f
  for f in "$stage"/zones/*.zone; do
    [ -e "$f" ] || continue
    named-checkzone -i local "$(basename -- "$f" .zone)" "$f" || return
  done
}

# rndc runs as bind: its key, /etc/bind/rndc.key, belongs to bind (Debian's postinst), and root
# parsing a file bind may rewrite would let bind show root's files through the parser's errors.
reload_bind() {
  local out
  if ! out=$(as_bind rndc status 2>&1); then
    say "named is not running (rndc status: $(printf '%s' "$out" | head -n 3 | tr '\n' ' ')): the new files are live; start named and they are loaded"
    return 4
  fi
  as_bind rndc reconfig >&2 || { say "rndc reconfig failed: the new files are live, named did not take them"; return 4; }
  as_bind rndc reload >&2 || { say "rndc reload failed: the new files are live, named did not take them"; return 4; }
}
reload_if_running_bind() {
  if as_bind rndc status > /dev/null 2>&1; then as_bind rndc reconfig >&2; fi
}

# ─── monitoring (the monitor host: Prometheus, its rules, the blackbox exporter, Alertmanager) ─
# The daemons read the set where it lives (/etc/prometheus/globenet/*.yml; rule files are named
# relative to prometheus.yml). Where systemd runs them, a drop-in per Debian unit points its
# ExecStart at the set (Debian's own /etc/prometheus files stay as they are); on a host without
# systemd (the lab) whoever starts them keeps each one's PID in /run/globenet-monitoring/<daemon>.pid,
# and a reload is the SIGHUP Debian's units send (ExecReload=/bin/kill -HUP $MAINPID).
MON_PIDS=/run/globenet-monitoring
MON_DAEMONS=(prometheus prometheus-alertmanager prometheus-blackbox-exporter)
# $ARGS stays for systemd to expand from Debian's /etc/default/<daemon>.
# shellcheck disable=SC2016
mon_exec() {
  case "$1" in
    prometheus) printf '/usr/bin/prometheus --config.file=%s/prometheus.yml $ARGS' "$root" ;;
    prometheus-alertmanager) printf '/usr/bin/prometheus-alertmanager --config.file=%s/alertmanager.yml $ARGS' "$root" ;;
    prometheus-blackbox-exporter) printf '/usr/bin/prometheus-blackbox-exporter --config.file=%s/blackbox.yml' "$root" ;;
  esac
}
mon_dropin() { echo "/etc/systemd/system/$1.service.d/globenet.conf"; }
mon_restart=no
precheck_monitoring() {
  local t
  for t in promtool amtool prometheus prometheus-alertmanager prometheus-blackbox-exporter; do
    command -v "$t" > /dev/null || { say "$t is not installed on this host: install prometheus prometheus-alertmanager prometheus-blackbox-exporter"; exit 2; }
  done
}
# Each daemon's own checker on the staged files; a rejection names the file (shown as the live path).
check_monitoring() {
  local f
  for f in prometheus.yml rules/globenet.yml blackbox.yml alertmanager.yml; do
    [ -f "$stage/$f" ] || { say "$root/$f is missing from the set"; return 1; }
  done
  promtool check config "$stage/prometheus.yml" || { say "promtool check config rejects $stage/prometheus.yml"; return 1; }
  promtool check rules "$stage/rules/globenet.yml" || { say "promtool check rules rejects $stage/rules/globenet.yml"; return 1; }
  amtool check-config "$stage/alertmanager.yml" || { say "amtool check-config rejects $stage/alertmanager.yml"; return 1; }
  prometheus-blackbox-exporter --config.check --config.file="$stage/blackbox.yml" || { say "prometheus-blackbox-exporter --config.check rejects $stage/blackbox.yml"; return 1; }
  check_monitoring_rrsig
}
# The RRSIG check of the signed zones (lib/render/monitoring-dnssec.ts): a script, its targets
# and a timer that runs it, installed where systemd runs (the lab runs the script itself).
check_monitoring_rrsig() {
  local f
  for f in dnssec/rrsig-expiry.sh dnssec/rrsig-targets dnssec/globenet-rrsig.service dnssec/globenet-rrsig.timer; do
    [ -f "$stage/$f" ] || { say "$root/$f is missing from the set"; return 1; }
  done
  bash -n "$stage/dnssec/rrsig-expiry.sh" || { say "bash -n rejects $stage/dnssec/rrsig-expiry.sh"; return 1; }
  { command -v dig && command -v delv; } > /dev/null || { say "dig or delv is not installed on this host: install bind9-dnsutils (the RRSIG check of the signed zones asks each name server and validates the answers)"; return 1; }
}
wire_monitoring_rrsig() { wire_set_timer dnssec "the RRSIG check" globenet-rrsig; }
unwire_monitoring_rrsig() { unwire_set_timer globenet-rrsig; }
wire_monitoring() {
  wire_monitoring_rrsig || return
  [ -d /run/systemd/system ] || return 0
  local d f text changed=no
  for d in "${MON_DAEMONS[@]}"; do
    f=$(mon_dropin "$d")
    text=$(printf '# Managed by globenet-infra (FileSet monitoring): the configuration in %s.\n[Service]\nExecStart=\nExecStart=%s' "$root" "$(mon_exec "$d")")
    if [ ! -f "$f" ] || [ "$(cat -- "$f")" != "$text" ]; then changed=yes; fi
    install -d -m 0755 -- "$(dirname -- "$f")" || return
    write_if_changed "$f" "$text" || return
  done
  if [ "$changed" = yes ]; then systemctl daemon-reload || return; mon_restart=yes; fi
}
unwire_monitoring() {
  unwire_monitoring_rrsig
  [ -d /run/systemd/system ] || return 0
  local d
  for d in "${MON_DAEMONS[@]}"; do rm -f -- "$(mon_dropin "$d")"; done
  systemctl daemon-reload || true
}
# SIGHUP to a daemon whose PID file names a live process of that name.
mon_hup() {
  local pidfile=$MON_PIDS/$1.pid
  alive "$pidfile" "$2" || return 1
  kill -HUP "$(tr -dc 0-9 < "$pidfile")"
}
mon_comm() {
  case "$1" in
    prometheus) echo prometheus ;;
    prometheus-alertmanager) echo prometheus-aler ;;
    prometheus-blackbox-exporter) echo prometheus-blac ;;
  esac
}
reload_monitoring() {
  local d failed=""
  for d in "${MON_DAEMONS[@]}"; do
    if [ -d /run/systemd/system ]; then
      systemctl enable --quiet "$d" 2> /dev/null || true
      if [ "$mon_restart" = yes ]; then systemctl restart "$d" || failed+=" $d"
      else systemctl reload-or-restart "$d" || failed+=" $d"; fi
    elif ! mon_hup "$d" "$(mon_comm "$d")"; then
      say "note: $d is not running (no live process in $MON_PIDS/$d.pid): it reads $root when it starts"
    fi
  done
  if [ -n "$failed" ]; then say "the reload of$failed failed: the new files are live, the daemons did not take them"; return 4; fi
}
reload_if_running_monitoring() {
  local d
  for d in "${MON_DAEMONS[@]}"; do
    if [ -d /run/systemd/system ]; then
      if systemctl is-active --quiet "$d"; then systemctl restart "$d" || true; fi
    else mon_hup "$d" "$(mon_comm "$d")" || true; fi
  done
}

# ─── mail (the mail host: Postfix, Dovecot, OpenDKIM; lib/render/mail.ts) ──────────────────────
# The set holds postfix/{main.cf,master.cf,maps/*}, dovecot/{dovecot.conf,globenet-users,
# globenet-suspended} and opendkim/*. The maps are compiled (postmap) in the staged generation,
# so the .db files go live with their text in the one swap. Only what differs from the live set is
# touched ($tmp/mail-changed, one relative path a line): a map whose text is unchanged keeps its
# compiled file (a hard link: same inode and mtime, no daemon sees a change); a changed map is
# compiled and its superseded .db removed after the swap, so Postfix's daemons, which hold it
# open and check its link count (dict_changed_name), take the new one on their next request
# without a reload; the users files are re-read by Dovecot's passwd-file when they change; a
# daemon is reloaded only when its own configuration changed. Debian's /etc/postfix/{main,master}.cf,
# /etc/dovecot/dovecot.conf, /etc/opendkim.conf and /etc/default/postsrsd become links into the set
# (the originals kept as <file>.pre-globenet). postsrsd's secret (SRS for forwards) is the host's:
# made here when missing, never part of the set.
MAIL_MAPS=(domains mailboxes aliases senders)
MAIL_LINKS=(/etc/postfix/main.cf:postfix/main.cf /etc/postfix/master.cf:postfix/master.cf /etc/dovecot/dovecot.conf:dovecot/dovecot.conf /etc/opendkim.conf:opendkim/opendkim.conf /etc/default/postsrsd:postsrsd/postsrsd.default)
# The mailboxes' owner, fixed so a restored maildir or a rebuilt host keeps its files' owner:
# lib/model/mail.ts VMAIL_UID (the same number; tests/unit-mail-server.test.ts compares them).
VMAIL_UID=5000
VMAIL_DIR=/var/vmail
ensure_vmail() {
  local u g
  u=$(getent passwd vmail | cut -d: -f3) || true
  g=$(getent group vmail | cut -d: -f3) || true
  if [ -z "$g" ]; then
    if getent group "$VMAIL_UID" > /dev/null; then say "gid $VMAIL_UID is $(getent group "$VMAIL_UID" | cut -d: -f1)'s on this host: the vmail group needs it (free it, then apply again)"; return 2; fi
    groupadd --system --gid "$VMAIL_UID" vmail
  elif [ "$g" != "$VMAIL_UID" ]; then say "the vmail group has gid $g here, not $VMAIL_UID: change it (groupmod -g $VMAIL_UID vmail) and the maildirs' group, then apply again"; return 2; fi
  if [ -z "$u" ]; then
    if getent passwd "$VMAIL_UID" > /dev/null; then say "uid $VMAIL_UID is $(getent passwd "$VMAIL_UID" | cut -d: -f1)'s on this host: the vmail user needs it (free it, then apply again)"; return 2; fi
    useradd --system --uid "$VMAIL_UID" --gid vmail --home-dir "$VMAIL_DIR" --no-create-home --shell /usr/sbin/nologin vmail
  elif [ "$u" != "$VMAIL_UID" ]; then say "the vmail user has uid $u here, not $VMAIL_UID: change it (usermod -u $VMAIL_UID vmail) and the maildirs' owner, then apply again"; return 2; fi
  if [ -L "$VMAIL_DIR" ]; then say "$VMAIL_DIR is a symbolic link: the maildirs' root must be a folder"; return 2; fi
  install -d -o vmail -g vmail -m 0700 -- "$VMAIL_DIR"
  chown vmail:vmail -- "$VMAIL_DIR"
  chmod 0700 -- "$VMAIL_DIR"
}
precheck_mail() {
  local t
  for t in postfix postmap postconf dovecot doveconf doveadm opendkim postsrsd; do
    command -v "$t" > /dev/null || { say "$t is not installed on this host: install postfix dovecot-imapd dovecot-lmtpd opendkim postsrsd"; exit 2; }
  done
  getent group dovecot > /dev/null || { say "no dovecot group on this host: install dovecot-core"; exit 2; }
}
check_mail() {
  local f m out
  for f in postfix/main.cf postfix/master.cf postfix/maps/srs-reverse.regexp postfix/maps/direct-senders.regexp dovecot/dovecot.conf dovecot/globenet-users dovecot/globenet-suspended opendkim/opendkim.conf postsrsd/postsrsd.default; do
    [ -f "$stage/$f" ] || { say "$root/$f is missing from the set"; return 1; }
  done
  # Checks run under `|| rc=$?` (set -e is off in them): every step says how it failed.
  mail_changes > "$tmp/mail-changed" || { say "could not compare the staged mail set with $root"; return 1; }
  : > "$tmp/mail-stale" || return
  for m in "${MAIL_MAPS[@]}"; do
    [ -f "$stage/postfix/maps/$m" ] || { say "$root/postfix/maps/$m is missing from the set"; return 1; }
    if [ -n "$gen" ] && [ -f "$root/postfix/maps/$m.db" ] && ! grep -qxF "postfix/maps/$m" "$tmp/mail-changed"; then
      ln -- "$root/postfix/maps/$m.db" "$stage/postfix/maps/$m.db" 2> /dev/null || cp -p -- "$root/postfix/maps/$m.db" "$stage/postfix/maps/$m.db" || { say "could not carry $root/postfix/maps/$m.db over to the new generation"; return 1; }
    else
      postmap -c "$stage/postfix" "hash:$stage/postfix/maps/$m" || { say "postmap rejects $stage/postfix/maps/$m"; return 1; }
      if [ -n "$gen" ] && [ -f "$root/postfix/maps/$m.db" ]; then readlink -f -- "$root/postfix/maps/$m.db" >> "$tmp/mail-stale"; fi
    fi
  done
  # postconf says what it cannot read as warnings and still exits 0: a warning is a rejection.
  out=$(postconf -c "$stage/postfix" -n 2>&1 > /dev/null) || { printf '%s\n' "$out"; say "postconf rejects $stage/postfix/main.cf"; return 1; }
  if [ -n "$out" ]; then printf '%s\n' "$out"; say "postconf warns about $stage/postfix/main.cf"; return 1; fi
  out=$(postconf -c "$stage/postfix" -M 2>&1 > /dev/null) || { printf '%s\n' "$out"; say "postconf rejects $stage/postfix/master.cf"; return 1; }
  if [ -n "$out" ]; then printf '%s\n' "$out"; say "postconf warns about $stage/postfix/master.cf"; return 1; fi
  doveconf -c "$stage/dovecot/dovecot.conf" -n > /dev/null || { say "doveconf rejects $stage/dovecot/dovecot.conf"; return 1; }
  # opendkim -n opens the tables the file names: check a copy that names the staged ones.
  sed "s#$root/#$stage/#g" "$stage/opendkim/opendkim.conf" > "$tmp/opendkim.conf" || return
  opendkim -n -x "$tmp/opendkim.conf" || { say "opendkim -n rejects $stage/opendkim/opendkim.conf"; return 1; }
  check_mail_srs || return
  check_mail_acme || return
  check_mail_exporter || return
  # The users' hashes: Dovecot's auth process (group dovecot) reads them, nobody else.
  chgrp dovecot -- "$stage/dovecot/globenet-users" "$stage/dovecot/globenet-suspended" || return
  chmod 0640 -- "$stage/dovecot/globenet-users" "$stage/dovecot/globenet-suspended" || return
}
# SRS for forwards (lib/render/mail.ts renderPostsrsdDefault, renderSrsReverse): Debian's launcher
# sources the default file, so it holds KEY=word lines only; Postfix must read the regexp table.
check_mail_srs() {
  local out f
  if grep -vE '^(#.*|[A-Z_]+=[A-Za-z0-9._/=:-]*|)$' "$stage/postsrsd/postsrsd.default" > /dev/null; then
    say "$root/postsrsd/postsrsd.default holds a line that is not KEY=word: $(grep -vE '^(#.*|[A-Z_]+=[A-Za-z0-9._/=:-]*|)$' "$stage/postsrsd/postsrsd.default" | head -n1)"; return 1
  fi
  for f in srs-reverse direct-senders; do
    out=$(postmap -c "$stage/postfix" -q globenet-check "regexp:$stage/postfix/maps/$f.regexp" 2>&1) || true
    case "$out" in "" | globenet-srs:*) ;; *) printf '%s\n' "$out"; say "postmap rejects $stage/postfix/maps/$f.regexp"; return 1 ;; esac
  done
}
# postsrsd's secret (the SRS_SECRET of the default file): made on the host the first time (Debian's
# package makes one at install; an adopted host keeps its own, so its rewritten addresses stay
# valid), root's only, never printed.
ensure_srs_secret() {
  local s
  s=$(sed -n 's/^SRS_SECRET=//p' "$root/postsrsd/postsrsd.default" | head -n1)
  case "$s" in /*) ;; *) say "postsrsd.default names no absolute SRS_SECRET"; return 1 ;; esac
  if [ -L "$s" ]; then say "$s (postsrsd's secret) is a symbolic link: refused"; return 1; fi
  if [ ! -s "$s" ]; then
    (umask 077 && head -c 32 /dev/urandom | base64 -w0 > "$s.globenet-new" && mv -f -- "$s.globenet-new" "$s") || { say "could not make postsrsd's secret $s"; return 1; }
    say "made postsrsd's secret $s (SRS for forwards; it never leaves this host)"
  fi
  chown root:root -- "$s" && chmod 0600 -- "$s"
}

# The certificate from ACME (lib/render/mail.ts renderMailAcme), when the inventory has acme: lego's
# script, its settings, and a service and timer installed where systemd runs (the lab runs the
# script itself after the apply). Without acme/ the certificate is the host's own, placed by hand.
check_mail_acme() {
  local f
  [ -d "$stage/acme" ] || return 0
  for f in acme/mail-cert.conf acme/mail-cert.sh acme/globenet-mail-cert.service acme/globenet-mail-cert.timer; do
    [ -f "$stage/$f" ] || { say "$root/$f is missing from the set"; return 1; }
  done
  bash -n "$stage/acme/mail-cert.sh" || { say "bash -n rejects $stage/acme/mail-cert.sh"; return 1; }
  command -v lego > /dev/null || { say "lego is not installed on this host: install Debian's lego (the mail host's certificate from ACME)"; return 1; }
}
# The certificate Postfix and Dovecot read, as the ACME settings name it.
mail_acme_cert() { sed -n 's/^cert=//p' "$root/acme/mail-cert.conf" | head -n1; }
wire_mail_acme() {
  local cert
  if [ ! -d "$root/acme" ]; then unwire_mail_acme; return 0; fi
  if [ ! -d /run/systemd/system ]; then
    say "note: systemd does not run on this host: the certificate's timer is not installed (run bash $root/acme/mail-cert.sh $root/acme/mail-cert.conf as globenet-mail-cert.service does)"
    return 0
  fi
  wire_set_timer acme "the mail certificate" globenet-mail-cert || return
  # No certificate yet (a new mail host): get it now, before Postfix and Dovecot are reloaded.
  cert=$(mail_acme_cert)
  if [ -n "$cert" ] && [ ! -s "$cert" ]; then
    say "no certificate at $cert yet: asking the ACME CA now (globenet-mail-cert.service)"
    systemctl start globenet-mail-cert.service || { say "globenet-mail-cert.service failed: Postfix and Dovecot have no certificate (journalctl -u globenet-mail-cert.service says why)"; return 1; }
  fi
}
unwire_mail_acme() {
  [ -e /etc/systemd/system/globenet-mail-cert.timer ] || return 0
  unwire_set_timer globenet-mail-cert
  systemctl daemon-reload || true
}
# Debian's Postfix exporter (lib/render/mail-exporter.ts), when the inventory has a monitor host:
# exporter/ holds the ARGS of /etc/default/prometheus-postfix-exporter (its unit's
# EnvironmentFile), the nftables table that keeps port 9154 to the monitor host, and a drop-in
# of Debian's unit that loads the table before each start. The table is loaded by every apply;
# where systemd runs, the ARGS file and the drop-in are copied (Debian's file kept as
# <file>.pre-globenet) and the exporter restarted only when one of them changed: a first apply
# (Debian's package started it with ARGS="", on every address) or new flags. Otherwise it is
# never started: one a volunteer stopped stays stopped, and MailQueueNotWatched says so.
# Where systemd does not run (the lab), whoever runs the host starts it with the same ARGS.
PFX_ARGS=exporter/prometheus-postfix-exporter PFX_NFT=exporter/postfix-exporter.nft PFX_CONF=exporter/globenet.conf
PFX_TABLE=globenet_postfix_exporter PFX_NFT_LOADED=.nft-loaded-postfix-exporter
PFX_DEFAULT=/etc/default/prometheus-postfix-exporter
PFX_DROPIN=/etc/systemd/system/prometheus-postfix-exporter.service.d/globenet.conf
pfx_restart=no
check_mail_exporter() {
  local f line
  local -a flags
  [ -d "$stage/exporter" ] || return 0
  for f in "$PFX_ARGS" "$PFX_NFT" "$PFX_CONF"; do
    [ -f "$stage/$f" ] || { say "$root/$f is missing from the set"; return 1; }
  done
  command -v prometheus-postfix-exporter > /dev/null || { say "prometheus-postfix-exporter is not installed on this host: install Debian's prometheus-postfix-exporter (the monitor host scrapes the mail queue from it on port 9154)"; return 1; }
  command -v nft > /dev/null || { say "nft is not installed on this host: install Debian's nftables (the Postfix exporter's port is open to the monitor host only)"; return 1; }
  # One ARGS="…" line of words, as systemd splits $ARGS; the exporter itself parses them (--help exits 0 once they parse).
  line=$(grep -v -e '^#' -e '^[[:space:]]*$' -- "$stage/$PFX_ARGS") || true
  case "$line" in
    ARGS=\"*\") line=${line#ARGS=\"} line=${line%\"} ;;
    *) line=$'\n' ;;
  esac
  case "$line" in
    *[!A-Za-z0-9._:/=\ [\]-]*) say "$root/$PFX_ARGS is not one ARGS=\"…\" line of flags (letters, digits and . _ : / = [ ] - only)"; return 1 ;;
  esac
  read -r -a flags <<< "$line"
  prometheus-postfix-exporter "${flags[@]}" --help > /dev/null 2>&1 || { say "prometheus-postfix-exporter refuses the flags of $root/$PFX_ARGS: $line"; return 1; }
  nft -c -f "$stage/$PFX_NFT" || { say "nft -c rejects $root/$PFX_NFT"; return 1; }
}
wire_mail_exporter() {
  local f changed=no
  if [ ! -d "$root/exporter" ]; then unwire_mail_exporter; return 0; fi
  nft_load "$PFX_NFT" "$PFX_TABLE" "$PFX_NFT_LOADED" || return
  if [ ! -d /run/systemd/system ]; then
    say "note: systemd does not run on this host: $PFX_DEFAULT is not written and the Postfix exporter not started (start it with the ARGS of $root/$PFX_ARGS)"
    return 0
  fi
  if [ -f "$PFX_DEFAULT" ] && [ ! -L "$PFX_DEFAULT" ] && [ ! -e "$PFX_DEFAULT.pre-globenet" ]; then cp -p -- "$PFX_DEFAULT" "$PFX_DEFAULT.pre-globenet" || return; fi
  if ! cmp -s -- "$root/$PFX_ARGS" "$PFX_DEFAULT"; then
    write_if_changed "$PFX_DEFAULT" "$(cat -- "$root/$PFX_ARGS")" || return
    changed=yes
  fi
  f=$PFX_DROPIN
  if ! cmp -s -- "$root/$PFX_CONF" "$f"; then
    install -d -m 0755 -- "$(dirname -- "$f")" || return
    write_if_changed "$f" "$(cat -- "$root/$PFX_CONF")" || return
    systemctl daemon-reload || return
    changed=yes
  fi
  pfx_restart=$changed
}
unwire_mail_exporter() {
  nft delete table inet "$PFX_TABLE" 2> /dev/null || true
  rm -f -- "$gens/$PFX_NFT_LOADED"
  [ -d /run/systemd/system ] || return 0
  [ -e "$PFX_DROPIN" ] || [ -e "$PFX_DEFAULT.pre-globenet" ] || return 0
  rm -f -- "$PFX_DROPIN"
  if [ -e "$PFX_DEFAULT.pre-globenet" ]; then mv -f -- "$PFX_DEFAULT.pre-globenet" "$PFX_DEFAULT"; fi
  systemctl daemon-reload || true
  systemctl try-restart prometheus-postfix-exporter || true
}
reload_mail_exporter() {
  [ "$pfx_restart" = yes ] || return 0
  systemctl enable --quiet prometheus-postfix-exporter 2> /dev/null || true
  systemctl restart prometheus-postfix-exporter || { say "the restart of prometheus-postfix-exporter failed: the new $PFX_DEFAULT is live (journalctl -u prometheus-postfix-exporter says why)"; return 4; }
  say "restarted: prometheus-postfix-exporter (its ARGS or drop-in changed)"
}

# The set's files that differ from the live set's (all of them when nothing is live, or on `check`).
mail_changes() {
  local f
  (cd -- "$stage" && find . -type f ! -name '*.db' -print) | sed 's#^\./##' | sort | while IFS= read -r f; do
    if [ -z "$gen" ] || [ ! -L "$root" ] || ! cmp -s -- "$stage/$f" "$root/$f"; then printf '%s\n' "$f"; fi
  done
}
wire_mail() {
  local l live rel
  # OpenDKIM's socket folder in Postfix's queue (lib/render/mail.ts opendkimRun): Postfix's smtpd reaches it as group postfix.
  install -d -o opendkim -g postfix -m 0750 /var/spool/postfix/opendkim
  for l in "${MAIL_LINKS[@]}"; do
    live=${l%%:*} rel=${l#*:}
    install -d -m 0755 -- "$(dirname -- "$live")"
    if [ -e "$live" ] && [ ! -L "$live" ] && [ ! -e "$live.pre-globenet" ]; then mv -- "$live" "$live.pre-globenet"; fi
    if [ "$(readlink -- "$live" 2>/dev/null)" != "$root/$rel" ]; then
      ln -sfn -- "$root/$rel" "$live.globenet-new" && mv -Tf -- "$live.globenet-new" "$live" || return
      # A daemon newly pointed at the set reads it again.
      printf '%s\n' "$rel" >> "$tmp/mail-changed"
    fi
  done
  ensure_srs_secret || return
  wire_mail_acme || return
  wire_mail_exporter
}
# Did this apply change one of these files of the set (or is the list of changes unknown)?
mail_touched() {
  [ -f "$tmp/mail-changed" ] || return 0
  local p args=()
  for p in "$@"; do args+=(-e "$p"); done
  grep -q "${args[@]}" "$tmp/mail-changed"
}
unwire_mail() {
  local l live
  unwire_mail_acme
  unwire_mail_exporter
  for l in "${MAIL_LINKS[@]}"; do
    live=${l%%:*}
    if [ -L "$live" ]; then rm -f -- "$live"; fi
    if [ -e "$live.pre-globenet" ] && [ ! -e "$live" ]; then mv -- "$live.pre-globenet" "$live"; fi
  done
}
# OpenDKIM's pid file, from the live opendkim.conf.
mail_opendkim_pid() { sed -n 's/^PidFile[[:space:]]\{1,\}//p' "$root/opendkim/opendkim.conf" 2>/dev/null | head -n1; }
reload_mail() {
  local rc=0
  reload_mail_daemons || rc=$?
  reload_mail_exporter || rc=4
  return $rc
}
reload_mail_daemons() {
  local d failed="" pidfile f reloaded=()
  # The changed maps' superseded compiled files: their daemons see them unlinked and reopen the new ones.
  if [ -s "$tmp/mail-stale" ]; then
    while IFS= read -r f; do case "$f" in "$gens"/*.db) rm -f -- "$f" ;; esac; done < "$tmp/mail-stale"
    say "maps recompiled: $(grep -x 'postfix/maps/[a-z-]*' "$tmp/mail-changed" | sed 's#postfix/maps/##' | tr '\n' ' ')(Postfix's daemons take them on their next request)"
  fi
  # A regexp table is read when a daemon starts: a changed one needs the reload (they change with the public name or the list of domains, not with a mailbox).
  mail_touched '^postfix/main\.cf$' '^postfix/master\.cf$' '^postfix/maps/[a-z-]*\.regexp$' && reloaded+=(postfix)
  mail_touched '^dovecot/dovecot\.conf$' && reloaded+=(dovecot)
  mail_touched '^opendkim/' && reloaded+=(opendkim)
  mail_touched '^postsrsd/' && reloaded+=(postsrsd)
  if [ "${#reloaded[@]}" -eq 0 ]; then say "no daemon reloaded: their configuration is unchanged"; return 0; fi
  if [ -d /run/systemd/system ]; then
    for d in "${reloaded[@]}"; do
      systemctl enable --quiet "$d" 2> /dev/null || true
      # postsrsd has no reload: it reads its settings (and secret) when it starts.
      if [ "$d" = postsrsd ]; then systemctl restart postsrsd || failed+=" postsrsd"; else systemctl reload-or-restart "$d" || failed+=" $d"; fi
    done
  else
    for d in "${reloaded[@]}"; do
      case "$d" in
        postfix) if postfix status > /dev/null 2>&1; then postfix reload >&2 || failed+=" postfix"; else say "note: postfix is not running: it reads the set when it starts"; fi ;;
        dovecot) if doveadm reload > /dev/null 2>&1; then :; else say "note: dovecot is not running: it reads the set when it starts"; fi ;;
        opendkim)
          pidfile=$(mail_opendkim_pid)
          if [ -n "$pidfile" ] && alive "$pidfile" opendkim; then kill -USR1 "$(tr -dc 0-9 < "$pidfile")" || failed+=" opendkim"
          else say "note: opendkim is not running: it reads the set when it starts"; fi ;;
        postsrsd) say "note: postsrsd reads its settings when it starts: restart it where it runs (without systemd, whoever started it)" ;;
      esac
    done
  fi
  say "reloaded: ${reloaded[*]}"
  if [ -n "$failed" ]; then say "the reload of$failed failed: the new files are live, the daemons did not take them"; return 4; fi
}
reload_if_running_mail() {
  if [ -d /run/systemd/system ]; then
    local d
    for d in postfix dovecot opendkim; do if systemctl is-active --quiet "$d"; then systemctl restart "$d" || true; fi; done
  else
    if postfix status > /dev/null 2>&1; then postfix reload >&2 || true; fi
    doveadm reload > /dev/null 2>&1 || true
  fi
}

# ─── node-exporter (every host, when the inventory has a monitor host) ─────────────────────────
# One file, the drop-in of Debian's prometheus-node-exporter unit (lib/render/monitoring-units.ts):
# the host's own address, and the textfile directory the backup runs write their metrics to.
# Where systemd runs, it is copied to the unit's drop-in folder, and the exporter enabled and
# (re)started; elsewhere (the lab) whoever starts the exporter gives it its flags.
NODE_CONF=prometheus-node-exporter.conf
# The nftables table that opens port 9100 to the monitor host only (renderNodeExporterNft).
NODE_NFT=node-exporter.nft NODE_TABLE=globenet_node_exporter
NODE_DROPIN=/etc/systemd/system/prometheus-node-exporter.service.d/globenet.conf
node_restart=no
# What the table looked like when the apply loaded it (beside the generations: not a file of the set).
NODE_NFT_LOADED=.nft-loaded
precheck_node_exporter() {
  command -v prometheus-node-exporter > /dev/null || { say "prometheus-node-exporter is not installed on this host: install Debian's prometheus-node-exporter (the monitor host scrapes it; its textfile directory holds the backup runs' metrics)"; exit 2; }
  command -v nft > /dev/null || { say "nft is not installed on this host: install Debian's nftables (the node exporter's port is open to the monitor host only)"; exit 2; }
}
# The ExecStart line's flags, parsed by the exporter itself (--version exits once they parse).
check_node_exporter() {
  local line
  local -a flags
  [ -f "$stage/$NODE_CONF" ] || { say "$root/$NODE_CONF is missing from the set"; return 1; }
  # shellcheck disable=SC2016 # a literal $ARGS, for systemd to expand
  line=$(sed -n 's#^ExecStart=/usr/bin/prometheus-node-exporter \(.*\) \$ARGS$#\1#p' "$stage/$NODE_CONF")
  [ -n "$line" ] || { say "$root/$NODE_CONF has no line ExecStart=/usr/bin/prometheus-node-exporter <flags> \$ARGS"; return 1; }
  read -r -a flags <<< "$line"
  prometheus-node-exporter "${flags[@]}" --version > /dev/null 2>&1 || { say "prometheus-node-exporter refuses the flags of $root/$NODE_CONF: $line"; return 1; }
  [ -f "$stage/$NODE_NFT" ] || { say "$root/$NODE_NFT is missing from the set"; return 1; }
  nft -c -f "$stage/$NODE_NFT" || { say "nft -c rejects $root/$NODE_NFT"; return 1; }
  check_node_daemons
}
# The daemons' process check (lib/render/monitoring-daemons.ts): a script, the daemons the host's
# roles expect, and a timer that runs it every minute, installed where systemd runs.
check_node_daemons() {
  local f
  for f in daemons/daemons.sh daemons/expected daemons/globenet-daemons.service daemons/globenet-daemons.timer; do
    [ -f "$stage/$f" ] || { say "$root/$f is missing from the set"; return 1; }
  done
  bash -n "$stage/daemons/daemons.sh" || { say "bash -n rejects $root/daemons/daemons.sh"; return 1; }
  command -v ps > /dev/null || { say "ps is not installed on this host: install procps (the daemons' check lists the processes)"; return 1; }
}
wire_node_daemons() { wire_set_timer daemons "the daemons' check" globenet-daemons; }
unwire_node_daemons() {
  rm -f -- /var/lib/prometheus/node-exporter/globenet-daemons.prom
  unwire_set_timer globenet-daemons
}
wire_node_exporter() {
  # The port's table, loaded now (one transaction: the old table goes, the new one comes); where
  # systemd runs, the drop-in loads it again before each start of the exporter (after a reboot).
  nft_load "$NODE_NFT" "$NODE_TABLE" "$NODE_NFT_LOADED" || return
  wire_node_daemons || return
  if [ ! -d /run/systemd/system ]; then
    say "note: systemd does not run on this host: the apply does not start the node exporter (start it with the flags of $root/$NODE_CONF)"
    return 0
  fi
  if [ ! -f "$NODE_DROPIN" ] || ! cmp -s -- "$root/$NODE_CONF" "$NODE_DROPIN"; then
    install -d -m 0755 -- "$(dirname -- "$NODE_DROPIN")" || return
    write_if_changed "$NODE_DROPIN" "$(cat -- "$root/$NODE_CONF")" || return
    systemctl daemon-reload || return
    node_restart=yes
  fi
}
unwire_node_exporter() {
  nft delete table inet "$NODE_TABLE" 2> /dev/null || true
  unwire_node_daemons
  [ -d /run/systemd/system ] || return 0
  rm -f -- "$NODE_DROPIN"
  systemctl daemon-reload || true
}
reload_node_exporter() {
  [ -d /run/systemd/system ] || return 0
  systemctl enable --quiet prometheus-node-exporter 2> /dev/null || true
  # Its flags change only with a restart (a SIGHUP rereads the web configuration alone).
  if [ "$node_restart" = yes ]; then systemctl restart prometheus-node-exporter || { say "the restart of prometheus-node-exporter failed: the new drop-in is live"; return 4; }
  else systemctl start prometheus-node-exporter || { say "prometheus-node-exporter does not start"; return 4; }; fi
}
reload_if_running_node_exporter() {
  if [ -d /run/systemd/system ] && systemctl is-active --quiet prometheus-node-exporter; then systemctl restart prometheus-node-exporter || true; fi
}

# ─── www (the suspended-site notice: served as is, nothing to check or reload) ─────────────────
precheck_www() { :; }
wire_www() { :; }
unwire_www() { :; }
check_www() { :; }
reload_www() { :; }
reload_if_running_www() { :; }

# ─── actions ───────────────────────────────────────────────────────────────────────────────────
lock() {
  install -d -m 0755 -- "$gens"
  exec 9> "$lockfile"
  flock -w 300 9 || { say "another apply of $root is still running ($lockfile)"; exit 5; }
}

# The tar on stdin into $stage, files 0644 and folders 0755 whoever made them.
unpack_stage() {
  # -m: fresh mtimes (named reloads a zone only when its file is newer than the loaded one).
  tar -x -m --no-same-owner --no-same-permissions -C "$stage" -f -
  chmod 0755 "$stage"
  find "$stage" -mindepth 1 -type d -exec chmod 0755 {} +
  find "$stage" -type f -exec chmod 0644 {} +
}

# ─── takeover (adoption) ───────────────────────────────────────────────────────────────────────
takeover_sites=() takeover_confs=() takeover_keys=() takeover_pools=() takeover_copies=() takeover_certs=() takeover_md_store="" takeover_backup=""
parse_takeover() {
  shift 8
  local a v
  for a in "$@"; do
    v=${a#*=}
    case "$a" in
      disable-site=*)
        [ "$k" = apache2 ] || { say "disable-site is for apache2 sets"; exit 2; }
        case "$v" in ''|.*|*[!A-Za-z0-9._-]*) say "not a sites-enabled entry: $v"; exit 2 ;; esac
        takeover_sites+=("$v") ;;
      conf=*)
        [ "$k" = bind ] || { say "conf is for bind sets"; exit 2; }
        case "$v" in /etc/bind/named.conf|/etc/bind/named.conf.*) ;; *) say "not a named.conf file of /etc/bind: $v"; exit 2 ;; esac
        case "${v#/etc/bind/}" in *[!A-Za-z0-9._-]*|*..*) say "not a named.conf file of /etc/bind: $v"; exit 2 ;; esac
        takeover_confs+=("$v") ;;
      disable-pool=*)
        [ "$k" = php_fpm ] || { say "disable-pool is for php-fpm sets"; exit 2; }
        case "$v" in ''|.*|*[!A-Za-z0-9._-]*) say "not a pool.d file name: $v"; exit 2 ;; esac
        case "$v" in *.conf) ;; *) say "not a pool.d file name: $v"; exit 2 ;; esac
        takeover_pools+=("$v") ;;
      keys=*)
        [ "$kind" = bind-primary ] || { say "keys is for bind-primary sets"; exit 2; }
        case "$v" in *:/*) ;; *) say "keys wants ZONE:DIR, not $v"; exit 2 ;; esac
        case "${v%%:*}" in ''|.*|*[!a-z0-9._-]*) say "not a zone name: ${v%%:*}"; exit 2 ;; esac
        case "${v#*:}" in *[!A-Za-z0-9/._-]*|*/../*|*/..) say "not a key directory: ${v#*:}"; exit 2 ;; esac
        takeover_keys+=("$v") ;;
      copy=*)
        [ "$kind" = bind-secondary ] || { say "copy is for bind-secondary sets"; exit 2; }
        case "${v%%:*}" in ''|.*|*[!a-z0-9._-]*) say "not a zone name: ${v%%:*}"; exit 2 ;; esac
        v=${v#*:}
        case "${v%%:*}" in text|raw) ;; *) say "not a zone file format: ${v%%:*}"; exit 2 ;; esac
        case "${v#*:}" in /*) ;; *) say "not an absolute zone file path: ${v#*:}"; exit 2 ;; esac
        case "${v#*:}" in *[!A-Za-z0-9/._+-]*|*/../*|*/..) say "not a zone file path: ${v#*:}"; exit 2 ;; esac
        takeover_copies+=("${a#copy=}") ;;
      md-store=*)
        [ "$k" = apache2 ] || { say "md-store is for apache2 sets"; exit 2; }
        case "$v" in /*) ;; *) say "not an absolute store path: $v"; exit 2 ;; esac
        case "$v" in *[!A-Za-z0-9/._+-]*|*/../*|*/..) say "not a store path: $v"; exit 2 ;; esac
        takeover_md_store=$v ;;
      md-cert=*)
        [ "$k" = apache2 ] || { say "md-cert is for apache2 sets"; exit 2; }
        case "${v%%:*}" in ''|.*|*[!a-z0-9._-]*) say "not a managed domain name: ${v%%:*}"; exit 2 ;; esac
        local f p rest=${v#*:}
        IFS=: read -r -a f <<< "$rest"
        { [ "${#f[@]}" -ge 2 ] && [ "${#f[@]}" -le 3 ]; } || { say "md-cert wants NAME:CERT:KEY[:CHAIN], not $v"; exit 2; }
        for p in "${f[@]}"; do
          case "$p" in /*) ;; *) say "not an absolute certificate path: $p"; exit 2 ;; esac
          case "$p" in *[!A-Za-z0-9/._+-]*|*/../*|*/..) say "not a certificate path: $p"; exit 2 ;; esac
        done
        takeover_certs+=("$v") ;;
      *) say "unknown takeover step: $a"; exit 2 ;;
    esac
  done
  if [ "${#takeover_certs[@]}" -gt 0 ] && [ -z "$takeover_md_store" ]; then say "md-cert needs md-store"; exit 2; fi
}
takeover_asked() { [ "${#takeover_sites[@]}" -gt 0 ] || [ "${#takeover_certs[@]}" -gt 0 ] || [ "${#takeover_confs[@]}" -gt 0 ] || [ "${#takeover_keys[@]}" -gt 0 ] || [ "${#takeover_pools[@]}" -gt 0 ] || [ "${#takeover_copies[@]}" -gt 0 ]; }

# The edited named.conf files come in the tar under .takeover/: out of the stage before the check.
take_takeover_files() {
  if [ -d "$stage/.takeover" ]; then mv -T -- "$stage/.takeover" "$tmp/takeover"; fi
  local c
  for c in "${takeover_confs[@]}"; do
    [ -f "$tmp/takeover/$(basename -- "$c")" ] || { say "the new content of $c is missing from the set"; exit 2; }
    if [ ! -f "$c" ] || [ -L "$c" ]; then say "$c is not a regular file on this host"; exit 2; fi
  done
}

# The whole BIND configuration as it will be, checked by named-checkconf -z as bind (root never
# parses the zone files bind may rewrite): copies of /etc/bind/named.conf* with the edited ones,
# Globenet's include pointing at the staged set (check_bind made its copy), includes of
# /etc/bind/named.conf* pointing at the copies.
check_bind_whole() {
  local full=$tmp/whole f
  mkdir -- "$full" || return
  for f in /etc/bind/named.conf /etc/bind/named.conf.*; do
    if [ -f "$f" ] && [ ! -L "$f" ]; then cp -- "$f" "$full/" || return; fi
  done
  for f in "$tmp"/takeover/*; do
    if [ -f "$f" ]; then cp -- "$f" "$full/" || return; fi
  done
  append_once "$full/named.conf.local" "$BIND_INCLUDE" || return
  sed -i -e "s#\"$root/named.conf.globenet\"#\"$tmp/named.conf.globenet\"#g" -e 's#"/etc/bind/\(named\.conf[A-Za-z0-9._-]*\)"#"'"$full"'/\1"#g' -- "$full"/* || return
  chmod 0755 -- "$tmp" "$full" && chmod 0644 -- "$full"/* "$tmp/named.conf.globenet" "$tmp/transfer.key" || return
  as_bind named-checkconf -z "$full/named.conf"
}

# Between the swap and the reload: the hand-made definitions disabled, each original kept in a
# backup folder beside the set (named on stdout: "takeover-backup DIR").
takeover_disable() {
  takeover_asked || return 0
  takeover_backup=$(dirname -- "$root")/globenet-takeover.$(date +%Y%m%d%H%M%S)
  install -d -m 0750 -- "$takeover_backup" || return
  local e c
  for e in "${takeover_sites[@]}"; do
    if [ -L "/etc/apache2/sites-enabled/$e" ] || [ -e "/etc/apache2/sites-enabled/$e" ]; then
      install -d -m 0750 -- "$takeover_backup/sites-enabled" || return
      mv -- "/etc/apache2/sites-enabled/$e" "$takeover_backup/sites-enabled/$e" || return
      say "takeover: disabled the hand-made site /etc/apache2/sites-enabled/$e (kept in $takeover_backup/sites-enabled)"
    fi
  done
  for e in "${takeover_pools[@]}"; do
    if [ -f "/etc/php/$ver/fpm/pool.d/$e" ]; then
      install -d -m 0750 -- "$takeover_backup/pool.d" || return
      mv -- "/etc/php/$ver/fpm/pool.d/$e" "$takeover_backup/pool.d/$e" || return
      say "takeover: moved the hand-made pool file /etc/php/$ver/fpm/pool.d/$e aside (kept in $takeover_backup/pool.d)"
    fi
  done
  for c in "${takeover_confs[@]}"; do
    cp -p -- "$c" "$takeover_backup/" || return
    # cat into the file: its owner and mode stay (the new content comes from the temp dir)
    # shellcheck disable=SC2094
    cat -- "$tmp/takeover/$(basename -- "$c")" > "$c" || return
    say "takeover: commented out the hand-made zone statements of $c (the original kept in $takeover_backup)"
  done
  printf 'takeover-backup %s\n' "$takeover_backup"
}

# Each taken-over HTTPS site's hand-made certificate and key become its managed domain's in
# mod_md's store (domains/NAME/pubcert.pem and privkey.pem: what mod_md serves and what each
# site's <IfFile> checks), so from the reload on Globenet's vhost answers HTTPS with the
# certificate the site had and HTTP with the redirect, until mod_md renews it (at once for a
# certificate that does not cover every name of the domain or comes from another CA; the one in
# the store stays until a new one is issued). Never over what mod_md has already. Staged before
# the swap, once the configuration is checked: a key that does not match its certificate, or
# that a passphrase protects (Apache could not load it), stops the apply with nothing changed.
# The key is read and written by openssl from and to files, root's only: never in an argument
# nor in the output.
takeover_stage_certs() {
  local c name rest f cert key chain out
  for c in "${takeover_certs[@]}"; do
    name=${c%%:*} rest=${c#*:}
    IFS=: read -r -a f <<< "$rest"
    cert=${f[0]} key=${f[1]} chain=${f[2]:-}
    if [ -e "$takeover_md_store/domains/$name/pubcert.pem" ] || [ -e "$takeover_md_store/domains/$name/privkey.pem" ]; then say "takeover: mod_md already has a certificate for $name: kept"; continue; fi
    for f in "$cert" "$key" ${chain:+"$chain"}; do
      if [ ! -f "$f" ]; then say "takeover: $f, the hand-made certificate file of $name, is not a file on this host: nothing was changed"; return 1; fi
    done
    if ! openssl x509 -noout -in "$cert" > /dev/null 2>&1 || ! openssl pkey -passin pass: -noout -in "$key" > /dev/null 2>&1 ||
      [ "$(openssl x509 -noout -pubkey -in "$cert" 2> /dev/null | sha256sum)" != "$(openssl pkey -passin pass: -pubout -in "$key" 2> /dev/null | sha256sum)" ]; then
      say "takeover: the hand-made certificate of $name ($cert) and its key ($key) do not make a pair Apache can load (not a certificate, a key protected by a passphrase, or not its key): nothing was changed; fix them by hand (openssl pkey -in KEY -out KEY to remove a passphrase), then adopt again"
      return 1
    fi
    out=$tmp/md/$name
    (
      umask 077
      mkdir -p -- "$out" &&
        openssl pkey -passin pass: -in "$key" -out "$out/privkey.pem" 2> /dev/null &&
        sed -n '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/p' -- "$cert" ${chain:+"$chain"} > "$out/pubcert.pem"
    ) || { say "takeover: could not read the hand-made certificate of $name: nothing was changed"; return 1; }
  done
}
# Between the swap and the reload: the staged certificates moved into mod_md's store (made when
# missing, root's only as mod_md makes it; never through a link).
takeover_seed_certs() {
  local s name dir f
  for s in "$tmp"/md/*/; do
    [ -d "$s" ] || continue
    name=$(basename -- "$s") dir=$takeover_md_store/domains/$name
    for f in "$takeover_md_store" "$takeover_md_store/domains" "$dir"; do
      if [ -L "$f" ] || { [ -e "$f" ] && [ ! -d "$f" ]; }; then say "takeover: refusing $f (not a directory): HTTPS for $name waits for mod_md's certificate"; continue 2; fi
    done
    (
      umask 077
      mkdir -p -- "$dir" &&
        cp -- "$s/privkey.pem" "$dir/privkey.pem.globenet-new" && cp -- "$s/pubcert.pem" "$dir/pubcert.pem.globenet-new" &&
        mv -T -- "$dir/privkey.pem.globenet-new" "$dir/privkey.pem" && mv -T -- "$dir/pubcert.pem.globenet-new" "$dir/pubcert.pem"
    ) || { say "takeover: could not put the hand-made certificate of $name into mod_md's store"; return 1; }
    say "takeover: the hand-made certificate of $name is mod_md's for it now ($dir), until mod_md renews it"
  done
}

# After wire_bind made Globenet's key directory: each taken-over zone's key files copied there by
# bind itself (never overwritten; the originals stay), so BIND signs on with the same keys.
takeover_keys_copy() {
  local kz zone dir
  for kz in "${takeover_keys[@]}"; do
    zone=${kz%%:*} dir=${kz#*:}
    # shellcheck disable=SC2016 # expanded by the inner shell, run as bind
    as_bind bash -c 'set -euo pipefail; for f in "$1"/K"$2".+*; do if [ -f "$f" ] && [ ! -L "$f" ] && [ ! -e "$3/${f##*/}" ]; then cp -p -- "$f" "$3/"; fi; done' globenet "$dir" "$zone" "$KEYS" ||
      { say "could not copy the DNSSEC keys of $zone from $dir"; return 1; }
  done
}

# Before the swap, once the configuration as it will be is checked: each taken-over secondary
# zone's hand-made copy compiled as Globenet's copy of it, beside where it goes. By bind (named
# wrote the original, and root never acts on a path bind may rename); never over a copy already
# there. named-compilezone reads the journal too (-j: what the last transfers added) and writes
# the raw format named reads for a secondary; it loads the zone as named does, so a damaged copy
# stops the apply before anything changes (the secondary would otherwise lose the zone until its
# transfer).
takeover_stage_copies() {
  local c zone fmt from to
  bind_dir 0755 /var/cache/bind/globenet || return
  for c in "${takeover_copies[@]}"; do
    zone=${c%%:*} c=${c#*:}
    fmt=${c%%:*} from=${c#*:}
    to=/var/cache/bind/globenet/$zone.zone
    # shellcheck disable=SC2016 # expanded by the inner shell, run as bind
    as_bind bash -c 'set -euo pipefail
      if [ -e "$4" ] || [ -L "$4" ]; then printf "takeover: Globenet already has a copy of %s (%s): kept\n" "$1" "$4" >&2; exit 0; fi
      if [ ! -f "$3" ]; then printf "takeover: the hand-made secondary of %s has no copy yet (%s): it answers once its first transfer is done\n" "$1" "$3" >&2; exit 0; fi
      named-compilezone -q -j -i none -k ignore -n ignore -f "$2" -F raw -o "$4.globenet-new" -- "$1" "$3"' globenet "$zone" "$fmt" "$from" "$to" ||
      { say "the hand-made secondary copy of $zone ($from) does not load: nothing was changed"; return 1; }
  done
}
# After the swap: the staged copies put in place (by bind, a rename in its own folder), before the reload.
takeover_place_copies() {
  local c zone
  for c in "${takeover_copies[@]}"; do
    zone=${c%%:*}
    # shellcheck disable=SC2016 # expanded by the inner shell, run as bind
    as_bind bash -c 'set -euo pipefail
      if [ -f "$2.globenet-new" ] && [ ! -L "$2.globenet-new" ]; then
        mv -T -- "$2.globenet-new" "$2"
        printf "takeover: the hand-made copy of %s is Globenet'"'"'s copy now (%s): served until a signed transfer brings a newer one\n" "$1" "$2" >&2
      fi' globenet "$zone" "/var/cache/bind/globenet/$zone.zone" || { say "could not put the copy of $zone in place"; return 1; }
  done
}
# After the reload: each taken-over secondary zone asks the primary at once (signed), rather than at its SOA refresh.
takeover_refresh_zones() {
  local c
  for c in "${takeover_copies[@]}"; do as_bind rndc refresh "${c%%:*}" >&2 || say "rndc refresh ${c%%:*} failed (the zone refreshes at its SOA timer)"; done
}

do_takeover_read() {
  shift 8
  local f n
  case "$kind" in
    apache2)
      printf 'apache-S\0-\0'
      { apache2ctl -S 2>&1 || true; } | base64 -w0
      printf '\0'
      # The hand-made site files (their certificate files, for the store: paths only, never a key).
      for f in /etc/apache2/sites-enabled/*; do
        if [ -f "$f" ]; then printf 'site\0%s\0' "$f"; base64 -w0 < "$f"; printf '\0'; fi
      done ;;
    bind-primary|bind-secondary)
      for f in /etc/bind/named.conf /etc/bind/named.conf.*; do
        if [ -f "$f" ] && [ ! -L "$f" ]; then printf 'conf\0%s\0' "$f"; base64 -w0 < "$f"; printf '\0'; fi
      done
      for n in "$@"; do
        case "$n" in ''|.*|*[!a-z0-9._-]*) continue ;; esac
        printf 'zonestatus\0%s\0' "$n"
        { as_bind rndc zonestatus "$n" 2>/dev/null || true; } | base64 -w0
        printf '\0'
      done ;;
    php-fpm)
      # The main configuration and the pool files FPM includes (the stock one too: it may define a pool of a Globenet name).
      for f in "$(fpm_conf)" /etc/php/"$ver"/fpm/pool.d/*.conf; do
        if [ -f "$f" ] && [ ! -L "$f" ]; then printf 'conf\0%s\0' "$f"; base64 -w0 < "$f"; printf '\0'; fi
      done ;;
    *) say "takeover-read is for apache2, bind and php-fpm sets"; exit 2 ;;
  esac
}

# ─── a site or a pool moving between sets ──────────────────────────────────────────────────────
# A member's vhost or pool this apply brings that another live set of the daemon has, byte for
# byte, is moving here (a host's members split into parts, a part's members going to a new one):
# it is taken out of that set in this apply, through a new generation of it (the rest hard-linked),
# checked with everything else and swapped before the one reload, so the site is served
# throughout and never defined twice. With another content, the duplicate check refuses it.

# The folder of a live set as this apply's check and swap see it.
set_dir() { printf '%s\n' "${moved_gen[$1]:-$(readlink -f -- "$1")}"; }
# Where a set's generations are: <root>.d, a part's <parts>.d/<part>.
gens_of() { case "$1" in */globenet-parts/*) printf '%s\n' "${1%/*}.d/${1##*/}" ;; *) printf '%s\n' "$1.d" ;; esac; }
# The other live sets of this daemon (live roots).
other_sets() {
  local host l parts
  case "$k" in
    apache2|apache2_part) host=/etc/apache2/globenet parts=$APACHE_PARTS ;;
    php_fpm|php_fpm_part) host=/etc/php/$ver/fpm/globenet parts=$(fpm_parts) ;;
    *) return 0 ;;
  esac
  if [ -n "$part" ] && [ -L "$host" ]; then printf '%s\n' "$host"; fi
  for l in "$parts"/*; do if [ -L "$l" ] && [ "${l##*/}" != "$part" ]; then printf '%s\n' "$l"; fi; done
}
plan_moves() {
  local d o live f n g
  case "$k" in apache2|apache2_part) d=sites-available ;; php_fpm|php_fpm_part) d=pool.d ;; *) return 0 ;; esac
  [ -d "$stage/$d" ] || return 0
  while IFS= read -r o; do
    live=$(readlink -f -- "$o")
    [ -d "$live/$d" ] || continue
    n=0
    : > "$tmp/moving"
    while IFS= read -r f; do
      if cmp -s -- "$stage/$d/$f" "$live/$d/$f"; then printf '%s\n' "$f" >> "$tmp/moving"; n=$((n + 1)); fi
    done < <(LC_ALL=C comm -12 <(cd -- "$stage/$d" && find . -maxdepth 1 -name '*.conf' -type f | sed 's#^\./##' | LC_ALL=C sort) <(cd -- "$live/$d" && find . -maxdepth 1 -name '*.conf' -type f | sed 's#^\./##' | LC_ALL=C sort))
    [ "$n" -gt 0 ] || continue
    g=$(mktemp -d "$(gens_of "$o")/.stage.XXXXXX") || return
    moved_gen[$o]=$g
    cp -al -- "$live/." "$g/" && chmod 0755 -- "$g" || return
    while IFS= read -r f; do rm -f -- "$g/$d/$f" || return; done < "$tmp/moving"
    printf '%s %s\n' "$o" "$n" >> "$tmp/moves"
  done < <(other_sets)
}
# After this set's swap: each set the moves took files from goes to its new generation.
swap_moves() {
  local o g final n
  for o in "${!moved_gen[@]}"; do
    g=${moved_gen[$o]}
    final=$(gens_of "$o")/$(basename -- "$(readlink -f -- "$o")")-m$(date +%s%N)
    mv -T -- "$g" "$final" || return
    unset 'moved_gen[$o]'
    ln -sfn -- "$final" "$o.globenet-new" && mv -Tf -- "$o.globenet-new" "$o" || return
  done
  if [ -f "$tmp/moves" ]; then
    while read -r o n; do say "moved here: $n file(s) from $o (identical: served throughout, one reload)"; done < "$tmp/moves"
  fi
}

do_apply() {
  case "$gen" in '') say "apply needs a generation"; exit 2 ;; esac
  parse_takeover "$@"
  "precheck_$k"
  # Before anything changes: Dovecot delivers as this user into this folder (never by check).
  if [ "$k" = mail ]; then ensure_vmail || exit 2; fi
  # Made when missing, never chmod-ed: install -d on /etc/bind would reset Debian's mode.
  [ -d "$(dirname -- "$root")" ] || install -d -m 0755 -- "$(dirname -- "$root")"
  lock
  tmp=$(mktemp -d /tmp/globenet-fileset.XXXXXX)
  stage=$(mktemp -d "$gens/.stage.XXXXXX")
  unpack_stage
  take_takeover_files
  plan_moves

  local out rc=0
  out=$("check_$k" 2>&1) || rc=$?
  if [ $rc -eq 0 ] && [ "${#takeover_confs[@]}" -gt 0 ]; then out+=$(check_bind_whole 2>&1) || rc=$?; fi
  if [ $rc -eq 0 ] && [ "${#takeover_copies[@]}" -gt 0 ]; then out+=$(takeover_stage_copies 2>&1) || rc=$?; fi
  if [ $rc -eq 0 ] && [ "${#takeover_certs[@]}" -gt 0 ]; then out+=$(takeover_stage_certs 2>&1) || rc=$?; fi
  if [ $rc -ne 0 ]; then
    printf '%s\n' "$out" | show >&2
    exit 3
  fi

  local prev="" final
  if [ -L "$root" ]; then
    prev=$(readlink -- "$root")
  elif [ -e "$root" ]; then
    prev=$gens/pre-globenet.$(date +%Y%m%d%H%M%S)
    mv -T -- "$root" "$prev"
  fi
  final=$gens/$gen
  # Same content as the live generation (e.g. undoing a hand edit): a new directory all the same.
  if [ "$final" = "$prev" ]; then final=$gens/$gen-$(date +%s%N); fi
  rm -rf -- "$final"
  mv -T -- "$stage" "$final"
  stage=""
  ln -sfn -- "$final" "$root.globenet-new"
  mv -Tf -- "$root.globenet-new" "$root"
  swap_moves

  takeover_disable
  "wire_$k"
  if [ "${#takeover_keys[@]}" -gt 0 ]; then takeover_keys_copy; fi
  if [ "${#takeover_copies[@]}" -gt 0 ]; then takeover_place_copies; fi
  if [ "${#takeover_certs[@]}" -gt 0 ]; then takeover_seed_certs; fi
  "reload_$k"
  if [ "${#takeover_copies[@]}" -gt 0 ]; then takeover_refresh_zones; fi

  # Keep the live generation and the previous one; drop older ones and stale staging dirs.
  local d
  for d in "$gens"/* "$gens"/.stage.*; do
    [ -e "$d" ] || continue
    if [ "$d" != "$final" ] && [ "$d" != "$prev" ]; then rm -rf -- "$d"; fi
  done
  printf '%s\n' "$final"
}

do_read() {
  if [ ! -e "$root" ]; then echo absent; exit 0; fi
  echo present
  cd -- "$root/" || exit
  local f h
  # The mail set's compiled maps are made on the host from its text maps: not part of its content.
  local skip=()
  if [ "$k" = mail ]; then skip=(! -name '*.db'); fi
  # An exporter's port table flushed or edited by hand is drift (nft_drift), shown as its file's hash.
  local drift="" nftfile=""
  if [ "$k" = node_exporter ]; then nftfile=$NODE_NFT drift=$(nft_drift "$NODE_TABLE" "$NODE_NFT_LOADED"); fi
  if [ "$k" = mail ] && [ -f "$PFX_NFT" ]; then nftfile=$PFX_NFT drift=$(nft_drift "$PFX_TABLE" "$PFX_NFT_LOADED"); fi
  find . -type f "${skip[@]}" -print0 | sort -z | while IFS= read -r -d '' f; do
    h=$(sha256sum < "$f")
    if [ -n "$drift" ] && [ "${f#./}" = "$nftfile" ]; then h=$drift; fi
    printf '%s %s\0' "${h%% *}" "${f#./}"
  done
}

# apache2: the MPM modules enabled now (one line), so a preview can tell an MPM switch (a restart) ahead.
do_mpm_read() {
  [ "$kind" = apache2 ] || { say "mpm-read is for the apache2 set"; exit 2; }
  if [ -d /etc/apache2/mods-enabled ]; then apache_mpms /etc/apache2; fi
  printf '\n'
}

do_fetch() {
  shift 8
  cd -- "$root/" || exit
  local f
  for f in "$@"; do
    case "/$f/" in */../*) say "refusing path $f"; exit 2 ;; esac
    [ -f "./$f" ] || continue
    printf '%s\0' "$f"
    base64 -w0 < "./$f"
    printf '\0'
  done
}

# A primary's live zone files: the serial each serves, read as the provider's serialIn reads it
# (the first "<number> ; serial" line), one awk for all of them. A file without one, or with a
# name the set could not have (the provider's listing pattern), is left out.
do_serials() {
  [ "$kind" = bind-primary ] || { say "serials is for the bind-primary set"; exit 2; }
  [ -d "$root/zones" ] || return 0
  cd -- "$root/" || exit
  # shellcheck disable=SC2016 # awk's own $0, not the shell's
  find zones -maxdepth 1 -type f -name '[A-Za-z0-9_]*.zone' -print0 | sort -z | xargs -0 -r awk '
    FNR == 1 { found = 0 }
    !found && /^[ \t]*[0-9]+[ \t]*;[ \t]*serial/ { match($0, /[0-9]+/); print substr($0, RSTART, RLENGTH) " " FILENAME; found = 1 }
  '
}

# The check of apply alone, on the files of a folder (a rendered tree's folder for this kind),
# staged in a temp dir: nothing live is read for writing or changed. The checker's output goes
# to stderr (paths shown as the live ones) whatever the outcome; exit 3 when it rejects the
# files. The tests check rendered files with it (tests/helpers/checkers.ts): one check, this one.
do_check() {
  local src=${9:-} out rc=0
  [ -d "$src" ] || { say "check needs the folder of the files to check, not '$src'"; exit 2; }
  "precheck_$k"
  tmp=$(mktemp -d /tmp/globenet-fileset.XXXXXX)
  stage=$tmp/stage
  mkdir -- "$stage"
  tar -C "$src" -cf - . | unpack_stage
  out=$("check_$k" 2>&1) || rc=$?
  printf '%s\n' "$out" | show >&2
  if [ $rc -ne 0 ]; then exit 3; fi
}

do_delete() {
  # (A host without the daemon's folder has nothing to lock.)
  if [ -d "$(dirname -- "$lockfile")" ]; then lock; fi
  "unwire_$k"
  "reload_if_running_$k" || say "the reload after removing the wiring failed (ignored: the files are removed anyway)"
  if [ -L "$root" ] || [ -e "$root" ]; then rm -rf -- "$root"; fi
  rm -rf -- "$gens" "$root.globenet-new"
}

case "$action" in
  apply) do_apply "$@" ;;
  read) do_read ;;
  fetch) do_fetch "$@" ;;
  serials) do_serials ;;
  delete) do_delete ;;
  check) do_check "$@" ;;
  takeover-read) do_takeover_read "$@" ;;
  mpm-read) do_mpm_read ;;
  *) say "unknown action: $action"; exit 2 ;;
esac
