#!/usr/bin/env bash
# The Maildirs resource's remote script (provider/resources/maildirs.ts), after
# account/prelude.sh (die, free_name): one member mail domain's folder on the mail host,
# VMAIL/DOMAIN, holding each mailbox's maildir (VMAIL/DOMAIN/<local>/Maildir, made by Dovecot
# at the first delivery, owned by vmail). CONSTANT: every value arrives as an argument checked
# below; provider/ssh/remote.ts prefixes `set -euo pipefail`.
#
#   archive VMAIL DOMAIN HANDLE ARCHIVE STAMP    VMAIL/DOMAIN into ARCHIVE/mail/<handle>--<domain>-<stamp>.tar.gz
#                                                (numeric owners, root 0600 in a 0700 folder), verified
#                                                to hold every file that was there, then the folder
#                                                removed: "archive=<path>" "removed=<folder>", or "absent"
#
# Exit codes: 2 bad arguments; 1 the archive could not be made or verified (nothing removed).
op=${1:-} vmail=${2:-} dom=${3:-}
[[ $vmail == /* && $vmail != *..* && $vmail =~ ^[A-Za-z0-9._/-]+$ ]] || { printf 'bad vmail folder\n' >&2; exit 2; }
if ! [[ "$dom" =~ ^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$ ]] || [ ${#dom} -gt 253 ]; then printf 'bad domain\n' >&2; exit 2; fi
src=$vmail/$dom

# The folder must be what it says: no link on the way (a link would archive, then remove, another tree).
real_or_die() {
  if [ -L "$vmail" ] || [ -L "$src" ]; then die "refusing: $vmail or $src is a symbolic link"; fi
  local real
  real=$(realpath -e -- "$src") || die "cannot resolve $src"
  [ "$real" = "$src" ] || die "refusing: $src leads to $real"
}

do_archive() {
  local h=${4:-} adir=${5:-} stamp=${6:-}
  [[ $h =~ ^[a-z][a-z0-9-]*[a-z0-9]$ ]] || die "bad handle"
  [[ $adir == /* && $adir != *..* && $adir =~ ^[A-Za-z0-9._/-]+$ ]] || die "bad archive folder"
  [[ $stamp =~ ^[0-9]{8}T[0-9]{6}Z$ ]] || die "bad stamp"
  if [ ! -e "$src" ] && [ ! -L "$src" ]; then echo absent; return; fi
  real_or_die
  install -d -m 0700 -- "$adir/mail"
  local out before
  out=$(free_name "$adir/mail/$h--$dom-$stamp" .tar.gz)
  # What is there now (the domain is out of Postfix's maps: nothing new arrives), every file by name.
  before=$(mktemp)
  (cd "$vmail" && find "$dom" -type f) | sort > "$before"
  tar -C "$vmail" --numeric-owner -czf "$out.partial" -- "$dom" || { rm -f -- "$before"; die "tar could not archive $src: nothing was removed"; }
  tar -tzf "$out.partial" | sort > "$out.partial.list"
  grep -qx -e "$dom/" -- "$out.partial.list" || { rm -f -- "$before"; die "the archive $out.partial does not hold $dom/: nothing was removed"; }
  local missing
  missing=$(comm -23 "$before" "$out.partial.list" | head -n 3)
  rm -f -- "$before"
  [ -z "$missing" ] || die "the archive $out.partial lacks files of $src (${missing//$'\n'/, }): nothing was removed"
  rm -f -- "$out.partial.list"
  mv -- "$out.partial" "$out"
  echo "archive=$out"
  rm -rf -- "$src"
  echo "removed=$src"
}

case "$op" in
  archive) do_archive "$@" ;;
  *) printf 'usage: archive VMAIL DOMAIN HANDLE ARCHIVE STAMP\n' >&2; exit 2 ;;
esac
