#!/usr/bin/env bash
# Import, read-only: FILE… Each file's text, framed "path NUL text NUL". Only configuration
# that root wrote: the real path (links resolved) must be under /etc/apache2/ or /etc/php/
# and be a regular file; anything else is refused before a byte is read.
for f in "$@"; do
  real=$(realpath -e -- "$f") || { echo "no such file: $f" >&2; exit 2; }
  case "$real" in /etc/apache2/*|/etc/php/*) ;; *) echo "refused: $f is not under /etc/apache2 or /etc/php" >&2; exit 2 ;; esac
  [ -f "$real" ] || { echo "refused: $f is not a regular file" >&2; exit 2; }
  printf '%s\0' "$f"
  cat -- "$real"
  printf '\0'
done
