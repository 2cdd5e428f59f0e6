#!/usr/bin/env bash
# Import, read-only: ZONE_FILE. One zone file, read as bind (the user that serves it): a link
# planted in a folder bind can write cannot make root read another file, and only what named
# itself can read comes out. Refuses anything but an absolute path to a regular file.
f=$1
case "$f" in /*) ;; *) echo "not an absolute path: $f" >&2; exit 2 ;; esac
cd /
# shellcheck disable=SC2016 # $1 is the inner bash's own argument
exec setpriv --reuid=bind --regid=bind --init-groups -- bash -c '[ -f "$1" ] || { echo "not a regular file: $1" >&2; exit 2; }; cat -- "$1"' globenet "$f"
