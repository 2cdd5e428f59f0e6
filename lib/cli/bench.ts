import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT, UsageError } from "./args";
import type { Args, Io } from "./command";
import { writeSyntheticTree } from "../bench/synthetic";
import { engineBench, formatTable, PREVIEW_RUNS, TARGET_RATIO } from "../bench/engine";
import { backupBench, formatBackupBench } from "../bench/backup";
import { formatFloors, serviceBench } from "../bench/service";
import { formatMailBench, mailBench } from "../bench/mail";
import { formatBootStages, formatServiceTable } from "../bench/service-table";
import { LabError } from "../base/proc";

/** Shown as the error and what to do next (exit 1): the service bench's refusals (not root, no lab). */
export const expected = [LabError];

/** npm run bench -- service: time to service of one new member on the running single-address lab. */
async function serviceBenchCommand(a: Args, io: Io): Promise<number> {
  const r = await serviceBench({ root: REPO_ROOT, keep: a.flag("keep"), say: (l) => io.err(`[bench] ${l}`) });
  if (a.flag("json")) {
    io.out(JSON.stringify(r, null, 2));
  } else {
    io.out("\ntime to service of one new member (site, database, VPS), seconds since the apply started");
    io.out(formatServiceTable(r.table));
    io.out(formatFloors(r));
    io.out(`\nthe guest's boot, on its own clock (serial console), the applied guest beside the bare boot`);
    io.out(formatBootStages(r.boot.applied, r.boot.bare));
  }
  return r.table.missing.length ? 1 : 0;
}

async function backupBenchCommand(a: Args, io: Io): Promise<number> {
  const members = Number(a.str("members") ?? 150);
  const mb = Number(a.str("mb") ?? 20);
  if (!Number.isInteger(members) || members < 1 || members > 5000) throw new UsageError("--members must be a whole number from 1 to 5000");
  if (!Number.isInteger(mb) || mb < 1 || mb > 1000) throw new UsageError("--mb must be a whole number of MB per member, from 1 to 1000");
  const r = await backupBench({ members, mbPerMember: mb, changed: 0.01, keep: a.flag("keep"), say: (l) => io.err(l) });
  io.out(formatBackupBench(r));
  if (r.dir) io.out(`kept ${r.dir}`);
  return 0;
}

async function mailBenchCommand(a: Args, io: Io): Promise<number> {
  const domains = Number(a.str("members") ?? 150);
  const mailboxes = Number(a.str("mailboxes") ?? 5);
  if (!Number.isInteger(domains) || domains < 1 || domains > 5000) throw new UsageError("--members must be a whole number from 1 to 5000");
  if (!Number.isInteger(mailboxes) || mailboxes < 1 || mailboxes > 200) throw new UsageError("--mailboxes must be a whole number from 1 to 200 (the most a domain may have)");
  const r = await mailBench({ domains, mailboxes, keep: a.flag("keep"), say: (l) => io.err(`[bench] ${l}`) });
  io.out(formatMailBench(r));
  if (r.dir) io.out(`kept ${r.dir}`);
  return r.change.acceptedAfterSeconds === undefined ? 1 : 0;
}

function engineBenchCommand(members: string | undefined, keep: boolean, io: Io): Promise<number> {
  const list = (members ?? "100,1000").split(",").map((x) => Number(x.trim()));
  if (list.some((n) => !Number.isInteger(n) || n < 1 || n > 20000)) throw new UsageError("--members must be whole numbers from 1 to 20000, comma-separated (like 100,1000)");
  return engineBench({ members: list, keep }).then((rows) => {
    io.out(`\nno-op preview, real program vs bare program of as many trivial resources (best of ${PREVIEW_RUNS} runs each; first up informative)`);
    io.out(formatTable(rows));
    const over = rows.filter((r) => r.ratio > TARGET_RATIO);
    io.out(`target: ratio <= ${TARGET_RATIO}: ${over.length === 0 ? "met" : `NOT met for N = ${over.map((r) => r.members).join(", ")}`}`);
    return 0;
  });
}

/** npm run bench (table entry and help: lib/cli/commands.ts). */
export function runBench(a: Args, io: Io): number | Promise<number> {
  const [what, ...extra] = a.positionals;
  const values = { members: a.str("members"), out: a.str("out"), keep: a.flag("keep") };
  if (!what) throw new UsageError("say which benchmark: data, engine, backup, mail, service or generate");
  if (extra.length > 0) throw new UsageError(`bench runs one benchmark (got "${a.positionals.join(" ")}")`);
  if (what === "engine") return engineBenchCommand(values.members, values.keep, io);
  if (what === "backup") return backupBenchCommand(a, io);
  if (what === "service") return serviceBenchCommand(a, io);
  if (what === "mail") return mailBenchCommand(a, io);
  const n = Number(values.members ?? 10000);
  if (!Number.isInteger(n) || n < 1 || n > 100000) throw new UsageError("--members must be a whole number from 1 to 100000");
  if (what === "generate") {
    if (!values.out) throw new UsageError("--out DIR is required");
    writeSyntheticTree(values.out, n);
    io.out(`wrote ${n} synthetic members to ${values.out} (stack: bench)`);
    return 0;
  }
  if (what !== "data") throw new UsageError(`unknown benchmark "${what}" (known: data, engine, backup, mail, service, generate)`);
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
    io.out(`members            ${n}`);
    io.out(`generate tree      ${gen.toFixed(2)} s`);
    io.out(`npm run validate   ${v.s.toFixed(2)} s   (${v.out})`);
    io.out(`npm run render     ${r.s.toFixed(2)} s   (${r.out})`);
    return 0;
  } finally {
    if (values.keep) io.out(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}
