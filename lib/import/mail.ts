/**
 * Importing the mail that already runs (issue 22): what a read-only look at a live Postfix and
 * Dovecot returns (lib/import/scripts/mail-read.sh: the virtual_* settings, their text maps,
 * Dovecot's passwd-files) becomes members' `mail:` blocks, grouped by the owner of each domain's
 * zone in the data, for a volunteer to review and paste. Everything the schema cannot hold is
 * reported with the host's file and line, never silently dropped: a password in a scheme the
 * schema refuses (clear text, MD5…) is never written — the mailbox gets an empty hash marked
 * TODO(import) and the member sets a new one (`doveadm pw -s ARGON2ID`); Globenet's RFC 2142
 * aliases are left out (derived on every domain); a domain no zone of the data owns is reported.
 */
import { localPartProblem, mailPasswordHashProblem } from "../schema/mail";
import { RFC2142 } from "../model/mail";
import type { ImportNote } from "./zone-file";
import { framed } from "./remote";

export interface LiveMail {
  /** postconf's "name = value" lines. */
  postconf: string;
  /** Map file path → its text. */
  maps: Map<string, string>;
  /** passwd-file path → its text; deny: a deny passdb's (suspended users). */
  passwdFiles: Map<string, string>;
  denyFiles: Map<string, string>;
}

/** The script's frames (pure). */
export function parseMailRead(out: string): LiveMail {
  const live: LiveMail = { postconf: "", maps: new Map(), passwdFiles: new Map(), denyFiles: new Map() };
  for (const { name, text } of framed(out)) {
    if (name === "postconf") live.postconf = text;
    else if (name.startsWith("map ")) live.maps.set(name.slice(4), text);
    else if (name.startsWith("passwd-file ")) live.passwdFiles.set(name.slice(12), text);
    else if (name.startsWith("deny-file ")) live.denyFiles.set(name.slice(10), text);
  }
  return live;
}

/** One non-comment line of a file, with where it is. */
interface Line {
  file: string;
  n: number;
  key: string;
  rest: string;
}

/** Postfix lookup-table source lines ("key value…"), comments and blanks skipped; continuation lines joined. */
export function mapLines(file: string, text: string): Line[] {
  const out: Line[] = [];
  const raw = text.split("\n");
  for (let i = 0; i < raw.length; i++) {
    let l = raw[i] as string;
    if (/^\s*(#|$)/.test(l)) continue;
    const n = i + 1;
    while (i + 1 < raw.length && /^[ \t]+\S/.test(raw[i + 1] as string)) l += ` ${(raw[++i] as string).trim()}`;
    const m = /^(\S+)\s*(.*)$/.exec(l.trim());
    if (m) out.push({ file, n, key: (m[1] as string).toLowerCase(), rest: (m[2] as string).trim() });
  }
  return out;
}

/** A setting's tables: "hash:/etc/postfix/vmailbox, inline:{…}" → [{type, path}] (pure). */
export function settingTables(postconf: string, name: string): { type: string; path: string }[] {
  const v = new RegExp(`^${name} = (.*)$`, "m").exec(postconf)?.[1] ?? "";
  return v
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((t) => {
      const m = /^([a-z0-9_]+):(.*)$/.exec(t);
      return m ? { type: m[1] as string, path: m[2] as string } : { type: t.startsWith("/") ? "file" : "word", path: t };
    });
}

export interface ImportedMailbox {
  local: string;
  quotaMb?: number;
  /** Undefined: not importable (a refused scheme, none found); the TODO says why. */
  hash?: string;
  todo?: string;
  suspended?: boolean;
}

export interface ImportedDomain {
  domain: string;
  owner?: string;
  mailboxes: ImportedMailbox[];
  aliases: { local: string; to: string[] }[];
  catchAll?: string;
}

export interface MailImport {
  /** By owner's handle: its domains. */
  byMember: Map<string, ImportedDomain[]>;
  notes: ImportNote[];
  derived: ImportNote[];
}

/** A Dovecot userdb quota rule's storage in MB ("*:storage=1G" → 1024), or undefined. */
export function quotaMbOf(extra: string): number | undefined {
  const m = /userdb_quota_rule=\*:storage=(\d+)([KMGT]?)B?\b/i.exec(extra) ?? /quota_rule=\*:storage=(\d+)([KMGT]?)B?\b/i.exec(extra);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = (m[2] ?? "").toUpperCase();
  const mb = unit === "G" ? n * 1024 : unit === "T" ? n * 1024 * 1024 : unit === "M" ? n : unit === "K" ? Math.ceil(n / 1024) : Math.ceil(n / 1024 / 1024);
  return mb > 0 ? mb : undefined;
}

/** A passwd-file's hash as the schema wants it: {CRYPT} added to a bare crypt(3) hash (Dovecot's default scheme). */
function withScheme(h: string): string {
  return /^\$(y|2[aby]|6)\$/.test(h) ? `{CRYPT}${h}` : h;
}

const zoneOf = (domain: string, owners: ReadonlyMap<string, string>): string | undefined => {
  const labels = domain.split(".");
  for (let i = 0; i < labels.length - 1; i++) {
    const z = labels.slice(i).join(".");
    if (owners.has(z)) return z;
  }
  return undefined;
};

const ADDRESS = /^[a-z0-9._+-]+@[a-z0-9.-]+$/;

/**
 * The live mail as members' domains (pure). `zoneOwners`: each zone of the data and its owner
 * (a domain belongs to the owner of the closest zone at or above it).
 */
export function importMail(live: LiveMail, o: { host: string; zoneOwners: ReadonlyMap<string, string> }): MailImport {
  const notes: ImportNote[] = [];
  const derived: ImportNote[] = [];
  const where = (l: Line) => `${o.host}:${l.file}:${l.n}`;
  // Virtual mailbox domains: an inline list, or the keys of a map.
  const domains = new Map<string, ImportedDomain>();
  for (const t of settingTables(live.postconf, "virtual_mailbox_domains")) {
    const keys = t.type === "word" ? [{ file: "postconf", n: 0, key: t.path.toLowerCase(), rest: "" }] : mapLines(t.path, live.maps.get(t.path) ?? "");
    if (t.type !== "word" && !live.maps.has(t.path)) notes.push({ where: `${o.host}:postconf`, record: `virtual_mailbox_domains = ${t.type}:${t.path}`, why: "not a map file the import can read (a database or a missing file): its domains are not imported" });
    for (const k of keys) if (!domains.has(k.key)) domains.set(k.key, { domain: k.key, mailboxes: [], aliases: [] });
  }
  const domainOf = (addr: string) => addr.slice(addr.lastIndexOf("@") + 1);
  const localOf = (addr: string) => addr.slice(0, addr.lastIndexOf("@"));
  // Mailboxes: the passwd-files' users (hash, quota), and virtual_mailbox_maps' keys.
  const boxes = new Map<string, ImportedMailbox & { where: string }>();
  const denied = new Set<string>();
  for (const [file, text] of live.denyFiles) for (const l of mapLines(file, text)) denied.add(l.key.split(":")[0] as string);
  for (const [file, text] of live.passwdFiles) {
    text.split("\n").forEach((line, i) => {
      if (/^\s*(#|$)/.test(line)) return;
      const f = line.split(":");
      const user = (f[0] ?? "").toLowerCase();
      const w = `${o.host}:${file}:${i + 1}`;
      if (!user.includes("@")) {
        notes.push({ where: w, record: user, why: "a user without a domain: mail here is per domain (user@domain); not imported" });
        return;
      }
      // The hash may itself hold ':' only in {SCHEME} forms the schema refuses anyway.
      const hash = withScheme(f[1] ?? "");
      const extra = f.slice(7).join(":");
      const quotaMb = quotaMbOf(extra);
      const problem = hash ? mailPasswordHashProblem(hash) : "is empty";
      const scheme = /^\{([A-Z0-9-]+)\}/.exec(hash)?.[1] ?? (hash.startsWith("$") ? `crypt ${hash.split("$")[1]}` : "no scheme");
      boxes.set(user, {
        local: localOf(user),
        ...(quotaMb ? { quotaMb } : {}),
        ...(problem ? { todo: `its password (scheme ${scheme}) cannot be kept: the member sets a new one (doveadm pw -s ARGON2ID) and pastes the hash here` } : { hash }),
        ...(denied.has(user) ? { suspended: true } : {}),
        where: w,
      });
      if (problem) notes.push({ where: w, record: `${user} password`, why: `the hash ${problem}: not written (a password is never copied in a refused scheme); the mailbox is written with an empty hash marked TODO(import)` });
    });
  }
  for (const t of settingTables(live.postconf, "virtual_mailbox_maps")) {
    for (const l of mapLines(t.path, live.maps.get(t.path) ?? "")) {
      if (!l.key.includes("@") || boxes.has(l.key)) continue;
      boxes.set(l.key, { local: localOf(l.key), todo: "no Dovecot user holds its password: the member sets one (doveadm pw -s ARGON2ID) and pastes the hash here", where: where(l) });
    }
  }
  for (const [addr, b] of boxes) {
    const d = domains.get(domainOf(addr));
    if (!d) {
      notes.push({ where: b.where, record: addr, why: `${domainOf(addr)} is not one of Postfix's virtual_mailbox_domains: not imported` });
      continue;
    }
    const bad = localPartProblem(b.local);
    if (bad) {
      notes.push({ where: b.where, record: addr, why: `the local part ${bad}: not imported (rename the mailbox with the member first)` });
      continue;
    }
    const { where: _w, ...box } = b;
    d.mailboxes.push(box);
  }
  // Aliases: virtual_alias_maps lines of our domains; a mailbox to itself is Postfix's catch-all idiom.
  for (const t of settingTables(live.postconf, "virtual_alias_maps")) {
    for (const l of mapLines(t.path, live.maps.get(t.path) ?? "")) {
      const d = domains.get(l.key.startsWith("@") ? l.key.slice(1) : domainOf(l.key));
      if (!d) continue;
      const to = l.rest.split(/[\s,]+/).filter(Boolean).map((x) => x.toLowerCase());
      if (l.key.startsWith("@")) {
        const target = to.length === 1 && domainOf(to[0] as string) === d.domain ? localOf(to[0] as string) : undefined;
        if (target && d.mailboxes.some((b) => b.local === target)) d.catchAll = target;
        else notes.push({ where: where(l), record: `${l.key} ${l.rest}`, why: "a catch-all here goes to one mailbox of the domain: not imported" });
        continue;
      }
      const local = localOf(l.key);
      if (to.length === 1 && to[0] === l.key) continue;
      if ((RFC2142 as readonly string[]).includes(local)) {
        derived.push({ where: where(l), record: `${l.key} ${l.rest}`, why: "one of Globenet's RFC 2142 addresses, derived on every domain (to the inventory's hostmaster)" });
        continue;
      }
      const bad = localPartProblem(local) ?? (to.length === 0 ? "has no target" : to.length > 20 ? `has ${to.length} targets, over the 20 an alias may have` : to.find((x) => !ADDRESS.test(x)) ? `has a target that is not a plain address (${to.find((x) => !ADDRESS.test(x))})` : undefined);
      if (bad) {
        notes.push({ where: where(l), record: `${l.key} ${l.rest}`.slice(0, 200), why: `the alias ${bad}: not imported` });
        continue;
      }
      d.aliases.push({ local, to: to.map((x) => (domainOf(x) === d.domain ? localOf(x) : x)) });
    }
  }
  const byMember = new Map<string, ImportedDomain[]>();
  for (const d of [...domains.values()].sort((a, b) => a.domain.localeCompare(b.domain))) {
    const z = zoneOf(d.domain, o.zoneOwners);
    if (!z) {
      notes.push({ where: `${o.host}:postconf`, record: `virtual mailbox domain ${d.domain}`, why: "no zone of the data holds this domain: import its zone first (npm run import -- zones), then the mail again" });
      continue;
    }
    const owner = o.zoneOwners.get(z) as string;
    d.owner = owner;
    d.mailboxes.sort((a, b) => a.local.localeCompare(b.local));
    byMember.set(owner, [...(byMember.get(owner) ?? []), d]);
  }
  return { byMember, notes, derived };
}

/** A member's `mail:` block as YAML text with its TODO(import) comments, and how many (pure). */
export function mailYaml(domains: ImportedDomain[]): { text: string; todos: number } {
  let todos = 0;
  const lines = ["mail:"];
  for (const d of domains) {
    lines.push(`  - domain: ${d.domain}`);
    lines.push(d.mailboxes.length ? "    mailboxes:" : "    mailboxes: []");
    for (const b of d.mailboxes) {
      const quota = b.quotaMb ? `quota_mb: ${b.quotaMb}, ` : "";
      const todo = [b.todo, b.suspended ? "suspended on the host (a deny passdb): the whole member is suspended or not, in its status" : undefined].filter(Boolean);
      todos += todo.length;
      lines.push(`      - { local: ${b.local}, ${quota}password_hash: "${b.hash ?? ""}" }${todo.length ? `  # TODO(import): ${todo.join("; ")}` : ""}`);
    }
    if (d.aliases.length) {
      lines.push("    aliases:");
      for (const a of d.aliases) lines.push(`      - { local: ${a.local}, to: [${a.to.join(", ")}] }`);
    }
    if (d.catchAll) {
      todos++;
      lines.push(`    catch_all: ${d.catchAll}  # TODO(import): a catch-all gathers spam; keep it only if the member wants it`);
    }
  }
  return { text: `${lines.join("\n")}\n`, todos };
}
