#!/usr/bin/env bash
# Portal (provider/resources/portal.ts; after account/prelude.sh): the member portal on its web
# host: its own unix user, its state folder, its systemd unit, its environment file (the GitLab
# bot token), the members' password hashes, and what it runs: the shipped release (code) and
# the shipped data (a git repository at the applied commit), both root's (docs/architecture.md,
# "Member portal", "Shipping the code").
#
#   needs              what the portal runs with is installed: node >= 20 (nodejs), git (git),
#                      doveadm (dovecot-core: mailbox logins and new mailbox passwords);
#                      refuses naming the Debian packages to install.
#   user MODE          the system user globenet-portal (no shell, no login, home = the state
#                      folder), made if absent and marked as the provider's; one found without
#                      the provider's marker is refused (MODE create), or marked (MODE update).
#                      The state folder /var/lib/globenet-portal: the user's, 0700.
#   write env|unit|credentials   stdin: the file. env: /etc/globenet/portal.env, root:root 0600
#                      (systemd reads it as root before it starts the portal as its user);
#                      unit: /etc/systemd/system/globenet-portal.service 0644; credentials: the
#                      state folder's credentials.json, the portal user's, 0600 (hashes only).
#   ship SHA           stdin: the release's tar, whose sha256 must be SHA. Unpacked (once) into
#                      $RELEASES/SHA, root's; then $CURRENT points at it, swapped in one rename.
#                      Prints code=changed (the link moved) or code=same.
#   releases           current=<name>|absent, then release=<name> <mtime> per release folder
#   prune NAME…        removes those release folders (never the current one, never a name that
#                      is not a sha256)
#   data COMMIT BRANCH stdin: a git bundle whose HEAD is COMMIT, fetched into $DATA (a root's
#                      repository), checked out at COMMIT on BRANCH. Prints data=changed|same.
#   start restart|reload   where systemd runs: daemon-reload, enable, then restart (new code, unit
#                      or token) or reload (new data: SIGHUP, same process; started if not
#                      running). Elsewhere (the lab, the tests): the same, with the unit's own
#                      ExecStart run as its user by this script (pid in $PIDFILE, output in
#                      $LOG), without systemd's sandbox; prints note=… saying so.
#   read               env=, unit=, credentials= (sha256 or absent), modes, the user's entry,
#                      release= and data= (what runs)
#   delete             stop and disable, remove the files, the state folder, what was shipped
#                      and the user
# Nothing of the token is ever printed: read prints its file's hash only.
USER_NAME=globenet-portal
STATE=/var/lib/globenet-portal
ENV_FILE=/etc/globenet/portal.env
UNIT=globenet-portal.service
UNIT_FILE=/etc/systemd/system/$UNIT
CREDS=$STATE/credentials.json
NOLOGIN=/usr/sbin/nologin
# What the apply ships (lib/render/portal.ts PORTAL_HOME…): HOME is root:globenet-portal 0750, so
# only root and the portal's user enter it (the data holds every member's file); inside,
# everything is root's (0755/0644): the portal's user reads it and cannot change it.
HOME_DIR=/opt/globenet-portal
RELEASES=$HOME_DIR/releases
CURRENT=$HOME_DIR/current
DATA=$HOME_DIR/data
# Without systemd only (the lab, the tests).
PIDFILE=/run/globenet-portal.pid
LOG=/var/log/globenet-portal.log
SHA_RE='^[0-9a-f]{64}$'

needs() {
  local missing=""
  local v major
  if [ -x /usr/bin/node ]; then
    v=$(/usr/bin/node --version 2> /dev/null || echo v0)
    major=${v#v}
    major=${major%%.*}
    [[ $major =~ ^[0-9]+$ ]] && [ "$major" -ge 20 ] || missing="$missing nodejs>=20 (found $v; Debian 13 has 20)"
  else
    missing="$missing nodejs (/usr/bin/node)"
  fi
  command -v git > /dev/null || missing="$missing git"
  command -v doveadm > /dev/null || missing="$missing dovecot-core (doveadm: mailbox logins check passwords with doveadm pw -t)"
  [ -z "$missing" ] || die "the member portal cannot run on this host: install the Debian packages:$missing (as root: apt-get install nodejs git dovecot-core; Dovecot's daemon need not run), then apply again"
}

# The shipped folders: HOME root:globenet-portal 0750, RELEASES root's 0755; never a link.
home_dirs() {
  local d
  for d in "$HOME_DIR" "$RELEASES"; do
    [ ! -L "$d" ] || die "$d is a symbolic link: refusing"
    [ -d "$d" ] || mkdir -m 0755 -- "$d"
  done
  chown "root:$USER_NAME" -- "$HOME_DIR"
  chmod 0750 -- "$HOME_DIR"
  chown root:root -- "$RELEASES"
  chmod 0755 -- "$RELEASES"
}

current_name() {
  local t
  if [ -L "$CURRENT" ]; then t=$(readlink -- "$CURRENT"); basename -- "$t"; else echo absent; fi
}

ship() {
  local sha=$1 tmp got
  [[ $sha =~ $SHA_RE ]] || die "ship needs the release's sha256"
  umask 022
  home_dirs
  if [ ! -f "$RELEASES/$sha/portal.cjs" ]; then
    tmp=$(mktemp -d "$RELEASES/.incoming.XXXXXX")
    cat > "$tmp/release.tar"
    got=$(sha256sum < "$tmp/release.tar" | cut -d' ' -f1)
    [ "$got" = "$sha" ] || { rm -rf -- "$tmp"; die "the release received has sha256 $got, not $sha: nothing was changed"; }
    mkdir -- "$tmp/tree"
    tar -x --no-same-owner --no-same-permissions -f "$tmp/release.tar" -C "$tmp/tree"
    [ -f "$tmp/tree/portal.cjs" ] || { rm -rf -- "$tmp"; die "the release $sha holds no portal.cjs"; }
    chown -R root:root -- "$tmp/tree"
    chmod -R u=rwX,go=rX -- "$tmp/tree"
    rm -rf -- "${RELEASES:?}/$sha"
    mv -T -- "$tmp/tree" "$RELEASES/$sha"
    rm -rf -- "$tmp"
  else
    cat > /dev/null
  fi
  if [ "$(current_name)" = "$sha" ]; then echo code=same; return 0; fi
  ln -sfn -- "releases/$sha" "$HOME_DIR/.current.new"
  mv -T -- "$HOME_DIR/.current.new" "$CURRENT"
  echo code=changed
}

prune() {
  local name cur
  cur=$(current_name)
  for name in "$@"; do
    [[ $name =~ $SHA_RE ]] || die "refusing to prune $name: not a release's name"
    [ "$name" != "$cur" ] || die "refusing to prune $name: it is the current release"
    rm -rf -- "${RELEASES:?}/$name"
    echo "pruned=$name"
  done
}

data() {
  local commit=$1 branch=$2 tmp got before=absent
  [[ $commit =~ ^[0-9a-f]{40}$ ]] || die "data needs the commit (40 hex digits)"
  [[ $branch =~ ^[A-Za-z0-9._/-]{1,100}$ ]] || die "data needs a branch name"
  umask 022
  home_dirs
  [ ! -L "$DATA" ] || die "$DATA is a symbolic link: refusing"
  if [ ! -d "$DATA/.git" ]; then rm -rf -- "$DATA"; git init -q -- "$DATA"; fi
  before=$(git -C "$DATA" rev-parse -q --verify HEAD || echo absent)
  tmp=$(mktemp "$HOME_DIR/.data.XXXXXX")
  cat > "$tmp"
  git -C "$DATA" fetch -q --no-tags "$tmp" "+HEAD:refs/globenet/applied" || { rm -f -- "$tmp"; die "the data bundle does not fetch into $DATA"; }
  rm -f -- "$tmp"
  got=$(git -C "$DATA" rev-parse refs/globenet/applied)
  [ "$got" = "$commit" ] || die "the data bundle holds $got, not the applied commit $commit"
  git -C "$DATA" -c advice.detachedHead=false checkout -q --force -B "$branch" "$commit"
  git -C "$DATA" clean -q -f -d -x
  chown -R root:root -- "$DATA"
  if [ "$before" = "$commit" ]; then echo data=same; else echo data=changed; fi
}

# ---- without systemd (the lab, the tests): the unit's ExecStart, as its user, by this script.
running_pid() {
  local pid
  [ -f "$PIDFILE" ] || return 1
  pid=$(head -c 20 -- "$PIDFILE" | tr -dc 0-9)
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  [[ $(tr '\0' ' ' < "/proc/$pid/cmdline") == *"$CURRENT/portal.cjs"* ]] || return 1
  printf '%s' "$pid"
}
plain_stop() {
  local pid n=0
  pid=$(running_pid) || { rm -f -- "$PIDFILE"; return 0; }
  kill -TERM "$pid" 2> /dev/null || true
  while [ -d "/proc/$pid" ] && [ "$n" -lt 50 ]; do sleep 0.2; n=$((n + 1)); done
  if [ -d "/proc/$pid" ]; then kill -KILL "$pid" 2> /dev/null || true; fi
  rm -f -- "$PIDFILE"
}
plain_start() {
  local line
  local -a cmd
  line=$(sed -n 's/^ExecStart=//p' "$UNIT_FILE")
  [ -n "$line" ] || die "$UNIT_FILE has no ExecStart"
  read -r -a cmd <<<"$line"
  (
    cd -- "$DATA" || exit 1
    # The token reaches the environment only, as systemd's EnvironmentFile does.
    # shellcheck source=/dev/null # the provider's root:root 0600 file, KEY=value lines it checked
    if [ -f "$ENV_FILE" ]; then set -a; . "$ENV_FILE"; set +a; fi
    unset SSH_CLIENT SSH_CONNECTION SSH_TTY MAIL
    export HOME=$STATE USER=$USER_NAME LOGNAME=$USER_NAME NODE_ENV=production LANG=C.UTF-8
    umask 077
    setsid setpriv --reuid="$USER_NAME" --regid="$USER_NAME" --clear-groups --no-new-privs -- "${cmd[@]}" >> "$LOG" 2>&1 < /dev/null &
    echo "$!" > "$PIDFILE"
  )
}

start() {
  local how=$1 pid
  case $how in restart|reload) ;; *) die "start restart|reload" ;; esac
  [ -f "$CURRENT/portal.cjs" ] || die "$CURRENT/portal.cjs is missing: ship the release first"
  if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    systemctl enable --quiet "$UNIT"
    if [ "$how" = reload ] && systemctl is-active --quiet "$UNIT"; then
      systemctl reload "$UNIT" || die "$UNIT does not reload: journalctl -u $UNIT"
      echo started=reloaded
    else
      systemctl restart "$UNIT" || die "$UNIT does not start: journalctl -u $UNIT"
      echo started=restarted
    fi
    return 0
  fi
  printf 'note=systemd does not run on this host: the provider script runs the ExecStart of %s as %s (pid in %s, output in %s), without the sandbox of systemd\n' "$UNIT" "$USER_NAME" "$PIDFILE" "$LOG"
  if [ "$how" = reload ] && pid=$(running_pid); then
    kill -HUP "$pid"
    echo started=reloaded
    return 0
  fi
  plain_stop
  plain_start
  echo started=restarted
}

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

# stdin → CREDS, the portal user's, 0600. Made, given to the user and its mode set in a folder
# of root's alone, then renamed over CREDS: the portal's user owns STATE, so a file made there
# could be swapped for a link between its creation and the chown, and chown follows links (a
# root file would become the portal's). A link the user left at CREDS is replaced, never followed.
write_credentials() {
  local work
  if [ ! -d "$STATE" ] || [ -L "$STATE" ]; then die "$STATE is missing: the user step comes first"; fi
  [ "$(stat -c %d -- "$STATE")" = "$(stat -c %d -- /var/lib)" ] || die "$STATE is not on /var/lib's file system: the credentials could not be renamed into it atomically"
  if [ -d "$CREDS" ] && [ ! -L "$CREDS" ]; then die "$CREDS is a folder: refusing"; fi
  work=$(mktemp -d /var/lib/.globenet-portal-credentials.XXXXXX)
  # shellcheck disable=SC2064 # $work is fixed now: expand it at once
  trap "rm -rf -- '$work'" EXIT
  (umask 077 && cat >"$work/credentials.json")
  chown "$USER_NAME:$USER_NAME" -- "$work/credentials.json"
  chmod 0600 -- "$work/credentials.json"
  mv -fT -- "$work/credentials.json" "$CREDS"
}

case ${1:-} in
  needs) needs ;;
  user) portal_user "${2:-create}" ;;
  write)
    case ${2:-} in
      credentials) write_credentials ;;
      env|unit) write_env_or_unit "$2" "$ENV_FILE" "$UNIT_FILE" ;;
      *) die "unknown file ${2:-}" ;;
    esac ;;
  ship) ship "${2:-}" ;;
  releases)
    printf 'current=%s\n' "$(current_name)"
    if [ -d "$RELEASES" ]; then
      find "$RELEASES" -mindepth 1 -maxdepth 1 -type d ! -name '.*' -printf 'release=%f %T@\n'
    fi ;;
  prune) shift; prune "$@" ;;
  data) data "${2:-}" "${3:-}" ;;
  start) start "${2:-restart}" ;;
  read)
    printf 'env=%s\nunit=%s\ncredentials=%s\n' "$(sha_of "$ENV_FILE")" "$(sha_of "$UNIT_FILE")" "$(sha_of "$CREDS")"
    if [ -f "$ENV_FILE" ]; then printf 'env_mode=%s\n' "$(stat -c '%U:%G %a' -- "$ENV_FILE")"; fi
    if [ -f "$CREDS" ]; then printf 'credentials_mode=%s\n' "$(stat -c '%U:%G %a' -- "$CREDS")"; fi
    if getent passwd "$USER_NAME" > /dev/null; then printf 'user=%s\n' "$(getent passwd "$USER_NAME" | cut -d: -f6,7)"; else echo user=absent; fi
    printf 'release=%s\n' "$(current_name)"
    if [ -d "$DATA/.git" ]; then printf 'data=%s\n' "$(git -C "$DATA" rev-parse -q --verify HEAD || echo absent)"; else echo data=absent; fi
    if [ -d "$HOME_DIR" ]; then printf 'home_mode=%s\n' "$(stat -c '%U:%G %a' -- "$HOME_DIR")"; fi ;;
  delete)
    if [ -d /run/systemd/system ]; then
      systemctl disable --now --quiet "$UNIT" 2> /dev/null || true
    fi
    plain_stop
    rm -f -- "$UNIT_FILE" "$ENV_FILE"
    if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
    rm -rf -- "$HOME_DIR"
    if ent=$(getent passwd "$USER_NAME"); then
      own user "$USER_NAME" "$(cut -d: -f3 <<<"$ent")" delete
      pkill -u "$USER_NAME" 2> /dev/null || true
      rm -rf -- "$STATE"
      userdel "$USER_NAME" 2> /dev/null || true
      unmark user "$USER_NAME"
    fi ;;
  *) die "unknown action ${1:-}" ;;
esac
