/**
 * Alternated rounds (docs/architecture.md, "Sharded stacks"): on this shared machine the same
 * preview takes half as long again from one minute to the next, so a program's previews taken
 * first and its floor's taken after can drift apart by more than the gap measured. Each round
 * runs every measure once, the first one moving by one at each round (so none is always run
 * right after the machine was idle, or always last), and a ratio is read within a round,
 * between runs minutes apart at most.
 */

/** Which measure runs at which place in round `round` (0-based) of `count` measures. */
export function roundOrder(round: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => (round + i) % count);
}

/** Runs `rounds` rounds of `measures`, in roundOrder; the seconds of each measure, in round order. */
export async function alternatedRounds(measures: Array<(label: string) => Promise<number>>, rounds: number): Promise<number[][]> {
  const out = measures.map((): number[] => []);
  for (let r = 0; r < rounds; r++) {
    for (const i of roundOrder(r, measures.length)) (out[i] as number[]).push(await (measures[i] as (label: string) => Promise<number>)(`round ${r + 1}/${rounds}`));
  }
  return out;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error("the median of no value");
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** The median of the rounds' ratios a[r] / b[r]: each ratio between two runs of the same round. */
export function roundRatio(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) throw new Error(`rounds of different lengths (${a.length} and ${b.length})`);
  return median(a.map((x, r) => x / (b[r] as number)));
}
