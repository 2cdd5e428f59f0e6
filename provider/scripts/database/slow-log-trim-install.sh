#!/usr/bin/env bash
# The nightly trim of the slow query log (provider/resources/db-settings.ts):
#   slow-log-trim-install.sh install KEEP_DAYS [SOCKET]   stdin becomes /usr/local/sbin/globenet-slow-log-trim
#                                                        (root's, 0700), and /etc/cron.d/globenet-slow-log
#                                                        runs it at 04:17 with KEEP_DAYS (and SOCKET)
#   slow-log-trim-install.sh remove [SOCKET]             both go; mysql.slow_log_prev too
#   slow-log-trim-install.sh read                        prints installed=yes|no and the cron line's arguments
# KEEP_DAYS is a number and SOCKET a checked path (the provider's check): both are checked here
# again, as they are written into a cron line.
set -euo pipefail
bin=/usr/local/sbin/globenet-slow-log-trim
cron=/etc/cron.d/globenet-slow-log
root_file() { # DEST MODE < content
  local tmp
  tmp=$(mktemp "$(dirname -- "$1")/.globenet.XXXXXX")
  cat >"$tmp"
  chown root:root -- "$tmp"
  chmod "$2" -- "$tmp"
  mv -f -- "$tmp" "$1"
}
case "${1:-}" in
  install)
    keep=${2:-}
    sock=${3:-}
    case "$keep" in '' | *[!0-9]*) echo "bad keep days" >&2; exit 2 ;; esac
    case "$sock" in *[!A-Za-z0-9._/-]*) echo "bad socket path" >&2; exit 2 ;; esac
    install -d -m 0755 -o root -g root /usr/local/sbin /etc/cron.d
    root_file "$bin" 0700
    # cron ignores a cron.d file others can write.
    printf '# Managed by globenet-infra (globenet:db:ServerSettings): the slow query log kept %s days.\nSHELL=/bin/sh\nPATH=/usr/sbin:/usr/bin:/sbin:/bin\n17 4 * * * root %s %s%s >/dev/null\n' \
      "$keep" "$bin" "$keep" "${sock:+ $sock}" | root_file "$cron" 0644
    echo "trim=installed"
    ;;
  remove)
    sock=${2:-}
    case "$sock" in *[!A-Za-z0-9._/-]*) echo "bad socket path" >&2; exit 2 ;; esac
    rm -f -- "$bin" "$cron"
    if command -v mariadb >/dev/null; then mariadb ${sock:+"--socket=$sock"} -e "DROP TABLE IF EXISTS mysql.slow_log_prev" 2>/dev/null || true; fi
    echo "trim=removed"
    ;;
  read)
    if [ -f "$bin" ] && [ -f "$cron" ]; then
      echo "installed=yes"
      line=$(grep -E "^[0-9].* root $bin " "$cron" | head -n1 || true)
      line=${line#* root "$bin" }
      echo "args=${line% >/dev/null}"
    else
      echo "installed=no"
    fi
    ;;
  *) echo "usage: slow-log-trim-install.sh install KEEP_DAYS [SOCKET] | remove | read" >&2; exit 2 ;;
esac
