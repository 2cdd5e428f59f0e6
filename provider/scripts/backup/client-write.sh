#!/usr/bin/env bash
# Backup Client (after client-common.sh): HOST WHICH (sources|known_hosts|run|cron); stdin: the file.
# Written beside the target and renamed over it, so a reader never sees half a file.
# shellcheck disable=SC2154 # ETC, RUN and CRON come from client-common.sh
case $2 in
  sources) dest=$ETC/sources mode=0600 ;;
  known_hosts) dest=$ETC/known_hosts mode=0600 ;;
  run) dest=$RUN mode=0700 ;;
  # cron ignores a cron.d file that others can write.
  cron) dest=$CRON mode=0644 ;;
  *) die "unknown file $2" ;;
esac
root_file "$dest" "$mode"
