#!/usr/bin/env bash
# The member portal's live figures (lib/portal/live.ts; npm run portal -- --snapshot, run by the
# protected runner's portal-live schedule): the snapshot of every active member's certificates,
# disk use, mailboxes and last backups, written into the portal's state folder for the deployed
# portal to read. It holds figures only (lib/portal/live.ts secretsIn refuses a secret).
#
#   write    stdin: the JSON document → /var/lib/globenet-portal/live.json, root's, group
#            globenet-portal, 0640: the portal's user reads it and cannot change it.
#
# The state folder is the portal user's: nothing is made or changed inside it but the final
# rename. The file is written and given its owner and mode in a folder of root's beside it
# (/var/lib, the same file system: a rename, atomic), then renamed over live.json: a link or
# file the portal's user left there is replaced, never followed; a folder in its place is refused.
set -euo pipefail
USER_NAME=globenet-portal
STATE=/var/lib/globenet-portal
LIVE=$STATE/live.json
MAX_BYTES=16777216

die() { echo "globenet: $*" >&2; exit 1; }

write_live() {
  local work size
  getent group "$USER_NAME" >/dev/null || die "there is no group $USER_NAME on this host: the apply deploys the portal first (inventory portal:)"
  if [ ! -d "$STATE" ] || [ -L "$STATE" ]; then die "$STATE is missing or a link: the apply deploys the portal first"; fi
  [ "$(stat -c %d -- "$STATE")" = "$(stat -c %d -- /var/lib)" ] || die "$STATE is not on /var/lib's file system: the snapshot could not be renamed into it atomically"
  if [ -d "$LIVE" ] && [ ! -L "$LIVE" ]; then die "$LIVE is a folder: refusing"; fi
  umask 077
  work=$(mktemp -d /var/lib/.globenet-portal-live.XXXXXX)
  # shellcheck disable=SC2064 # $work is fixed now: expand it at once
  trap "rm -rf -- '$work'" EXIT
  head -c "$((MAX_BYTES + 1))" >"$work/live.json"
  size=$(stat -c %s -- "$work/live.json")
  [ "$size" -le "$MAX_BYTES" ] || die "the snapshot is over $MAX_BYTES bytes: refusing"
  [ "$(head -c 1 -- "$work/live.json")" = "{" ] || die "the snapshot is not a JSON object: refusing"
  chgrp -- "$USER_NAME" "$work/live.json"
  chmod 0640 -- "$work/live.json"
  mv -fT -- "$work/live.json" "$LIVE"
  echo "written=$LIVE bytes=$size"
}

case ${1:-} in
  write) write_live ;;
  *) die "unknown action ${1:-}" ;;
esac
