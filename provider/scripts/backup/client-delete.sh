#!/usr/bin/env bash
# Backup Client, delete (after client-common.sh): HOST. The schedule, configuration and run script
# go; the key and the passphrase stay (without them the history cannot be read). Prints kept=PATH.
# shellcheck disable=SC2154 # ETC, RUN and CRON come from client-common.sh
# Its metrics go too: a host that no longer backs up must not look late (BackupTooOld).
rm -f -- "$CRON" "$ETC/sources" "$ETC/known_hosts" "/var/lib/prometheus/node-exporter/globenet-backup-$HOST.prom"
# The run script is shared by the hosts this machine plays: it goes with the last of them.
if ! compgen -G "/etc/globenet/backup/*/sources" >/dev/null; then rm -f -- "$RUN"; fi
for f in "$ETC/id_ed25519" "$ETC/passphrase"; do [ ! -e "$f" ] || echo "kept=$f"; done
