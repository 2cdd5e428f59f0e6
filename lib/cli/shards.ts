import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { simpleGit } from "simple-git";
import { loadModel } from "../check/build";
import { loadWholeIndexed, shardIndexFile } from "../check/shard-index";
import { applyOrder, childPipeline } from "../ci/shard-pipeline";
import { touchedShards } from "../ci/touched-shards";
import { extractDataTree } from "../diff/extract";
import { movesFromPlans, removedShardPlans, stateMove } from "../engine/shard-move";
import { fullCommit, lastAppliedCommit } from "../guard/allowances";
import { previewPlan } from "../guard/collect";
import { openStack, openWorkspace } from "../lab/open-stack";
import { formatDiagnostic } from "../load/diagnostic";
import { shardNames, shardPrerequisites, shardStackName, shardView } from "../model/shards";
import type { Model } from "../model/types";
import { REPO_ROOT, UsageError } from "./args";
import type { Args, Io } from "./command";
import { defaultStack } from "./stack-default";

/** npm run shards (table entry and help: lib/cli/commands.ts; docs/architecture.md, "Sharded stacks"). */
export async function runShards(a: Args, io: Io): Promise<number> {
  const [cmd, ...rest] = a.positionals;
  if (rest.length) throw new UsageError(`unexpected ${rest.join(" ")}`);
  const root = a.str("root") ?? REPO_ROOT;
  const stack = defaultStack(a.str("stack"), a.str("root"));
  // `pipeline` runs in CI's protected job: it also writes the index its child jobs get (lib/check/shard-index.ts).
  const model = loadOrThrow(root, stack, cmd === "pipeline" ? process.env.PULUMI_CONFIG_PASSPHRASE : undefined, io);
  const shards = shardNames(model);
  if (shards.length === 0) throw new UsageError(`stack ${stack} has no shards (no \`shards:\` in Pulumi.${stack}.yaml)`);
  switch (cmd ?? "list") {
    case "list": {
      const after = shardPrerequisites(model);
      for (const s of shards) {
        const v = shardView(model, s);
        const rule = model.inventory.shards?.[s];
        const holds = rule?.members_of !== undefined ? `members of ${rule.members_of}, bucket ${rule.bucket} of ${rule.buckets}` : `hosts ${v.hosts.map((h) => h.name).join(", ")}`;
        const first = after.get(s);
        io.out(`${s}  stack ${shardStackName(stack, s)}  ${holds}  members ${v.members.filter((m) => m.webHost).length}, sites ${v.sites.length}, databases ${v.databases.length}, VPS ${v.vps.length}${first?.length ? `  (its part of the sets of shard ${first.join(", ")})` : ""}`);
      }
      return 0;
    }
    case "touched": {
      const base = a.str("base");
      if (!base) throw new UsageError("touched needs --base REV (the commit to compare the data tree with)");
      for (const s of touchedShards(await modelAt(root, stack, base), model)) io.out(s);
      return 0;
    }
    case "pipeline": {
      const out = a.str("out");
      if (!out) throw new UsageError("pipeline needs --out FILE (the child pipeline's YAML)");
      const { touched, bases } = await shardsToApply(root, stack, model, a.str("base"), io);
      const order = applyOrder(model, bases, touched);
      writeFileSync(out, childPipeline(stack, touched, order));
      const after = [...order].map(([s, first]) => `; ${s} after ${first.join(", ")}`).join("");
      io.out(`${out}: ${touched.length ? `apply ${touched.join(", ")}` : "no shard touched"}${after}`);
      return 0;
    }
    case "move": {
      const plans: Record<string, ReadonlyArray<{ op: string; urn: string }>> = {};
      for (const s of shards) plans[s] = (await previewPlan(await openStack({ root, stack: shardStackName(stack, s) }))).plan.steps;
      // A shard the inventory no longer lists (a bucket taken away): its state, all of it, is what it would delete.
      const removed = await removedShardPlans(await openWorkspace({ root, stack: shardStackName(stack, shards[0] as string) }), stack, shards);
      Object.assign(plans, removed);
      const moves = movesFromPlans(plans);
      if (moves.length === 0) io.out("no object to move: every shard's state already holds what the rule gives it");
      for (const m of moves) {
        io.out(`${m.from} → ${m.to}: ${m.urns.length} resource(s)`);
        for (const u of m.urns) io.out(`  ${u.split("::").slice(2).join("::")}`);
      }
      if (!a.flag("yes")) {
        if (moves.length) io.out("nothing moved: run again with --yes to move them (pulumi state move: ids kept, nothing recreated)");
        return 0;
      }
      for (const m of moves) {
        const w = await openWorkspace({ root, stack: shardStackName(stack, m.from) });
        await stateMove(w, shardStackName(stack, m.from), shardStackName(stack, m.to), m.urns);
        io.out(`moved ${m.urns.length} resource(s) from ${shardStackName(stack, m.from)} to ${shardStackName(stack, m.to)}`);
      }
      for (const [s, steps] of Object.entries(removed)) {
        const left = steps.length - moves.filter((m) => m.from === s).reduce((n, m) => n + m.urns.length, 0);
        if (left > 0) io.out(`${s} is no longer a shard of ${stack}; its stack still holds ${left} resource(s) (a bucket's part of its host's sets): once the shards that took its members are applied (they take its members' sites over), npm run destroy -- --stack ${stack} --shard ${s} --confirm ${shardStackName(stack, s)}`);
      }
      return 0;
    }
    default:
      throw new UsageError(`unknown action ${cmd}: list, touched, pipeline or move`);
  }
}

function loadOrThrow(root: string, stack: string, indexKey?: string, io?: Io): Model {
  const { model, errors, indexed } = loadWholeIndexed(root, stack, indexKey);
  if (indexed) io?.out(`${shardIndexFile(root, stack)}: the index of the validated data, for the shard jobs (each loads its part)`);
  if (!model) throw new UsageError(`the data of stack ${stack} has errors (npm run validate lists them):\n${errors.slice(0, 10).map((d) => `  ${formatDiagnostic(d)}`).join("\n")}`);
  return model;
}

/** The model of the data at a commit of `root`'s history, or undefined when it does not load. */
async function modelAt(root: string, stack: string, rev: string): Promise<Model | undefined> {
  const commit = fullCommit(root, rev);
  if (!commit) throw new UsageError(`${rev} is not a commit of ${root}`);
  const dir = mkdtempSync(join(tmpdir(), "globenet-shards-"));
  try {
    await extractDataTree(simpleGit(root), root, commit, dir, stack);
    return loadModel(dir, stack).model;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The shards a merge applies: those whose objects differ between `base` (given) or each shard's
 * last successfully applied commit (its history's git.head) and the checkout. A shard never
 * applied, or whose commit the checkout does not know, is applied.
 */
async function shardsToApply(root: string, stack: string, model: Model, base: string | undefined, io: Io): Promise<{ touched: string[]; bases: Map<string, Model | undefined> }> {
  const models = new Map<string, Model | undefined>();
  const out: string[] = [];
  // Each touched shard's data at its last applied commit (the order of the moves reads it).
  const bases = new Map<string, Model | undefined>();
  for (const s of shardNames(model)) {
    let rev = base;
    if (!rev) {
      const applied = lastAppliedCommit(await (await openStack({ root, stack: shardStackName(stack, s) })).history(50));
      rev = applied && fullCommit(root, applied);
      if (!rev) {
        io.out(`${s}: no successful update of a commit this checkout knows: applied`);
        out.push(s);
        continue;
      }
    }
    if (!models.has(rev)) models.set(rev, await modelAt(root, stack, rev));
    const was = models.get(rev);
    if (!touchedShards(was, model).includes(s)) continue;
    out.push(s);
    bases.set(s, was);
  }
  return { touched: out, bases };
}
