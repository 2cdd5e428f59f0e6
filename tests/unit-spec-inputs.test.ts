import { describe, expect, it } from "vitest";
import { RESOURCE_TOKENS } from "../lib/base/tokens";
import { flatSpec, specFormOf, SPEC_INPUT_TOKENS } from "../lib/base/spec-inputs";

describe("accounts' and databases' inputs under spec (lib/base/spec-inputs.ts)", () => {
  it.each<[string, Record<string, unknown> | undefined, Record<string, unknown> | undefined]>([
    ["nested: brought up", { spec: { handle: "a", sites: ["x"] } }, { handle: "a", sites: ["x"] }],
    ["nested beside an output left undefined", { spec: { handle: "a" }, archives: undefined }, { handle: "a", archives: undefined }],
    ["a value in spec wins over the same key outside", { spec: { status: "active" }, status: "suspended" }, { status: "active" }],
    ["flat (a state written before): as it is", { handle: "a", sites: [] }, { handle: "a", sites: [] }],
    ["spec not an object: as it is", { spec: "x" }, { spec: "x" }],
    ["spec a list: as it is", { spec: ["x"] }, { spec: ["x"] }],
    ["none", undefined, undefined],
  ])("%s", (_what, inputs, flat) => {
    expect(flatSpec(inputs)).toEqual(flat);
  });

  it("nests only the types the program nests", () => {
    expect([...SPEC_INPUT_TOKENS].sort()).toEqual([RESOURCE_TOKENS.database, RESOURCE_TOKENS.account].sort());
    expect(specFormOf(RESOURCE_TOKENS.account, { handle: "a" })).toEqual({ spec: { handle: "a" } });
    expect(specFormOf(RESOURCE_TOKENS.guest, { domain: "d" })).toEqual({ domain: "d" });
    expect(flatSpec(specFormOf(RESOURCE_TOKENS.database, { name: "n" }))).toEqual({ name: "n" });
  });
});
