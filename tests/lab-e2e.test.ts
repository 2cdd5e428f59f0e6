import { spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { openStack } from "../lib/lab/open-stack";
import { paths } from "../lib/model/paths";
import { httpGet, CATCH_ALL_HOST } from "../lib/lab/checks";
import { labDown, labUp } from "../lib/lab/commands";
import { labPaths } from "../lib/lab/paths";
import { pebbleRootFile } from "../lib/lab/pebble";
import { pidAlive } from "../lib/base/proc";
import { previewPlan } from "../lib/guard/collect";
import { allowancesIn, formatVerdict, judge } from "../lib/guard/rules";
import { loadModel } from "../lib/check/build";
import { archives, dominfo, labTestTeardown, prepareLabTest, sh, virsh } from "./helpers/lab-run";
import { E2E_VAR, LabTree, ONDES, VELO, VPS_DOMAIN } from "./helpers/lab-tree";
import { requireRoot, requireTools, run } from "./helpers/tools";
import { cli } from "./helpers/cli";
import { attackDir, attacks, setUpAttacks, setUpLegitimate, victimSecrets, visitor } from "./helpers/web-isolation";
import { phaseTimer } from "./helpers/timings";

/**
 * Issue 4's acceptance test, in the style of Terraform's: the lab (`npm run lab`'s own code:
 * labUp / labDown) on a small data tree of the test's own, every daemon real and on
 * 127.0.0.1, every check made with the real client a volunteer would use (curl, mariadb,
 * dig, virsh). Each step edits the YAML as a merge request would and applies it with the
 * project's driver.
 */
const ok =
  requireTools("sshd", "ssh-keygen", "apache2ctl", "htpasswd", "named", "dig", "curl", "php-fpm8.2", "mariadbd", "mariadb", "mariadb-dump", "libvirtd", "virsh", "qemu-img", "qemu-system-x86_64", "useradd", "sudo", "borg", "cron") &&
  requireRoot("the lab starts system daemons and manages users on this machine");

const HOME = (h: string) => `/home/${h}`;
const SITE = (h: string, site: string) => `${HOME(h)}/sites/${site}/htdocs`;

function dig(name: string, type: string): string {
  return sh("dig", ["@127.0.0.1", "+short", "+time=2", "+tries=2", name, type]).stdout.trim();
}

function serial(zone: string): number {
  return Number(dig(zone, "SOA").split(/\s+/)[2]);
}


/** The member's own client: the delivered credentials file, one group per database. */
function memberSql(handle: string, db: string, sql: string) {
  return sh("mariadb", [`--defaults-file=${HOME(handle)}/.my.cnf`, `--defaults-group-suffix=_${db}`, "--batch", "--skip-column-names", "-e", sql]);
}

function rootSql(sql: string) {
  return sh("mariadb", ["--batch", "--skip-column-names", "-e", sql]);
}

function databases(): string[] {
  return rootSql("SHOW DATABASES").stdout.split("\n").filter(Boolean);
}

/** What the member would put on its site: a page and a PHP script telling who runs it. */
function publish(handle: string, site: string, title: string): void {
  const dir = SITE(handle, site);
  const st = statSync(HOME(handle));
  writeFileSync(join(dir, "index.html"), `<html><head><title>${title}</title></head><body>${title}</body></html>\n`);
  writeFileSync(join(dir, "whoami.php"), `<?php echo "php as ", posix_getpwuid(posix_geteuid())["name"], "\\n";\n`);
  for (const f of ["index.html", "whoami.php"]) chownSync(join(dir, f), st.uid, st.gid);
}

/** Web isolation (tests/helpers/web-isolation.ts): Atelier Vélo's .htaccess against Radio Ondes. */
const ISOLATION = { attacker: VELO, attackerSite: "atelier-velo.test", victim: ONDES, victimSite: "radio-ondes.test", victimDb: "ondes_db", php: "8.2" };

/** A file in a member's site, owned by the member (its requests run as the member). */
function writeMemberFile(handle: string, site: string, rel: string, content: string): void {
  const file = join(SITE(handle, site), rel);
  const st = statSync(HOME(handle));
  if (st.uid === 0) throw new Error(`${HOME(handle)} belongs to root: the member's account was not created`);
  mkdirSync(dirname(file), { recursive: true });
  chownSync(dirname(file), st.uid, st.gid);
  writeFileSync(file, content);
  chownSync(file, st.uid, st.gid);
}

/** Whether something accepts connections on a unix socket. */
function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect({ path }, () => {
      c.destroy();
      resolve(true);
    });
    c.on("error", () => resolve(false));
  });
}

/** The lab's pebble root, once the lab runs: sites redirect to HTTPS as soon as their certificate is live. */
let caFile = "";

/**
 * A visitor's request: the name resolved to the lab, redirects followed, HTTPS checked against
 * the lab's pebble root. A name just added to a site is on the next certificate only, a few
 * seconds after the apply: until then its HTTPS does not verify, so that is retried for a while.
 */
function curl(host: string, path = "/"): { status: number; body: string } {
  const args = ["-sSL", "-m", "10", "-o", "-", "-w", "\n%{http_code}", "--resolve", `${host}:80:127.0.0.1`, "--resolve", `${host}:443:127.0.0.1`, ...(caFile ? ["--cacert", caFile] : []), `http://${host}${path}`];
  const deadline = Date.now() + 60_000;
  let r = sh("curl", args);
  // 35, 51, 60: TLS handshake, name or chain not verified (the certificate is not there yet).
  while ([35, 51, 60].includes(r.status ?? 0) && Date.now() < deadline) {
    spawnSync("sleep", ["2"]);
    r = sh("curl", args);
  }
  const i = r.stdout.lastIndexOf("\n");
  return { status: Number(r.stdout.slice(i + 1)), body: r.stdout.slice(0, i) };
}


/** Resources a preview would touch, as "op type name", without the unchanged ones. */
async function plan(stack: Stack): Promise<string[]> {
  const out: string[] = [];
  await stack.preview({
    color: "never",
    onEvent: (e) => {
      const m = e.resourcePreEvent?.metadata;
      if (m && m.op !== "same") out.push(`${m.op} ${m.type} ${m.urn.split("::").pop()}`);
    },
  });
  return out.sort();
}

async function apply(stack: Stack) {
  const r = await stack.up({ color: "never" });
  expect(r.summary.result).toBe("succeeded");
  return r.summary.resourceChanges ?? {};
}

describe.skipIf(!ok)("the lab, end to end: npm run lab on a data tree, then merge-request-sized changes", () => {
  let root: string;
  let tree: LabTree;
  let stack: Stack;
  let downDone = false;
  const log: string[] = [];
  const { timings, timed } = phaseTimer();

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), "globenet-lab-e2e-"));
    tree = new LabTree(root);
    if (!loadModel(root, "lab").model) throw new Error("the test's own data tree does not validate");
    await prepareLabTest(root);
  }, 120_000);

  afterAll(async () => {
    await labTestTeardown(root, downDone);
    console.log(`lab e2e timings:\n${timings.map(([w, ms]) => `  ${w.padEnd(44)}${(ms / 1000).toFixed(1).padStart(7)} s`).join("\n")}`);
  }, 600_000);

  it("npm run lab starts every daemon and applies the tree, with a report of phases and times", async () => {
    const spy = vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => {
      log.push(a.map(String).join(" "));
      process.stdout.write(`${a.map(String).join(" ")}\n`);
    });
    try {
      const code = await timed("lab up (daemons + first apply)", () => labUp({ root, skipPackages: true }));
      expect(code).toBe(0);
    } finally {
      spy.mockRestore();
    }
    stack = await openStack({ stack: "lab", root });
    caFile = pebbleRootFile(labPaths(root));
    const report = log.join("\n");
    expect(report).toContain("lab report");
    const time = String.raw`(\d+ min )?\d+(\.\d+)? s`;
    for (const phase of ["base images", "daemons up", "engine", "apply", "guests boot", "total"]) expect(report).toMatch(new RegExp(`^  ${phase}\\s+${time}`, "m"));
    for (const event of ["first site answered", String.raw`every VPS running \(1\)`, String.raw`every VPS SSH up \(1\)`]) expect(report).toMatch(new RegExp(`${event}\\s+${time}`));
    expect(report).toMatch(/guest acceleration\s+(KVM|TCG)/);
    // Every daemon the lab started is recorded by PID, for labDown.
    const run_ = readdirSync(labPaths(root).run).filter((f) => f.endsWith(".pid")).sort();
    expect(run_).toEqual(expect.arrayContaining(["apache2.pid", "libvirtd.pid", "mariadb.pid", "named.pid", "php8.2-fpm.pid", "sshd.pid"]));
  }, 1_200_000);

  it("serves each member's page, and PHP runs as the member's own unix user", () => {
    publish(VELO, "atelier-velo.test", "Atelier Vélo");
    publish(VELO, "blog.atelier-velo.test", "Blog de l'atelier");
    publish(ONDES, "radio-ondes.test", "Radio Ondes");
    for (const [host, title] of [["atelier-velo.test", "Atelier Vélo"], ["www.atelier-velo.test", "Atelier Vélo"], ["blog.atelier-velo.test", "Blog de l'atelier"], ["radio-ondes.test", "Radio Ondes"]] as const) {
      const r = curl(host);
      expect(r.status, host).toBe(200);
      expect(r.body, host).toContain(title);
    }
    expect(curl("atelier-velo.test", "/whoami.php").body.trim()).toBe(`php as ${VELO}`);
    expect(curl("radio-ondes.test", "/whoami.php").body.trim()).toBe(`php as ${ONDES}`);
  });

  it("a site's php_settings reach its pool: it allocates and uploads what a default site cannot, and a member cannot raise its own limits", () => {
    const visit = visitor(() => caFile);
    // 200 MB: over the default 128 MB, under Radio Ondes' 256 MB. ini_set and .user.ini are the member's ways to ask for more.
    const hog = `<?php\n@ini_set("memory_limit", "1G");\n$s = str_repeat("x", 200 * 1024 * 1024);\necho "allocated ", strlen($s) >> 20, " MB under ", ini_get("memory_limit"), "\\n";\n`;
    const upload = `<?php\n$f = $_FILES["f"] ?? null;\necho $f ? "error={$f["error"]} size={$f["size"]}" : "no file", " max=", ini_get("upload_max_filesize"), "\\n";\n`;
    for (const [handle, host] of [[VELO, "atelier-velo.test"], [ONDES, "radio-ondes.test"]] as const) {
      writeMemberFile(handle, host, "limits/hog.php", hog);
      writeMemberFile(handle, host, "limits/upload.php", upload);
      writeMemberFile(handle, host, "limits/.user.ini", "memory_limit = 1G\nupload_max_filesize = 1G\npost_max_size = 1G\n");
    }
    const raised = visit("radio-ondes.test", "/limits/hog.php");
    expect([raised.status, raised.body.trim()]).toEqual([200, "allocated 200 MB under 256M"]);
    const plain = visit("atelier-velo.test", "/limits/hog.php");
    expect(plain.status).toBe(500);
    expect(plain.body).not.toContain("allocated");

    // 16.5 MB: over the default upload_max_filesize (16M), under its post_max_size (17M), so PHP reports the file, refused.
    const size = 16 * 1024 * 1024 + 512 * 1024;
    const big = join(root, "upload.bin");
    writeFileSync(big, Buffer.alloc(size, 7));
    const post = ["--post301", "--post302", "-F", `f=@${big}`];
    expect(visit("radio-ondes.test", "/limits/upload.php", post).body.trim()).toBe(`error=0 size=${size} max=32M`);
    // UPLOAD_ERR_INI_SIZE (1): over upload_max_filesize, whatever the member's .user.ini says.
    expect(visit("atelier-velo.test", "/limits/upload.php", post).body.trim()).toBe("error=1 size=0 max=16M");
  });

  it("a member's .htaccess cannot run code as another member, reach the stock pool or a status page (each attack tried for real)", () => {
    const { secret } = setUpAttacks(ISOLATION);
    const secrets = [...victimSecrets(ISOLATION), secret];
    const visit = visitor(() => caFile);
    const errorLog = `${paths.siteLogRoot}/${VELO}/atelier-velo.test-error.log`;
    const logSize = () => (existsSync(errorLog) ? statSync(errorLog).size : 0);
    attacks(ISOLATION).forEach((a, i) => {
      const from = logSize();
      const r = visit("atelier-velo.test", `/${attackDir(i)}/${a.file}`);
      const what = `${a.name} (stopped by ${a.stoppedBy})`;
      for (const s of secrets) expect(r.body, what).not.toContain(s);
      expect(r.body, what).not.toMatch(/php as (radio-ondes|www-data)/);
      expect(r.body, what).not.toMatch(/Apache Server Status|Server Information/);
      expect(r.status, what).toBe(a.status);
      if (a.shows) expect(r.body, what).toMatch(a.shows);
      if (a.log) expect(readFileSync(errorLog, "utf8").slice(from), what).toMatch(a.log);
    });
    // mod_md's md-status handler cannot be switched off and any .htaccess can name it
    // ([H=md-status]): the accepted residual (docs/architecture.md, "Web isolation"). It shows
    // the managed names and their certificates' public facts, never a key.
    writeMemberFile(VELO, "atelier-velo.test", "md-status/.htaccess", "RewriteEngine On\nRewriteRule ^ - [H=md-status]\n");
    writeMemberFile(VELO, "atelier-velo.test", "md-status/x.txt", "x\n");
    const md = visit("atelier-velo.test", "/md-status/x.txt");
    expect(md.body).toContain('"managed-domains"');
    expect(md.body).not.toMatch(/BEGIN|PRIVATE|privkey|"password"/i);
  });

  it("what members write in .htaccess still works: WordPress pretty URLs, basic auth, error pages, caching headers, listings", () => {
    const { basicAuth } = setUpAttacks(ISOLATION);
    setUpLegitimate(ISOLATION);
    const visit = visitor(() => caFile);
    // WordPress: a pretty URL served by index.php, as the member, with the Authorization header passed on.
    // (--location-trusted: curl keeps the header when the site sends HTTP on to HTTPS.)
    const wp = visit("atelier-velo.test", "/wp/2024/05/bonjour/", ["--location-trusted", "-H", "Authorization: Bearer jeton"]);
    expect([wp.status, wp.body.trim()]).toEqual([200, `wp index as ${VELO} uri=/wp/2024/05/bonjour/ auth=Bearer jeton`]);
    // A caching plugin's lines: expiry, Cache-Control, a font type, no ETag.
    const css = visit("atelier-velo.test", "/wp/style.css");
    expect(css.status).toBe(200);
    expect(css.head).toMatch(/^Cache-Control: public, max-age=2592000\r?$/im);
    expect(css.head).toMatch(/^Expires: /im);
    expect(css.head).toMatch(/^Content-Type: text\/css; charset=utf-8\r?$/im);
    expect(css.head).not.toMatch(/^ETag:/im);
    expect(visit("atelier-velo.test", "/wp/font.woff2").head).toMatch(/^Content-Type: font\/woff2\r?$/im);
    // Basic auth in the victim's own .htaccess: 401 without, its page as its user with.
    expect(visit("radio-ondes.test", "/private/secret.php").status).toBe(401);
    const auth = visit("radio-ondes.test", "/private/secret.php", ["--location-trusted", "-u", basicAuth]);
    expect(auth.status).toBe(200);
    expect(auth.body).toMatch(new RegExp(`as ${ONDES}$`, "m"));
    // An error page, a listing, an old "Deny from all".
    const missing = visit("atelier-velo.test", "/errors/nothing-here");
    expect([missing.status, missing.body.trim()]).toEqual([404, "<p>Page introuvable</p>"]);
    const listing = visit("atelier-velo.test", "/files/");
    expect(listing.status).toBe(200);
    expect(listing.body).toContain("rapport-2024.txt");
    expect(visit("atelier-velo.test", "/old/").status).toBe(403);
    // And the member's own PHP runs as the member.
    expect(visit("atelier-velo.test", "/whoami.php").body.trim()).toBe(`php as ${VELO}`);
  });

  it("each site's logs are its member's to read (~/logs), and no other member's", () => {
    const visit = visitor(() => caFile);
    const probe = `/log-probe-${process.pid}-${Date.now()}`;
    expect(visit("atelier-velo.test", probe).status).toBe(404);
    const dir = `${paths.siteLogRoot}/${VELO}`;
    expect(sh("stat", ["-c", "%U:%G:%a", dir]).stdout.trim()).toBe(`root:${VELO}:750`);
    const as = (user: string, cmd: string[]) => sh("setpriv", ["--reuid", user, "--regid", user, "--init-groups", "--", ...cmd]);
    // The member, through the link in its home, reads its own access and error logs.
    const own = as(VELO, ["cat", `${HOME(VELO)}/logs/atelier-velo.test-access.log`]);
    expect(own.status, own.stderr).toBe(0);
    expect(own.stdout).toContain(`GET ${probe} HTTP/`);
    expect(as(VELO, ["test", "-r", `${HOME(VELO)}/logs/atelier-velo.test-error.log`]).status).toBe(0);
    // Another member cannot list the folder nor read a file in it, nor write into its own.
    const other = as(ONDES, ["cat", `${dir}/atelier-velo.test-access.log`]);
    expect(other.status).not.toBe(0);
    expect(other.stderr).toMatch(/Permission denied/);
    expect(as(ONDES, ["ls", dir]).status).not.toBe(0);
    expect(as(ONDES, ["touch", `${paths.siteLogRoot}/${ONDES}/planted.log`]).status).not.toBe(0);
    expect(existsSync(`${paths.siteLogRoot}/${ONDES}/radio-ondes.test-access.log`)).toBe(true);
  });

  it("gives each member a working database login for its own databases only", () => {
    const own = memberSql(VELO, "velo_wp", "SELECT DATABASE()");
    expect(own.stderr).toBe("");
    expect(own.stdout.trim()).toBe("velo_wp");
    const other = memberSql(VELO, "velo_wp", "USE ondes_db");
    expect(other.status).not.toBe(0);
    expect(other.stderr).toMatch(/Access denied.*ondes_db/);
    expect(memberSql(ONDES, "ondes_db", "SELECT DATABASE()").stdout.trim()).toBe("ondes_db");
  });

  it("npm run status -- usage reports each member's home and databases, and grows by what the member writes", async () => {
    const read = async () => {
      const r = await cli(["status", "usage", "--root", root, "--json"]);
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as { handle: string; homeBytes?: number; homeInodes?: number; quotaMb: number; databases: { name: string; bytes?: number }[] }[];
    };
    const before = await read();
    expect(before.map((r) => r.handle).sort()).toEqual([ONDES, VELO].sort());
    const velo = before.find((r) => r.handle === VELO)!;
    expect(velo.databases.map((d) => d.name)).toEqual(expect.arrayContaining(["velo_wp"]));
    expect(velo.databases.every((d) => (d.bytes ?? -1) >= 0)).toBe(true);
    writeMemberFile(VELO, "atelier-velo.test", "usage/three-mib.bin", "x".repeat(3 * 1024 * 1024));
    const after = (await read()).find((r) => r.handle === VELO)!;
    expect((after.homeBytes ?? 0) - (velo.homeBytes ?? 0)).toBeGreaterThanOrEqual(3 * 1024 * 1024);
    expect((after.homeInodes ?? 0) - (velo.homeInodes ?? 0)).toBeGreaterThanOrEqual(2);
    const table = await cli(["status", "usage", "--root", root]);
    // The lab's homes have no kernel quota (home_quota: warn; docs/architecture.md, "Disk quotas"): said, not a silent limit.
    expect(table.stdout).toMatch(new RegExp(`^${VELO} +\\S+ +[0-9.]+ MiB +\\d+ MiB \\(not enforced\\) +\\d+ +\\d+ \\/ \\d+ +(\\S+ [0-9.]+ \\S*B, )*velo_wp [0-9.]+ \\S*B`, "m"));
    expect(table.stdout).toMatch(/^disk quotas NOT enforced on \S+: the homes' file system has no user quota on/m);
    rmSync(join(SITE(VELO, "atelier-velo.test"), "usage"), { recursive: true, force: true });
  });

  it("backup drill: a member's files (a link, odd names) and a database written during the backup, destroyed, restored identical through npm run backup", async () => {
    // What the member has: files with odd names, a link, modes of its own; and rows.
    const site = SITE(VELO, "atelier-velo.test");
    const files: Record<string, string> = { "drill/a file with spaces.txt": "espaces\n", "drill/-dash.txt": "tiret\n", "drill/café-ünï.txt": "accents\n", "drill/deep/er/x.php": "<?php echo 1;\n" };
    for (const [rel, text] of Object.entries(files)) writeMemberFile(VELO, "atelier-velo.test", rel, text);
    // Every folder the member's own, as if it had made them (an in-place restore writes as the member).
    run("chown", ["-R", `${VELO}:${VELO}`, join(site, "drill")]);
    run("chmod", ["0640", join(site, "drill/-dash.txt")]);
    expect(run("setpriv", ["--reuid", VELO, "--regid", VELO, "--clear-groups", "ln", "-s", "a file with spaces.txt", join(site, "drill/link")]).status).toBe(0);
    const snapshot = () =>
      run("bash", ["-c", 'cd "$1" && find drill -printf "%p %y %U:%G %m %l\\n" | sort && find drill -type f -print0 | sort -z | xargs -0 sha256sum', "x", site]).stdout;
    const before = snapshot();
    expect(before).toContain("drill/link l");
    expect(memberSql(VELO, "velo_wp", "CREATE TABLE drill (id INT PRIMARY KEY AUTO_INCREMENT, v VARCHAR(40)) ENGINE=InnoDB; INSERT INTO drill (v) VALUES ('un'), ('deux');").stderr).toBe("");
    // A writer inserting while the backup runs: the dump is one consistent snapshot.
    const writer = spawnSync("bash", ["-c", `for i in $(seq 1 200); do echo "INSERT INTO drill (v) VALUES ('w$i');"; done | mariadb --defaults-file=${HOME(VELO)}/.my.cnf --defaults-group-suffix=_velo_wp`], { encoding: "utf8" });
    expect(writer.status, writer.stderr).toBe(0);
    const rows = () => memberSql(VELO, "velo_wp", "SELECT COUNT(*), SUM(id), MAX(id) FROM drill").stdout.trim();
    const rowsBefore = rows();

    const runNow = await timed("backup run (every host)", () => cli(["backup", "run", "--stack", "lab", "--root", root]));
    expect(runNow.status, runNow.stderr).toBe(0);
    const status = await cli(["status", "backups", "--stack", "lab", "--root", root]);
    expect(status.stdout).toMatch(new RegExp(`^\\S+ +home--${VELO} +ok `, "m"));
    // Every home of the host in one archive: its own row beside the members'.
    expect(status.stdout).toMatch(/^\S+ +homes +ok /m);
    expect(status.stdout).toMatch(/^\S+ +database--velo_wp +ok /m);
    const list = await cli(["backup", "list", VELO, "--stack", "lab", "--root", root]);
    expect(list.stdout).toMatch(new RegExp(`^  homes--[a-z0-9-]+--\\d{8}T\\d{6}Z$`, "m"));

    // Lost: the folder, and rows and the table.
    rmSync(join(site, "drill"), { recursive: true, force: true });
    expect(memberSql(VELO, "velo_wp", "DELETE FROM drill WHERE id > 1; DROP TABLE drill;").stderr).toBe("");

    const restored = await timed("backup restore (home, in place)", () => cli(["backup", "restore", VELO, "sites/atelier-velo.test/htdocs/drill", "--in-place", "--stack", "lab", "--root", root]));
    expect(restored.status, restored.stderr).toBe(0);
    expect(restored.stdout).toContain(`restored in place into ${HOME(VELO)}`);
    expect(snapshot()).toBe(before);
    const db = await timed("backup restore-db --replace", () => cli(["backup", "restore-db", "velo_wp", "--replace", "--stack", "lab", "--root", root]));
    expect(db.status, db.stderr).toBe(0);
    expect(db.stdout).toContain("restored into database velo_wp");
    expect(rows()).toBe(rowsBefore);
    // The member's site still answers, as the member.
    expect(curl("atelier-velo.test", "/whoami.php").body.trim()).toBe(`php as ${VELO}`);
    // The repositories' passphrases and the member's database password: in no state file or
    // lab file (secrets are encrypted there), and in nothing the commands printed.
    const secrets = readdirSync("/etc/globenet/backup").filter((h) => existsSync(`/etc/globenet/backup/${h}/passphrase`)).map((h) => readFileSync(`/etc/globenet/backup/${h}/passphrase`, "utf8").trim());
    const dbPassword = /^password\s*=\s*"?([^"\n]+)"?$/m.exec(readFileSync(`${HOME(VELO)}/.my.cnf.d/velo_wp.cnf`, "utf8"))?.[1];
    expect(secrets.length).toBeGreaterThan(0);
    expect(readdirSync(join(root, ".lab", "state")).length, "the lab's state is where the grep looks").toBeGreaterThan(0);
    expect(dbPassword?.length).toBeGreaterThan(8);
    for (const secret of [...secrets, dbPassword as string]) {
      expect(run("grep", ["-rlF", "--", secret, join(root, ".lab")]).stdout.trim(), "a secret in the lab's state or files").toBe("");
      for (const out of [runNow, status, list, restored, db]) expect(out.stdout + out.stderr).not.toContain(secret);
    }
    // A whole backup run of every host (homes, databases, the VPS disk, keys) and two restores:
    // about a minute here, more than the default test timeout.
  }, 300_000);

  it("the member file's cron job runs as the member: cron writes its file, owned by the member, with the % it asked for", () => {
    // The job runs every minute from the first apply on; the backup drill above took most of one.
    const log = join(HOME(VELO), "cron-ran.log");
    const deadline = Date.now() + 75_000;
    while (!existsSync(log) && Date.now() < deadline) spawnSync("sleep", ["2"]);
    expect(existsSync(log), `${log} never appeared: cron did not run the job`).toBe(true);
    const st = statSync(log);
    expect([st.uid, st.gid]).toEqual([statSync(HOME(VELO)).uid, statSync(HOME(VELO)).gid]);
    expect(readFileSync(log, "utf8")).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}\n/);
    const tab = sh("crontab", ["-u", VELO, "-l"]).stdout;
    expect(tab).toContain("MAILTO=bureau@atelier-velo.test\n");
    expect(tab).toContain("* * * * * date -u +\\%Y-\\%m-\\%dT\\%H:\\%M >> ~/cron-ran.log\n");
  }, 90_000);

  it("answers the zones' own records and the derived A/AAAA and PTR on 127.0.0.1:53", () => {
    expect(dig("atelier-velo.test", "TXT")).toBe('"v=spf1 -all"');
    expect(dig("www.atelier-velo.test", "A")).toBe("127.0.0.1");
    expect(dig("radio-ondes.test", "A")).toBe("127.0.0.1");
    expect(dig("atelier.atelier-velo.test", "A")).toBe("203.0.113.20");
    expect(dig("atelier.atelier-velo.test", "AAAA")).toBe("2001:db8:42::20");
    expect(sh("dig", ["@127.0.0.1", "+short", "-x", "203.0.113.20"]).stdout.trim()).toBe("atelier.atelier-velo.test.");
    expect(sh("dig", ["@127.0.0.1", "+short", "-x", "2001:db8:42::20"]).stdout.trim()).toBe("atelier.atelier-velo.test.");
    expect(dig("radio-ondes.test", "SOA")).toMatch(/^lab\.globenet\.example\. hostmaster\.globenet\.example\. \d{10} /);
    // The member's own sub-zone, served as a zone of its own (its own SOA and records).
    expect(dig("club.atelier-velo.test", "TXT")).toBe('"club"');
    expect(dig("club.atelier-velo.test", "SOA")).toMatch(/^lab\.globenet\.example\. /);
  });

  it("runs the VPS with the declared vCPUs, memory and MAC, its cloud-init seed attached", () => {
    expect(virsh("domstate", VPS_DOMAIN).trim()).toBe("running");
    const info = dominfo(VPS_DOMAIN);
    expect(info["CPU(s)"]).toBe("1");
    expect(info["Max memory"]).toBe(`${512 * 1024} KiB`);
    // The lab's NIC is QEMU user-mode (qemu:commandline, not a libvirt <interface>): ask QEMU itself.
    const vps = loadModel(root, "lab").model?.vps[0];
    expect(vps?.mac).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/);
    const net = virsh("qemu-monitor-command", VPS_DOMAIN, "--hmp", "info network");
    expect(net).toContain(`macaddr=${vps?.mac}`);
    const fwd = virsh("qemu-monitor-command", VPS_DOMAIN, "--hmp", "info usernet");
    expect(fwd).toMatch(new RegExp(`HOST_FORWARD\\]\\s+\\d+\\s+127\\.0\\.0\\.1\\s+${vps?.network.type === "user" ? vps.network.sshForwardPort : "none"}\\s+\\S+\\s+22\\b`));
    const blk = virsh("domblklist", VPS_DOMAIN, "--details");
    expect(blk).toMatch(/disk\s+\S+\s+\/var\/lib\/globenet-lab\/e2e\/images\/hv1\/atelier-velo--atelier\.qcow2/);
    expect(blk).toMatch(/cdrom\s+\S+\s+\S+seed\S*\.iso/);
  });

  it("a second apply has nothing to do", async () => {
    const r = await timed("no-change preview", () => stack.preview({ color: "never", expectNoChanges: true }));
    expect(Object.keys(r.changeSummary).filter((k) => k !== "same")).toEqual([]);
  }, 300_000);

  it("an alias, a TXT record, a database and more VPS memory change exactly those, in place", async () => {
    const before = { velo: serial("atelier-velo.test"), ondes: serial("radio-ondes.test"), rev: serial("113.0.203.in-addr.arpa"), uuid: virsh("domuuid", VPS_DOMAIN).trim() };
    tree.edit((s) => {
      s.velo.aliases.push("velo.atelier-velo.test");
      s.velo.txt.push("site-verification=atelier");
      s.ondes.databases.push("ondes_archives");
      s.velo.vps = { memoryMb: 768, vcpus: 1 };
    });
    expect(await plan(stack)).toEqual([
      "create globenet:db:Database ondes_archives",
      // The new database is a new backup source of the machine; the preview cannot know yet
      // that the client keeps its key and passphrase, so it lists the repository too.
      "update globenet:backup:Client hv1-backup-client",
      "update globenet:backup:Repository hv1-backup-repository",
      "update globenet:files:FileSet lab-apache2",
      "update globenet:files:FileSet lab-bind",
      `update globenet:vm:Guest ${VPS_DOMAIN}`,
    ]);
    const changes = await timed("apply: alias, TXT, database, VPS memory", () => apply(stack));
    // Applied, the repository's inputs are known and the same: not updated.
    expect(changes).toMatchObject({ create: 1, update: 4 });
    expect(changes.replace ?? 0).toBe(0);
    expect(curl("velo.atelier-velo.test").body).toContain("Atelier Vélo");
    expect(dig("atelier-velo.test", "TXT").split("\n").sort()).toEqual(['"site-verification=atelier"', '"v=spf1 -all"']);
    expect(memberSql(ONDES, "ondes_archives", "SELECT DATABASE()").stdout.trim()).toBe("ondes_archives");
    // The serial rises for the changed zone only.
    expect(serial("atelier-velo.test")).toBeGreaterThan(before.velo);
    expect(serial("radio-ondes.test")).toBe(before.ondes);
    expect(serial("113.0.203.in-addr.arpa")).toBe(before.rev);
    // The same guest (not replaced), with the new memory, running again.
    expect(virsh("domuuid", VPS_DOMAIN).trim()).toBe(before.uuid);
    expect(dominfo(VPS_DOMAIN)["Max memory"]).toBe(`${768 * 1024} KiB`);
    expect(virsh("domstate", VPS_DOMAIN).trim()).toBe("running");
  }, 900_000);

  it("suspending a member shows the notice, refuses its database user, stops its VPS and keeps every byte", async () => {
    tree.edit((s) => (s.velo.status = "suspended"));
    await timed("apply: suspend", () => apply(stack));
    for (const host of ["atelier-velo.test", "www.atelier-velo.test", "blog.atelier-velo.test"]) {
      const r = curl(host);
      expect(r.status, host).toBe(503);
      expect(r.body, host).toContain("This site is temporarily suspended");
    }
    expect(curl("atelier-velo.test", "/whoami.php").status).toBe(503);
    // No pool for a suspended member: its PHP stopped with the FPM reload.
    expect(readdirSync("/etc/php/8.2/fpm/globenet/pool.d")).not.toContain(`globenet-${VELO}.conf`);
    expect(await socketAnswers(`/run/php/globenet-${VELO}-php8.2.sock`)).toBe(false);
    expect(run("pgrep", ["-u", VELO, "-f", "php-fpm"]).stdout.trim()).toBe("");
    const login = memberSql(VELO, "velo_wp", "SELECT 1");
    expect(login.status).not.toBe(0);
    expect(login.stderr).toMatch(/Access denied|locked/i);
    expect(virsh("domstate", VPS_DOMAIN).trim()).toBe("shut off");
    // Nothing is gone.
    expect(existsSync(join(SITE(VELO, "atelier-velo.test"), "index.html"))).toBe(true);
    expect(databases()).toEqual(expect.arrayContaining(["velo_wp", "velo_old"]));
    expect(existsSync(`${E2E_VAR}/images/hv1/${VPS_DOMAIN}.qcow2`)).toBe(true);
    // Other members are untouched.
    expect(curl("radio-ondes.test").body).toContain("Radio Ondes");
  }, 900_000);

  it("reactivating brings everything back", async () => {
    tree.edit((s) => (s.velo.status = "active"));
    await timed("apply: reactivate", () => apply(stack));
    expect(curl("atelier-velo.test").body).toContain("Atelier Vélo");
    expect(curl("atelier-velo.test", "/whoami.php").body.trim()).toBe(`php as ${VELO}`);
    expect(memberSql(VELO, "velo_wp", "SELECT DATABASE()").stdout.trim()).toBe("velo_wp");
    expect(virsh("domstate", VPS_DOMAIN).trim()).toBe("running");
  }, 900_000);

  it("a change the host cannot take fails the apply and leaves every site serving", async () => {
    // Valid data (the inventory declares PHP 8.3), but the web host has no php8.3-fpm:
    // the pools' check fails on the host, and the vhosts that would point at them wait.
    tree.edit((s) => {
      s.phpVersions.push("8.3");
      s.velo.shopPhp = "8.3";
    });
    const err = await timed("apply: broken change (fails)", () => stack.up({ color: "never" }).then(() => undefined, (e: unknown) => String(e)));
    expect(err).toBeDefined();
    // The checker's own words reach the volunteer, with what to do.
    expect(err).toMatch(/PHP 8\.3 FPM is not installed on this host.*install php8\.3-fpm/);
    for (const [host, title] of [["atelier-velo.test", "Atelier Vélo"], ["blog.atelier-velo.test", "Blog de l'atelier"], ["radio-ondes.test", "Radio Ondes"]] as const) {
      expect(curl(host).body, host).toContain(title);
    }
    expect(curl("blog.atelier-velo.test", "/whoami.php").body.trim()).toBe(`php as ${VELO}`);
    // The new site never went live: Apache's default site answers for it.
    const catchAll = await httpGet(CATCH_ALL_HOST);
    expect((await httpGet("shop.atelier-velo.test"))?.sig).toBe(catchAll?.sig);
    // Taking the change back converges.
    tree.edit((s) => {
      s.phpVersions = ["8.2"];
      s.velo.shopPhp = undefined;
    });
    await timed("apply: change taken back", () => apply(stack));
    const again = await stack.preview({ color: "never", expectNoChanges: true });
    expect(Object.keys(again.changeSummary).filter((k) => k !== "same")).toEqual([]);
  }, 900_000);

  it("removing a site, a database and a VPS archives each first, then removes it", async () => {
    rootSql("CREATE TABLE velo_old.adherents (nom VARCHAR(80)); INSERT INTO velo_old.adherents VALUES ('Camille'), ('Dominique');");
    tree.edit((s) => {
      s.velo.blog = false;
      s.velo.databases = ["velo_wp"];
      s.velo.vps = undefined;
    });
    expect(await plan(stack)).toEqual([
      `delete globenet:db:Database velo_old`,
      `delete globenet:vm:Guest ${VPS_DOMAIN}`,
      // The database and the VPS are no longer backup sources.
      "update globenet:backup:Client hv1-backup-client",
      "update globenet:backup:Repository hv1-backup-repository",
      "update globenet:files:FileSet lab-apache2",
      "update globenet:files:FileSet lab-bind",
      // One FPM pool per member, not per site: the member keeps its pool.
      `update globenet:hosting:Account ${VELO}`,
    ]);
    await timed("apply: remove site, database, VPS", () => apply(stack));
    // The site: archived with its files, gone from disk and from Apache.
    const site = archives("sites", `${VELO}--blog.atelier-velo.test-`);
    expect(site).toHaveLength(1);
    expect(sh("tar", ["-tzf", site[0] as string]).stdout).toContain("blog.atelier-velo.test/htdocs/index.html");
    expect(existsSync(SITE(VELO, "blog.atelier-velo.test"))).toBe(false);
    expect(curl("blog.atelier-velo.test").body).not.toContain("Blog de l'atelier");
    // The database: dumped, and the dump restores.
    const dump = archives("databases", "velo_old-");
    expect(dump).toHaveLength(1);
    expect(databases()).not.toContain("velo_old");
    rootSql("CREATE DATABASE e2e_restore");
    const restored = sh("bash", ["-c", 'gzip -cd -- "$1" | mariadb e2e_restore', "restore", dump[0] as string]);
    expect(restored.stderr).toBe("");
    expect(rootSql("SELECT nom FROM e2e_restore.adherents ORDER BY nom").stdout.trim().split("\n")).toEqual(["Camille", "Dominique"]);
    rootSql("DROP DATABASE e2e_restore");
    // The VPS: its disk in the archive, the domain gone.
    const disk = archives("vps", `${VPS_DOMAIN}-`);
    expect(disk).toHaveLength(1);
    expect(sh("qemu-img", ["check", "-q", disk[0] as string]).status).toBe(0);
    expect(virsh("list", "--all", "--name")).not.toContain(VPS_DOMAIN);
    expect(existsSync(`${E2E_VAR}/images/hv1/${VPS_DOMAIN}.qcow2`)).toBe(false);
    expect(dig("atelier.atelier-velo.test", "A")).toBe("");
  }, 900_000);

  it("removing a member is refused by the guard unless allowed; then it archives its home and databases and removes them", async () => {
    tree.edit((s) => (s.ondes.present = false));
    // The merge request's guard, on this real preview: blocked without Allow-Destroy, allowed with it.
    const { plan } = await previewPlan(stack);
    const refused = judge(plan, { maxShare: 0.1, allowances: [] });
    expect(refused.ok).toBe(false);
    expect(formatVerdict(refused)).toMatch(/members\/radio-ondes: database ondes_db would be deleted on lab/);
    // One zone of five is over the 10 % share too: both lines are asked for, and both allow it.
    expect([...formatVerdict(refused).matchAll(/^  Allow-Destroy: (.+)$/gm)].map((m) => m[1])).toEqual(["members/radio-ondes", "zones/radio-ondes.test"]);
    const mr = "Départ de Radio Ondes\n\nAllow-Destroy: members/radio-ondes\nAllow-Destroy: zones/radio-ondes.test\n";
    expect(judge(plan, { maxShare: 0.1, allowances: allowancesIn(mr) }).ok).toBe(true);
    await timed("apply: remove member", () => apply(stack));
    expect(run("id", [ONDES]).status).not.toBe(0);
    expect(existsSync(HOME(ONDES))).toBe(false);
    const home = archives("accounts", `${ONDES}-`);
    expect(home).toHaveLength(1);
    expect(sh("tar", ["-tzf", home[0] as string]).stdout).toContain("sites/radio-ondes.test/htdocs/index.html");
    expect(archives("databases", "ondes_db-")).toHaveLength(1);
    expect(archives("databases", "ondes_archives-")).toHaveLength(1);
    expect(databases()).not.toEqual(expect.arrayContaining(["ondes_db"]));
    expect(dig("radio-ondes.test", "SOA")).toBe("");
    expect(curl("atelier-velo.test").body).toContain("Atelier Vélo");
  }, 900_000);

  it("lab down destroys the stack (archiving) and stops every daemon it started", async () => {
    const p = labPaths(root);
    const pids = readdirSync(p.run).filter((f) => f.endsWith(".pid")).map((f) => Number(run("cat", [join(p.run, f)]).stdout.trim()));
    expect(pids.length).toBeGreaterThanOrEqual(6);
    const code = await timed("lab down (destroy + stop)", () => labDown({ root }));
    expect(code).toBe(0);
    downDone = true;
    expect(archives("accounts", `${VELO}-`)).toHaveLength(1);
    expect(archives("databases", "velo_wp-")).toHaveLength(1);
    for (const pid of pids) expect(pidAlive(pid), `pid ${pid}`).toBe(false);
    expect(run("id", [VELO]).status).not.toBe(0);
    expect(sh("curl", ["-s", "-m", "3", "http://127.0.0.1/"]).status).not.toBe(0);
    expect(sh("dig", ["@127.0.0.1", "+short", "+time=1", "+tries=1", "globenet.example", "SOA"]).status).not.toBe(0);
  }, 900_000);
});
