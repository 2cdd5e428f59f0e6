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
 */
import type { DiffResult } from "@pulumi/pulumi/provider";
import { run } from "../ssh/remote";
import type { ResourceType, Target } from "../types";
import {
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

export interface AccountInputs {
  target: Target;
  handle: string;
  home: string;
  /** Anything but "active" locks the account (no login; keys and files stay). */
  status: AccountStatus;
  sshKeys: string[];
  /** Site host names, sorted: each gets ~/sites/<host>/htdocs. */
  sites: string[];
  /** Root-only folder on the web host for archives (accounts/, sites/). */
  archiveDir: string;
  diskQuotaMb: number;
}

export interface AccountOutputs extends AccountInputs {
  /** Archives made by this resource (removed sites), oldest first. */
  archives: string[];
  /** Whether the disk quota is enforced (the file system must have user quotas on). */
  diskQuotaEnforced: boolean;
  /** What `read` found out of line with the wanted state besides the inputs (empty when in line). */
  drift: string[];
}

// ---- remote scripts (constant; member values arrive as quoted positional arguments) -----

const CONVERGE = `${PRELUDE}
h=$1 home=$2 status=$3 kb=$4; shift 4
getent group www-data >/dev/null || die "there is no www-data group on this host (install apache2 first)"
if ! member "$h"; then
  opts=(-m)
  if [ -L "$home" ]; then die "$home is a symbolic link: refusing to make it the home of $h"; fi
  if [ -e "$home" ]; then
    # The user was deleted by hand but the home stayed: adopt it under its old uid.
    [ -d "$home" ] || die "$home exists and is not a folder: refusing to adopt it"
    ou=$(stat -c %u -- "$home")
    [ "$ou" -ge 1000 ] || die "$home belongs to a system account (uid $ou): refusing to adopt it"
    if getent passwd "$ou" >/dev/null; then die "$home belongs to another user (uid $ou): refusing to adopt it"; fi
    opts=(-M -u "$ou")
    # Its group: the one of ~/tmp (the home itself is www-data's), when that gid is free.
    og=$(stat -c %g -- "$home/tmp" 2>/dev/null || true)
    if [ -n "$og" ] && [ "$og" -ge 1000 ] && ! getent group "$h" >/dev/null && ! getent group "$og" >/dev/null; then groupadd -g "$og" -- "$h"; fi
  fi
  getent group "$h" >/dev/null || groupadd -- "$h"
  # Password '*': no password login, yet not "locked" (sshd without PAM refuses keys to '!' accounts).
  useradd "\${opts[@]}" -d "$home" -s /bin/bash -g "$h" -p '*' -- "$h"
  member "$h" || die "useradd did not create $h"
  echo "created=yes"
fi
[ "$mhome" = "$home" ] || die "the user $h exists with home $mhome, not $home: refusing to change it"
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
if [ ! -e .my.cnf ]; then
  printf "%s\\n" "# MariaDB credentials, one file per database in ~/.my.cnf.d (kept up to date by Globenet)." \\
    "# Connect with: mariadb --defaults-group-suffix=_<database name>" "$line" > .my.cnf
elif ! grep -qxF -- "$line" .my.cnf; then
  printf "%s\\n" "$line" >> .my.cnf
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
    ;;
  *) usermod -L -e 1 -- "$h" ;;
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
h=$1 home=$2; shift 2
member "$h" || { echo "present=no"; exit 0; }
echo "present=yes"
echo "home=$mhome"
echo "shadow=$(getent shadow "$h" | awk -F: '{ print substr($2, 1, 1) ":" $8 }' || true)"
if [ "$mhome" != "$home" ] || [ -L "$home" ] || [ ! -d "$home" ]; then echo "homestat=missing"; exit 0; fi
echo "homestat=$(stat -c '%U:%G:%a' -- "$home")"
cd /
as_member bash -c '
home=$1; shift
cd -- "$home" || exit 0
for d in tmp .ssh .my.cnf.d; do [ -d "$d" ] && echo "dir=$d"; done
grep -qxF -- "!includedir $home/.my.cnf.d" .my.cnf 2>/dev/null && echo "mycnf=ok"
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
member "$h" || die "there is no user $h"
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

const DELETE = `${PRELUDE}
h=$1 home=$2 adir=$3 stamp=$4
present=no
if member "$h"; then
  [ "$mhome" = "$home" ] || die "the user $h has home $mhome, not $home: refusing to delete it"
  present=yes
  # No new logins while the archive is made, and nothing left running as the member.
  usermod -L -e 1 -- "$h"
  if pgrep -u "$uid" >/dev/null; then
    pkill -TERM -u "$uid" || true
    for _ in $(seq 1 50); do pgrep -u "$uid" >/dev/null || break; sleep 0.1; done
    pkill -KILL -u "$uid" || true
    sleep 0.2
  fi
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
if [ "$present" = yes ]; then userdel -- "$h"; fi
rm -rf -- "$home"
if getent group "$h" >/dev/null; then groupdel -- "$h" || true; fi
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
      // One line each, printable, and a key type first: authorized_keys options would be spliced in otherwise.
      // eslint-disable-next-line no-control-regex
      if (!str(k) || /[\u0000-\u001f\u007f]/.test(k.trim()) || !/^(ssh-|ecdsa-|sk-)[a-z0-9@.-]+ [A-Za-z0-9+/=]+( [^\n]*)?$/.test(k.trim())) {
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
  if (!f.ok) return { failures: f.list };
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
    },
  };
}

// ---- diff -------------------------------------------------------------------------------

const COMPARED: string[] = ["target", "handle", "home", "status", "sshKeys", "sites", "archiveDir", "diskQuotaMb"];

function diff(_id: string, rawOlds: AccountOutputs, rawNews: AccountInputs): DiffResult & { diffs: string[] } {
  const olds = plain<AccountOutputs>(rawOlds);
  const news = plain<AccountInputs>(rawNews);
  const diffs = COMPARED.filter((k) => JSON.stringify((olds as unknown as Record<string, unknown>)[k]) !== JSON.stringify((news as unknown as Record<string, unknown>)[k]));
  // Live state off the wanted one outside the inputs (home mode, missing folders): update converges it.
  if ((olds.drift ?? []).length > 0) diffs.push("drift");
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

async function converge(i: AccountInputs): Promise<{ quota: boolean }> {
  const r = await run(
    i.target,
    CONVERGE,
    { args: [i.handle, i.home, i.status, String(i.diskQuotaMb * 1024), ...i.sites], stdin: keysFile(i), what: `account ${i.handle}` },
  );
  return { quota: parseLines(r.stdout).get("quota")?.[0] === "on" };
}

async function create(raw: AccountInputs): Promise<{ id: string; outs: AccountOutputs }> {
  const i = plain<AccountInputs>(raw);
  const { quota } = await converge(i);
  return { id: i.handle, outs: { ...i, archives: [], diskQuotaEnforced: quota, drift: [] } };
}

async function archiveSite(i: AccountInputs, host: string): Promise<string | undefined> {
  const r = await run(i.target, ARCHIVE_SITE, { args: [i.handle, i.home, i.archiveDir, host, utcStamp()], what: `archiving site folder ${host} of ${i.handle}` });
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
  const { quota } = await converge(news);
  return { ...news, archives, diskQuotaEnforced: quota, drift: [] };
}

async function read(_id: string, rawProps: AccountOutputs): Promise<AccountOutputs | undefined> {
  const props = plain<AccountOutputs>(rawProps);
  const r = await run(props.target, READ, { args: [props.handle, props.home, ...(props.sites ?? [])], what: `reading account ${props.handle}` });
  const v = parseLines(r.stdout);
  if (v.get("present")?.[0] !== "yes") return undefined;
  const drift: string[] = [];
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
  const sshKeys = (v.get("key") ?? []).map((k) => k.trim()).filter((k) => k !== "" && !k.startsWith("#"));
  const sites = (v.get("site") ?? []).sort();
  return { ...props, home: home === props.home ? props.home : home, status, sshKeys, sites, drift };
}

async function del(_id: string, rawProps: AccountOutputs): Promise<void> {
  const props = plain<AccountOutputs>(rawProps);
  const r = await run(props.target, DELETE, { args: [props.handle, props.home, props.archiveDir, utcStamp()], what: `deleting account ${props.handle}`, timeoutMs: 3_600_000 });
  const archive = parseLines(r.stdout).get("archive")?.[0];
  if (archive) console.error(`globenet: ${props.target.name}: account ${props.handle}: home archived to ${archive} (verified), then the user and home were removed`);
  else console.error(`globenet: ${props.target.name}: account ${props.handle}: no home to archive; user removed`);
}

export const accountType: ResourceType<AccountInputs, AccountOutputs> = {
  check,
  diff,
  create,
  read,
  update,
  delete: del,
};

/** For tests and docs: the scripts, to show they are constant text. */
export const accountScripts = { CONVERGE, READ, ARCHIVE_SITE, DELETE };
