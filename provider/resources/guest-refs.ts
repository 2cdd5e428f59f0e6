import { isRecord } from "../../lib/base/record";
import { FILE_STORE_FOLDER, FileStoreError, isRef, loadRef, storeFiles } from "./file-store";
import { UNKNOWN } from "../types";
import { sha256Hex } from "./file-set-serials";
import { declaredXmlFacts, normalizeFilterXml, normalizeXml, type DeclaredXmlFacts, type GuestInputs } from "./guest-check";

/*
 * A guest's contents (domain XML, cloud-init seed, network filter XML) as the engine carries
 * them: sha256 refs into the runner's content store (./file-store.ts, the file sets' store),
 * never the contents (docs/architecture.md, "Sharded stacks": "Guests carry sha256 refs too").
 * The program (components/vps.ts) writes the contents and registers the refs; the provider
 * reads them back here, each checked against its hash, at its boundary (check, create, update,
 * adoption). Inside, guest.ts and guest-check.ts work with GuestInputs, the full form.
 *
 * The state's outputs carry no content either: the refs, and what later steps need of the
 * declared contents without any store (a refresh runs without the program, so on a fresh
 * checkout the store may not hold the state's refs): the hash of the normalized XML (update:
 * a comment-only change is no hardware change), the declared XML's facts and the hash of the
 * normalized filter (read: drift).
 */

/** The seed files, in the order of GuestInputs["seed"]. */
export const SEED_FILES = ["userData", "metaData", "networkConfig"] as const;

type Seed = GuestInputs["seed"];

/** The refs of a guest's contents (sha256 of each, as the store names them). */
export interface GuestRefs {
  /** sha256 of the domain XML. */
  xmlRef: string;
  /** sha256 of each seed file. */
  seedRefs: Seed;
  /** The network filter: its name and the sha256 of its XML. */
  nwfilter?: { name: string; xmlRef: string };
}

/** The inputs as the program registers them: GuestInputs with refs in place of the contents, and the store's folder. */
export type GuestRefInputs = Omit<GuestInputs, "xml" | "seed" | "nwfilter"> & GuestRefs & { fileStore: string };

/**
 * Outputs: the inputs as they are live, refs in place of the contents (no fileStore: nothing
 * later reads the state's refs from a store), what the state keeps of the declared contents,
 * and what libvirt and the host say.
 */
export interface GuestOutputs extends Omit<GuestInputs, "xml" | "seed" | "nwfilter">, GuestRefs, DeclaredDigest {
  /** libvirt's UUID: the same across updates; a new one means a new machine. */
  uuid: string;
  /** Archives of this domain's disks (earlier deletions under the same name) on the host. */
  archives: string[];
  /** libvirt's state: "running", "shut off", "paused"… */
  state: string;
  /** The guest's first MAC address (from <mac address> or the lab's QEMU -device argument). */
  mac: string;
  /** What the last read found different from the declared XML and filter (then xmlRef or nwfilter.xmlRef is that note's sha256, so the next diff shows it). */
  drift?: string[];
}

/** Either form the engine may hand the provider: refs (the program's), or contents (states written before the store, tests). */
export type GuestEngineInputs = GuestInputs | GuestRefInputs;

/** What the state keeps of the declared contents, beside the refs. */
export interface DeclaredDigest {
  /** sha256 of normalizeXml(xml): update compares it (a comment or layout change is no hardware change). */
  xmlNormalized: string;
  xmlFacts: DeclaredXmlFacts;
  /** sha256 of normalizeFilterXml(nwfilter.xml): read compares the live filter with it. */
  nwfilterNormalized?: string;
}

export function digestOf(i: Pick<GuestInputs, "xml" | "nwfilter">): DeclaredDigest {
  return {
    xmlNormalized: sha256Hex(normalizeXml(i.xml)),
    xmlFacts: declaredXmlFacts(i.xml),
    ...(i.nwfilter ? { nwfilterNormalized: sha256Hex(normalizeFilterXml(i.nwfilter.xml)) } : {}),
  };
}

/** The program's side: puts the contents into `store` and returns the inputs with refs in their place. */
export function storeGuest(store: string, i: GuestInputs): GuestRefInputs {
  const { xml, seed, nwfilter, ...rest } = i;
  const refs = storeFiles(store, {
    xml,
    "seed.userData": seed.userData,
    "seed.metaData": seed.metaData,
    "seed.networkConfig": seed.networkConfig,
    ...(nwfilter ? { "nwfilter.xml": nwfilter.xml } : {}),
  });
  return {
    ...rest,
    xmlRef: refs.xml as string,
    seedRefs: { userData: refs["seed.userData"] as string, metaData: refs["seed.metaData"] as string, networkConfig: refs["seed.networkConfig"] as string },
    ...(nwfilter ? { nwfilter: { name: nwfilter.name, xmlRef: refs["nwfilter.xml"] as string } } : {}),
    fileStore: store,
  };
}

const hashOf = (v: unknown): unknown => (typeof v === "string" ? sha256Hex(v) : v);

/**
 * The refs of either form without reading the store: a content is hashed, a ref kept. A part
 * not given (or not known yet) stays as it came, so the diff still sees it change.
 */
export function refsOf(p: Record<string, unknown>): { xmlRef?: unknown; seedRefs?: unknown; nwfilter?: unknown } {
  const out: { xmlRef?: unknown; seedRefs?: unknown; nwfilter?: unknown } = {};
  if (p.xmlRef !== undefined && p.xmlRef !== null) out.xmlRef = p.xmlRef;
  else if (p.xml !== undefined && p.xml !== null) out.xmlRef = hashOf(p.xml);
  // In one key order whichever form (the engine hands objects back with their keys sorted; the diff compares JSON).
  if (isRecord(p.seedRefs)) out.seedRefs = Object.fromEntries(SEED_FILES.map((k) => [k, (p.seedRefs as Record<string, unknown>)[k]]));
  else if (p.seedRefs !== undefined && p.seedRefs !== null) out.seedRefs = p.seedRefs;
  else if (isRecord(p.seed)) out.seedRefs = Object.fromEntries(SEED_FILES.map((k) => [k, hashOf((p.seed as Record<string, unknown>)[k])]));
  else if (p.seed !== undefined && p.seed !== null) out.seedRefs = p.seed;
  const nw = p.nwfilter;
  if (isRecord(nw)) out.nwfilter = { name: nw.name, xmlRef: nw.xmlRef !== undefined && nw.xmlRef !== null ? nw.xmlRef : hashOf(nw.xml) };
  else if (nw !== undefined && nw !== null) out.nwfilter = nw;
  return out;
}

/** A content the store cannot give, naming the guest and what to do (FileStoreError's reason). */
export class GuestStoreError extends Error {
  constructor(
    readonly property: string,
    reason: string,
  ) {
    super(reason);
    this.name = "GuestStoreError";
  }
}

function load(p: Record<string, unknown>, property: string, ref: unknown): string {
  const guest = `globenet:vm:Guest ${typeof p.domain === "string" ? p.domain : "(no domain)"}`;
  if (typeof p.fileStore !== "string") throw new GuestStoreError(property, `${guest}: ${property} needs fileStore, the absolute folder of the content store (the program's <data root>/${FILE_STORE_FOLDER})`);
  try {
    return loadRef(p.fileStore, property, ref as string, property);
  } catch (e) {
    if (e instanceof FileStoreError) throw new GuestStoreError(property, `${guest}: ${e.message}`);
    throw e;
  }
}

/** One ref's content; a value not known yet, or not a ref (check names it), is passed on as it came. */
function contentOf(p: Record<string, unknown>, property: string, ref: unknown): unknown {
  if (ref === UNKNOWN || !isRef(ref)) return ref;
  return load(p, property, ref);
}

/**
 * The one accessor of a guest's contents: `p` (inputs or an adoption's facts, either form)
 * with xml, seed and nwfilter.xml as contents, each ref read from `fileStore` and checked
 * against its hash (GuestStoreError, naming the guest, the property and what to do, when a
 * store file is missing, altered or planted). The refs and the store's folder are dropped; a
 * part absent stays absent (an adoption's facts carry no seed).
 */
export function guestContents(p: Record<string, unknown>): Record<string, unknown> {
  const { xmlRef, seedRefs, fileStore: _store, ...rest } = p;
  const out: Record<string, unknown> = { ...rest };
  if (xmlRef !== undefined && xmlRef !== null) out.xml = contentOf(p, "xmlRef", xmlRef);
  if (isRecord(seedRefs)) out.seed = Object.fromEntries(SEED_FILES.map((k) => [k, contentOf(p, `seedRefs.${k}`, seedRefs[k])]));
  else if (seedRefs !== undefined && seedRefs !== null) out.seed = seedRefs;
  const nw = p.nwfilter;
  if (isRecord(nw) && nw.xmlRef !== undefined && nw.xmlRef !== null) out.nwfilter = { name: nw.name, xml: contentOf(p, "nwfilter.xmlRef", nw.xmlRef) };
  return out;
}

/** The refs' properties, for check's failures: each must be a sha256, and fileStore absolute. */
export function refProblems(p: Record<string, unknown>): Array<{ property: string; reason: string }> {
  const out: Array<{ property: string; reason: string }> = [];
  const refsForm = (p.xmlRef ?? p.seedRefs ?? (isRecord(p.nwfilter) ? p.nwfilter.xmlRef : undefined)) !== undefined;
  if (!refsForm) {
    if (p.fileStore !== undefined && p.fileStore !== null) out.push({ property: "fileStore", reason: "only with xmlRef, seedRefs and nwfilter.xmlRef (the folder their contents are in)" });
    return out;
  }
  for (const k of ["xml", "seed"]) if (p[k] !== undefined && p[k] !== null) out.push({ property: k, reason: `give ${k}Ref${k === "seed" ? "s" : ""} (sha256 in fileStore) or ${k} (the contents), not both` });
  const sha = (property: string, v: unknown) => {
    if (v !== UNKNOWN && !isRef(v)) out.push({ property, reason: `must be the sha256 of the content in fileStore (64 lowercase hex digits); got ${JSON.stringify(v)}` });
  };
  sha("xmlRef", p.xmlRef);
  if (p.seedRefs !== UNKNOWN) {
    if (!isRecord(p.seedRefs)) out.push({ property: "seedRefs", reason: "is required: { userData, metaData, networkConfig }, each the sha256 of the file in fileStore" });
    else for (const k of SEED_FILES) sha(`seedRefs.${k}`, p.seedRefs[k]);
  }
  if (isRecord(p.nwfilter)) {
    if (p.nwfilter.xml !== undefined) out.push({ property: "nwfilter.xml", reason: "give nwfilter.xmlRef (sha256 in fileStore) or nwfilter.xml, not both" });
    sha("nwfilter.xmlRef", p.nwfilter.xmlRef);
  }
  if (p.fileStore !== UNKNOWN && (typeof p.fileStore !== "string" || !p.fileStore.startsWith("/"))) {
    out.push({ property: "fileStore", reason: `required with refs: the absolute folder of the content store (<data root>/${FILE_STORE_FOLDER}); got ${JSON.stringify(p.fileStore)}` });
  }
  return out;
}

/** The full form of inputs of either form (create, update, dry outputs): throws GuestStoreError when a content cannot be read. */
export function resolveGuest(p: GuestEngineInputs | Record<string, unknown>): GuestInputs {
  return guestContents(p as Record<string, unknown>) as unknown as GuestInputs;
}
