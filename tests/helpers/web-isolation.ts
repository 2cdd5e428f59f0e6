import { spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { paths } from "../../lib/model/paths";
import { run } from "./tools";

/**
 * Web isolation on a running lab (issue 15): what one member's .htaccess tried against another
 * member on the current main before mpm-itk, performed for real, next to what members really put
 * in .htaccess (WordPress, basic auth, error pages, caching headers, listings).
 *
 * The attacker is `attacker` (its site `attackerSite`), the victim `victim` with a database whose
 * credentials file sits in ~/.my.cnf.d/ and a page behind basic auth. Every attack's answer must
 * hold none of the victim's secrets and show no PHP run as the victim or as www-data, and no
 * status page.
 */
export interface Members {
  attacker: string;
  attackerSite: string;
  victim: string;
  victimSite: string;
  victimDb: string;
  php: string;
}

export interface Reply {
  status: number;
  head: string;
  body: string;
}

export type Visit = (host: string, path: string, extra?: string[]) => Reply;

/**
 * A visitor's request with curl: the name resolved to the lab, redirects followed (a site with a
 * live certificate sends HTTP to HTTPS), HTTPS checked against `ca`. The headers are the last
 * response's. A certificate that is not there yet (TLS errors 35, 51, 60) is retried for a while.
 */
export function visitor(ca: () => string): Visit {
  return (host, path, extra = []) => {
    const dir = mkdtempSync(join(tmpdir(), "globenet-visit-"));
    try {
      const args = ["-sS", "-L", "-m", "10", "-D", join(dir, "head"), "-o", join(dir, "body"), "-w", "%{http_code}", "--resolve", `${host}:80:127.0.0.1`, "--resolve", `${host}:443:127.0.0.1`, "--cacert", ca(), ...extra, `http://${host}${path}`];
      const deadline = Date.now() + 60_000;
      let r = run("curl", args);
      while ([35, 51, 60].includes(r.status ?? 0) && Date.now() < deadline) {
        spawnSync("sleep", ["2"]);
        r = run("curl", args);
      }
      if (r.status !== 0) throw new Error(`curl ${host}${path}: exit ${r.status}: ${r.stderr}`);
      const heads = readFileSync(join(dir, "head"), "utf8").split(/\r?\n\r?\n/).filter((h) => h.trim());
      return { status: Number(r.stdout), head: heads[heads.length - 1] ?? "", body: readFileSync(join(dir, "body"), "utf8") };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

const sock = (handle: string, php: string) => paths.fpmSocket(handle, php);
const docroot = (handle: string, site: string) => paths.docroot(handle, site);

/** PHP that tells who runs it and prints the victim's credentials files if it can read them. */
function stealer(m: Members): string {
  return `<?php
echo "php as ", posix_getpwuid(posix_geteuid())["name"], "\\n";
echo "open_basedir=", ini_get("open_basedir"), "\\n";
echo "auto_prepend_file=", ini_get("auto_prepend_file"), "\\n";
foreach (glob("${paths.home(m.victim)}/.my.cnf.d/*.cnf") ?: [] as $f) echo @file_get_contents($f);
echo @file_get_contents("${paths.home(m.victim)}/.my.cnf.d/${m.victimDb}.cnf");
`;
}

export interface Attack {
  name: string;
  /** What the attacker's .htaccess says, in a folder of its own. */
  htaccess: string;
  /** The file requested in that folder. */
  file: "steal.php" | "steal.txt";
  /** The status that shows what stopped it. */
  status: number;
  /** What stops it, for the test's message (and docs/architecture.md). */
  stoppedBy: string;
  /** A line the attacker's error log must gain (the kernel's refusal), when that is what stops it. */
  log?: RegExp;
  /** What the answer shows instead. */
  shows?: RegExp;
}

export function attacks(m: Members): Attack[] {
  const victimSock = sock(m.victim, m.php);
  const victimFcgi = `unix:${victimSock}|fcgi://localhost`;
  const stock = `unix:/run/php/php${m.php}-fpm.sock|fcgi://localhost`;
  const refused = new RegExp(`Permission denied: AH02454: FCGI: attempt to connect to Unix domain socket ${victimSock.replace(/[.]/g, "\\.")}`);
  const secretPage = `${docroot(m.victim, m.victimSite)}/private/secret.php`;
  return [
    { name: "SetHandler to the victim's pool", htaccess: `SetHandler "proxy:${victimFcgi}"`, file: "steal.txt", status: 500, stoppedBy: "the allow-list (SetHandler not allowed here)" },
    {
      name: "RewriteRule [H] to the victim's pool",
      htaccess: `RewriteEngine On\nRewriteRule \\.txt$ - [H=proxy:${victimFcgi}]`,
      file: "steal.txt",
      status: 503,
      stoppedBy: "the kernel: the request runs as the attacker (mpm-itk), the socket is the victim's group's",
      log: refused,
    },
    {
      name: "RewriteRule [P] to the victim's pool and protected page (past its basic auth)",
      htaccess: `RewriteEngine On\nRewriteRule ^ ${victimFcgi}${secretPage} [P]`,
      file: "steal.txt",
      status: 503,
      stoppedBy: "the kernel (as above)",
      log: refused,
    },
    {
      name: "RewriteRule [P] through the attacker's own pool to the victim's page",
      htaccess: `RewriteEngine On\nRewriteRule ^ unix:${sock(m.attacker, m.php)}|fcgi://localhost${secretPage} [P]`,
      file: "steal.txt",
      status: 404,
      stoppedBy: "the kernel: the attacker's pool runs as the attacker and cannot open the victim's home",
      shows: /^File not found\.$/m,
    },
    { name: "RewriteRule [H] to Debian's stock www pool", htaccess: `RewriteEngine On\nRewriteRule \\.txt$ - [H=proxy:${stock}]`, file: "steal.txt", status: 503, stoppedBy: "the stock pool is off (and its socket is www-data's)" },
    { name: "AddType with a proxy: type", htaccess: `AddType "proxy:${victimFcgi}" .txt`, file: "steal.txt", status: 200, stoppedBy: "every file's handler is set by the vhost: the file is served as it is", shows: /^<\?php\n/ },
    { name: "ForceType with a proxy: type", htaccess: `ForceType "proxy:${victimFcgi}"`, file: "steal.txt", status: 500, stoppedBy: "the allow-list" },
    { name: "RewriteRule [T] with a proxy: type", htaccess: `RewriteEngine On\nRewriteRule \\.txt$ - [T=proxy:${victimFcgi}]`, file: "steal.txt", status: 200, stoppedBy: "every file's handler is set by the vhost", shows: /^<\?php\n/ },
    { name: "SetEnv PHP_ADMIN_VALUE open_basedir=none", htaccess: `SetEnv PHP_ADMIN_VALUE "open_basedir=none"`, file: "steal.php", status: 500, stoppedBy: "the allow-list" },
    {
      name: "RewriteRule [E] PHP_VALUE auto_prepend_file and PHP_ADMIN_VALUE open_basedir",
      htaccess: `RewriteEngine On\nRewriteRule ^ - [E=PHP_VALUE:auto_prepend_file=${paths.home(m.victim)}/.my.cnf.d/${m.victimDb}.cnf,E=PHP_ADMIN_VALUE:open_basedir=none]`,
      file: "steal.php",
      status: 200,
      stoppedBy: "ProxyFCGISetEnvIf strips PHP_VALUE and PHP_ADMIN_VALUE from every FastCGI request",
      shows: new RegExp(`^php as ${m.attacker}\nopen_basedir=${paths.home(m.attacker)}/\nauto_prepend_file=\n`),
    },
    { name: "SetHandler server-status", htaccess: "SetHandler server-status", file: "steal.txt", status: 500, stoppedBy: "the allow-list (and mod_status is off)" },
    { name: "RewriteRule [H=server-status]", htaccess: "RewriteEngine On\nRewriteRule ^ - [H=server-status]", file: "steal.txt", status: 200, stoppedBy: "mod_status is off: the file is served as it is", shows: /^<\?php\n/ },
    { name: "RewriteRule [H=server-info]", htaccess: "RewriteEngine On\nRewriteRule ^ - [H=server-info]", file: "steal.txt", status: 200, stoppedBy: "mod_info is off", shows: /^<\?php\n/ },
    { name: "a symbolic link to the victim's credentials, followed", htaccess: "Options +FollowSymLinks", file: "steal.txt", status: 403, stoppedBy: "the kernel: the request runs as the attacker, the victim's home is 0750 and its own" },
  ];
}

/** Writes a file as its member would (owner and group the member's). */
function put(file: string, content: string, owner: string): void {
  // The home first: a missing one (the apply failed) must not be made here as root, or the
  // next apply refuses to adopt it.
  const st = statSync(paths.home(owner));
  if (st.uid === 0) throw new Error(`${paths.home(owner)} belongs to root: the member's account was not created`);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, content);
  chownSync(file, st.uid, st.gid);
  for (let d = dirname(file); d.startsWith(`${paths.home(owner)}/sites/`); d = dirname(d)) chownSync(d, st.uid, st.gid);
}

/** Folder name of an attack in the attacker's docroot. */
export const attackDir = (i: number) => `attack-${String(i).padStart(2, "0")}`;

/** Lays out the attacker's folders (one per attack) and the victim's protected page. */
export function setUpAttacks(m: Members): { secret: string; basicAuth: string } {
  const root = docroot(m.attacker, m.attackerSite);
  const steal = stealer(m);
  attacks(m).forEach((a, i) => {
    const dir = join(root, attackDir(i));
    put(join(dir, ".htaccess"), `${a.htaccess}\n`, m.attacker);
    put(join(dir, "steal.php"), steal, m.attacker);
    if (a.name.startsWith("a symbolic link")) {
      const link = join(dir, "steal.txt");
      if (!existsSync(link)) run("ln", ["-s", `${paths.home(m.victim)}/.my.cnf.d/${m.victimDb}.cnf`, link]);
      const st = statSync(paths.home(m.attacker));
      run("chown", ["-h", `${st.uid}:${st.gid}`, link]);
    } else {
      put(join(dir, "steal.txt"), steal, m.attacker);
    }
  });
  const secret = `ondes-secret-${process.pid}-${Date.now()}`;
  const vroot = docroot(m.victim, m.victimSite);
  put(join(vroot, "private", "secret.php"), `<?php echo "${secret} as ", posix_getpwuid(posix_geteuid())["name"], "\\n";\n`, m.victim);
  const htpasswd = run("htpasswd", ["-nbB", "bureau", "mot-de-passe-ondes"]);
  if (htpasswd.status !== 0) throw new Error(`htpasswd: ${htpasswd.stderr}`);
  put(join(paths.home(m.victim), ".htpasswd"), htpasswd.stdout, m.victim);
  put(join(vroot, "private", ".htaccess"), `AuthType Basic\nAuthName "Espace adherents"\nAuthUserFile ${paths.home(m.victim)}/.htpasswd\nRequire valid-user\n`, m.victim);
  return { secret, basicAuth: "bureau:mot-de-passe-ondes" };
}

/** What the victim's credentials look like on disk (read as root), to look for in answers. */
export function victimSecrets(m: Members): string[] {
  const cnf = readFileSync(`${paths.home(m.victim)}/.my.cnf.d/${m.victimDb}.cnf`, "utf8");
  const password = /^password\s*=\s*"?([^"\n]+)"?/m.exec(cnf)?.[1];
  if (!password || password.length < 16) throw new Error(`no password in the victim's credentials file:\n${cnf.replace(/password.*/g, "password=…")}`);
  return [password, `[client_${m.victimDb}]`];
}

/** What a WordPress site, with a caching plugin's lines, and other member sites write into .htaccess. */
export function setUpLegitimate(m: Members): void {
  const root = docroot(m.attacker, m.attackerSite);
  put(
    join(root, "wp", ".htaccess"),
    `# BEGIN WordPress
<IfModule mod_rewrite.c>
RewriteEngine On
RewriteRule .* - [E=HTTP_AUTHORIZATION:%{HTTP:Authorization}]
RewriteBase /wp/
RewriteRule ^index\\.php$ - [L]
RewriteCond %{REQUEST_FILENAME} !-f
RewriteCond %{REQUEST_FILENAME} !-d
RewriteRule . /wp/index.php [L]
</IfModule>
# END WordPress
# BEGIN cache plugin
<IfModule mod_mime.c>
AddType font/woff2 .woff2
AddCharset UTF-8 .css
</IfModule>
<IfModule mod_expires.c>
ExpiresActive On
ExpiresByType text/css "access plus 1 month"
</IfModule>
<IfModule mod_headers.c>
Header set Cache-Control "public, max-age=2592000"
</IfModule>
<IfModule mod_deflate.c>
AddOutputFilterByType DEFLATE text/css
</IfModule>
FileETag None
# END cache plugin
Options -Indexes +FollowSymLinks
DirectoryIndex index.php index.html
`,
    m.attacker,
  );
  put(
    join(root, "wp", "index.php"),
    `<?php echo "wp index as ", posix_getpwuid(posix_geteuid())["name"], " uri=", $_SERVER["REQUEST_URI"], " auth=", $_SERVER["HTTP_AUTHORIZATION"] ?? $_SERVER["REDIRECT_HTTP_AUTHORIZATION"] ?? "", "\\n";\n`,
    m.attacker,
  );
  put(join(root, "wp", "style.css"), "body { color: #222; }\n", m.attacker);
  put(join(root, "wp", "font.woff2"), "wOF2", m.attacker);
  put(join(root, "errors", ".htaccess"), "ErrorDocument 404 /errors/introuvable.html\n", m.attacker);
  put(join(root, "errors", "introuvable.html"), "<p>Page introuvable</p>\n", m.attacker);
  put(join(root, "files", ".htaccess"), "Options +Indexes\n", m.attacker);
  put(join(root, "files", "rapport-2024.txt"), "rapport\n", m.attacker);
  put(join(root, "old", ".htaccess"), "Order deny,allow\nDeny from all\n", m.attacker);
  put(join(root, "old", "index.html"), "archives\n", m.attacker);
}
