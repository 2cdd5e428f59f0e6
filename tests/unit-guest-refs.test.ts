/**
 * A guest's XML, seed and filter as sha256 refs into the runner's content store
 * (provider/resources/guest-refs.ts): the program's side (storeGuest), the provider's one
 * accessor (either form, every content checked), the diff against a state of before
 * (contents), the outputs' shape (no content) and the update's judgment from either form.
 * A planted or altered store file is refused, next to the ordinary path.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import type { VpsModel } from "../lib/model/types";
import { NWFILTER_NAME, renderNwfilter } from "../lib/render";
import { sha256Hex } from "../provider/resources/file-set-serials";
import { fileStoreOf, forgetVerified } from "../provider/resources/file-store";
import { declaredOf, filterDrift, guestType, updateSteps, type GuestInputs, type GuestOutputs } from "../provider/resources/guest";
import { xmlDrift } from "../provider/resources/guest-check";
import { digestOf, guestContents, storeGuest, type GuestRefInputs } from "../provider/resources/guest-refs";
import { makeModel } from "./fixtures/model";
import { guestInputsOf } from "./helpers/guest-inputs";

const root = mkdtempSync(join(tmpdir(), "guest-refs-"));
const store = fileStoreOf(root);
afterAll(() => rmSync(root, { recursive: true, force: true }));

function vps(domain: string): VpsModel {
  const v = makeModel().vps.find((x) => x.domain === domain);
  if (!v) throw new Error(`no VPS ${domain}`);
  return v;
}

/** The inputs components/member.ts gives a VPS (the full form). */
function full(v: VpsModel, extra: Partial<GuestInputs> = {}): GuestInputs {
  return guestInputsOf(v, { name: "hv1", address: "198.51.100.7", port: 22, user: "root", hostKey: "ssh-ed25519 AAAAexample" }, extra);
}

const rec = (x: unknown) => x as Record<string, unknown>;
const inputs = full(vps("velo-libre--atelier"));
/** The state a guest had before the refs: its outputs repeated every content. */
const stateOfBefore = { ...inputs, uuid: "6f1c0e4e-0000-4000-8000-000000000001", archives: [], state: "running", mac: "52:54:00:3a:7c:10" };

beforeEach(() => forgetVerified());

describe("the program's side: contents into the store, refs to the engine", () => {
  it("stores the XML, the three seed files and the filter, and registers only their sha256 and the store", () => {
    const r = storeGuest(store, inputs);
    expect(r.xmlRef).toBe(sha256Hex(inputs.xml));
    expect(r.seedRefs).toEqual({ userData: sha256Hex(inputs.seed.userData), metaData: sha256Hex(inputs.seed.metaData), networkConfig: sha256Hex(inputs.seed.networkConfig) });
    expect(r.nwfilter).toEqual({ name: NWFILTER_NAME, xmlRef: sha256Hex(renderNwfilter()) });
    expect(r.fileStore).toBe(store);
    expect(JSON.stringify(r)).not.toContain("<domain");
    expect(JSON.stringify(r)).not.toContain("#cloud-config");
    expect(readFileSync(join(store, r.xmlRef), "utf8")).toBe(inputs.xml);
    // What the engine carries is some hundreds of bytes, not the contents' ~5 KB.
    expect(JSON.stringify(r).length).toBeLessThan(1500);
    expect(JSON.stringify(inputs).length).toBeGreaterThan(3 * JSON.stringify(r).length);
  });

  it("reads back the very contents (the one accessor), and check passes them, answering the refs as they came", () => {
    const r = storeGuest(store, inputs);
    const { fileStore: _f, ...contents } = guestContents(rec(r));
    expect(contents).toEqual(inputs);
    const checked = guestType.check(rec(r));
    expect(checked.failures).toBeUndefined();
    expect(checked.inputs).toEqual(r);
  });

  it("check still judges the contents read from the store: an XML of another domain fails as it did with contents", () => {
    const r = storeGuest(store, { ...inputs, xml: inputs.xml.replace("<name>velo-libre--atelier</name>", "<name>velo-libre--other</name>") });
    expect(guestType.check(rec(r)).failures?.map((f) => `${f.property}: ${f.reason}`)).toEqual(['xml: names the domain "velo-libre--other", not "velo-libre--atelier"']);
  });

  it.each([
    ["a ref that is no sha256", { xmlRef: "../../etc/passwd" }, "xmlRef", "must be the sha256 of the content in fileStore"],
    ["a relative store", { fileStore: "data/.pulumi/globenet-files" }, "fileStore", "required with refs: the absolute folder"],
    ["both forms at once", { xml: inputs.xml }, "xml", "give xmlRef (sha256 in fileStore) or xml (the contents), not both"],
    ["a seed without its refs", { seedRefs: undefined }, "seedRefs", "is required: { userData, metaData, networkConfig }"],
  ])("check refuses %s, naming the property", (_what, change, property, reason) => {
    const r = { ...storeGuest(store, inputs), ...change };
    const failures = guestType.check(rec(r)).failures ?? [];
    expect(failures.find((f) => f.property === property)?.reason).toContain(reason);
  });

  it("a preview's values not known yet pass check", () => {
    const r = { ...storeGuest(store, inputs), xmlRef: "04da6b54-80e4-46f7-96ec-b56ff0331ba9" };
    expect(guestType.check(rec(r)).failures).toBeUndefined();
  });
});

describe("a store file planted or altered is refused, never applied", () => {
  const fresh = (): GuestRefInputs => storeGuest(store, inputs);

  it("an XML altered to the same size: check, create and the dry outputs refuse it, naming the guest and what to do", async () => {
    const r = fresh();
    const file = join(store, r.xmlRef);
    const original = readFileSync(file, "utf8");
    // The attack: the same size, a guest with another disk attached (a member's disk read by another).
    const evil = original.replace("velo-libre--atelier.qcow2", "velo-libre--atelieR.qcow2");
    expect(evil.length).toBe(original.length);
    chmodSync(file, 0o600);
    writeFileSync(file, evil);
    try {
      const failures = guestType.check(rec(r)).failures ?? [];
      expect(failures).toHaveLength(1);
      expect(failures[0]?.property).toBe("xmlRef");
      expect(failures[0]?.reason).toMatch(/^globenet:vm:Guest velo-libre--atelier: xmlRef: the store file \S+ does not hold the content of sha256 [0-9a-f]{64} \(altered or planted, or not a regular file\): it is refused, nothing is applied from it\. Remove it and run again: the program writes the store anew$/);
      await expect(guestType.create(r)).rejects.toThrow(/^globenet:vm:Guest velo-libre--atelier: xmlRef: the store file .* is refused/);
      expect(() => guestType.dryOutputs?.(r)).toThrow(/is refused/);
    } finally {
      // The program writes it anew after its removal, as the message says.
      unlinkSync(file);
      forgetVerified();
    }
    expect(fresh().xmlRef).toBe(r.xmlRef);
    expect(readFileSync(file, "utf8")).toBe(original);
    expect(guestType.check(rec(r)).failures).toBeUndefined();
  });

  it("a seed file replaced by a link to another file is refused (never followed)", () => {
    const r = fresh();
    const file = join(store, r.seedRefs.userData);
    const elsewhere = join(root, "planted");
    writeFileSync(elsewhere, inputs.seed.userData);
    unlinkSync(file);
    symlinkSync(elsewhere, file);
    try {
      expect(guestType.check(rec(r)).failures).toEqual([{ property: "seedRefs.userData", reason: expect.stringMatching(/^globenet:vm:Guest velo-libre--atelier: seedRefs\.userData: the store file .* is refused/) }]);
    } finally {
      unlinkSync(file);
      forgetVerified();
    }
    fresh();
    expect(guestType.check(rec(r)).failures).toBeUndefined();
  });

  it("a store file missing (a checkout moved) says to run again from the program's checkout", () => {
    const r = fresh();
    const elsewhere = { ...r, fileStore: join(root, "moved", ".pulumi", "globenet-files") };
    expect(guestType.check(rec(elsewhere)).failures?.[0]?.reason).toMatch(/^globenet:vm:Guest velo-libre--atelier: xmlRef: \S+ is missing from the file store .* run again from the checkout the program runs in$/);
  });
});

describe("the diff compares refs, never reading the store; a state of before previews as no change", () => {
  const news = () => storeGuest(store, inputs);

  it("the state of before (contents in its inputs and outputs) against the new program: no change", () => {
    expect(guestType.diff("velo-libre--atelier", stateOfBefore as unknown as GuestOutputs, news())).toMatchObject({ changes: false, diffs: [], replaces: [] });
  });

  it("whatever the key order the engine hands the refs back in (its objects come back with sorted keys)", () => {
    const r = news();
    const sorted = { ...r, seedRefs: { metaData: r.seedRefs.metaData, networkConfig: r.seedRefs.networkConfig, userData: r.seedRefs.userData } };
    const sortedSeed = { ...stateOfBefore, seed: { metaData: inputs.seed.metaData, networkConfig: inputs.seed.networkConfig, userData: inputs.seed.userData } };
    expect(guestType.diff("x", stateOfBefore as unknown as GuestOutputs, sorted).changes).toBe(false);
    expect(guestType.diff("x", sortedSeed as unknown as GuestOutputs, r).changes).toBe(false);
    expect(guestType.diff("x", guestType.dryOutputs?.(r) as GuestOutputs, sorted).changes).toBe(false);
  });

  it("a state of now (dry outputs: refs, no content) against the same program: no change, whichever folder the store is in", () => {
    const outs = guestType.dryOutputs?.(news()) as GuestOutputs;
    expect(guestType.diff("velo-libre--atelier", outs, { ...news(), fileStore: "/elsewhere/.pulumi/globenet-files" })).toMatchObject({ changes: false, diffs: [] });
  });

  it.each([
    ["the XML", { xml: `${inputs.xml}<!-- changed -->` }, ["xmlRef"]],
    ["a seed file", { seed: { ...inputs.seed, userData: `${inputs.seed.userData}# changed\n` } }, ["seedRefs"]],
    ["the filter", { nwfilter: { name: NWFILTER_NAME, xml: renderNwfilter().replace("</filter>", "<!-- x --></filter>") } }, ["nwfilter"]],
    ["memory", { memoryMb: 4096 }, ["memoryMb"]],
  ])("%s changed, from a state of before and of now alike, is named by its ref", (_what, change, diffs) => {
    const changed = storeGuest(store, { ...inputs, ...change });
    expect(guestType.diff("x", stateOfBefore as unknown as GuestOutputs, changed)).toMatchObject({ changes: true, diffs, replaces: [] });
    expect(guestType.diff("x", guestType.dryOutputs?.(news()) as GuestOutputs, changed)).toMatchObject({ changes: true, diffs, replaces: [] });
  });

  it("the diff reads no store: refs whose store is gone diff all the same", () => {
    const gone = { ...news(), fileStore: join(root, "gone") };
    expect(guestType.diff("x", stateOfBefore as unknown as GuestOutputs, gone).changes).toBe(false);
  });
});

describe("the state's outputs carry refs and hashes, not the contents", () => {
  it("dry outputs: the refs, the normalized XML's and filter's hashes, the declared XML's facts; no XML, seed or store", () => {
    const outs = guestType.dryOutputs?.(storeGuest(store, inputs)) as GuestOutputs;
    const text = JSON.stringify(outs);
    for (const k of ["xml", "seed", "fileStore"]) expect(outs).not.toHaveProperty(k);
    expect(text).not.toContain("<domain");
    expect(text).not.toContain("#cloud-config");
    expect(outs).toMatchObject({ xmlRef: sha256Hex(inputs.xml), nwfilter: { name: NWFILTER_NAME, xmlRef: sha256Hex(renderNwfilter()) }, mac: "52:54:00:3a:7c:10", state: "running", archives: [] });
    expect(outs).toEqual(expect.objectContaining(digestOf(inputs)));
    expect(outs.xmlFacts.files).toEqual([inputs.diskPath, inputs.seedPath]);
    // 1.47 MB for 100 guests at 2,000 members (inputs and outputs each ~7 KB): now well under 2 KB.
    expect(text.length).toBeLessThan(2000);
    expect(JSON.stringify(stateOfBefore).length).toBeGreaterThan(3 * text.length);
  });

  it("read judges drift from the state's facts as it did from the XML itself", () => {
    const live = inputs.xml.replace("52:54:00:3a:7c:10", "52:54:00:aa:bb:cc");
    expect(xmlDrift(declaredOf(inputs).xmlFacts, live)).toEqual(xmlDrift(inputs.xml, live));
    expect(xmlDrift(declaredOf(inputs).xmlFacts, live)).toEqual(["MACs 52:54:00:aa:bb:cc (declared 52:54:00:3a:7c:10)"]);
    expect(xmlDrift(declaredOf(inputs).xmlFacts, inputs.xml.replace(/<!--[^\n]*-->/, ""))).toEqual([]);
  });

  it("read judges the filter from the hash of its normalized XML: libvirt's layout is no drift, another rule is", () => {
    const declared = { name: NWFILTER_NAME, normalized: declaredOf(inputs).nwfilterNormalized };
    const asLibvirtKeepsIt = renderNwfilter().replace(/<uuid>[^<]*<\/uuid>/, "<uuid>00000000-0000-4000-8000-000000000000</uuid>").replace(/\n\s*/g, "\n    ");
    expect(filterDrift(declared, { live: asLibvirtKeepsIt, absent: false, ports: [] })).toEqual({ filter: [], domain: [] });
    expect(filterDrift(declared, { live: renderNwfilter().replace("</filter>", "<rule action='accept' direction='out'><all/></rule></filter>"), absent: false, ports: [] }).filter).toEqual([`filter ${NWFILTER_NAME} differs from the declared one`]);
  });
});

describe("the update's steps, from a state of before or of now", () => {
  const now = () => guestType.dryOutputs?.(storeGuest(store, inputs)) as unknown as Record<string, unknown>;
  it.each([
    ["nothing changed", inputs, { hardware: false, redefine: false, reseed: false }],
    ["a comment-only XML change is no hardware change", { ...inputs, xml: inputs.xml.replace(/<!--[^\n]*-->/, "<!-- Generated elsewhere -->") }, { hardware: false, redefine: false, reseed: false }],
    ["another MAC is", { ...inputs, xml: inputs.xml.replace("52:54:00:3a:7c:10", "52:54:00:aa:bb:cc") }, { hardware: true, redefine: true, reseed: false }],
    ["a new seed needs no restart", { ...inputs, seed: { ...inputs.seed, metaData: `${inputs.seed.metaData}# x\n` } }, { hardware: false, redefine: false, reseed: true }],
  ])("%s", (_what, news, want) => {
    expect(updateSteps(rec(stateOfBefore), news)).toEqual(want);
    expect(updateSteps(now(), news)).toEqual(want);
  });

  it("a state whose read found the XML drifted redefines it (its normalized hash is the note's)", () => {
    const drifted = { ...now(), xmlRef: sha256Hex("drift: x"), xmlNormalized: sha256Hex("drift: x") };
    expect(updateSteps(drifted, inputs)).toEqual({ hardware: true, redefine: true, reseed: false });
  });
});
