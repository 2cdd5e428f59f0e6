import type { DiffResult } from "@pulumi/pulumi/provider";
import { changedKeys, type ResourceType, type Target } from "../types";
import { run } from "../ssh/remote";
import { tarOf } from "../ssh/tar";
import { checkGuest, DEFAULT_SHUTDOWN_TIMEOUT_SEC, domainFacts, inputsOf, liveDiskPath, normalizeFilterXml, normalizeXml, xmlDrift, type GuestInputs } from "./guest-check";
import { digestOf, guestContents, GuestStoreError, refProblems, refsOf, resolveGuest, type DeclaredDigest, type GuestEngineInputs, type GuestOutputs, type GuestRefs } from "./guest-refs";
import { sha256Hex } from "./file-set-serials";
import { isRecord } from "../../lib/base/record";
import { storeFiles } from "./file-store";
import { sameHost } from "./account-shared";
import { CREATE, DELETE, READ, UPDATE } from "./guest-scripts";

export type { GuestInputs } from "./guest-check";
export type { GuestEngineInputs, GuestOutputs, GuestRefInputs } from "./guest-refs";

/*
 * globenet:vm:Guest — a libvirt guest on a hypervisor: its disk (a qcow2 overlay of a base
 * image), its cloud-init seed ISO and its domain definition. One SSH round trip per step; the
 * scripts are in guest-scripts.ts. Its XML, seed and filter reach it as sha256 refs into the
 * runner's content store (./guest-refs.ts), read back and checked at this boundary; the state
 * keeps refs and hashes, never the contents.
 */

/**
 * Changes that replace the guest. A new domain name, base image or disk path means a new
 * disk, and the disk is the machine: a fresh overlay boots as a new machine whose data starts
 * empty, so it is a replacement (the old guest's disk is archived by its delete), never an
 * update. Moving to another hypervisor (target.name and its address both change) is a new
 * machine there as well. Everything else (vCPUs, memory, disk growth, seed, XML, running) is
 * changed in place.
 */
const REPLACE_KEYS = ["domain", "baseImage", "diskPath"];

/** Timings and notes the scripts print, and their key=value results. */
interface Parsed {
  values: Map<string, string[]>;
  timings: Record<string, number>;
}

function parse(stdout: string): Parsed {
  const values = new Map<string, string[]>();
  const timings: Record<string, number> = {};
  for (const line of stdout.split("\n")) {
    const eq = line.indexOf("=");
    if (eq <= 0) continue;
    const k = line.slice(0, eq);
    const v = line.slice(eq + 1);
    if (k === "timing") {
      const [what, secs] = v.split(":");
      if (what) timings[what] = Number(secs);
      continue;
    }
    values.set(k, [...(values.get(k) ?? []), v]);
  }
  return { values, timings };
}

const one = (p: Parsed, k: string): string | undefined => p.values.get(k)?.[0];
const b64 = (s: string | undefined): string => Buffer.from(s ?? "", "base64").toString("utf8");

/** The last step's timings (seconds), for tests and the bench. */
export const lastTimings: Record<string, number> = {};

function log(t: Target, domain: string, text: string): void {
  // Provider code logs to stderr only (the engine reads the plugin's port on stdout).
  process.stderr.write(`globenet:vm:Guest ${domain} on ${t.name}: ${text}\n`);
}

/** Runs one of the scripts; "note: " lines on stderr are passed on, failures explained. */
async function step(i: Pick<GuestInputs, "target" | "domain" | "baseImage">, script: string, what: string, args: string[], stdin?: Buffer): Promise<Parsed> {
  const r = await run(i.target, script, { args, stdin, check: false, what });
  const notes = r.stderr.split("\n").filter((l) => l.startsWith("note: "));
  for (const n of notes) log(i.target, i.domain, n.slice(6));
  const errText = r.stderr
    .split("\n")
    .filter((l) => l && !l.startsWith("note: "))
    .join("\n")
    .trim();
  if (r.code === 3) {
    throw new Error(`base image ${i.baseImage} not found on ${i.target.name}: ${errText} (put the image there first; nothing was created)`);
  }
  if (r.code !== 0) {
    throw new Error(`${i.target.name}: ${what} of ${i.domain} failed (exit ${r.code}):\n${errText || r.stdout.trim()}`);
  }
  const p = parse(r.stdout);
  for (const k of Object.keys(lastTimings)) delete lastTimings[k];
  Object.assign(lastTimings, p.timings);
  return p;
}

function payload(i: GuestInputs): Promise<Buffer> {
  return tarOf({
    "domain.xml": i.xml,
    "seed/user-data": i.seed.userData,
    "seed/meta-data": i.seed.metaData,
    "seed/network-config": i.seed.networkConfig,
    ...(i.nwfilter ? { "nwfilter.xml": i.nwfilter.xml } : {}),
  });
}

/**
 * What the read found of the network filter, as drift: the filter missing or changed on the
 * hypervisor, or its rules gone from a running guest's port (an update defines the filter and
 * puts the rules back); a bridged port with no binding at all needs the domain restarted, so
 * it counts as a domain change. Empty lists: nothing to say.
 */
export function filterDrift(declared: { name: string; normalized?: string } | undefined, p: { live?: string; absent: boolean; ports: string[] }): { filter: string[]; domain: string[] } {
  const filter: string[] = [];
  const domain: string[] = [];
  if (!declared) return { filter, domain };
  if (p.absent) filter.push(`filter ${declared.name} is not defined on the hypervisor`);
  else if (p.live !== undefined && sha256Hex(normalizeFilterXml(p.live)) !== declared.normalized) filter.push(`filter ${declared.name} differs from the declared one`);
  for (const port of p.ports) {
    const [dev, name, state] = port.split(" ");
    if (state === "unbound") domain.push(`port ${dev} has no network filter`);
    else if (state === "rules-missing") filter.push(`the rules of ${name} are missing on port ${dev}`);
    else if (name !== declared.name) domain.push(`port ${dev} is bound to ${name}, not ${declared.name}`);
  }
  return { filter, domain };
}

/** The state's form of a guest without what libvirt says: its inputs, refs in place of the contents, and the declared digest. */
type Declared = Omit<GuestOutputs, "uuid" | "archives" | "state" | "mac" | "drift">;

/** The inputs of either form without the contents, their refs or the store (what every form shares). */
function plainOf(p: Record<string, unknown>): Omit<GuestInputs, "xml" | "seed" | "nwfilter"> {
  const { xml: _x, seed: _s, nwfilter: _n, xmlRef: _xr, seedRefs: _sr, fileStore: _f, ...rest } = inputsOf(p) as unknown as Record<string, unknown>;
  return rest as unknown as Omit<GuestInputs, "xml" | "seed" | "nwfilter">;
}

/** The state's form of full inputs: refs (each content's sha256) and the digest of the declared contents. */
export function declaredOf(i: GuestInputs): Declared {
  return { ...plainOf(i as unknown as Record<string, unknown>), ...(refsOf(i as unknown as Record<string, unknown>) as unknown as GuestRefs), ...digestOf(i) };
}

/**
 * What a state (outputs of either form) declares, without any store: a refresh runs without
 * the program. A state written before the refs carries the contents: they are hashed here.
 */
function declaredOfState(props: Record<string, unknown>): Declared {
  const i = inputsOf(props);
  if (typeof props.xmlNormalized !== "string" || !isRecord(props.xmlFacts)) return declaredOf({ ...i, xml: i.xml ?? "" });
  return {
    ...plainOf(props),
    ...(refsOf(i as unknown as Record<string, unknown>) as unknown as GuestRefs),
    xmlNormalized: props.xmlNormalized,
    xmlFacts: props.xmlFacts as unknown as DeclaredDigest["xmlFacts"],
    ...(typeof props.nwfilterNormalized === "string" ? { nwfilterNormalized: props.nwfilterNormalized } : {}),
  };
}

/** What the diff compares: the inputs with refs in place of contents (hashed when a state of before carries them), without the store's folder. */
function comparable(p: Record<string, unknown>): Record<string, unknown> {
  const i = inputsOf(p) as unknown as Record<string, unknown>;
  return { ...plainOf(i), ...refsOf(i) };
}

function outputs(i: GuestInputs, p: Parsed): GuestOutputs {
  const uuid = one(p, "uuid");
  if (!uuid) throw new Error(`${i.target.name}: libvirt reported no UUID for ${i.domain}`);
  return {
    ...declaredOf(i),
    uuid,
    archives: p.values.get("archive") ?? [],
    state: one(p, "state") ?? "",
    mac: domainFacts(i.xml).macs[0] ?? "",
  };
}

function timeout(i: Pick<GuestInputs, "shutdownTimeoutSec">): string {
  return String(i.shutdownTimeoutSec ?? DEFAULT_SHUTDOWN_TIMEOUT_SEC);
}

const GIB = 1024 ** 3;

function bootArgs(i: GuestInputs): string[] {
  return (i.bootFiles ?? []).flatMap((b) => [b.from, b.to]);
}

/** A note's sha256, in place of a ref whose content the host no longer has: the next diff shows that property changed. */
const driftRef = (notes: string[]): string => sha256Hex(`drift: ${notes.join("; ")}`);

/**
 * The guest as it runs, judged against what `i` declares (the state's digest, or an
 * adoption's facts'): undefined when the domain is not defined. Also what an adoption needs
 * beyond the outputs: the live XML, its files, the disk's base image and the live seed.
 */
async function readLive(i: Declared): Promise<{ outs: GuestOutputs; liveXml: string; liveFiles: string[]; backing: string; seed: GuestInputs["seed"] } | undefined> {
  const r = await run(i.target, READ, { args: [i.domain, i.diskPath, i.seedPath, i.archiveDir, ...(i.nwfilter ? [i.nwfilter.name] : [])], what: `reading guest ${i.domain}` });
  const p = parse(r.stdout);
  if (one(p, "absent")) return undefined;
  const liveXml = b64(one(p, "xml"));
  const facts = domainFacts(liveXml);
  const disk = one(p, "disk");
  let diskGb = 0;
  let backing = "";
  if (disk) {
    const info = JSON.parse(b64(disk)) as { "virtual-size"?: number; "full-backing-filename"?: string; "backing-filename"?: string };
    diskGb = (info["virtual-size"] ?? 0) / GIB;
    backing = info["full-backing-filename"] ?? info["backing-filename"] ?? "";
  }
  const hasSeed = p.values.has("seed.user-data");
  const seed = {
    userData: hasSeed ? b64(one(p, "seed.user-data")) : "",
    metaData: hasSeed ? b64(one(p, "seed.meta-data")) : "",
    networkConfig: hasSeed ? b64(one(p, "seed.network-config")) : "",
  };
  const filters = filterDrift(i.nwfilter && { name: i.nwfilter.name, normalized: i.nwfilterNormalized }, { live: p.values.has("nwfilter") ? b64(one(p, "nwfilter")) : undefined, absent: p.values.has("nwfilter.absent"), ports: p.values.get("port") ?? [] });
  const drift = [...xmlDrift(i.xmlFacts, liveXml), ...filters.domain];
  const state = one(p, "state") ?? "";
  const notes = [...(drift.length ? [`live definition differs from the declared XML: ${drift.join("; ")}`] : []), ...filters.filter];
  const outs: GuestOutputs = {
    ...i,
    // libvirt normalises the XML, so the declared ref is kept unless the live definition
    // differs where it matters; then the state carries that difference (drift) and a ref of
    // it, so the next diff shows the XML as changed and the update re-defines it (a hardware
    // change: its normalized hash is that ref too).
    ...(drift.length ? { xmlRef: driftRef(drift), xmlNormalized: driftRef(drift) } : {}),
    // The same for the filter: a changed ref makes the next diff an update, which defines
    // the filter again and puts back the rules of the guest's ports (no restart).
    ...(i.nwfilter && filters.filter.length ? { nwfilter: { name: i.nwfilter.name, xmlRef: driftRef(filters.filter) } } : {}),
    // The live seed's hashes: a seed changed on the host shows in the next diff.
    seedRefs: refsOf({ seed }).seedRefs as GuestInputs["seed"],
    diskGb,
    vcpus: facts.vcpus ?? 0,
    memoryMb: facts.memoryMb ?? 0,
    running: state === "running",
    uuid: one(p, "uuid") ?? "",
    archives: p.values.get("archive") ?? [],
    state,
    mac: facts.macs[0] ?? "",
    ...(notes.length ? { drift: notes } : {}),
  };
  return { outs, liveXml, liveFiles: facts.files, backing, seed };
}

/**
 * What an update does, from the state (either form: its digest, or the contents of before)
 * and the new full inputs. What the guest sees as hardware: a change needs the persistent
 * definition re-defined and, if the guest runs, a restart (shutdown, start) to take effect. A
 * comment-only XML change (the generated notice) is none. cloud-init reads the seed at boot:
 * a new seed needs no restart of its own.
 */
export function updateSteps(olds: Record<string, unknown>, news: GuestInputs): { hardware: boolean; redefine: boolean; reseed: boolean } {
  const o = inputsOf(olds);
  const hardware = declaredOfState(olds).xmlNormalized !== sha256Hex(normalizeXml(news.xml)) || o.vcpus !== news.vcpus || o.memoryMb !== news.memoryMb;
  const reseed = JSON.stringify(refsOf(o as unknown as Record<string, unknown>).seedRefs) !== JSON.stringify(refsOf(news as unknown as Record<string, unknown>).seedRefs) || o.seedPath !== news.seedPath;
  return { hardware, redefine: hardware || o.seedPath !== news.seedPath, reseed };
}

export const guestType: ResourceType<GuestEngineInputs, GuestOutputs> = {
  /** Refs read from the store and checked; the contents checked as ever; the inputs answered as they came (refs stay refs). */
  check(news) {
    const problems = refProblems(news);
    if (problems.length) return { failures: problems };
    let full: Record<string, unknown>;
    try {
      full = guestContents(news);
    } catch (e) {
      if (e instanceof GuestStoreError) return { failures: [{ property: e.property, reason: e.message }] };
      throw e;
    }
    const r = checkGuest(full);
    const inputs = inputsOf(news) as GuestEngineInputs;
    return r.failures?.length ? { inputs, failures: r.failures } : { inputs };
  },

  diff(_id, olds, news): DiffResult & { diffs: string[] } {
    // Refs on both sides, never a store read: a state of before (contents) is hashed, so the
    // same contents are no change.
    const o = comparable(olds as unknown as Record<string, unknown>) as unknown as GuestInputs;
    const n = comparable(news as unknown as Record<string, unknown>) as unknown as GuestInputs;
    const changed = changedKeys(o as unknown as Record<string, unknown>, n as unknown as Record<string, unknown>);
    const replaces = changed.filter((k) => REPLACE_KEYS.includes(k));
    const otherHost = !sameHost(o.target, n.target);
    if (otherHost) replaces.push("target");
    if (replaces.length === 0 && typeof o.diskGb === "number" && typeof n.diskGb === "number" && n.diskGb < o.diskGb) {
      // Fail the preview itself, so the merge request shows it before anything is applied.
      throw new Error(
        `${n.domain}: diskGb cannot go from ${o.diskGb} to ${n.diskGb}: shrinking a disk would lose data. ` +
          `Keep ${o.diskGb} or more (or give the VPS a new disk, which archives the old one).`,
      );
    }
    return {
      changes: changed.length > 0,
      // The changed properties, for the plan (the guards read them: an adoption's restarts, a replacement's cause).
      diffs: otherHost && !changed.includes("target") ? [...changed, "target"] : changed,
      replaces,
      // On the same hypervisor the new guest would collide with the old one (same name, disk
      // or seed path, and the same capacity), so the old one goes (archived) first.
      deleteBeforeReplace: replaces.length > 0 && !otherHost,
    };
  },

  async create(raw) {
    const i = resolveGuest(raw);
    const p = await step(
      i,
      CREATE,
      "creating the guest",
      [i.domain, i.diskPath, i.seedPath, i.baseImage, String(i.diskGb), i.running ? "1" : "0", i.archiveDir, ...bootArgs(i)],
      await payload(i),
    );
    return { id: i.domain, outs: outputs(i, p) };
  },

  async read(_id, props) {
    // The state alone (refs, the declared digest): a refresh has no program, so maybe no store.
    const i = declaredOfState(props as unknown as Record<string, unknown>);
    if (!i.target || !i.domain) throw new Error(`globenet:vm:Guest ${_id}: the state holds no target/domain to read from (adopt it with npm run up -- --adopt)`);
    return (await readLive(i))?.outs;
  },

  /**
   * Adoption of a guest that runs (provider/adopt-ids.ts): the same read, from the declared
   * names and paths the id carries (its XML and filter included, to judge drift as the read
   * does), never touching the domain. What runs is what the state gets: vCPUs, memory, disk
   * size, seed contents, running, the base image the disk is an overlay of and, when the
   * declared disk is not the one the domain uses, the live disk path (then the diff is a
   * replacement, which the adoption guard refuses: a disk is never made anew by adopting).
   */
  async adopt(id, facts) {
    const given = inputsOf({ ...facts, domain: facts.domain ?? id }) as unknown as Record<string, unknown>;
    if (!given.target || !given.domain) throw new Error(`globenet:vm:Guest ${id}: the adoption id carries no hypervisor or domain (run the adoption again from the CLI: npm run up -- --adopt)`);
    // The declared XML and filter, read from the program's store and checked (or contents, an id of before).
    const declared = guestContents(given) as unknown as GuestInputs;
    const i: Declared = { ...plainOf(given), ...(refsOf(given) as unknown as GuestRefs), ...digestOf({ xml: typeof declared.xml === "string" ? declared.xml : "", nwfilter: declared.nwfilter }) };
    const live = await readLive(i);
    if (!live) {
      throw new Error(
        `${i.target.name}: there is no libvirt domain ${i.domain} to adopt (virsh list --all): adoption takes over what runs and creates nothing; ` +
          `check the domain's name on the host, or leave members/<handle>/vps/<name>.yaml out of the adoption and add it afterwards (a new VPS is created)`,
      );
    }
    const disk = liveDiskPath(live.liveXml) ?? "";
    const outs: GuestOutputs = {
      ...live.outs,
      diskPath: live.liveFiles.includes(i.diskPath) ? i.diskPath : disk,
      baseImage: live.liveFiles.includes(i.diskPath) ? live.backing : "",
    };
    // The import's inputs in the facts' form: with the program's store, refs (the live seed
    // written into it, as a file set's adoption does: the import's inputs are then whole
    // refs, each readable); else contents.
    const store = typeof facts.fileStore === "string" ? facts.fileStore : undefined;
    const { seedRefs: _r, xmlRef, nwfilter, ...rest } = inputsOf(outs as unknown as Record<string, unknown>) as unknown as Record<string, unknown>;
    // Of an id of before: the declared contents, unless the read found them drifted (then the note, as before the refs).
    const driftNote = `<!-- ${(live.outs.drift ?? []).join("; ").replace(/--/g, "- -")} -->`;
    const contents = store
      ? { xmlRef, seedRefs: refsOf({ seedRefs: storeFiles(store, live.seed) }).seedRefs, ...(nwfilter ? { nwfilter } : {}), fileStore: store }
      : {
          xml: xmlRef === i.xmlRef ? declared.xml : driftNote,
          seed: live.seed,
          ...(declared.nwfilter ? { nwfilter: isRecord(nwfilter) && nwfilter.xmlRef === i.nwfilter?.xmlRef ? declared.nwfilter : { name: declared.nwfilter.name, xml: driftNote } } : {}),
        };
    return { outs, inputs: { ...rest, ...contents } };
  },

  async update(_id, olds, raw) {
    const news = resolveGuest(raw);
    const o = inputsOf(olds as unknown as Record<string, unknown>);
    if (news.diskGb < o.diskGb) {
      throw new Error(`${news.domain}: diskGb cannot go from ${o.diskGb} to ${news.diskGb}: shrinking a disk would lose data, refused`);
    }
    const { hardware, redefine, reseed } = updateSteps(olds as unknown as Record<string, unknown>, news);
    const p = await step(
      news,
      UPDATE,
      "updating the guest",
      [
        news.domain,
        news.diskPath,
        news.seedPath,
        o.seedPath ?? news.seedPath,
        String(news.diskGb),
        news.running ? "1" : "0",
        timeout(news),
        redefine ? "1" : "0",
        reseed ? "1" : "0",
        hardware ? "1" : "0",
        news.archiveDir,
        ...bootArgs(news),
      ],
      await payload(news),
    );
    return outputs(news, p);
  },

  async delete(_id, props) {
    // Names and paths only: no content is needed (nor any store).
    const i = plainOf(props as unknown as Record<string, unknown>);
    // The script's "note: archived the disk of … to <path>" reaches stderr through step().
    await step(i, DELETE, "deleting the guest", [i.domain, i.diskPath, i.seedPath, i.archiveDir, timeout(i), i.baseImage, ...(i.bootFiles ?? []).map((b) => b.to)]);
  },

  /** The bench's dry mode (provider/dry-run.ts): the outputs' real shape, refs and digest, no host. */
  dryOutputs(raw, olds) {
    const i = resolveGuest(raw);
    return {
      ...declaredOf(i),
      uuid: olds?.uuid ?? `dry-${sha256Hex(i.domain).slice(0, 32)}`,
      archives: olds?.archives ?? [],
      state: i.running ? "running" : "shut off",
      mac: domainFacts(i.xml).macs[0] ?? "",
    };
  },
};
