#!/usr/bin/env bash
# Backup Client, create and update (after client-common.sh): HOST.
# stdin: the repository passphrase, written only when the host has none: a passphrase already
# there opens the history and is kept. Prints pub=<public key line> and passphrase=kept|written.
# shellcheck disable=SC2154 # ETC and STATE come from client-common.sh, which the loader puts first
command -v borg >/dev/null || die "borg is not installed on this host (Debian package borgbackup; scripts/ensure-debs.sh)"
install -d -m 0755 /etc/globenet /var/lib/globenet
root_dir "$(dirname -- "$ETC")" "$ETC" "$(dirname -- "$STATE")" "$STATE"
if [ ! -f "$ETC/id_ed25519" ]; then
  rm -f -- "$ETC/id_ed25519.pub"
  ssh-keygen -q -t ed25519 -N '' -C "globenet-backup@$HOST" -f "$ETC/id_ed25519" </dev/null >/dev/null
fi
chmod 0600 -- "$ETC/id_ed25519"
[ -f "$ETC/id_ed25519.pub" ] || ssh-keygen -y -f "$ETC/id_ed25519" >"$ETC/id_ed25519.pub"
if [ -f "$ETC/passphrase" ] && [ -s "$ETC/passphrase" ]; then
  cat >/dev/null
  echo "passphrase=kept"
else
  tmp=$(mktemp "$ETC/.passphrase.XXXXXX")
  cat >"$tmp"
  [ -s "$tmp" ] || { rm -f -- "$tmp"; die "no passphrase arrived on stdin"; }
  chmod 0600 -- "$tmp"
  mv -f -- "$tmp" "$ETC/passphrase"
  echo "passphrase=written"
fi
chmod 0600 -- "$ETC/passphrase"
printf 'pub=%s\n' "$(head -n 1 -- "$ETC/id_ed25519.pub")"
