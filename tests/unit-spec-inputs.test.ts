import { describe, expect, it } from "vitest";
import { BENCH_NOOP_TOKEN, RESOURCE_TOKENS } from "../lib/base/tokens";
import { changedInputs, flatSpec, flatSpecFor, specFormOf, specText, SPEC_INPUT_TOKENS } from "../lib/base/spec-inputs";

describe("accounts' and databases' inputs as one JSON text, spec (lib/base/spec-inputs.ts)", () => {
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
    ["not JSON", { spec: "{handle" }, /^spec: not JSON \(.*\): the program sends an account's or a database's inputs as one JSON text/],
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
    expect(flatSpecFor(RESOURCE_TOKENS.guest, text)).toBe(text);
    expect(flatSpecFor(BENCH_NOOP_TOKEN, { spec: "not json" })).toEqual({ spec: "not json" });
    expect(() => flatSpecFor(RESOURCE_TOKENS.account, { spec: "not json" })).toThrow(/^spec: not JSON/);
  });

  it("sends as spec only the types the program sends so", () => {
    expect([...SPEC_INPUT_TOKENS].sort()).toEqual([RESOURCE_TOKENS.database, RESOURCE_TOKENS.account].sort());
    expect(specFormOf(RESOURCE_TOKENS.account, { handle: "a" })).toEqual({ spec: '{"handle":"a"}' });
    expect(specFormOf(RESOURCE_TOKENS.guest, { domain: "d" })).toEqual({ domain: "d" });
    expect(flatSpec(specFormOf(RESOURCE_TOKENS.database, { name: "n", limits: { b: 1, a: 2 } }))).toEqual({ name: "n", limits: { a: 2, b: 1 } });
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
