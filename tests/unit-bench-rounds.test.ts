import { describe, expect, it } from "vitest";
import { alternatedRounds, median, roundOrder, roundRatio } from "../lib/bench/rounds";
import { formatTable, type EngineBenchRow } from "../lib/bench/engine";
import { formatShardedTable, type ShardRow } from "../lib/bench/engine-sharded";

describe("the benches' alternated rounds (lib/bench/rounds.ts)", () => {
  it.each<[number, number, number[]]>([
    [0, 3, [0, 1, 2]],
    [1, 3, [1, 2, 0]],
    [2, 3, [2, 0, 1]],
    [3, 3, [0, 1, 2]],
    [0, 2, [0, 1]],
    [1, 2, [1, 0]],
  ])("round %i of %i measures runs them in the order %j", (round, count, order) => {
    expect(roundOrder(round, count)).toEqual(order);
  });

  it("runs every measure once a round, the first moving by one, and keeps each one's seconds in round order", async () => {
    const calls: string[] = [];
    const measure = (name: string, s: number[]) => async (label: string) => {
      calls.push(`${name} ${label}`);
      return s.shift() as number;
    };
    const out = await alternatedRounds([measure("program", [10, 11, 12]), measure("bare", [5, 6, 7]), measure("shape", [8, 9, 10])], 3);
    expect(out).toEqual([
      [10, 11, 12],
      [5, 6, 7],
      [8, 9, 10],
    ]);
    expect(calls).toEqual([
      "program round 1/3", "bare round 1/3", "shape round 1/3",
      "bare round 2/3", "shape round 2/3", "program round 2/3",
      "shape round 3/3", "program round 3/3", "bare round 3/3",
    ]);
  });

  it.each<[number[], number]>([
    [[3], 3],
    [[3, 1, 2], 2],
    [[4, 1, 3, 2], 2.5],
  ])("the median of %j is %f", (xs, m) => {
    expect(median(xs)).toBe(m);
  });

  it("reads each ratio within one round: one run of the floor on a quiet minute moves the best against the best, not the rounds' median", () => {
    const program = [12, 12, 12];
    const floor = [8, 10, 10];
    expect(Math.min(...program) / Math.min(...floor)).toBeCloseTo(1.5);
    expect(roundRatio(program, floor)).toBeCloseTo(1.2);
    // A round on a busy machine, both twice as long: its ratio is the others'.
    expect(roundRatio([12, 24, 12.6], [10, 20, 10])).toBeCloseTo(1.2);
    expect(roundRatio([10, 13, 13], [10, 10, 10])).toBeCloseTo(1.3);
    expect(() => roundRatio([1, 2], [1])).toThrow(/rounds of different lengths/);
    expect(() => median([])).toThrow(/no value/);
  });

  it("says OVER when either reading is over the target: the best against the best, or the rounds' median", () => {
    const engineRow = (ratio: number, roundRatio: number): EngineBenchRow => ({ members: 10, resources: 5, programUp: 1, bareUp: 1, programPreviews: [], barePreviews: [], programPreview: ratio, barePreview: 1, ratio, roundRatio });
    expect(formatTable([engineRow(1.2, 1.25)])).toMatch(/1\.20\s+1\.25\s+ok/);
    expect(formatTable([engineRow(1.2, 1.45)])).toMatch(/1\.20\s+1\.45\s+OVER/);
    expect(formatTable([engineRow(1.4, 1.2)])).toMatch(/1\.40\s+1\.20\s+OVER/);
    const shardRow = (preview: number, roundRatio: number): ShardRow => ({ shard: "web1", resources: 5, up: 1, preview, floor: 1, shapeFloor: 1, roundRatio, roundShapeRatio: 1, load: 1 });
    const table = (r: ShardRow) => formatShardedTable({ members: 10, shards: 2, rows: [r], changes: [], run: ["web1", "core"] });
    expect(table(shardRow(1.1, 1.2))).toMatch(/web1\s+5\s+1\.10\s+1\.00\s+1\.10\s+1\.20\s+ok/);
    expect(table(shardRow(1.1, 1.5))).toMatch(/web1\s+5\s+1\.10\s+1\.00\s+1\.10\s+1\.50\s+OVER/);
    expect(table(shardRow(1.1, 1.2))).toContain("(web1, core run; the other web shards");
    const split = formatShardedTable({ members: 10, shards: 4, rows: [], changes: [], run: ["web1-b0", "web1", "core"] });
    expect(split).toContain("(web1-b0, web1, core run; web1's members split by hash, web1-b0 one of its buckets, web1 its sets; the other");
  });
});
