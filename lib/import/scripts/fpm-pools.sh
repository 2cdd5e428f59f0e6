#!/usr/bin/env bash
# Import, read-only: every PHP-FPM pool file of every PHP version, framed "path NUL text NUL".
shopt -s nullglob
for f in /etc/php/*/fpm/pool.d/*.conf; do
  [ -f "$f" ] || continue
  printf '%s\0' "$f"
  cat -- "$f"
  printf '\0'
done
