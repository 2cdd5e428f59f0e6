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
#   archive-mailboxes VMAIL DOMAIN HANDLE ARCHIVE STAMP LOCAL...
#                                                each mailbox taken out of a domain that stays: its
#                                                sessions kicked, VMAIL/DOMAIN/LOCAL into
#                                                ARCHIVE/mail/<handle>--<domain>--<local>-<stamp>.tar.gz
#                                                (DOMAIN/LOCAL/… inside, as in the domain's archive),
#                                                verified, then removed; "absent=<local>" if it never had mail
#
# Exit codes: 2 bad arguments; 1 the archive could not be made or verified (nothing removed).
op=${1:-} vmail=${2:-} dom=${3:-}
[[ $vmail == /* && $vmail != *..* && $vmail =~ ^[A-Za-z0-9._/-]+$ ]] || { printf 'bad vmail folder\n' >&2; exit 2; }
if ! [[ "$dom" =~ ^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$ ]] || [ ${#dom} -gt 253 ]; then printf 'bad domain\n' >&2; exit 2; fi
src=$vmail/$dom

# VMAIL/REL must be what it says: no link on the way (a link would archive, then remove, another tree).
real_or_die() {
  local rel=$1 p=$vmail real part parts
  if [ -L "$vmail" ]; then die "refusing: $vmail is a symbolic link"; fi
  IFS=/ read -r -a parts <<<"$rel"
  for part in "${parts[@]}"; do
    p=$p/$part
    if [ -L "$p" ]; then die "refusing: $p is a symbolic link"; fi
  done
  real=$(realpath -e -- "$vmail/$rel") || die "cannot resolve $vmail/$rel"
  [ "$real" = "$vmail/$rel" ] || die "refusing: $vmail/$rel leads to $real"
}

# present REL: VMAIL/REL is there (or a link is: refused by archive_tree).
present() { [ -e "$vmail/$1" ] || [ -L "$vmail/$1" ]; }

# archive_tree REL NAME ADIR: VMAIL/REL (no longer in Postfix's maps: nothing new arrives) into
# ADIR/mail/NAME.tar.gz (a taken name never overwritten), checked to list every file that is
# there, then removed. Called as a plain command (never under || or if: errexit must stop it).
archive_tree() {
  local rel=$1 name=$2 adir=$3 out before missing
  real_or_die "$rel"
  install -d -m 0700 -- "$adir/mail"
  out=$(free_name "$adir/mail/$name" .tar.gz)
  before=$(mktemp)
  (cd "$vmail" && find "$rel" -type f) | sort > "$before"
  tar -C "$vmail" --numeric-owner -czf "$out.partial" -- "$rel" || { rm -f -- "$before"; die "tar could not archive $vmail/$rel: nothing was removed"; }
  tar -tzf "$out.partial" | sort > "$out.partial.list"
  grep -qx -e "$rel/" -- "$out.partial.list" || { rm -f -- "$before"; die "the archive $out.partial does not hold $rel/: nothing was removed"; }
  missing=$(comm -23 "$before" "$out.partial.list" | head -n 3)
  rm -f -- "$before"
  [ -z "$missing" ] || die "the archive $out.partial lacks files of $vmail/$rel (${missing//$'\n'/, }): nothing was removed"
  rm -f -- "$out.partial.list"
  mv -- "$out.partial" "$out"
  echo "archive=$out"
  rm -rf -- "${vmail:?}/$rel"
  echo "removed=$vmail/$rel"
}

checked_common() {
  local h=$1 adir=$2 stamp=$3
  [[ $h =~ ^[a-z][a-z0-9-]*[a-z0-9]$ ]] || die "bad handle"
  [[ $adir == /* && $adir != *..* && $adir =~ ^[A-Za-z0-9._/-]+$ ]] || die "bad archive folder"
  [[ $stamp =~ ^[0-9]{8}T[0-9]{6}Z$ ]] || die "bad stamp"
}

do_archive() {
  local h=${4:-} adir=${5:-} stamp=${6:-}
  checked_common "$h" "$adir" "$stamp"
  if ! present "$dom"; then echo absent; return; fi
  archive_tree "$dom" "$h--$dom-$stamp" "$adir"
}

do_archive_mailboxes() {
  local h=${4:-} adir=${5:-} stamp=${6:-} l
  checked_common "$h" "$adir" "$stamp"
  shift 6 || die "no mailbox named"
  [ $# -gt 0 ] || die "no mailbox named"
  # Every name first (lib/schema/mail.ts localPartProblem): a bad one stops the lot before anything moves.
  for l in "$@"; do
    [[ $l =~ ^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$ && $l != *..* && ${#l} -le 64 ]] || die "bad mailbox name"
  done
  # The domain's folder itself must not lead elsewhere either (checked again for each mailbox).
  if [ -L "$src" ]; then die "refusing: $src is a symbolic link"; fi
  for l in "$@"; do
    # A session still open (IMAP) would write while the folder is archived: closed first, if Dovecot runs.
    if command -v doveadm >/dev/null 2>&1; then doveadm kick "$l@$dom" >/dev/null 2>&1 || true; fi
    if ! present "$dom/$l"; then echo "absent=$l"; continue; fi
    archive_tree "$dom/$l" "$h--$dom--$l-$stamp" "$adir"
  done
}

case "$op" in
  archive) do_archive "$@" ;;
  archive-mailboxes) do_archive_mailboxes "$@" ;;
  *) printf 'usage: archive VMAIL DOMAIN HANDLE ARCHIVE STAMP | archive-mailboxes VMAIL DOMAIN HANDLE ARCHIVE STAMP LOCAL...\n' >&2; exit 2 ;;
esac
