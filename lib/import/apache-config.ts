/**
 * What a running Apache serves, from `apache2ctl -S` (the virtual hosts Apache itself resolved,
 * with their file and line), the vhost blocks of those files, and the PHP-FPM pool files.
 * Pure: text in, values out (lib/import/read-host.ts fetches the text).
 */

/** One virtual host as `apache2ctl -S` lists it. */
export interface ListedVhost {
  port: number;
  name: string;
  /** The aliases -S prints ("alias x", "wild alias *.x"). */
  aliases: string[];
  file: string;
  line: number;
}

/** The virtual hosts of `apache2ctl -S` output, in its order, each once. */
export function parseApacheS(text: string): ListedVhost[] {
  const out: ListedVhost[] = [];
  const seen = new Set<string>();
  let cur: ListedVhost | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trimEnd();
    // "         port 80 namevhost alice.example (/etc/apache2/sites-enabled/alice.conf:1)"
    const named = /^\s+port (\d+) namevhost (\S+) \((.+):(\d+)\)$/.exec(line);
    // "*:443                  alice.example (/etc/apache2/sites-enabled/alice-ssl.conf:2)"
    const single = /^\S*:(\d+)\s+(?!is a NameVirtualHost)(\S+) \((.+):(\d+)\)$/.exec(line);
    const m = named ?? single;
    if (m) {
      const v: ListedVhost = { port: Number(m[1]), name: (m[2] as string).toLowerCase(), aliases: [], file: m[3] as string, line: Number(m[4]) };
      const key = `${v.port} ${v.file}:${v.line}`;
      cur = seen.has(key) ? undefined : v;
      if (cur) {
        seen.add(key);
        out.push(cur);
      }
      continue;
    }
    const alias = /^\s+(?:wild )?alias (\S+)$/.exec(line);
    if (alias && cur) {
      cur.aliases.push((alias[1] as string).toLowerCase());
      continue;
    }
    if (/^\s+default server /.test(line)) continue;
    if (!/^\s/.test(line)) cur = undefined;
  }
  return out;
}

/** The files `apache2ctl -t -D DUMP_INCLUDES` lists, in order. */
export function parseIncludes(text: string): string[] {
  return [...text.matchAll(/^\s*\((?:\*|\d+)\)\s+(\/\S.*)$/gm)].map((m) => (m[1] as string).trim());
}

/** One directive line inside a vhost block. */
export interface Directive {
  name: string;
  args: string[];
  line: number;
  /** The enclosing sections, outermost first ("Directory /home/a/www", "FilesMatch \.php$"). */
  within: string[];
}

/** Splits directive arguments: quoted strings are one argument, unquoted. */
function splitArgs(s: string): string[] {
  return [...s.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? "");
}

/** The directives of the <VirtualHost> block starting at `line` (1-based) of `text`. */
export function vhostBlock(text: string, line: number): { directives: Directive[]; end: number } | undefined {
  const lines = text.split("\n");
  if (!/^\s*<VirtualHost\b/i.test(lines[line - 1] ?? "")) return undefined;
  const directives: Directive[] = [];
  const within: string[] = [];
  for (let i = line; i < lines.length; i++) {
    const at = i + 1;
    let l = lines[i] as string;
    while (l.endsWith("\\") && i + 1 < lines.length) l = l.slice(0, -1) + lines[++i];
    const t = l.trim();
    if (!t || t.startsWith("#")) continue;
    if (/^<\/VirtualHost>/i.test(t)) return { directives, end: at };
    const close = /^<\/(\w+)>/.exec(t);
    if (close) {
      within.pop();
      continue;
    }
    const open = /^<(\w+)\s*(.*?)>$/.exec(t);
    if (open) {
      within.push(`${open[1]} ${splitArgs(open[2] ?? "").join(" ")}`.trim());
      continue;
    }
    const [name = "", ...args] = splitArgs(t);
    directives.push({ name: name.toLowerCase(), args, line: at, within: [...within] });
  }
  return undefined;
}

/** What one vhost block says, in the terms of a member's site. */
export interface VhostFacts {
  serverName?: string;
  aliases: string[];
  docroot?: string;
  /** Another host every request is sent to (a permanent redirect of the whole site). */
  redirectTo?: string;
  /** The vhost only sends its requests to https on the same names. */
  toHttps: boolean;
  /** The PHP-FPM socket requests for .php go to. */
  fpmSocket?: string;
  ssl: boolean;
  certFile?: string;
  /** Directives the site schema has no field for: "line: text". */
  unexpressed: Array<{ line: number; text: string }>;
}

/** Directives the import reads or that the stack's own vhosts already hold. */
const UNDERSTOOD = new Set([
  "servername", "serveralias", "documentroot", "serveradmin", "errorlog", "customlog", "loglevel",
  "sslengine", "sslcertificatefile", "sslcertificatekeyfile", "sslcertificatechainfile", "protocols",
  "sethandler", "rewriteengine", "rewritecond", "rewriterule", "redirect", "redirectpermanent", "redirectmatch",
  "options", "allowoverride", "require", "directoryindex", "include", "includeoptional", "proxypassmatch",
]);

/** The host of an http(s) URL, lowercase; "%{HTTP_HOST}"-like variables give "$same". */
function urlHost(url: string): string | undefined {
  if (/^https?:\/\/%\{(HTTP_HOST|SERVER_NAME)\}/i.test(url)) return "$same";
  const m = /^https?:\/\/([^/:%]+)(?=[/:]|$)/i.exec(url);
  return m ? (m[1] as string).toLowerCase() : undefined;
}

/** Reads one vhost block's directives into the facts a site needs. */
export function vhostFacts(directives: readonly Directive[]): VhostFacts {
  const f: VhostFacts = { aliases: [], toHttps: false, ssl: false, unexpressed: [] };
  const text = (d: Directive) => `${d.name} ${d.args.join(" ")}`.slice(0, 200);
  for (const d of directives) {
    const a = d.args;
    const whole = d.within.length === 0 || d.within.every((w) => /^(Directory|IfModule)\b/i.test(w));
    switch (d.name) {
      case "servername":
        f.serverName = a[0]?.toLowerCase().replace(/^https?:\/\//, "").replace(/:\d+$/, "");
        break;
      case "serveralias":
        f.aliases.push(...a.map((x) => x.toLowerCase()));
        break;
      case "documentroot":
        f.docroot = a[0]?.replace(/\/+$/, "") || "/";
        break;
      case "sslengine":
        f.ssl = a[0]?.toLowerCase() === "on";
        break;
      case "sslcertificatefile":
        f.certFile = a[0];
        break;
      case "redirect":
      case "redirectpermanent":
      case "redirectmatch": {
        // Redirect [status] /path URL; RedirectMatch [status] regex URL.
        const rest = a.length >= 3 ? a.slice(1) : a;
        const from = rest[0] ?? "";
        const host = urlHost(rest[1] ?? "");
        const root = d.name === "redirectmatch" ? /^\^?\/?(\(\.\*\))?\$?$/.test(from) : from === "/";
        if (host && root && whole) host === "$same" ? (f.toHttps = true) : (f.redirectTo = host);
        else f.unexpressed.push({ line: d.line, text: text(d) });
        break;
      }
      case "rewriterule": {
        const host = urlHost(a[1] ?? "");
        const flags = (a[2] ?? "").toUpperCase();
        const everything = /^\^(\/?\(\.\*\)\$?|\/?\.\*\$?)?$/.test(a[0] ?? "");
        if (host && everything && /\bR(=30[18])?\b/.test(flags)) host === "$same" ? (f.toHttps = true) : (f.redirectTo = host);
        else f.unexpressed.push({ line: d.line, text: text(d) });
        break;
      }
      case "sethandler":
      case "proxypassmatch": {
        const sock = /(?:^|\s|proxy:)unix:([^|]+)\|fcgi:/i.exec(a.join(" "))?.[1];
        if (sock) f.fpmSocket = sock;
        else f.unexpressed.push({ line: d.line, text: text(d) });
        break;
      }
      default:
        if (!UNDERSTOOD.has(d.name)) f.unexpressed.push({ line: d.line, text: text(d) });
    }
  }
  return f;
}

/** One PHP-FPM pool. */
export interface FpmPool {
  name: string;
  /** "8.2", from /etc/php/8.2/fpm/pool.d/. */
  version: string;
  user?: string;
  listen?: string;
  file: string;
  line: number;
}

/** The pools of one pool.d file (ini syntax, "[name]" sections, "$pool" expanded in listen). */
export function parseFpmPools(file: string, text: string): FpmPool[] {
  const version = /^\/etc\/php\/(\d+\.\d+)\//.exec(file)?.[1] ?? "?";
  const out: FpmPool[] = [];
  let cur: FpmPool | undefined;
  text.split("\n").forEach((raw, i) => {
    const l = raw.trim();
    if (!l || l.startsWith(";") || l.startsWith("#")) return;
    const sec = /^\[([^\]]+)\]$/.exec(l);
    if (sec) {
      cur = { name: sec[1] as string, version, file, line: i + 1 };
      out.push(cur);
      return;
    }
    const kv = /^([\w.[\]]+)\s*=\s*(.*)$/.exec(l);
    if (!kv || !cur) return;
    const v = (kv[2] as string).replace(/^"(.*)"$/, "$1").trim();
    if (kv[1] === "user") cur.user = v;
    if (kv[1] === "listen") cur.listen = v;
  });
  for (const p of out) if (p.listen) p.listen = p.listen.replace(/\$pool/g, p.name);
  return out;
}
