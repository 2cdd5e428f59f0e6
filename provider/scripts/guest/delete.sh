#!/usr/bin/env bash
# Guest delete (after common.sh): DOMAIN DISK SEED ARCHIVE_DIR SHUTDOWN_TIMEOUT BASE_IMAGE, then
# the guest's boot files. Never removes a disk without a verified archive of it.
domain=$1 disk=$2 seed=$3 archdir=$4 timeout=$5 base=$6
shift 6
defined=0
if is_defined "$domain"; then defined=1; fi
if [ "$defined" = 1 ]; then stop_guest "$domain" "$timeout"; fi
if [ -f "$disk" ]; then
  mkdir -p -- "$archdir"
  install -d -m 0700 -- "$archdir/vps"
  while :; do
    out="$archdir/vps/$domain-$(date -u +%Y%m%dT%H%M%SZ).qcow2"
    if [ ! -e "$out" ]; then break; fi
    sleep 1
  done
  part="$out.partial"
  trap 'rm -f -- "$part"' EXIT
  # The disk's header is in reach of whoever broke out of the guest's QEMU: a backing file
  # pointing elsewhere would make root copy that file into the archive. Only our overlay (or a
  # disk already flattened) is read; anything else stays for a volunteer to look at.
  bk=$(backing "$disk")
  if [ -n "$bk" ] && [ "$bk" != "$base" ]; then
    echo "the disk $disk names $bk as its backing file, not the base image $base: refusing to read it as root; it was kept and nothing was removed (inspect it by hand)" >&2
    exit 8
  fi
  t0=$(now)
  # Flattened: the archive holds the base image's blocks too, so it outlives the base.
  qemu-img convert -O qcow2 -- "$disk" "$part"
  fail() { echo "the archive of $disk failed its verification ($1): the disk was kept, nothing was removed" >&2; exit 7; }
  qemu-img check -q -- "$part" || fail "qemu-img check"
  [ -z "$(backing "$part")" ] || fail "it still has a backing file"
  [ "$(vsize "$part")" = "$(vsize "$disk")" ] || fail "virtual sizes differ"
  qemu-img compare -q -- "$disk" "$part" || fail "contents differ from the disk"
  chmod 0600 -- "$part"
  mv -- "$part" "$out"
  sync -- "$out"
  echo "timing=archive:$(since "$t0")"
  printf 'archive=%s\n' "$out"
  echo "note: archived the disk of $domain to $out" >&2
else
  echo "note: $disk does not exist: nothing to archive" >&2
fi
# Undefined before the files go, so no defined domain ever points at a removed disk.
if [ "$defined" = 1 ]; then virsh undefine "$domain" >/dev/null; fi
# The rest of the arguments: this guest's own boot files.
rm -f -- "$disk" "$seed" "$@"
