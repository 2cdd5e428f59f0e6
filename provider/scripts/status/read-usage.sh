#!/usr/bin/env bash
# Disk and inode use of members' homes on a web host (lib/status/usage.ts): HOME…  (after
# account/quota.sh). Prints `home <path> <bytes> <inodes> <quota>` per home, quota `on` when the
# home's file system has the kernel's user quotas on, else `off` (`home <path> missing` without
# one). du counts what is on disk, without following links, leaving the home's file system, or
# entering what is mounted inside it (an sftp member's read-only ~/logs: root's files, which no
# quota of the member counts).
export LC_ALL=C
for home in "$@"; do
  case "$home" in /*) ;; *) echo "bad home" >&2; exit 2 ;; esac
  case "$home" in *[!A-Za-z0-9._/-]*|*..*) echo "bad home" >&2; exit 2 ;; esac
  if [ ! -d "$home" ] || [ -L "$home" ]; then echo "home $home missing"; continue; fi
  skip=()
  while IFS= read -r m; do skip+=("--exclude=$m"); done < <(awk -v h="$home/" 'index($5, h) == 1 { print $5 }' /proc/self/mountinfo)
  bytes=$(du -s -x -B1 "${skip[@]}" -- "$home" 2>/dev/null | cut -f1)
  inodes=$(du -s -x --inodes "${skip[@]}" -- "$home" 2>/dev/null | cut -f1)
  quota=off
  if quota_mount "$home" >/dev/null; then quota=on; fi
  echo "home $home ${bytes:-0} ${inodes:-0} $quota"
done
