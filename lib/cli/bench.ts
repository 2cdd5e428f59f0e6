import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { REPO_ROOT, UsageError } from "./args";
import { writeSyntheticTree } from "../bench/synthetic";
import { engineBench, formatTable, PREVIEW_RUNS, TARGET_RATIO } from "../bench/engine";

export const BENCH_HELP = `Usage: npm run bench -- data [--members N] [--keep]
       npm run bench -- engine [--members N,N…] [--keep]
       npm run bench -- generate --out DIR [--members N]

data: writes N synthetic members (default 10000) to a temporary tree, then runs
\`npm run validate\` and \`npm run render\` on it as a user would and prints the times.
engine: for each N (default 100,1000), the no-op \`preview\` of the real program over N
synthetic members beside a bare program of as many trivial resources (the engine's floor),
same provider and file backend; target: ratio <= ${TARGET_RATIO}. Runs the engine with
GLOBENET_PROVIDER_DRY_RUN=1: the provider contacts no host (stack "bench" only).
generate: only writes the tree, to try the commands by hand.`;

function engineCommand(members: string | undefined, keep: boolean): Promise<number> {
  const list = (members ?? "100,1000").split(",").map((x) => Number(x.trim()));
  if (list.some((n) => !Number.isInteger(n) || n < 1 || n > 20000)) throw new UsageError("--members must be whole numbers from 1 to 20000, comma-separated (like 100,1000)");
  return engineBench({ members: list, keep }).then((rows) => {
    console.log(`\nno-op preview, real program vs bare program of as many trivial resources (best of ${PREVIEW_RUNS} runs each; first up informative)`);
    console.log(formatTable(rows));
    const over = rows.filter((r) => r.ratio > TARGET_RATIO);
    console.log(`target: ratio <= ${TARGET_RATIO}: ${over.length === 0 ? "met" : `NOT met for N = ${over.map((r) => r.members).join(", ")}`}`);
    return 0;
  });
}

export function benchCommand(argv: string[]): number | Promise<number> {
  const [what, ...rest] = argv;
  const { values } = parseArgs({ args: rest, options: { members: { type: "string" }, out: { type: "string" }, keep: { type: "boolean" }, help: { type: "boolean", short: "h" } }, strict: true });
  if (values.help || !what) {
    console.log(BENCH_HELP);
    return values.help ? 0 : 2;
  }
  if (what === "engine") return engineCommand(values.members, !!values.keep);
  const n = Number(values.members ?? 10000);
  if (!Number.isInteger(n) || n < 1 || n > 100000) throw new UsageError("--members must be a whole number from 1 to 100000");
  if (what === "generate") {
    if (!values.out) throw new UsageError("--out DIR is required");
    writeSyntheticTree(values.out, n);
    console.log(`wrote ${n} synthetic members to ${values.out} (stack: bench)`);
    return 0;
  }
  if (what !== "data") throw new UsageError(`unknown benchmark "${what}" (known: data, engine, generate)`);
  const dir = mkdtempSync(join(tmpdir(), "globenet-bench-"));
  try {
    let t = process.hrtime.bigint();
    writeSyntheticTree(join(dir, "data"), n);
    const gen = Number(process.hrtime.bigint() - t) / 1e9;
    const cli = join(REPO_ROOT, "lib", "cli", "main.ts");
    const tsx = join(REPO_ROOT, "node_modules", ".bin", "tsx");
    const timed = (args: string[]) => {
      t = process.hrtime.bigint();
      const r = spawnSync(tsx, [cli, ...args], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
      const s = Number(process.hrtime.bigint() - t) / 1e9;
      if (r.status !== 0) throw new Error(`${args[0]} failed (exit ${r.status}):\n${(r.stderr || r.stdout).slice(0, 4000)}`);
      return { s, out: r.stdout.trim().split("\n").pop() ?? "" };
    };
    const v = timed(["validate", "--root", join(dir, "data"), "--stack", "bench"]);
    const r = timed(["render", "--root", join(dir, "data"), "--stack", "bench", "--out", join(dir, "out")]);
    console.log(`members            ${n}`);
    console.log(`generate tree      ${gen.toFixed(2)} s`);
    console.log(`npm run validate   ${v.s.toFixed(2)} s   (${v.out})`);
    console.log(`npm run render     ${r.s.toFixed(2)} s   (${r.out})`);
    return 0;
  } finally {
    if (values.keep) console.log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}
