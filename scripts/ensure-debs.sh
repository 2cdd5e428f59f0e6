#!/usr/bin/env bash
# Installs the Debian packages that the tests (tier 2: the daemons' own checkers) and the lab
# stack need, and only those that are missing. Idempotent; fast (one dpkg-query) when all is
# installed. Debian 12 (bookworm).
#
#   bash scripts/ensure-debs.sh              # the list below
#   bash scripts/ensure-debs.sh --unit       # only the unit tier's checkers (UNIT_PACKAGES)
#   EXTRA_DEBS="pkg1 pkg2" bash scripts/ensure-debs.sh
#
# As root: installs what is missing with
#   DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends …
# running `apt-get update` at most once, and only when something is missing; then libssl3 and
# openssl are brought to the version those packages were built against (see IN_STEP below).
# Not root and something missing: fails, naming the packages and the command to run.
#
# Daemons are never started by the install: if /usr/sbin/policy-rc.d does not exist (it does
# in Debian's container images), a temporary one that denies every start is put in place for
# the duration of the install and removed afterwards. The tests and the lab start their own
# daemons by hand (see LAB-NOTES).
set -euo pipefail

# Package                 what needs it
PACKAGES=(
  apache2                # apache2ctl -t on rendered vhosts; lab web host
  libapache2-mpm-itk     # members' sites run as their own users (AssignUserID); the web host's MPM
  php-fpm                # php-fpm8.2 -t on rendered pools; lab web host
  php-mysql              # mysqli/PDO for members' PHP (WordPress…) on the web host; tests/db-remote.test.ts: a member's PHP reads its rows from the db host
  mariadb-server         # mariadbd + mariadb-install-db: throwaway servers in tests; lab
  mariadb-client         # mariadb client
  bind9                  # lab DNS
  bind9-utils            # named-checkconf, named-checkzone
  bind9-dnsutils         # dig
  libvirt-clients        # virt-xml-validate (and virsh)
  libvirt-daemon-system  # libvirtd + virtlogd: the lab hypervisor, the Guest resource's tests
  libvirt-daemon-driver-qemu # libvirt's QEMU driver (qemu:///system)
  qemu-system-x86        # the guests themselves (TCG here, see LAB-NOTES)
  qemu-utils             # qemu-img (overlays, resize, archive convert/check), qemu-io in tests
  libnbd-bin             # nbdcopy: a VPS disk streamed from libvirt's NBD backup export (or qemu-nbd) into borg (provider/scripts/backup/run.sh)
  genisoimage            # genisoimage (cloud-init seed ISO), isoinfo (read the seed back)
  debootstrap            # the lab's Debian base image (scripts/lab-image.sh)
  pebble                 # the lab's ACME CA (lib/lab/pebble.ts): certificates for the lab's sites
  openssl                # the lab makes pebble's listener certificate
  ssl-cert               # Debian's snakeoil certificate: the HTTPS answer for names no site serves
  e2fsprogs              # mkfs.ext4 -d (the lab image without a loop device), debugfs (tests read an archived disk)
  libxml2-utils          # xmllint, which virt-xml-validate runs
  cloud-init             # cloud-init schema; its Python modules parse network-config
  curl                   # lab checks
  openssh-server         # lab hosts are reached over SSH
  whois                  # mkpasswd: the yescrypt hash of an SFTP member's password (docs/guide-benevole.md; tests/provider-sftp.test.ts)
  passwd                 # useradd/userdel (checkFpm creates temporary pool users)
  sudo                   # lab: the provider runs `sudo -n` as the lab's deploy user
  cron                   # a suspended member's crontab is set aside (provider Account; tests/provider-account.test.ts)
  quota                  # setquota/quotaon: members' disk and inode quotas on the web host's homes (provider Account, account/quota.sh); tests/provider-quota.test.ts
  postgresql             # PostgreSQL 15: the shared state's backend in tests and `lab --state postgres` (started by hand)
  ebtables               # libvirt's network filters (the bridged guests' globenet-clean-traffic; every hypervisor needs it), tests/guest-nwfilter.test.ts
  tcpdump                # tests/guest-nwfilter.test.ts captures what reaches the guest's gateway
  busybox-static         # the tiny guest of tests/guest-nwfilter.test.ts (its initramfs)
  shellcheck             # tests/shell-scripts.test.ts lints every shell script of the repository
  borgbackup             # backups (provider backup Client and Repository, provider/scripts/backup/run.sh): borg create/prune/check/extract on each host, borg serve on the backup host; tests/provider-backup.test.ts
  iproute2               # ip netns/link/route, ss: the multi-host lab's namespaces (lib/lab/netns.ts), tests/lab-multi.test.ts
  util-linux             # nsenter, unshare: each lab host's daemons in its network and mount namespaces (lib/lab/netns.ts)
  prometheus             # the monitor host's Prometheus; promtool checks the rendered configuration and rules (tests/monitoring-checkers.test.ts)
  prometheus-alertmanager # amtool check-config on the rendered alertmanager.yml
  prometheus-blackbox-exporter # --config.check on the rendered blackbox.yml (the sites', zones' and VPS' probes)
  prometheus-node-exporter # each host's disk, inodes, memory and load for the monitor host (the multi-host lab runs one per host)
  prometheus-postfix-exporter # the mail host's queue for the monitor host (the multi-host lab runs it on mail1)
  nftables               # each host's node exporter port open to the monitor host only (the node-exporter file set's table; nft -c checks it, tests/monitoring-checkers.test.ts)
  postfix                # the mail host's MTA: virtual mailbox domains, submission (tests/mail-daemons.test.ts)
  dovecot-imapd          # the mail host's IMAP server (IMAPS), SASL for Postfix's submission, quota
  dovecot-lmtpd          # delivery from Postfix into the mailboxes (LMTP), where the quota is checked
  chromium               # the member portal in a real browser, driven by playwright-core (tests/portal-browser.test.ts)
  swaks                  # the SMTP client of the mail tests (delivery, refusals, submission with login)
  libnet-ssleay-perl     # swaks' STARTTLS and SMTPS
  libio-socket-ssl-perl  # swaks' STARTTLS and SMTPS
  libauthen-sasl-perl    # swaks' AUTH PLAIN/LOGIN
  opendkim               # DKIM signing of what members submit, verification of what arrives (the mail host's milter)
  opendkim-tools         # opendkim-genkey: each domain's DKIM key, made on the mail host
  postsrsd               # SRS for forwards: a member's forward leaves with a sender on our domain (SPF passes), bounces reversed (the mail host's tcp tables)
  python3-spf            # tests/lab-multi.test.ts evaluates SPF (pyspf) for the SRS domain against the relaying address, with the record ns1 serves
  python3-dkim           # tests/mail-daemons.test.ts verifies the DKIM signature against the TXT record we publish
  lego                   # the mail host's certificate from ACME (lib/render/scripts/mail-cert.sh): standalone http-01, no web server on the mail host
)
# The unit tier (npm run test:unit) runs no daemon, but lints and checks with small tools.
UNIT_PACKAGES=(
  shellcheck             # tests/shell-scripts.test.ts
  bind9-utils            # named-checkzone: tests/checks-dns-rules.unit.test.ts
  dovecot-core           # doveadm pw (no daemon): mailbox passwords in tests/portal-request-types.test.ts
  openssh-client         # ssh-keygen -l: what sshd takes as a key, tests/unit-ssh-key-sk.test.ts
)
if [[ "${1:-}" == "--unit" ]]; then
  PACKAGES=("${UNIT_PACKAGES[@]}")
elif [[ -n "${1:-}" ]]; then
  printf '[ensure-debs] unknown option %s (only --unit)\n' "$1" >&2
  exit 2
fi
if [[ -n "${EXTRA_DEBS:-}" ]]; then
  read -r -a extra <<<"$EXTRA_DEBS"
  PACKAGES+=("${extra[@]}")
fi

log() { printf '[ensure-debs] %s\n' "$*" >&2; }

# $EPOCHREALTIME needs bash 5 (Debian 12 has 5.2).
now() { printf '%s' "${EPOCHREALTIME/[,]/.}"; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2fs", b - a }'; }

# step "label" cmd args…: runs the command, prints its duration, keeps its exit status.
step() {
  local label="$1"; shift
  local t0 rc=0
  t0="$(now)"
  log "$label …"
  "$@" || rc=$?
  if [[ $rc -eq 0 ]]; then
    log "$label: done in $(elapsed "$t0")"
  else
    log "$label: FAILED (exit $rc) after $(elapsed "$t0")"
  fi
  return "$rc"
}

# Prints the packages from "$@" that are not fully installed ("ii").
missing_packages() {
  local -A state=()
  local name status
  # Unknown packages make dpkg-query exit 1 and print to stderr; they simply count as missing.
  while IFS=$'\t' read -r name status; do
    state["$name"]="$status"
  done < <(dpkg-query -W -f='${Package}\t${db:Status-Abbrev}\n' "$@" 2>/dev/null || true)
  local p
  for p in "$@"; do
    if [[ "${state[$p]:-}" != "ii "* ]]; then
      printf '%s\n' "$p"
    fi
  done
}

t_start="$(now)"

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
  log "ERROR: dpkg-query/apt-get not found: this script is for Debian 12 (bookworm)."
  exit 1
fi

mapfile -t MISSING < <(missing_packages "${PACKAGES[@]}")
if [[ ${#MISSING[@]} -eq 0 ]]; then
  log "all ${#PACKAGES[@]} packages installed ($(elapsed "$t_start"))"
  exit 0
fi

log "missing: ${MISSING[*]}"

if [[ "$(id -u)" -ne 0 ]]; then
  log "ERROR: these Debian packages are missing and this script is not running as root:"
  log "         ${MISSING[*]}"
  log "       install them by hand, then run the tests again:"
  log "         sudo apt-get update"
  log "         sudo DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${MISSING[*]}"
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
APT_OPTS=(-y -q --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

# Keep daemons from starting during the install (see the header).
TEMP_POLICY=""
cleanup() {
  if [[ -n "$TEMP_POLICY" ]]; then
    rm -f "$TEMP_POLICY"
  fi
}
trap cleanup EXIT
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
  TEMP_POLICY=/usr/sbin/policy-rc.d
  printf '#!/bin/sh\n# temporary, from globenet-infra scripts/ensure-debs.sh\nexit 101\n' >"$TEMP_POLICY"
  chmod 0755 "$TEMP_POLICY"
  log "no /usr/sbin/policy-rc.d: installed a temporary one so no daemon starts during the install"
fi

updated=0
apt_update() {
  updated=1
  step "apt-get update" apt-get -q update
}

# Package lists are empty in a fresh container image: nothing to install from without an update.
if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
  apt_update
fi

if ! step "apt-get install ${MISSING[*]}" apt-get install "${APT_OPTS[@]}" "${MISSING[@]}"; then
  if [[ $updated -eq 1 ]]; then
    log "ERROR: could not install: ${MISSING[*]} (see apt-get's output above)."
    log "       by hand: apt-get update && apt-get install -y --no-install-recommends ${MISSING[*]}"
    exit 1
  fi
  log "install failed; the package lists may be stale: updating and retrying once"
  apt_update
  if ! step "apt-get install ${MISSING[*]} (retry)" apt-get install "${APT_OPTS[@]}" "${MISSING[@]}"; then
    log "ERROR: could not install: ${MISSING[*]} (see apt-get's output above)."
    log "       by hand: apt-get update && apt-get install -y --no-install-recommends ${MISSING[*]}"
    exit 1
  fi
fi

mapfile -t STILL < <(missing_packages "${PACKAGES[@]}")
if [[ ${#STILL[@]} -ne 0 ]]; then
  log "ERROR: still not installed after apt-get install: ${STILL[*]}"
  log "       check with: dpkg-query -W -f='\${Package} \${db:Status-Abbrev}\\n' ${STILL[*]}"
  exit 1
fi
# Daemons from the security archive (Apache's mod_ssl and mod_md, PHP, Postfix, Dovecot) are
# built against its newest OpenSSL, but apt keeps an older libssl3 that still satisfies their
# dependency: Apache then says at each start "AH01882: this version of mod_ssl was compiled
# against a newer library ... may result in undefined or erroneous behavior". Upgraded with them,
# from the same package lists (nothing is installed that was not there).
IN_STEP=(libssl3 openssl)
if ! step "apt-get install --only-upgrade ${IN_STEP[*]}" apt-get install "${APT_OPTS[@]}" --only-upgrade "${IN_STEP[@]}"; then
  log "note: could not upgrade ${IN_STEP[*]} to the version the new daemons were built against (left as they were)"
fi
log "installed ${MISSING[*]}; total $(elapsed "$t_start")"
