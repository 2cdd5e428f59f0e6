#!/usr/bin/env bash
# The backup status file of a protected host (lib/status/backups.ts), written by
# globenet-backup after each run and check; nothing when the host has never run one.
set -euo pipefail
status=/var/lib/globenet/backup/status
if [ -f "$status" ] && [ ! -L "$status" ]; then cat -- "$status"; fi
