#!/usr/bin/env bash
# The mail host's live state for `npm run status -- mail` (lib/status/mail.ts):
#   POSTFIX_DIR DOVECOT_CONF KEY_DIR SELECTOR [DOMAIN…]
# Prints three sections, each ended by a NUL, each starting with "ok" or "error <why>" on its
# first line: the mailboxes' quota (doveadm -f tab quota get -A), the queue (postqueue -j, one
# JSON object a line), and per domain "<domain> <public key, base64 DER>" from the DKIM private
# key of SELECTOR (only the public half is printed; "<domain> none" without a key).
export LC_ALL=C
postfix_dir=${1:-} dovecot_conf=${2:-} key_dir=${3:-} selector=${4:-}
shift 4 || { echo "usage: POSTFIX_DIR DOVECOT_CONF KEY_DIR SELECTOR [DOMAIN…]" >&2; exit 2; }
for p in "$postfix_dir" "$dovecot_conf" "$key_dir"; do
  case "$p" in /*) ;; *) echo "not an absolute path: $p" >&2; exit 2 ;; esac
  case "$p" in *[!A-Za-z0-9._/-]*|*..*) echo "bad path: $p" >&2; exit 2 ;; esac
done
case "$selector" in ''|*[!a-z0-9-]*) echo "bad selector: $selector" >&2; exit 2 ;; esac
for d in "$@"; do
  case "$d" in ''|.*|*[!a-z0-9.-]*|*..*) echo "bad domain: $d" >&2; exit 2 ;; esac
done

# One section: "ok" and the command's output, or "error" and its first lines.
section() {
  local out rc=0
  out=$("$@" 2>&1) || rc=$?
  if [ $rc -eq 0 ]; then printf 'ok\n%s\n\0' "$out"
  else printf 'error %s\n\0' "$(printf '%s' "$out" | head -n 3 | tr '\n' ' ')"; fi
}

section doveadm -c "$dovecot_conf" -f tab quota get -A
section postqueue -c "$postfix_dir" -j
printf 'ok\n'
for d in "$@"; do
  key=$key_dir/$selector/$d.private
  if [ -f "$key" ]; then
    pub=$(openssl pkey -in "$key" -pubout -outform DER 2> /dev/null | base64 -w0) || pub=""
    printf '%s %s\n' "$d" "${pub:-unreadable}"
  else
    printf '%s none\n' "$d"
  fi
done
printf '\0'
