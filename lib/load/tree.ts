import { closeSync, constants, existsSync, fstatSync, openSync, readdirSync, readFileSync, statSync, type Dirent } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { inventorySchema, INVENTORY_KEY, STACK_SECRETS, type Inventory } from "../schema/inventory";
import { memberSchema, type Member } from "../schema/member";
import { vpsSchema, type Vps } from "../schema/vps";
import { zoneSchema, type Zone } from "../schema/zone";
import { hostnameProblem, vpsNameProblem } from "../schema/names";
import type { Diagnostic } from "./diagnostic";
import { cachedYamlFile, locate, MAX_FILE_BYTES, parseYamlFile, releaseSyntax, type YamlFile } from "./yaml-file";
import { bytesSha, readLoadCache, schemaFingerprint, writeLoadCache, type LoadCacheEntries, type LoadCacheOptions } from "./load-cache";
import { issuesToDiagnostics } from "./zod-issues";
import { decodeDataFile, excerptAt } from "./text-file";
import { topLevelProblem } from "./whole-file";
import { importTodos } from "./import-todos";

export interface Sourced<T> {
  value: T;
  src: YamlFile;
  /** Where the value sits inside the file (empty for a whole file). */
  at: ReadonlyArray<string | number>;
}

export interface LoadedMember extends Sourced<Member> {
  vps: Map<string, Sourced<Vps>>;
}

export interface LoadedTree {
  root: string;
  stack: string;
  inventory?: Sourced<Inventory>;
  members: Map<string, LoadedMember>;
  zones: Map<string, Sourced<Zone>>;
  /** Member folders and zone files that exist but failed to load: other checks stay quiet about them. */
  broken: { members: Set<string>; zones: Set<string> };
  /** Data files changed against the base (git), when the caller knows them: duplicates are blamed on these. */
  changed?: ReadonlySet<string>;
}

const NAME_RE = /^[a-z0-9][a-z0-9._-]*$/;

function fileError(file: string, message: string, line = 0, col = 0): Diagnostic {
  return { file, line, col, field: "", message };
}

/** A data file's bytes: one open, then the open file's own stat and its bytes. */
function readBytes(root: string, rel: string, errors: Diagnostic[]): Buffer | undefined {
  const abs = join(root, rel);
  // One open, then the open file's own stat and its bytes: what a stat of the path and a read
  // did, without resolving the path twice (21,000 files at issue 24's size). O_NONBLOCK: a
  // FIFO planted as a data file is refused below instead of waiting for a writer.
  let fd: number;
  try {
    fd = openSync(abs, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    errors.push(fileError(rel, `cannot be read: ${(e as NodeJS.ErrnoException).code ?? "error"} (check it exists and is readable)`));
    return undefined;
  }
  let bytes: Buffer;
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      errors.push(fileError(rel, "is not a regular file (replace it with a plain YAML file)"));
      return undefined;
    }
    if (st.size > MAX_FILE_BYTES) {
      errors.push(fileError(rel, `file is ${st.size} bytes, over the ${MAX_FILE_BYTES}-byte limit (a data file is a few kilobytes; split it or remove what does not belong)`));
      return undefined;
    }
    bytes = readFileSync(fd);
  } finally {
    closeSync(fd);
  }
  return bytes;
}

function readData(root: string, rel: string, errors: Diagnostic[], read?: Buffer): YamlFile | undefined {
  const bytes = read ?? readBytes(root, rel, errors);
  if (!bytes) return undefined;
  const { text, error } = decodeDataFile(rel, bytes);
  if (text === undefined) {
    if (error) errors.push(error);
    return undefined;
  }
  const { yf, errors: e } = parseYamlFile(rel, text);
  // What the parser or the text checks found: shown with the line and a caret under the column.
  errors.push(...e.map((d) => (d.line > 0 && !d.field && !d.excerpt ? { ...d, excerpt: excerptAt(text, d.line, d.col) } : d)));
  // An imported file is data only once a volunteer has resolved every guess the import marked.
  errors.push(...importTodos(rel, text));
  const top = yf && topLevelProblem(yf, text);
  if (top) {
    errors.push(top);
    return undefined;
  }
  return yf;
}

function parseWith<S extends z.ZodType>(schema: S, yf: YamlFile, data: unknown, prefix: ReadonlyArray<string | number>, errors: Diagnostic[]): z.infer<S> | undefined {
  const r = schema.safeParse(data);
  // The checks use the schema's values; the file's tree and raw values are read again only
  // if a message must point into the file.
  if (r.success) {
    if (data === yf.data) releaseSyntax(yf);
    return r.data;
  }
  errors.push(...issuesToDiagnostics(yf, r.error.issues, prefix, schema, data));
  return undefined;
}

/** The load cache of one run (lib/load/load-cache.ts): the values recorded, and those this run found. */
interface CacheRun {
  old: LoadCacheEntries;
  seen: LoadCacheEntries;
  /** Whether `seen` holds a value `old` did not (a file parsed and checked this run). */
  added: boolean;
  counts: { parsed: number; cached: number };
}

/**
 * A member, VPS or zone file's schema value: from the load cache when its bytes hash as
 * recorded, else read the long way (parse, text checks, schema) and recorded when that found
 * nothing to say. A cached file's text is kept: a message pointing into it parses it again.
 */
function loadValue<S extends z.ZodType>(root: string, rel: string, schema: S, errors: Diagnostic[], cache: CacheRun | undefined): { yf?: YamlFile; value?: z.infer<S> } {
  if (!cache) {
    const yf = readData(root, rel, errors);
    return { yf, value: yf && parseWith(schema, yf, yf.data, [], errors) };
  }
  const bytes = readBytes(root, rel, errors);
  if (!bytes) return {};
  const sha = bytesSha(bytes);
  const hit = cache.old[rel];
  if (hit && hit[0] === sha) {
    cache.seen[rel] = hit;
    cache.counts.cached++;
    // The bytes are those that passed decodeDataFile when recorded: valid UTF-8.
    return { yf: cachedYamlFile(rel, bytes.toString("utf8")), value: hit[1] as z.infer<S> };
  }
  cache.counts.parsed++;
  const before = errors.length;
  const yf = readData(root, rel, errors, bytes);
  const value = yf && parseWith(schema, yf, yf.data, [], errors);
  // Only a file that loaded without any message: an error is never taken for a value.
  if (value !== undefined && errors.length === before) {
    cache.seen[rel] = [sha, value];
    cache.added = true;
  }
  return { yf, value };
}

function startCache(root: string, stack: string, opts: LoadCacheOptions | undefined): CacheRun | undefined {
  const fingerprint = opts && (opts.fingerprint ?? schemaFingerprint());
  if (!opts || !fingerprint) return undefined;
  return { old: readLoadCache(root, stack, opts.key, fingerprint) ?? {}, seen: {}, added: false, counts: opts.counts ?? { parsed: 0, cached: 0 } };
}

/** Writes the run's values when they differ from those read (a part keeps the others' entries). */
function endCache(root: string, stack: string, opts: LoadCacheOptions, cache: CacheRun, part: boolean): void {
  if (part) for (const [rel, e] of Object.entries(cache.old)) cache.seen[rel] ??= e;
  if (!cache.added && Object.keys(cache.seen).length === Object.keys(cache.old).length) return;
  try {
    writeLoadCache(root, stack, cache.seen, opts.key, opts.fingerprint ?? (schemaFingerprint() as string));
  } catch {
    // A read-only checkout: the next run parses every file again.
  }
}

function listDir(root: string, rel: string): string[] {
  return entriesOf(root, rel).map((d) => d.name);
}

/**
 * A folder's entries with their types, sorted by name; none when it does not exist. One
 * readdir per folder gives what a stat per entry would: only symbolic links need one more.
 */
function entriesOf(root: string, rel: string): Dirent[] {
  const abs = join(root, rel);
  let list: Dirent[];
  try {
    list = readdirSync(abs, { withFileTypes: true });
  } catch (e) {
    if (!existsSync(abs)) return [];
    throw e;
  }
  return list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function isDir(root: string, rel: string): boolean {
  try {
    return statSync(join(root, rel)).isDirectory();
  } catch {
    return false;
  }
}

/** As isDir, from the folder's entry: a link is followed as stat would. */
function entryIsDir(root: string, rel: string, d: Dirent): boolean {
  return d.isSymbolicLink() ? isDir(root, rel) : d.isDirectory();
}

/** As existsSync, from the folder's entry (undefined: not listed). */
function entryExists(root: string, rel: string, d: Dirent | undefined): boolean {
  return d === undefined ? false : d.isSymbolicLink() ? existsSync(join(root, rel)) : true;
}

/**
 * A part of the tree (a shard's program, docs/architecture.md "Sharded stacks"): the inventory,
 * the member folders named here and no zone. Only for data the whole of which has passed
 * validation (lib/check/shard-index.ts): the checks across files are not run on a part.
 */
export interface TreePart {
  members: ReadonlySet<string>;
}

/**
 * Reads every data file under `root` for `stack` (or `part` of them); never throws on bad
 * data, collects diagnostics instead. With `cache` (the stack's passphrase), member, VPS and
 * zone files whose bytes are those of a previous run's valid file take its recorded value
 * (lib/load/load-cache.ts); the diagnostics are the same, cache or not.
 */
export function loadTree(root: string, stack: string, part?: TreePart, cacheOpts?: LoadCacheOptions): { tree: LoadedTree; errors: Diagnostic[] } {
  const errors: Diagnostic[] = [];
  const cache = startCache(root, stack, cacheOpts);
  const tree: LoadedTree = { root, stack, members: new Map(), zones: new Map(), broken: { members: new Set(), zones: new Set() } };

  // Inventory, from the Pulumi stack file.
  const stackFile = `Pulumi.${stack}.yaml`;
  if (!existsSync(join(root, stackFile))) {
    errors.push(fileError(stackFile, `is missing: the stack "${stack}" has no inventory (create ${stackFile}, or pick another stack with --stack)`));
  } else {
    const yf = readData(root, stackFile, errors);
    if (yf) {
      const cfg = (yf.data as { config?: Record<string, unknown> } | null)?.config;
      if (!cfg || typeof cfg !== "object" || !(INVENTORY_KEY in cfg)) {
        const p = locate(yf, ["config"]);
        errors.push({ file: stackFile, line: p.line, col: p.col, field: "config", message: `has no "${INVENTORY_KEY}" key (add the inventory: hosts, pools, images; see docs/architecture.md)` });
      } else {
        for (const key of Object.keys(cfg)) {
          if (!key.startsWith("globenet-infra:") || key === INVENTORY_KEY) continue;
          const p = locate(yf, ["config", key], true);
          const secret = Object.hasOwn(STACK_SECRETS, key.slice("globenet-infra:".length));
          const value = cfg[key] as { secure?: unknown } | null;
          if (!secret) {
            errors.push({ file: stackFile, line: p.line, col: p.col, field: `config.${key}`, message: `unknown key (check the spelling; the stack's secrets: ${Object.keys(STACK_SECRETS).join(", ")})` });
          } else if (typeof value !== "object" || value === null || typeof value.secure !== "string" || Object.keys(value).length !== 1) {
            // A secret typed in clear is in git already: say so, and how to set it encrypted.
            errors.push({ file: stackFile, line: p.line, col: p.col, field: `config.${key}`, message: `is a secret and is written in clear: remove it, rotate it, and set it encrypted (pulumi config set --secret ${key.slice("globenet-infra:".length)} --stack ${stack}, with no value: it asks for it)` });
          }
        }
        const at = ["config", INVENTORY_KEY];
        const value = parseWith(inventorySchema, yf, cfg[INVENTORY_KEY], at, errors);
        if (value) tree.inventory = { value, src: yf, at };
      }
    }
  }

  // Members: members/<handle>/member.yaml and members/<handle>/vps/<name>.yaml.
  for (const dirent of entriesOf(root, "members")) {
    const entry = dirent.name;
    const rel = `members/${entry}`;
    if (!entryIsDir(root, rel, dirent)) {
      if (!/\.(md|txt)$/i.test(entry)) errors.push(fileError(rel, "unexpected file (a member is a folder members/<handle>/ holding member.yaml)"));
      continue;
    }
    if (entry.startsWith(".") || (part && !part.members.has(entry))) continue;
    const memberRel = `${rel}/member.yaml`;
    const inside = entriesOf(root, rel);
    for (const { name: f } of inside) {
      if (f !== "member.yaml" && f !== "vps" && !/\.(md|txt)$/i.test(f) && !f.startsWith(".")) {
        errors.push(fileError(`${rel}/${f}`, `unexpected file (a member folder holds member.yaml and vps/${f.endsWith(".yml") ? "; rename .yml to member.yaml" : ""})`));
      }
    }
    if (!entryExists(root, memberRel, inside.find((d) => d.name === "member.yaml"))) {
      errors.push(fileError(memberRel, "is missing (every member folder needs member.yaml; see members/README.md)"));
      tree.broken.members.add(entry);
      continue;
    }
    const { yf, value: member } = loadValue(root, memberRel, memberSchema, errors, cache);
    if (!yf || !member) {
      tree.broken.members.add(entry);
      continue;
    }
    if (member.handle !== entry) {
      const p = locate(yf, ["handle"]);
      errors.push({ file: memberRel, line: p.line, col: p.col, field: "handle", message: `"${member.handle}" does not match the folder name "${entry}" (the handle never changes: rename neither, or ask the hosting team to migrate)` });
      tree.broken.members.add(entry);
      continue;
    }
    const loaded: LoadedMember = { value: member, src: yf, at: [], vps: new Map() };
    tree.members.set(member.handle, loaded);
    const vpsDir = `${rel}/vps`;
    const vpsEntry = inside.find((d) => d.name === "vps");
    if (entryExists(root, vpsDir, vpsEntry) && !entryIsDir(root, vpsDir, vpsEntry as Dirent)) {
      errors.push(fileError(vpsDir, "must be a folder holding one <name>.yaml per VPS"));
      continue;
    }
    for (const f of vpsEntry ? listDir(root, vpsDir) : []) {
      const vrel = `${vpsDir}/${f}`;
      const m = /^(.*)\.yaml$/.exec(f);
      if (!m) {
        if (!/\.(md|txt)$/i.test(f) && !f.startsWith(".")) errors.push(fileError(vrel, `unexpected file (a VPS is vps/<name>.yaml${f.endsWith(".yml") ? "; rename .yml to .yaml" : ""})`));
        continue;
      }
      const name = m[1] as string;
      if (vpsNameProblem(name)) {
        errors.push(fileError(vrel, 'has an invalid VPS name (the file name is the VPS name: 2-32 characters, lowercase letters, digits and single hyphens, like "atelier.yaml")'));
        continue;
      }
      const { yf: vyf, value: vps } = loadValue(root, vrel, vpsSchema, errors, cache);
      if (vyf && vps) loaded.vps.set(name, { value: vps, src: vyf, at: [] });
    }
  }

  // Zones: zones/<domain>.yaml, forward or reverse.
  for (const f of part ? [] : listDir(root, "zones")) {
    const rel = `zones/${f}`;
    const m = /^(.*)\.yaml$/.exec(f);
    if (!m) {
      if (!/\.(md|txt)$/i.test(f) && !f.startsWith(".")) errors.push(fileError(rel, `unexpected file (a zone is zones/<domain>.yaml${f.endsWith(".yml") ? "; rename .yml to .yaml" : ""})`));
      continue;
    }
    const name = m[1] as string;
    const problem = NAME_RE.test(name) ? zoneNameProblem(name) : "is not a lowercase domain name";
    if (problem) {
      errors.push(fileError(rel, `has a file name that ${problem} (the file name is the zone: zones/velo-libre.example.yaml, or zones/113.0.203.in-addr.arpa.yaml for reverse)`));
      continue;
    }
    const { yf, value: zone } = loadValue(root, rel, zoneSchema, errors, cache);
    if (yf && zone) tree.zones.set(name, { value: zone, src: yf, at: [] });
    else tree.broken.zones.add(name);
  }
  if (cache && cacheOpts) endCache(root, stack, cacheOpts, cache, !!part);
  return { tree, errors };
}

/** Zone names: host names, plus reverse zones whose labels are numbers or nibbles. */
export function zoneNameProblem(name: string): string | undefined {
  if (name.endsWith(".in-addr.arpa")) {
    const labels = name.slice(0, -".in-addr.arpa".length).split(".");
    if (labels.length < 1 || labels.length > 3 || labels.some((l) => !/^(0|[1-9][0-9]{0,2})$/.test(l) || Number(l) > 255)) {
      return "is not an IPv4 reverse zone (write the /8, /16 or /24 network's octets reversed, like 113.0.203.in-addr.arpa)";
    }
    return undefined;
  }
  if (name.endsWith(".ip6.arpa")) {
    const labels = name.slice(0, -".ip6.arpa".length).split(".");
    if (labels.length < 1 || labels.length > 31 || labels.some((l) => !/^[0-9a-f]$/.test(l))) {
      return "is not an IPv6 reverse zone (write the prefix's nibbles reversed, like 2.4.0.0.8.b.d.0.1.0.0.2.ip6.arpa)";
    }
    return undefined;
  }
  const p = hostnameProblem(name);
  return p ? p.replace(/ \(.*\)$/, "") : undefined;
}
