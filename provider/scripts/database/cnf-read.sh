#!/usr/bin/env bash
# On the web host (after ../account/prelude.sh): H HOME NAME. Whether the member's account
# exists (account=present|absent|foreign) and the credentials file's sha256 (cnf=, empty: none).
# shellcheck disable=SC2154 # mhome is set by member() of ../account/prelude.sh, which the loader puts first
# With the member's rights only (as_member_fn): FILE's sha256, if it is a file.
cnf_sum() { if [ -f "$1" ]; then sha256sum < "$1"; fi; }
h=$1 home=$2 name=$3
rc=0; owned_member "$h" || rc=$?
[ "$rc" != 1 ] || { echo "account=absent"; exit 0; }
[ "$rc" = 0 ] || { echo "account=foreign"; exit 0; }
[ "$mhome" = "$home" ] || { echo "account=absent"; exit 0; }
echo "account=present"
cd /
f="$home/.my.cnf.d/$name.cnf"
sum=$(as_member_fn cnf_sum cnf-read "$f" 2>/dev/null || true)
echo "cnf=${sum%% *}"
