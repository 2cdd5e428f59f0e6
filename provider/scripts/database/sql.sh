#!/usr/bin/env bash
# SQL on stdin, as root over the unix socket: SOCKET (or empty for the system one).
sock=()
[ -z "$1" ] || sock=("--socket=$1")
exec mariadb "${sock[@]}" --batch --skip-column-names
