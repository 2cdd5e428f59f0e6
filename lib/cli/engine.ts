import { writeFileSync } from "node:fs";
import type { OpMap } from "@pulumi/pulumi/automation";
import { DriverError } from "../engine/driver";
import { openStack } from "../lab/open-stack";
import { parseUpdateMessage } from "../state/metadata";
import { previewPlan } from "../guard/collect";
import { guardBeforeUp } from "../guard/apply";
import { formatAdoption, judgeAdoption, takeoverBackupLines } from "../guard/adoption";
import { formatMpmSwitches, mpmSwitches } from "../guard/mpm";
import type { Plan } from "../guard/plan";
import { volunteerLang } from "../i18n/lang";
import { keysOfUrns } from "../../provider/adopt-ids";
import { ToolchainError } from "../engine/toolchain";
import { REPO_ROOT, seconds, UsageError } from "./args";
import { defaultStack } from "./stack-default";
import { isLabStack, mustReachLabHosts } from "../lab/open-stack";
import { LabError } from "../base/proc";
import { consoleIo, runCommand, type Args, type Io } from "./command";
import { findCommand } from "./commands";
import { loadModel } from "../check/build";
import { formatCerts } from "../status/certs";
import { onStackHosts, stackResources } from "../lab/open-stack";
import { waitForCerts } from "../status/cert-wait";
import { shardProblem, shardStackName } from "../model/shards";
import { inventoryShards } from "../engine/shards";

function summary(changes: OpMap | Record<string, number> | undefined): string {
  const entries = Object.entries(changes ?? {}).filter(([, n]) => (n ?? 0) > 0);
  return entries.length ? entries.map(([op, n]) => `${op} ${n}`).join(", ") : "no resources";
}

function changed(changes: OpMap | Record<string, number> | undefined): number {
  return Object.entries(changes ?? {}).filter(([op]) => op !== "same").reduce((a, [, n]) => a + (n ?? 0), 0);
}

/** npm run preview|up|refresh|destroy|history (table entries and help: lib/cli/commands.ts); each declares only the options it uses. */
export async function runEngine(op: string, a: Args, io: Io): Promise<number> {
  const str = (n: string) => (a.declares(n) ? a.str(n) : undefined);
  const flag = (n: string) => a.declares(n) && a.flag(n);
  const values = {
    stack: str("stack"),
    shard: str("shard"),
    root: str("root"),
    "expect-no-changes": flag("expect-no-changes"),
    "plan-json": str("plan-json"),
    refresh: flag("refresh"),
    diff: flag("diff"),
    confirm: str("confirm"),
    "lock-wait": str("lock-wait"),
    "cert-wait": str("cert-wait"),
    guard: flag("guard"),
    allow: a.declares("allow") ? a.list("allow") : undefined,
    limit: str("limit"),
    adopt: flag("adopt"),
  };
  const dataStack = defaultStack(values.stack, values.root);
  // A sharded stack: each shard is its own engine stack <stack>.<shard> (docs/architecture.md, "Sharded stacks").
  const shards = inventoryShards(values.root ?? REPO_ROOT, dataStack);
  // destroy runs no program: it may empty the stack of a shard the inventory no longer lists (a
  // bucket taken away by a smaller buckets:, whose part of its host's sets stays until then).
  const gone = op === "destroy" && values.shard !== undefined && shards !== undefined && Object.keys(shards).length > 0 && !(values.shard in shards);
  const refused = gone ? undefined : shardProblem({ stack: dataStack, inventory: { shards } }, values.shard);
  if (refused) throw new UsageError(refused);
  const stackName = values.shard === undefined ? dataStack : shardStackName(dataStack, values.shard);
  if (op === "destroy" && values.confirm !== stackName) {
    throw new UsageError(`destroy removes everything stack ${stackName} manages (members' data is archived first): confirm with --confirm ${stackName}`);
  }
  const lockWait = values["lock-wait"] === undefined ? 0 : Number(values["lock-wait"]);
  if (!Number.isInteger(lockWait) || lockWait < 0) throw new UsageError(`--lock-wait takes a whole number of seconds (got "${values["lock-wait"]}")`);
  const certWait = values["cert-wait"] === undefined ? 0 : Number(values["cert-wait"]);
  if (!Number.isInteger(certWait) || certWait < 0 || certWait > 3600) throw new UsageError(`--cert-wait takes a whole number of seconds up to 3600 (got "${values["cert-wait"]}")`);
  const limit = values.limit === undefined ? 20 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit takes a whole number (got "${values.limit}")`);
  if (values.allow?.length && (op !== "up" || (!values.guard && isLabStack(dataStack)))) {
    throw new UsageError(op !== "up" ? "--allow is for up's guard" : `--allow is for the guard: add --guard (the lab's stack ${stackName} runs without it by default)`);
  }
  // history reads the state only; the others may reach the hosts (the provider reads and writes them).
  if (op !== "history") mustReachLabHosts(values.root ?? REPO_ROOT, dataStack);
  const t0 = process.hrtime.bigint();
  try {
    // Adoption: the program imports what the state lacks, so it needs to know what the state has.
    const adopt = values.adopt ? { inState: new Set<string>() } : undefined;
    const stack = await openStack({ stack: stackName, root: values.root, lockWaitSeconds: lockWait, onLockWait: (l) => io.err(l), adopt });
    if (adopt) for (const k of keysOfUrns((await stackResources(stack)).map((r) => r.urn))) adopt.inState.add(k);
    /** The adoption guard's verdict on a plan, printed; false: refused. */
    const adoptionOk = (plan: Plan, allowances: readonly string[] = []): boolean => {
      const v = judgeAdoption(plan, allowances);
      io.out(formatAdoption(v, volunteerLang()));
      return v.ok;
    };
    const color = io.isTTY ? "auto" : "never";
    const onOutput = (s: string) => io.write(s);
    switch (op) {
      case "preview": {
        const { plan, result: r } = await previewPlan(stack, { onOutput, color, diff: values.diff, refresh: values.refresh });
        if (values["plan-json"]) {
          writeFileSync(values["plan-json"], `${JSON.stringify(plan, null, 2)}\n`);
          io.out(`plan written to ${values["plan-json"]} (${plan.steps.length} steps): npm run guard -- --plan ${values["plan-json"]}`);
        }
        if (adopt && !adoptionOk(plan)) return 1;
        // An MPM switch restarts Apache: said plainly here too (the guard of up asks for it to be allowed).
        const restarts = adopt ? [] : mpmSwitches(plan);
        if (restarts.length) io.out(formatMpmSwitches(restarts, volunteerLang()));
        const n = changed(r.changeSummary);
        io.out(`\npreview of ${stackName}: ${summary(r.changeSummary)} (${seconds(t0)})`);
        if (values["expect-no-changes"] && n > 0) {
          io.err(`${n} change(s) where none were expected`);
          return 1;
        }
        return 0;
      }
      case "up": {
        let judged: Plan | undefined;
        let allowances: readonly string[] = values.allow ?? [];
        if (values.guard || !isLabStack(dataStack)) {
          // The plan judged on the merge request may be stale: judge this apply's own plan.
          io.out(`guard: previewing stack ${stackName} before the update …`);
          const g = await guardBeforeUp(stack, values.root ?? REPO_ROOT, { allow: values.allow, refresh: values.refresh });
          io.out(g.text);
          judged = g.plan;
          allowances = g.verdict.allowances;
          if (!g.ok) {
            const only = g.verdict.losses.every((l) => l.allowedBy) && g.verdict.share.length === 0;
            io.err(`\nup of ${stackName} refused by the guard before changing anything (${seconds(t0)}): ${only ? "switch the MPM at a quiet hour or allow the restart, as said above" : "add the Allow-Destroy lines above in a commit, if this is intended"}`);
            return 1;
          }
        }
        if (adopt) {
          // No replace or delete while taking over what runs, whatever Allow-Destroy lines say.
          if (!judged) io.out(`adoption: previewing stack ${stackName} before the update …`);
          const plan = judged ?? (await previewPlan(stack, { color: "never", refresh: values.refresh })).plan;
          if (!adoptionOk(plan, allowances)) {
            io.err(`\nadoption on ${stackName} refused before changing anything (${seconds(t0)})`);
            return 1;
          }
        }
        // --refresh: read the hosts first, so a hand edit (drift) is put back to git's version.
        // continueOnError: a host that is down fails its own resources (and what depends on
        // them) while every other host still gets its changes, as an apply host by host would;
        // the apply still fails, naming the host, and the next one converges.
        const r = await stack.up({ onOutput, color, diff: values.diff, refresh: values.refresh, continueOnError: true });
        io.out(`\nup of ${stackName}: ${summary(r.summary.resourceChanges)} (${seconds(t0)})`);
        // Where the takeover kept the hand-made files it disabled: the way back, and the runbook's last step.
        if (adopt) for (const l of takeoverBackupLines(await stackOutputs(stack), volunteerLang())) io.out(l);
        await reportCertificates(values.root ?? REPO_ROOT, dataStack, certWait, io);
        return 0;
      }
      case "refresh": {
        const r = await stack.refresh({ onOutput, color });
        io.out(`\nrefresh of ${stackName}: ${summary(r.summary.resourceChanges)} (${seconds(t0)})`);
        return 0;
      }
      case "destroy": {
        const r = await stack.destroy({ onOutput, color });
        io.out(`\ndestroy of ${stackName}: ${summary(r.summary.resourceChanges)} (${seconds(t0)})`);
        return 0;
      }
      case "history": {
        const h = await stack.history(limit);
        for (const line of historyLines(h)) io.out(line);
        if (h.length === 0) io.out(`stack ${stackName} has no updates yet`);
        return 0;
      }
      default:
        throw new UsageError(`unknown operation ${op}`);
    }
  } catch (e) {
    if (e instanceof DriverError || e instanceof ToolchainError || e instanceof UsageError) throw e;
    const msg = e instanceof Error ? e.message : String(e);
    // The Automation API's error carries the CLI's whole output; its tail says what failed.
    io.err(`\n${op} of ${stackName} failed (${seconds(t0)}):\n${msg.split("\n").slice(-25).join("\n")}`);
    return 1;
  }
}

/** Every resource of the stack's state with its outputs (as exported; secrets stay encrypted). */
async function stackOutputs(stack: Awaited<ReturnType<typeof openStack>>): Promise<Array<{ type: string; outputs?: Record<string, unknown> }>> {
  const d = await stack.exportStack();
  return (d.deployment as { resources?: Array<{ type: string; outputs?: Record<string, unknown> }> }).resources ?? [];
}

/**
 * One line per update, newest first: number, start (UTC), kind, result, changes, the commit
 * applied (the CLI's git.head, else the one the driver wrote in the message), the merge
 * request and who; then the commit's subject.
 */
export function historyLines(h: ReadonlyArray<{ version: number; startTime: Date | string; kind: string; result: string; message?: string; environment?: Record<string, string>; resourceChanges?: OpMap | Record<string, number> }>): string[] {
  return h.map((u) => {
    const env = u.environment ?? {};
    const facts = parseUpdateMessage(u.message ?? "");
    const commit = env["git.head"]?.slice(0, 12) ?? facts.commit;
    const mr = facts.mr ?? (env["ci.pr.number"] ? `!${env["ci.pr.number"]}` : undefined);
    const who = facts.who ?? env["git.committer"];
    const start = new Date(u.startTime);
    const when = Number.isNaN(start.getTime()) ? String(u.startTime) : start.toISOString().replace(/\.\d{3}Z$/, "Z");
    const tags = [commit ? `commit ${commit}` : "commit ?", mr ? `MR ${mr}` : "", who ? `by ${who}` : "", facts.dirty ? "uncommitted changes" : ""].filter(Boolean).join("  ");
    return `#${u.version}  ${when}  ${u.kind.padEnd(8)} ${u.result.padEnd(10)} ${summary(u.resourceChanges).padEnd(24)} ${tags}${facts.subject ? `  "${facts.subject}"` : ""}`;
  });
}

/**
 * After an apply: the certificates come afterwards, from mod_md on each web host. Lists the
 * sites still without one (or lacking a name), with mod_md's error and what to do. Never fails
 * the apply: the sites serve HTTP meanwhile and mod_md keeps trying.
 */
async function reportCertificates(root: string, stack: string, waitSec: number, io: Io): Promise<void> {
  const { model } = loadModel(root, stack);
  if (!model?.inventory.acme || !model.sites.some((s) => s.tls === "acme")) return;
  try {
    const rows = await onStackHosts(root, stack, () => waitForCerts(root, model, waitSec));
    const bad = rows.filter((r) => r.state !== "ok");
    if (bad.length === 0) {
      io.out(`certificates: all ${rows.length} live`);
      return;
    }
    io.out(`certificates: ${rows.length - bad.length} of ${rows.length} live; these need attention (mod_md keeps trying by itself):`);
    io.out(formatCerts(bad).replace(/^/gm, "  "));
  } catch (e) {
    io.err(`warning: could not read the certificates back (${(e as Error).message.split("\n")[0]}); npm run status -- certs --stack ${stack} tells later`);
  }
}

/** An engine operation as `npm run <op> -- argv` parses and reports it (never throws). */
export function engineCommand(op: string, argv: string[], io: Io = consoleIo): Promise<number> {
  return runCommand(findCommand(op)!, argv, io);
}

/** Shown as one line (exit 1): the stack is locked, the toolchain is missing… */
export const expected = [DriverError, ToolchainError, LabError];
