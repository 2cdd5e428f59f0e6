#!/usr/bin/env bash
# The backup status file of a protected host (lib/status/backups.ts): HOST. Written by
# globenet-backup after each run and check; nothing when the host has never run one.
set -euo pipefail
host=${1:?the inventory host name}
case $host in *[!a-z0-9-]* | -*) echo "bad host name" >&2; exit 2 ;; esac
status=/var/lib/globenet/backup/$host/status
if [ -f "$status" ] && [ ! -L "$status" ]; then cat -- "$status"; fi
