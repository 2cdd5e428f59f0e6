#!/usr/bin/env bash
# Import, read-only: the unix accounts. "UID_MIN n", "UID_MAX n" (from /etc/login.defs,
# Debian's defaults when unset), then `getent passwd`.
min=$(awk '$1 == "UID_MIN" { print $2 }' /etc/login.defs 2>/dev/null || true)
max=$(awk '$1 == "UID_MAX" { print $2 }' /etc/login.defs 2>/dev/null || true)
printf 'UID_MIN %s\nUID_MAX %s\n' "${min:-1000}" "${max:-60000}"
getent passwd
