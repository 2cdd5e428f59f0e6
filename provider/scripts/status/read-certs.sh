#!/usr/bin/env bash
# mod_md's store on a web host (lib/status/certs.ts): STORE_DIR NAME…
# Prints, NUL-separated, for each MD name: name, base64 pubcert.pem, base64 of the newest job.json.
store=$1; shift
for name in "$@"; do
  case "$name" in *[!a-z0-9.-]*|.*) echo "bad name" >&2; exit 2 ;; esac
  printf '%s\0' "$name"
  if [ -f "$store/domains/$name/pubcert.pem" ]; then base64 -w0 < "$store/domains/$name/pubcert.pem"; fi
  printf '\0'
  job=""
  for f in "$store/staging/$name/job.json" "$store/tmp/$name/job.json" "$store/domains/$name/job.json"; do
    if [ -f "$f" ] && { [ -z "$job" ] || [ "$f" -nt "$job" ]; }; then job=$f; fi
  done
  if [ -n "$job" ]; then base64 -w0 < "$job"; fi
  printf '\0'
done
