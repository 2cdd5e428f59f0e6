import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { parse } from "yaml";
import { loadTree } from "../load/tree";
import { buildModel } from "../check/build";
import { renderAll } from "../render";
import { writeSyntheticTree } from "./synthetic";

/**
 * `npm run bench -- data`: the data path (load, every check, render) on a synthetic tree beside
 * its floor measured in the same process: reading the same YAML files and `yaml.parse` on each,
 * with the same library. Each phase runs after a full garbage collection, so it pays for its own
 * garbage only; the sequence runs `runs` times and the best of each phase is kept.
 */

export const STACK = "bench";
/** Issue 24: load + checks + render at most this many times the parse floor. */
export const TARGET_RATIO = 2;

export interface DataBenchOptions {
  members: number;
  zones: number;
  vps: number;
  runs: number;
  keep?: boolean;
  say?: (line: string) => void;
}

export interface DataPhase {
  phase: string;
  /** Every run's time, seconds. */
  runs: number[];
  /** The best run, seconds. */
  best: number;
  /** Every run's CPU time of the process (user + system, all its threads: GC included), seconds. */
  cpu: number[];
  bestCpu: number;
  /** Peak resident set size of the process after the phase's first run, MB. */
  rssMb: number;
  detail: string;
}

export interface DataBenchResult {
  members: number;
  zones: number;
  vps: number;
  files: number;
  phases: DataPhase[];
  /** (load + checks + render) / floor, per run and for the best of each phase. */
  ratios: number[];
  ratio: number;
  /** The same on CPU time: what other processes on the machine disturb least. */
  cpuRatios: number[];
  cpuRatio: number;
  /** (load from the load cache + checks + render) / floor, CPU, best of each phase: a run where no file changed since the last. */
  cachedCpuRatio: number;
  dir?: string;
}

/** Collects garbage now (V8's gc exposed for this process only). */
function gcNow(): void {
  setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
}

/** Every data file of the tree, as the loader finds them (stack file, member.yaml, vps/*.yaml, zones/*.yaml). */
function dataFiles(root: string): string[] {
  const out = [join(root, `Pulumi.${STACK}.yaml`)];
  for (const m of readdirSync(join(root, "members"))) {
    out.push(join(root, "members", m, "member.yaml"));
    const vps = join(root, "members", m, "vps");
    for (const e of readdirSync(join(root, "members", m))) if (e === "vps") for (const v of readdirSync(vps)) out.push(join(vps, v));
  }
  for (const z of readdirSync(join(root, "zones"))) out.push(join(root, "zones", z));
  return out;
}

function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

export function dataBench(opts: DataBenchOptions): DataBenchResult {
  const say = opts.say ?? (() => undefined);
  const dir = mkdtempSync(join(tmpdir(), "globenet-bench-data-"));
  const root = join(dir, "data");
  try {
    let t = process.hrtime.bigint();
    writeSyntheticTree(root, opts.members, { zones: opts.zones, vps: opts.vps, realistic: true });
    say(`wrote the tree in ${(Number(process.hrtime.bigint() - t) / 1e9).toFixed(1)} s: ${root}`);
    const names = ["parse (floor: read + yaml.parse)", "load (read, parse, schemas)", "checks (model, every check)", "render (every file, in memory)", "load, from the load cache (no file changed)"];
    const phases: DataPhase[] = names.map((phase) => ({ phase, runs: [], best: 0, cpu: [], bestCpu: 0, rssMb: 0, detail: "" }));
    let files = 0;
    const time = <T>(i: number, f: () => T): T => {
      gcNow();
      t = process.hrtime.bigint();
      const c = process.cpuUsage();
      const r = f();
      const p = phases[i] as DataPhase;
      p.runs.push(Number(process.hrtime.bigint() - t) / 1e9);
      const used = process.cpuUsage(c);
      p.cpu.push((used.user + used.system) / 1e6);
      if (p.runs.length === 1) p.rssMb = peakRssMb();
      return r;
    };
    // The load cache (lib/load/load-cache.ts) as a shard's or a repeated run finds it: written once, untimed.
    const cache = { key: "bench-load-cache" };
    loadTree(root, STACK, undefined, cache);
    for (let run = 0; run < opts.runs; run++) {
      const parsed = time(0, () => dataFiles(root).map((f) => parse(readFileSync(f, "utf8"))));
      files = parsed.length;
      (phases[0] as DataPhase).detail = `${files} files`;
      const { tree, errors } = time(1, () => loadTree(root, STACK));
      if (errors.length > 0) throw new Error(`the synthetic tree does not load: ${errors.slice(0, 3).map((e) => `${e.file}:${e.line} ${e.message}`).join("; ")}`);
      (phases[1] as DataPhase).detail = `${tree.members.size} members, ${tree.zones.size} zones`;
      const built = time(2, () => buildModel(tree));
      const model = built.model;
      if (!model) throw new Error(`the synthetic tree does not check: ${built.errors.slice(0, 3).map((e) => `${e.file}:${e.line} ${e.message}`).join("; ")}`);
      (phases[2] as DataPhase).detail = `${model.sites.length} sites, ${model.databases.length} databases, ${model.vps.length} VPS, ${model.zones.reduce((n, z) => n + z.records.length, 0)} records, ${built.warnings?.length ?? 0} warnings`;
      const rendered = time(3, () => renderAll(model));
      (phases[3] as DataPhase).detail = `${rendered.length} files, ${(rendered.reduce((n, f) => n + f.content.length, 0) / 1e6).toFixed(1)} MB`;
      const counts = { parsed: 0, cached: 0 };
      const again = time(4, () => loadTree(root, STACK, undefined, { ...cache, counts }));
      if (again.errors.length > 0 || counts.parsed > 0) throw new Error(`the load cache did not serve every file (${counts.parsed} parsed)`);
      (phases[4] as DataPhase).detail = `${counts.cached} files from the cache`;
      const p = phases.map((x) => x.runs[run] as number);
      say(`run ${run + 1}/${opts.runs}: ${p.map((s) => s.toFixed(2)).join(" / ")} s`);
    }
    for (const p of phases) {
      p.best = Math.min(...p.runs);
      p.bestCpu = Math.min(...p.cpu);
    }
    const ratioOf = (s: number[]) => ((s[1] as number) + (s[2] as number) + (s[3] as number)) / (s[0] as number);
    const perRun = (of: (p: DataPhase) => number[]) => Array.from({ length: opts.runs }, (_, run) => ratioOf(phases.map((p) => of(p)[run] as number)));
    return {
      members: opts.members, zones: opts.zones, vps: opts.vps, files, phases,
      ratios: perRun((p) => p.runs), ratio: ratioOf(phases.map((p) => p.best)),
      cpuRatios: perRun((p) => p.cpu), cpuRatio: ratioOf(phases.map((p) => p.bestCpu)),
      cachedCpuRatio: ratioOf([0, 4, 2, 3].map((i) => (phases[i] as DataPhase).bestCpu)),
      ...(opts.keep ? { dir } : {}),
    };
  } finally {
    if (!opts.keep) rmSync(dir, { recursive: true, force: true });
  }
}

/** The bench's table: each phase's best time and its ratio to the floor, wall and CPU, then the target line. */
export function formatDataBench(r: DataBenchResult): string {
  const floor = r.phases[0] as DataPhase;
  const head = ["phase", "wall s", "×floor", "CPU s", "×floor", "runs (wall s)", "peak RSS MB", "detail"];
  const body = r.phases.map((p) => [p.phase, p.best.toFixed(2), (p.best / floor.best).toFixed(2), p.bestCpu.toFixed(2), (p.bestCpu / floor.bestCpu).toFixed(2), p.runs.map((s) => s.toFixed(2)).join(" "), p.rssMb.toFixed(0), p.detail]);
  const sum = (of: (p: DataPhase) => number) => r.phases.slice(1, 4).reduce((n, p) => n + of(p), 0);
  const met = (x: number) => (x <= TARGET_RATIO ? "met" : "NOT met");
  body.push(["load + checks + render", sum((p) => p.best).toFixed(2), r.ratio.toFixed(2), sum((p) => p.bestCpu).toFixed(2), r.cpuRatio.toFixed(2), r.ratios.map((x) => `×${x.toFixed(2)}`).join(" "), "", `target ≤ ×${TARGET_RATIO}: wall ${met(r.ratio)}, CPU ${met(r.cpuRatio)}`]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] as string).length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join("  ").trimEnd();
  return [
    `${r.members} members, ${r.zones} zones, ${r.vps} VPS (${r.files} YAML files); best of ${floor.runs.length} run(s), each phase after a full GC`,
    line(head),
    ...body.map(line),
    `ratio per run: wall ${r.ratios.map((x) => `×${x.toFixed(2)}`).join(" ")}; CPU ${r.cpuRatios.map((x) => `×${x.toFixed(2)}`).join(" ")}`,
    `with the load cache (no file changed since the last run): load + checks + render CPU ×${r.cachedCpuRatio.toFixed(2)} the floor`,
  ].join("\n");
}
