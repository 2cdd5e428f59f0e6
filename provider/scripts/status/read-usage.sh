#!/usr/bin/env bash
# Disk and inode use of members' homes on a web host (lib/status/usage.ts): HOME…
# Prints `home <path> <bytes> <inodes>` per home (`home <path> missing` without one). du counts
# what is on disk, without following links or leaving the home's file system.
export LC_ALL=C
for home in "$@"; do
  case "$home" in /*) ;; *) echo "bad home" >&2; exit 2 ;; esac
  case "$home" in *[!A-Za-z0-9._/-]*|*..*) echo "bad home" >&2; exit 2 ;; esac
  if [ ! -d "$home" ] || [ -L "$home" ]; then echo "home $home missing"; continue; fi
  bytes=$(du -s -x -B1 -- "$home" 2>/dev/null | cut -f1)
  inodes=$(du -s -x --inodes -- "$home" 2>/dev/null | cut -f1)
  echo "home $home ${bytes:-0} ${inodes:-0}"
done
