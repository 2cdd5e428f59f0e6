#!/usr/bin/env bash
# The RRSIG check of the monitor host (docs/architecture.md, "Monitoring"; lib/render/monitoring-dnssec.ts):
# for each signed zone on each of its name servers (one line of TARGETS: zone owner nameserver
# address, rendered from the data), asks the server for the zone's SOA with its signatures
# (dig +dnssec, no recursion) and writes, for the node exporter's textfile collector, whether
# an RRSIG of the SOA came back and when the earliest one expires. The blackbox exporter's DNS
# prober sees the answer, not the signature's expiry: hence this script, run by the monitoring
# set's systemd timer (globenet-rrsig.timer; the lab runs it in a loop on mon1).
#
#   rrsig-expiry.sh TARGETS OUT      OUT: the .prom file, replaced by a rename (never read half-written)
set -uo pipefail
targets=$1 out=$2
[ -r "$targets" ] || { printf 'cannot read %s\n' "$targets" >&2; exit 2; }
command -v dig > /dev/null || { printf 'dig is not installed: install bind9-dnsutils\n' >&2; exit 2; }

# Validity: delv checks the SOA's signatures against the zone's key-signing keys as its primary
# serves them (the zone's first line: the plan lists the primary first), a trust anchor of the
# zone itself (no chain to the root: members' parents may not hold a DS), so a signature that
# does not verify (corrupted, made by a key the zone no longer publishes, expired) is seen on
# each server even while it is present and not near expiry.
anchors=$(mktemp -d) || exit 1
trap 'rm -rf -- "$anchors"' EXIT
declare -A anchor_of=()
have_delv=yes
command -v delv > /dev/null || { have_delv=no; printf 'delv is not installed: install bind9-dnsutils (the signatures are not validated)\n' >&2; }

present=() expiry=() valid=()
while read -r zone owner ns addr rest; do
  case "$zone" in '' | '#'*) continue ;; esac
  # Only names, handles and addresses: each value becomes a label, written as is.
  for v in "$zone" "$owner" "$ns" "$addr"; do
    case "$v" in *[!A-Za-z0-9.:_-]*) printf 'skipping a line of %s: unexpected characters in %s\n' "$targets" "$v" >&2; continue 2 ;; esac
  done
  [ -z "${rest:-}" ] || { printf 'skipping a line of %s: more than 4 fields\n' "$targets" >&2; continue; }
  labels="zone=\"$zone\",owner=\"$owner\",nameserver=\"$ns\""
  answer=$(dig +dnssec +norecurse +noall +answer +time=3 +tries=2 "@$addr" "$zone" SOA 2> /dev/null) || answer=""
  # An RRSIG line: owner TTL class RRSIG covered algorithm labels origttl EXPIRATION INCEPTION keytag signer sig.
  first=$(awk -v z="$zone." 'tolower($1) == tolower(z) && $4 == "RRSIG" && $5 == "SOA" { print $9 }' <<< "$answer" | sort | head -n1)
  if [[ "$first" =~ ^[0-9]{14}$ ]]; then
    when=$(date -u -d "${first:0:4}-${first:4:2}-${first:6:2} ${first:8:2}:${first:10:2}:${first:12:2}" +%s) || when=""
  else
    when=""
  fi
  if [ "$have_delv" = yes ] && [ -z "${anchor_of[$zone]+x}" ]; then
    # The zone's KSKs from this (first: the primary's) line, as delv's trust-anchors clause.
    anchor_of[$zone]=$anchors/$zone.anchor
    dig +norecurse +noall +answer +time=3 +tries=2 "@$addr" "$zone" DNSKEY 2> /dev/null |
      awk -v z="$zone." 'tolower($1) == tolower(z) && $4 == "DNSKEY" && $5 == 257 && $7 ~ /^[0-9]+$/ { k = ""; for (i = 8; i <= NF; i++) k = k $i; if (k ~ /^[A-Za-z0-9+\/=]+$/) printf "  \"%s\" static-key %s %s %s \"%s\";\n", z, $5, $6, $7, k }' > "$anchors/keys" || true
    { echo "trust-anchors {"; cat -- "$anchors/keys"; echo "};"; } > "${anchor_of[$zone]}"
    [ -s "$anchors/keys" ] || : > "${anchor_of[$zone]}"
  fi
  if [ -n "$when" ]; then
    present+=("globenet_dnssec_rrsig_present{$labels} 1")
    expiry+=("globenet_dnssec_rrsig_expiry_timestamp_seconds{$labels} $when")
    if [ "$have_delv" = yes ]; then
      # "; fully validated" only when every signature of the answer verifies with the anchors (delv has no timeout of its own).
      if [ -s "${anchor_of[$zone]}" ] && timeout 10 delv -a "${anchor_of[$zone]}" "+root=$zone" "@$addr" "$zone" SOA 2>&1 | grep -q '^; fully validated'; then
        valid+=("globenet_dnssec_rrsig_valid{$labels} 1")
      else
        valid+=("globenet_dnssec_rrsig_valid{$labels} 0")
      fi
    fi
  else
    present+=("globenet_dnssec_rrsig_present{$labels} 0")
  fi
done < "$targets"

dir=$(dirname -- "$out")
tmp=$(mktemp "$dir/.globenet-dnssec.XXXXXX") || exit 1
trap 'rm -f -- "$tmp"; rm -rf -- "$anchors"' EXIT
{
  echo "# HELP globenet_dnssec_rrsig_present 1 when the name server answers the signed zone's SOA with an RRSIG, 0 otherwise."
  echo "# TYPE globenet_dnssec_rrsig_present gauge"
  if [ "${#present[@]}" -gt 0 ]; then printf '%s\n' "${present[@]}"; fi
  echo "# HELP globenet_dnssec_rrsig_expiry_timestamp_seconds When the earliest RRSIG of the zone's SOA on that name server expires."
  echo "# TYPE globenet_dnssec_rrsig_expiry_timestamp_seconds gauge"
  if [ "${#expiry[@]}" -gt 0 ]; then printf '%s\n' "${expiry[@]}"; fi
  echo "# HELP globenet_dnssec_rrsig_valid 1 when the SOA's signatures on that name server verify (delv) with the zone's keys as its primary serves them."
  echo "# TYPE globenet_dnssec_rrsig_valid gauge"
  if [ "${#valid[@]}" -gt 0 ]; then printf '%s\n' "${valid[@]}"; fi
  echo "# HELP globenet_dnssec_rrsig_check_timestamp_seconds When the RRSIG check last ran."
  echo "# TYPE globenet_dnssec_rrsig_check_timestamp_seconds gauge"
  echo "globenet_dnssec_rrsig_check_timestamp_seconds $(date +%s)"
} > "$tmp" || exit 1
chmod 0644 -- "$tmp"
mv -f -- "$tmp" "$out"
rm -rf -- "$anchors"
trap - EXIT
