#!/usr/bin/env bash
# The TransferKey resource's remote script (provider/resources/transfer-key.ts): the TSIG key
# that signs zone transfers and NOTIFY between the primary and the secondaries, in
# /etc/bind/globenet-transfer.key (root:bind 0640), which named.conf.globenet includes.
# CONSTANT: the key arrives on stdin only (never argv, never printed); provider/ssh/remote.ts
# prefixes `set -euo pipefail`.
#
#   write           stdin: the key file's text   "unchanged", or "written" (then named reloaded if it runs)
#   read                                         "absent", or "present <sha256> <owner>:<group> <mode>"
#   delete SHA256                                removes the file if it still holds that key
#
# Exit codes: 2 bad arguments, stdin or host; 3 named-checkconf rejected the key or, with it,
# the host's named.conf (the previous file is put back); 4 the file is in place but the reload failed.
umask 077
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH
# lib/model/paths.ts transferKeyFile (file-set.sh TRANSFER_KEY names it too).
KEY=/etc/bind/globenet-transfer.key
say() { printf '%s\n' "$*" >&2; }

# From /, as bind: rndc's key is bind's (see file-set.sh reload_bind).
as_bind() { (cd / && setpriv --reuid=bind --regid=bind --clear-groups -- "$@"); }

precheck() {
  { command -v named-checkconf > /dev/null && command -v rndc > /dev/null && [ -d /etc/bind ]; } ||
    { say "BIND is not installed on this host (named-checkconf, rndc, /etc/bind): install bind9 bind9-utils"; exit 2; }
  getent group bind > /dev/null || { say "there is no bind group on this host: install bind9"; exit 2; }
  if [ -L /etc/bind ] || [ "$(stat -c %u -- /etc/bind)" != 0 ] || [ -n "$(find /etc/bind -maxdepth 0 -perm /022)" ]; then
    say "/etc/bind must be a directory only root can write ($(stat -c '%U:%G %A' -- /etc/bind)): chown root /etc/bind; chmod go-w /etc/bind"
    exit 2
  fi
}

tmp="" old=""
cleanup() {
  if [ -n "$tmp" ]; then rm -rf -- "$tmp"; fi
  if [ -n "$old" ]; then rm -f -- "$old"; fi
  return 0
}
trap cleanup EXIT

do_write() {
  precheck
  tmp=$(mktemp -d /tmp/globenet-transfer-key.XXXXXX)
  # At most a few hundred bytes; its shape is checked line by line, without echoing it.
  head -c 4096 > "$tmp/key"
  if ! grep -qxE 'key "[a-z0-9-]+" \{' <(sed -n 1p "$tmp/key") ||
    ! grep -qxE '	algorithm hmac-sha256;' <(sed -n 2p "$tmp/key") ||
    ! grep -qxE '	secret "[A-Za-z0-9+/]{40,88}={0,2}";' <(sed -n 3p "$tmp/key") ||
    ! grep -qxE '\};' <(sed -n 4p "$tmp/key") || [ "$(wc -l < "$tmp/key")" != 4 ]; then
    say "the transfer key sent is not a key statement of the expected shape (nothing written)"
    exit 2
  fi
  # The key alone first: named-checkconf's messages could quote it, so they are not shown.
  printf 'options { directory "%s"; };\ninclude "%s/key";\n' "$tmp" "$tmp" > "$tmp/named.conf"
  named-checkconf "$tmp/named.conf" > /dev/null 2>&1 || { say "named-checkconf rejects the transfer key (nothing written)"; exit 3; }
  if [ -f "$KEY" ] && [ ! -L "$KEY" ] && cmp -s -- "$tmp/key" "$KEY" &&
    [ "$(stat -c '%U:%G %a' -- "$KEY")" = "root:bind 640" ]; then
    echo unchanged
    return 0
  fi
  # Beside the live file, root's and 0640 root:bind before it gets its name: never readable by others.
  local new
  new=$(mktemp /etc/bind/.globenet-transfer.XXXXXX)
  cat -- "$tmp/key" > "$new"
  chown root:bind -- "$new"
  chmod 0640 -- "$new"
  if [ -f "$KEY" ] && [ ! -L "$KEY" ]; then
    old=$(mktemp /etc/bind/.globenet-transfer-old.XXXXXX)
    cat -- "$KEY" > "$old"
    chown root:bind -- "$old"
    chmod 0640 -- "$old"
  fi
  # One rename (-T: a link in its place is replaced, not followed): named never finds no key.
  mv -fT -- "$new" "$KEY"
  # The host's whole configuration with it, before any reload. Its messages name files and
  # lines of the host's configuration; a line quoting the key itself is left out.
  local out rc=0
  out=$(named-checkconf 2>&1) || rc=$?
  if [ $rc -ne 0 ]; then
    if [ -n "$old" ]; then mv -f -- "$old" "$KEY"; old=""; else rm -f -- "$KEY"; fi
    printf '%s\n' "$out" | grep -v -e 'secret' -e "$KEY" >&2 || true
    say "named-checkconf rejects this host's configuration with the transfer key: the previous key file is back, named was not reloaded"
    exit 3
  fi
  echo written
  if as_bind rndc status > /dev/null 2>&1; then
    as_bind rndc reconfig >&2 || { say "rndc reconfig failed: the new transfer key is in place, named did not take it"; exit 4; }
  fi
}

do_read() {
  if [ ! -e "$KEY" ] && [ ! -L "$KEY" ]; then echo absent; return 0; fi
  if [ -L "$KEY" ] || [ ! -f "$KEY" ]; then echo "present not-a-file - -"; return 0; fi
  printf 'present %s %s\n' "$(sha256sum -- "$KEY" | cut -d' ' -f1)" "$(stat -c '%U:%G %a' -- "$KEY")"
}

do_delete() {
  local want=${1:-}
  case "$want" in *[!0-9a-f]*|'') say "delete needs the sha256 of the key it removes"; exit 2 ;; esac
  if [ ! -f "$KEY" ] || [ -L "$KEY" ]; then echo absent; return 0; fi
  if [ "$(sha256sum -- "$KEY" | cut -d' ' -f1)" != "$want" ]; then
    # A newer key (a rotation made it before this one is removed): it stays.
    echo kept-newer
    return 0
  fi
  if [ -f /etc/bind/globenet/named.conf.globenet ] && grep -qF -- "\"$KEY\"" /etc/bind/globenet/named.conf.globenet; then
    say "kept $KEY: /etc/bind/globenet/named.conf.globenet still includes it"
    echo kept-in-use
    return 0
  fi
  rm -f -- "$KEY"
  echo removed
}

case "${1:-}" in
  write) do_write ;;
  read) do_read ;;
  delete) do_delete "${2:-}" ;;
  *) say "unknown action: ${1:-}"; exit 2 ;;
esac
