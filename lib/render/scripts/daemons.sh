#!/usr/bin/env bash
# The daemons' process check of every host (docs/architecture.md, "Monitoring"; lib/render/monitoring-daemons.ts):
# for each daemon the host's roles expect (one line of EXPECTED: daemon comm user, rendered from
# the inventory), counts the processes of that name (the kernel's comm, as ps shows it) run by
# that user (or by root), and writes for the node exporter's textfile collector whether one is
# there. The user matters: a member's process named like a daemon (a member runs code on the web
# host) is not the daemon. Run every minute by the node-exporter set's systemd timer (globenet-daemons.timer).
#
#   daemons.sh EXPECTED OUT      OUT: the .prom file, replaced by a rename (never read half-written)
set -uo pipefail
expected=$1 out=$2
[ -r "$expected" ] || { printf 'cannot read %s\n' "$expected" >&2; exit 2; }
command -v ps > /dev/null || { printf 'ps is not installed: install procps\n' >&2; exit 2; }

# Every process once: its effective uid and its comm (which may hold spaces: the rest of the line).
procs=$(ps -e -o euid= -o comm=) || { printf 'ps failed\n' >&2; exit 1; }

running=() count=()
while read -r daemon comm user rest; do
  case "$daemon" in '' | '#'*) continue ;; esac
  # Only names: each value becomes a label, written as is.
  for v in "$daemon" "$comm" "$user"; do
    case "$v" in *[!A-Za-z0-9.:_-]*) printf 'skipping a line of %s: unexpected characters in %s\n' "$expected" "$v" >&2; continue 2 ;; esac
  done
  [ -z "${rest:-}" ] || { printf 'skipping a line of %s: more than 3 fields\n' "$expected" >&2; continue; }
  labels="daemon=\"$daemon\",process=\"$comm\",user=\"$user\""
  # A user that does not exist (the package is missing) runs nothing.
  if uid=$(id -u -- "$user" 2> /dev/null); then
    # Root's process of that name counts too: a member cannot run as root, and a daemon started
    # by hand as root (or by a lab without Debian's units) does run.
    n=$(awk -v u="$uid" -v c="$comm" '{ uid = $1; sub(/^[ \t]*[0-9]+[ \t]+/, ""); if ((uid == u || uid == 0) && $0 == c) n++ } END { print n + 0 }' <<< "$procs")
  else
    n=0
  fi
  count+=("globenet_daemon_processes{$labels} $n")
  if [ "$n" -gt 0 ]; then running+=("globenet_daemon_running{$labels} 1"); else running+=("globenet_daemon_running{$labels} 0"); fi
done < "$expected"

dir=$(dirname -- "$out")
tmp=$(mktemp "$dir/.globenet-daemons.XXXXXX") || exit 1
trap 'rm -f -- "$tmp"' EXIT
{
  echo "# HELP globenet_daemon_running 1 when a process of the daemon runs as its user, 0 otherwise."
  echo "# TYPE globenet_daemon_running gauge"
  if [ "${#running[@]}" -gt 0 ]; then printf '%s\n' "${running[@]}"; fi
  echo "# HELP globenet_daemon_processes How many processes of the daemon's name run as its user."
  echo "# TYPE globenet_daemon_processes gauge"
  if [ "${#count[@]}" -gt 0 ]; then printf '%s\n' "${count[@]}"; fi
  echo "# HELP globenet_daemon_check_timestamp_seconds When the daemons' check last ran."
  echo "# TYPE globenet_daemon_check_timestamp_seconds gauge"
  echo "globenet_daemon_check_timestamp_seconds $(date +%s)"
} > "$tmp" || exit 1
chmod 0644 -- "$tmp"
mv -f -- "$tmp" "$out"
trap - EXIT
