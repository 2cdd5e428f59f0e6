#!/usr/bin/env bash
# rndc dnssec -checkds published|withdrawn ZONE (lib/status/dnssec.ts; after as-bind.sh): tells
# BIND what the registrar now shows.
what=$1 zone=$2
case "$what" in published|withdrawn) ;; *) echo "bad action" >&2; exit 2 ;; esac
case "$zone" in *[!a-z0-9.-]*|.*) echo "bad zone name" >&2; exit 2 ;; esac
rndc dnssec -checkds "$what" "$zone"
