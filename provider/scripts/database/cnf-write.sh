#!/usr/bin/env bash
# On the web host (after ../account/prelude.sh): H HOME NAME; stdin: the credentials file.
# Writes ~/.my.cnf.d/NAME.cnf with the member's rights, 0600.
# shellcheck disable=SC2154 # mhome is set by member() of ../account/prelude.sh, which the loader puts first
# With the member's rights only (as_member_fn): HOME NAME; stdin: the file.
cnf_write() {
  set -euo pipefail
  umask 077
  local d=$1/.my.cnf.d tmp
  mkdir -p -- "$d"
  chmod 0700 -- "$d"
  tmp=$(mktemp "$d/.$2.cnf.XXXXXX")
  cat > "$tmp"
  chmod 0600 -- "$tmp"
  mv -f -- "$tmp" "$d/$2.cnf"
}
h=$1 home=$2 name=$3
rc=0; owned_member "$h" || rc=$?
[ "$rc" != 1 ] || die "there is no unix account $h on this host: its Account must be applied first"
[ "$rc" = 0 ] || die "refusing: the unix user $h on this host was not created by Globenet: no credentials file is written into its home"
[ "$mhome" = "$home" ] || die "the unix account $h has home $mhome, not $home"
cd /
as_member_fn cnf_write cnf-write "$home" "$name"
