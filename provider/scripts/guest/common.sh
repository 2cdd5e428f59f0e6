#!/usr/bin/env bash
# Shell functions shared by the globenet:vm:Guest scripts (provider/resources/guest.ts); the
# loader puts this file first. Member-controlled values reach the scripts only as positional
# arguments (names and paths validated by guest-check.ts, quoted by remote.run) and as data on
# stdin (a tar with the domain XML and the seed files). `remote.run` prepends `set -euo pipefail`.
#
# Conventions: lines on stderr starting with "note: " are reported by the provider even when
# the step succeeds; results go to stdout as `key=value` lines. Exit codes the provider turns
# into specific messages: 3 base image missing, 4 domain not defined, 5 disk missing or in
# the way, 6 the disk would shrink, 7 the archive failed its verification.
export LIBVIRT_DEFAULT_URI=qemu:///system
# shellcheck disable=SC2034 # read by create.sh and update.sh, which the loader appends
GIB=1073741824

# qemu-img's JSON is one key per line; top-level keys are indented by four spaces. -U reads an
# image that a running QEMU holds open.
vsize() { qemu-img info -U --output=json -- "$1" | sed -n 's/^    "virtual-size": \([0-9][0-9]*\),\{0,1\}$/\1/p' | head -n 1; }
backing() { qemu-img info -U --output=json -- "$1" | sed -n 's/^    "backing-filename": "\(.*\)",\{0,1\}$/\1/p' | head -n 1; }

# Whether the domain is defined; fails the script when libvirtd does not answer (an unreachable
# libvirtd must never read as "not defined").
is_defined() {
  local names
  names=$(virsh list --all --name) || { echo "libvirtd does not answer on $LIBVIRT_DEFAULT_URI" >&2; exit 1; }
  grep -qxF -- "$1" <<<"$names"
}

now() { printf '%s' "$EPOCHREALTIME"; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }'; }

# Graceful stop: the ACPI power button, up to $2 seconds, then pull the plug (virsh destroy).
stop_guest() {
  local d=$1 limit=$2 t0 end
  t0=$(now)
  case "$(virsh domstate "$d")" in
    "shut off") return 0 ;;
    paused) virsh resume "$d" >/dev/null ;;
  esac
  virsh shutdown "$d" >/dev/null 2>&1 || true
  end=$((SECONDS + limit))
  while [ "$(virsh domstate "$d")" != "shut off" ]; do
    if (( SECONDS >= end )); then
      echo "note: $d did not shut down within $limit seconds of the ACPI request: forced off (virsh destroy)" >&2
      virsh destroy "$d" >/dev/null 2>&1 || true
      break
    fi
    sleep 0.2
  done
  [ "$(virsh domstate "$d")" = "shut off" ] || { echo "could not stop $d" >&2; exit 1; }
  echo "timing=stop:$(since "$t0")"
}

# Direct boot: copies each "from to" pair of arguments (the image's kernel and initrd to the
# guest's own files), only where the copy differs; libvirt relabels them for this domain.
copy_boot_files() {
  while [ "$#" -ge 2 ]; do
    if [ ! -f "$1" ]; then echo "direct boot: $1 does not exist on this hypervisor (is the base image built?)" >&2; exit 3; fi
    if ! cmp -s -- "$1" "$2"; then
      cp -- "$1" "$2.tmp"
      chmod 0644 -- "$2.tmp"
      mv -f -- "$2.tmp" "$2"
    fi
    shift 2
  done
}

start_guest() {
  local t0
  t0=$(now)
  case "$(virsh domstate "$1")" in
    running) return 0 ;;
    paused) virsh resume "$1" >/dev/null ;;
    *) virsh start "$1" >/dev/null ;;
  esac
  echo "timing=start:$(since "$t0")"
}

# Defines domain $1 from the XML file $2. An XML without <uuid> would get a fresh random one,
# which libvirt refuses for a name it already has ("already exists with uuid"): the
# existing UUID is written into it, so a re-definition keeps the machine's identity.
define_guest() {
  local t0 uuid
  t0=$(now)
  if is_defined "$1" && ! grep -q '<uuid>' "$2"; then
    uuid=$(virsh domuuid "$1")
    if [[ ! "$uuid" =~ ^[0-9a-f-]{36}$ ]]; then echo "libvirt gave an unexpected UUID for $1: $uuid" >&2; exit 1; fi
    sed -i "0,/<\/name>/s//<\/name><uuid>$uuid<\/uuid>/" "$2"
  fi
  virsh define "$2" >/dev/null
  echo "timing=define:$(since "$t0")"
}

# The NoCloud seed: an ISO labelled cidata with user-data, meta-data, network-config from $1,
# written next to $2 and renamed over it (a running guest keeps the file it opened).
build_seed() {
  mkdir -p -- "$(dirname -- "$2")"
  genisoimage -quiet -output "$2.tmp" -volid cidata -joliet -rock "$1/user-data" "$1/meta-data" "$1/network-config"
  chmod 0644 -- "$2.tmp"
  mv -f -- "$2.tmp" "$2"
}

# Archives of domain $2 under archive directory $1 (the timestamp pattern keeps a-b apart from a-b-c).
list_archives() {
  local f
  for f in "$1/vps/$2-"[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]T[0-9][0-9][0-9][0-9][0-9][0-9]Z.qcow2; do
    if [ -f "$f" ]; then printf 'archive=%s\n' "$f"; fi
  done
}

# The guests' network filter, from the XML file $1 (docs/architecture.md, "Guest network
# filter"): defined before any domain that names it (libvirt re-applies a changed filter to
# the guests using it). The uuid libvirt already has for the name is kept (it refuses
# another), as define_guest does for domains.
define_filter() {
  local f=$1 name live
  name=$(sed -n "s/^<filter name='\([a-z0-9-]*\)'.*/\1/p" "$f" | head -n 1)
  [ -n "$name" ] || { echo "the network filter XML names no filter" >&2; exit 1; }
  if ! command -v ebtables > /dev/null; then
    echo "ebtables is not installed on this hypervisor: libvirt's network filters need it (apt-get install ebtables); the guest was not defined" >&2
    exit 1
  fi
  live=$(virsh nwfilter-dumpxml "$name" 2> /dev/null | sed -n 's#^ *<uuid>\([0-9a-f-]*\)</uuid>.*#\1#p' | head -n 1) || true
  if [ -n "$live" ]; then sed -i "s#<uuid>[0-9a-f-]*</uuid>#<uuid>$live</uuid>#" "$f"; fi
  virsh nwfilter-define "$f" > /dev/null
}

# "port=<dev> <filter> ok|rules-missing" or "port=<dev> - unbound" for each bridged interface
# of running domain $1: libvirt's binding of the filter to the port, and whether its ebtables
# rules are really there (a firewall reload or ebtables -F removes them; libvirt does not notice).
filter_ports() {
  local d=$1 bindings pre post dev f
  [ "$(virsh domstate "$d")" = running ] || return 0
  bindings=$(virsh nwfilter-binding-list | awk 'NR > 2 && NF >= 2 { print $1, $2 }')
  # Read whole before matching: grep -q closing a pipe early would fail the pipe (pipefail).
  pre=$(ebtables -t nat -L PREROUTING 2> /dev/null) || pre=""
  post=$(ebtables -t nat -L POSTROUTING 2> /dev/null) || post=""
  for dev in $(virsh domiflist "$d" | awk 'NR > 2 && $2 == "bridge" { print $1 }'); do
    f=$(awk -v d="$dev" '$1 == d { print $2 }' <<<"$bindings")
    if [ -z "$f" ]; then
      printf 'port=%s - unbound\n' "$dev"
    elif has_rules "libvirt-I-$dev" && has_rules "libvirt-O-$dev" && grep -qxF -- "-i $dev -j libvirt-I-$dev" <<<"$pre" && grep -qxF -- "-o $dev -j libvirt-O-$dev" <<<"$post"; then
      printf 'port=%s %s ok\n' "$dev" "$f"
    else
      printf 'port=%s %s rules-missing\n' "$dev" "$f"
    fi
  done
}
# Whether ebtables chain $1 (nat table) exists and holds at least one rule.
has_rules() {
  local out
  out=$(ebtables -t nat -L "$1" 2> /dev/null) || return 1
  grep -q '^-' <<<"$out"
}

# Puts back the rules of running domain $1's bound ports whose rules are gone, from libvirt's
# own binding (delete and create it again).
repair_filter_ports() {
  local dev f state b
  while read -r dev f state; do
    [ "$state" = rules-missing ] || continue
    b=$(mktemp)
    virsh nwfilter-binding-dumpxml "$dev" > "$b"
    virsh nwfilter-binding-delete "$dev" > /dev/null
    virsh nwfilter-binding-create "$b" > /dev/null
    rm -f -- "$b"
    echo "note: the network filter $f of $1 had lost its rules on $dev: put back" >&2
  done < <(filter_ports "$1" | sed 's/^port=//')
}

report() {
  printf 'uuid=%s\n' "$(virsh domuuid "$1")"
  printf 'state=%s\n' "$(virsh domstate "$1")"
  list_archives "$2" "$1"
}

# stdin, a tar (domain.xml, seed/{user-data,meta-data,network-config}, and nwfilter.xml for a
# bridged guest), unpacked into $tmp, which goes when the script ends.
unpack() {
  tmp=$(mktemp -d)
  trap 'rm -rf -- "$tmp"' EXIT
  tar -x -C "$tmp" --no-same-owner --no-same-permissions -f -
}
