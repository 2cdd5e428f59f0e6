/*
 * The constant bash scripts of globenet:vm:Guest. Member-controlled values reach them only as
 * positional arguments (names and paths validated by guest-check.ts, quoted by remote.run)
 * and as data on stdin (a tar with the domain XML and the seed files). `remote.run` prepends
 * `set -euo pipefail`.
 *
 * Conventions: lines on stderr starting with "note: " are reported by the provider even when
 * the step succeeds; results go to stdout as `key=value` lines. Exit codes the provider turns
 * into specific messages: 3 base image missing, 4 domain not defined, 5 disk missing or in
 * the way, 6 the disk would shrink, 7 the archive failed its verification.
 */

/** Shell functions shared by the scripts below. */
const COMMON = String.raw`
export LIBVIRT_DEFAULT_URI=qemu:///system
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
`;

/** stdin: tar of domain.xml, seed/{user-data,meta-data,network-config}, and nwfilter.xml for a bridged guest. */
const UNPACK = String.raw`
tmp=$(mktemp -d)
trap 'rm -rf -- "$tmp"' EXIT
tar -x -C "$tmp" --no-same-owner --no-same-permissions -f -
`;

/** $1 domain $2 disk $3 seed $4 base image $5 disk GiB $6 running (1/0) $7 archive dir, then "from to" pairs of boot files */
export const CREATE = String.raw`${COMMON}
domain=$1 disk=$2 seed=$3 base=$4 gb=$5 want=$6 archdir=$7
shift 7
${UNPACK}
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
`;

/**
 * $1 domain $2 disk $3 seed $4 previous seed path $5 disk GiB $6 running (1/0)
 * $7 shutdown timeout (s) $8 redefine (1/0) $9 rebuild seed (1/0) $10 restart if running (1/0)
 * $11 archive dir, then "from to" pairs of boot files
 */
export const UPDATE = String.raw`${COMMON}
domain=$1 disk=$2 seed=$3 oldseed=$4 gb=$5 want=$6 timeout=$7 redefine=$8 reseed=$9 restart=${"${10}"} archdir=${"${11}"}
shift 11
${UNPACK}
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
`;

/** $1 domain $2 disk $3 seed $4 archive dir [$5 network filter]. Values that may hold anything travel base64. */
export const READ = String.raw`${COMMON}
domain=$1 disk=$2 seed=$3 archdir=$4 filter=${"${5:-}"}
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
`;

/**
 * $1 domain $2 disk $3 seed $4 archive dir $5 shutdown timeout (s) $6 base image, then the
 * guest's boot files. Never removes a disk without a verified archive of it.
 */
export const DELETE = String.raw`${COMMON}
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
`;
