/**
 * globenet:hosting:Account — a member's unix account on a web host: user and group `handle`,
 * home /home/<handle> (owner <handle>:<handle>, 0750: the member's sites are served as the
 * member under mpm-itk, so neither Apache's www-data nor other members can enter),
 * ~/tmp, ~/sites/<host>/htdocs per site, ~/.ssh/authorized_keys, ~/.my.cnf including
 * ~/.my.cnf.d (where each Database drops its credentials file).
 *
 * Root does only what needs root (useradd, usermod, the home itself, archives); everything
 * inside the home is done with the member's own rights (setpriv), so a symbolic link the
 * member planted there can never make the provider read or write outside what the member
 * could reach anyway. Removing a site or the account archives first, verifies the archive,
 * then removes.
 *
 * The user and group carry the provider's ownership markers (account-shared.ts): an existing
 * login or group of that name is never adopted, changed or removed. A suspended account is
 * refused by sshd with a message (a drop-in in the host's sshd_config.d), locked, its crontab
 * set aside and every process of it stopped (docs/architecture.md, "Suspension").
 */
import type { DiffResult } from "@pulumi/pulumi/provider";
import { renderSuspendedSshd } from "../../lib/render/sshd-suspended";
import { email as emailSchema } from "../../lib/schema/common";
import { sshPublicKeyProblem } from "../../lib/schema/ssh-key";
import { run } from "../ssh/remote";
import type { ResourceType, Target } from "../types";
import {
  CRONTAB_ASIDE_DIR,
  Failures,
  PRELUDE,
  asTarget,
  checkTarget,
  handleProblem,
  hasUnknown,
  homeProblem,
  hostProblem,
  parseLines,
  pathProblem,
  plain,
  printable,
  str,
  utcStamp,
} from "./account-shared";

export type AccountStatus = "active" | "suspended" | "departed";

/** The web host's sshd, from the inventory (hosts.<host>.sshd): where drop-ins go, how to find the daemon. */
export interface SshdFacts {
  /** A folder the sshd config includes (`Include <dir>/*.conf`); Debian: /etc/ssh/sshd_config.d. */
  dropinDir: string;
  /** The running sshd's pid file (Debian: /run/sshd.pid): the daemon to test and reload. */
  pidFile: string;
}

export interface AccountInputs {
  target: Target;
  handle: string;
  home: string;
  /**
   * Anything but "active" suspends the account: sshd refuses it with a message, the password
   * is locked and the account expired, the crontab set aside, every process killed; keys and
   * files stay.
   */
  status: AccountStatus;
  sshKeys: string[];
  /** Site host names, sorted: each gets ~/sites/<host>/htdocs. */
  sites: string[];
  /** Root-only folder on the web host for archives (accounts/, sites/). */
  archiveDir: string;
  diskQuotaMb: number;
  sshd: SshdFacts;
  /** Whom a suspended member is told to write to (the inventory's hostmaster). */
  contact: string;
}

export interface AccountOutputs extends AccountInputs {
  /** Archives made by this resource (removed sites), oldest first. */
  archives: string[];
  /** Whether the disk quota is enforced (the file system must have user quotas on). */
  diskQuotaEnforced: boolean;
  /** What `read` found out of line with the wanted state besides the inputs (empty when in line). */
  drift: string[];
  /** The host's registry marks the user and group as the provider's (false: the next update marks them). */
  marked: boolean;
}

// ---- remote scripts (constant; member values arrive as quoted positional arguments) -----

/**
 * sshd for a suspended member: `sshd_deny H DIR PIDFILE CONF BANNER` puts the drop-in and its
 * banner in place and reloads sshd, `sshd_allow H DIR PIDFILE` takes them away. sshd is found
 * through its pid file (the inventory's `sshd.pid_file`): its binary and the config file on its
 * command line. The drop-in is tested with `sshd -t` before it enters the folder sshd reads, the
 * whole config again after, and `sshd -T` must then show the refusal for the member (else the
 * folder is not included, and the drop-in is taken back out): a broken or useless drop-in never
 * stays live.
 */
const SSHD_FUNCS = `
sshd_of() {
  local pf=$1 pid a prev='' words
  [ -f "$pf" ] || die "no sshd pid file $pf on this host (the inventory's hosts.<host>.sshd.pid_file): is sshd running there?"
  pid=$(head -c 20 -- "$pf" | tr -dc 0-9)
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || die "the sshd of $pf (pid \${pid:-none}) is not running"
  sshd_bin=$(readlink -- "/proc/$pid/exe")
  sshd_bin=\${sshd_bin% (deleted)}
  case "\${sshd_bin##*/}" in sshd) ;; *) die "$pf names pid $pid, which runs $sshd_bin, not sshd" ;; esac
  # Its config file: -f on its command line, which sshd rewrites as one title string
  # ("sshd: /usr/sbin/sshd -D -f /etc/… [listener] …"), else the default.
  sshd_conf=/etc/ssh/sshd_config
  read -r -a words <<<"$(tr '\\0' ' ' < "/proc/$pid/cmdline")"
  for a in "\${words[@]}"; do
    if [ "$prev" = -f ]; then sshd_conf=$a; fi
    case "$a" in -f?*) sshd_conf=\${a#-f} ;; esac
    prev=$a
  done
  [ -f "$sshd_conf" ] || die "cannot tell the config file of sshd (pid $pid) from its command line: $sshd_conf is not a file"
  sshd_pid=$pid sshd_pidfile=$pf
}
sshd_reload() {
  local before _
  before=$(stat -c %.9Y -- "$sshd_pidfile")
  "$sshd_bin" -t -f "$sshd_conf" || die "sshd rejects its configuration $sshd_conf: not reloaded"
  kill -HUP "$sshd_pid"
  # On SIGHUP sshd executes itself again and rewrites its pid file once it listens.
  for _ in $(seq 1 50); do
    [ "$(stat -c %.9Y -- "$sshd_pidfile" 2>/dev/null || true)" = "$before" ] || return 0
    sleep 0.1
  done
  die "sshd (pid $sshd_pid) did not come back within 5 s of its reload: check it on this host now"
}
sshd_dir() {
  [ ! -L "$1" ] || die "$1 is a symbolic link: refusing to write sshd drop-ins through it"
  [ -d "$1" ] || install -d -m 0755 -- "$1"
  [ "$(stat -c %u -- "$1")" = 0 ] || die "$1 is not owned by root: refusing to write sshd drop-ins there"
}
sshd_deny() {
  local h=$1 dir=$2 want=$4 btext=$5 conf="$2/globenet-suspended-$1.conf" banner="$2/globenet-suspended-$1.txt" stage t out
  sshd_dir "$dir"
  if [ -f "$conf" ] && [ ! -L "$conf" ] && [ "$(cat -- "$conf")" = "$want" ] && [ -f "$banner" ] && [ "$(cat -- "$banner")" = "$btext" ]; then return 0; fi
  sshd_of "$3"
  printf '%s\\n' "$btext" > "$banner.new"
  chmod 0644 -- "$banner.new"
  mv -f -- "$banner.new" "$banner"
  # Staged under a name sshd's Include (*.conf) does not match, tested, then moved in.
  stage="$dir/.globenet-suspended-$h.conf.new"
  printf '%s\\n' "$want" > "$stage"
  chmod 0644 -- "$stage"
  t=$(mktemp)
  printf 'Include %s\\nInclude %s\\n' "$stage" "$sshd_conf" > "$t"
  if ! out=$("$sshd_bin" -t -f "$t" 2>&1); then rm -f -- "$t" "$stage"; die "sshd rejects the suspension drop-in of $h (nothing changed): $out"; fi
  rm -f -- "$t"
  mv -f -- "$stage" "$conf"
  if ! out=$("$sshd_bin" -t -f "$sshd_conf" 2>&1); then rm -f -- "$conf"; die "sshd rejects $sshd_conf with $conf, which was taken out again: $out"; fi
  out=$("$sshd_bin" -T -f "$sshd_conf" -C "user=$h,host=globenet-check,addr=127.0.0.1" 2>/dev/null || true)
  if ! grep -qxF -- "banner $banner" <<<"$out" || ! grep -qxF -- 'denyusers *' <<<"$out"; then
    rm -f -- "$conf"
    die "sshd does not read $dir (its config $sshd_conf has no 'Include $dir/*.conf'): the suspension drop-in was taken out again. Add that Include at the top of $sshd_conf, or correct sshd.dropin_dir in the inventory"
  fi
  sshd_reload
  echo "sshd=denied"
}
sshd_allow() {
  local conf="$2/globenet-suspended-$1.conf" banner="$2/globenet-suspended-$1.txt"
  rm -f -- "$banner"
  [ -e "$conf" ] || [ -L "$conf" ] || return 0
  rm -f -- "$conf"
  sshd_of "$3"
  sshd_reload
  echo "sshd=allowed"
}
# A suspended member's crontab waits in a root-only folder (cron then has nothing of theirs to
# run) and comes back, byte for byte, on reactivation.
CRONTABS=/var/spool/cron/crontabs
ASIDE=${CRONTAB_ASIDE_DIR}
crontab_aside() {
  local f="$CRONTABS/$1"
  if [ ! -f "$f" ] || [ -L "$f" ]; then return 0; fi
  [ ! -e "$ASIDE/$1" ] || die "$1 has a crontab in $CRONTABS and another set aside in $ASIDE: keep one (compare them), then apply again"
  root_dir /var/lib/globenet "$ASIDE"
  mv -- "$f" "$ASIDE/$1"
  touch -- "$CRONTABS"
  echo "crontab=aside"
}
crontab_back() {
  local f="$ASIDE/$1"
  [ -f "$f" ] && [ -d "$CRONTABS" ] || return 0
  [ ! -e "$CRONTABS/$1" ] || die "$1 has a crontab in $CRONTABS and another set aside in $ASIDE: keep one (compare them), then apply again"
  mv -- "$f" "$CRONTABS/$1"
  touch -- "$CRONTABS"
  echo "crontab=back"
}
`;

const CONVERGE = `${PRELUDE}${SSHD_FUNCS}
h=$1 home=$2 status=$3 kb=$4 mode=$5 dropin=$6 pidfile=$7 sshdconf=$8 sshdbanner=$9; shift 9
getent group www-data >/dev/null || die "there is no www-data group on this host (install apache2 first)"
if member "$h"; then
  own user "$h" "$uid" "$mode"
else
  opts=(-m) og=
  if [ -L "$home" ]; then die "$home is a symbolic link: refusing to make it the home of $h"; fi
  if [ -e "$home" ]; then
    # The user was deleted by hand but the home stayed: adopt it under its old uid, never a
    # system uid, one in use, or one that Globenet's own marker says was another.
    [ -d "$home" ] || die "$home exists and is not a folder: refusing to adopt it"
    ou=$(stat -c %u -- "$home")
    [ "$ou" -ge 1000 ] && [ "$ou" -lt 60000 ] || die "$home belongs to a system account (uid $ou): refusing to adopt it"
    if getent passwd "$ou" >/dev/null; then die "$home belongs to another user (uid $ou): refusing to adopt it"; fi
    was=$(marker user "$h")
    if [ -n "$was" ] && [ "$was" != creating ] && [ "$was" != "$ou" ]; then die "$home belongs to uid $ou, but Globenet made $h with uid $was: refusing to adopt it"; fi
    opts=(-M -u "$ou")
    # Its group: the one of ~/tmp (older homes were www-data's, so the home's own group says nothing), when that gid is free.
    og=$(stat -c %g -- "$home/tmp" 2>/dev/null || true)
  fi
  if getent group "$h" >/dev/null; then
    # A group of that name may only be Globenet's own (a leftover of this member).
    own group "$h" "$(getent group "$h" | cut -d: -f3)" "$mode"
  else
    mark group "$h" creating
    gopts=()
    if [ -n "$og" ] && [ "$og" -ge 1000 ] && [ "$og" -lt 60000 ] && ! getent group "$og" >/dev/null; then gopts=(-g "$og"); fi
    groupadd "\${gopts[@]}" -- "$h" || { unmark group "$h"; die "groupadd $h failed"; }
    mark group "$h" "$(getent group "$h" | cut -d: -f3)"
  fi
  mark user "$h" creating
  # Password '*': no password login, yet not "locked" (sshd without PAM refuses keys to '!' accounts).
  useradd "\${opts[@]}" -d "$home" -s /bin/bash -g "$h" -p '*' -- "$h" || { unmark user "$h"; die "useradd $h failed"; }
  member "$h" || die "useradd did not create $h"
  mark user "$h" "$uid"
  echo "created=yes"
fi
[ "$mhome" = "$home" ] || die "the user $h exists with home $mhome, not $home: refusing to change it"
# Its primary group is its own group, and Globenet's.
[ "$(getent group "$gid" | cut -d: -f1)" = "$h" ] || die "the user $h has primary group $gid, not its own group $h: refusing"
own group "$h" "$gid" "$mode"
if [ -L "$home" ]; then die "$home is a symbolic link: refusing"; fi
[ -d "$home" ] || install -d -- "$home"
chown -h "$uid:$gid" -- "$home"
chmod 0750 -- "$home"
cd /
# Inside the home, with the member's rights only. authorized_keys comes on stdin.
as_member bash -c '
set -euo pipefail
umask 077
home=$1; shift
cd -- "$home"
mkdir -p tmp .ssh .my.cnf.d
chmod 0700 tmp .ssh .my.cnf.d
(umask 022; mkdir -p sites; for s in "$@"; do mkdir -p -- "sites/$s/htdocs"; done)
tmp=$(mktemp .ssh/.authorized_keys.XXXXXX)
cat > "$tmp"
chmod 0600 "$tmp"
mv -f -- "$tmp" .ssh/authorized_keys
line="!includedir $home/.my.cnf.d"
# Only a regular file is read: a FIFO or a device there would hold this step forever.
if [ -L .my.cnf ] || { [ -e .my.cnf ] && [ ! -f .my.cnf ]; }; then mv -f -- .my.cnf ".my.cnf.not-a-file.$(date +%s)"; fi
if [ ! -e .my.cnf ]; then
  printf "%s\\\\n" "# MariaDB credentials, one file per database in ~/.my.cnf.d (kept up to date by Globenet)." \\
    "# Connect with: mariadb --defaults-group-suffix=_<database name>" "$line" > .my.cnf
elif ! grep -qxF -- "$line" .my.cnf; then
  printf "%s\\\\n" "$line" >> .my.cnf
fi
chmod 0600 .my.cnf
' account-setup "$home" "$@"
pw=$(getent shadow "$h" | cut -d: -f2)
case "$status" in
  active)
    n=0
    while [[ $pw == '!'?* ]] && [ "$n" -lt 5 ]; do usermod -U -- "$h"; pw=$(getent shadow "$h" | cut -d: -f2); n=$((n + 1)); done
    # A bare '!' (or an empty field: a password-less account) becomes '*': keys only.
    if [ "$pw" = "!" ] || [ -z "$pw" ]; then usermod -p '*' -- "$h"; fi
    usermod -e "" -- "$h"
    sshd_allow "$h" "$dropin" "$pidfile"
    crontab_back "$h"
    ;;
  *)
    # No new login (sshd shows why), no password or PAM service (locked, expired), no cron job,
    # then nothing left running: shells, PHP workers, daemons the member started.
    sshd_deny "$h" "$dropin" "$pidfile" "$sshdconf" "$sshdbanner"
    usermod -L -e 1 -- "$h"
    crontab_aside "$h"
    # Something that keeps starting them (a pool the same apply removes next) is reported, not fatal.
    if ! left=$(stop_processes "$uid" 2>&1); then echo "procs_left=$left"; fi
    ;;
esac
quota=off
if command -v setquota >/dev/null 2>&1 && command -v quotaon >/dev/null 2>&1; then
  mnt=$(df --output=target -- "$home" | tail -n 1)
  qs=$(quotaon -p -u "$mnt" 2>&1 || true)
  case "$qs" in *" is on"*) setquota -u "$h" "$kb" "$kb" 0 0 "$mnt"; quota=on ;; esac
fi
echo "quota=$quota"
`;

const READ = `${PRELUDE}
h=$1 home=$2 dropin=$3; shift 3
member "$h" || { echo "present=no"; exit 0; }
echo "present=yes"
have=$(marker user "$h")
if [ "$have" = "$uid" ] && [ "$(marker group "$h")" = "$gid" ]; then echo "marker=ok"; elif [ -z "$have" ]; then echo "marker=missing"; else echo "marker=other"; fi
echo "home=$mhome"
echo "shadow=$(getent shadow "$h" | awk -F: '{ print substr($2, 1, 1) ":" $8 }' || true)"
[ ! -e "$dropin/globenet-suspended-$h.conf" ] || echo "sshd=denied"
echo "procs=$(member_pids "$uid" | wc -l)"
[ ! -f "/var/spool/cron/crontabs/$h" ] || echo "crontab=spool"
if [ "$mhome" != "$home" ] || [ -L "$home" ] || [ ! -d "$home" ]; then echo "homestat=missing"; exit 0; fi
echo "homestat=$(stat -c '%U:%G:%a' -- "$home")"
cd /
as_member bash -c '
home=$1; shift
cd -- "$home" || exit 0
for d in tmp .ssh .my.cnf.d; do [ -d "$d" ] && echo "dir=$d"; done
[ -f .my.cnf ] && [ ! -L .my.cnf ] && grep -qxF -- "!includedir $home/.my.cnf.d" .my.cnf 2>/dev/null && echo "mycnf=ok"
for s in "$@"; do [ -d "sites/$s/htdocs" ] && echo "site=$s"; done
if [ -f .ssh/authorized_keys ]; then
  n=0
  while IFS= read -r l || [ -n "$l" ]; do
    n=$((n + 1)); [ "$n" -le 200 ] || break
    printf "key=%s\\n" "$l"
  done < .ssh/authorized_keys
fi
exit 0
' account-read "$home" "$@"
`;

const ARCHIVE_SITE = `${PRELUDE}
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
`;

const DELETE = `${PRELUDE}${SSHD_FUNCS}
h=$1 home=$2 adir=$3 stamp=$4 dropin=$5 pidfile=$6
present=no
if member "$h"; then
  [ "$mhome" = "$home" ] || die "the user $h has home $mhome, not $home: refusing to delete it"
  # Never remove a user Globenet did not create (the handle may name a local login).
  own user "$h" "$uid" delete
  present=yes
  # No new logins while the archive is made, and nothing left running as the member.
  usermod -L -e 1 -- "$h"
  stop_processes "$uid" || die "could not stop every process of $h, so it cannot be removed yet (userdel refuses): stop them on this host, then apply again"
elif [ -e "$home" ] && [ -z "$(marker user "$h")" ]; then
  die "refusing: $home exists, there is no user $h, and nothing says Globenet created it: it was left alone (archive or remove it by hand if it is this member's)"
fi
if [ -L "$home" ]; then die "$home is a symbolic link: refusing"; fi
if [ -d "$home" ]; then
  install -d -m 0700 -- "$adir/accounts"
  out=$(free_name "$adir/accounts/$h-$stamp" .tar.gz)
  tar -C "\${home%/*}" -czf "$out.partial" -- "\${home##*/}"
  tar -tzf "$out.partial" > "$out.partial.list"
  grep -qx -- "\${home##*/}/" "$out.partial.list" || die "the archive $out.partial does not hold \${home##*/}/: nothing was deleted"
  rm -f -- "$out.partial.list"
  mv -- "$out.partial" "$out"
  echo "archive=$out"
fi
# The crontab (in cron's spool, or set aside while suspended) is kept beside the home's archive.
for c in "$CRONTABS/$h" "$ASIDE/$h"; do
  if [ -f "$c" ] && [ ! -L "$c" ]; then
    install -d -m 0700 -- "$adir/accounts"
    cout=$(free_name "$adir/accounts/$h-$stamp" .crontab)
    cp -- "$c" "$cout.partial"
    mv -- "$cout.partial" "$cout"
    rm -f -- "$c"
    echo "archive=$cout"
  fi
done
if [ "$present" = yes ]; then userdel -- "$h"; fi
rm -rf -- "$home"
unmark user "$h"
if getent group "$h" >/dev/null; then
  g=$(getent group "$h" | cut -d: -f3)
  if [ "$(marker group "$h")" = "$g" ]; then groupdel -- "$h" || true; else echo "group=kept:$g"; fi
fi
[ -n "$(getent group "$h" || true)" ] || unmark group "$h"
# A drop-in left for a user that is gone is harmless: a reload failure here only says so.
( sshd_allow "$h" "$dropin" "$pidfile" ) || echo "note=the sshd drop-in of $h was removed but sshd was not reloaded"
echo "deleted=$present"
`;

// ---- check ------------------------------------------------------------------------------

const STATUSES: AccountStatus[] = ["active", "suspended", "departed"];

function check(raw: Record<string, unknown>): { inputs?: AccountInputs; failures?: { property: string; reason: string }[] } {
  const news = plain<Record<string, unknown>>(raw);
  if (hasUnknown(news)) return { inputs: news as unknown as AccountInputs };
  const f = new Failures();
  checkTarget(f, "target", news.target);
  const hp = handleProblem(news.handle);
  if (hp) f.add("handle", hp);
  const home = news.home ?? (str(news.handle) ? `/home/${news.handle}` : undefined);
  const mp = homeProblem(home, news.handle);
  if (mp) f.add("home", mp);
  if (!STATUSES.includes(news.status as AccountStatus)) f.add("status", 'must be "active" or "suspended"');
  const keys: string[] = [];
  if (!Array.isArray(news.sshKeys)) f.add("sshKeys", "must be a list of public key lines");
  else
    news.sshKeys.forEach((k, i) => {
      // The member schema's rule (lib/schema/ssh-key.ts): one line, a known key type first (authorized_keys options would be spliced in otherwise), a key that parses.
      if (!str(k) || sshPublicKeyProblem(k.trim())) {
        f.add(`sshKeys[${i}]`, `"${str(k) ? printable(k) : String(k)}" is not one public key line ("ssh-ed25519 AAAA… comment")`);
      } else keys.push(k.trim());
    });
  const sites: string[] = [];
  if (!Array.isArray(news.sites)) f.add("sites", "must be a list of host names");
  else
    news.sites.forEach((s, i) => {
      const p = hostProblem(s);
      if (p) f.add(`sites[${i}]`, p);
      else if (sites.includes(s as string)) f.add(`sites[${i}]`, `"${s as string}" is listed twice`);
      else sites.push(s as string);
    });
  const ap = pathProblem(news.archiveDir, "archive folder");
  if (ap) f.add("archiveDir", ap);
  const q = news.diskQuotaMb;
  if (typeof q !== "number" || !Number.isInteger(q) || q < 1 || q > 100_000_000) f.add("diskQuotaMb", "must be a whole number of MB (1 or more)");
  const sshd = news.sshd as Record<string, unknown> | undefined;
  if (!sshd || typeof sshd !== "object" || Array.isArray(sshd)) f.add("sshd", "must be an object { dropinDir, pidFile } (the inventory's hosts.<host>.sshd)");
  else {
    const dp = pathProblem(sshd.dropinDir, "sshd drop-in folder");
    if (dp) f.add("sshd.dropinDir", dp);
    const pp = pathProblem(sshd.pidFile, "sshd pid file");
    if (pp) f.add("sshd.pidFile", pp);
  }
  if (!str(news.contact) || !emailSchema.safeParse(news.contact).success) f.add("contact", `"${str(news.contact) ? printable(news.contact) : String(news.contact)}" is not an e-mail address (the inventory's hostmaster)`);
  if (!f.ok || !sshd) return { failures: f.list };
  return {
    inputs: {
      target: asTarget(news.target),
      handle: news.handle as string,
      home: home as string,
      status: news.status as AccountStatus,
      sshKeys: keys,
      sites: sites.sort(),
      archiveDir: news.archiveDir as string,
      diskQuotaMb: q as number,
      sshd: { dropinDir: sshd.dropinDir as string, pidFile: sshd.pidFile as string },
      contact: news.contact as string,
    },
  };
}

// ---- diff -------------------------------------------------------------------------------

const COMPARED: string[] = ["target", "handle", "home", "status", "sshKeys", "sites", "archiveDir", "diskQuotaMb", "sshd", "contact"];

function diff(_id: string, rawOlds: AccountOutputs, rawNews: AccountInputs): DiffResult & { diffs: string[] } {
  const olds = plain<AccountOutputs>(rawOlds);
  const news = plain<AccountInputs>(rawNews);
  const diffs = COMPARED.filter((k) => JSON.stringify((olds as unknown as Record<string, unknown>)[k]) !== JSON.stringify((news as unknown as Record<string, unknown>)[k]));
  // Live state off the wanted one outside the inputs (home mode, missing folders): update converges it.
  if ((olds.drift ?? []).length > 0) diffs.push("drift");
  // Made before ownership markers existed (or found unmarked by read): the update marks it.
  if (olds.marked !== true) diffs.push("marked");
  const replaces: string[] = [];
  if (olds.handle !== news.handle) replaces.push("handle");
  // The account is on another machine: a new one there, the old one archived and removed.
  // Other target fields (address, port, user, host key) are how to reach the same machine.
  if (olds.target?.name !== news.target?.name) replaces.push("target");
  return {
    changes: diffs.length > 0,
    replaces,
    diffs,
    // Same handle means the same unix user: if both targets were one machine (the lab puts
    // every host on 127.0.0.1), create-then-delete would delete what was just converged.
    deleteBeforeReplace: replaces.length > 0 && olds.handle === news.handle,
  };
}

// ---- create / update / read / delete ----------------------------------------------------

function keysFile(i: AccountInputs): string {
  const head = `# Managed by Globenet from members/${i.handle}/member.yaml (ssh_keys): changes made here are overwritten.\n`;
  return head + i.sshKeys.map((k) => `${k}\n`).join("");
}

/** create: refuses a user or group that exists without the provider's marker; update: marks them (the state proves they are ours). */
type Mode = "create" | "update";

async function converge(i: AccountInputs, mode: Mode): Promise<{ quota: boolean }> {
  const sshd = renderSuspendedSshd({ handle: i.handle, dropinDir: i.sshd.dropinDir, contact: i.contact });
  const r = await run(i.target, CONVERGE, {
    args: [i.handle, i.home, i.status, String(i.diskQuotaMb * 1024), mode, i.sshd.dropinDir, i.sshd.pidFile, sshd.conf.trimEnd(), sshd.banner.trimEnd(), ...i.sites],
    stdin: keysFile(i),
    what: `${mode === "create" ? "creating" : "updating"} account ${i.handle}`,
    kind: "converge",
  });
  const v = parseLines(r.stdout);
  for (const left of v.get("procs_left") ?? []) console.error(`globenet: ${i.target.name}: account ${i.handle} is suspended but processes keep coming back (${left}); they stop once nothing starts them (its PHP pool is removed by this apply's web file set); a refresh shows any left`);
  for (const m of v.get("marked") ?? []) console.error(`globenet: ${i.target.name}: account ${i.handle}: ${m.replace(":", " ")} is now marked as Globenet's (it is in the stack's state)`);
  return { quota: v.get("quota")?.[0] === "on" };
}

async function create(raw: AccountInputs): Promise<{ id: string; outs: AccountOutputs }> {
  const i = plain<AccountInputs>(raw);
  const { quota } = await converge(i, "create");
  return { id: i.handle, outs: { ...i, archives: [], diskQuotaEnforced: quota, drift: [], marked: true } };
}

async function archiveSite(i: AccountInputs, host: string): Promise<string | undefined> {
  const r = await run(i.target, ARCHIVE_SITE, { args: [i.handle, i.home, i.archiveDir, host, utcStamp()], what: `archiving site folder ${host} of ${i.handle}`, kind: "archive" });
  const archive = parseLines(r.stdout).get("archive")?.[0];
  if (archive) console.error(`globenet: ${i.target.name}: site folder ~${i.handle}/sites/${host} archived to ${archive}, then removed`);
  return archive;
}

async function update(_id: string, rawOlds: AccountOutputs, rawNews: AccountInputs): Promise<AccountOutputs> {
  const olds = plain<AccountOutputs>(rawOlds);
  const news = plain<AccountInputs>(rawNews);
  const archives = [...(olds.archives ?? [])];
  // Sites no longer listed: archive (verified), then remove, before anything else changes.
  for (const host of (olds.sites ?? []).filter((s) => !news.sites.includes(s))) {
    const a = await archiveSite(news, host);
    if (a) archives.push(a);
  }
  const { quota } = await converge(news, "update");
  return { ...news, archives, diskQuotaEnforced: quota, drift: [], marked: true };
}

async function read(_id: string, rawProps: AccountOutputs): Promise<AccountOutputs | undefined> {
  const props = plain<AccountOutputs>(rawProps);
  const dropin = props.sshd?.dropinDir ?? "/etc/ssh/sshd_config.d";
  const r = await run(props.target, READ, { args: [props.handle, props.home, dropin, ...(props.sites ?? [])], what: `reading account ${props.handle}`, kind: "read" });
  const v = parseLines(r.stdout);
  if (v.get("present")?.[0] !== "yes") return undefined;
  const drift: string[] = [];
  const marker = v.get("marker")?.[0];
  if (marker === "other") drift.push(`the user or group ${props.handle} is not the one Globenet created (its marker names another id): the next update refuses it`);
  const home = v.get("home")?.[0] ?? "";
  const homeStat = v.get("homestat")?.[0] ?? "missing";
  if (homeStat === "missing") drift.push(`home ${props.home} is missing (the user's home is ${home})`);
  else if (homeStat !== `${props.handle}:${props.handle}:750`) drift.push(`home ${props.home} is ${homeStat.replace(/:(\d+)$/, " mode $1")}, not ${props.handle}:${props.handle} mode 750`);
  const dirs = v.get("dir") ?? [];
  for (const d of ["tmp", ".ssh", ".my.cnf.d"]) if (homeStat !== "missing" && !dirs.includes(d)) drift.push(`~/${d} is missing`);
  if (homeStat !== "missing" && v.get("mycnf")?.[0] !== "ok") drift.push(`~/.my.cnf does not include ~/.my.cnf.d`);
  const [pw, expire] = (v.get("shadow")?.[0] ?? ":").split(":");
  const today = Math.floor(Date.now() / 86_400_000);
  const locked = pw === "!" || (expire !== undefined && expire !== "" && Number(expire) <= today);
  const status: AccountStatus = locked ? (props.status === "active" ? "suspended" : props.status) : "active";
  const denied = v.get("sshd")?.[0] === "denied";
  const procs = Number(v.get("procs")?.[0] ?? 0);
  if (props.status !== "active") {
    if (!denied) drift.push(`sshd has no suspension drop-in for ${props.handle}: logins are not refused with the message`);
    if (procs > 0) drift.push(`${procs} process(es) still run as ${props.handle} while it is suspended`);
    if (v.get("crontab")?.[0] === "spool") drift.push(`${props.handle} has a crontab in cron's spool while it is suspended`);
  } else if (denied) drift.push(`sshd still refuses ${props.handle} (a suspension drop-in is left)`);
  const sshKeys = (v.get("key") ?? []).map((k) => k.trim()).filter((k) => k !== "" && !k.startsWith("#"));
  const sites = (v.get("site") ?? []).sort();
  return { ...props, home: home === props.home ? props.home : home, status, sshKeys, sites, drift, marked: marker === "ok" };
}

async function del(_id: string, rawProps: AccountOutputs): Promise<void> {
  const props = plain<AccountOutputs>(rawProps);
  const sshd = props.sshd ?? { dropinDir: "/etc/ssh/sshd_config.d", pidFile: "/run/sshd.pid" };
  const r = await run(props.target, DELETE, { args: [props.handle, props.home, props.archiveDir, utcStamp(), sshd.dropinDir, sshd.pidFile], what: `deleting account ${props.handle}`, kind: "archive" });
  const v = parseLines(r.stdout);
  const archives = v.get("archive") ?? [];
  const home = archives.find((a) => a.endsWith(".tar.gz"));
  if (home) console.error(`globenet: ${props.target.name}: account ${props.handle}: home archived to ${home} (verified), then the user and home were removed`);
  else console.error(`globenet: ${props.target.name}: account ${props.handle}: no home to archive; user removed`);
  for (const c of archives.filter((a) => a.endsWith(".crontab"))) console.error(`globenet: ${props.target.name}: account ${props.handle}: crontab kept in ${c}`);
  const kept = v.get("group")?.[0];
  if (kept) console.error(`globenet: ${props.target.name}: account ${props.handle}: the group ${props.handle} (gid ${kept.replace("kept:", "")}) was not made by Globenet and was left in place`);
  for (const n of v.get("note") ?? []) console.error(`globenet: ${props.target.name}: account ${props.handle}: ${n}`);
}

/** Dry mode (the bench): what create and update return, without a host. */
function dryOutputs(i: AccountInputs, olds?: AccountOutputs): AccountOutputs {
  return { ...i, archives: olds?.archives ?? [], diskQuotaEnforced: false, drift: [], marked: true };
}

export const accountType: ResourceType<AccountInputs, AccountOutputs> = {
  check,
  diff,
  create,
  read,
  update,
  delete: del,
  dryOutputs,
};

/** For tests and docs: the scripts, to show they are constant text. */
export const accountScripts = { CONVERGE, READ, ARCHIVE_SITE, DELETE };
