#!/usr/bin/env bash
# Import, read-only (lib/import/guests.ts): every libvirt domain of a hypervisor — its
# definition (virsh dumpxml --inactive), its state, the addresses libvirt saw (ARP, running
# guests only) and each file disk's format, size and base image (qemu-img info -U, which
# opens the image without a lock and writes nothing). Argument: URI (empty: virsh's default).
#
# virsh runs with -r (a read-only connection: libvirt refuses any change on it). Domains are
# named by UUID (hex and hyphens, checked); every other value is printed as base64, so a name
# or path holding a tab or a line break cannot shift a field. Lines: TAG<TAB>UUID<TAB>VALUE.
set -euo pipefail
uri=()
[ -z "${1:-}" ] || uri=(-c "$1")
v() { virsh -r "${uri[@]}" "$@"; }
b64() { base64 -w0; }
v list --all --uuid | while IFS= read -r id; do
  [[ "$id" =~ ^[0-9a-f-]{36}$ ]] || continue
  printf 'xml\t%s\t%s\n' "$id" "$(v dumpxml --inactive "$id" | b64)"
  printf 'state\t%s\t%s\n' "$id" "$(v domstate "$id" | head -n 1 | b64)"
  if addrs=$(v domifaddr "$id" --source arp 2> /dev/null); then
    printf 'addr\t%s\t%s\n' "$id" "$(printf '%s' "$addrs" | b64)"
  fi
  v domblklist --details "$id" | tail -n +3 | while read -r type device _target source; do
    if [ "$type" != file ] || [ "$device" != disk ] || [ ! -f "$source" ]; then continue; fi
    printf 'disk\t%s\t%s\t%s\n' "$id" "$(printf '%s' "$source" | b64)" "$(qemu-img info -U --output=json -- "$source" | b64)"
  done
done
