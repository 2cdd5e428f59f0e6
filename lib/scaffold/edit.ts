import { isMap, isScalar, isSeq, parseDocument, stringify, type Node, type YAMLMap, type YAMLSeq } from "yaml";
import type { Resources } from "./hypervisor";
import { Refusal } from "./plan";

/**
 * Edits of an existing member file (members/<handle>/member.yaml) or VPS file, text in, text
 * out, that touch only the lines of the change: the `yaml` library parses the file (so the
 * edit finds its place by structure, not by pattern), and the new text is spliced into the
 * original at the parsed nodes' offsets. Re-printing the whole document would re-flow the rest
 * (long keys folded, `[a]` written `[ a ]`), and a reviewer's diff must show only the change.
 * Comments, order, quoting and the other entries stay byte for byte; a removed entry takes its
 * own comment lines with it.
 *
 * `npm run new` writes new files (lib/scaffold/yaml.ts); these change the ones that exist, and
 * are what the member portal's requests write (lib/portal/request-types.ts). They refuse only
 * what the file itself says is impossible (an unknown site, an alias that exists); every rule
 * of the data is the loader's and the checks' (the caller validates the whole tree afterwards),
 * so no rule is written twice. Refusals carry English and French.
 */

/** A scalar as YAML writes it (plain when that reads back the same, else quoted), on one line. */
const scalar = (v: string | number) => stringify(v, { lineWidth: 0 }).trimEnd();
/** Always double-quoted (hashes, versions: as members/README.md writes them). */
const quoted = (s: string) => JSON.stringify(s);

const range = (n: Node | null | undefined) => {
  const r = n?.range;
  if (!r) throw new Error("yaml node without a source range");
  return r;
};

/** The file's text with replacements at offsets, applied last first. */
class Splice {
  private readonly edits: Array<[number, number, string]> = [];
  constructor(readonly text: string) {}
  replace(start: number, end: number, by: string): this {
    this.edits.push([start, end, by]);
    return this;
  }
  insert(at: number, s: string): this {
    return this.replace(at, at, s);
  }
  toString(): string {
    let out = this.text;
    for (const [s, e, by] of [...this.edits].sort((a, b) => b[0] - a[0])) out = out.slice(0, s) + by + out.slice(e);
    return out;
  }
  /** The node's own text (without what follows it on its line). */
  source(n: Node): string {
    const [s, e] = range(n);
    return this.text.slice(s, e);
  }
  lineStart(off: number): number {
    return this.text.lastIndexOf("\n", off - 1) + 1;
  }
  /** The offset of the line break ending the line of `off` (or the text's end). */
  lineEnd(off: number): number {
    const i = this.text.indexOf("\n", off);
    return i < 0 ? this.text.length : i;
  }
  col(off: number): number {
    return off - this.lineStart(off);
  }
  /** The offset just after the last character of `n` and its line. */
  afterLine(n: Node): number {
    const [s, e] = range(n);
    return this.lineEnd(Math.max(s, e - 1));
  }
}

/** `lines` (the first one after a `- ` or a key) indented to `col` for the others. */
const indentRest = (text: string, col: number) => text.split("\n").join(`\n${" ".repeat(col)}`);

/** A block map as YAML lines (no trailing line break), for a new item of a block sequence. */
function blockMap(pairs: Array<[string, string]>): string {
  return pairs.map(([k, v]) => `${k}: ${v}`).join("\n");
}

/**
 * Appends `item` (its YAML text) to the sequence at `key` of `map` (or of the document when
 * `map` is the root): a flow sequence gets `, item` in its brackets, a block one a `- item`
 * line after its last item at the same indentation; an absent key gets `key:` and the item
 * after the map's last line (`flow`: `key: [item]` on one line).
 */
function append(sp: Splice, map: YAMLMap, key: string, item: string, flow = false): void {
  const seq = map.get(key, true);
  if (isSeq(seq) && seq.items.length > 0) {
    if (seq.flow) {
      const [s, e] = range(seq);
      sp.replace(s, e, `[${[...seq.items.map((x) => sp.source(x as Node)), item].join(", ")}]`);
      return;
    }
    const last = seq.items.at(-1) as Node;
    const dash = sp.col(range(seq.items[0] as Node)[0]) - 2;
    sp.insert(sp.afterLine(last), `\n${" ".repeat(dash)}- ${indentRest(item, dash + 2)}`);
    return;
  }
  const root = map.items[0]?.key as Node | undefined;
  const col = root ? sp.col(range(root)[0]) : 0;
  // Relative to the map's indentation, which indentRest adds below.
  const block = flow ? `${key}: [${item}]` : `${key}:\n  - ${indentRest(item, 4)}`;
  if (seq !== undefined) {
    // `key: []` (or an empty value): the whole pair's line is rewritten.
    const pair = map.items.find((p) => isScalar(p.key) && p.key.value === key) as { key: Node; value: Node | null };
    const start = sp.lineStart(range(pair.key)[0]);
    sp.replace(start, sp.lineEnd(pair.value ? range(pair.value)[0] : range(pair.key)[1]), `${" ".repeat(col)}${indentRest(block, col)}`);
    return;
  }
  const lastPair = map.items.at(-1) as { key: Node; value: Node | null } | undefined;
  if (!lastPair) throw new Error("an empty map: nowhere to add to");
  sp.insert(sp.afterLine(lastPair.value ?? lastPair.key), `\n${" ".repeat(col)}${indentRest(block, col)}`);
}

/** Removes item `i` of the sequence at `key` of `map`; the pair goes when it was the last item. */
function removeItem(sp: Splice, map: YAMLMap, key: string, i: number): void {
  const seq = map.get(key, true) as unknown as YAMLSeq;
  const pair = map.items.find((p) => isScalar(p.key) && p.key.value === key) as { key: Node; value: Node };
  const item = seq.items[i] as Node;
  const wholePair = () => void sp.replace(sp.lineStart(range(pair.key)[0]), sp.afterLine(item) + 1, "");
  if (seq.flow) {
    if (seq.items.length === 1) return void sp.replace(sp.lineStart(range(pair.key)[0]), sp.lineEnd(range(seq)[1] - 1) + 1, "");
    const [s, e] = range(seq);
    sp.replace(s, e, `[${seq.items.filter((_, j) => j !== i).map((x) => sp.source(x as Node)).join(", ")}]`);
    return;
  }
  if (seq.items.length === 1) return wholePair();
  // From the item's dash line, and the comment lines right above it at its indentation.
  const dashLine = sp.lineStart(range(item)[0]);
  const dashCol = sp.col(range(item)[0]) - 2;
  let start = dashLine;
  while (start > 0) {
    const prev = sp.lineStart(start - 1);
    const line = sp.text.slice(prev, start - 1);
    if (!line.trim().startsWith("#") || line.length - line.trimStart().length < dashCol) break;
    start = prev;
  }
  sp.replace(start, sp.afterLine(item) + 1, "");
}

/** Sets `key` of `map` to the scalar text `value`: replaces it, or adds the pair after `after`'s line. */
function setScalar(sp: Splice, map: YAMLMap, key: string, value: string, after: string): void {
  const pair = map.items.find((p) => isScalar(p.key) && p.key.value === key) as { key: Node; value: Node | null } | undefined;
  if (pair?.value) {
    const [s, e] = range(pair.value);
    sp.replace(s, e, value);
    return;
  }
  const anchor = map.items.find((p) => isScalar(p.key) && p.key.value === after) as { key: Node; value: Node | null } | undefined;
  if (!anchor) throw new Error(`no ${after} to put ${key} after`);
  sp.insert(sp.afterLine(anchor.value ?? anchor.key), `\n${" ".repeat(sp.col(range(anchor.key)[0]))}${key}: ${value}`);
}

function parse(text: string): { sp: Splice; root: YAMLMap } {
  const doc = parseDocument(text);
  if (doc.errors.length > 0 || !isMap(doc.contents)) throw new Refusal("the file is not a YAML map: fix it first (npm run validate)", "le fichier n'est pas une table YAML : corrigez-le d'abord (npm run validate)");
  return { sp: new Splice(text), root: doc.contents };
}

function entryBy(seq: unknown, key: string, value: string): YAMLMap | undefined {
  if (!isSeq(seq)) return undefined;
  const e = seq.items.find((x) => isMap(x) && x.get(key) === value);
  return isMap(e) ? e : undefined;
}

function mailDomainOf(root: YAMLMap, domain: string): YAMLMap {
  const entry = entryBy(root.get("mail"), "domain", domain);
  if (!entry) throw new Refusal(`${domain} is not one of the member's mail domains`, `le domaine ${domain} n'est pas un de vos domaines de courriel`);
  return entry;
}

function siteOf(root: YAMLMap, host: string): YAMLMap {
  const entry = entryBy(root.get("sites"), "host", host);
  if (!entry) throw new Refusal(`${host} is not one of the member's sites`, `le site ${host} n'est pas un de vos sites`);
  return entry;
}

const values = (seq: unknown): string[] => (isSeq(seq) ? seq.items.map((x) => String(isScalar(x) ? x.value : "")) : []);

/** Every name a site answers to in the file (main names, aliases, redirects). */
function siteNames(root: YAMLMap): string[] {
  const sites = root.get("sites");
  if (!isSeq(sites)) return [];
  return sites.items.flatMap((s) => (isMap(s) ? [String(s.get("host")), ...values(s.get("aliases")), ...values(s.get("redirects"))] : []));
}

/** One more mail alias (or forward: a target with an @) on one of the member's domains, one `{ … }` line like the example data's. */
export function addMailAlias(text: string, domain: string, local: string, to: string[]): string {
  const { sp, root } = parse(text);
  const entry = mailDomainOf(root, domain);
  if (entryBy(entry.get("aliases"), "local", local)) throw new Refusal(`the alias ${local}@${domain} exists`, `l'alias ${local}@${domain} existe déjà`);
  if (entryBy(entry.get("mailboxes"), "local", local)) throw new Refusal(`${local}@${domain} is a mailbox`, `${local}@${domain} est déjà une boîte`);
  append(sp, entry, "aliases", `{ local: ${scalar(local)}, to: [${to.map(scalar).join(", ")}] }`);
  return sp.toString();
}

export function removeMailAlias(text: string, domain: string, local: string): string {
  const { sp, root } = parse(text);
  const entry = mailDomainOf(root, domain);
  const seq = entry.get("aliases");
  const i = isSeq(seq) ? seq.items.findIndex((x) => isMap(x) && x.get("local") === local) : -1;
  if (i < 0) throw new Refusal(`no alias ${local}@${domain}`, `il n'y a pas d'alias ${local}@${domain}`);
  removeItem(sp, entry, "aliases", i);
  return sp.toString();
}

/** A mailbox with the hash of its password (never the password). */
export function addMailbox(text: string, domain: string, local: string, passwordHash: string, quotaMb?: number): string {
  const { sp, root } = parse(text);
  const entry = mailDomainOf(root, domain);
  if (entryBy(entry.get("mailboxes"), "local", local)) throw new Refusal(`the mailbox ${local}@${domain} exists`, `la boîte ${local}@${domain} existe déjà`);
  if (entryBy(entry.get("aliases"), "local", local)) throw new Refusal(`${local}@${domain} is an alias`, `${local}@${domain} est déjà un alias`);
  append(sp, entry, "mailboxes", blockMap([["local", scalar(local)], ...(quotaMb ? [["quota_mb", String(quotaMb)] as [string, string]] : []), ["password_hash", quoted(passwordHash)]]));
  return sp.toString();
}

/** A new password hash for one of the member's mailboxes: only its `password_hash` value changes. */
export function setMailboxPassword(text: string, domain: string, local: string, passwordHash: string): string {
  const { sp, root } = parse(text);
  const box = entryBy(mailDomainOf(root, domain).get("mailboxes"), "local", local);
  if (!box) throw new Refusal(`${local}@${domain} is not one of the member's mailboxes`, `${local}@${domain} n'est pas une de vos boîtes`);
  setScalar(sp, box, "password_hash", quoted(passwordHash), "local");
  return sp.toString();
}

/** One more name (alias) a site answers to. */
export function addSiteAlias(text: string, host: string, name: string): string {
  const { sp, root } = parse(text);
  const site = siteOf(root, host);
  if (siteNames(root).includes(name)) throw new Refusal(`${name} is already a name of one of the member's sites`, `${name} est déjà un nom d'un de vos sites`);
  append(sp, site, "aliases", scalar(name), true);
  return sp.toString();
}

export function removeSiteAlias(text: string, host: string, name: string): string {
  const { sp, root } = parse(text);
  const site = siteOf(root, host);
  const i = values(site.get("aliases")).indexOf(name);
  if (i < 0) throw new Refusal(`${name} is not an alias of ${host}`, `${name} n'est pas un autre nom de ${host}`);
  removeItem(sp, site, "aliases", i);
  return sp.toString();
}

export function addSite(text: string, host: string, php: string): string {
  const { sp, root } = parse(text);
  if (siteNames(root).includes(host)) throw new Refusal(`${host} is already a name of one of the member's sites`, `${host} est déjà un nom d'un de vos sites`);
  append(sp, root, "sites", blockMap([["host", scalar(host)], ...(php === "none" ? [] : [["php", quoted(php)] as [string, string]])]));
  return sp.toString();
}

export function addDatabase(text: string, name: string): string {
  const { sp, root } = parse(text);
  if (entryBy(root.get("databases"), "name", name)) throw new Refusal(`the database ${name} exists`, `la base ${name} existe déjà`);
  append(sp, root, "databases", `name: ${scalar(name)}`);
  return sp.toString();
}

/** One more public key (one line, as in the .pub file); the schema's own rule checks it when the tree is validated. */
export function addSshKey(text: string, key: string): string {
  const { sp, root } = parse(text);
  const body = (k: string) => k.trim().split(/\s+/).slice(0, 2).join(" ");
  if (values(root.get("ssh_keys")).some((k) => body(k) === body(key))) throw new Refusal("this key is already in the file", "cette clé est déjà dans votre fiche");
  const seq = root.get("ssh_keys", true);
  // `ssh_keys: []` becomes a block list: a key is a long line.
  if (isSeq(seq) && seq.flow && seq.items.length > 0) {
    const keys = [...values(seq), key.trim()];
    const [s, e] = range(seq);
    const col = sp.col(range(root.items[0]?.key as Node)[0]);
    sp.replace(sp.lineStart(s), e, `ssh_keys:\n${keys.map((k) => `${" ".repeat(col + 2)}- ${scalar(k)}`).join("\n")}`);
  } else append(sp, root, "ssh_keys", scalar(key.trim()));
  return sp.toString();
}

/** status: suspended, with the member's reason as the note (an earlier note is kept after it). */
export function suspend(text: string, note: string): string {
  const { sp, root } = parse(text);
  const status = root.get("status");
  if (status !== "active") throw new Refusal(`the account is ${String(status)}, not active`, `le compte n'est pas actif (${String(status)})`);
  setScalar(sp, root, "status", "suspended", "status");
  const before = root.get("note");
  setScalar(sp, root, "note", quoted(typeof before === "string" && before ? `${note} — ${before}` : note), "status");
  return sp.toString();
}

/** A VPS file with new resources (vcpus, memory_mb, disk_gb); the checks judge the hypervisor's room. */
export function resizeVps(text: string, size: Resources): string {
  const { sp, root } = parse(text);
  const same = root.get("vcpus") === size.vcpus && root.get("memory_mb") === size.memoryMb && root.get("disk_gb") === size.diskGb;
  if (same) throw new Refusal("the VPS already has that size", "le VPS a déjà cette taille");
  const disk = root.get("disk_gb");
  // A disk is never shrunk by a change of size (the file system on it would be cut).
  if (typeof disk === "number" && size.diskGb < disk) throw new Refusal(`the disk would shrink from ${disk} GB to ${size.diskGb} GB: a disk only grows`, `le disque passerait de ${disk} Go à ${size.diskGb} Go : un disque ne fait que grandir (choisissez une taille au moins égale)`);
  setScalar(sp, root, "vcpus", String(size.vcpus), "hypervisor");
  setScalar(sp, root, "memory_mb", String(size.memoryMb), "vcpus");
  setScalar(sp, root, "disk_gb", String(size.diskGb), "memory_mb");
  return sp.toString();
}
