import { isMap, isSeq, parseDocument, type Document, YAMLMap, YAMLSeq } from "yaml";
import type { Resources } from "./hypervisor";
import { Refusal } from "./plan";

/**
 * Edits of an existing member file (members/<handle>/member.yaml) or VPS file, as text in, text
 * out: the `yaml` library's document keeps the comments, the order and the other entries as they
 * are, so a reviewer's diff shows only the change. `npm run new` writes new files
 * (lib/scaffold/yaml.ts); these change the ones that exist, and are what the member portal's
 * requests write (lib/portal/request-types.ts). They refuse only what the text itself says is
 * impossible (an unknown site, an alias that exists); every rule of the data is the loader's
 * and the checks' (the caller validates the whole tree afterwards), so no rule is written twice.
 * Refusals carry English and French.
 */

const doc = (text: string) => parseDocument(text);

/** The sequence at `key` of `map`, made (block style) when absent. */
function seqOf(d: Document, map: YAMLMap | Document, key: string): YAMLSeq {
  const cur = map.get(key);
  if (isSeq(cur)) return cur;
  const seq = new YAMLSeq();
  map.set(key, seq);
  void d;
  return seq;
}

/** A one-line `{ … }` entry, like the example data's aliases. */
function flowNode(d: Document, value: object): YAMLMap {
  const n = d.createNode(value) as YAMLMap;
  n.flow = true;
  return n;
}

function entryBy(seq: unknown, key: string, value: string): YAMLMap | undefined {
  if (!isSeq(seq)) return undefined;
  const e = seq.items.find((x) => isMap(x) && x.get(key) === value);
  return isMap(e) ? e : undefined;
}

function mailDomainOf(d: Document, domain: string): YAMLMap {
  const entry = entryBy(d.get("mail"), "domain", domain);
  if (!entry) throw new Refusal(`${domain} is not one of the member's mail domains`, `le domaine ${domain} n'est pas un de vos domaines de courriel`);
  return entry;
}

function siteOf(d: Document, host: string): YAMLMap {
  const entry = entryBy(d.get("sites"), "host", host);
  if (!entry) throw new Refusal(`${host} is not one of the member's sites`, `le site ${host} n'est pas un de vos sites`);
  return entry;
}

/** Every name a site answers to in the file (main names, aliases, redirects). */
function siteNames(d: Document): string[] {
  const sites = d.get("sites");
  if (!isSeq(sites)) return [];
  return sites.items.flatMap((s) => {
    if (!isMap(s)) return [];
    const list = (k: string) => {
      const v = s.get(k);
      return isSeq(v) ? v.items.map((x) => String(isMap(x) ? "" : ((x as { value?: unknown }).value ?? x))) : [];
    };
    return [String(s.get("host")), ...list("aliases"), ...list("redirects")];
  });
}

/** One more mail alias (or forward: a target with an @) on one of the member's domains. */
export function addMailAlias(text: string, domain: string, local: string, to: string[]): string {
  const d = doc(text);
  const entry = mailDomainOf(d, domain);
  const seq = seqOf(d, entry, "aliases");
  if (entryBy(seq, "local", local)) throw new Refusal(`the alias ${local}@${domain} exists`, `l'alias ${local}@${domain} existe déjà`);
  if (entryBy(entry.get("mailboxes"), "local", local)) throw new Refusal(`${local}@${domain} is a mailbox`, `${local}@${domain} est déjà une boîte`);
  seq.items.push(flowNode(d, { local, to }));
  return d.toString();
}

export function removeMailAlias(text: string, domain: string, local: string): string {
  const d = doc(text);
  const seq = mailDomainOf(d, domain).get("aliases");
  const entry = entryBy(seq, "local", local);
  if (!entry || !isSeq(seq)) throw new Refusal(`no alias ${local}@${domain}`, `il n'y a pas d'alias ${local}@${domain}`);
  seq.items.splice(seq.items.indexOf(entry), 1);
  return d.toString();
}

/** A mailbox with the hash of its password (never the password). */
export function addMailbox(text: string, domain: string, local: string, passwordHash: string, quotaMb?: number): string {
  const d = doc(text);
  const entry = mailDomainOf(d, domain);
  const seq = seqOf(d, entry, "mailboxes");
  if (entryBy(seq, "local", local)) throw new Refusal(`the mailbox ${local}@${domain} exists`, `la boîte ${local}@${domain} existe déjà`);
  if (entryBy(entry.get("aliases"), "local", local)) throw new Refusal(`${local}@${domain} is an alias`, `${local}@${domain} est déjà un alias`);
  const box = d.createNode({ local, ...(quotaMb ? { quota_mb: quotaMb } : {}), password_hash: passwordHash }) as YAMLMap;
  // The hash holds `$` and `{`: always quoted, as members/README.md writes it.
  const hash = box.get("password_hash", true) as { type?: string };
  hash.type = "QUOTE_DOUBLE";
  seq.items.push(box);
  return d.toString();
}

/** One more name (alias) a site answers to. */
export function addSiteAlias(text: string, host: string, name: string): string {
  const d = doc(text);
  const site = siteOf(d, host);
  if (siteNames(d).includes(name)) throw new Refusal(`${name} is already a name of one of the member's sites`, `${name} est déjà un nom d'un de vos sites`);
  const seq = site.get("aliases");
  if (isSeq(seq)) seq.items.push(d.createNode(name));
  else {
    const s = d.createNode([name]) as YAMLSeq;
    s.flow = true;
    site.set("aliases", s);
  }
  return d.toString();
}

export function removeSiteAlias(text: string, host: string, name: string): string {
  const d = doc(text);
  const site = siteOf(d, host);
  const seq = site.get("aliases");
  const i = isSeq(seq) ? seq.items.findIndex((x) => String((x as { value?: unknown }).value ?? x) === name) : -1;
  if (!isSeq(seq) || i < 0) throw new Refusal(`${name} is not an alias of ${host}`, `${name} n'est pas un autre nom de ${host}`);
  seq.items.splice(i, 1);
  if (seq.items.length === 0) site.delete("aliases");
  return d.toString();
}

export function addSite(text: string, host: string, php: string): string {
  const d = doc(text);
  if (siteNames(d).includes(host)) throw new Refusal(`${host} is already a name of one of the member's sites`, `${host} est déjà un nom d'un de vos sites`);
  const node = d.createNode({ host, ...(php === "none" ? {} : { php }) }) as YAMLMap;
  if (php !== "none") (node.get("php", true) as { type?: string }).type = "QUOTE_DOUBLE";
  seqOf(d, d, "sites").items.push(node);
  return d.toString();
}

export function addDatabase(text: string, name: string): string {
  const d = doc(text);
  const seq = seqOf(d, d, "databases");
  if (entryBy(seq, "name", name)) throw new Refusal(`the database ${name} exists`, `la base ${name} existe déjà`);
  seq.items.push(d.createNode({ name }));
  return d.toString();
}

/** One more public key; the key is checked by the schema's own rule when the tree is validated. */
export function addSshKey(text: string, key: string): string {
  const d = doc(text);
  const seq = seqOf(d, d, "ssh_keys");
  const body = (k: string) => k.trim().split(/\s+/).slice(0, 2).join(" ");
  if (seq.items.some((x) => body(String((x as { value?: unknown }).value ?? x)) === body(key))) throw new Refusal("this key is already in the file", "cette clé est déjà dans votre fiche");
  seq.flow = false;
  seq.items.push(d.createNode(key.trim()));
  return d.toString();
}

/** status: suspended, with the member's reason as the note (an earlier note is kept after it). */
export function suspend(text: string, note: string): string {
  const d = doc(text);
  if (d.get("status") !== "active") throw new Refusal(`the account is ${String(d.get("status"))}, not active`, `le compte n'est pas actif (${String(d.get("status"))})`);
  d.set("status", "suspended");
  const before = d.get("note");
  d.set("note", typeof before === "string" && before ? `${note} — ${before}` : note);
  return d.toString();
}

/** A VPS file with new resources (vcpus, memory_mb, disk_gb); the checks judge the hypervisor's room and a disk that would shrink. */
export function resizeVps(text: string, size: Resources): string {
  const d = doc(text);
  const same = d.get("vcpus") === size.vcpus && d.get("memory_mb") === size.memoryMb && d.get("disk_gb") === size.diskGb;
  if (same) throw new Refusal("the VPS already has that size", "le VPS a déjà cette taille");
  const disk = d.get("disk_gb");
  // A disk is never shrunk by a change of size (the file system on it would be cut).
  if (typeof disk === "number" && size.diskGb < disk) throw new Refusal(`the disk would shrink from ${disk} GB to ${size.diskGb} GB: a disk only grows`, `le disque passerait de ${disk} Go à ${size.diskGb} Go : un disque ne fait que grandir (choisissez une taille au moins égale)`);
  d.set("vcpus", size.vcpus);
  d.set("memory_mb", size.memoryMb);
  d.set("disk_gb", size.diskGb);
  return d.toString();
}
