#!/usr/bin/env bash
# Adoption, on the web host (after ../account/prelude.sh): H HOME NAME. Whether the member's
# account exists (account=present|absent) and the password of [client_NAME] in
# ~/.my.cnf.d/NAME.cnf (password=, absent: none), read with the member's rights only. The
# password goes to stdout only, which the provider keeps as a secret; never to stderr or argv.
# shellcheck disable=SC2154 # mhome is set by member() of ../account/prelude.sh, which the loader puts first
# With the member's rights only (as_member_fn): HOME NAME.
cnf_password() {
  local f=$1/.my.cnf.d/$2.cnf
  { [ -f "$f" ] && [ ! -L "$f" ]; } || exit 0
  awk -v g="[client_$2]" 'substr($0, 1, 1) == "[" { in_g = ($0 == g); next } in_g && /^password=/ { print "password=" substr($0, 10); exit }' "$f"
}
h=$1 home=$2 name=$3
member "$h" || { echo "account=absent"; exit 0; }
[ "$mhome" = "$home" ] || { echo "account=absent"; exit 0; }
echo "account=present"
cd /
as_member_fn cnf_password cnf-password "$home" "$name"
