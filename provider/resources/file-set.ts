import { changedKeys, type ResourceType } from "../types";
import { redact, run } from "../ssh/remote";
import { tarOf } from "../ssh/tar";
import { MD_RELOAD_PATH_UNIT, MD_RELOAD_SERVICE_UNIT, MD_RELOAD_UNIT } from "../../lib/render/md-reload";
import { loadScript } from "../scripts/load";
import { checkInputs, parseInputs, sortedRecord, type FileSetEngineInputs, type FileSetInputs, type FileSetOutputs } from "./file-set-inputs";
import { generationOfHashes, hashesOf, isZoneFile, planSerials, serialAfter, servedHashes, serialsOverLive, substituteSerials, tokenDigestOf } from "./file-set-serials";
import { isRecord } from "../../lib/base/record";
import { isRef, loadManifest, loadRef, storeManifest } from "./file-store";
import { mpmSwitchNeeded, normaliseMpm, WIRED_MPM } from "./apache-mpm";
import { carryServedSerials, parseApacheS, planApacheTakeover, planBindTakeover, planFpmTakeover, planMdSeeds, planSecondaryCopies, servedSerialOf, type TakeoverKind } from "./takeover";

export type { FileSetEngineInputs, FileSetInputs, FileSetKind, FileSetOutputs } from "./file-set-inputs";
export { liveRoot } from "./file-set-inputs";

/**
 * globenet:files:FileSet — the config files of one daemon on one host, applied as a whole.
 *
 * The live root of each kind (apache2 /etc/apache2/globenet, php-fpm /etc/php/<v>/fpm/globenet,
 * bind-* /etc/bind/globenet, www /var/www/globenet-suspended) is a symlink to
 * `<root>.d/<generation>`. Apply = extract the tar into a staging dir, run the daemon's own
 * check on it, swap the symlink atomically, wire the daemon's include (once), reload once,
 * keep the previous generation. A rejected set never reaches the live config. All remote work
 * is one constant script (provider/scripts/file-set/file-set.sh), which says what each step does.
 */
const SCRIPT = loadScript("file-set/file-set.sh");

/** Which set on which host: what the remote script needs besides the files. */
type Where = Pick<FileSetInputs, "target" | "kind" | "phpVersion" | "part">;

function idOf(i: FileSetInputs): string {
  return [i.target.name, i.kind, ...(i.phpVersion ? [i.phpVersion] : []), ...(i.part ? [i.part] : [])].join(":");
}

/** The set as messages name it: "apache2 file set", "apache2 file set of part b0". */
function setName(i: Pick<Where, "kind" | "part">): string {
  return `${i.kind} file set${i.part ? ` of part ${i.part}` : ""}`;
}

/** The inputs that say which set on which host, as the state keeps them. */
function whereOf(i: Where): Where {
  return { target: i.target, kind: i.kind, ...(i.phpVersion ? { phpVersion: i.phpVersion } : {}), ...(i.part ? { part: i.part } : {}) };
}

/** The script's arguments (see provider/scripts/file-set/file-set.sh): the set, then the md-reload units, then paths. */
function scriptArgs(i: Pick<FileSetInputs, "kind" | "phpVersion" | "part">, action: string, generation = "", ...paths: string[]): string[] {
  return [action, i.kind, i.phpVersion ?? "", generation, MD_RELOAD_UNIT, MD_RELOAD_PATH_UNIT.trimEnd(), MD_RELOAD_SERVICE_UNIT.trimEnd(), i.part ?? "", ...paths];
}

/**
 * The command that runs apply's own check (file-set.sh `check`) here, on the files of `dir`
 * (a rendered tree's folder for this kind): the tests check rendered files with it, so the
 * daemon checks exist once. Run as root, like the provider's; set -euo pipefail as remote.ts.
 */
export function localCheckCommand(kind: FileSetInputs["kind"], phpVersion: string | undefined, dir: string): { file: string; args: string[] } {
  return localScriptCommand(kind, phpVersion, "check", "", dir);
}

/** The same script run here for any action (apply with the tar on stdin: `npm run bench -- mail` applies the mail set to this machine's daemons). */
export function localScriptCommand(kind: FileSetInputs["kind"], phpVersion: string | undefined, action: string, generation = "", ...paths: string[]): { file: string; args: string[] } {
  return { file: "bash", args: ["-c", `set -euo pipefail\n${SCRIPT}`, "globenet", ...scriptArgs({ kind, phpVersion }, action, generation, ...paths)] };
}

/**
 * The outputs of a set applied with these serials: its generation (the hash of the files as
 * they go to the host, serials in place) and `tokenDigest`, the sha256 of the manifest it was
 * applied from; not each file's hash and serial: the host has those (its listing, its zones'
 * SOA), and 10,000 of them in the state cost every preview seconds (docs/architecture.md, "One
 * manifest per set"). A primary keeps its zones' names, for the guard's share rule.
 */
export function outputsOf(i: FileSetInputs, serials: Record<string, number>): FileSetOutputs {
  const refs = hashesOf(i.files);
  const hashes = servedHashes(refs, serials, (path) => i.files[path] as string);
  // The apply's wiring leaves Apache on mpm-itk (or fails).
  const mpm = i.kind === "apache2" && !i.part ? { mpm: WIRED_MPM } : {};
  const zones = i.kind === "bind-primary" ? { zoneNames: zoneNamesOf(Object.keys(i.files)) } : {};
  return { ...whereOf(i), generation: generationOfHashes(hashes), tokenDigest: tokenDigestOf(refs), ...zones, ...mpm };
}

/** A primary's zones, one name a line in order, from its set's paths (`zones/<zone>.zone`). */
export function zoneNamesOf(paths: string[]): string {
  return paths
    .filter(isZoneFile)
    .map((p) => p.slice("zones/".length, -".zone".length))
    .sort()
    .join("\n");
}

/** Path → sha256 of each file as last applied (or seen by a refresh); also from states that kept contents. */
export function appliedHashes(o: Partial<FileSetOutputs>): Record<string, string> {
  return o.hashes ?? hashesOf(substituteSerials(o.files ?? {}, o.serials ?? {}));
}

/**
 * Path → sha256 of each file as it would go to the host with these serials, from any form
 * of the inputs. A ref is the sha256 of the content in token form, which is the file as it
 * goes to the host unless a serial is put into it: so only the zone files with a serial are
 * read from the store (and checked against their refs); every other file is its ref.
 */
export function wantedHashes(news: Pick<FileSetEngineInputs, "files" | "fileRefs" | "fileManifest" | "fileStore">, serials: Record<string, number>): Record<string, string> | undefined {
  const refs = isRef(news.fileManifest) ? loadManifest(news.fileStore ?? "", news.fileManifest) : news.fileRefs;
  // Not known yet (a preview before an output the files wait for): no hashes to compare.
  if (!isRecord(refs ?? news.files ?? {})) return undefined;
  if (!refs) return hashesOf(substituteSerials(news.files ?? {}, serials));
  return servedHashes(refs, serials, (path, ref) => loadRef(news.fileStore ?? "", path, ref));
}

/** The sha256 of the manifest of the new inputs' files, whatever their form (undefined: not known yet). */
function newTokenDigest(news: Pick<FileSetEngineInputs, "files" | "fileRefs" | "fileManifest">): string | undefined {
  if (isRef(news.fileManifest)) return news.fileManifest;
  if (isRecord(news.fileRefs)) return tokenDigestOf(news.fileRefs as Record<string, string>);
  if (isRecord(news.files) && Object.values(news.files).every((c) => typeof c === "string")) return tokenDigestOf(hashesOf(news.files));
  return undefined;
}

/**
 * Whether the new files with the old serials are the files as last applied (or seen). Refs
 * whose manifest is the one applied, with no drift seen since, are: the same contents with
 * the same serials, and nothing is read or hashed (10,000 zones at every preview of a large
 * primary). A state that keeps each file's hash (seen by a refresh that found drift, adopted,
 * or written before manifests) is compared file by file; one with neither was applied from
 * another manifest: a change.
 */
function sameFiles(olds: Partial<FileSetOutputs>, news: Pick<FileSetEngineInputs, "files" | "fileRefs" | "fileManifest" | "fileStore">): boolean {
  if (olds.tokenDigest !== undefined) {
    const digest = newTokenDigest(news);
    if (digest === olds.tokenDigest) return true;
    if (olds.hashes === undefined && olds.files === undefined) return false;
  }
  return sameHashes(appliedHashes(olds), wantedHashes(news, olds.serials ?? {}));
}

/** Same paths, same hashes (none known: not the same). */
function sameHashes(a: Record<string, string>, b: Record<string, string> | undefined): boolean {
  if (!b) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => a[k] === b[k]);
}

/** Applies `files` (serials already substituted) to the host as generation `generation`. */
async function apply(i: FileSetInputs, files: Record<string, string>, generation: string, takeover?: TakeoverSteps): Promise<string | undefined> {
  const extra = takeover ? Object.fromEntries(Object.entries(takeover.files).map(([p, c]) => [`.takeover/${p.slice(p.lastIndexOf("/") + 1)}`, c])) : {};
  const r = await run(i.target, SCRIPT, { args: [...scriptArgs(i, "apply", generation), ...(takeover?.args ?? [])], stdin: await tarOf({ ...files, ...extra }), check: false, timeoutMs: 300_000 });
  if (r.code !== 0) {
    const what = r.code === 3 ? "rejected, the live files are untouched" : r.code === 4 ? "in place but the reload failed" : `failed (exit ${r.code})`;
    const said = redact((r.stderr || r.stdout).trim());
    throw new Error(`${i.target.name}: ${setName(i)} ${what}:\n${said}${missingUsersHint(said, i.target.name)}${partsHint(said)}`);
  }
  return /^takeover-backup (\S+)$/m.exec(r.stdout)?.[1];
}

/** The script's refusals about the parts of a split host's sets, said in French too for the volunteer. Empty when none. */
export function partsHint(said: string): string {
  const out: string[] = [];
  if (said.includes("apply the host's own shard first, then this part")) out.push("Le jeu Apache propre du serveur n'est pas en place : appliquez d'abord le fragment du serveur, puis celui de ce seau.");
  if (said.includes("apply first the set that drops it")) out.push("Un site ou un pool ne peut être que dans un seul jeu, et celui-ci est ailleurs avec un autre contenu : appliquez d'abord le fragment qui le retire, puis celui-ci.");
  return out.map((l) => `\n${l}`).join("");
}

/**
 * What to do when the daemon's check refused a pool or a vhost for a user that does not exist
 * (PHP-FPM: "cannot get uid for user 'x'"; Apache's mpm-itk: "bad user name x"). A member's
 * account is made before its pool and vhost, in the same stack (a bucket's, when a web host's
 * members are split by hash: docs/architecture.md, "Members split by hash"), so the user was
 * removed on the host outside Globenet, after the state last saw it. Empty when no such line.
 */
export function missingUsersHint(said: string, host: string): string {
  const users = [...new Set([...said.matchAll(/cannot get uid for user '([^'\s]+)'|bad user name (\S+)/g)].map((m) => (m[1] ?? m[2]) as string))];
  if (users.length === 0) return "";
  const list = users.join(", ");
  return (
    `\n${list}: no such user on ${host}, though the state has the account: it was removed on the host outside Globenet. npm run up -- --refresh sees it gone and makes it again (its home from the last backup: npm run backup -- restore <member>).` +
    `\n${list} : cet utilisateur n'existe pas sur ${host}, alors que l'état a le compte : il a été supprimé sur l'hôte hors de Globenet. npm run up -- --refresh le voit absent et le refait (son dossier personnel depuis la dernière sauvegarde : npm run backup -- restore <adhérent>).`
  );
}

/** Applies the inputs with these serials (and the takeover of hand-made definitions, if asked); returns the outputs. */
async function applyWith(i: FileSetInputs, serials: Record<string, number>, olds?: Partial<FileSetOutputs>): Promise<FileSetOutputs> {
  const steps = await takeoverSteps(i, olds);
  const all = steps ? carryServedSerials(serials, steps.served, new Date()) : serials;
  const outs = outputsOf(i, all);
  const backup = await apply(i, substituteSerials(i.files, all), outs.generation, steps);
  const takeover = i.takeover ? { takeover: i.takeover } : olds?.takeover ? { takeover: olds.takeover } : {};
  const kept = backup ?? olds?.takeoverBackup;
  return { ...outs, ...takeover, ...(kept ? { takeoverBackup: kept } : {}) };
}

/** What a takeover gives the apply script: its arguments, the edited files, the serials the hand-made zones serve. */
interface TakeoverSteps {
  args: string[];
  /** Absolute path on the host → new content (bind: the named.conf files with the zone statements commented out). */
  files: Record<string, string>;
  /** Zone file path of the set → the serial the hand-made zone serves. */
  served: Record<string, number>;
}

/** The names still to take over: asked now and not taken over before. */
function pendingTakeover(i: Pick<FileSetInputs, "takeover">, olds?: Partial<FileSetOutputs>): string[] {
  const done = new Set(olds?.takeover ?? []);
  return (i.takeover ?? []).filter((n) => !done.has(n));
}

/** Reads the host's hand-made definitions of `names` (takeover-read of file-set.sh). */
async function readHand(where: Where, names: string[]): Promise<{ confs: Record<string, string>; serials: Record<string, string>; apacheS: string; sites: Record<string, string> }> {
  const what = where.kind === "apache2" ? "vhosts" : where.kind === "php-fpm" ? "PHP-FPM pools" : "zones";
  const r = await run(where.target, SCRIPT, { args: scriptArgs(where, "takeover-read", "-", ...names), what: `reading the hand-made ${what} a takeover replaces` });
  const parts = r.stdout.split("\0");
  const out = { confs: {} as Record<string, string>, serials: {} as Record<string, string>, apacheS: "", sites: {} as Record<string, string> };
  for (let k = 0; k + 2 < parts.length; k += 3) {
    const [tag, key, b64] = [parts[k], parts[k + 1] as string, Buffer.from(parts[k + 2] as string, "base64").toString("utf8")];
    if (tag === "conf") out.confs[key] = b64;
    else if (tag === "zonestatus") out.serials[key] = b64;
    else if (tag === "apache-S") out.apacheS = b64;
    else if (tag === "site") out.sites[key] = b64;
  }
  return out;
}

/**
 * What is hand-made among `names` on the host, as takeover steps; undefined when nothing is (the
 * set alone defines them). `setFiles`, the set's files, for an apply: apache2's certificate seeds.
 */
async function handSteps(where: Where, names: string[], setFiles: Record<string, string> = {}): Promise<TakeoverSteps | undefined> {
  if (names.length === 0 || (where.kind !== "apache2" && where.kind !== "bind-primary" && where.kind !== "bind-secondary" && where.kind !== "php-fpm")) return undefined;
  const kind = where.kind as TakeoverKind;
  const hand = await readHand(where, names);
  const fail = (problems: string[]) => {
    throw new Error(`${where.target.name}: the ${kind} takeover cannot be done, nothing was changed:\n${problems.map((p) => `  ${p}`).join("\n")}`);
  };
  if (kind === "apache2") {
    const plan = planApacheTakeover(parseApacheS(hand.apacheS), names);
    if (plan.problems.length > 0) fail(plan.problems);
    if (plan.disable.length === 0) return undefined;
    // The hand-made HTTPS certificates go into mod_md's store before the reload: HTTPS and the redirect never lapse.
    const md = planMdSeeds(hand.sites, plan.disable, setFiles);
    if (md.problems.length > 0) fail(md.problems);
    const seeds = md.store && md.seeds.length > 0 ? [`md-store=${md.store}`, ...md.seeds.map((x) => `md-cert=${[x.name, x.cert, x.key, ...(x.chain ? [x.chain] : [])].join(":")}`)] : [];
    return { args: [...plan.disable.map((e) => `disable-site=${e}`), ...seeds], files: {}, served: {} };
  }
  if (kind === "php-fpm") {
    const plan = planFpmTakeover(hand.confs, names);
    if (plan.problems.length > 0) fail(plan.problems);
    if (plan.disable.length === 0) return undefined;
    return { args: plan.disable.map((f) => `disable-pool=${f}`), files: {}, served: {} };
  }
  const plan = planBindTakeover(hand.confs, names);
  if (plan.problems.length > 0) fail(plan.problems);
  if (plan.zones.length === 0) return undefined;
  if (kind === "bind-secondary") {
    // No keys, no serials of its own: the primary's takeover carries them. The hand-made copies
    // become Globenet's before the reload, so the secondary answers throughout.
    const copies = planSecondaryCopies(plan.zones);
    if (copies.problems.length > 0) fail(copies.problems);
    return { args: [...Object.keys(plan.edits).map((p) => `conf=${p}`), ...copies.copies.map((c) => `copy=${c.zone}:${c.format}:${c.from}`)], files: plan.edits, served: {} };
  }
  const served: Record<string, number> = {};
  for (const z of plan.zones) {
    const s = servedSerialOf(hand.serials[z.name] ?? "");
    if (s !== undefined) served[`zones/${z.name}.zone`] = s;
  }
  const args = [...Object.keys(plan.edits).map((p) => `conf=${p}`), ...plan.zones.map((z) => `keys=${z.name}:${z.keyDirectory}`)];
  return { args, files: plan.edits, served };
}

/** The takeover an apply does: the pending names' hand-made definitions (none: undefined). */
async function takeoverSteps(i: FileSetInputs, olds?: Partial<FileSetOutputs>): Promise<TakeoverSteps | undefined> {
  return handSteps(i, pendingTakeover(i, olds), i.files);
}

/**
 * Serials an update gives (planSerials): a zone whose file on the host is the new content with
 * the serial it serves keeps that serial; any other goes past the one it serves. The host says
 * both (its listing, its zones' SOA): a zone edited by hand there since the apply gets a serial
 * after the hand edit's, which the secondaries will take. States of before manifests kept them
 * in the outputs; the host is read all the same.
 */
async function updateSerials(inputs: FileSetInputs, now: Date): Promise<Record<string, number>> {
  if (inputs.kind !== "bind-primary") return {};
  const listing = await listLive(inputs);
  return planSerials(inputs.files, now, listing ? { hashes: listing.hashes, serials: await liveSerials(inputs) } : undefined);
}

/** The dry mode's serials (no host): those the state keeps, if it does (planSerials). */
function stateSerials(olds: Partial<FileSetOutputs>, inputs: FileSetInputs, now: Date): Record<string, number> {
  if (inputs.kind !== "bind-primary") return {};
  return planSerials(inputs.files, now, olds.kind === "bind-primary" && olds.serials ? { hashes: appliedHashes(olds), serials: olds.serials } : undefined);
}

/** The serial each live zone file of a primary's set serves (file-set.sh `serials`: the SOA's, as serialIn reads it). */
async function liveSerials(i: Where): Promise<Record<string, number>> {
  const r = await run(i.target, SCRIPT, { args: scriptArgs(i, "serials"), what: "reading the serials of the live zone files" });
  const out: Record<string, number> = {};
  for (const line of r.stdout.split("\n")) {
    const m = /^(\d{1,10}) (zones\/[A-Za-z0-9_][A-Za-z0-9._-]*\.zone)$/.exec(line);
    if (m && Number(m[1]) <= 0xffffffff) out[m[2] as string] = Number(m[1]);
  }
  return out;
}

interface LiveListing {
  /** Relative path → sha256 of the live file. */
  hashes: Record<string, string>;
}

async function listLive(i: Where): Promise<LiveListing | undefined> {
  const r = await run(i.target, SCRIPT, { args: scriptArgs(i, "read"), what: `reading the ${setName(i)}` });
  if (!r.stdout.startsWith("present\n")) return undefined;
  const hashes: Record<string, string> = {};
  for (const rec of r.stdout.slice("present\n".length).split("\0")) {
    const sp = rec.indexOf(" ");
    if (sp > 0) hashes[rec.slice(sp + 1)] = rec.slice(0, sp);
  }
  return { hashes };
}

/** apache2: the MPM modules enabled on the host now (undefined for the other kinds). */
async function readMpm(i: Where): Promise<{ mpm?: string }> {
  // A part's sets leave the modules to the host's own set.
  if (i.kind !== "apache2" || i.part) return {};
  const r = await run(i.target, SCRIPT, { args: scriptArgs(i, "mpm-read"), what: "reading Apache's MPM" });
  return { mpm: normaliseMpm(r.stdout) };
}

async function fetchLive(i: Where, paths: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  if (paths.length === 0) return out;
  const r = await run(i.target, SCRIPT, { args: scriptArgs(i, "fetch", "-", ...paths), what: `reading ${paths.length} live file(s) of the ${setName(i)}` });
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

export const fileSetType: ResourceType<FileSetEngineInputs, FileSetOutputs> = {
  check(news, olds) {
    const r = checkInputs(news, olds);
    return r.failures.length > 0 ? { failures: r.failures } : { inputs: r.inputs };
  },

  diff(_id, olds, news) {
    const pick = (o: Partial<FileSetInputs>) => ({ target: o.target, kind: o.kind, phpVersion: o.phpVersion ?? undefined, part: o.part ?? undefined });
    const changed = changedKeys(pick(olds), pick(news));
    // The new files with the old serials, hashed, against the files as last applied (or seen).
    // Either form of the new inputs (contents, or refs into the store) against either form of
    // the state (hashes, or the contents of states from before them): a state written with
    // contents and a program that sends refs is no change when the files are the same.
    if (!sameFiles(olds, news)) changed.push("files");
    // A takeover is asked by an adoption only: a later run without it keeps what was taken over.
    if (pendingTakeover(news, olds).length > 0) changed.push("takeover");
    // Apache on another MPM than the wiring's (seen at adoption or refresh): the apply switches
    // it, with a restart; lib/guard/mpm.ts makes the preview say so and the guard ask for it.
    if (news.kind === "apache2" && !news.part && mpmSwitchNeeded(olds.mpm)) changed.push("mpm");
    const replaces: string[] = [];
    if (changed.includes("kind")) replaces.push("kind");
    if (changed.includes("phpVersion")) replaces.push("phpVersion");
    if (changed.includes("part")) replaces.push("part");
    if (olds.target?.address !== news.target?.address || olds.target?.port !== news.target?.port) replaces.push("target");
    // Two sets of one host can share a root (bind-primary/secondary; the same host reached on
    // another port): the old one must go before the new one is made, or its delete would
    // remove the new files.
    return { changes: changed.length > 0, replaces, deleteBeforeReplace: replaces.length > 0 };
  },

  async create(raw) {
    const inputs = parseInputs(raw as unknown as Record<string, unknown>);
    const serials = inputs.kind === "bind-primary" ? await createSerials(inputs, new Date()) : {};
    return { id: idOf(inputs), outs: await applyWith(inputs, serials) };
  },

  async read(_id, props) {
    const listing = await listLive(props);
    if (!listing) return undefined;
    const hashes = sortedRecord(listing.hashes);
    const kept = {
      ...(props.zoneNames !== undefined ? { zoneNames: props.zoneNames } : {}),
      ...(props.takeover ? { takeover: props.takeover } : {}),
      ...(props.takeoverBackup ? { takeoverBackup: props.takeoverBackup } : {}),
    };
    const base = whereOf(props);
    if (props.hashes === undefined && props.files === undefined) {
      // Applied from a manifest: the host's listing gives the generation applied, or it drifted.
      if (generationOfHashes(hashes) === props.generation) return { ...base, generation: props.generation, ...(props.tokenDigest ? { tokenDigest: props.tokenDigest } : {}), ...kept, ...(await readMpm(props)) };
      // Drift: each file's hash and each zone's serial as the host has them, no digest (the next preview is an update).
      const serials = props.kind === "bind-primary" ? await liveSerials(props) : {};
      return { ...base, hashes, serials, generation: generationOfHashes(hashes), ...kept, ...(await readMpm(props)) };
    }
    const storedSerials = props.serials ?? {};
    const applied = appliedHashes(props);
    // Only a zone file that differs from what was applied is fetched: for its serial.
    const differ = Object.keys(hashes).filter((p) => hashes[p] !== applied[p]);
    const live = props.kind === "bind-primary" ? await fetchLive(props, differ.filter(isZoneFile)) : {};
    const serials: Record<string, number> = {};
    for (const path of Object.keys(hashes).filter(isZoneFile)) {
      const old = storedSerials[path];
      const seen = path in live ? serialIn(live[path] as string) : undefined;
      // A hand edit that raised the serial: remember it, so the next one goes past it.
      const s = seen !== undefined && (old === undefined || serialAfter(seen, old)) ? seen : old;
      if (s !== undefined) serials[path] = s;
    }
    return {
      ...base,
      hashes,
      serials: props.kind === "bind-primary" ? serials : {},
      generation: generationOfHashes(hashes),
      // As applied still (no file differs, none added or gone): the refs' digest holds.
      ...(props.tokenDigest && differ.length === 0 && Object.keys(hashes).length === Object.keys(applied).length ? { tokenDigest: props.tokenDigest } : {}),
      ...kept,
      ...(await readMpm(props)),
    };
  },

  /**
   * Adoption: the set as the host has it, contents and all (the import's inputs: refs into
   * the program's store when the facts name it, else the contents), and each
   * zone's serial as it serves it, so an unchanged zone keeps its serial and the diff against
   * git shows every other file as an update. A host that never had Globenet's set of this
   * kind is adopted as an empty one: the update that follows writes it. DNSSEC keys are
   * BIND's own (outside every set) and are never touched.
   */
  async adopt(_id, facts) {
    const where = facts as unknown as Where;
    const listing = await listLive(where);
    const hashes = sortedRecord(listing?.hashes ?? {});
    const files = await fetchLive(where, Object.keys(hashes));
    const serials: Record<string, number> = {};
    if (where.kind === "bind-primary") {
      for (const [path, content] of Object.entries(files)) {
        if (!isZoneFile(path)) continue;
        const s = serialIn(content);
        if (s === undefined) throw new Error(`${where.target.name}: the live zone file ${path} has no SOA serial this provider can read (a "<number> ; serial" line): adoption keeps serials and never guesses one; fix the file on the host and adopt again`);
        serials[path] = s;
      }
    }
    const base = whereOf(where);
    // A takeover asked (--adopt): when nothing hand-made defines those names, the set alone
    // does already and nothing is pending; else the update that follows takes them over.
    const asked = Array.isArray(facts.takeover) ? (facts.takeover as string[]) : [];
    const done = asked.length > 0 && !(await handSteps(where, asked)) ? { takeover: asked } : {};
    // The contents go into the program's store when the adoption says where it is (the facts'
    // fileStore): the import's inputs are then a manifest, like the program's.
    const store = typeof facts.fileStore === "string" ? facts.fileStore : undefined;
    const contents = store ? { fileManifest: storeManifest(store, files), fileStore: store } : { files: sortedRecord(files) };
    return { outs: { ...base, hashes, serials, generation: generationOfHashes(hashes), ...done, ...(await readMpm(where)) }, inputs: { ...base, ...contents, ...done } };
  },

  async update(_id, olds, raw) {
    const inputs = parseInputs(raw as unknown as Record<string, unknown>);
    return applyWith(inputs, await updateSerials(inputs, new Date()), olds);
  },

  async delete(_id, props) {
    await run(props.target, SCRIPT, { args: scriptArgs(props, "delete"), what: `removing the ${setName(props)}`, timeoutMs: 300_000 });
  },

  dryOutputs(raw, olds) {
    const inputs = parseInputs(raw as unknown as Record<string, unknown>);
    return outputsOf(inputs, olds ? stateSerials(olds, inputs, new Date()) : inputs.kind === "bind-primary" ? planSerials(inputs.files, new Date()) : {});
  },
};
