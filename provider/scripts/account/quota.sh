#!/usr/bin/env bash
# Shared by the account's converge and the usage view (lib/status/usage.ts): quota_mount PATH
# prints the mount point of the file system holding PATH when it has the kernel's user quotas on
# (set with setquota), else fails. quota_set USER KB INODES MOUNT sets USER's limits there:
# blocks (1 KiB) and inodes, soft = hard (no grace period).
quota_mount() {
  command -v setquota >/dev/null 2>&1 && command -v quotaon >/dev/null 2>&1 || return 1
  local mnt qs
  mnt=$(df --output=target -- "$1" | tail -n 1)
  qs=$(quotaon -p -u "$mnt" 2>&1 || true)
  case "$qs" in *" is on"*) printf '%s' "$mnt" ;; *) return 1 ;; esac
}
quota_set() {
  case "$2$3" in *[!0-9]* | '') echo "quota_set: limits must be whole numbers" >&2; return 2 ;; esac
  setquota -u "$1" "$2" "$2" "$3" "$3" "$4"
}
