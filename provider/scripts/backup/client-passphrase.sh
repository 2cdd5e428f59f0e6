#!/usr/bin/env bash
# Backup Client (after client-common.sh): HOST. The passphrase kept on the host, on stdout only.
# shellcheck disable=SC2154 # ETC comes from client-common.sh
[ -f "$ETC/passphrase" ] || die "there is no $ETC/passphrase"
cat -- "$ETC/passphrase"
