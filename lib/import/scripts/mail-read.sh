#!/usr/bin/env bash
# Import, read-only: a live Postfix and Dovecot's virtual mail (lib/import/mail.ts), framed
# "name NUL text NUL": "postconf" (the virtual_* settings), "doveconf" (doveconf -n), then each
# file-based map Postfix names ("map <path>", its text source, not the compiled .db) and each
# passwd-file Dovecot names ("passwd-file <path>": the users and their password hashes;
# "deny-file <path>" for a deny passdb).
#   [POSTFIX_DIR [DOVECOT_CONF]]   default: Postfix's and Dovecot's own
export LC_ALL=C
postfix_dir=${1:-} dovecot_conf=${2:-}
pc=(postconf) dc=(doveconf -n)
if [ -n "$postfix_dir" ]; then pc+=(-c "$postfix_dir"); fi
if [ -n "$dovecot_conf" ]; then dc+=(-c "$dovecot_conf"); fi

frame() { printf '%s\0' "$1"; cat; printf '\0'; }

settings=$("${pc[@]}" virtual_mailbox_domains virtual_mailbox_maps virtual_alias_maps virtual_alias_domains mydestination 2>&1) || true
printf '%s\n' "$settings" | frame postconf
dovecot=$("${dc[@]}" 2>&1) || true
printf '%s\n' "$dovecot" | frame doveconf

# The file-based maps (hash:, lmdb:, btree:, texthash:, or a bare path) named by those settings.
maps=$(printf '%s\n' "$settings" | sed -n 's/^virtual_[a-z_]*maps = //p; s/^virtual_mailbox_domains = //p' | sed 's/[ ,][ ,]*/\n/g' | sed -n 's#^\(hash\|lmdb\|btree\|texthash\|cdb\|dbm\):\(/.*\)$#\2#p; s#^\(/.*\)$#\1#p' | sort -u)
while IFS= read -r f; do
  [ -n "$f" ] || continue
  if [ -f "$f" ]; then frame "map $f" < "$f"; fi
done <<< "$maps"

# Dovecot's passwd-files: the last word of each passdb/userdb "args" line of a passwd-file driver.
# A passdb with "deny = yes" lists who may not log in (a suspension): framed "deny-file <path>".
files=$(printf '%s\n' "$dovecot" | awk '/^(passdb|userdb)/ {b=1; d=""; a=""; n=""} b && /driver = passwd-file/ {d=1} b && /^ *deny = yes/ {n=1} b && /^ *args = / {a=$NF} b && /^}/ {if (d && a != "") print (n ? "deny-file " : "passwd-file ") a; b=0}' | sort -u)
while IFS= read -r line; do
  f=${line#* }
  case "$f" in /*) ;; *) continue ;; esac
  if [ -f "$f" ]; then frame "$line" < "$f"; fi
done <<< "$files"
