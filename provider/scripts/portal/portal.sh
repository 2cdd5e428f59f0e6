#!/usr/bin/env bash
# Portal (provider/resources/portal.ts; after account/prelude.sh): the member portal on its web
# host: its own unix user, its state folder, its systemd unit, its environment file (the GitLab
# bot token) and the members' password hashes.
#
#   user MODE          the system user globenet-portal (no shell, no login, home = the state
#                      folder), made if absent and marked as the provider's; one found without
#                      the provider's marker is refused (MODE create), or marked (MODE update).
#                      The state folder /var/lib/globenet-portal: the user's, 0700.
#   write env|unit|credentials   stdin: the file. env: /etc/globenet/portal.env, root:root 0600
#                      (systemd reads it as root before it starts the portal as its user);
#                      unit: /etc/systemd/system/globenet-portal.service 0644; credentials: the
#                      state folder's credentials.json, the portal user's, 0600 (hashes only).
#   start              where systemd runs: daemon-reload, enable, restart; elsewhere (the lab):
#                      prints note=… and starts nothing (the lab starts the portal by hand).
#   read               env=, unit=, credentials= (sha256 or absent), modes and the user's entry
#   delete             stop and disable, remove the files, the state folder and the user
# Nothing of the token is ever printed: read prints its file's hash only.
# shellcheck disable=SC2154 # die, write_env_or_unit, own, mark, unmark, sha_of come from account/prelude.sh
USER_NAME=globenet-portal
STATE=/var/lib/globenet-portal
ENV_FILE=/etc/globenet/portal.env
UNIT=globenet-portal.service
UNIT_FILE=/etc/systemd/system/$UNIT
CREDS=$STATE/credentials.json
NOLOGIN=/usr/sbin/nologin

portal_user() {
  local ent id
  if ! ent=$(getent passwd "$USER_NAME"); then
    mark user "$USER_NAME" creating
    useradd --system --user-group --home-dir "$STATE" --no-create-home --shell "$NOLOGIN" \
      --comment "globenet-infra member portal" "$USER_NAME" || die "useradd $USER_NAME failed"
    ent=$(getent passwd "$USER_NAME") || die "$USER_NAME is missing right after useradd"
    id=$(cut -d: -f3 <<<"$ent")
    mark user "$USER_NAME" "$id"
  else
    id=$(cut -d: -f3 <<<"$ent")
    own user "$USER_NAME" "$id" "$1"
  fi
  [ "$id" -lt 1000 ] || die "refusing: $USER_NAME has uid $id, not a system user's"
  # No password, no shell, no login, whatever was done by hand.
  usermod --shell "$NOLOGIN" --home "$STATE" --lock "$USER_NAME" 2>/dev/null || die "usermod $USER_NAME failed"
  [ ! -L "$STATE" ] || die "$STATE is a symbolic link: refusing"
  install -d -m 0700 -o "$USER_NAME" -g "$USER_NAME" -- "$STATE"
  chown "$USER_NAME:$USER_NAME" -- "$STATE"
  chmod 0700 -- "$STATE"
}

# stdin → CREDS, the portal user's, 0600, written beside it (a random name the user cannot
# guess in advance) and renamed over it: a link the user left there is replaced, never followed.
write_credentials() {
  local tmp
  if [ ! -d "$STATE" ] || [ -L "$STATE" ]; then die "$STATE is missing: the user step comes first"; fi
  tmp=$(mktemp "$STATE/.credentials.XXXXXX")
  cat >"$tmp"
  chown "$USER_NAME:$USER_NAME" -- "$tmp"
  chmod 0600 -- "$tmp"
  mv -f -- "$tmp" "$CREDS"
}

case ${1:-} in
  user) portal_user "${2:-create}" ;;
  write)
    case ${2:-} in
      credentials) write_credentials ;;
      env|unit) write_env_or_unit "$2" "$ENV_FILE" "$UNIT_FILE" ;;
      *) die "unknown file ${2:-}" ;;
    esac ;;
  start)
    if [ ! -d /run/systemd/system ]; then
      printf 'note=systemd does not run on this host: %s is not started (the lab starts the portal by hand)\n' "$UNIT"
      exit 0
    fi
    systemctl daemon-reload
    systemctl enable --quiet "$UNIT"
    systemctl restart "$UNIT" || die "$UNIT does not start: journalctl -u $UNIT" ;;
  read)
    printf 'env=%s\nunit=%s\ncredentials=%s\n' "$(sha_of "$ENV_FILE")" "$(sha_of "$UNIT_FILE")" "$(sha_of "$CREDS")"
    if [ -f "$ENV_FILE" ]; then printf 'env_mode=%s\n' "$(stat -c '%U:%G %a' -- "$ENV_FILE")"; fi
    if [ -f "$CREDS" ]; then printf 'credentials_mode=%s\n' "$(stat -c '%U:%G %a' -- "$CREDS")"; fi
    if getent passwd "$USER_NAME" > /dev/null; then printf 'user=%s\n' "$(getent passwd "$USER_NAME" | cut -d: -f6,7)"; else echo user=absent; fi ;;
  delete)
    if [ -d /run/systemd/system ]; then
      systemctl disable --now --quiet "$UNIT" 2> /dev/null || true
    fi
    rm -f -- "$UNIT_FILE" "$ENV_FILE"
    if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
    if ent=$(getent passwd "$USER_NAME"); then
      own user "$USER_NAME" "$(cut -d: -f3 <<<"$ent")" delete
      pkill -u "$USER_NAME" 2> /dev/null || true
      rm -rf -- "$STATE"
      userdel "$USER_NAME" 2> /dev/null || true
      unmark user "$USER_NAME"
    fi ;;
  *) die "unknown action ${1:-}" ;;
esac
