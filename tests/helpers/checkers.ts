/**
 * Tier 2: each daemon's own checker, run on a rendered tree.
 *
 * Input is the folder of one host in a render output tree:
 *   <host>/apache2/sites-available/<site>.conf     <host>/apache2/conf-available/globenet.conf
 *   <host>/php/<ver>/fpm/pool.d/globenet-<handle>.conf
 *   <host>/bind/named.conf.globenet                <host>/bind/zones/<zone>.zone
 *   <host>/libvirt/<domain>.xml                    <host>/cloud-init/<domain>/{user-data,meta-data,network-config}
 * (`checkDomainXml` and `checkCloudInit` take one file / one seed folder.)
 *
 * Every checker returns the problems found, `[]` when all is well, so a test can write
 *   expect(formatProblems(await checkHost(dir))).toBe("")
 * and see the checker's own output in the failure. A problem is
 *   - "error": the checker rejected the input (non-zero exit), `message` = its full output;
 *   - "warning": the checker accepted it but printed a warning we do not know to be harmless.
 *     Warnings known to be harmless here are dropped (see IGNORED_* below, with reasons).
 *
 * Apache, PHP-FPM and BIND are checked by the provider's own check (file-set.sh `check`, the
 * one apply runs before it swaps a set in), so a rendered file passes here exactly when it
 * would pass on the host; the helpers only prepare what a test machine lacks.
 *
 * Nothing here touches the live configuration of the machine: each check works in its own
 * temp dir under /tmp, removed afterwards (the helpers' own are kept with
 * GLOBENET_KEEP_CHECK_TMP=1, so the `command` of a problem can be re-run by hand). The one
 * system-wide effect is checkFpm and checkApache creating the pools' and vhosts' unix users for
 * the duration of the check (see there).
 *
 * Needs root in practice (php-fpm resolves pool users as root; apache2ctl chowns its run dir).
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { isIP } from "node:net";
import { basename, join, resolve } from "node:path";
import { parseDocument } from "yaml";
import { liveRoot, localCheckCommand } from "../../provider/resources/file-set";
import { describeCommand, findTool, run, type RunResult } from "./tools";

export type Checker = "apache" | "php-fpm" | "bind" | "libvirt" | "cloud-init";

export interface CheckProblem {
  checker: Checker;
  severity: "error" | "warning";
  /** The rendered file or folder the problem is about. */
  target: string;
  /** The command that was run, for reproducing by hand. */
  command?: string;
  /** The checker's output (errors: all of it; warnings: the warning lines), or our own message. */
  message: string;
}

export function errorsOnly(problems: readonly CheckProblem[]): CheckProblem[] {
  return problems.filter((p) => p.severity === "error");
}

/** A readable report; "" when there is nothing to report. */
export function formatProblems(problems: readonly CheckProblem[]): string {
  return problems
    .map((p) => `[${p.checker}] ${p.severity.toUpperCase()} ${p.target}${p.command ? `\n  $ ${p.command}` : ""}\n${indent(p.message.trim())}`)
    .join("\n\n");
}

function indent(s: string): string {
  return s
    .split("\n")
    .map((l) => `  ${l}`)
    .join("\n");
}

function listFiles(dir: string, suffix: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(suffix) && statSync(join(dir, f)).isFile())
    .sort()
    .map((f) => join(dir, f));
}

function tempDir(kind: string): string {
  return mkdtempSync(`/tmp/globenet-check-${kind}-`);
}

/**
 * Removes a checker's temp dir, unless GLOBENET_KEEP_CHECK_TMP=1 (then the commands in the
 * problems can be re-run by hand; the dir is named on stderr).
 */
function dropTemp(tmp: string, keep = false): void {
  if (keep || process.env.GLOBENET_KEEP_CHECK_TMP === "1") console.error(`[checkers] kept ${tmp}`);
  else rmSync(tmp, { recursive: true, force: true });
}

function missingTool(checker: Checker, target: string, tool: string, pkg: string): CheckProblem {
  return { checker, severity: "error", target, message: `"${tool}" not found: install the Debian package ${pkg}` };
}

function output(r: RunResult): string {
  return [r.stdout.trim(), r.stderr.trim()].filter(Boolean).join("\n");
}

/** Replaces every occurrence of each temp path by the rendered path it stands for. */
function mapPaths(text: string, map: ReadonlyArray<readonly [string, string]>): string {
  let out = text;
  for (const [from, to] of map) out = out.split(from).join(to);
  return out;
}

/** Runs every checker that applies to what the host folder contains. */
export async function checkHost(outHostDir: string): Promise<CheckProblem[]> {
  const problems: CheckProblem[] = [];
  if (existsSync(join(outHostDir, "apache2"))) problems.push(...(await checkApache(outHostDir)));
  if (existsSync(join(outHostDir, "php"))) problems.push(...(await checkFpm(outHostDir)));
  if (existsSync(join(outHostDir, "bind"))) problems.push(...(await checkBind(outHostDir)));
  for (const xml of listFiles(join(outHostDir, "libvirt"), ".xml")) problems.push(...(await checkDomainXml(xml)));
  for (const xml of listFiles(join(outHostDir, "libvirt", "nwfilter"), ".xml")) problems.push(...(await checkDomainXml(xml, "nwfilter")));
  const ci = join(outHostDir, "cloud-init");
  if (existsSync(ci)) {
    for (const d of readdirSync(ci).sort()) {
      if (statSync(join(ci, d)).isDirectory()) problems.push(...(await checkCloudInit(join(ci, d))));
    }
  }
  return problems;
}

// ───────────────────────────────────────────── Apache ─────────────────────────────────────────────

/**
 * Apache warnings that are expected when checking on a test machine, not on the web host:
 * - AH00112 "DocumentRoot [...] does not exist": docroots live in members' homes
 *   (/home/<handle>/sites/<host>/htdocs) and the suspended-notice folder; the account and
 *   file-set resources create them on the real host, not here. `apache2ctl -t` still passes.
 */
const IGNORED_APACHE = [/^AH00112: Warning: DocumentRoot \[.*\] does not exist$/];

/** The test box's own name, which the check's copy of its /etc/apache2 may not state; nothing rendered. */
const IGNORED_APACHE_HOST = [/^AH00558: apache2: Could not reliably determine the server's fully qualified domain name/];

/**
 * The provider's own check of an apache2 file set (provider/scripts/file-set/file-set.sh,
 * `check`: apply's check alone), on `<host>/apache2`: `apache2ctl -t` on a copy of this
 * machine's /etc/apache2 with the rendered folder as its `globenet` entry, wired as apply wires
 * it (the same module list: mpm-itk and what the vhosts use on, the threaded MPMs and the
 * status modules off), its envvars pointing run, lock, pid and log dirs into the check's temp
 * dir: nothing of the live Apache is read for writing or changed. Messages name the rendered
 * files. The users and groups the vhosts name in AssignUserID (mpm-itk resolves them while it
 * reads the configuration) are made for the check and removed after, as for checkFpm.
 */
export async function checkApache(outHostDir: string): Promise<CheckProblem[]> {
  const host = resolve(outHostDir);
  const target = join(host, "apache2");
  const ctl = findTool("apache2ctl");
  if (!ctl || !existsSync("/etc/apache2/apache2.conf")) return [missingTool("apache", target, "apache2ctl", "apache2")];
  const sitesDir = join(target, "sites-available");
  const created: { users: string[]; groups: string[] } = { users: [], groups: [] };
  try {
    const assigned = assignedIds(sitesDir);
    const setup = ensureUnixAccounts(assigned.users, assigned.groups, created);
    if (setup) return [{ checker: "apache", severity: "error", target, message: setup }];
    const c = localCheckCommand("apache2", undefined, target);
    const r = run(c.file, c.args, { timeoutMs: 120_000 });
    const command = `bash provider/scripts/file-set/file-set.sh check apache2 '' '' <md-reload units> ${target}`;
    const text = mapPaths(output(r), [[`${liveRoot("apache2")}/`, `${target}/`]]);
    if (r.status !== 0 || !/Syntax OK/.test(text)) {
      return [{ checker: "apache", severity: "error", target, command, message: text || `the check exited ${r.status}` }];
    }
    const warnings = text
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l && l !== "Syntax OK" && ![...IGNORED_APACHE, ...IGNORED_APACHE_HOST].some((re) => re.test(l)));
    return warnings.length ? [{ checker: "apache", severity: "warning", target, command, message: warnings.join("\n") }] : [];
  } finally {
    removeUnixAccounts(created);
  }
}

/** The users and groups the rendered vhosts name in mpm-itk's AssignUserID. */
function assignedIds(sitesDir: string): { users: Set<string>; groups: Set<string> } {
  const users = new Set<string>();
  const groups = new Set<string>();
  for (const file of listFiles(sitesDir, ".conf")) {
    for (const m of readFileSync(file, "utf8").matchAll(/^\s*AssignUserID\s+(\S+)\s+(\S+)\s*$/gm)) {
      users.add(m[1] as string);
      groups.add(m[2] as string);
    }
  }
  return { users, groups };
}

// ───────────────────────────────────────────── PHP-FPM ────────────────────────────────────────────

/** php-fpm's own success line; anything else on a successful run is reported as a warning. */
const IGNORED_FPM = [
  /NOTICE: configuration file .* test is successful/,
  // The provider's check includes the host's own pools but Debian's stock one, which it leaves
  // out: on a machine that has only the stock pool, that include matches nothing. Not about
  // the rendered pools.
  /^WARNING: Nothing matches the include pattern '<check dir>\/host-pool\.d\/\*\.conf' from /,
];

/** The GECOS of the users checkFpm and checkApache create for their run (and remove after). */
const FPM_USER_COMMENT = "globenet-infra checkFpm (temporary)";

/**
 * The provider's own check of a php-fpm file set (provider/scripts/file-set/file-set.sh,
 * `check`: `php-fpm<ver> -t` on this machine's php-fpm.conf with its pid and error log in a temp
 * dir, the host's own pools but the stock one, and the staged pools) for each
 * `<host>/php/<ver>/fpm/pool.d`.
 *
 * What it takes to run it on a test machine rather than a web host:
 * - Pool users. Run as root, `php-fpm -t` resolves `user`, `group`, `listen.owner` and
 *   `listen.group` and fails with "cannot get uid for user" when one is missing (as non-root
 *   it ignores them, and checks less). The member accounts exist on the web host, not here,
 *   so the check CREATES the missing ones for its duration — `useradd --system
 *   --no-create-home --shell /usr/sbin/nologin` (GECOS "globenet-infra checkFpm (temporary)"),
 *   `groupadd --system` for missing groups — and deletes exactly those it created afterwards
 *   (userdel/groupdel, in a finally). Users and groups that already exist are left alone.
 * - Paths. `-t` also checks that `chdir`/`chroot` exist and opens (creates!) `slowlog` and
 *   `access.log`. The pools are checked from a copy in which `chdir`/`chroot` paths that do not
 *   exist here, and every `slowlog`/`access.log`, point into the temp dir. Messages name the
 *   rendered files (the live paths the check names are mapped back).
 */
export async function checkFpm(outHostDir: string): Promise<CheckProblem[]> {
  const host = resolve(outHostDir);
  const phpDir = join(host, "php");
  const problems: CheckProblem[] = [];
  const versions = existsSync(phpDir) ? readdirSync(phpDir).filter((v) => existsSync(join(phpDir, v, "fpm", "pool.d"))).sort() : [];
  for (const ver of versions) {
    problems.push(...checkFpmVersion(join(phpDir, ver, "fpm", "pool.d"), ver));
  }
  return problems;
}

function checkFpmVersion(poolDir: string, ver: string): CheckProblem[] {
  const target = poolDir;
  const bin = findTool(`php-fpm${ver}`);
  if (!bin) return [missingTool("php-fpm", target, `php-fpm${ver}`, `php${ver}-fpm`)];
  const pools = listFiles(poolDir, ".conf");
  if (pools.length === 0) return [];

  const tmp = tempDir("fpm");
  const created: { users: string[]; groups: string[] } = { users: [], groups: [] };
  try {
    // The folder the provider's check stages, as a rendered <host>/php/<ver>/fpm is.
    const copyDir = join(tmp, "fpm", "pool.d");
    const scratch = join(tmp, "paths");
    mkdirSync(copyDir, { recursive: true });
    mkdirSync(scratch);
    const wantUsers = new Set<string>();
    const wantGroups = new Set<string>();
    const pathMap: Array<[string, string]> = [];
    for (const file of pools) {
      const copy = join(copyDir, basename(file));
      pathMap.push([`${liveRoot("php-fpm", ver)}/pool.d/${basename(file)}`, file]);
      const lines = readFileSync(file, "utf8").split("\n");
      const out = lines.map((line) => {
        const m = /^(\s*)([\w.]+)(\s*=\s*)(.*?)\s*$/.exec(line);
        if (!m) return line;
        const [, lead = "", key = "", eq = "", rawValue = ""] = m;
        const value = rawValue.replace(/^"(.*)"$/, "$1");
        if (key === "user" || key === "listen.owner") wantUsers.add(value);
        if (key === "group" || key === "listen.group") wantGroups.add(value);
        if ((key === "chdir" || key === "chroot") && value && !existsSync(value)) {
          return `${lead}${key}${eq}${scratch}`;
        }
        if ((key === "slowlog" || key === "access.log") && value) {
          const safe = join(scratch, `${basename(file, ".conf")}-${key}-${basename(value)}`);
          return `${lead}${key}${eq}${safe}`;
        }
        return line;
      });
      writeFileSync(copy, out.join("\n"));
    }
    const setup = ensureUnixAccounts(wantUsers, wantGroups, created);
    if (setup) return [{ checker: "php-fpm", severity: "error", target, message: setup }];

    const c = localCheckCommand("php-fpm", ver, join(tmp, "fpm"));
    const r = run(c.file, c.args, { timeoutMs: 120_000 });
    const command = `bash provider/scripts/file-set/file-set.sh check php-fpm ${ver} '' <md-reload units> ${join(tmp, "fpm")}`;
    const text = mapPaths(output(r), pathMap);
    if (r.status !== 0) return [{ checker: "php-fpm", severity: "error", target, command, message: text || `exit ${r.status}` }];
    const warnings = text
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l && !IGNORED_FPM.some((re) => re.test(l)));
    return warnings.length ? [{ checker: "php-fpm", severity: "warning", target, command, message: warnings.join("\n") }] : [];
  } finally {
    removeUnixAccounts(created);
    dropTemp(tmp);
  }
}

function exists(db: "passwd" | "group", name: string): boolean {
  return run("getent", [db, name], { timeoutMs: 10_000 }).status === 0;
}

/** Creates the missing users and groups; returns an error message or undefined. */
function ensureUnixAccounts(users: Set<string>, groups: Set<string>, created: { users: string[]; groups: string[] }): string | undefined {
  const bad = [...users, ...groups].filter((n) => n.startsWith("-") || /[\s:,]/.test(n));
  if (bad.length) return `not usable as unix user/group names: ${bad.map((n) => JSON.stringify(n)).join(", ")}`;
  const missingUsers = [...users].filter((u) => u && !exists("passwd", u)).sort();
  const missingGroups = [...groups].filter((g) => g && !exists("group", g)).sort();
  if (missingUsers.length + missingGroups.length === 0) return undefined;
  if (process.getuid?.() !== 0) {
    return `php-fpm -t needs the pool users to exist; missing: ${[...missingUsers, ...missingGroups].join(", ")} (run as root to let the check create them)`;
  }
  const useradd = findTool("useradd");
  const groupadd = findTool("groupadd");
  if (!useradd || !groupadd) return "useradd/groupadd not found: install the Debian package passwd";
  for (const u of missingUsers) {
    if (exists("passwd", u)) continue;
    // Primary group: the same-named group if it exists, else a new one (as for member accounts).
    const groupArgs = exists("group", u) ? ["--gid", u] : ["--user-group"];
    const args = ["--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", "--comment", FPM_USER_COMMENT, ...groupArgs, u];
    const r = retryLocked(() => run(useradd, args, { timeoutMs: 30_000 }));
    if (r.status === 0) {
      created.users.push(u);
      if (groupArgs[0] === "--user-group") created.groups.push(u);
    } else if (r.status !== 9 /* exists: made meanwhile */) return `useradd ${args.join(" ")} failed: ${output(r)}`;
  }
  for (const g of missingGroups) {
    if (exists("group", g)) continue; // e.g. made by useradd --user-group just above
    const r = retryLocked(() => run(groupadd, ["--system", g], { timeoutMs: 30_000 }));
    if (r.status === 0) created.groups.push(g);
    else if (r.status !== 9) return `groupadd --system ${g} failed: ${output(r)}`;
  }
  return undefined;
}

/** useradd/groupadd exit 10 when /etc/passwd or /etc/group is locked by another process. */
function retryLocked(f: () => RunResult): RunResult {
  let r = f();
  for (let i = 0; i < 20 && r.status === 10; i++) {
    run("sleep", ["0.2"]);
    r = f();
  }
  return r;
}

function removeUnixAccounts(created: { users: string[]; groups: string[] }): void {
  const userdel = findTool("userdel") ?? "userdel";
  const groupdel = findTool("groupdel") ?? "groupdel";
  for (const u of created.users.splice(0)) retryLocked(() => run(userdel, [u], { timeoutMs: 30_000 }));
  // userdel already removes a user's own same-named group (USERGROUPS_ENAB); the rest go here.
  for (const g of created.groups.splice(0)) {
    if (exists("group", g)) retryLocked(() => run(groupdel, [g], { timeoutMs: 30_000 }));
  }
}

// ───────────────────────────────────────────── BIND ───────────────────────────────────────────────

/** Lines that report success, not trouble. */
const IGNORED_BIND = [/^zone \S+: loaded serial \d+$/, /^OK$/];

/**
 * The provider's own check of a bind file set (provider/scripts/file-set/file-set.sh, `check`)
 * on `<host>/bind`: `named-checkconf -z` on a named.conf of its own that includes Debian's
 * default zones and the staged named.conf.globenet with its live paths (/etc/bind/globenet/,
 * the signing folder) pointed at the staged zones; then `named-checkzone -i local <zone>
 * <file>` for each zone file (`-i local`: integrity checks on in-zone names only, so no DNS
 * lookups; named does no lookups when loading either). Messages name the rendered files. Here
 * also: a zone file that no zone statement names is an error.
 */
export async function checkBind(outHostDir: string): Promise<CheckProblem[]> {
  const host = resolve(outHostDir);
  const bindDir = join(host, "bind");
  const confFile = join(bindDir, "named.conf.globenet");
  const zonesDir = join(bindDir, "zones");
  const checkconf = findTool("named-checkconf");
  const checkzone = findTool("named-checkzone");
  if (!checkconf || !checkzone) return [missingTool("bind", bindDir, "named-checkconf/named-checkzone", "bind9-utils")];
  const problems: CheckProblem[] = [];
  const zoneFiles = listFiles(zonesDir, ".zone");
  if (!existsSync(confFile)) {
    if (zoneFiles.length > 0) problems.push({ checker: "bind", severity: "error", target: confFile, message: "zone files were rendered but named.conf.globenet was not" });
    return problems;
  }
  const named = new Set([...readFileSync(confFile, "utf8").matchAll(/\bfile\s+"([^"]*)"/g)].map((m) => basename(m[1] as string)));
  for (const f of zoneFiles) {
    if (!named.has(basename(f))) problems.push({ checker: "bind", severity: "error", target: f, message: `no zone statement in ${confFile} uses this file` });
  }
  const c = localCheckCommand("bind-primary", undefined, bindDir);
  const r = run(c.file, c.args, { timeoutMs: 180_000 });
  const command = `bash provider/scripts/file-set/file-set.sh check bind-primary '' '' <md-reload units> ${bindDir}`;
  const text = mapPaths(output(r), [[`${liveRoot("bind-primary")}/`, `${bindDir}/`]]);
  if (r.status !== 0) problems.push({ checker: "bind", severity: "error", target: bindDir, command, message: text || `the check exited ${r.status}` });
  else {
    const w = warningLines(text, IGNORED_BIND);
    if (w) problems.push({ checker: "bind", severity: "warning", target: bindDir, command, message: w });
  }
  return problems;
}

function warningLines(text: string, ignored: readonly RegExp[]): string {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !ignored.some((re) => re.test(l)))
    .join("\n");
}

// ──────────────────────────────────────────── libvirt ─────────────────────────────────────────────

/** `virt-xml-validate <file> domain` (libvirt's RelaxNG schema, through xmllint); `nwfilter` for the guests' network filter. */
export async function checkDomainXml(file: string, schema: "domain" | "nwfilter" = "domain"): Promise<CheckProblem[]> {
  const bin = findTool("virt-xml-validate");
  if (!bin) return [missingTool("libvirt", file, "virt-xml-validate", "libvirt-clients")];
  if (!findTool("xmllint")) return [missingTool("libvirt", file, "xmllint", "libxml2-utils")];
  const args = [file, schema];
  const r = run(bin, args, { timeoutMs: 60_000 });
  const text = output(r);
  if (r.status !== 0) {
    return [{ checker: "libvirt", severity: "error", target: file, command: describeCommand("virt-xml-validate", args), message: text }];
  }
  return [];
}

// ─────────────────────────────────────────── cloud-init ───────────────────────────────────────────

/**
 * A NoCloud seed folder (user-data, meta-data, network-config):
 * - user-data: `cloud-init schema --config-file` (cloud-init 22.4 as on Debian 12, which is
 *   also what the Debian 12 guests run). It checks the "#cloud-config" header, the YAML and the
 *   module schemas; unknown top-level keys are not errors in 22.4. Deprecations are warnings.
 * - meta-data: YAML mapping with a non-empty `instance-id`; `local-hostname`, if any, a hostname.
 * - network-config: 22.4 has no schema for it (`cloud-init schema` validates user-data only),
 *   so: (1) a shape check of netplan version 2 with the `yaml` package, rejecting keys cloud-init
 *   would silently ignore (typos); (2) cloud-init's own parser, run with the Python that runs
 *   cloud-init: `network_state.parse_net_config_data(cfg, skip_broken=False)` then its ENI
 *   renderer (the guests use ifupdown), the code the guest itself runs at boot.
 *   Found that way: 22.4 rejects `routes: [{to: default}]` ("Address default is not a valid ip
 *   address") and renders `to: "::/0"` as a route to ::/64, so both are errors here; use
 *   `gateway4`/`gateway6`, or `to: 0.0.0.0/0` for IPv4.
 */
export async function checkCloudInit(dir: string): Promise<CheckProblem[]> {
  const seed = resolve(dir);
  const problems: CheckProblem[] = [];
  const ci = findTool("cloud-init");
  if (!ci) return [missingTool("cloud-init", seed, "cloud-init", "cloud-init")];

  // user-data
  const userData = join(seed, "user-data");
  if (!existsSync(userData)) problems.push(err(userData, "missing: a NoCloud seed needs user-data"));
  else {
    const args = ["schema", "--config-file", userData];
    const r = run(ci, args, { timeoutMs: 60_000 });
    const text = output(r);
    const command = describeCommand("cloud-init", args);
    if (r.status !== 0) problems.push({ checker: "cloud-init", severity: "error", target: userData, command, message: text });
    else {
      const w = text
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l && !/^Valid cloud-config:/.test(l) && !/^Cloud config schema deprecations:\s*$/.test(l));
      if (w.length) problems.push({ checker: "cloud-init", severity: "warning", target: userData, command, message: w.join("\n") });
    }
  }

  // meta-data
  const metaData = join(seed, "meta-data");
  if (!existsSync(metaData)) problems.push(err(metaData, "missing: a NoCloud seed needs meta-data (instance-id)"));
  else {
    const md = loadYaml(metaData);
    if (typeof md === "string") problems.push(err(metaData, md));
    else if (!isMap(md)) problems.push(err(metaData, "must be a YAML mapping"));
    else {
      const iid = md["instance-id"];
      if (typeof iid !== "string" || iid.trim() === "") problems.push(err(metaData, "instance-id: required, a non-empty string"));
      const lh = md["local-hostname"];
      if (lh !== undefined && (typeof lh !== "string" || !isHostname(lh))) {
        problems.push(err(metaData, `local-hostname: not a valid hostname: ${JSON.stringify(lh)}`));
      }
    }
  }

  // network-config (optional in a seed)
  const netConfig = join(seed, "network-config");
  if (existsSync(netConfig)) {
    const shape = checkNetworkShape(netConfig);
    problems.push(...shape.map((m) => err(netConfig, m)));
    if (shape.length === 0) {
      const p = parseNetworkConfigWithCloudInit(netConfig);
      if (p) problems.push(p);
    }
  }
  return problems;
}

function err(target: string, message: string): CheckProblem {
  return { checker: "cloud-init", severity: "error", target, message };
}

type YamlMap = Record<string, unknown>;
function isMap(v: unknown): v is YamlMap {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The parsed document, or an error message. */
function loadYaml(file: string): unknown {
  const doc = parseDocument(readFileSync(file, "utf8"));
  if (doc.errors.length > 0) return `not valid YAML: ${doc.errors.map((e) => e.message).join("; ")}`;
  return doc.toJS() as unknown;
}

function isHostname(s: string): boolean {
  return s.length <= 253 && s.split(".").every((l) => /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i.test(l));
}

function isCidr(s: unknown): boolean {
  if (typeof s !== "string") return false;
  const m = /^([^/]+)\/(\d{1,3})$/.exec(s);
  if (!m || !m[1] || !m[2]) return false;
  const v = isIP(m[1]);
  const len = Number(m[2]);
  return (v === 4 && len <= 32) || (v === 6 && len <= 128);
}

const NET_TOP = new Set(["version", "renderer", "ethernets", "bonds", "bridges", "vlans"]);
/** netplan ethernet keys that cloud-init 22.4 reads (anything else it drops without a word). */
const ETH_KEYS = new Set([
  "match", "set-name", "wakeonlan", "dhcp4", "dhcp6", "dhcp4-overrides", "dhcp6-overrides",
  "addresses", "gateway4", "gateway6", "nameservers", "routes", "mtu", "accept-ra", "macaddress",
  "optional", "critical", "link-local",
]);
const MATCH_KEYS = new Set(["macaddress", "name", "driver"]);
const ROUTE_KEYS = new Set(["to", "via", "metric", "on-link", "table", "from", "type", "scope"]);

/** Shape of a netplan v2 document as cloud-init 22.4 reads it; returns messages. */
function checkNetworkShape(file: string): string[] {
  const loaded = loadYaml(file);
  if (typeof loaded === "string") return [loaded];
  let cfg = loaded;
  // cloud-init unwraps a top-level "network" key (stages.py _remove_top_level_network_key).
  if (isMap(cfg) && "network" in cfg) cfg = cfg.network;
  if (!isMap(cfg)) return ["must be a YAML mapping (netplan version 2)"];
  const msgs: string[] = [];
  if (cfg.version !== 2) msgs.push(`version: must be 2 (netplan format), got ${JSON.stringify(cfg.version)}`);
  for (const k of Object.keys(cfg)) if (!NET_TOP.has(k)) msgs.push(`${k}: unknown top-level key (expected one of ${[...NET_TOP].join(", ")})`);
  const eths = cfg.ethernets;
  if (eths === undefined) msgs.push("ethernets: missing");
  else if (!isMap(eths) || Object.keys(eths).length === 0) msgs.push("ethernets: must be a non-empty mapping of interface name to settings");
  else {
    for (const [name, e] of Object.entries(eths)) {
      const at = `ethernets.${name}`;
      if (!isMap(e)) {
        msgs.push(`${at}: must be a mapping`);
        continue;
      }
      for (const k of Object.keys(e)) if (!ETH_KEYS.has(k)) msgs.push(`${at}.${k}: unknown key (cloud-init 22.4 would ignore it)`);
      if (e.match !== undefined) {
        if (!isMap(e.match)) msgs.push(`${at}.match: must be a mapping`);
        else {
          for (const k of Object.keys(e.match)) if (!MATCH_KEYS.has(k)) msgs.push(`${at}.match.${k}: unknown key`);
          const mac = e.match.macaddress;
          if (mac !== undefined && (typeof mac !== "string" || !/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(mac))) {
            msgs.push(`${at}.match.macaddress: not a MAC address: ${JSON.stringify(mac)} (quote it in YAML)`);
          }
        }
      }
      if (e.addresses !== undefined) {
        if (!Array.isArray(e.addresses)) msgs.push(`${at}.addresses: must be a list`);
        else e.addresses.forEach((a, i) => isCidr(a) || msgs.push(`${at}.addresses[${i}]: not an address/prefix: ${JSON.stringify(a)}`));
      }
      if (e.mtu !== undefined && !(Number.isInteger(e.mtu) && (e.mtu as number) >= 576)) msgs.push(`${at}.mtu: must be an integer >= 576: ${JSON.stringify(e.mtu)}`);
      for (const g of ["gateway4", "gateway6"] as const) {
        const v = e[g];
        if (v !== undefined && (typeof v !== "string" || isIP(v) !== (g === "gateway4" ? 4 : 6))) msgs.push(`${at}.${g}: not an IPv${g.slice(-1)} address: ${JSON.stringify(v)}`);
      }
      if (e.nameservers !== undefined) {
        const ns = e.nameservers;
        if (!isMap(ns)) msgs.push(`${at}.nameservers: must be a mapping (addresses, search)`);
        else {
          for (const k of Object.keys(ns)) if (k !== "addresses" && k !== "search") msgs.push(`${at}.nameservers.${k}: unknown key`);
          if (ns.addresses !== undefined && (!Array.isArray(ns.addresses) || ns.addresses.some((a) => typeof a !== "string" || !isIP(a)))) {
            msgs.push(`${at}.nameservers.addresses: must be a list of IP addresses`);
          }
          if (ns.search !== undefined && (!Array.isArray(ns.search) || ns.search.some((s) => typeof s !== "string" || !isHostname(s)))) {
            msgs.push(`${at}.nameservers.search: must be a list of domain names`);
          }
        }
      }
      if (e.routes !== undefined) {
        if (!Array.isArray(e.routes)) msgs.push(`${at}.routes: must be a list`);
        else
          e.routes.forEach((r, i) => {
            const rat = `${at}.routes[${i}]`;
            if (!isMap(r)) return void msgs.push(`${rat}: must be a mapping (to, via)`);
            for (const k of Object.keys(r)) if (!ROUTE_KEYS.has(k)) msgs.push(`${rat}.${k}: unknown key`);
            if (r.to === "default") msgs.push(`${rat}.to: "default" is not understood by cloud-init 22.4 (Debian 12): use gateway4/gateway6, or 0.0.0.0/0`);
            else if (typeof r.to !== "string" || !(isCidr(r.to) || isIP(r.to))) msgs.push(`${rat}.to: not an address or address/prefix: ${JSON.stringify(r.to)}`);
            else if (r.to.endsWith("/0") && isIP(r.to.slice(0, -2)) === 6) msgs.push(`${rat}.to: cloud-init 22.4's ENI renderer turns "::/0" into a route to ::/64: use gateway6`);
            if (r.metric !== undefined && !(Number.isInteger(r.metric) && (r.metric as number) >= 0)) msgs.push(`${rat}.metric: must be a non-negative integer: ${JSON.stringify(r.metric)}`);
            if (typeof r.via !== "string" || !isIP(r.via)) msgs.push(`${rat}.via: not an IP address: ${JSON.stringify(r.via)}`);
          });
      }
    }
  }
  return msgs;
}

/** Python code run with cloud-init's own interpreter: parse as cloud-init does, render ENI. */
const CLOUD_INIT_NET_PY = String.raw`
import os, sys, tempfile
from cloudinit import safeyaml
from cloudinit.net import eni, network_state
with open(sys.argv[1]) as f:
    cfg = safeyaml.load(f.read())
if isinstance(cfg, dict) and "network" in cfg:
    cfg = cfg["network"]
ns = network_state.parse_net_config_data(cfg, skip_broken=False)
with tempfile.TemporaryDirectory() as d:
    r = eni.Renderer({"eni_path": "etc/network/interfaces", "netrules_path": None, "links_path_prefix": None})
    r.render_network_state(ns, target=d)
    with open(os.path.join(d, "etc/network/interfaces")) as f:
        sys.stdout.write(f.read())
`;

/**
 * cloud-init's own parser on a network-config file (part of checkCloudInit, after the shape
 * check; exported so a test can show this layer fails on its own). undefined when it passes.
 */
export function parseNetworkConfigWithCloudInit(file: string): CheckProblem | undefined {
  const ciBin = findTool("cloud-init");
  if (!ciBin) return missingTool("cloud-init", file, "cloud-init", "cloud-init");
  // The interpreter cloud-init runs with (pyenv or venv pythons on PATH lack its modules).
  const shebang = /^#!\s*(\S+)/.exec(readFileSync(ciBin, "utf8").split("\n", 1)[0] ?? "")?.[1] ?? "/usr/bin/python3";
  const args = ["-c", CLOUD_INIT_NET_PY, file];
  const r = run(shebang, args, { timeoutMs: 60_000, env: { PYTHONDONTWRITEBYTECODE: "1" } });
  if (r.status === 0) return undefined;
  // The last line of a Python traceback is the exception: put it first.
  const lines = output(r).split("\n").filter(Boolean);
  const last = lines[lines.length - 1] ?? "";
  return {
    checker: "cloud-init",
    severity: "error",
    target: file,
    command: `${shebang} -c <cloud-init network_state.parse_net_config_data + eni render> ${file}`,
    message: `${last}\n${lines.slice(-12).join("\n")}`,
  };
}
