#!/usr/bin/env bash
# On the web host (after ../account/prelude.sh): H HOME NAME. Removes ~/.my.cnf.d/NAME.cnf
# with the member's rights.
# shellcheck disable=SC2154 # mhome is set by member() of ../account/prelude.sh, which the loader puts first
h=$1 home=$2 name=$3
rc=0; owned_member "$h" || rc=$?
[ "$rc" = 0 ] || { echo "account=absent"; exit 0; }
[ "$mhome" = "$home" ] || { echo "account=absent"; exit 0; }
cd /
as_member rm -f -- "$home/.my.cnf.d/$name.cnf"
echo "removed=yes"
