#!/usr/bin/env bash
# Guest create (after common.sh): DOMAIN DISK SEED BASE_IMAGE DISK_GB RUNNING(1/0) ARCHIVE_DIR,
# then "from to" pairs of boot files. stdin: the tar unpack reads.
# shellcheck disable=SC2154 # tmp is set by unpack() of common.sh, which the loader puts first
domain=$1 disk=$2 seed=$3 base=$4 gb=$5 want=$6 archdir=$7
shift 7

unpack
if [ ! -e "$base" ]; then echo "no such file" >&2; exit 3; fi
if [ ! -f "$base" ]; then echo "it is not a regular file" >&2; exit 3; fi
want_bytes=$((gb * GIB))
base_bytes=$(vsize "$base")
if (( base_bytes > want_bytes )); then
  echo "disk_gb is $gb but the base image $base is larger ($base_bytes bytes): raise disk_gb" >&2
  exit 5
fi
if [ -e "$disk" ]; then
  # Left by an interrupted create, or the domain was undefined by hand: the disk is the
  # machine, so it is reused when it is this base's overlay, and never overwritten.
  if [ "$(backing "$disk")" != "$base" ]; then
    echo "disk $disk already exists and is not an overlay of $base: refusing to overwrite it (it may hold data; archive or move it by hand first)" >&2
    exit 5
  fi
  cur=$(vsize "$disk")
  if (( cur > want_bytes )); then
    echo "disk $disk already exists with $cur bytes, more than disk_gb $gb: shrinking would lose data (raise disk_gb)" >&2
    exit 6
  fi
  if (( cur < want_bytes )); then qemu-img resize -q -- "$disk" "$want_bytes"; fi
  echo "note: reused the existing disk $disk (an overlay of $base)" >&2
else
  mkdir -p -- "$(dirname -- "$disk")"
  qemu-img create -q -f qcow2 -F qcow2 -b "$base" -- "$disk.tmp" "$want_bytes"
  chmod 0600 -- "$disk.tmp"
  mv -- "$disk.tmp" "$disk"
fi
build_seed "$tmp/seed" "$seed"
copy_boot_files "$@"
if [ -f "$tmp/nwfilter.xml" ]; then define_filter "$tmp/nwfilter.xml"; fi
define_guest "$domain" "$tmp/domain.xml"
if ! is_defined "$domain"; then
  echo "virsh define did not define a domain named $domain: the XML names another domain" >&2
  exit 1
fi
if [ "$want" = 1 ]; then start_guest "$domain"; fi
report "$domain" "$archdir"
