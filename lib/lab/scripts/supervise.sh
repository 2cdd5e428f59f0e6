#!/usr/bin/env bash
# The multi-host lab's stand-in for systemd's Restart= on a host without systemd (lib/lab/monitoring.ts):
# runs a daemon in the foreground, keeps its PID in PIDFILE (where the monitoring file set's reload
# finds it, provider/scripts/file-set/file-set.sh), starts it again when it exits, and waits for
# CONFIG to exist before the first start (Prometheus and Alertmanager refuse to start without
# theirs, which the first apply writes). SIGTERM stops the daemon, then this loop.
#
#   supervise.sh PIDFILE CONFIG CMD [ARG…]     PIDFILE or CONFIG "-": none
set -uo pipefail
pidfile=$1 config=$2
shift 2
child=""
stop() {
  if [ -n "$child" ]; then
    kill -TERM "$child" 2> /dev/null
    wait "$child"
  fi
  if [ "$pidfile" != - ]; then rm -f -- "$pidfile"; fi
  exit 0
}
trap stop TERM INT
said=no
while :; do
  if [ "$config" = - ] || [ -e "$config" ]; then
    "$@" &
    child=$!
    if [ "$pidfile" != - ]; then printf '%s\n' "$child" > "$pidfile"; fi
    rc=0
    wait "$child" || rc=$?
    child=""
    printf '%s %s exited (%s): starting it again in 2 s\n' "$(date -u +%FT%TZ)" "$1" "$rc"
  elif [ "$said" = no ]; then
    printf '%s waiting for %s (the first apply writes it)\n' "$(date -u +%FT%TZ)" "$config"
    said=yes
  fi
  sleep 2 &
  wait $! || true
done
