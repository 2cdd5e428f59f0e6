#!/usr/bin/env bash
# Backup Repository, delete (after account/prelude.sh and repo-common.sh): ACCOUNT REPO.
# Only the client's key and the weekly check go: the repository and its history stay (purging
# them is a separate, explicit act). Prints kept=REPO when it is there.
acct=$1 repo=$2
rm -f -- "$(check_cron_file "$repo")"
base=$(dirname -- "$repo")
: "$acct"
if [ -d "$base/.ssh" ]; then edit_keys "$base" "$repo"; fi
if [ -f "$repo/config" ]; then echo "kept=$repo"; fi
