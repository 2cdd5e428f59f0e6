#!/usr/bin/env bash
# Import, read-only: what the running Apache serves. Prints `apache2ctl -S` (virtual hosts
# with their file:line), a NUL, then `apache2ctl -t -D DUMP_INCLUDES` (every file included).
# apache2ctl only creates its run and lock folders when they are missing; /etc is not touched.
apache2ctl -S 2>&1
printf '\0'
apache2ctl -t -D DUMP_INCLUDES 2>&1
