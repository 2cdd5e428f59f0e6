#!/usr/bin/env bash
# Backup Client, delete (after client-common.sh): the schedule, configuration and run script
# go; the key and the passphrase stay (without them the history cannot be read). Prints kept=PATH.
# shellcheck disable=SC2154 # ETC, RUN and CRON come from client-common.sh
rm -f -- "$CRON" "$ETC/sources" "$ETC/known_hosts" "$RUN"
for f in "$ETC/id_ed25519" "$ETC/passphrase"; do [ ! -e "$f" ] || echo "kept=$f"; done
