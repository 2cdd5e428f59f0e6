import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { RESOURCE_TOKENS } from "../lib/base/tokens";
import { driftDetails } from "../lib/ci/drift";
import type { PlanStep } from "../lib/guard/plan";
import { judge } from "../lib/guard/rules";
import { SERIAL_TOKEN } from "../lib/render/bind-zone";
import { adoptedProps, adoptionOf } from "../provider/adopt-ids";
import { fileSetType, outputsOf, wantedHashes, type FileSetEngineInputs, type FileSetOutputs } from "../provider/resources/file-set";
import { checkInputs, parseInputs } from "../provider/resources/file-set-inputs";
import { generationOf, hashesOf, manifestText, nextSerial, parseManifest, planSerials, sha256Hex, substituteSerials, todaySerial, tokenDigestOf } from "../provider/resources/file-set-serials";
import { FILE_STORE_FOLDER, fileStoreOf, FileStoreError, forgetVerified, loadFiles, loadManifest, setFiles, setPaths, storeFiles, storeManifest } from "../provider/resources/file-store";

/**
 * The file sets' content store (provider/resources/file-store.ts): the program hands the engine
 * sha256 refs into a store on the runner instead of the contents; the provider reads them back,
 * refusing what does not match its hash. A state written with contents sees no change.
 */

const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPlQXbhaVkrio35CyUBbYuHfFAYU5pxDpkEEQoZ/+664 test";
const target = { name: "ns1", address: "192.0.2.53", port: 22, user: "root", hostKey: HOST_KEY };
const ZONE = "zones/velo.test.zone";
const CONF = "named.conf.globenet";
const zoneText = (extra = "") => `$TTL 300\n@ IN SOA ns1.velo.test. hostmaster.velo.test. ( ${SERIAL_TOKEN} ; serial\n 3600 600 86400 300 )\n@ IN NS ns1.velo.test.\n${extra}`;
const bind = { [CONF]: 'zone "velo.test" { type master; file "zones/velo.test.zone"; };\n', [ZONE]: zoneText() };

const tmp = mkdtempSync(join(tmpdir(), "globenet-file-store-"));
let n = 0;
/** A new store folder (inside a data root) per test: the module's per-process memo never hides a test's store. */
const newStore = () => fileStoreOf(join(tmp, `root-${++n}`));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
beforeEach(() => forgetVerified());

describe("the store: what the program writes", () => {
  it("writes each content under its sha256, folder 0700 and files 0600, no temporary file left; refs are path → sha256", () => {
    const store = newStore();
    expect(store.endsWith(FILE_STORE_FOLDER)).toBe(true);
    const refs = storeFiles(store, bind);
    expect(refs).toEqual({ [CONF]: sha256Hex(bind[CONF]), [ZONE]: sha256Hex(bind[ZONE]) });
    expect(statSync(store).mode & 0o777).toBe(0o700);
    for (const r of Object.values(refs)) {
      expect(statSync(join(store, r)).mode & 0o777).toBe(0o600);
    }
    expect(readFileSync(join(store, refs[ZONE] as string), "utf8")).toBe(bind[ZONE]);
    expect(readdirSync(store).sort()).toEqual(Object.values(refs).sort());
  });

  it("keeps a store file of the right size (same inode), rewrites one cut short or planted, and tightens a loose folder", () => {
    const store = newStore();
    const ref = storeFiles(store, bind)[ZONE] as string;
    const inode = statSync(join(store, ref)).ino;
    forgetVerified();
    storeFiles(store, bind);
    expect(statSync(join(store, ref)).ino).toBe(inode);
    // Someone plants other content under the zone's name, and opens the folder.
    writeFileSync(join(store, ref), "zone evil.test { type master; };\n");
    chmodSync(store, 0o777);
    forgetVerified();
    storeFiles(store, bind);
    expect(readFileSync(join(store, ref), "utf8")).toBe(bind[ZONE]);
    expect(statSync(store).mode & 0o777).toBe(0o700);
  });

  it("a file altered to the same size is kept by the program (it reads nothing back) and refused by every read; removed, it is written again", () => {
    const store = newStore();
    const refs = storeFiles(store, bind);
    const file = join(store, refs[ZONE] as string);
    const evil = bind[ZONE].replace("ns1.velo.test.", "ns6.evil.test.");
    expect(evil.length).toBe(bind[ZONE].length);
    writeFileSync(file, evil);
    forgetVerified();
    expect(storeFiles(store, bind)).toEqual(refs);
    expect(readFileSync(file, "utf8")).toBe(evil);
    expect(() => loadFiles(store, refs)).toThrow(/does not hold the content of sha256 .*Remove it and run again: the program writes the store anew/);
    rmSync(file);
    forgetVerified();
    storeFiles(store, bind);
    expect(loadFiles(store, refs)).toEqual(bind);
  });

  it("a link planted in the store's place is refused: nothing is written, no mode set where it points", () => {
    const root = join(tmp, `root-${++n}`);
    const elsewhere = join(tmp, `elsewhere-${n}`);
    mkdirSync(join(root, ".pulumi"), { recursive: true });
    mkdirSync(elsewhere, { mode: 0o755 });
    chmodSync(elsewhere, 0o755);
    symlinkSync(elsewhere, fileStoreOf(root));
    expect(() => storeFiles(fileStoreOf(root), bind)).toThrow(/the file store .* is not a folder \(a link\?\): remove it and run again/);
    expect(readdirSync(elsewhere)).toEqual([]);
    expect(statSync(elsewhere).mode & 0o777).toBe(0o755);
  });

  it("a link planted under a content's name is replaced, never written through", () => {
    const store = newStore();
    mkdirSync(store, { recursive: true, mode: 0o700 });
    const victim = join(tmp, `victim-${n}`);
    writeFileSync(victim, "untouched\n");
    const ref = sha256Hex(bind[CONF]);
    symlinkSync(victim, join(store, ref));
    storeFiles(store, bind);
    expect(readFileSync(victim, "utf8")).toBe("untouched\n");
    expect(lstatSync(join(store, ref)).isFile()).toBe(true);
  });
});

describe("the one accessor of a set's contents (setFiles), from either form", () => {
  const cases: [string, (store: string) => Record<string, unknown> | undefined, Record<string, string> | undefined | RegExp][] = [
    ["contents as they are (old states, tests)", () => ({ files: bind }), bind],
    ["refs read from the store", (store) => ({ fileRefs: storeFiles(store, bind), fileStore: store }), bind],
    ["refs of a store file removed", (store) => {
      const refs = storeFiles(store, bind);
      rmSync(join(store, refs[ZONE] as string));
      return { fileRefs: refs, fileStore: store };
    }, /fileRefs\["zones\/velo\.test\.zone"\]: .* is missing from the file store .* run again from the checkout the program runs in/],
    ["refs of a store file altered", (store) => {
      const refs = storeFiles(store, bind);
      writeFileSync(join(store, refs[ZONE] as string), zoneText("evil IN A 192.0.2.66\n"));
      return { fileRefs: refs, fileStore: store };
    }, /fileRefs\["zones\/velo\.test\.zone"\]: the store file .* does not hold the content of sha256 [0-9a-f]{64} \(altered or planted.*\): it is refused, nothing is applied from it\. Remove it and run again/],
    ["a ref that is no sha256", (store) => ({ fileRefs: { [ZONE]: "../../etc/shadow" }, fileStore: store }), /fileRefs\["zones\/velo\.test\.zone"\]: not a sha256/],
    ["a relative store folder", () => ({ fileRefs: { [ZONE]: sha256Hex(bind[ZONE]) }, fileStore: "relative/store" }), /fileStore must be an absolute folder/],
    ["a secret shown as such", () => ({ files: "[secret]" }), undefined],
    ["neither form", () => ({ kind: "www" }), undefined],
  ];
  it.each(cases)("%s", (_what, make, want) => {
    const props = make(newStore());
    if (want instanceof RegExp) {
      expect(() => setFiles(props)).toThrow(FileStoreError);
      expect(() => setFiles(props)).toThrow(want);
    } else expect(setFiles(props)).toEqual(want);
  });

  it("a file planted under a ref's name with the wrong content is refused; the program's own write then serves it", () => {
    const store = newStore();
    mkdirSync(store, { recursive: true, mode: 0o700 });
    const refs = { [CONF]: sha256Hex(bind[CONF]), [ZONE]: sha256Hex(bind[ZONE]) };
    writeFileSync(join(store, refs[CONF]), bind[CONF]);
    writeFileSync(join(store, refs[ZONE]), zoneText("www IN A 192.0.2.66\n"));
    expect(() => loadFiles(store, refs)).toThrow(/fileRefs\["zones\/velo\.test\.zone"\].*refused/);
    expect(storeFiles(store, bind)).toEqual(refs);
    expect(loadFiles(store, refs)).toEqual(bind);
  });

  it("a content read once is not read again in the same process (check, diff and apply of one preview)", () => {
    const store = newStore();
    const refs = storeFiles(store, bind);
    expect(loadFiles(store, refs)).toEqual(bind);
    rmSync(store, { recursive: true });
    expect(loadFiles(store, refs)).toEqual(bind);
  });

  it("the paths alone, without reading a content", () => {
    expect(setPaths({ fileRefs: { [ZONE]: "x" }, fileStore: "/nowhere" })).toEqual([ZONE]);
    expect(setPaths({ files: bind })).toEqual([CONF, ZONE]);
    expect(setPaths({ files: "[secret]" })).toBeUndefined();
  });
});

describe("the provider's check with refs", () => {
  it("keeps the refs form (the engine stores what check returns), gives the contents to the methods that act", () => {
    const store = newStore();
    const news = { target, kind: "bind-primary", fileRefs: storeFiles(store, bind), fileStore: store };
    const r = checkInputs(news);
    expect(r.failures).toEqual([]);
    expect(r.inputs).toEqual({ target, kind: "bind-primary", fileRefs: news.fileRefs, fileStore: store });
    expect(parseInputs(news)).toEqual({ target, kind: "bind-primary", files: bind });
  });

  it("checks the contents behind the refs as it checks contents, and refuses what the store cannot give, naming the path", () => {
    const store = newStore();
    const noToken = { ...bind, [ZONE]: "$TTL 300\n@ IN SOA a. b. ( 1 3600 600 86400 300 )\n" };
    expect(checkInputs({ target, kind: "bind-primary", fileRefs: storeFiles(store, noToken), fileStore: store }).failures).toEqual([
      { property: `fileRefs["${ZONE}"]`, reason: expect.stringContaining(`a zone file must hold ${SERIAL_TOKEN}`) },
    ]);
    const refs = storeFiles(store, bind);
    writeFileSync(join(store, refs[ZONE] as string), "altered");
    forgetVerified();
    const failures = checkInputs({ target, kind: "bind-primary", fileRefs: refs, fileStore: store }).failures;
    expect(failures.map((f) => f.property)).toEqual([`fileRefs["${ZONE}"]`]);
    expect(failures[0]?.reason).toMatch(/refused, nothing is applied from it/);
    expect(() => parseInputs({ target, kind: "bind-primary", fileRefs: refs, fileStore: store })).toThrow(/invalid inputs: fileRefs\["zones\/velo\.test\.zone"\]: .*refused/);
  });

  it("a set without zone files: check and diff read nothing from the store; the apply reads each file and refuses one altered", () => {
    const store = newStore();
    const www = { "index.html": "<p>suspended</p>\n", "style.css": "p { color: red }\n" };
    const news = { target, kind: "www", fileRefs: storeFiles(store, www), fileStore: store };
    const olds = outputsOf(parseInputs({ target, kind: "www", files: www }), {});
    const file = join(store, news.fileRefs["index.html"] as string);
    writeFileSync(file, "<p>hacked!!</p>\n");
    forgetVerified();
    const checked = checkInputs(news);
    expect(checked.failures).toEqual([]);
    expect(fileSetType.diff("web1:www", olds, checked.inputs!).changes).toBe(false);
    expect(() => parseInputs(news)).toThrow(/invalid inputs: fileRefs\["index\.html"\]: the store file .* refused, nothing is applied from it/);
    expect(() => fileSetType.dryOutputs!(news as FileSetEngineInputs, olds)).toThrow(/refused/);
    rmSync(store, { recursive: true });
    expect(fileSetType.diff("web1:www", olds, checked.inputs!).changes).toBe(false);
  });

  it.each<[string, Record<string, unknown>, string[]]>([
    ["both forms", { files: bind, fileRefs: { [CONF]: sha256Hex(bind[CONF]) }, fileStore: "STORE" }, ["files"]],
    ["refs without a store", { fileRefs: { [CONF]: sha256Hex(bind[CONF]) } }, ["fileStore"]],
    ["a store without refs", { files: bind, fileStore: "/s" }, ["fileStore"]],
    ["a ref that is no sha256", { fileRefs: { [CONF]: "abc" }, fileStore: "/s" }, [`fileRefs["${CONF}"]`]],
    ["a path no bind set has", { fileRefs: { "../x": sha256Hex("x"), [CONF]: sha256Hex(bind[CONF]) }, fileStore: "STORE" }, ['fileRefs["../x"]']],
  ])("refuses %s", (_what, extra, properties) => {
    const store = newStore();
    storeFiles(store, { ...bind, x: "x" });
    const news = { target, kind: "bind-primary", ...extra, ...(extra.fileStore === "STORE" ? { fileStore: store } : {}) };
    expect(checkInputs(news).failures.map((f) => f.property)).toEqual(properties);
  });
});

describe("a state written with contents: no change once the program sends refs", () => {
  const now = new Date("2026-12-05T12:00:00Z");
  /** The state an apply of `files` wrote today: the inputs with contents, the outputs with hashes. */
  const stateOf = (kind: string, files: Record<string, string>) => {
    const inputs = parseInputs({ target, kind, files });
    return outputsOf(inputs, kind === "bind-primary" ? planSerials(files, now) : {});
  };
  /** As the engine does a preview: the provider's check of the program's inputs, then its diff against the state's outputs. */
  const preview = (olds: FileSetOutputs, news: Record<string, unknown>) => {
    const checked = fileSetType.check(news);
    expect(checked.failures ?? []).toEqual([]);
    return fileSetType.diff("ns1:bind-primary", olds, checked.inputs!);
  };
  const apache = { "sites-available/velo.test.conf": "<VirtualHost *:80>\n  ServerName velo.test\n</VirtualHost>\n", "md-event.sh": "#!/bin/sh\n" };

  it.each([
    ["a primary's zones (serials in the state)", "bind-primary", bind],
    ["a web host's vhosts", "apache2", apache],
  ])("%s", (_what, kind, files) => {
    const olds = stateOf(kind, files);
    const store = newStore();
    const refs = { target, kind, fileRefs: storeFiles(store, files), fileStore: store };
    expect(preview(olds, refs)).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });
    // The checkout moved: the store's folder is elsewhere, the contents the same.
    const moved = newStore();
    expect(preview(olds, { ...refs, fileRefs: storeFiles(moved, files), fileStore: moved }).changes).toBe(false);
    // A content that changed is a change, in either form.
    const changed = Object.fromEntries(Object.entries(files).map(([p, c], i) => [p, i === Object.keys(files).length - 1 ? `${c}# edited\n` : c]));
    expect(preview(olds, { target, kind, fileRefs: storeFiles(store, changed), fileStore: store })).toMatchObject({ changes: true, replaces: [] });
    expect(fileSetType.diff("x", olds, { target, kind: kind as "apache2", files: changed }).changes).toBe(true);
  });

  it("a state from before the hashes (contents in the outputs) sees no change either", () => {
    const serials = planSerials(bind, now);
    const olds = { target, kind: "bind-primary", files: bind, serials, generation: "g" } as unknown as FileSetOutputs;
    const store = newStore();
    expect(preview(olds, { target, kind: "bind-primary", fileRefs: storeFiles(store, bind), fileStore: store }).changes).toBe(false);
  });

  it("files not known yet (a preview before the output they wait for): a change, whichever form", () => {
    const olds = stateOf("bind-primary", bind);
    const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
    expect(fileSetType.diff("x", olds, { target, kind: "bind-primary", fileRefs: UNKNOWN as never, fileStore: "/s" }).changes).toBe(true);
    expect(fileSetType.diff("x", olds, { target, kind: "bind-primary", files: UNKNOWN as never }).changes).toBe(true);
    expect(wantedHashes({ fileRefs: UNKNOWN as never, fileStore: "/s" }, {})).toBeUndefined();
  });

  it("only the zone files with a serial are read from the store: every other file is its ref", () => {
    const store = newStore();
    const refs = storeFiles(store, bind);
    const serials = planSerials(bind, now);
    rmSync(join(store, refs[CONF] as string));
    forgetVerified();
    expect(wantedHashes({ fileRefs: refs, fileStore: store }, serials)).toEqual(hashesOf(substituteSerials(bind, serials)));
    rmSync(join(store, refs[ZONE] as string));
    forgetVerified();
    expect(() => wantedHashes({ fileRefs: refs, fileStore: store }, serials)).toThrow(/zones\/velo\.test\.zone.*missing from the file store/);
  });

  it("a primary previewed with the refs it was applied from reads no zone: check trusts the state's inputs for the same refs, diff the refs' digest", () => {
    const store = newStore();
    const refs = storeFiles(store, bind);
    const olds = stateOf("bind-primary", bind);
    expect(olds.tokenDigest).toMatch(/^[0-9a-f]{64}$/);
    const state = { target, kind: "bind-primary", fileRefs: refs, fileStore: store };
    // The zone's content gone from the store: a read would fail, so nothing reads it.
    rmSync(join(store, refs[ZONE] as string));
    forgetVerified();
    const checked = fileSetType.check(state, state);
    expect(checked.failures ?? []).toEqual([]);
    expect(fileSetType.diff("ns1:bind-primary", olds, checked.inputs!)).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });
    // Without the state's inputs (a create), or where they hold another ref for the path, check reads it.
    expect(checkInputs(state).failures.map((f) => f.reason)).toEqual([expect.stringContaining("missing from the file store")]);
    expect(checkInputs(state, { ...state, fileRefs: { ...refs, [ZONE]: sha256Hex("other") } }).failures.map((f) => f.property)).toEqual([`fileRefs["${ZONE}"]`]);
    expect(checkInputs(state, { ...state, kind: "bind-secondary" }).failures.map((f) => f.property)).toEqual([`fileRefs["${ZONE}"]`]);
    // A zone without the serial token is refused even when the rest comes from the state.
    const noToken = storeFiles(store, { ...bind, [ZONE]: "$TTL 300\n" });
    expect(checkInputs({ ...state, fileRefs: noToken }, state).failures).toEqual([{ property: `fileRefs["${ZONE}"]`, reason: expect.stringContaining(SERIAL_TOKEN) }]);
  });

  it("the refs' digest never hides a change: another zone, one added or removed, or a state without it (a refresh saw drift) compares hashes", () => {
    const store = newStore();
    const olds = stateOf("bind-primary", bind);
    const other = "zones/other.test.zone";
    for (const files of [{ ...bind, [ZONE]: zoneText("www IN A 192.0.2.80\n") }, { ...bind, [other]: zoneText() }, { [CONF]: bind[CONF] }]) {
      const news = { target, kind: "bind-primary", fileRefs: storeFiles(store, files), fileStore: store };
      expect(preview(olds, news).changes).toBe(true);
    }
    const same = { target, kind: "bind-primary", fileRefs: storeFiles(store, bind), fileStore: store };
    const serials = planSerials(bind, now);
    const hashes = hashesOf(substituteSerials(bind, serials));
    // As a refresh leaves it after drift: the hashes are the host's, and no digest.
    const drifted = { ...olds, tokenDigest: undefined, hashes: { ...hashes, [ZONE]: sha256Hex("edited by hand") }, serials };
    expect(preview(drifted, same).changes).toBe(true);
    // Without drift, a state of before the manifests (each file's hash, no digest) compares the hashes: no change.
    expect(preview({ ...olds, tokenDigest: undefined, hashes, serials }, same).changes).toBe(false);
    // Neither a digest nor hashes: nothing says the files are the same.
    expect(preview({ ...olds, tokenDigest: undefined }, same).changes).toBe(true);
    // Every kind has the digest now (a web host's 1,250 vhosts were as many hashes in the state).
    expect(stateOf("apache2", apache).tokenDigest).toBe(tokenDigestOf(hashesOf(apache)));
  });

  it("the outputs of an apply (and of the bench's dry mode) are the same from refs as from contents", () => {
    const store = newStore();
    const serials = planSerials(bind, now);
    // A state that kept the serials (before the manifests): the dry mode moves the changed zone's past the state's.
    const olds = { ...stateOf("bind-primary", bind), tokenDigest: undefined, hashes: hashesOf(substituteSerials(bind, serials)), serials };
    const next = { ...bind, [ZONE]: zoneText("www IN A 192.0.2.80\n") };
    const byRefs = fileSetType.dryOutputs!({ target, kind: "bind-primary", fileRefs: storeFiles(store, next), fileStore: store }, olds);
    expect(byRefs).toEqual(fileSetType.dryOutputs!({ target, kind: "bind-primary", files: next }, olds));
    expect(byRefs).toEqual(fileSetType.dryOutputs!({ target, kind: "bind-primary", fileManifest: storeManifest(store, next), fileStore: store }, olds));
    // By the apply's clock, not the state's day.
    const moved = { ...serials, [ZONE]: nextSerial(serials[ZONE], todaySerial(new Date())) };
    expect(moved[ZONE]).toBeGreaterThan(serials[ZONE]!);
    expect(byRefs.generation).toBe(generationOf(substituteSerials(next, moved)));
    expect(byRefs.serials).toBeUndefined();
  });
});

describe("one manifest per set: the engine carries its sha256 alone", () => {
  const now = new Date("2026-12-05T12:00:00Z");
  const manifestInputs = (store: string, files: Record<string, string>, kind = "bind-primary") => ({ target, kind, fileManifest: storeManifest(store, files), fileStore: store });
  const appliedFrom = (files: Record<string, string>, kind = "bind-primary") => outputsOf(parseInputs({ target, kind, files }), kind === "bind-primary" ? planSerials(files, now) : {});

  it("the store holds each file and the manifest; the manifest's sha256 is the digest of the refs an apply keeps", () => {
    const store = newStore();
    const digest = storeManifest(store, bind);
    const refs = storeFiles(store, bind);
    expect(digest).toBe(tokenDigestOf(refs));
    expect(readFileSync(join(store, digest), "utf8")).toBe(manifestText(refs));
    expect(loadManifest(store, digest)).toEqual(refs);
    expect(appliedFrom(bind).tokenDigest).toBe(digest);
    expect(setPaths({ fileManifest: digest, fileStore: store })?.sort()).toEqual(Object.keys(bind).sort());
    expect(setFiles({ fileManifest: digest, fileStore: store })).toEqual(bind);
  });

  it("check keeps the manifest form (no ref reaches the engine); the same files preview as no change, another zone as a change", () => {
    const store = newStore();
    const news = manifestInputs(store, bind);
    const checked = checkInputs(news);
    expect(checked.failures).toEqual([]);
    expect(checked.inputs).toEqual({ target, kind: "bind-primary", fileManifest: news.fileManifest, fileStore: store });
    expect(fileSetType.diff("ns1:bind-primary", appliedFrom(bind), checked.inputs!).changes).toBe(false);
    const other = manifestInputs(store, { ...bind, [ZONE]: zoneText("www IN A 192.0.2.80\n") });
    expect(fileSetType.diff("ns1:bind-primary", appliedFrom(bind), checkInputs(other).inputs!).changes).toBe(true);
    // The apply reads every file through the manifest.
    expect(parseInputs(news).files).toEqual(bind);
  });

  it("the manifest the state's inputs hold is not read again: gone from the store (another runner), the preview is no change and reads nothing", () => {
    const store = newStore();
    const news = manifestInputs(store, bind);
    const olds = appliedFrom(bind);
    rmSync(join(store, news.fileManifest));
    for (const ref of Object.values(storeFiles(newStore(), bind))) rmSync(join(store, ref));
    forgetVerified();
    const checked = fileSetType.check(news, news);
    expect(checked.failures ?? []).toEqual([]);
    expect(fileSetType.diff("ns1:bind-primary", olds, checked.inputs!).changes).toBe(false);
    // A create (no state), or a state of another manifest, reads it: and it is missing.
    expect(checkInputs(news).failures).toEqual([{ property: "fileManifest", reason: expect.stringContaining("missing from the file store") }]);
    expect(checkInputs(news, { ...news, fileManifest: sha256Hex("other") }).failures.map((f) => f.property)).toEqual(["fileManifest"]);
    expect(() => parseInputs(news)).toThrow(/fileManifest: .*missing from the file store/);
  });

  /** The state's manifest and a new one with a zone more; ZONE's content then removed from the store (a read of it fails). */
  const zoneAddedAfterZoneLost = () => {
    const store = newStore();
    const olds = manifestInputs(store, bind);
    const news = manifestInputs(store, { ...bind, "zones/other.test.zone": zoneText("other IN A 192.0.2.9\n") });
    rmSync(join(store, sha256Hex(bind[ZONE])));
    forgetVerified();
    return { store, olds, news };
  };

  it("a changed manifest reads only the zones the state's manifest did not have, when the store still has it", () => {
    const { olds, news } = zoneAddedAfterZoneLost();
    expect(checkInputs(news, olds).failures).toEqual([]);
    // Without the state's manifest, every zone is read: the one removed from the store is missed.
    expect(checkInputs(news).failures).toEqual([{ property: `fileManifest["${ZONE}"]`, reason: expect.stringContaining("missing from the file store") }]);
  });

  it("the state's manifest is taken only from an absolute store (loadRef refuses another): with a relative one, every zone is read", () => {
    const { store, olds, news } = zoneAddedAfterZoneLost();
    const cwd = process.cwd();
    process.chdir("/");
    try {
      const relative = { ...olds, fileStore: store.slice(1) };
      expect(checkInputs(news, relative).failures).toEqual([{ property: `fileManifest["${ZONE}"]`, reason: expect.stringContaining("missing from the file store") }]);
    } finally {
      process.chdir(cwd);
    }
  });

  it.each<[string, (store: string) => string, RegExp]>([
    ["altered to the same size", (store) => {
      const digest = storeManifest(store, bind);
      const text = readFileSync(join(store, digest), "utf8");
      writeFileSync(join(store, digest), text.replace("velo", "evil"));
      return digest;
    }, /does not hold the content of sha256 .*refused/],
    ["a zone's content given as the manifest", (store) => storeFiles(store, bind)[ZONE] as string, /is not a file set's manifest \(line 1 is not/],
    ["lines out of order", (store) => storeFiles(store, { m: `${ZONE}\0${sha256Hex("z")}\n${CONF}\0${sha256Hex("c")}\n` }).m as string, /is not a file set's manifest \(line 2: .* out of order or given twice\)/],
    ["a path given twice", (store) => storeFiles(store, { m: `${CONF}\0${sha256Hex("c")}\n${CONF}\0${sha256Hex("d")}\n` }).m as string, /line 2: .* out of order or given twice/],
    ["cut short", (store) => storeFiles(store, { m: `${CONF}\0${sha256Hex("c")}` }).m as string, /last line is cut short/],
    ["a link in the store", (store) => {
      const digest = storeManifest(store, bind);
      const real = join(store, "..", "elsewhere");
      writeFileSync(real, readFileSync(join(store, digest)));
      rmSync(join(store, digest));
      symlinkSync(real, join(store, digest));
      return digest;
    }, /does not hold the content of sha256 .*refused/],
  ])("refuses a manifest %s, naming fileManifest; nothing is applied", (_what, plant, message) => {
    const store = newStore();
    storeFiles(store, bind);
    const digest = plant(store);
    forgetVerified();
    const news = { target, kind: "bind-primary", fileManifest: digest, fileStore: store };
    const failures = checkInputs(news).failures;
    expect(failures.map((f) => f.property)).toEqual(["fileManifest"]);
    expect(failures[0]?.reason).toMatch(message);
    expect(() => parseInputs(news)).toThrow(message);
  });

  it("a manifest of files no set of its kind may have is refused like refs, naming the path; a zone altered in the store is refused by check and apply", () => {
    const store = newStore();
    const bad = { target, kind: "bind-primary", fileManifest: storeManifest(store, { ...bind, "../etc/passwd": "x", "zones/evil.test.zone": "no serial token" }), fileStore: store };
    expect(checkInputs(bad).failures.map((f) => f.property).sort()).toEqual(['fileManifest["../etc/passwd"]', 'fileManifest["zones/evil.test.zone"]']);
    const good = manifestInputs(store, bind);
    const zoneFile = join(store, sha256Hex(bind[ZONE]));
    writeFileSync(zoneFile, readFileSync(zoneFile, "utf8").replace("velo", "evil"));
    forgetVerified();
    expect(checkInputs(good).failures).toEqual([{ property: `fileManifest["${ZONE}"]`, reason: expect.stringMatching(/does not hold the content.*refused/) }]);
    expect(() => parseInputs(good)).toThrow(/does not hold the content/);
  });

  it.each<[string, Record<string, unknown>, string[]]>([
    ["a manifest and refs", { fileManifest: sha256Hex("m"), fileRefs: {}, fileStore: "/s" }, ["fileManifest"]],
    ["a manifest and contents", { fileManifest: sha256Hex("m"), files: bind, fileStore: "/s" }, ["fileManifest"]],
    ["a manifest that is no sha256", { fileManifest: "abc", fileStore: "/s" }, ["fileManifest"]],
    ["a manifest without a store", { fileManifest: sha256Hex("m") }, ["fileStore"]],
  ])("refuses %s", (_what, extra, properties) => {
    expect(checkInputs({ target, kind: "bind-primary", ...extra }).failures.map((f) => f.property)).toEqual(properties);
  });

  it.each<[string, string, Record<string, string> | RegExp]>([
    ["empty", "", {}],
    ["two lines in order", `a\0${"1".repeat(64)}\nb\0${"2".repeat(64)}\n`, { a: "1".repeat(64), b: "2".repeat(64) }],
    ["no final newline", `a\0${"1".repeat(64)}`, /cut short/],
    ["a short hash", `a\0${"1".repeat(63)}\n`, /line 1 is not/],
    ["no path", `\0${"1".repeat(64)}\n`, /line 1 is not/],
    ["an empty line", `a\0${"1".repeat(64)}\n\n`, /line 2 is not/],
    ["out of order", `b\0${"1".repeat(64)}\na\0${"2".repeat(64)}\n`, /line 2: "a" is out of order/],
  ])("parseManifest: %s", (_what, text, want) => {
    const got = parseManifest(text);
    if (want instanceof RegExp) expect(got).toMatch(want);
    else expect(got).toEqual(want);
  });

  it("the guard's share rule counts a primary's zones from the state's outputs when the old manifest is not in this runner's store", () => {
    const store = newStore();
    const zones = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`zones/z${i}.test.zone`, zoneText()]));
    const before = { ...bind, ...zones };
    const olds = manifestInputs(store, before);
    const oldOutputs = appliedFrom(before) as unknown as Record<string, unknown>;
    rmSync(join(store, olds.fileManifest));
    const news = manifestInputs(store, bind);
    const step: PlanStep = { op: "update", urn: "urn:pulumi:prod::globenet::globenet:files:FileSet::ns1-bind", type: RESOURCE_TOKENS.fileSet, name: "ns1-bind", old: olds, new: news, oldOutputs, diffs: ["files"] };
    const verdict = judge({ stack: "prod", steps: [step] }, { allowances: [], maxShare: 0.2 });
    expect(verdict.ok).toBe(false);
    expect(verdict.needed).toEqual(expect.arrayContaining(["zones/z0.test", "zones/z9.test"]));
    // The same plan without what the outputs say: the old zones are unknown, and the rule cannot count them.
    expect(judge({ stack: "prod", steps: [{ ...step, oldOutputs: {} }] }, { allowances: [], maxShare: 0.2 }).ok).toBe(true);
  });
});

describe("the readers of a set's files outside the provider, with refs", () => {
  const VHOST = "sites-available/velo.test.conf";
  const git = { [VHOST]: "ServerName velo.test\n" };
  const step = (news: Record<string, unknown>): PlanStep => ({
    op: "update",
    urn: "urn:pulumi:lab::globenet-infra::globenet:files:FileSet::lab-apache2",
    type: RESOURCE_TOKENS.fileSet,
    name: "lab-apache2",
    oldOutputs: { kind: "apache2", hashes: { [VHOST]: sha256Hex("edited by hand") }, serials: {} },
    new: news,
  });

  it("drift: names the file changed on the host from git's refs as from git's contents; a store it cannot read is said", () => {
    const store = newStore();
    const fromRefs = driftDetails(step({ kind: "apache2", fileRefs: storeFiles(store, git), fileStore: store }));
    expect(fromRefs).toEqual([`files: ${VHOST} (changed on the host)`]);
    expect(fromRefs).toEqual(driftDetails(step({ kind: "apache2", files: git })));
    expect(driftDetails(step({ kind: "apache2", fileRefs: { [VHOST]: sha256Hex(git[VHOST]) }, fileStore: join(store, "gone") }))).toEqual([
      expect.stringMatching(/^files: git's contents unreadable here \(fileRefs\["sites-available\/velo\.test\.conf"\]: .* is missing from the file store/),
    ]);
  });

  it("guard: a primary's zones counted from the refs' paths (no content read)", () => {
    const zones = (names: string[]) => Object.fromEntries(names.map((z) => [`zones/${z}.zone`, sha256Hex(z)]));
    const before = ["a.test", "b.test", "c.test", "d.test"];
    const s: PlanStep = {
      op: "update",
      urn: "urn:pulumi:prod::globenet-infra::globenet:files:FileSet::ns1-bind",
      type: RESOURCE_TOKENS.fileSet,
      name: "ns1-bind",
      old: { kind: "bind-primary", target, fileRefs: zones(before), fileStore: "/gone" },
      new: { kind: "bind-primary", target, fileRefs: zones(["a.test"]), fileStore: "/gone" },
    };
    expect(judge({ stack: "prod", steps: [s] }, { maxShare: 0.5, allowances: [] }).needed).toEqual(["zones/b.test", "zones/c.test", "zones/d.test"]);
  });

  it("adoption: the takeover's names from the refs, and the store travels in the import's facts", () => {
    const store = newStore();
    const vhost = "<VirtualHost *:80>\n  ServerName velo.test\n</VirtualHost>\n";
    const props = { target, kind: "apache2", fileRefs: storeFiles(store, { [VHOST]: vhost }), fileStore: store };
    expect(adoptedProps(RESOURCE_TOKENS.fileSet, props)).toEqual({ ...props, takeover: ["velo.test"] });
    const d = adoptionOf({ type: RESOURCE_TOKENS.fileSet, name: "web1-apache2", custom: true, props }, new Set());
    expect(d.kind).toBe("import");
    const facts = JSON.parse(Buffer.from((d as { importId: string }).importId.split("@adopt:")[1] as string, "base64url").toString("utf8"));
    expect(facts).toEqual({ target, kind: "apache2", fileStore: store });
    expect(existsSync(store)).toBe(true);
  });
});
