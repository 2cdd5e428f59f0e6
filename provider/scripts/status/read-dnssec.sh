#!/usr/bin/env bash
# DNSSEC as the primary holds it (lib/status/dnssec.ts; after as-bind.sh): KEYS_DIR ZONE…
# For each zone, NUL-separated: zone, `rndc dnssec -status` output, DS lines of its KSKs.
keys=$1; shift
for zone in "$@"; do
  case "$zone" in *[!a-z0-9.-]*|.*) echo "bad zone name" >&2; exit 2 ;; esac
  printf '%s\0' "$zone"
  rndc dnssec -status "$zone" 2>&1 || true
  printf '\0'
  for k in "$keys"/K"$zone".+*.key; do
    [ -e "$k" ] || continue
    st=${k%.key}.state
    if [ -f "$st" ] && grep -qx 'KSK: yes' "$st" && ! grep -q '^Removed:' "$st"; then
      dnssec-dsfromkey -2 "$k" 2> /dev/null || true
    fi
  done
  printf '\0'
done
