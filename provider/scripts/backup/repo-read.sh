#!/usr/bin/env bash
# Backup Repository, read (after account/prelude.sh and repo-common.sh):
#   ACCOUNT REPO PUBLIC_KEY CHECK_SCRIPT_SHA256 CHECK_CRON_SHA256
# Prints account=ok|absent|foreign, repository=present|absent, key=ok|other|absent,
# check=ok|other|absent (the weekly check's script and cron file).
# shellcheck disable=SC2154 # auid and ahome come from account() of repo-common.sh
acct=$1 repo=$2 pub=$3 want_script=$4 want_cron=$5
base=$(dirname -- "$repo")
if ! account "$acct"; then echo "account=absent"
elif [ "$(marker user "$acct")" != "$auid" ]; then echo "account=foreign"
else echo "account=ok"; fi
if [ -f "$repo/config" ] && [ ! -L "$repo" ]; then echo "repository=present"; else echo "repository=absent"; fi
ak=$base/.ssh/authorized_keys
want=$(key_line "$pub" "$repo")
if [ -f "$ak" ] && grep -qxF -- "$want" "$ak"; then echo "key=ok"
elif [ -f "$ak" ] && awk -v c="globenet-repository=$repo" '$NF == c { f = 1 } END { exit !f }' "$ak"; then echo "key=other"
else echo "key=absent"; fi
have_script=$(sha_of "$CHECK_BIN")
have_cron=$(sha_of "$(check_cron_file "$repo")")
if [ "$have_script" = absent ] || [ "$have_cron" = absent ]; then echo "check=absent"
elif [ "$have_script" = "$want_script" ] && [ "$have_cron" = "$want_cron" ]; then echo "check=ok"
else echo "check=other"; fi
