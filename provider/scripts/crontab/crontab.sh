#!/usr/bin/env bash
# The block of a member's crontab that git manages (provider/resources/crontab.ts), after
# account/prelude.sh. The member's own jobs, above the block, are kept as they are; the block is
# replaced whole. crontab(1) installs the result, so cron's own syntax check has the last word.
#   crontab.sh apply  HANDLE   (stdin: the block, empty to remove it)
#   crontab.sh read   HANDLE   (prints block64=<the live block, base64>)
#   crontab.sh remove HANDLE
# shellcheck disable=SC2154 # uid is set by member() of prelude.sh, which the loader puts first
action=$1 h=$2
BEGIN_RE='^# BEGIN globenet'
END_RE='^# END globenet'

# The account must be a member's, made by Globenet (its marker), or nothing is touched.
account() {
  if ! member "$h"; then echo "account=absent"; return 1; fi
  [ "$(marker user "$h")" = "$uid" ] || die "refusing: the user $h was not created by Globenet (no ownership marker): its crontab is not ours to change"
}
# The member's crontab as cron has it (crontab -l leaves out its own header), or nothing.
current() { crontab -u "$h" -l 2>/dev/null || true; }
without_block() { awk -v b="$BEGIN_RE" -v e="$END_RE" '$0 ~ b { skip = 1 } !skip { print } $0 ~ e { skip = 0 }'; }
only_block() { awk -v b="$BEGIN_RE" -v e="$END_RE" '$0 ~ b { keep = 1 } keep { print } $0 ~ e { keep = 0 }'; }
# Drops trailing blank lines, so the block is not pushed down by one line at each apply.
trim_end() { awk '{ lines[NR] = $0 } NF { last = NR } END { for (i = 1; i <= last; i++) print lines[i] }'; }

install_tab() {
  local new=$1 err
  if [ -z "$new" ]; then
    crontab -u "$h" -r 2>/dev/null || true
    echo "crontab=empty"
    return 0
  fi
  if ! err=$(printf '%s\n' "$new" | crontab -u "$h" - 2>&1); then
    die "cron refused $h's crontab: $err (fix the job in the member file; the crontab on the host is unchanged)"
  fi
  echo "crontab=installed"
}

case "$action" in
  apply)
    block=$(cat)
    account || die "there is no account $h on this host yet (its Account resource makes it first)"
    own=$(current | without_block | trim_end)
    if [ -n "$own" ] && [ -n "$block" ]; then install_tab "$own"$'\n\n'"$block"; else install_tab "$own$block"; fi
    ;;
  read)
    account || exit 0
    printf 'block64=%s\n' "$(current | only_block | base64 -w0)"
    ;;
  remove)
    account || exit 0
    install_tab "$(current | without_block | trim_end)"
    ;;
  *) die "crontab.sh: unknown action $action" ;;
esac
