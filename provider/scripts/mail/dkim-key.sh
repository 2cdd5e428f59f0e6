#!/usr/bin/env bash
# The DkimKey resource's remote script (provider/resources/dkim-key.ts): one domain's DKIM key
# for one selector, made ON the mail host by opendkim-genkey, at
# /etc/globenet/mail/dkim/<selector>/<domain>.private (opendkim:opendkim 0600), below folders only
# root may write (root:root 0711: OpenDKIM refuses a key others could replace; it runs as
# opendkim with group postfix, so the folders let it through, and nobody list them). The private
# half never leaves the host: only the public half (base64 of the SubjectPublicKeyInfo, what the
# TXT record's p= holds) is printed. CONSTANT: selector, domain and archive folder arrive as
# arguments checked below; provider/ssh/remote.ts prefixes `set -euo pipefail`.
#
#   ensure SELECTOR DOMAIN                 "made <public>" or "kept <public>" (an existing key is kept)
#   read SELECTOR DOMAIN                   "absent", or "present <owner>:<group> <mode> <dirs-ok|dirs-open> <public>"
#   archive SELECTOR DOMAIN ARCHIVE STAMP  moves the key to ARCHIVE/dkim/<selector>.<domain>.<stamp>.private
#                                          (root 0600): "archived <path>" or "absent"
#
# Exit codes: 2 bad arguments or host (OpenDKIM not installed); 3 opendkim-genkey or openssl failed.
umask 077
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH
# lib/model/mail.ts MAIL_PATHS.dkimKeyDir.
BASE=/etc/globenet/mail/dkim
say() { printf '%s\n' "$*" >&2; }

sel=${2:-} dom=${3:-}
[[ "$sel" =~ ^[a-z0-9][a-z0-9-]{0,30}$ ]] || { say "bad selector"; exit 2; }
if ! [[ "$dom" =~ ^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$ ]] || [ ${#dom} -gt 253 ]; then say "bad domain"; exit 2; fi
dir=$BASE/$sel
key=$dir/$dom.private

precheck() {
  { command -v opendkim-genkey > /dev/null && command -v openssl > /dev/null; } ||
    { say "OpenDKIM's tools are not installed on this host (opendkim-genkey, openssl): install opendkim-tools openssl"; exit 2; }
  getent passwd opendkim > /dev/null || { say "there is no opendkim user on this host: install opendkim"; exit 2; }
}

# Each folder from /etc/globenet down: root's, not writable by others; the last two not listable either.
dirs() {
  install -d -o root -g root -m 0755 /etc/globenet /etc/globenet/mail
  local d
  for d in "$BASE" "$dir"; do
    if [ -L "$d" ]; then say "$d is a symbolic link: remove it (a key folder must be root's own)"; exit 2; fi
    install -d -o root -g root -m 0711 -- "$d"
    chown root:root -- "$d"
    chmod 0711 -- "$d"
  done
}

dirs_ok() {
  local d
  for d in /etc/globenet /etc/globenet/mail "$BASE" "$dir"; do
    [ -d "$d" ] && [ ! -L "$d" ] && [ "$(stat -c %u -- "$d")" = 0 ] && [ -z "$(find "$d" -maxdepth 0 -perm /022)" ] || return 1
  done
}

# The public half as the TXT record's p= holds it: base64 DER of the SubjectPublicKeyInfo, one line.
public_of() {
  openssl pkey -in "$1" -pubout 2> /dev/null | sed '/^-----/d' | tr -d '\n'
}

do_ensure() {
  precheck
  dirs
  if [ -f "$key" ] && [ ! -L "$key" ]; then
    chown opendkim:opendkim -- "$key"
    chmod 0600 -- "$key"
    local pub
    pub=$(public_of "$key") || true
    [ -n "$pub" ] || { say "$key is not a private key openssl reads: move it away (it is kept as it is) and apply again"; exit 3; }
    printf 'kept %s\n' "$pub"
    return 0
  fi
  if [ -e "$key" ] || [ -L "$key" ]; then say "$key exists and is not a regular file: remove it and apply again"; exit 2; fi
  local tmp
  tmp=$(mktemp -d "$dir/.new.XXXXXX")
  # shellcheck disable=SC2064 # the folder is known now
  trap "rm -rf -- '$tmp'" EXIT
  opendkim-genkey -b 2048 -h sha256 -s "$sel" -d "$dom" -D "$tmp" > /dev/null 2>&1 || { say "opendkim-genkey failed"; exit 3; }
  chown opendkim:opendkim -- "$tmp/$sel.private"
  chmod 0600 -- "$tmp/$sel.private"
  local pub
  pub=$(public_of "$tmp/$sel.private") || true
  [ -n "$pub" ] || { say "openssl cannot read the key opendkim-genkey made"; exit 3; }
  mv -f -- "$tmp/$sel.private" "$key"
  printf 'made %s\n' "$pub"
}

do_read() {
  if [ ! -e "$key" ] && [ ! -L "$key" ]; then echo absent; return 0; fi
  if [ -L "$key" ] || [ ! -f "$key" ]; then echo "present not-a-file - - -"; return 0; fi
  local ok=dirs-open pub
  if dirs_ok; then ok=dirs-ok; fi
  pub=$(public_of "$key") || true
  printf 'present %s %s %s\n' "$(stat -c '%U:%G %a' -- "$key")" "$ok" "${pub:--}"
}

do_archive() {
  local archive=${4:-} stamp=${5:-}
  if ! [[ "$archive" =~ ^/[A-Za-z0-9._/-]+$ ]] || [[ "$archive" == *..* ]]; then say "bad archive folder"; exit 2; fi
  [[ "$stamp" =~ ^[0-9TZ-]{8,20}$ ]] || { say "bad time stamp"; exit 2; }
  if [ ! -e "$key" ] && [ ! -L "$key" ]; then echo absent; return 0; fi
  install -d -o root -g root -m 0700 -- "$archive/dkim"
  local to="$archive/dkim/$sel.$dom.$stamp.private"
  mv -f -- "$key" "$to"
  chown root:root -- "$to"
  chmod 0600 -- "$to"
  rmdir -- "$dir" 2> /dev/null || true
  printf 'archived %s\n' "$to"
}

case "${1:-}" in
  ensure) do_ensure ;;
  read) do_read ;;
  archive) do_archive "$@" ;;
  *) say "unknown action: ${1:-}"; exit 2 ;;
esac
