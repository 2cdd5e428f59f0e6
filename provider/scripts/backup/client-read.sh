#!/usr/bin/env bash
# Backup Client (after client-common.sh): HOST. What is on the host, as key=value lines (hashes only).
# shellcheck disable=SC2154 # ETC, RUN and CRON come from client-common.sh
if [ ! -d "$ETC" ]; then echo "present=no"; exit 0; fi
echo "present=yes"
if [ -f "$ETC/id_ed25519" ] && [ -f "$ETC/id_ed25519.pub" ]; then printf 'pub=%s\n' "$(head -n 1 -- "$ETC/id_ed25519.pub")"; fi
printf 'passphrase=%s\n' "$(sha_of "$ETC/passphrase")"
printf 'sources=%s\n' "$(sha_of "$ETC/sources")"
printf 'known_hosts=%s\n' "$(sha_of "$ETC/known_hosts")"
printf 'run=%s\n' "$(sha_of "$RUN")"
printf 'cron=%s\n' "$(sha_of "$CRON")"
