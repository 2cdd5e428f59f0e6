import { describe, expect, it } from "vitest";
import { BENCH_NOOP_TOKEN, RESOURCE_TOKENS } from "../lib/base/tokens";
import { changedInputs, flatSpec, flatSpecFor, OUTPUT_ONLY, specFormOf, specOutputsOf, specText, SPEC_INPUT_TOKENS } from "../lib/base/spec-inputs";
import { accountType, type AccountInputs } from "../provider/resources/account";
import { databaseType, type DatabaseInputs } from "../provider/resources/database";
import { secret } from "../provider/resources/account-shared";
import { guestType } from "../provider/resources/guest";
import { storeGuest } from "../provider/resources/guest-refs";
import { fileStoreOf } from "../provider/resources/file-store";
import { makeModel } from "./fixtures/model";
import { guestInputsOf } from "./helpers/guest-inputs";
import { tempDir } from "./helpers/temp-dir";

describe("accounts', databases' and guests' inputs as one JSON text, spec (lib/base/spec-inputs.ts)", () => {
  it.each<[string, Record<string, unknown> | undefined, Record<string, unknown> | undefined]>([
    ["the program's JSON text: brought up", { spec: '{"handle":"a","sites":["x"]}' }, { handle: "a", sites: ["x"] }],
    ["beside an output left undefined", { spec: '{"handle":"a"}', archives: undefined }, { handle: "a", archives: undefined }],
    ["a value in spec wins over the same key outside", { spec: '{"status":"active"}', status: "suspended" }, { status: "active" }],
    ["an object (a state of the nested form): brought up", { spec: { handle: "a", sites: [] } }, { handle: "a", sites: [] }],
    ["flat (a state written before): as it is", { handle: "a", sites: [] }, { handle: "a", sites: [] }],
    ["spec a list: as it is", { spec: ["x"] }, { spec: ["x"] }],
    ["none", undefined, undefined],
  ])("%s", (_what, inputs, flat) => {
    expect(flatSpec(inputs)).toEqual(flat);
  });

  it("gives objects' keys sorted at any depth, as the engine hands them over (the types' diffs compare JSON text)", () => {
    const flat = flatSpec({ spec: '{"target":{"port":22,"name":"web1","address":"192.0.2.10"},"handle":"a"}' });
    expect(JSON.stringify(flat)).toBe('{"handle":"a","target":{"address":"192.0.2.10","name":"web1","port":22}}');
    expect(specText({ sshd: { pidFile: "/run/sshd.pid", dropinDir: "/etc/ssh" }, handle: "a", sites: ["b", "a"], none: undefined })).toBe('{"handle":"a","sites":["b","a"],"sshd":{"dropinDir":"/etc/ssh","pidFile":"/run/sshd.pid"}}');
  });

  it.each([
    ["not JSON", { spec: "{handle" }, /^spec: not JSON \(.*\): the program sends an account's, a database's or a guest's inputs as one JSON text/],
    ["JSON, not an object", { spec: '["a"]' }, /^spec: not a JSON object/],
  ])("refuses a spec text that is %s, naming spec", (_what, inputs, message) => {
    expect(() => flatSpec(inputs)).toThrow(message);
  });

  it("refuses an Output or a promise in the inputs, naming where (a secret or a value not known yet cannot go in a JSON text)", () => {
    expect(() => specText({ target: { hostKey: { __pulumiOutput: true } } })).toThrow(/^spec\.target\.hostKey is an Output or a promise/);
    expect(() => specText({ sites: [Promise.resolve("x")] })).toThrow(/^spec\.sites\[0\] is an Output or a promise/);
  });

  it("brings spec up at the provider's boundary for those types only: any other type's inputs stay as they are (the bench's replay of a state)", () => {
    const text = { spec: '{"handle":"a","sites":["x"]}' };
    expect(flatSpecFor(RESOURCE_TOKENS.account, text)).toEqual({ handle: "a", sites: ["x"] });
    expect(flatSpecFor(RESOURCE_TOKENS.database, text)).toEqual({ handle: "a", sites: ["x"] });
    expect(flatSpecFor(RESOURCE_TOKENS.guest, text)).toEqual({ handle: "a", sites: ["x"] });
    expect(flatSpecFor(RESOURCE_TOKENS.fileSet, text)).toBe(text);
    expect(flatSpecFor(BENCH_NOOP_TOKEN, { spec: "not json" })).toEqual({ spec: "not json" });
    expect(() => flatSpecFor(RESOURCE_TOKENS.account, { spec: "not json" })).toThrow(/^spec: not JSON/);
  });

  it("sends as spec only the types the program sends so", () => {
    expect([...SPEC_INPUT_TOKENS].sort()).toEqual([RESOURCE_TOKENS.database, RESOURCE_TOKENS.account, RESOURCE_TOKENS.guest].sort());
    expect(specFormOf(RESOURCE_TOKENS.account, { handle: "a" })).toEqual({ spec: '{"handle":"a"}' });
    expect(specFormOf(RESOURCE_TOKENS.guest, { domain: "d" })).toEqual({ spec: '{"domain":"d"}' });
    expect(specFormOf(RESOURCE_TOKENS.fileSet, { kind: "www" })).toEqual({ kind: "www" });
    expect(flatSpec(specFormOf(RESOURCE_TOKENS.database, { name: "n", limits: { b: 1, a: 2 } }))).toEqual({ name: "n", limits: { a: 2, b: 1 } });
  });
});

describe("accounts', databases' and guests' outputs: spec beside what is not an input (specOutputsOf)", () => {
  const target = { name: "web1", address: "192.0.2.10", port: 22, user: "globenet-deploy", hostKey: "ssh-ed25519 AAAA host" };
  const account = { handle: "velo", home: "/home/velo", status: "active", sites: ["velo.example"], sshKeys: [], target, archiveDir: "/var/backups/a" } as unknown as AccountInputs;
  const database = { name: "velo_db", user: "velo_db", handle: "velo", home: "/home/velo", status: "active", clientHost: "192.0.2.10", limits: { max_user_connections: 20 }, target, archiveDir: "/var/backups/a" } as unknown as DatabaseInputs;
  // A guest as components/vps.ts sends it: refs into a store, with a filter (its digest is an output).
  const v = makeModel().vps[0];
  if (!v) throw new Error("the model fixture has no VPS");
  const guestSent = storeGuest(fileStoreOf(tempDir("globenet-spec-guest-")), guestInputsOf(v, target, { archiveDir: "/var/backups/a" }));
  // The store's folder is the program's, not the guest's: its outputs leave it out (guest-refs.ts).
  const { fileStore: _store, ...guestInputs } = guestSent;
  const cases = [
    [RESOURCE_TOKENS.account, account as unknown as Record<string, unknown>, accountType.dryOutputs?.(account) as unknown as Record<string, unknown>],
    [RESOURCE_TOKENS.database, database as unknown as Record<string, unknown>, { ...(databaseType.dryOutputs?.(database) as unknown as Record<string, unknown>), password: secret("s3cret-pw") }],
    // A read that finds the live guest different adds `drift`, which the dry mode never does.
    [RESOURCE_TOKENS.guest, guestInputs as unknown as Record<string, unknown>, { ...(guestType.dryOutputs?.(guestSent) as unknown as Record<string, unknown>), drift: ["live definition differs from the declared XML: memory"] }],
  ] as const;

  it("the guest's outputs hold its inputs but the store's folder, refs in place of contents", () => {
    expect(Object.keys(guestSent).filter((k) => !(k in cases[2][2]))).toEqual(["fileStore"]);
    expect(cases[2][2]).toMatchObject({ xmlRef: guestSent.xmlRef, seedRefs: guestSent.seedRefs, nwfilter: guestSent.nwfilter });
  });

  it.each(cases)("%s: OUTPUT_ONLY names exactly the outputs that are not inputs", (token, inputs, outs) => {
    expect(Object.keys(outs).filter((k) => !(k in inputs)).sort()).toEqual([...(OUTPUT_ONLY[token] ?? [])].sort());
  });

  it.each(cases)("%s: the inputs' part as one spec text, the rest beside it; flatSpec gives the outputs back", (token, inputs, outs) => {
    const packed = specOutputsOf(token, outs);
    expect(Object.keys(packed).sort()).toEqual(["spec", ...(OUTPUT_ONLY[token] ?? [])].sort());
    expect(JSON.parse(packed.spec as string)).toEqual(inputs);
    expect(flatSpec(packed)).toEqual(outs);
  });

  it("keeps a database's password a top-level secret: never in the spec text", () => {
    const packed = specOutputsOf(RESOURCE_TOKENS.database, cases[1][2]);
    expect(packed.password).toEqual(secret("s3cret-pw"));
    expect(packed.spec).not.toContain("s3cret-pw");
  });

  it("refuses a secret that would go in the text, naming it (an output not listed in OUTPUT_ONLY)", () => {
    expect(() => specOutputsOf(RESOURCE_TOKENS.account, { ...cases[0][2], home: secret("/home/x") })).toThrow(/^spec\.home is a secret: it cannot go in `spec`/);
    expect(() => specText({ target: { hostKey: secret("k") } })).toThrow(/^spec\.target\.hostKey is a secret/);
  });

  it("leaves any other type's outputs as they are", () => {
    const outs = { fileManifest: "abc", tokenDigest: "u" };
    expect(specOutputsOf(RESOURCE_TOKENS.fileSet, outs)).toBe(outs);
    expect(specOutputsOf(BENCH_NOOP_TOKEN, { spec: "x" })).toEqual({ spec: "x" });
  });
});

describe("the properties a step changes, named inside spec (changedInputs, for the guard's plan)", () => {
  const text = (v: Record<string, unknown>) => ({ spec: specText(v) });
  it.each<[string, Record<string, unknown> | undefined, Record<string, unknown> | undefined, string[]]>([
    ["a site added, both texts", text({ handle: "a", sites: ["x"] }), text({ handle: "a", sites: ["x", "y"] }), ["sites"]],
    ["keys in another order: no change", { spec: '{"target":{"port":22,"name":"w"},"handle":"a"}' }, { spec: '{"handle":"a","target":{"name":"w","port":22}}' }, []],
    ["a state written flat against the text", { handle: "a", status: "active" }, text({ handle: "a", status: "suspended" }), ["status"]],
    ["spec as an object against the text, two changes", { spec: { handle: "a", home: "/h", sites: [] } }, text({ handle: "b", home: "/h", sites: ["x"] }), ["handle", "sites"]],
    ["a key gone", text({ handle: "a", contact: "c" }), text({ handle: "a" }), ["contact"]],
    ["no old inputs", undefined, text({ handle: "a" }), ["handle"]],
  ])("%s", (_what, olds, news, keys) => {
    expect(changedInputs(olds, news)).toEqual(keys);
  });
});
