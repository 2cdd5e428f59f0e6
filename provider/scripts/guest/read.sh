#!/usr/bin/env bash
# Guest read (after common.sh): DOMAIN DISK SEED ARCHIVE_DIR [NETWORK_FILTER].
# Values that may hold anything travel base64.
domain=$1 disk=$2 seed=$3 archdir=$4 filter=${5:-}
if ! is_defined "$domain"; then echo "absent=1"; exit 0; fi
report "$domain" "$archdir"
if [ -n "$filter" ]; then
  if fx=$(virsh nwfilter-dumpxml "$filter" 2> /dev/null); then printf 'nwfilter=%s\n' "$(printf '%s' "$fx" | base64 -w0)"; else echo "nwfilter.absent=1"; fi
  filter_ports "$domain"
fi
printf 'xml=%s\n' "$(virsh dumpxml --inactive "$domain" | base64 -w0)"
if [ -f "$disk" ]; then printf 'disk=%s\n' "$(qemu-img info -U --output=json -- "$disk" | base64 -w0)"; fi
if [ -f "$seed" ]; then
  for f in user-data meta-data network-config; do
    printf 'seed.%s=%s\n' "$f" "$(isoinfo -i "$seed" -R -x "/$f" | base64 -w0)"
  done
fi
