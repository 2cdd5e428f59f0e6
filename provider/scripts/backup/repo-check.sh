#!/usr/bin/env bash
# globenet-backup-repo-check: the backup host's own check of one repository, without its key.
# The backup Repository installs this file as /usr/local/sbin/globenet-backup-repo-check and a
# weekly /etc/cron.d/globenet-backup-repo-<host> line that runs it (docs/architecture.md,
# "Backups"). As the repositories' account, `borg check --repository-only` reads every segment
# and compares its checksums and the index: a corrupted or missing segment is found here even
# when the protected host is gone. The result goes to /var/lib/globenet/backup-repos/<host>.status
# (`repository-check result=ok|failed last_ok=… last_run=… duration=…`), which
# `npm run status -- backups` reads.
#
#   globenet-backup-repo-check ACCOUNT REPOSITORY
set -euo pipefail
umask 077
export LC_ALL=C.UTF-8
die() { printf 'globenet-backup-repo-check: %s\n' "$*" >&2; exit 2; }
[ "$(id -u)" = 0 ] || die "run as root"
acct=${1:?the repositories account} repo=${2:?the repository path}
[[ $acct =~ ^[a-z_][a-z0-9_-]{0,31}$ ]] || die "\"$acct\" is not a user name"
[[ $repo =~ ^/[A-Za-z0-9._/-]+$ ]] || die "\"$repo\" is not a repository path"
host=$(basename -- "$repo")
state=/var/lib/globenet/backup-repos
install -d -m 0700 -o root -g root -- "$state"
[ -f "$repo/config" ] || die "$repo holds no borg repository"
ent=$(getent passwd "$acct") || die "there is no user $acct"
IFS=: read -r _ _ auid agid _ _ _ <<<"$ent"
[ "$(stat -c %u -- "$repo")" = "$auid" ] || die "$repo is not $acct's"
# borg keeps notes in its base folder even for this check: a fresh one of the account's.
base=$(mktemp -d /tmp/globenet-borg-check.XXXXXX)
chown "$auid:$agid" -- "$base"
trap 'rm -rf -- "$base"' EXIT
exec 9>"$state/$host.lock"
flock -w 3600 9 || die "another check of $repo is still running"
last_ok=-
if [ -f "$state/$host.status" ]; then last_ok=$(sed -n 's/.* last_ok=\([^ ]*\).*/\1/p' "$state/$host.status"); fi
start=$(date +%s)
rc=0
# --lock-wait: a backup writing now holds the repository's lock; the check waits for it.
setpriv --reuid="$auid" --regid="$agid" --clear-groups -- \
  env -i PATH=/usr/bin:/bin LC_ALL=C.UTF-8 HOME="$base" BORG_BASE_DIR="$base" \
  borg --lock-wait 3600 check --repository-only -- "$repo" || rc=$?
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
if [ "$rc" -eq 0 ]; then result=ok last_ok=$now; else result=failed; fi
printf 'repository-check result=%s last_ok=%s last_run=%s duration=%s\n' "$result" "${last_ok:--}" "$now" "$(($(date +%s) - start))" >"$state/$host.status.tmp"
mv -f -- "$state/$host.status.tmp" "$state/$host.status"
[ "$rc" -eq 0 ] || die "the check of $repo FAILED (borg exit $rc): a segment is damaged or missing. docs/architecture.md (Backups) says how to repair; the next backups still go in"
echo "globenet-backup-repo-check: $repo ok"
