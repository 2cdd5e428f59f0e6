#!/usr/bin/env bash
# Backup Repository, create and update (after account/prelude.sh and repo-common.sh):
#   ACCOUNT REPO PUBLIC_KEY MODE CHECK_SCRIPT CHECK_CRON     stdin: the repository passphrase (one line)
# Makes the account (never adopts one Globenet did not make), the repository folder, the
# repository itself (borg init, repokey-blake2, as the account, passphrase on a file
# descriptor), the client's authorized_keys line, and the backup host's weekly check of it
# (CHECK_SCRIPT as /usr/local/sbin/globenet-backup-repo-check, CHECK_CRON as
# /etc/cron.d/globenet-backup-repo-<host>). Prints created=… and repository=new|existing.
# shellcheck disable=SC2154 # auid, agid, ahome come from account() of repo-common.sh
acct=$1 repo=$2 pub=$3 mode=$4 check_script=$5 check_cron=$6
base=$(dirname -- "$repo")
command -v borg >/dev/null || die "borg is not installed on the backup host (Debian package borgbackup; scripts/ensure-debs.sh)"
pass=''
IFS= read -r pass || true
[ -n "$pass" ] || die "no passphrase arrived on stdin"
[ ! -L "$base" ] || die "$base is a symbolic link: refusing to keep repositories there"
# One account for every host's repository, and the engine creates them at once: the first
# makes it, the others wait and find it made (without the lock, each useradd'ed and all but one
# failed with "already exists" on a new backup host).
install -d -m 0755 -o root -g root -- /var/lib/globenet
exec 7>"$ACCOUNT_LOCK"
flock 7
if account "$acct"; then
  have=$(marker user "$acct")
  if [ "$have" != "$auid" ]; then
    if [ "$have" = creating ] || { [ -z "$have" ] && [ "$mode" = update ]; }; then
      mark user "$acct" "$auid"
    else
      die "refusing: a user named $acct already exists on this host (uid $auid) and Globenet did not create it (no marker in $REG/user). The backup repositories never go to an existing account: set another backup.user in Pulumi.<stack>.yaml, or remove that user if it is a leftover"
    fi
  fi
  [ "$ahome" = "$base" ] || die "the user $acct exists with home $ahome, not $base: refusing to change it (set backup.path to $ahome, or fix the account)"
else
  if getent group "$acct" >/dev/null; then die "refusing: a group named $acct already exists on this host and the user does not: set another backup.user"; fi
  mark user "$acct" creating
  install -d -m 0755 -o root -g root -- "$base"
  useradd --system --user-group --no-create-home --home-dir "$base" --shell /bin/sh --password '*' --comment "Globenet backup repositories" -- "$acct" || { unmark user "$acct"; die "useradd $acct failed"; }
  account "$acct" || die "useradd did not create $acct"
  mark user "$acct" "$auid"
  echo "created=$acct"
fi
exec 7>&-
# The home is root's: the account owns its repositories, not the folder of keys.
[ -d "$base" ] || install -d -m 0755 -o root -g root -- "$base"
chown root:root -- "$base"
chmod 0755 -- "$base"
[ ! -L "$repo" ] || die "$repo is a symbolic link: refusing"
if [ -e "$repo" ]; then
  [ -d "$repo" ] || die "$repo exists and is not a folder"
  [ "$(stat -c %u -- "$repo")" = "$auid" ] || die "$repo exists and is not $acct's: refusing to use it"
else
  install -d -m 0700 -o "$auid" -g "$agid" -- "$repo"
fi
chmod 0700 -- "$repo"
# borg keeps notes (security records) in its base folder: a temporary one of the account's.
tmpbase=$(mktemp -d /tmp/globenet-borg.XXXXXX)
chown "$auid:$agid" -- "$tmpbase"
trap 'rm -rf -- "$tmpbase"' EXIT
as_account_borg() {
  printf '%s\n' "$pass" | setpriv --reuid="$auid" --regid="$agid" --clear-groups -- \
    env -i PATH=/usr/bin:/bin LC_ALL=C.UTF-8 HOME="$tmpbase" BORG_BASE_DIR="$tmpbase" BORG_PASSPHRASE_FD=0 BORG_DISPLAY_PASSPHRASE=no borg "$@"
}
if [ -f "$repo/config" ]; then
  # A repository kept from before (its Client and Repository were deleted, the data stayed):
  # used again only if this passphrase opens it.
  as_account_borg info -- "$repo" >/dev/null 2>&1 || die "$repo already holds a repository that the stack's passphrase does not open: nothing was changed. It is another stack's or an older one's history; move it aside on purpose (docs/architecture.md, Backups) before applying again"
  echo "repository=existing"
elif [ -z "$(ls -A -- "$repo")" ]; then
  as_account_borg init --encryption=repokey-blake2 -- "$repo" >/dev/null
  echo "repository=new"
else
  die "$repo is not empty and holds no borg repository: refusing to use it"
fi
edit_keys "$base" "$repo" "$(key_line "$pub" "$repo")"
# The weekly check (cron ignores a cron.d file others can write).
printf '%s' "$check_script" | root_file "$CHECK_BIN" 0700
printf '%s' "$check_cron" | root_file "$(check_cron_file "$repo")" 0644
# Until the first weekly check, status shows it as scheduled (from when), not as never run.
install -d -m 0700 -o root -g root -- "$CHECK_STATE"
if [ ! -f "$CHECK_STATE/$(basename -- "$repo").status" ]; then
  printf 'repository-check result=scheduled last_ok=- last_run=- installed=%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$CHECK_STATE/$(basename -- "$repo").status"
fi
