#!/usr/bin/env bash
# The mail host's certificate from ACME (docs/architecture.md, "Mail"; lib/render/mail.ts): lego
# (Debian package lego) asks the inventory's ACME CA, the sites' own, for a certificate of the
# mail host's public name, answering the CA's http-01 challenge itself on port 80 (no web server
# on the mail host). A first run asks for one (`lego run`), later runs renew it when fewer than
# renew_days days are left (`lego renew`). Whenever lego's certificate or key differs from what
# Postfix and Dovecot read (cert=, key=), both are replaced (a rename each: never half-written)
# and the two daemons that run are reloaded; a stopped one is never started. Run by the mail
# set's systemd timer (globenet-mail-cert.timer) in prod; the lab runs it once after the apply.
#
#   mail-cert.sh CONF      CONF: the set's acme/mail-cert.conf (key=value lines, rendered from the inventory)
#
# Exit 0: the certificate is in place (new or not); 1: lego failed or the installation did; 2: bad use.
set -uo pipefail
say() { printf 'globenet-mail-cert: %s\n' "$*" >&2; }
conf=${1:-}
if [ -z "$conf" ] || [ ! -r "$conf" ]; then say "usage: mail-cert.sh <mail-cert.conf> (cannot read '${conf}')"; exit 2; fi

directory="" email="" name="" ca_trust="" store="" cert="" key="" renew_days=""
while IFS='=' read -r k v; do
  case "$k" in
    '' | '#'*) continue ;;
    directory | email | name | ca_trust | store | cert | key | renew_days) ;;
    *) say "$conf: unknown setting '$k'"; exit 2 ;;
  esac
  # Rendered values are names, paths, a URL and an address: anything else is not ours.
  case "$v" in *[!A-Za-z0-9._~:/@+-]*) say "$conf: unexpected characters in $k"; exit 2 ;; esac
  printf -v "$k" '%s' "$v"
done < "$conf"
for k in directory email name store cert key renew_days; do
  [ -n "${!k}" ] || { say "$conf: $k is not set"; exit 2; }
done
[[ "$renew_days" =~ ^[0-9]+$ ]] || { say "$conf: renew_days is not a number"; exit 2; }
command -v lego > /dev/null || { say "lego is not installed on this host: install Debian's lego"; exit 1; }

# The lab's CA (pebble) answers over HTTPS with a certificate of its own: trusted for lego only.
if [ -n "$ca_trust" ]; then export LEGO_CA_CERTIFICATES="$ca_trust"; fi
umask 077
install -d -m 0700 -- "$store" || exit 1
args=(--accept-tos --path "$store" --server "$directory" --email "$email" --domains "$name" --key-type rsa2048 --http --http.port :80)
issued="$store/certificates/$name.crt" issued_key="$store/certificates/$name.key"
if [ -s "$issued" ] && [ -s "$issued_key" ]; then
  lego "${args[@]}" renew --days "$renew_days" --no-random-sleep || { say "lego could not renew the certificate of $name from $directory"; exit 1; }
else
  lego "${args[@]}" run || { say "lego could not get a certificate for $name from $directory (is port 80 of this host reachable from the CA, and does $name point here?)"; exit 1; }
fi
if [ ! -s "$issued" ] || [ ! -s "$issued_key" ]; then say "lego left no certificate for $name in $store/certificates"; exit 1; fi

if cmp -s -- "$issued" "$cert" && cmp -s -- "$issued_key" "$key"; then
  say "the certificate of $name is unchanged: nothing reloaded"
  exit 0
fi
# Key first: a daemon reading between the two renames then gets the old certificate with the new
# key, refused at its reload rather than served; both are in place before anything is reloaded.
install -d -m 0755 -- "$(dirname -- "$cert")" "$(dirname -- "$key")" || exit 1
put() { install -m "$1" -- "$2" "$3.globenet-new" && mv -f -- "$3.globenet-new" "$3"; }
put 0600 "$issued_key" "$key" || { say "could not install $key"; exit 1; }
put 0644 "$issued" "$cert" || { say "could not install $cert"; exit 1; }
say "installed the certificate of $name ($(openssl x509 -in "$cert" -noout -enddate 2> /dev/null || echo 'end date unreadable'))"

failed=""
if [ -d /run/systemd/system ]; then
  # try-: only a running unit is reloaded; a stopped one stays stopped.
  for d in postfix dovecot; do systemctl try-reload-or-restart "$d" || failed+=" $d"; done
else
  if postfix status > /dev/null 2>&1; then postfix reload > /dev/null 2>&1 || failed+=" postfix"; else say "postfix is not running: it reads the certificate when it starts"; fi
  if doveadm reload > /dev/null 2>&1; then :; else say "dovecot is not running: it reads the certificate when it starts"; fi
fi
if [ -n "$failed" ]; then say "the reload of$failed failed: the new certificate is in place, not yet served"; exit 1; fi
say "reloaded postfix and dovecot where they run"
