import { describe, expect, it } from "vitest";
import { groupBy } from "../lib/base/group";

describe("groupBy", () => {
  it.each<[string, string[], Array<[string, string[]]>]>([
    ["nothing", [], []],
    ["one group", ["a1", "a2"], [["a", ["a1", "a2"]]]],
    ["groups in the order of their first item, items in theirs", ["b1", "a1", "b2", "c1", "a2"], [["b", ["b1", "b2"]], ["a", ["a1", "a2"]], ["c", ["c1"]]]],
  ])("%s", (_, items, want) => {
    expect([...groupBy(items, (s) => s.slice(0, 1))]).toEqual(want);
  });
});
