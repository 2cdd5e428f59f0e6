import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { withoutSdkOverheadWhile } from "../base/sdk-overhead";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { LocalWorkspace, type OpMap, type ProjectSettings, type Stack } from "@pulumi/pulumi/automation";
import { REPO_ROOT } from "../base/repo";
import { writeSyntheticTree } from "./synthetic";
import { engineEnv, openStack, PROJECT } from "../engine/driver";
import { ensureEngine } from "../engine/toolchain";
import { BENCH_NOOP_TOKEN } from "../base/tokens";
import { alternatedRounds, roundRatio } from "./rounds";

/**
 * `npm run bench -- engine`: the no-op preview of the real program (index.ts over a synthetic
 * tree) beside a bare program of as many trivial resources (the engine's floor), on the same
 * provider binary and the same kind of backend (a file backend in a temporary folder).
 *
 * Nothing contacts a host: the bench's engine runs set GLOBENET_PROVIDER_DRY_RUN=1, which
 * makes the provider's create/update/read/delete do nothing (provider/dry-run.ts) while check
 * and diff, all a no-op preview calls, stay the real ones.
 */

export const STACK = "bench";
/** Guards throwaway state in a temporary folder: nothing of value. */
const PASSPHRASE = "globenet-bench-throwaway";
export const TARGET_RATIO = 1.3;

/** The target is met only when both readings are: the best against the best, and the median of the rounds' ratios. */
export function meetsTarget(ratio: number, roundRatio: number): boolean {
  return Math.max(ratio, roundRatio) <= TARGET_RATIO;
}
/** Each preview runs this many times, in alternated rounds with its floor's; the best is reported, and the median of the rounds' ratios. */
export const PREVIEW_RUNS = 2;
const NOOP_TOKEN = BENCH_NOOP_TOKEN;
/** What the provider prints on stderr in dry mode (provider/dry-run.ts); the engine passes it on as a debug diagnostic. */
const DRY_RUN_BANNER = "globenet provider: DRY RUN (GLOBENET_PROVIDER_DRY_RUN=1)";

export interface EngineBenchOptions {
  members: number[];
  keep?: boolean;
  /** Progress lines (stderr by default). */
  log?: (line: string) => void;
}

export interface EngineBenchRow {
  members: number;
  /** Resources in the program's state, the stack itself included (the bare program has as many). */
  resources: number;
  programUp: number;
  bareUp: number;
  /** Every timed run, seconds. */
  programPreviews: number[];
  barePreviews: number[];
  programPreview: number;
  barePreview: number;
  ratio: number;
  /** The median of the rounds' ratios (each between the two previews of one round). */
  roundRatio: number;
}

export function secs(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

function count(changes: OpMap | Record<string, number> | undefined): { total: number; changed: number } {
  let total = 0;
  let changed = 0;
  for (const [op, n] of Object.entries(changes ?? {})) {
    total += n ?? 0;
    if (op !== "same") changed += n ?? 0;
  }
  return { total, changed };
}

class Noop extends pulumi.CustomResource {
  constructor(name: string, props: { i: number }) {
    super(NOOP_TOKEN, name, props);
  }
}

/** The bare program: `n` CustomResources of the provider's trivial type, tiny inputs. */
function bareProgram(n: number): () => Promise<Record<string, unknown>> {
  return async () => {
    for (let i = 0; i < n; i++) new Noop(`r${i}`, { i });
    return { resources: n };
  };
}

export function envFor(dir: string, name: string): Record<string, string> {
  const state = join(dir, `state-${name}`);
  mkdirSync(state, { recursive: true });
  return {
    PULUMI_BACKEND_URL: `file://${state}`,
    PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
    // The provider fakes create/read/update/delete and touches no host (provider/dry-run.ts).
    GLOBENET_PROVIDER_DRY_RUN: "1",
    // Keep the CLI's own per-user files (plugins, credentials, workspaces) out of the way.
    PULUMI_HOME: join(dir, "pulumi-home"),
  };
}

/** A bench stack of its own (state in `dir`/state-`name`) running `program` inline, on the project's provider in dry mode. */
export async function openBenchStack(dir: string, name: string, program: () => Promise<Record<string, unknown>>): Promise<Stack> {
  const workDir = join(dir, name);
  mkdirSync(workDir, { recursive: true });
  const envVars = engineEnv(workDir, STACK, envFor(dir, name));
  const projectSettings = { name: PROJECT, runtime: "nodejs", plugins: { providers: [{ name: "globenet", path: join(REPO_ROOT, "provider", "bin") }] } } as ProjectSettings;
  return LocalWorkspace.createOrSelectStack({ stackName: STACK, projectName: PROJECT, program }, { workDir, envVars, projectSettings });
}

export function openBare(dir: string, resources: number, name = "bare"): Promise<Stack> {
  return openBenchStack(dir, name, bareProgram(resources - 1));
}

/** First `up` with checkpoints skipped (LAB-NOTES: linear instead of quadratic); returns seconds and resources. */
export async function firstUp(stack: Stack, what: string, log: (l: string) => void): Promise<{ s: number; resources: number }> {
  const ws = stack.workspace as LocalWorkspace;
  ws.envVars.PULUMI_SKIP_CHECKPOINTS = "true";
  log(`${what}: first up (PULUMI_SKIP_CHECKPOINTS=true) …`);
  const t0 = process.hrtime.bigint();
  let dry = false;
  try {
    const r = await withoutSdkOverheadWhile(() => stack.up({ color: "never", onEvent: (e) => (dry ||= !!e.diagnosticEvent?.message.includes(DRY_RUN_BANNER)) }));
    const s = secs(t0);
    // Belt and braces: the state must not claim resources that a real provider would have made.
    if (!dry) throw new Error(`${what}: the provider did not announce its dry mode: stopping (was GLOBENET_PROVIDER_DRY_RUN=1 passed on?)`);
    const resources = count(r.summary.resourceChanges).total;
    log(`${what}: first up done in ${s.toFixed(2)} s (${resources} resources)`);
    return { s, resources };
  } finally {
    delete ws.envVars.PULUMI_SKIP_CHECKPOINTS;
  }
}

/**
 * One no-op preview (checkpoints on, as any real run), timed (seconds); fails if anything would
 * change. The program and the floor both run as the CLI runs them (lib/engine/driver.ts): without
 * the SDK's stack traces (lib/base/sdk-overhead.ts).
 */
export async function noopPreview(stack: Stack, what: string, expected: number, log: (l: string) => void, label: string): Promise<number> {
  log(`${what}: no-op preview ${label} …`);
  const t0 = process.hrtime.bigint();
  const r = await withoutSdkOverheadWhile(() => stack.preview({ color: "never" }));
  const s = secs(t0);
  const c = count(r.changeSummary);
  if (c.changed > 0 || c.total !== expected) {
    throw new Error(`${what}: the preview is not a no-op: ${JSON.stringify(r.changeSummary)} (expected ${expected} unchanged)`);
  }
  log(`${what}: no-op preview ${label} done in ${s.toFixed(2)} s`);
  return s;
}

async function benchOne(n: number, opts: EngineBenchOptions, log: (l: string) => void): Promise<EngineBenchRow> {
  const dir = mkdtempSync(join(tmpdir(), "globenet-bench-engine-"));
  // Ctrl-C: the engine and the provider get the signal too; leave no temporary folder behind.
  const onSigint = () => {
    if (!opts.keep) rmSync(dir, { recursive: true, force: true });
    process.exit(130);
  };
  process.once("SIGINT", onSigint);
  try {
    const data = join(dir, "data");
    const t0 = process.hrtime.bigint();
    writeSyntheticTree(data, n);
    log(`N=${n}: wrote the synthetic tree in ${secs(t0).toFixed(2)} s (${dir})`);

    const prog = await openStack({ root: data, stack: STACK, env: envFor(dir, "program") });
    const pUp = await firstUp(prog, `N=${n} program`, log);
    const bare = await openBare(dir, pUp.resources);
    const bUp = await firstUp(bare, `N=${n} bare`, log);
    if (bUp.resources !== pUp.resources) throw new Error(`the bare program made ${bUp.resources} resources, the program ${pUp.resources}`);
    // The program's previews and the floor's in alternated rounds (lib/bench/rounds.ts).
    const [pPrev, bPrev] = (await alternatedRounds(
      [(label) => noopPreview(prog, `N=${n} program`, pUp.resources, log, label), (label) => noopPreview(bare, `N=${n} bare`, bUp.resources, log, label)],
      PREVIEW_RUNS,
    )) as [number[], number[]];

    const programPreview = Math.min(...pPrev);
    const barePreview = Math.min(...bPrev);
    return {
      members: n,
      resources: pUp.resources,
      programUp: pUp.s,
      bareUp: bUp.s,
      programPreviews: pPrev,
      barePreviews: bPrev,
      programPreview,
      barePreview,
      ratio: programPreview / barePreview,
      roundRatio: roundRatio(pPrev, bPrev),
    };
  } finally {
    process.off("SIGINT", onSigint);
    if (opts.keep) log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

export function formatTable(rows: EngineBenchRow[]): string {
  const head = ["N", "resources", "program preview s", "bare preview s", "ratio", "rounds' ratio", "", "program up s", "bare up s"];
  const body = rows.map((r) => [
    String(r.members),
    String(r.resources),
    r.programPreview.toFixed(2),
    r.barePreview.toFixed(2),
    r.ratio.toFixed(2),
    r.roundRatio.toFixed(2),
    meetsTarget(r.ratio, r.roundRatio) ? "ok" : "OVER",
    r.programUp.toFixed(2),
    r.bareUp.toFixed(2),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] as string).length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join("  ").trimEnd();
  return [line(head), ...body.map(line)].join("\n");
}

export async function engineBench(opts: EngineBenchOptions): Promise<EngineBenchRow[]> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`[bench] ${l}\n`));
  ensureEngine();
  log(`engine runs use GLOBENET_PROVIDER_DRY_RUN=1: the provider fakes create/update/delete and contacts no host (check and diff are real)`);
  const before = process.env.GLOBENET_PROVIDER_DRY_RUN;
  const t0 = process.hrtime.bigint();
  const rows: EngineBenchRow[] = [];
  try {
    for (const n of opts.members) rows.push(await benchOne(n, opts, log));
  } finally {
    // openStack copies GLOBENET_* into this process's environment: do not leave dry mode set.
    if (before === undefined) delete process.env.GLOBENET_PROVIDER_DRY_RUN;
    else process.env.GLOBENET_PROVIDER_DRY_RUN = before;
  }
  log(`done in ${secs(t0).toFixed(1)} s`);
  return rows;
}
