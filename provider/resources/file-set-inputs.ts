import type { CheckFailure } from "@pulumi/pulumi/provider";
import { UNKNOWN } from "../types";
import { utils } from "ssh2";
import { SERIAL_TOKEN } from "../../lib/render/bind-zone";
import { identifierProblem, PHP_VERSION } from "../../lib/schema/names";
import type { Target } from "../ssh/connection";
import { isAbsolute } from "node:path";
import { isZoneFile } from "./file-set-serials";
import { isRecord } from "../../lib/base/record";
import { FILE_STORE_FOLDER, FileStoreError, isRef, loadFiles, loadManifest, loadRef, setRefs } from "./file-store";
import { TAKEOVER_NAME } from "./takeover";
import { ALERT_MAIL_TEMPLATE, MONITORING_FILES } from "../../lib/render/monitoring";
import { MAIL_ACME_PATHS, MAIL_SET_PATHS, MAIL_SET_ROOT } from "../../lib/render/mail";
import { MAIL_EXPORTER_PATHS } from "../../lib/render/mail-exporter";
import { NODE_EXPORTER_FILE, NODE_EXPORTER_NFT } from "../../lib/render/monitoring-units";
import { RRSIG_FILES } from "../../lib/render/monitoring-dnssec";
import { DAEMON_FILES } from "../../lib/render/monitoring-daemons";

/** The monitoring set's files (lib/render/monitoring.ts, and the RRSIG check's of monitoring-dnssec.ts), all required. */
const MONITORING_PATHS: string[] = [...Object.values(MONITORING_FILES), ...Object.values(RRSIG_FILES)];
/** The node-exporter set's files (lib/render/monitoring-units.ts, and the daemons' check of monitoring-daemons.ts), all required. */
const NODE_EXPORTER_PATHS = [NODE_EXPORTER_FILE, NODE_EXPORTER_NFT, ...Object.values(DAEMON_FILES)];

/** Inputs and validation of globenet:files:FileSet (pure). */

export const FILE_SET_KINDS = ["apache2", "php-fpm", "bind-primary", "bind-secondary", "www", "monitoring", "mail", "node-exporter"] as const;
export type FileSetKind = (typeof FILE_SET_KINDS)[number];

export interface FileSetInputs {
  target: Target;
  kind: FileSetKind;
  /** php-fpm only, like "8.2". */
  phpVersion?: string;
  /**
   * apache2 and php-fpm: one part of a web host's member sites (a bucket's, from its own shard:
   * docs/architecture.md, "Members split by hash"), live beside the host's own set and checked
   * with it; its name, like "b0". Absent: the host's own set.
   */
  part?: string;
  /** Relative path inside the set → content (zone files with SERIAL_TOKEN for the serial). */
  files: Record<string, string>;
  /**
   * apache2 and bind-primary, adoption only (provider/resources/takeover.ts): the names whose
   * hand-made definitions on the host this set takes over (disabled in the reload that brings
   * the set's in). Set by `npm run up -- --adopt`; never asked again once taken over.
   */
  takeover?: string[];
}

/**
 * The inputs as the engine carries them (check's result, diff's news): the contents either as
 * they are (`files`: states written before the store, and callers that pass contents, like
 * the tests), or as `fileRefs`, path → sha256 of the content (token form) in the runner's
 * store `fileStore` (./file-store.ts; the program's FileSet writes it): then no content crosses
 * the engine. The diff ignores `fileStore` (a checkout moved elsewhere changes nothing).
 * parseInputs gives the contents whichever form came.
 */
export interface FileSetEngineInputs extends Omit<FileSetInputs, "files"> {
  files?: Record<string, string>;
  fileRefs?: Record<string, string>;
  /** Or the sha256 of the set's manifest in the store (the program's form: ./file-store.ts, storeManifest), which says the refs. */
  fileManifest?: string;
  fileStore?: string;
}

/**
 * What the state keeps of a set besides its inputs: as applied, its generation and the sha256
 * of the manifest it was applied from, not each file's hash and serial, which the host has (its
 * listing, its zones' SOA) and which cost every preview of a large set seconds in the engine
 * (docs/architecture.md, "One manifest per set"); each file's hash only once a refresh has seen
 * the host differ, so the drift report can name the files.
 */
export interface FileSetOutputs extends Omit<FileSetInputs, "files"> {
  /**
   * Relative path → sha256 of the file as the host has it, after a refresh that saw drift; in
   * adopted sets and states written before manifests, as applied. Absent otherwise.
   */
  hashes?: Record<string, string>;
  /** With `hashes`, bind-primary: the SOA serial of each zone file (key: its path, `zones/<zone>.zone`); else {}. */
  serials?: Record<string, number>;
  /** Short hash of the files as applied (serials in place); after a refresh that saw drift, as found. */
  generation: string;
  /**
   * tokenDigestOf the refs the files were applied from (the manifest's sha256), while the host
   * has them as applied (a refresh that sees drift drops it). With it, a preview whose
   * manifest is the same knows the files unchanged without reading any (file-set.ts, diff).
   */
  tokenDigest?: string;
  /** bind-primary: the zones of the set as applied, one name a line in order (the guard's share rule). */
  zoneNames?: string;
  /**
   * Only in states written before `hashes` existed: the contents (token form; after a refresh
   * that saw drift, the live content). Read through appliedHashes(); never written again.
   */
  files?: Record<string, string>;
  /** The names taken over from hand-made definitions (or found defined by this set alone at adoption). */
  takeover?: string[];
  /** Where the last takeover kept the hand-made files it disabled (on the host). */
  takeoverBackup?: string;
  /**
   * apache2: the MPM modules enabled on the host when last read (adoption, refresh) or as the
   * apply leaves them (./apache-mpm.ts); one other than mpm-itk's means the apply restarts Apache.
   */
  mpm?: string;
}

/** The kinds a web host's member sites split into parts (FileSetInputs.part). */
export const PART_KINDS: ReadonlySet<FileSetKind> = new Set(["apache2", "php-fpm"]);

/** Where each kind's files live on the host: a symlink to `<root>.d/<generation>` (a part's: `<root>-parts.d/<part>/<generation>`). */
export function liveRoot(kind: FileSetKind, phpVersion?: string, part?: string): string {
  if (part !== undefined) return `${liveRoot(kind, phpVersion)}-parts/${part}`;
  switch (kind) {
    case "apache2":
      return "/etc/apache2/globenet";
    case "php-fpm":
      return `/etc/php/${phpVersion ?? "?"}/fpm/globenet`;
    case "bind-primary":
    case "bind-secondary":
      // Not /var/lib/bind, which the bind group may write (provider/scripts/file-set/file-set.sh, "bind").
      return "/etc/bind/globenet";
    case "www":
      return "/var/www/globenet-suspended";
    case "monitoring":
      return "/etc/prometheus/globenet";
    case "mail":
      return MAIL_SET_ROOT;
    case "node-exporter":
      return "/etc/prometheus/globenet-node";
  }
}

/** A file or folder name: no leading dot, no separators, nothing a shell or config would mind. */
const NAME = "[A-Za-z0-9_][A-Za-z0-9._-]*";
/** A member's vhost: the only file of an apache2 part, and one of the host's set's. */
const SITE_FILE = new RegExp(`^sites-available/${NAME}\\.conf$`);

const PATH_RULES: Record<FileSetKind, { patterns: RegExp[]; expected: string }> = {
  apache2: {
    // md-event.sh: mod_md's MDMessageCmd (run through /bin/sh, so it needs no exec bit).
    patterns: [SITE_FILE, new RegExp(`^conf-available/${NAME}\\.conf$`), /^md-event\.sh$/, /^logrotate-sites\.conf$/],
    expected: "sites-available/<site>.conf, conf-available/<name>.conf, md-event.sh or logrotate-sites.conf",
  },
  "php-fpm": { patterns: [new RegExp(`^pool\\.d/globenet-${NAME}\\.conf$`)], expected: "pool.d/globenet-<handle>.conf" },
  "bind-primary": { patterns: [/^named\.conf\.globenet$/, new RegExp(`^zones/${NAME}\\.zone$`)], expected: "named.conf.globenet or zones/<zone>.zone" },
  "bind-secondary": { patterns: [/^named\.conf\.globenet$/], expected: "named.conf.globenet (a secondary's zone copies are written by named itself)" },
  www: { patterns: [new RegExp(`^${NAME}$`)], expected: "a file name at the top of the set, like index.html" },
  // The mail template is there with monitoring.mail only: allowed, not required.
  monitoring: { patterns: [...MONITORING_PATHS, ALERT_MAIL_TEMPLATE].map((p) => new RegExp(`^${p.replace(/\./g, "\\.")}$`)), expected: [...MONITORING_PATHS, `${ALERT_MAIL_TEMPLATE} (with monitoring.mail)`].join(", ") },
  mail: {
    patterns: [...MAIL_SET_PATHS, ...MAIL_ACME_PATHS, ...MAIL_EXPORTER_PATHS].map((p) => new RegExp(`^${p.replace(/\./g, "\\.")}$`)),
    expected: `${MAIL_SET_PATHS.join(", ")} (and ${MAIL_ACME_PATHS.join(", ")} with ACME, ${MAIL_EXPORTER_PATHS.join(", ")} with a monitor host)`,
  },
  "node-exporter": { patterns: NODE_EXPORTER_PATHS.map((p) => new RegExp(`^${p.replace(/\./g, "\\.")}$`)), expected: NODE_EXPORTER_PATHS.join(", ") },
};

/** An apache2 part's files: member sites only. */
const APACHE_PART_RULE = { patterns: [SITE_FILE], expected: "sites-available/<site>.conf: a part holds member sites only" };

const TARGET_KEYS = ["name", "address", "port", "user", "hostKey"] as const;
const KNOWN_KEYS = new Set(["target", "kind", "phpVersion", "files", "part", "takeover", "fileRefs", "fileManifest", "fileStore", /* outputs, ignored: */ "hashes", "serials", "generation", "tokenDigest", "zoneNames", "takeoverBackup", "mpm"]);

function fileProp(path: string, prop = "files"): string {
  return `${prop}[${JSON.stringify(path)}]`;
}

/** Why a relative path cannot be in a set of this kind, or undefined when it can. */
export function pathProblem(kind: FileSetKind, path: string, part?: string): string | undefined {
  if (path === "") return "an empty file name";
  if (path.startsWith("/")) return "an absolute path: paths are relative to the set's root";
  const parts = path.split("/");
  if (parts.includes("..")) return `".." would leave the set's root`;
  if (parts.some((p) => p === "" || p === ".")) return "an empty or '.' path component";
  const rule = part !== undefined && kind === "apache2" ? APACHE_PART_RULE : PATH_RULES[kind];
  if (!rule.patterns.some((re) => re.test(path))) return `not a file of a ${kind} ${part !== undefined ? "part" : "set"} (expected ${rule.expected})`;
  return undefined;
}

/**
 * Validates raw inputs (as the engine sends them) and returns them normalised: known keys
 * only, phpVersion absent unless php-fpm, the contents' form kept (refs stay refs: the engine
 * keeps what check returns); a primary's zone files read from the store and checked against
 * their sha256 (a store file altered or planted fails the check, naming the path), but for
 * those whose ref `olds` (the inputs in the state, which passed this check) holds for the same
 * path: same sha256, same bytes, same verdict, and the apply reads and checks every file it
 * sends anyway. Failures name the property.
 */
export function checkInputs(news: Record<string, unknown>, olds?: Record<string, unknown>): { inputs?: FileSetEngineInputs; failures: CheckFailure[] } {
  const failures: CheckFailure[] = [];
  const fail = (property: string, reason: string) => failures.push({ property, reason });
  let unknown = false;
  const known = (v: unknown) => {
    if (v === UNKNOWN) unknown = true;
    return v !== UNKNOWN;
  };

  for (const k of Object.keys(news)) if (!KNOWN_KEYS.has(k)) fail(k, `unknown property (a FileSet takes ${[...KNOWN_KEYS].slice(0, 4).join(", ")})`);

  // target
  const t = news.target;
  const target: Record<string, unknown> = {};
  if (!known(t)) {
    /* preview: not known yet */
  } else if (!isRecord(t)) fail("target", "required: { name, address, port, user, hostKey } of the host");
  else {
    for (const k of TARGET_KEYS) target[k] = t[k];
    for (const k of Object.keys(t)) if (!(TARGET_KEYS as readonly string[]).includes(k)) fail(`target.${k}`, `unknown property (a target has ${TARGET_KEYS.join(", ")})`);
    if (known(t.name) && (typeof t.name !== "string" || t.name.trim() === "")) fail("target.name", "required: the inventory name of the host");
    if (known(t.address) && (typeof t.address !== "string" || !/^[A-Za-z0-9.:-]+$/.test(t.address))) fail("target.address", "required: the host's IP address or DNS name");
    if (known(t.port) && !(typeof t.port === "number" && Number.isInteger(t.port) && t.port >= 1 && t.port <= 65535)) fail("target.port", "required: the SSH port, an integer from 1 to 65535");
    if (known(t.user) && (typeof t.user !== "string" || identifierProblem(t.user, "user name", 32, "globenet-deploy"))) fail("target.user", "required: the SSH user (root, or a user with passwordless sudo)");
    if (known(t.hostKey)) {
      if (typeof t.hostKey !== "string" || t.hostKey.trim() === "") fail("target.hostKey", "required: the host's pinned public key (ssh-ed25519 AAAA…)");
      else {
        const parsed = utils.parseKey(t.hostKey.trim());
        if (parsed instanceof Error) fail("target.hostKey", `not a valid public key: ${parsed.message}`);
      }
    }
  }

  // kind and phpVersion
  const kind = news.kind;
  const kindOk = known(kind) && typeof kind === "string" && (FILE_SET_KINDS as readonly string[]).includes(kind);
  if (known(kind) && !kindOk) fail("kind", `must be one of ${FILE_SET_KINDS.join(", ")}; got ${JSON.stringify(kind)}`);
  const php = news.phpVersion ?? undefined;
  if (known(php)) {
    if (kind === "php-fpm") {
      if (php === undefined) fail("phpVersion", 'required for kind php-fpm, like "8.2"');
      else if (typeof php !== "string" || !PHP_VERSION.test(php)) fail("phpVersion", `must be a PHP version like "8.2"; got ${JSON.stringify(php)}`);
    } else if (php !== undefined && kindOk) fail("phpVersion", `only for kind php-fpm, not ${String(kind)}`);
  }
  const part = news.part ?? undefined;
  if (known(part) && part !== undefined) {
    if (kindOk && !PART_KINDS.has(kind as FileSetKind)) fail("part", `only for kinds ${[...PART_KINDS].join(" and ")}, not ${String(kind)}`);
    else if (typeof part !== "string") fail("part", 'must be a part name like "b0"');
    else {
      const why = identifierProblem(part, "part name", 24, "b0");
      if (why) fail("part", why);
    }
  }
  // A part holds member sites only: the host's own files (shared settings, mod_md's hook, the logs' rotation) are its set's.
  const partOf = typeof part === "string" ? part : undefined;

  // files, or fileRefs into fileStore (./file-store.ts): the same checks either way. Of a refs
  // form, only the contents a check reads (a primary's zone files, for their serial token) are
  // read here; every other is read, and checked against its ref, by the apply (parseInputs),
  // so nothing from an altered store file is ever applied, and a preview of a set whose files
  // have no content to check reads none (the diff compares refs: file-set.ts, wantedHashes).
  // A manifest (./file-store.ts, storeManifest) is the refs form with the refs in the store
  // too: read from it here, and checked like refs; the engine carries its sha256 alone.
  const given = (v: unknown) => v !== undefined && v !== null;
  const manifestForm = given(news.fileManifest);
  const refsForm = manifestForm || given(news.fileRefs);
  if (manifestForm && (given(news.fileRefs) || given(news.files))) fail("fileManifest", "give one of files (the contents), fileRefs (their sha256 in fileStore) or fileManifest (the sha256 of their manifest in fileStore)");
  else if (refsForm && given(news.files)) fail("files", "give files (the contents) or fileRefs (their sha256 in fileStore), not both");
  const prop = manifestForm ? "fileManifest" : refsForm ? "fileRefs" : "files";
  const store = news.fileStore ?? undefined;
  if (!refsForm && store !== undefined) fail("fileStore", "only with fileRefs or fileManifest (the folder their contents are in)");
  const storeOk = !refsForm || (known(store) && typeof store === "string" && isAbsolute(store));
  if (!storeOk && known(store)) fail("fileStore", `required with ${prop}: the absolute folder of the file store (<data root>/${FILE_STORE_FOLDER}); got ${JSON.stringify(store)}`);
  const manifest = news.fileManifest;
  // The manifest the state's inputs hold passed this check: same sha256, same refs, same verdict.
  const sameManifest = manifestForm && known(manifest) && olds?.kind === kind && olds?.fileManifest === manifest && isRef(manifest);
  let files: unknown = manifestForm ? undefined : refsForm ? news.fileRefs : news.files;
  if (manifestForm && known(manifest) && !sameManifest && !given(news.fileRefs) && !given(news.files)) {
    if (!isRef(manifest)) fail("fileManifest", `must be the sha256 of the set's manifest in fileStore (64 lowercase hex digits); got ${JSON.stringify(manifest)}`);
    else if (storeOk) files = readManifest(store as string, manifest, (why) => fail("fileManifest", why));
  }
  if (manifestForm && !known(manifest)) unknown = true;
  const outFiles: Record<string, string> = {};
  const outRefs: Record<string, string> = {};
  /** A primary's zone file: its content must hold the serial token. */
  const zoneOfPrimary = (path: string) => kind === "bind-primary" && isZoneFile(path);
  // Only a primary's zones are read here, and only when there are refs to check.
  const checkedBefore = kind === "bind-primary" && refsForm && isRecord(files) && olds?.kind === kind ? setRefs(olds) : undefined;
  if (!known(files) || files === undefined) {
    /* preview, the manifest the state holds, or one that cannot be read (said above) */
  } else if (!isRecord(files)) fail(prop, refsForm ? "an object of relative path → sha256 of the content in fileStore" : "required: an object of relative path → content");
  else {
    for (const [path, value] of Object.entries(files)) {
      if (!known(value)) continue;
      let content: string | undefined;
      if (refsForm) {
        if (!isRef(value)) {
          fail(fileProp(path, prop), `must be the sha256 of the content (64 lowercase hex digits); got ${JSON.stringify(value)}`);
          continue;
        }
        outRefs[path] = value;
        if (!storeOk) continue;
        if (zoneOfPrimary(path) && checkedBefore?.[path] !== value) {
          try {
            content = loadRef(store as string, path, value, fileProp(path, prop));
          } catch (e) {
            if (!(e instanceof FileStoreError)) throw e;
            fail(fileProp(path, prop), e.message);
            continue;
          }
        }
      } else if (typeof value !== "string") {
        fail(fileProp(path), "the content must be a string");
        continue;
      } else outFiles[path] = content = value;
      if (kindOk) {
        const why = pathProblem(kind as FileSetKind, path, partOf);
        if (why) fail(fileProp(path, prop), why);
        else if (zoneOfPrimary(path) && content !== undefined && !content.includes(SERIAL_TOKEN)) {
          fail(fileProp(path, prop), `a zone file must hold ${SERIAL_TOKEN} where the SOA serial goes (the provider owns serials: render with serial SERIAL_TOKEN)`);
        }
      }
    }
    if (kind === "mail") {
      const missing = MAIL_SET_PATHS.filter((p) => !(p in files));
      if (missing.length) fail("files", `a mail set needs ${missing.join(", ")} (checked together by postmap, postconf, doveconf and opendkim before any goes live)`);
      const acme = MAIL_ACME_PATHS.filter((p) => p in files);
      if (acme.length && acme.length < MAIL_ACME_PATHS.length) fail("files", `a mail set with ACME needs all of ${MAIL_ACME_PATHS.join(", ")} (the settings, the script and the timer that runs it)`);
      const exporter = MAIL_EXPORTER_PATHS.filter((p) => p in files);
      if (exporter.length && exporter.length < MAIL_EXPORTER_PATHS.length) fail("files", `a mail set with the Postfix exporter needs all of ${MAIL_EXPORTER_PATHS.join(", ")} (its ARGS, its port's nftables table and the drop-in that loads it)`);
    }
    if (kind === "monitoring") {
      const missing = MONITORING_PATHS.filter((p) => !(p in files));
      if (missing.length) fail("files", `a monitoring set needs ${missing.join(", ")} (each is checked by its daemon's own tool before any goes live)`);
    }
    if (kind === "node-exporter") {
      const missing = NODE_EXPORTER_PATHS.filter((p) => !(p in files));
      if (missing.length) fail("files", `a node-exporter set needs ${missing.join(", ")} (the drop-in of Debian's prometheus-node-exporter unit, and the nftables table of its port)`);
    }
    if ((kind === "bind-primary" || kind === "bind-secondary") && !("named.conf.globenet" in files)) {
      fail("files", `a ${kind} set needs named.conf.globenet (named.conf.local includes it)`);
    }
  }

  // takeover (adoption)
  const takeover = news.takeover ?? undefined;
  if (known(takeover) && takeover !== undefined) {
    if (kind !== "apache2" && kind !== "bind-primary" && kind !== "bind-secondary" && kind !== "php-fpm") fail("takeover", `only for kinds apache2, bind-primary, bind-secondary and php-fpm, not ${String(kind)}`);
    else if (partOf !== undefined) fail("takeover", "not for a part: an adoption takes hand-made sites over into the host's own set");
    else if (!Array.isArray(takeover)) fail("takeover", "must be a list of zone, site or pool names");
    else takeover.forEach((n, i) => {
      if (known(n) && (typeof n !== "string" || !TAKEOVER_NAME.test(n))) fail(`takeover[${i}]`, `not a lowercase zone or site name: ${JSON.stringify(n)}`);
    });
  }

  if (failures.length > 0 || unknown) return { failures };
  const inputs: FileSetEngineInputs = {
    target: target as unknown as Target,
    kind: kind as FileSetKind,
    ...(kind === "php-fpm" ? { phpVersion: php as string } : {}),
    ...(partOf !== undefined ? { part: partOf } : {}),
    ...(manifestForm ? { fileManifest: manifest as string, fileStore: store as string } : refsForm ? { fileRefs: sortedRecord(outRefs), fileStore: store as string } : { files: sortedRecord(outFiles) }),
    ...(Array.isArray(takeover) ? { takeover: [...new Set(takeover as string[])].sort() } : {}),
  };
  return { inputs, failures };
}

/** The refs of the manifest `digest` in `store`; a failure said through `fail` (undefined then). */
function readManifest(store: string, digest: string, fail: (why: string) => void): Record<string, string> | undefined {
  try {
    return loadManifest(store, digest);
  } catch (e) {
    if (!(e instanceof FileStoreError)) throw e;
    fail(e.message);
    return undefined;
  }
}

/**
 * checkInputs for the methods that act (create, update, the dry mode's outputs): throws on
 * invalid inputs; the contents in `files` whichever form came (a refs form's read from its
 * store and checked).
 */
export function parseInputs(news: Record<string, unknown>): FileSetInputs {
  const r = checkInputs(news);
  const invalid = (why: string) => new Error(`globenet:files:FileSet: invalid inputs: ${why || "some values are not known yet"}`);
  if (!r.inputs) throw invalid(r.failures.map((f) => `${f.property}: ${f.reason}`).join("; "));
  const { fileRefs, fileManifest, fileStore, files, ...rest } = r.inputs;
  if (!fileRefs && !fileManifest) return { ...rest, files: files ?? {} };
  try {
    return { ...rest, files: loadFiles(fileStore as string, fileRefs ?? loadManifest(fileStore as string, fileManifest as string)) };
  } catch (e) {
    if (e instanceof FileStoreError) throw invalid(e.message);
    throw e;
  }
}

export function sortedRecord<T>(r: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const k of Object.keys(r).sort()) out[k] = r[k] as T;
  return out;
}
