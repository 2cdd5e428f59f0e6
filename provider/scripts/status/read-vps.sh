#!/usr/bin/env bash
# Each guest's state on a hypervisor (lib/status/vps.ts): DOMAIN…
# Prints `vps <domain> <state>` per domain, the state as libvirt says it with spaces as '_'
# (running, paused, shut_off …), or `undefined` when the hypervisor has no such guest.
for d in "$@"; do
  case "$d" in *[!a-z0-9-]*|-*|'') echo "bad domain name" >&2; exit 2 ;; esac
  if state=$(virsh domstate "$d" 2>/dev/null) && [ -n "$state" ]; then
    printf 'vps %s %s\n' "$d" "$(head -n 1 <<<"$state" | tr ' ' '_')"
  else
    printf 'vps %s undefined\n' "$d"
  fi
done
