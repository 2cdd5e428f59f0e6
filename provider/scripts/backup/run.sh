#!/usr/bin/env bash
# globenet-backup: a protected host's backups, with BorgBackup, to its repository on the backup
# host. The provider's backup Client installs this file as /usr/local/sbin/globenet-backup
# (root only) with its configuration in /etc/globenet/backup/<host> (docs/architecture.md,
# "Backups"). <host> is the inventory name: one machine may play several hosts (the lab), each
# with its own key, repository and status. `--host <host>` first says which; without it, the
# one set up on this machine.
#
#   globenet-backup [--host <host>] <command> …
#   globenet-backup run [--only <kind>--<name>|homes] every source (or one), then prune
#   globenet-backup scheduled                         run, then check when one is due (cron)
#   globenet-backup list [<prefix>]                   the archives (homes--web1--…, database--velo_wp--…)
#   globenet-backup list-home <handle>                the archives holding that member's home
#   globenet-backup files <archive> [<path>…]         what an archive holds
#   globenet-backup restore <archive> [<path in archive>] [--to <dir>] [--in-place]
#   globenet-backup restore-db <archive> <database> [--replace]
#   globenet-backup restore-disk <archive> [--replace] [--shutdown-timeout <s>]   a VPS disk
#   globenet-backup check                             borg check of this host's repository
#   globenet-backup export-key                        the passphrase and the paper key (stdout)
#
# The repository passphrase reaches borg on a file descriptor (BORG_PASSPHRASE_FD), never in
# argv or the environment. Values from the configuration and the command line are arguments
# of the commands, never script text.
#
# Every home of the host goes into ONE archive a run, homes--<host>--<stamp> (one borg process
# instead of one per member: each costs about a second to open the repository and its caches).
# Its comment lists the handles it holds; each member keeps its own status line. The former
# archives of one member each, home--<handle>--<stamp>, are still listed, restored and expired.
set -euo pipefail
umask 077
export LC_ALL=C.UTF-8
ETC_ALL=/etc/globenet/backup
STATE_ALL=/var/lib/globenet/backup
RESTORE_BASE=/var/lib/globenet/restore
ETC='' STATE='' STATUS='' HOST=''

die() { printf 'globenet-backup: %s\n' "$*" >&2; exit 1; }

# select_host [NAME]: the host whose set-up this run uses; sets the paths and borg's environment.
select_host() {
  local h=${1:-} d
  local -a found=()
  if [ -z "$h" ]; then
    for d in "$ETC_ALL"/*/sources; do [ -f "$d" ] && found+=("$(basename -- "$(dirname -- "$d")")"); done
    [ "${#found[@]}" -gt 0 ] || die "no backup is set up on this machine ($ETC_ALL/<host>/sources): the apply installs it"
    [ "${#found[@]}" -eq 1 ] || die "this machine backs up several hosts (${found[*]}): say which with --host <host>"
    h=${found[0]}
  fi
  [[ $h =~ ^[a-z0-9][a-z0-9-]{0,31}$ ]] || die "\"$h\" is not an inventory host name"
  HOST=$h ETC=$ETC_ALL/$h STATE=$STATE_ALL/$h STATUS=$STATE_ALL/$h/status
  # borg's cache and security records (nonces, the repository's id) for this host's repository.
  export BORG_BASE_DIR=$STATE/borg
  # The backup host's key is pinned under an alias: the address may change, the key may not.
  export BORG_RSH="ssh -F none -i $ETC/id_ed25519 -o IdentitiesOnly=yes -o BatchMode=yes -o UserKnownHostsFile=$ETC/known_hosts -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o HostKeyAlias=globenet-backup -o ConnectTimeout=20 -o ServerAliveInterval=30 -o ServerAliveCountMax=4"
}
export BORG_RELOCATED_REPO_ACCESS_IS_OK=yes BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=no
export BORG_DELETE_I_KNOW_WHAT_I_AM_DOING=NO BORG_CHECK_I_KNOW_WHAT_I_AM_DOING=NO
unset BORG_PASSPHRASE BORG_PASSCOMMAND BORG_NEW_PASSPHRASE
now() { date -u +%Y-%m-%dT%H:%M:%SZ; }
# outcome RC: ok or failed. last_ok_after RC ID: now when RC is 0, else the last good time of ID.
outcome() { if [ "$1" -eq 0 ]; then echo ok; else echo failed; fi; }
last_ok_after() { if [ "$1" -eq 0 ]; then now; else field_of "$2" last_ok; fi; }
# borg with the passphrase on fd 3 (closed for every process borg starts: Python closes them).
borg_() { BORG_PASSPHRASE_FD=3 borg --lock-wait 600 "$@" 3<"$ETC/passphrase"; }

REPO='' RET_D='' RET_W='' RET_M='' CHECK_DAYS=7 SOCKET=''
SOURCES=()
load_config() {
  local line f
  [ -f "$ETC/sources" ] || die "there is no $ETC/sources: the backup is not set up on this host (the apply installs it)"
  [ -f "$ETC/passphrase" ] || die "there is no $ETC/passphrase: the repository key's passphrase is missing (the apply writes it again from the stack's secret)"
  while IFS= read -r line || [ -n "$line" ]; do
    case $line in '' | '#'*) continue ;; esac
    IFS=$'\t' read -r -a f <<<"$line"
    case ${f[0]} in
      repository) REPO=${f[1]} ;;
      retention) RET_D=${f[1]} RET_W=${f[2]} RET_M=${f[3]} ;;
      check_every_days) CHECK_DAYS=${f[1]} ;;
      socket) SOCKET=${f[1]} ;;
      home | database | path | vps-disk) SOURCES+=("$line") ;;
      *) die "$ETC/sources: unknown line kind ${f[0]}" ;;
    esac
  done <"$ETC/sources"
  [ -n "$REPO" ] || die "$ETC/sources names no repository"
}

# ---- status: one line per source, `<id> result=… last_ok=… last_run=… duration=… size=… added=… archive=…`
declare -A LINE=()
load_status() {
  local id rest
  [ -f "$STATUS" ] || return 0
  while read -r id rest; do [ -n "$id" ] && LINE[$id]=$rest; done <"$STATUS"
}
# The field KEY of the status line of ID, or "-". In bash alone: called once per member a run.
field_of() {
  local re=" $2=([^ ]*)"
  if [[ " ${LINE[$1]:-}" =~ $re ]]; then printf '%s' "${BASH_REMATCH[1]}"; else printf -- -; fi
}
# set_line ID RESULT DURATION SIZE ADDED ARCHIVE: the last good time moves only on success.
# set_status: the same, then the file written.
set_line() {
  local id=$1 result=$2 ok t
  ok=$(field_of "$id" last_ok)
  t=$(now)
  case $result in ok | warning) ok=$t ;; esac
  LINE[$id]="result=$result last_ok=$ok last_run=$t duration=$3 size=$4 added=$5 archive=$6"
}
set_status() { set_line "$@"; write_status; }
write_status() {
  local id
  install -d -m 0700 -- "$STATE"
  { for id in "${!LINE[@]}"; do printf '%s %s\n' "$id" "${LINE[$id]}"; done; } | sort >"$STATUS.tmp"
  chmod 0600 -- "$STATUS.tmp"
  mv -f -- "$STATUS.tmp" "$STATUS"
}

# ---- metrics: for the node exporter's textfile collector (Debian's directory), which the
# monitor host scrapes (docs/architecture.md, "Monitoring"; its BackupTooOld alert).
PROM_DIR=/var/lib/prometheus/node-exporter
# A label value of Prometheus' text format: \, " and line breaks escaped.
prom_value() { local v=${1//\\/\\\\}; v=${v//\"/\\\"}; printf '%s' "${v//$'\n'/\\n}"; }
# write_metrics: each source of $ETC/sources (a removed member's old status line is not
# exported), the run and the check: when it last made a good archive, when it last ran, and
# whether that run went well, in $PROM_DIR/globenet-backup-<host>.prom, replaced at once (the
# collector never reads half a file). Nothing without the directory (no node exporter here).
# Times through one `date -f -`: a run of 150 members forks once, not 300 times.
write_metrics() {
  local -a f ids=() kinds=() names=() handles=() secs=()
  local line i t lbl result had_homes=no out=$PROM_DIR/globenet-backup-$HOST.prom
  [ -d "$PROM_DIR" ] || return 0
  for line in "${SOURCES[@]}"; do
    IFS=$'\t' read -r -a f <<<"$line"
    case ${f[0]} in
      home) ids+=("home--${f[1]}") kinds+=(home) names+=("${f[1]}") handles+=("${f[1]}") had_homes=yes ;;
      database) ids+=("database--${f[1]}") kinds+=(database) names+=("${f[1]}") handles+=("${f[2]:-}") ;;
      vps-disk) ids+=("vps-disk--${f[1]}") kinds+=(vps-disk) names+=("${f[1]}") handles+=("${f[5]:-}") ;;
      *) ids+=("${f[0]}--${f[1]}") kinds+=("${f[0]}") names+=("${f[1]}") handles+=("") ;;
    esac
  done
  [ "$had_homes" = no ] || { ids+=(homes) kinds+=(homes) names+=("$HOST") handles+=(""); }
  ids+=(run check) kinds+=(run check) names+=("$HOST" "$HOST") handles+=("" "")
  # Two times per source, last_ok then last_run; "-" (never) as the epoch, read back as none.
  mapfile -t secs < <(for i in "${ids[@]}"; do
    t=$(field_of "$i" last_ok); printf '%s\n' "${t/#-/@0}"
    t=$(field_of "$i" last_run); printf '%s\n' "${t/#-/@0}"
  done | date -u -f - +%s)
  [ "${#secs[@]}" -eq "$((2 * ${#ids[@]}))" ] || { printf 'globenet-backup: the metrics were not written: a time of %s could not be read\n' "$STATUS" >&2; return 0; }
  local -a lbls=() oks=() runs=() good=()
  for i in "${!ids[@]}"; do
    lbl=$(printf 'backup_host="%s",source="%s",kind="%s",name="%s"' "$(prom_value "$HOST")" "$(prom_value "${ids[$i]}")" "${kinds[$i]}" "$(prom_value "${names[$i]}")")
    [ -z "${handles[$i]}" ] || lbl+=$(printf ',handle="%s"' "$(prom_value "${handles[$i]}")")
    result=$(field_of "${ids[$i]}" result)
    lbls+=("$lbl") oks+=("${secs[$((2 * i))]}") runs+=("${secs[$((2 * i + 1))]}")
    # absent: nothing to back up (a folder not made yet), which is not a failure and has no age.
    case $result in ok | warning) good+=(1) ;; absent) good+=(1) oks[i]=0 ;; *) good+=(0) ;; esac
  done
  {
    printf '# HELP globenet_backup_last_success_timestamp_seconds When the source last made a good archive (Unix time), by globenet-backup.\n'
    printf '# TYPE globenet_backup_last_success_timestamp_seconds gauge\n'
    for i in "${!ids[@]}"; do [ "${oks[$i]}" = 0 ] || printf 'globenet_backup_last_success_timestamp_seconds{%s} %s\n' "${lbls[$i]}" "${oks[$i]}"; done
    printf '# HELP globenet_backup_last_run_timestamp_seconds When the source was last tried (Unix time), by globenet-backup.\n'
    printf '# TYPE globenet_backup_last_run_timestamp_seconds gauge\n'
    for i in "${!ids[@]}"; do [ "${runs[$i]}" = 0 ] || printf 'globenet_backup_last_run_timestamp_seconds{%s} %s\n' "${lbls[$i]}" "${runs[$i]}"; done
    printf '# HELP globenet_backup_last_run_ok 1 when the last try made an archive (or had nothing to back up), 0 when it failed.\n'
    printf '# TYPE globenet_backup_last_run_ok gauge\n'
    for i in "${!ids[@]}"; do [ "${runs[$i]}" = 0 ] || printf 'globenet_backup_last_run_ok{%s} %s\n' "${lbls[$i]}" "${good[$i]}"; done
  } >"$out.tmp" || { rm -f -- "$out.tmp"; return 0; }
  chmod 0644 -- "$out.tmp"
  mv -f -- "$out.tmp" "$out"
}

sock_args() { if [ -n "$SOCKET" ]; then printf '%s\n' "--socket=$SOCKET"; fi; }

# The sizes of a `borg create --json` answer: "original deduplicated".
sizes() { python3 -c 'import json,sys; s=json.load(sys.stdin)["archive"]["stats"]; print(s["original_size"], s["deduplicated_size"])'; }

# Why ssh cannot reach the backup host (its own last line: refused, host key changed, key not
# accepted), or nothing when it can. borg shows ssh's messages only in part. Asked once a run.
REACH_ASKED=no
reach_problem() {
  local rest where port out rc=0
  [ "$REACH_ASKED" = no ] || return 0
  REACH_ASKED=yes
  rest=${REPO#ssh://}
  where=${rest%%/*}
  port=${where##*:}
  where=${where%:*}
  where=${where/[/}
  where=${where/]/}
  # BORG_RSH is this script's own text (no spaces inside its values): split on purpose.
  # shellcheck disable=SC2086
  out=$(timeout 60 $BORG_RSH -T -p "$port" "$where" </dev/null 2>&1 >/dev/null) || rc=$?
  if [ "$rc" -eq 255 ] || [ "$rc" -eq 124 ]; then
    printf 'globenet-backup: the backup host cannot be reached over SSH: %s\n' "$(grep -v -e '^@' -e '^$' <<<"${out:-timed out}" | tail -n 1)" >&2
  fi
}

# backup_one LINE: one archive of one source. Status 0 done, 1 failed (said on stderr).
backup_one() {
  local -a f sock
  local kind name id archive start rc out size added consistency consistency_is=''
  IFS=$'\t' read -r -a f <<<"$1"
  kind=${f[0]} name=${f[1]} id="${f[0]}--${f[1]}"
  archive="$id--$(date -u +%Y%m%dT%H%M%SZ)"
  start=$(date +%s)
  rc=0 out=''
  case $kind in
    database)
      mapfile -t sock < <(sock_args)
      # --single-transaction: a consistent snapshot (InnoDB) while the site keeps writing; no
      # table lock. borg fails the archive when the dump exits non-zero (unlike a pipe).
      out=$(borg_ create --json --stdin-name "$name.sql" --content-from-command -- "$REPO::$archive" \
        mariadb-dump "${sock[@]}" --single-transaction --routines --triggers --events --hex-blob --default-character-set=utf8mb4 "$name") || rc=$?
      ;;
    path)
      if [ ! -e "${f[2]}" ]; then
        set_status "$id" absent "$(($(date +%s) - start))" 0 0 -
        printf 'globenet-backup: %s: %s does not exist (yet): nothing to back up\n' "$id" "${f[2]}" >&2
        return 0
      fi
      out=$(borg_ create --json --one-file-system --numeric-ids -- "$REPO::$archive" "${f[2]}") || rc=$?
      ;;
    vps-disk)
      # f: vps-disk NAME DOMAIN DISK BASE. How consistent the copy is goes to the status.
      consistency=$(mktemp)
      out=$(vps_disk_create "$REPO::$archive" "$name" "${f[2]}" "${f[3]}" "${f[4]:-}" "$consistency") || rc=$?
      consistency_is=$(cat -- "$consistency")
      rm -f -- "$consistency"
      if [ "$rc" -eq 99 ]; then
        set_status "$id" absent "$(($(date +%s) - start))" 0 0 -
        return 0
      fi
      ;;
  esac
  if [ "$rc" -ge 2 ] || { [ "$rc" -eq 1 ] && [ -z "$out" ]; }; then
    set_status "$id" failed "$(($(date +%s) - start))" - - -
    vps_consistency_to_status "$id" "${consistency_is:-}"
    reach_problem
    printf 'globenet-backup: %s: FAILED (borg exit %s): no new archive. borg says why above (backup host unreachable, repository locked, dump failed). It is marked failed in %s; the next run tries again.\n' "$id" "$rc" "$STATUS" >&2
    return 1
  fi
  read -r size added < <(sizes <<<"$out")
  # Exit 1 is borg's warning (a file vanished or changed while read): the archive exists.
  set_status "$id" "$([ "$rc" -eq 0 ] && echo ok || echo warning)" "$(($(date +%s) - start))" "$size" "$added" "$archive"
  vps_consistency_to_status "$id" "${consistency_is:-}"
}

# home_sizes: on stdin one home a line, "<path>\t<exclude>…"; prints each one's size in bytes
# as borg's original size counts it: the regular files, each inode once, without the excludes
# (borg's sh: patterns, relative to the home: * and ? within one segment, ** across), other
# file systems or what is mounted inside the home (backup_homes leaves it out). One process for every home: du would need one a home to apply each home's own
# excludes (its patterns are tried on every path, and its * also matches a /), ~40 ms each.
home_sizes() {
  python3 -c '
import os, re, sys

def rx(p):
    out, i = "", 0
    while i < len(p):
        if p.startswith("**/", i): out, i = out + "(?:.*/)?", i + 3
        elif p.startswith("**", i): out, i = out + ".*", i + 2
        elif p[i] == "*": out, i = out + "[^/]*", i + 1
        elif p[i] == "?": out, i = out + "[^/]", i + 1
        else: out, i = out + re.escape(p[i]), i + 1
    return re.compile(out + r"\Z")

mounts = {l.split(" ")[4] for l in open("/proc/self/mountinfo")}
for line in sys.stdin:
    home, *ex = line.rstrip("\n").split("\t")
    pats = [rx(e) for e in ex if e]
    dev, total, seen, todo = os.lstat(home).st_dev, 0, set(), [""]
    while todo:
        rel = todo.pop()
        try:
            entries = list(os.scandir(os.path.join(home, rel)))
        except OSError:
            continue
        for e in entries:
            r = rel + "/" + e.name if rel else e.name
            if any(p.match(r) for p in pats):
                continue
            st = e.stat(follow_symlinks=False)
            if e.is_dir(follow_symlinks=False):
                if st.st_dev == dev and os.path.join(home, r) not in mounts:
                    todo.append(r)
            elif e.is_file(follow_symlinks=False) and (st.st_nlink == 1 or (st.st_dev, st.st_ino) not in seen):
                seen.add((st.st_dev, st.st_ino))
                total += st.st_size
    print(total)
'
}

# backup_homes: one archive of every home line, each with its excludes under its own path. A
# missing home fails that member only (its status line, the run's result); the others are
# sent. Status 0 done, 1 something failed (said on stderr; the ids in HOMES_FAILED).
HOMES_FAILED=()
backup_homes() {
  local -a f args=(--one-file-system --numeric-ids) paths=() handles=() included=() hsize
  local line archive start rc=0 out='' size added e i result n parent excl sizes_pid
  local -A shared=()
  archive="homes--$HOST--$(date -u +%Y%m%dT%H%M%SZ)"
  start=$(date +%s)
  for line in "${SOURCES[@]}"; do
    IFS=$'\t' read -r -a f <<<"$line"
    [ "${f[0]}" = home ] || continue
    if [ ! -d "${f[2]}" ] || [ -L "${f[2]}" ]; then
      set_line "home--${f[1]}" failed 0 - - -
      printf 'globenet-backup: home--%s: FAILED: the home %s is missing. It is not in %s (the other homes are); check the account on this host.\n' "${f[1]}" "${f[2]}" "$archive" >&2
      HOMES_FAILED+=("home--${f[1]}")
      continue
    fi
    paths+=("${f[2]}")
    handles+=("${f[1]}")
    included+=("$line")
    # Homes side by side (/home/<handle>) with the same excludes share one pattern per exclude.
    parent=$(dirname -- "${f[2]}") excl=$(printf '%s\t' "${f[@]:3}")
    if [ -z "${shared[$parent]+set}" ]; then shared[$parent]=$excl; elif [ "${shared[$parent]}" != "$excl" ]; then shared[$parent]=$'\n'; fi
  done
  # borg tries every pattern on every path: 4 excludes × 150 homes cost more than the whole
  # incremental run (npm run bench -- backup). `*` is one path segment in borg's sh: patterns,
  # and only homes are given, so <parent>/*/<exclude> is each home's own exclude.
  for line in "${included[@]}"; do
    IFS=$'\t' read -r -a f <<<"$line"
    parent=$(dirname -- "${f[2]}")
    if [ "${shared[$parent]}" = $'\n' ]; then
      for e in "${f[@]:3}"; do args+=(--exclude "sh:${f[2]}/$e"); done
    elif [ -n "${shared[$parent]}" ]; then
      for e in "${f[@]:3}"; do args+=(--exclude "sh:$parent/*/$e"); done
      shared[$parent]=''
    fi
  done
  # What is mounted inside a home is not the member's: an sftp member's ~/logs is Globenet's
  # logs, bind-mounted read-only (docs/architecture.md, "Members' site logs"), which
  # --one-file-system does not see when they share the homes' file system. Each is left out by
  # its full path (pf: is a lookup, not a pattern tried on every path).
  local -A homeset=()
  local m up
  for i in "${paths[@]}"; do homeset[$i]=1; done
  while IFS= read -r m; do
    up=$m
    while [ "${up%/*}" != "$up" ] && [ -n "${up%/*}" ]; do
      up=${up%/*}
      if [ -n "${homeset[$up]+set}" ]; then args+=(--exclude "pf:$m"); break; fi
    done
  done < <(awk '{ print $5 }' /proc/self/mountinfo)
  if [ "${#paths[@]}" -eq 0 ]; then
    set_status homes failed 0 - - -
    printf 'globenet-backup: homes: FAILED: none of the homes is there; no archive was made.\n' >&2
    HOMES_FAILED+=(homes)
    return 1
  fi
  # Each member's size, counted while borg reads (borg keeps one core busy; this walk takes
  # the other): the run takes no longer for it. borg gives the archive's size only.
  for line in "${included[@]}"; do
    IFS=$'\t' read -r -a f <<<"$line"
    printf '%s' "${f[2]}"
    printf '\t%s' "${f[@]:3}"
    printf '\n'
  done | home_sizes >"$STATE/home-sizes" 2>/dev/null &
  sizes_pid=$!
  # The comment says whose homes the archive holds: list-home reads it without opening the archive.
  out=$(borg_ create --json "${args[@]}" --comment "homes: ${handles[*]}" -- "$REPO::$archive" "${paths[@]}") || rc=$?
  wait "$sizes_pid" || true
  mapfile -t hsize <"$STATE/home-sizes"
  rm -f -- "$STATE/home-sizes"
  n=$(($(date +%s) - start))
  if [ "$rc" -ge 2 ] || { [ "$rc" -eq 1 ] && [ -z "$out" ]; }; then
    set_status homes failed "$n" - - -
    for i in "${handles[@]}"; do set_line "home--$i" failed "$n" - - -; done
    write_status
    reach_problem
    printf 'globenet-backup: homes: FAILED (borg exit %s): no new archive of the %s homes. borg says why above (backup host unreachable, repository locked). Each member is marked failed in %s; the next run tries again.\n' "$rc" "${#paths[@]}" "$STATUS" >&2
    HOMES_FAILED+=(homes)
    return 1
  fi
  read -r size added < <(sizes <<<"$out")
  # Exit 1 is borg's warning (a file vanished or changed while read): the archive exists.
  result=$([ "$rc" -eq 0 ] && echo ok || echo warning)
  set_status homes "$result" "$n" "$size" "$added" "$archive"
  # What each member added is not known.
  i=0
  for line in "${included[@]}"; do
    IFS=$'\t' read -r -a f <<<"$line"
    set_line "home--${f[1]}" "$result" "$n" "${hsize[$i]:--}" - "$archive"
    i=$((i + 1))
  done
  write_status
  [ "${#HOMES_FAILED[@]}" -eq 0 ]
}

# The former archives of one member each (home--<handle>--…) get no new ones, so borg's rules
# would keep the last of them for ever: one goes once it is older than the oldest the retention
# keeps (the monthly months, else the weekly weeks, else the daily days), as a homes archive
# would. Only when a homes archive exists, and only for members this host backs up. One list
# and at most one delete a run, whatever the number of members.
expire_former_homes() {
  local line name stamp cutoff days
  local -a f old=()
  local -A mine=()
  if [ "${RET_M:-0}" -gt 0 ]; then days=$((RET_M * 31)); elif [ "${RET_W:-0}" -gt 0 ]; then days=$((RET_W * 7)); else days=${RET_D:-0}; fi
  [ "$days" -gt 0 ] || return 0
  for line in "${SOURCES[@]}"; do
    IFS=$'\t' read -r -a f <<<"$line"
    if [ "${f[0]}" = home ]; then mine[${f[1]}]=1; fi
  done
  cutoff=$(date -u -d "@$(($(date +%s) - days * 86400))" +%Y%m%dT%H%M%SZ)
  local names
  names=$(borg_ list --short --glob-archives 'home*--*' -- "$REPO") || return 1
  grep -q '^homes--' <<<"$names" || return 0
  while IFS= read -r line; do
    [[ $line =~ ^home--([A-Za-z0-9._-]+)--([0-9]{8}T[0-9]{6}Z)$ ]] || continue
    name=${BASH_REMATCH[1]} stamp=${BASH_REMATCH[2]}
    if [ -n "${mine[$name]:-}" ] && [[ $stamp < $cutoff ]]; then old+=("$line"); fi
  done <<<"$names"
  [ "${#old[@]}" -eq 0 ] || borg_ delete -- "$REPO" "${old[@]}"
}

prune_all() {
  local line id failed=0 start homes=no
  local -a f
  start=$(date +%s)
  for line in "${SOURCES[@]}"; do
    IFS=$'\t' read -r -a f <<<"$line"
    id="${f[0]}--${f[1]}"
    # Homes: one prefix for them all (below).
    if [ "${f[0]}" = home ]; then homes=yes; continue; fi
    # On the backup host the repository is append-only: this marks archives deleted; their
    # data stays until a volunteer there compacts (docs/architecture.md, "Backups").
    borg_ prune --glob-archives "$id--*" --keep-daily "$RET_D" --keep-weekly "$RET_W" --keep-monthly "$RET_M" -- "$REPO" || failed=1
  done
  if [ "$homes" = yes ]; then
    borg_ prune --glob-archives "homes--$HOST--*" --keep-daily "$RET_D" --keep-weekly "$RET_W" --keep-monthly "$RET_M" -- "$REPO" || failed=1
    expire_former_homes || failed=1
  fi
  LINE[prune]="result=$(outcome "$failed") last_ok=$(last_ok_after "$failed" prune) last_run=$(now) duration=$(($(date +%s) - start))"
  write_status
  return "$failed"
}

take_lock() {
  install -d -m 0700 -- "$STATE"
  exec 9>"$STATE/lock"
  flock -n 9 || die "another globenet-backup run or check is running on this host (lock $STATE/lock); try again when it ends"
}

cmd_run() {
  local only='' line id start homes_done=no
  local -a failed=() f
  if [ "${1:-}" = --only ]; then
    only=${2:?--only needs <kind>--<name> or homes}
    case $only in
      homes) printf '%s\n' "${SOURCES[@]}" | grep -q '^home'$'\t' || die "this host backs up no home" ;;
      home--*) die "the homes go into one archive a run, whoever they are: --only homes" ;;
      *) printf '%s\n' "${SOURCES[@]}" | awk -F '\t' -v id="$only" '$1 "--" $2 == id { found = 1 } END { exit !found }' || die "no source $only in $ETC/sources" ;;
    esac
  fi
  take_lock
  load_status
  start=$(date +%s)
  for line in "${SOURCES[@]}"; do
    IFS=$'\t' read -r -a f <<<"$line"
    id="${f[0]}--${f[1]}"
    if [ "${f[0]}" = home ]; then
      # Every home at once, where the first home line is.
      [ "$homes_done" = no ] || continue
      homes_done=yes
      [ -z "$only" ] || [ "$only" = homes ] || continue
      backup_homes || failed+=("${HOMES_FAILED[@]}")
      continue
    fi
    [ -z "$only" ] || [ "$only" = "$id" ] || continue
    backup_one "$line" || failed+=("$id")
  done
  [ -n "$only" ] || prune_all || failed+=(prune)
  LINE[run]="result=$(outcome "${#failed[@]}") last_ok=$(last_ok_after "${#failed[@]}" run) last_run=$(now) duration=$(($(date +%s) - start)) failed=$(IFS=,; echo "${failed[*]:--}")"
  write_status
  write_metrics
  if [ "${#failed[@]}" -gt 0 ]; then
    printf 'globenet-backup: the run FAILED for: %s (see the lines above; status in %s). The next run retries them.\n' "${failed[*]}" "$STATUS" >&2
    return 1
  fi
}

cmd_check() {
  local start rc=0
  take_lock
  load_status
  start=$(date +%s)
  borg_ check -- "$REPO" || rc=$?
  LINE[check]="result=$(outcome "$rc") last_ok=$(last_ok_after "$rc" check) last_run=$(now) duration=$(($(date +%s) - start))"
  write_status
  write_metrics
  [ "$rc" -eq 0 ] || die "the check of $REPO FAILED (borg exit $rc): see borg's messages above; docs/architecture.md (Backups) says what to do"
}

cmd_scheduled() {
  local rc=0 last due
  cmd_run || rc=$?
  exec 9>&-
  last=$(field_of check last_ok)
  due=yes
  if [ "$last" != - ] && [ "$(($(date +%s) - $(date -d "$last" +%s)))" -lt "$((CHECK_DAYS * 86400 - 3600))" ]; then due=no; fi
  if [ "$due" = yes ]; then cmd_check || rc=1; fi
  return "$rc"
}

valid_archive() {
  [[ $1 =~ ^(home|homes|database|vps-disk|path)--[A-Za-z0-9._-]+--[0-9]{8}T[0-9]{6}Z$ ]] || die "\"$1\" is not an archive name (<kind>--<name>--<yyyymmddThhmmssZ>, as list shows)"
}

cmd_list() {
  if [ -n "${1:-}" ]; then
    [[ $1 =~ ^[A-Za-z0-9._-]+$ ]] || die "\"$1\" is not an archive name prefix (home--velo-libre, database--velo_wp…)"
    borg_ list --short --glob-archives "$1*" -- "$REPO"
  else
    borg_ list --short -- "$REPO"
  fi
}

# The archives holding the home of HANDLE, oldest first: the homes archives whose comment names
# it, and its former own archives (home--HANDLE--…).
cmd_list_home() {
  local h=${1:?list-home needs a member handle}
  [[ $h =~ ^[a-z0-9][a-z0-9-]*$ ]] || die "\"$h\" is not a member handle"
  {
    borg_ list --format '{name} {comment}{NL}' --glob-archives 'homes--*' -- "$REPO" |
      awk -v h="$h" '$2 == "homes:" { for (i = 3; i <= NF; i++) if ($i == h) { print $1; next } }'
    borg_ list --short --glob-archives "home--$h--*" -- "$REPO"
  } | awk '{ n = split($0, p, "--"); print p[n] "\t" $0 }' | sort | cut -f 2-
}

cmd_files() {
  local archive=${1:?files needs an archive name}
  shift
  valid_archive "$archive"
  borg_ list --format '{mode} {uid}:{gid} {size:>10} {isomtime} {path}{NL}' -- "$REPO::$archive" "$@"
}

# The default staging folder of one restore: its time stamp, then -2, -3… when another restore
# of the same second made that one (two restores in a row must not meet in one folder).
new_staging() {
  local d=$1 n=1
  while [ -e "$d" ]; do n=$((n + 1)); d="$1-$n"; done
  printf '%s' "$d"
}
# A folder for extracted files that only root can reach, on a path no one else controls.
staging_dir() {
  local to=$1 d
  [[ $to == /* ]] || die "--to needs an absolute path"
  if [ -e "$to" ]; then
    if [ ! -d "$to" ] || [ -L "$to" ]; then die "$to exists and is not a folder"; fi
    [ -z "$(ls -A -- "$to")" ] || die "$to is not empty: restore into a new or empty folder"
  fi
  d=$(dirname -- "$to")
  while :; do
    if [ -e "$d" ]; then
      [ ! -L "$d" ] || die "$d is a symbolic link: choose a staging folder whose parents are plain folders of root's"
      [ "$(stat -c %u -- "$d")" = 0 ] || die "$d is not root's: never extract as root under a folder someone else controls (a member's home, /tmp)"
      case $(stat -c %A -- "$d") in ?????w???? | ????????w?) die "$d can be written by others than root: choose a staging folder under /var/lib/globenet/restore" ;; esac
    fi
    [ "$d" != / ] || break
    d=$(dirname -- "$d")
  done
  install -d -m 0700 -- "$to"
  chown root:root -- "$to"
  chmod 0700 -- "$to"
}

# Copies STAGING_HOME (root's) into the member's home HOME with the member's rights only: a
# link the member planted there leads only where the member can write anyway. Sets SKIPPED to
# the top-level entries left in the staging (an sftp member's home, below).
copy_in_as_member() {
  local h=$1 home=$2 src=$3 ent uid gid mhome n p
  SKIPPED=()
  ent=$(getent passwd "$h") || die "there is no user $h on this host: restore into the staging, the account must exist first"
  IFS=: read -r _ _ uid gid _ mhome _ <<<"$ent"
  { [ "$uid" -ge 1000 ] && [ "$uid" -lt 60000 ]; } || die "refusing: $h is a system account (uid $uid)"
  [ "$mhome" = "$home" ] || die "the user $h has home $mhome, not $home"
  if [ ! -d "$home" ] || [ -L "$home" ]; then die "$home is not a folder"; fi
  if [ "$(stat -c %u -- "$home")" != 0 ]; then
    # Read as root from root's staging; written as the member; existing folders keep their modes.
    tar -C "$src" --numeric-owner -cf - . |
      setpriv --reuid="$uid" --regid="$gid" --clear-groups -- tar -C "$home" --no-same-owner --no-overwrite-dir -xpf -
    return
  fi
  # An sftp member's home is root's (sshd's chroot): its top level is the Account's layout (the
  # folders root made and gave to the member, ~/logs a read-only mount of root's), which the
  # member could not write and a restore must not change. What is inside the member's own
  # top-level folders comes back, each copied with the member's rights as above; any other
  # top-level entry of the archive (a file the member had there while it was ssh, its logs
  # link, .my.cnf, which the Account rewrites) stays in the staging and is named.
  while IFS= read -r -d '' n; do
    n=${n#./}
    p=$home/$n
    if [ -d "$src/$n" ] && [ ! -L "$src/$n" ] && [ -d "$p" ] && [ ! -L "$p" ] && [ "$(stat -c %u -- "$p")" = "$uid" ] && ! mountpoint -q -- "$p"; then
      tar -C "$src/$n" --numeric-owner -cf - . |
        setpriv --reuid="$uid" --regid="$gid" --clear-groups -- tar -C "$p" --no-same-owner --no-overwrite-dir -xpf - || return 1
    else
      SKIPPED+=("$n")
    fi
  done < <(cd -- "$src" && find . -mindepth 1 -maxdepth 1 -print0 | sort -z)
}

cmd_restore() {
  local archive='' path='' to='' inplace=no kind name line home='' stamp n
  local -a SKIPPED=()
  local -a f
  while [ $# -gt 0 ]; do
    case $1 in
      --to) to=${2:?--to needs a folder}; shift 2 ;;
      --in-place) inplace=yes; shift ;;
      --) shift; break ;;
      *) if [ -z "$archive" ]; then archive=$1; elif [ -z "$path" ]; then path=$1; else die "restore takes one archive and at most one path (got \"$1\" too)"; fi; shift ;;
    esac
  done
  if [ $# -gt 0 ]; then if [ -z "$archive" ]; then archive=$1; shift; fi; if [ $# -gt 0 ] && [ -z "$path" ]; then path=$1; fi; fi
  [ -n "$archive" ] || die "restore needs an archive name (globenet-backup list shows them)"
  valid_archive "$archive"
  kind=${archive%%--*}
  name=${archive#*--}
  name=${name%--*}
  stamp=$(date -u +%Y%m%dT%H%M%SZ)
  if [ -z "$to" ]; then
    install -d -m 0700 -- "$RESTORE_BASE"
    to=$(new_staging "$RESTORE_BASE/$stamp")
  fi
  staging_dir "$to"
  if [ "$inplace" = yes ]; then
    case $kind in
      home)
        for line in "${SOURCES[@]}"; do
          IFS=$'\t' read -r -a f <<<"$line"
          if [ "${f[0]}" = home ] && [ "${f[1]}" = "$name" ]; then home=${f[2]}; fi
        done
        [ -n "$home" ] || die "$name is not a home this host backs up"
        ;;
      homes)
        # Whose home: the one the path is in (the archive holds every home of the host).
        [ -n "$path" ] || die "--in-place from $archive needs the path of one member's home in it (home/<handle>[/…]), as files shows"
        case /$path/ in */../* | */./*) die "\"$path\" climbs out: give a plain path inside one home" ;; esac
        for line in "${SOURCES[@]}"; do
          IFS=$'\t' read -r -a f <<<"$line"
          if [ "${f[0]}" = home ] && { [ "$path" = "${f[2]#/}" ] || [[ $path == "${f[2]#/}"/* ]]; }; then home=${f[2]} name=${f[1]}; fi
        done
        [ -n "$home" ] || die "$path is in no home this host backs up"
        ;;
      *) die "--in-place restores a member's home only; for $kind, copy from the staging by hand" ;;
    esac
  fi
  # As root into root's fresh staging folder: owners and modes as they were (numeric ids).
  (cd -- "$to" && if [ -n "$path" ]; then borg_ extract --numeric-ids -- "$REPO::$archive" "$path"; else borg_ extract --numeric-ids -- "$REPO::$archive"; fi) ||
    die "the extraction of $archive${path:+ ($path)} into $to FAILED (see borg's message above)"
  echo "staging=$to"
  if [ "$inplace" = yes ]; then
    [ -d "$to${home}" ] || die "the archive holds nothing under $home${path:+ at $path}"
    copy_in_as_member "$name" "$home" "$to${home}" || die "copying into $home as $name FAILED (the files stay in $to)"
    if [ "${#SKIPPED[@]}" -gt 0 ]; then
      for n in "${SKIPPED[@]}"; do printf 'skipped=%q\n' "$n"; done
      echo "kept_staging=$to"
    else
      rm -rf -- "$to"
    fi
    echo "restored=$home"
  fi
}

cmd_restore_db() {
  local archive=${1:-} db=${2:-} replace=${3:-} target stamp keep
  local -a sock
  [ -n "$archive" ] || die "restore-db needs an archive and a database name: restore-db database--velo_wp--20261204T023000Z velo_wp [--replace]"
  [ -n "$db" ] || die "restore-db needs the database name after the archive"
  valid_archive "$archive"
  [[ $archive == database--"$db"--* ]] || die "$archive is not an archive of database $db"
  [[ $db =~ ^[A-Za-z0-9_]{1,38}$ ]] || die "\"$db\" is not a database name this command restores"
  mapfile -t sock < <(sock_args)
  stamp=$(date -u +%Y%m%dT%H%M%S)
  if [ "$replace" = --replace ]; then
    target=$db
    # What is there now is kept first: a replace can be undone.
    install -d -m 0700 -- "$RESTORE_BASE"
    keep="$RESTORE_BASE/$db-before-restore-$stamp.sql.gz"
    mariadb-dump "${sock[@]}" --single-transaction --routines --triggers --events --hex-blob "$db" | gzip >"$keep"
    echo "kept=$keep"
    # The dump drops and makes again each table it holds; tables made since stay.
    borg_ extract --stdout -- "$REPO::$archive" | mariadb "${sock[@]}" "$db"
  else
    [ -z "$replace" ] || die "unknown option $replace (only --replace)"
    target="${db}_restored_$stamp"
    # shellcheck disable=SC2016 # the backquotes are SQL's, not the shell's
    printf 'CREATE DATABASE `%s` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;\n' "$target" | mariadb "${sock[@]}"
    # The dump names no database (no CREATE DATABASE or USE): its tables go where it is loaded.
    borg_ extract --stdout -- "$REPO::$archive" | mariadb "${sock[@]}" "$target"
  fi
  echo "database=$target"
}

# The two volunteers' offline copy (npm run backup -- export-key): the repository, the
# passphrase, then borg's paper form of the key the repository holds (repokey: encrypted with
# the passphrase). On stdout only, for the command that asked over SSH; printf is bash's own,
# so the passphrase is in no process's argv.
cmd_export_key() {
  local pass
  pass=$(<"$ETC/passphrase")
  printf 'repository=%s\npassphrase=%s\n' "$REPO" "$pass"
  borg_ key export --paper -- "$REPO"
}

# ---- VPS disks (docs/architecture.md, "Backups", "VPS disks"): the whole disk as one raw
# image, read from a point in time through NBD (libnbd's nbdcopy writes it to borg's stdin).

# The target (vda…) of domain $1's disk whose file is $2, or nothing.
disk_target() { virsh domblklist --details "$1" | awk -v d="$2" 'NR > 2 && $2 == "disk" && $4 == d { print $3 }'; }
# The backing file named in the header of qcow2 image $1 (-U: QEMU may hold it), or nothing.
backing_of() { qemu-img info -U --output=json -- "$1" | sed -n 's/^    "backing-filename": "\(.*\)",\{0,1\}$/\1/p' | head -n 1; }
format_of() { qemu-img info -U --output=json -- "$1" | sed -n 's/^    "format": "\(.*\)",\{0,1\}$/\1/p' | head -n 1; }

# Ends this run's pull-mode backup job of domain $1 (the one serving on folder $2) and thaws the
# guest when a freeze was asked and not yet undone (VPS_FREEZE=yes); the guest never left its
# own disk, so this is all there is to undo.
VPS_FREEZE=no
vps_end_job() {
  local job
  # Read whole before matching: grep -q closing the pipe early would fail it (pipefail).
  job=$(virsh backup-dumpxml "$1" 2>/dev/null) || job=''
  if grep -qF -- "$2/nbd.sock" <<<"$job"; then
    virsh domjobabort "$1" >/dev/null 2>&1 || printf 'globenet-backup: could not end the backup job of %s: see virsh domjobinfo %s\n' "$1" "$1" >&2
  fi
  if [ "$VPS_FREEZE" = yes ]; then virsh domfsthaw "$1" >/dev/null 2>&1 || true; fi
  rm -rf -- "$2"
}

# vps_disk_create REPO::ARCHIVE NAME DOMAIN DISK BASE CONSISTENCY_FILE: borg's JSON on stdout,
# its exit status (2 for failures before borg; 99: no domain and no disk, nothing to back up).
# Writes frozen, crash or off to CONSISTENCY_FILE. Runs in a subshell: its EXIT trap ends the
# job whatever happens, so the guest keeps running on its own disk.
vps_disk_create() {
  local repoarch=$1 name=$2 domain=$3 disk=$4 base=$5 cfile=$6 state target dir t bk rc=0 consistency=crash
  export LIBVIRT_DEFAULT_URI=qemu:///system
  local id="vps-disk--$name"
  if ! command -v nbdcopy >/dev/null; then
    printf 'globenet-backup: %s: FAILED: nbdcopy is not installed on this hypervisor (apt-get install libnbd-bin): nothing was read\n' "$id" >&2
    return 2
  fi
  local names
  # libvirtd not answering must never read as "not defined" (its guests may be running).
  if names=$(virsh list --all --name 2>/dev/null); then
    if grep -qxF -- "$domain" <<<"$names"; then state=$(virsh domstate "$domain"); else state=undefined; fi
  else
    state=unknown
  fi
  case $state in
    "shut off" | undefined | unknown)
      if [ ! -e "$disk" ] && [ "$state" = unknown ]; then
        printf 'globenet-backup: %s: libvirtd does not answer and the disk %s does not exist: nothing to back up\n' "$id" "$disk" >&2
        return 99
      fi
      if [ "$state" = unknown ]; then
        printf 'globenet-backup: %s: FAILED: libvirtd does not answer on %s: the guest may be running, its disk was not read. Start libvirtd, then run again.\n' "$id" "$LIBVIRT_DEFAULT_URI" >&2
        return 2
      fi
      if [ ! -e "$disk" ]; then
        if [ "$state" = undefined ]; then
          printf 'globenet-backup: %s: the guest %s is not defined and its disk %s does not exist (yet): nothing to back up\n' "$id" "$domain" "$disk" >&2
          return 99
        fi
        printf 'globenet-backup: %s: FAILED: the disk %s of the guest %s does not exist. Nothing was sent; restore it (npm run backup -- restore <member>/<vps> --replace) or look at the hypervisor.\n' "$id" "$disk" "$domain" >&2
        return 2
      fi
      if [ ! -f "$disk" ] || [ -L "$disk" ]; then printf 'globenet-backup: %s: FAILED: %s is not a plain file\n' "$id" "$disk" >&2; return 2; fi
      # Root reads this header: a guest that broke out of its QEMU could have named another
      # backing file (a host file) there. Only the base image is followed.
      bk=$(backing_of "$disk") || bk='?'
      if [ "$(format_of "$disk")" != qcow2 ] || { [ -n "$bk" ] && [ "$bk" != "$base" ]; }; then
        printf 'globenet-backup: %s: FAILED: the disk %s is not a qcow2 image on the base %s (backing: %s): refusing to read it as root; inspect it by hand\n' "$id" "$disk" "$base" "${bk:-none}" >&2
        return 2
      fi
      echo off >"$cfile"
      printf 'note: %s: the guest is off: its disk is copied as it is\n' "$id"  >&2
      # qemu-nbd -r locks the image against writers: the guest cannot start during the copy.
      # Through bash -c: borg's argument parser drops a "--" among the command's arguments,
      # and without it nbdcopy would take qemu-nbd's options as its own.
      # shellcheck disable=SC2016 # $1 is the inner shell's
      borg_ create --json --stdin-name "$domain.raw" --content-from-command -- "$repoarch" \
        bash -c 'exec nbdcopy -- [ qemu-nbd -r -f qcow2 "$1" ] -' nbdcopy "$disk" || rc=$?
      return "$rc"
      ;;
  esac
  target=$(disk_target "$domain" "$disk")
  if [[ ! $target =~ ^[a-z]{2,4}[a-z0-9]*$ ]]; then
    printf 'globenet-backup: %s: FAILED: %s is not a disk of the running guest %s (virsh domblklist %s): nothing was read\n' "$id" "$disk" "$domain" "$domain" >&2
    return 2
  fi
  # The NBD socket and the scratch file (the blocks the guest overwrites during the copy keep
  # their old content there) are made by QEMU, which runs as the disk's owner while the guest
  # runs; root reads through the socket. No one else can enter the folder.
  dir=$(mktemp -d /run/globenet-backup-nbd.XXXXXX) || return 2
  # The locals are gone when the trap runs: their values are written into it.
  # shellcheck disable=SC2064
  trap "vps_end_job $(printf %q "$domain") $(printf %q "$dir")" EXIT
  chown -- "$(stat -c %u:%g -- "$disk")" "$dir" || return 2
  {
    printf "<domainbackup mode='pull'>\n  <server transport='unix' socket='%s/nbd.sock'/>\n  <disks>\n" "$dir"
    for t in $(virsh domblklist "$domain" | awk 'NR > 2 && NF { print $1 }'); do
      if [ "$t" = "$target" ]; then
        printf "    <disk name='%s' backup='yes' type='file'><scratch file='%s/scratch.qcow2'/></disk>\n" "$t" "$dir"
      else
        printf "    <disk name='%s' backup='no'/>\n" "$t"
      fi
    done
    printf '  </disks>\n</domainbackup>\n'
  } >"$dir/backup.xml"
  # The guest agent (when the guest runs one) flushes and freezes the file systems for the
  # instant the point in time is taken; without it the copy is crash-consistent.
  VPS_FREEZE=yes
  if timeout 30 virsh domfsfreeze "$domain" >/dev/null 2>&1; then consistency=frozen; fi
  bk=0
  virsh backup-begin "$domain" "$dir/backup.xml" >/dev/null || bk=$?
  if [ "$consistency" = frozen ]; then virsh domfsthaw "$domain" >/dev/null || printf 'globenet-backup: %s: could not thaw the file systems of %s: run virsh domfsthaw %s\n' "$id" "$domain" "$domain" >&2; fi
  VPS_FREEZE=no
  [ "$consistency" = frozen ] || timeout 30 virsh domfsthaw "$domain" >/dev/null 2>&1 || true
  if [ "$bk" -ne 0 ]; then
    printf 'globenet-backup: %s: FAILED: libvirt refused the backup of %s (virsh backup-begin, see above); the guest runs on as before\n' "$id" "$domain" >&2
    return 2
  fi
  echo "$consistency" >"$cfile"
  if [ "$consistency" = frozen ]; then
    printf 'note: %s: file systems frozen by the guest agent for the snapshot\n' "$id" >&2
  else
    printf 'note: %s: CRASH-CONSISTENT: no guest agent answered, the copy is the disk as after a power cut (journaled file systems recover)\n' "$id" >&2
  fi
  borg_ create --json --stdin-name "$domain.raw" --content-from-command -- "$repoarch" \
    nbdcopy "nbd+unix:///$target?socket=$dir/nbd.sock" - || rc=$?
  return "$rc"
}

# The copy's consistency (frozen, crash, off) added to the status line of ID, and said.
vps_consistency_to_status() {
  [ -n "$2" ] || return 0
  LINE[$1]+=" consistency=$2"
  write_status
  case $2 in
    frozen) printf '%s: %s, file systems frozen by the guest agent\n' "$1" "$(field_of "$1" result)" ;;
    crash) printf '%s: %s, CRASH-CONSISTENT (no guest agent answered: the disk as after a power cut)\n' "$1" "$(field_of "$1" result)" ;;
    off) printf '%s: %s, the guest was off\n' "$1" "$(field_of "$1" result)" ;;
  esac
}

# Graceful stop of domain $1: ACPI, up to $2 seconds, then pulled off (virsh destroy).
vps_stop() {
  local end
  [ "$(virsh domstate "$1")" != "shut off" ] || return 0
  virsh shutdown "$1" >/dev/null 2>&1 || true
  end=$((SECONDS + $2))
  while [ "$(virsh domstate "$1")" != "shut off" ]; do
    if ((SECONDS >= end)); then
      printf 'note: %s did not stop within %s s of the ACPI request: forced off\n' "$1" "$2" >&2
      virsh destroy "$1" >/dev/null 2>&1 || true
      break
    fi
    sleep 0.5
  done
  [ "$(virsh domstate "$1")" = "shut off" ] || die "could not stop the guest $1: nothing was replaced"
}

# restore-disk <archive> [--replace] [--shutdown-timeout <s>]: the disk into a root-only
# staging folder as a qcow2 image; with --replace the guest is stopped, its disk kept aside
# (<disk>.before-restore-<stamp>), the restored one put in its place and the guest started.
cmd_restore_disk() {
  local archive='' replace=no limit=120 name line domain='' disk='' base='' stamp to raw img state kept=''
  local -a f
  while [ $# -gt 0 ]; do
    case $1 in
      --replace) replace=yes; shift ;;
      --shutdown-timeout) limit=${2:?--shutdown-timeout needs seconds}; shift 2 ;;
      -*) die "unknown option $1 (restore-disk <archive> [--replace] [--shutdown-timeout <s>])" ;;
      *) [ -z "$archive" ] || die "restore-disk takes one archive (got \"$1\" too)"; archive=$1; shift ;;
    esac
  done
  [ -n "$archive" ] || die "restore-disk needs an archive name (globenet-backup list vps-disk-- shows them)"
  valid_archive "$archive"
  [[ $limit =~ ^[0-9]{1,4}$ ]] || die "--shutdown-timeout needs a number of seconds"
  [[ $archive == vps-disk--* ]] || die "$archive is not a VPS disk archive (vps-disk--<member>--<vps>--<stamp>)"
  name=${archive#vps-disk--}
  name=${name%--*}
  for line in "${SOURCES[@]}"; do
    IFS=$'\t' read -r -a f <<<"$line"
    if [ "${f[0]}" = vps-disk ] && [ "${f[1]}" = "$name" ]; then domain=${f[2]} disk=${f[3]} base=${f[4]:-}; fi
  done
  [ -n "$domain" ] || die "$name is not a VPS this host backs up ($ETC/sources)"
  stamp=$(date -u +%Y%m%dT%H%M%SZ)
  install -d -m 0700 -- "$RESTORE_BASE"
  to=$(new_staging "$RESTORE_BASE/$stamp")
  staging_dir "$to"
  (cd -- "$to" && borg_ extract --sparse -- "$REPO::$archive") || die "the extraction of $archive into $to FAILED (see borg's message above)"
  raw="$to/$domain.raw"
  if [ ! -f "$raw" ] || [ -L "$raw" ]; then die "the archive $archive holds no $domain.raw"; fi
  img="$to/$domain.qcow2"
  # -f raw: the archive's bytes are read as data, never as a header that names other files.
  # On the base image again when it is there: the restored disk is an overlay as before.
  if [ -n "$base" ] && [ -f "$base" ]; then
    qemu-img convert -q -f raw -O qcow2 -B "$base" -F qcow2 -- "$raw" "$img" || die "converting the restored disk FAILED (the raw image stays in $to)"
  else
    qemu-img convert -q -f raw -O qcow2 -- "$raw" "$img" || die "converting the restored disk FAILED (the raw image stays in $to)"
  fi
  rm -f -- "$raw"
  echo "staging=$img"
  [ "$replace" = yes ] || return 0
  export LIBVIRT_DEFAULT_URI=qemu:///system
  state=$(virsh domstate "$domain" 2>/dev/null) || die "the guest $domain is not defined on this host: nothing was replaced (apply the stack first, or put $img in place by hand)"
  vps_stop "$domain" "$limit"
  [ "$state" = "shut off" ] || echo "stopped=$domain"
  # What was there is kept: a replace can be undone. Same folder: a rename, not a copy.
  if [ -e "$disk" ] || [ -L "$disk" ]; then
    kept="$disk.before-restore-$stamp"
    mv -- "$disk" "$kept"
    echo "kept=$kept"
  fi
  cp --sparse=always -- "$img" "$disk.restore-tmp"
  chmod 0600 -- "$disk.restore-tmp"
  mv -f -- "$disk.restore-tmp" "$disk"
  rm -rf -- "$to"
  echo "replaced=$disk"
  virsh start "$domain" >/dev/null || die "the restored disk is in place (${kept:+what was there is in $kept}) but the guest $domain did not start: see virsh start $domain"
  echo "started=$domain"
}

[ "$(id -u)" = 0 ] || die "run as root"
command -v borg >/dev/null || die "borg is not installed (Debian package borgbackup)"
host=''
if [ "${1:-}" = --host ]; then host=${2:?--host needs the inventory name of a host}; shift 2; fi
select_host "$host"
cmd=${1:-}
[ $# -eq 0 ] || shift
load_config
case $cmd in
  run) cmd_run "$@" ;;
  scheduled) cmd_scheduled ;;
  check) cmd_check ;;
  list) cmd_list "$@" ;;
  list-home) cmd_list_home "$@" ;;
  files) cmd_files "$@" ;;
  restore) cmd_restore "$@" ;;
  restore-db) cmd_restore_db "$@" ;;
  export-key) cmd_export_key ;;
  restore-disk) cmd_restore_disk "$@" ;;
  *) die "usage: globenet-backup [--host <host>] run [--only <kind>--<name>|homes] | scheduled | check | list [<prefix>] | list-home <handle> | files <archive> [<path>] | restore <archive> [<path>] [--to <dir>] [--in-place] | restore-db <archive> <database> [--replace] | restore-disk <archive> [--replace] [--shutdown-timeout <s>] | export-key" ;;
esac
