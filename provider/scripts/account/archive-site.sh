#!/usr/bin/env bash
# A site folder no longer listed (after prelude.sh): H HOME ARCHIVE_DIR HOST STAMP.
# Archives ~/sites/HOST, verifies the archive, then removes the folder. Prints archive=PATH.
# shellcheck disable=SC2154 # uid, gid and mhome are set by member() of prelude.sh, which the loader puts first
h=$1 home=$2 adir=$3 host=$4 stamp=$5
owned_member "$h" || die "there is no user $h made by Globenet on this host"
[ "$mhome" = "$home" ] || die "the user $h has home $mhome, not $home"
src="$home/sites/$host"
if [ ! -e "$src" ] && [ ! -L "$src" ]; then echo "absent=$host"; exit 0; fi
real=$(realpath -e -- "$home/sites") || die "cannot resolve $home/sites"
[ "$real" = "$home/sites" ] || die "refusing to archive $src: $home/sites leads to $real (a symbolic link on the way)"
install -d -m 0700 -- "$adir/sites"
out=$(free_name "$adir/sites/$h--$host-$stamp" .tar.gz)
tar -C "$home/sites" -czf "$out.partial" -- "$host"
tar -tzf "$out.partial" > "$out.partial.list"
grep -qx -e "$host/" -e "$host" -- "$out.partial.list" || die "the archive $out.partial does not hold $host: the folder is kept"
rm -f -- "$out.partial.list"
mv -- "$out.partial" "$out"
echo "archive=$out"
# Removed with the member's rights: whatever the member did to the tree meanwhile stays theirs.
cd /
as_member rm -rf -- "$src"
