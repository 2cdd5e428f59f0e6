#!/usr/bin/env bash
# The keys folder and rndc's key belong to bind, which a compromised named controls: reading
# them as root would let a planted link make root read any file. So the script runs itself
# again as bind (BASH_EXECUTION_STRING is this very script) before touching them. Put first
# by the loader (provider/scripts/load.ts).
if [ "$(id -u)" = 0 ]; then cd / && exec setpriv --reuid=bind --regid=bind --clear-groups -- bash -c "$BASH_EXECUTION_STRING" globenet "$@"; fi
