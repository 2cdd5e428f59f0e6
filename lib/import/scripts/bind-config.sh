#!/usr/bin/env bash
# Import, read-only: the running BIND's configuration as named-checkconf prints it (every
# include followed, one canonical syntax). -x prints every shared secret as question marks,
# so no TSIG or rndc key leaves the host.
named-checkconf -p -x
