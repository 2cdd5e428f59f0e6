#!/usr/bin/env bash
# Guest update (after common.sh): DOMAIN DISK SEED PREVIOUS_SEED DISK_GB RUNNING(1/0)
# SHUTDOWN_TIMEOUT REDEFINE(1/0) RESEED(1/0) RESTART(1/0) ARCHIVE_DIR, then "from to" pairs of
# boot files. stdin: the tar unpack reads.
# shellcheck disable=SC2154 # tmp is set by unpack() of common.sh, which the loader puts first
domain=$1 disk=$2 seed=$3 oldseed=$4 gb=$5 want=$6 timeout=$7 redefine=$8 reseed=$9 restart=${10} archdir=${11}
shift 11

unpack
if ! is_defined "$domain"; then
  echo "domain $domain is not defined here (undefined outside Pulumi?): run a refresh, then up defines it again on its existing disk" >&2
  exit 4
fi
if [ ! -f "$disk" ]; then
  echo "disk $disk is missing: nothing here can bring its data back; restore it from a backup or an archive, or replace the guest (up --replace) to start from a fresh disk" >&2
  exit 5
fi
want_bytes=$((gb * GIB))
cur=$(vsize "$disk")
if (( want_bytes < cur )); then
  echo "disk $disk has $cur bytes and disk_gb $gb is less: shrinking would lose data, refused" >&2
  exit 6
fi
grow=0
if (( want_bytes > cur )); then grow=1; fi
state=$(virsh domstate "$domain")
if [ "$reseed" = 1 ]; then build_seed "$tmp/seed" "$seed"; fi
copy_boot_files "$@"
if [ -f "$tmp/nwfilter.xml" ]; then define_filter "$tmp/nwfilter.xml"; fi
# The persistent configuration; a running guest takes it at its next start.
if [ "$redefine" = 1 ]; then define_guest "$domain" "$tmp/domain.xml"; fi
if [ "$state" != "shut off" ] && { [ "$grow" = 1 ] || [ "$restart" = 1 ] || [ "$want" = 0 ]; }; then
  stop_guest "$domain" "$timeout"
fi
# qemu-img resize needs the guest off (QEMU holds the image); cloud-init grows the file
# system at the next boot.
if [ "$grow" = 1 ]; then qemu-img resize -q -- "$disk" "$want_bytes"; fi
if [ "$want" = 1 ]; then start_guest "$domain"; fi
if [ -f "$tmp/nwfilter.xml" ]; then repair_filter_ports "$domain"; fi
if [ "$oldseed" != "$seed" ]; then rm -f -- "$oldseed"; fi
report "$domain" "$archdir"
