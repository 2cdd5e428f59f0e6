#!/usr/bin/env bash
# The dump before a drop (after ../account/prelude.sh): SOCKET DATABASE ARCHIVE_DIR STAMP.
# Verified (gzip -t, mysqldump header, "Dump completed" trailer) before it is kept. Prints archive=PATH.
sock=()
[ -z "$1" ] || sock=("--socket=$1")
name=$2 adir=$3 stamp=$4
install -d -m 0700 -- "$adir/databases"
out=$(free_name "$adir/databases/$name-$stamp" .sql.gz)
mysqldump "${sock[@]}" --single-transaction --routines --triggers --events "$name" | gzip -c > "$out.partial"
gzip -t -- "$out.partial" || die "the dump $out.partial is not a valid gzip file: nothing was dropped"
[ -s "$out.partial" ] || die "the dump $out.partial is empty: nothing was dropped"
heads=$(gzip -cd -- "$out.partial" | grep -c -E '^-- (MariaDB|MySQL) dump' || true)
last=$(gzip -cd -- "$out.partial" | tail -n 1)
[ "$heads" -ge 1 ] || die "the dump $out.partial has no mysqldump header: nothing was dropped"
case "$last" in "-- Dump completed"*) ;; *) die "the dump $out.partial is incomplete (no 'Dump completed' trailer): nothing was dropped" ;; esac
mv -- "$out.partial" "$out"
echo "archive=$out"
