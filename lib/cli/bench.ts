import { cpus } from "node:os";
import { REPO_ROOT, UsageError } from "./args";
import type { Args, Io } from "./command";
import { writeSyntheticTree } from "../bench/synthetic";
import { dataBench, formatDataBench } from "../bench/data";
import { engineBench, formatTable, meetsTarget, PREVIEW_RUNS, TARGET_RATIO } from "../bench/engine";
import { formatShardedTable, shardedEngineBench } from "../bench/engine-sharded";
import { MAX_BUCKETS } from "../schema/inventory";
import { backupBench, formatBackupBench } from "../bench/backup";
import { formatFloors, serviceBench } from "../bench/service";
import { formatMailBench, mailBench } from "../bench/mail";
import { formatBootStages, formatServiceTable } from "../bench/service-table";
import { LabError } from "../base/proc";
import { defaultStack } from "./stack-default";

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
    io.out(`\nno-op preview, real program vs bare program of as many trivial resources (${PREVIEW_RUNS} alternated rounds: the best of each, their ratio, and the median of the rounds' ratios; first up informative)`);
    io.out(formatTable(rows));
    const over = rows.filter((r) => !meetsTarget(r.ratio, r.roundRatio));
    io.out(`target: both ratios <= ${TARGET_RATIO}: ${over.length === 0 ? "met" : `NOT met for N = ${over.map((r) => r.members).join(", ")}`}`);
    return 0;
  });
}

/** --sharded K: K web hosts, one shard each, and a core shard; --buckets B: web1's members split by hash into B more (lib/bench/engine-sharded.ts). */
async function shardedBenchCommand(members: string | undefined, sharded: string, buckets: string | undefined, keep: boolean, io: Io): Promise<number> {
  const n = Number(members ?? 1000);
  const k = Number(sharded);
  const b = Number(buckets ?? 0);
  if (!Number.isInteger(n) || n < 1 || n > 20000) throw new UsageError("--members must be one whole number from 1 to 20000 with --sharded");
  if (!Number.isInteger(k) || k < 1 || k > 50) throw new UsageError("--sharded takes the number of web hosts, one shard each (1 to 50)");
  if (!Number.isInteger(b) || b < 0 || b > MAX_BUCKETS) throw new UsageError(`--buckets takes the number of shards web1's members are split into by hash (1 to ${MAX_BUCKETS}, as validate allows; 0 or absent: not split)`);
  io.out(formatShardedTable(await shardedEngineBench({ members: n, shards: k, buckets: b, keep })));
  return 0;
}

/** npm run bench -- portal: a member's dashboard time (lib/portal/bench.ts, loaded only here). */
async function portalBenchCommand(a: Args, io: Io): Promise<number> {
  const runs = Number(a.str("runs") ?? 20);
  if (!Number.isInteger(runs) || runs < 1 || runs > 1000) throw new UsageError("--runs must be a whole number from 1 to 1000");
  const path = "../portal/bench";
  const { portalBench, formatPortalBench } = (await import(path)) as typeof import("../portal/bench");
  const live = a.flag("live");
  const stack = defaultStack(a.str("stack"), REPO_ROOT);
  const r = await portalBench({ root: REPO_ROOT, stack, runs, live });
  io.out(formatPortalBench(r));
  // What members get: the deployed portal reads the snapshot, never the hosts (--live's first figure is the lab portal's).
  return (r.snapshot ? r.snapshot.maxMs : r.maxMs) < 1000 ? 0 : 1;
}

/** npm run bench (table entry and help: lib/cli/commands.ts). */
export function runBench(a: Args, io: Io): number | Promise<number> {
  const [what, ...extra] = a.positionals;
  const values = { members: a.str("members"), out: a.str("out"), keep: a.flag("keep") };
  if (!what) throw new UsageError("say which benchmark: data, engine, backup, mail, service, portal or generate");
  if (extra.length > 0) throw new UsageError(`bench runs one benchmark (got "${a.positionals.join(" ")}")`);
  const sharded = a.str("sharded");
  const buckets = a.str("buckets");
  if (buckets !== undefined && (what !== "engine" || sharded === undefined)) throw new UsageError("--buckets splits web1's members of the sharded engine bench: use it with engine --sharded K");
  if (what === "engine" && sharded !== undefined) return shardedBenchCommand(values.members, sharded, buckets, values.keep, io);
  if (what === "engine") return engineBenchCommand(values.members, values.keep, io);
  if (what === "backup") return backupBenchCommand(a, io);
  if (what === "service") return serviceBenchCommand(a, io);
  if (what === "mail") return mailBenchCommand(a, io);
  if (what === "portal") return portalBenchCommand(a, io);
  const n = Number(values.members ?? 10000);
  if (!Number.isInteger(n) || n < 1 || n > 100000) throw new UsageError("--members must be a whole number from 1 to 100000");
  if (what === "generate") {
    if (!values.out) throw new UsageError("--out DIR is required");
    writeSyntheticTree(values.out, n);
    io.out(`wrote ${n} synthetic members to ${values.out} (stack: bench)`);
    return 0;
  }
  if (what !== "data") throw new UsageError(`unknown benchmark "${what}" (known: data, engine, backup, mail, service, portal, generate)`);
  return dataBenchCommand(a, n, values.keep, io);
}

function dataBenchCommand(a: Args, members: number, keep: boolean, io: Io): number {
  const whole = (name: string, dflt: number, min: number, max: number) => {
    const v = Number(a.str(name) ?? dflt);
    if (!Number.isInteger(v) || v < min || v > max) throw new UsageError(`--${name} must be a whole number from ${min} to ${max}`);
    return v;
  };
  const zones = whole("zones", members, 0, 100000);
  const vps = whole("vps", Math.floor(members / 10), 0, Math.min(members, 60000));
  const runs = whole("runs", 2, 1, 10);
  const r = dataBench({ members, zones, vps, runs, keep, say: (l) => io.err(`[bench] ${l}`) });
  io.out(formatDataBench(r));
  io.out(`on ${cpus().length} × ${cpus()[0]?.model ?? "CPU"}, node ${process.version}`);
  if (r.dir) io.out(`kept ${r.dir}`);
  return 0;
}
