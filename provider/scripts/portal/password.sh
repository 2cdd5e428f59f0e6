#!/usr/bin/env bash
# PortalPassword (provider/resources/portal-password.ts; after account/prelude.sh): a member's
# portal password delivered into their home as the database passwords are (database/cnf-write.sh):
# ~/.portal-password, the member's, 0600, written with the member's rights only.
#   write H HOME     stdin: the file
#   read H HOME      sha=<sha256 of the file>|absent (read with the member's rights; never the text)
#   delete H HOME    removes it (nothing when the account is gone)
# shellcheck disable=SC2154 # mhome is set by member() of ../account/prelude.sh, which the loader puts first
FILE=.portal-password

pw_write() {
  set -euo pipefail
  umask 077
  local tmp
  tmp=$(mktemp "$1/.portal-password.XXXXXX")
  cat > "$tmp"
  chmod 0600 -- "$tmp"
  mv -f -- "$tmp" "$1/$2"
}
pw_read() {
  if [ -f "$1/$2" ] && [ ! -L "$1/$2" ]; then printf 'sha=%s\n' "$(sha256sum < "$1/$2" | cut -d' ' -f1)"; else echo sha=absent; fi
  if [ -f "$1/$2" ]; then printf 'mode=%s\n' "$(stat -c '%a' -- "$1/$2")"; fi
}
pw_delete() { rm -f -- "$1/$2"; }

action=${1:-} h=${2:-} home=${3:-}
rc=0; owned_member "$h" || rc=$?
if [ "$rc" = 1 ]; then
  case $action in
    delete) exit 0 ;;
    read) echo sha=absent; exit 0 ;;
    *) die "there is no unix account $h on this host: its Account must be applied first" ;;
  esac
fi
[ "$rc" = 0 ] || die "refusing: the unix user $h on this host was not created by Globenet: no password file is written into its home"
[ "$mhome" = "$home" ] || die "the unix account $h has home $mhome, not $home"
cd /
case $action in
  write) as_member_fn pw_write portal-password "$home" "$FILE" ;;
  read) as_member_fn pw_read portal-password "$home" "$FILE" ;;
  delete) as_member_fn pw_delete portal-password "$home" "$FILE" ;;
  *) die "unknown action $action" ;;
esac
