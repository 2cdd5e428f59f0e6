#!/usr/bin/env bash
# The backup host's weekly checks of its repositories (lib/status/backups.ts): HOST…, the
# protected hosts. One line per host whose check has a result file: `HOST <its line>`, the line
# written by globenet-backup-repo-check or, before its first run, by the Repository's apply.
set -euo pipefail
for host in "$@"; do
  case $host in '' | *[!a-z0-9-]* | -*) echo "bad host name" >&2; exit 2 ;; esac
  f=/var/lib/globenet/backup-repos/$host.status
  if [ -f "$f" ] && [ ! -L "$f" ]; then printf '%s %s\n' "$host" "$(head -n 1 -- "$f")"; fi
done
