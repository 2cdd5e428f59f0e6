#!/usr/bin/env bash
# AlertBridge (provider/resources/alert-bridge.ts; after account/prelude.sh): the alert bridge's
# systemd unit and its environment file (the GitLab token) on the monitor host.
#
#   write env|unit     stdin: the file. env: /etc/globenet/alert-bridge.env, root:root 0600
#                      (systemd reads it as root before the unit drops to its dynamic user);
#                      unit: /etc/systemd/system/globenet-alert-bridge.service, 0644.
#   start <checkout>   where systemd runs: refuses when the checkout the unit runs from (or
#                      /usr/bin/node) is missing, naming the fix; else daemon-reload, enable,
#                      restart (it reads both at start); elsewhere (the lab): prints note=… (with
#                      what is missing) and starts nothing.
#   read               env=<sha256>|absent, unit=<sha256>|absent, mode=<env's owner:group mode>
#   delete             stop and disable, remove both files
# Nothing of the token is ever printed: read prints its file's hash only.
# shellcheck disable=SC2154 # die and write_env_or_unit come from account/prelude.sh
ENV_FILE=/etc/globenet/alert-bridge.env
UNIT=globenet-alert-bridge.service
UNIT_FILE=/etc/systemd/system/$UNIT

hash_of() {
  if [ -f "$1" ]; then sha256sum < "$1" | cut -d' ' -f1; else echo absent; fi
}

case ${1:-} in
  write)
    case ${2:-} in
      env|unit) write_env_or_unit "$2" "$ENV_FILE" "$UNIT_FILE" ;;
      *) die "unknown file ${2:-}" ;;
    esac ;;
  start)
    # $2: the checkout the unit runs the bridge from (lib/render/monitoring-units.ts
    # ALERT_BRIDGE_CHECKOUT). The apply does not deploy it: say what is missing, and where
    # systemd would start the unit, refuse rather than leave a unit that cannot start.
    checkout=${2:-}
    case $checkout in /*) ;; *) die "start needs the bridge's checkout folder (an absolute path)" ;; esac
    missing=""
    for f in lib/cli/main.ts node_modules/tsx/dist/cli.mjs; do
      [ -f "$checkout/$f" ] || missing="$missing $checkout/$f"
    done
    [ -x /usr/bin/node ] || missing="$missing /usr/bin/node"
    fix="once, as root: apt-get install nodejs; git clone <this repository> $checkout; cd $checkout && npm ci (tsx, which the unit runs, is a development dependency)"
    if [ ! -d /run/systemd/system ]; then
      printf 'note=systemd does not run on this host: %s is not started (the lab runs the bridge itself)%s\n' "$UNIT" "${missing:+; the checkout of the bridge is incomplete (missing:$missing): $fix}"
      exit 0
    fi
    [ -z "$missing" ] || die "$UNIT runs the bridge from $checkout, which is incomplete (missing:$missing): $fix; then apply again"
    systemctl daemon-reload
    systemctl enable --quiet "$UNIT"
    systemctl restart "$UNIT" || die "$UNIT does not start: journalctl -u $UNIT" ;;
  read)
    printf 'env=%s\nunit=%s\n' "$(hash_of "$ENV_FILE")" "$(hash_of "$UNIT_FILE")"
    if [ -f "$ENV_FILE" ]; then printf 'mode=%s\n' "$(stat -c '%U:%G %a' -- "$ENV_FILE")"; fi ;;
  delete)
    if [ -d /run/systemd/system ]; then
      systemctl disable --now --quiet "$UNIT" 2> /dev/null || true
    fi
    rm -f -- "$UNIT_FILE" "$ENV_FILE"
    if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi ;;
  *) die "unknown action ${1:-}" ;;
esac
