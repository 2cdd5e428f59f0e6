#!/usr/bin/env bash
# Import, read-only: PATH… The owner of each path, "path TAB user" a line ("?" when missing).
# stat -c without -L: a link's own owner, never followed.
for p in "$@"; do
  case "$p" in /*) ;; *) echo "not an absolute path: $p" >&2; exit 2 ;; esac
  o=$(stat -c '%U' -- "$p" 2>/dev/null) || o='?'
  printf '%s\t%s\n' "$p" "$o"
done
