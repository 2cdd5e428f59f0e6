import { changedKeys, type ResourceType } from "../types";
import { redact, run } from "../ssh/remote";
import { tarOf } from "../ssh/tar";
import { FILE_SET_SCRIPT } from "./file-set-script";
import { checkInputs, parseInputs, sortedRecord, type FileSetInputs, type FileSetOutputs } from "./file-set-inputs";
import { generationOf, generationOfHashes, isZoneFile, planSerials, serialAfter, serialsOverLive, sha256Hex, substituteSerials } from "./file-set-serials";

export type { FileSetInputs, FileSetKind, FileSetOutputs } from "./file-set-inputs";
export { liveRoot } from "./file-set-inputs";

/**
 * globenet:files:FileSet — the config files of one daemon on one host, applied as a whole.
 *
 * The live root of each kind (apache2 /etc/apache2/globenet, php-fpm /etc/php/<v>/fpm/globenet,
 * bind-* /var/lib/bind/globenet, www /var/www/globenet-suspended) is a symlink to
 * `<root>.d/<generation>`. Apply = extract the tar into a staging dir, run the daemon's own
 * check on it, swap the symlink atomically, wire the daemon's include (once), reload once,
 * keep the previous generation. A rejected set never reaches the live config. All remote work
 * is one constant script (file-set-script.ts), which says what each step does.
 */

function idOf(i: FileSetInputs): string {
  return [i.target.name, i.kind, ...(i.phpVersion ? [i.phpVersion] : [])].join(":");
}

function scriptArgs(i: Pick<FileSetInputs, "kind" | "phpVersion">, action: string, ...more: string[]): string[] {
  return [action, i.kind, i.phpVersion ?? "", ...more];
}

/** Applies `files` (serials already substituted) to the host; returns the generation. */
async function apply(i: FileSetInputs, files: Record<string, string>): Promise<string> {
  const generation = generationOf(files);
  const r = await run(i.target, FILE_SET_SCRIPT, { args: scriptArgs(i, "apply", generation), stdin: await tarOf(files), check: false, timeoutMs: 300_000 });
  if (r.code !== 0) {
    const what = r.code === 3 ? "rejected, the live files are untouched" : r.code === 4 ? "in place but the reload failed" : `failed (exit ${r.code})`;
    throw new Error(`${i.target.name}: ${i.kind} file set ${what}:\n${redact((r.stderr || r.stdout).trim())}`);
  }
  return generation;
}

interface LiveListing {
  /** Relative path → sha256 of the live file. */
  hashes: Record<string, string>;
}

async function listLive(i: FileSetInputs): Promise<LiveListing | undefined> {
  const r = await run(i.target, FILE_SET_SCRIPT, { args: scriptArgs(i, "read"), what: `reading the ${i.kind} file set` });
  if (!r.stdout.startsWith("present\n")) return undefined;
  const hashes: Record<string, string> = {};
  for (const rec of r.stdout.slice("present\n".length).split("\0")) {
    const sp = rec.indexOf(" ");
    if (sp > 0) hashes[rec.slice(sp + 1)] = rec.slice(0, sp);
  }
  return { hashes };
}

async function fetchLive(i: FileSetInputs, paths: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  if (paths.length === 0) return out;
  const r = await run(i.target, FILE_SET_SCRIPT, { args: scriptArgs(i, "fetch", "-", ...paths), what: `reading ${paths.length} live file(s) of the ${i.kind} file set` });
  const parts = r.stdout.split("\0");
  for (let k = 0; k + 1 < parts.length; k += 2) out[parts[k] as string] = Buffer.from(parts[k + 1] as string, "base64").toString("utf8");
  return out;
}

/** The serial a zone file's SOA carries, as rendered (`<serial> ; serial`). */
function serialIn(content: string): number | undefined {
  const m = /^\s*(\d{1,10})\s*;\s*serial\b/m.exec(content);
  const n = m ? Number(m[1]) : NaN;
  return Number.isInteger(n) && n <= 0xffffffff ? n : undefined;
}

/** Serials at create: today's YYYYMMDD01, but never behind what the host already serves. */
async function createSerials(i: FileSetInputs, now: Date): Promise<Record<string, number>> {
  const zones = Object.keys(i.files).filter(isZoneFile);
  if (zones.length === 0) return {};
  const listing = await listLive(i);
  const present = listing ? zones.filter((z) => listing.hashes[z] !== undefined) : [];
  const live = await fetchLive(i, present);
  const liveSerials: Record<string, number> = {};
  for (const [p, c] of Object.entries(live)) {
    const s = serialIn(c);
    if (s !== undefined) liveSerials[p] = s;
  }
  return serialsOverLive(i.files, live, liveSerials, now);
}

export const fileSetType: ResourceType<FileSetInputs, FileSetOutputs> = {
  check(news) {
    const r = checkInputs(news);
    return r.failures.length > 0 ? { failures: r.failures } : { inputs: r.inputs };
  },

  diff(_id, olds, news) {
    const pick = (o: Partial<FileSetInputs>) => ({ target: o.target, kind: o.kind, phpVersion: o.phpVersion ?? undefined, files: o.files ?? {} });
    const changed = changedKeys(pick(olds), pick(news));
    const replaces: string[] = [];
    if (changed.includes("kind")) replaces.push("kind");
    if (changed.includes("phpVersion")) replaces.push("phpVersion");
    if (olds.target?.address !== news.target?.address || olds.target?.port !== news.target?.port) replaces.push("target");
    // Two sets of one host can share a root (bind-primary/secondary; the same host reached on
    // another port): the old one must go before the new one is made, or its delete would
    // remove the new files.
    return { changes: changed.length > 0, replaces, deleteBeforeReplace: replaces.length > 0 };
  },

  async create(raw) {
    const inputs = parseInputs(raw as unknown as Record<string, unknown>);
    const serials = inputs.kind === "bind-primary" ? await createSerials(inputs, new Date()) : {};
    const generation = await apply(inputs, substituteSerials(inputs.files, serials));
    return { id: idOf(inputs), outs: { ...inputs, serials, generation } };
  },

  async read(_id, props) {
    const stored = sortedRecord(props.files ?? {});
    const storedSerials = props.serials ?? {};
    const listing = await listLive(props);
    if (!listing) return undefined;
    const expected = substituteSerials(stored, storedSerials);
    const files: Record<string, string> = {};
    const differ: string[] = [];
    for (const [path, hash] of Object.entries(listing.hashes)) {
      const want = expected[path];
      if (want !== undefined && sha256Hex(want) === hash && stored[path] !== undefined) files[path] = stored[path];
      else differ.push(path);
    }
    const live = await fetchLive(props, differ);
    Object.assign(files, live);
    const serials: Record<string, number> = {};
    for (const path of Object.keys(files).filter(isZoneFile)) {
      const old = storedSerials[path];
      const seen = path in live ? serialIn(files[path] as string) : undefined;
      // A hand edit that raised the serial: remember it, so the next one goes past it.
      const s = seen !== undefined && (old === undefined || serialAfter(seen, old)) ? seen : old;
      if (s !== undefined) serials[path] = s;
    }
    return { ...props, files: sortedRecord(files), serials: props.kind === "bind-primary" ? serials : {}, generation: generationOfHashes(listing.hashes) };
  },

  async update(_id, olds, raw) {
    const inputs = parseInputs(raw as unknown as Record<string, unknown>);
    const serials =
      inputs.kind === "bind-primary"
        ? planSerials(inputs.files, new Date(), olds.kind === "bind-primary" ? { files: olds.files ?? {}, serials: olds.serials ?? {} } : undefined)
        : {};
    const generation = await apply(inputs, substituteSerials(inputs.files, serials));
    return { ...inputs, serials, generation };
  },

  async delete(_id, props) {
    await run(props.target, FILE_SET_SCRIPT, { args: scriptArgs(props, "delete"), what: `removing the ${props.kind} file set`, timeoutMs: 300_000 });
  },
};
