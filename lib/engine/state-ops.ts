/**
 * The state commands' work (`npm run state -- …`, lib/cli/state.ts): backup, restore,
 * migrate between backends, recover from a stale lock, show locks. Every step says what it
 * does and how long it took; errors say what to do next; no credential is ever printed.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import { Stack, type Deployment } from "@pulumi/pulumi/automation";
import { exportEncrypted, onBackend, openStack, openWorkspace, pidAlive, type OpenedWorkspace, type StackOptions } from "./driver";
import { backendFromUrl, type Backend } from "../state/backend";
import { compareDeployments, managedCount, resourcesOf, urnLabel, type DeploymentFile } from "../state/compare";
import { LAB_PG_DATA, ensureLabPostgres, labBackendRecord, removeLabBackendRecord, writeLabBackendRecord } from "../state/lab-backend";
import { npmRun, viewLock } from "../state/lock";
import { readLocks } from "../state/store";

export class StateError extends Error {
  constructor(
    message: string,
    readonly next?: string,
  ) {
    super(message);
  }
}

export interface OpContext {
  root: string;
  say: (line: string) => void;
  /**
   * What the caller adds to a stack it runs the program on (a preview, a refresh): the lab's
   * deploy key and this machine's facts for the lab stack (lib/lab/open-stack.ts).
   */
  stackOptions?: (o: StackOptions) => StackOptions;
}

const withOptions = (ctx: OpContext, o: StackOptions): StackOptions => (ctx.stackOptions ? ctx.stackOptions(o) : o);

const secs = (t0: number) => `${((Date.now() - t0) / 1000).toFixed(1)} s`;

/** 20250131T120003Z */
export function stamp(d = new Date()): string {
  return d.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}Z$/, "Z");
}

function stackFlag(stack: string): string[] {
  return stack === "lab" ? [] : ["--stack", stack];
}

// ─── backup ────────────────────────────────────────────────────────────────────────────────────

export interface BackupResult {
  files: Array<{ stack: string; file: string; history: string; updates: number; resources: number; bytes: number; sha256: string }>;
}

/**
 * Writes `<dir>/<stack>-<UTC stamp>.json` for every stack of the backend that `stack` uses:
 * Pulumi's own export format (so a stock `pulumi stack import --file` reads it too), with
 * secrets as ciphertext only (never decrypted), mode 0600. Beside each, the stack's update
 * history (`<stack>-<time>.history.json`, as `pulumi stack history --json`): an import cannot
 * put history back, so after a restore the audit reads it from there (npm run audit --
 * --history FILE).
 */
export async function backupAll(ctx: OpContext & { stack: string; dir: string; backend?: Backend }): Promise<BackupResult> {
  const t0 = Date.now();
  const w = await openWorkspace({ root: ctx.root, stack: ctx.stack, backend: ctx.backend });
  ctx.say(`backup of the stacks in ${w.backend.display} (from ${w.backend.origin}) to ${ctx.dir}`);
  const stacks = await onBackend(w, ctx.stack, () => w.ws.listStacks());
  if (stacks.length === 0) throw new StateError(`${w.backend.display} holds no stack of project globenet-infra: nothing to back up`, "check the backend URL (npm run state -- status)");
  mkdirSync(ctx.dir, { recursive: true, mode: 0o700 });
  const when = stamp();
  const out: BackupResult = { files: [] };
  for (const s of stacks.map((x) => x.name).sort()) {
    const t = Date.now();
    const dep = await exportEncrypted(w, s);
    const text = `${JSON.stringify(dep, null, 2)}\n`;
    const file = join(resolve(ctx.dir), `${s.replace(/[^\w.-]/g, "_")}-${when}.json`);
    writeFileSync(file, text, { mode: 0o600, flag: "wx" });
    const updates = await onBackend(w, s, async () => (await Stack.select(s, w.ws)).history(undefined, undefined, false));
    const history = file.replace(/\.json$/, ".history.json");
    writeFileSync(history, `${JSON.stringify(updates, null, 2)}\n`, { mode: 0o600, flag: "wx" });
    const entry = { stack: s, file, history, updates: updates.length, resources: managedCount(dep as DeploymentFile), bytes: Buffer.byteLength(text), sha256: createHash("sha256").update(text).digest("hex") };
    out.files.push(entry);
    ctx.say(`  ${s}: ${entry.resources} resources, ${(entry.bytes / 1024).toFixed(1)} KiB, sha256 ${entry.sha256.slice(0, 16)}… → ${file} (+ ${entry.updates} updates of history) (${secs(t)})`);
  }
  ctx.say(`backup done: ${out.files.length} stack(s) in ${secs(t0)}; secrets stay encrypted (restoring needs the stack's passphrase)`);
  return out;
}

// ─── restore ───────────────────────────────────────────────────────────────────────────────────

/** The stack a saved deployment belongs to, from its resources' URNs (urn:pulumi:<stack>::…). */
export function stackOfDeployment(d: DeploymentFile): string | undefined {
  for (const r of resourcesOf(d)) {
    const m = /^urn:pulumi:([^:]+)::/.exec(r.urn);
    if (m) return m[1];
  }
  return undefined;
}

function readDeployment(file: string): DeploymentFile {
  if (!existsSync(file)) throw new StateError(`${file} does not exist`, "give a file written by npm run state -- backup");
  let d: DeploymentFile;
  try {
    d = JSON.parse(readFileSync(file, "utf8")) as DeploymentFile;
  } catch (e) {
    throw new StateError(`${file} is not JSON: ${(e as Error).message}`, "give a file written by npm run state -- backup (or pulumi stack export)");
  }
  if (typeof d.version !== "number" || !d.deployment) throw new StateError(`${file} is not a Pulumi stack export (no version/deployment)`, "give a file written by npm run state -- backup");
  return d;
}

export interface RestoreResult {
  stack: string;
  applied: boolean;
  comparison: ReturnType<typeof compareDeployments>;
  savedCurrent?: string;
}

/**
 * Shows what putting `file` back would change in its stack; with `yes`, saves the current
 * state beside the backups (when it has resources), imports the file and checks the count.
 */
export async function restoreFile(ctx: OpContext & { file: string; stack?: string; yes: boolean; backend?: Backend }): Promise<RestoreResult> {
  const t0 = Date.now();
  const saved = readDeployment(ctx.file);
  const fileStack = stackOfDeployment(saved);
  const stackName = ctx.stack ?? fileStack;
  if (!stackName) throw new StateError(`${ctx.file} holds no resource, so it does not say which stack it is`, "name the stack: --stack NAME");
  if (fileStack && fileStack !== stackName) throw new StateError(`${ctx.file} is a state of stack ${fileStack}, not ${stackName}`, `restore it to ${fileStack} (--stack ${fileStack}), or pick the right file`);
  const w = await openWorkspace({ root: ctx.root, stack: stackName, backend: ctx.backend });
  const stack = await onBackend(w, stackName, () => Stack.createOrSelect(stackName, w.ws));
  const current = (await exportEncrypted(w, stackName)) as DeploymentFile;
  const cmp = compareDeployments(current, saved);
  ctx.say(`restore of stack ${stackName} from ${ctx.file}`);
  ctx.say(`  now: ${managedCount(current)} resources; the file: ${managedCount(saved)} resources`);
  const list = (label: string, xs: string[]) => {
    if (!xs.length) return;
    ctx.say(`  ${label} (${xs.length}):`);
    for (const x of xs.slice(0, 40)) ctx.say(`    ${x}`);
    if (xs.length > 40) ctx.say(`    … and ${xs.length - 40} more`);
  };
  list("brought back", cmp.added);
  list("forgotten by the state (they stay on the hosts)", cmp.removed);
  list("put back as saved", cmp.changed);
  if (!cmp.added.length && !cmp.removed.length && !cmp.changed.length) ctx.say(`  the state already equals the file (${cmp.same} resources)`);
  if (!ctx.yes) {
    ctx.say(`nothing changed. To put the file back: ${npmRun("state", ["restore", ctx.file, ...stackFlag(stackName), "--yes"])}`);
    return { stack: stackName, applied: false, comparison: cmp };
  }
  let savedCurrent: string | undefined;
  if (managedCount(current) > 0) {
    savedCurrent = join(resolve(ctx.file, ".."), `${stackName}-before-restore-${stamp()}.json`);
    writeFileSync(savedCurrent, `${JSON.stringify(current, null, 2)}\n`, { mode: 0o600, flag: "wx" });
    ctx.say(`  the current state is saved first: ${savedCurrent}`);
  }
  await onBackend(w, stackName, () => stack.importStack(saved as unknown as Deployment));
  const after = (await exportEncrypted(w, stackName)) as DeploymentFile;
  if (managedCount(after) !== managedCount(saved)) {
    throw new StateError(`after the import stack ${stackName} holds ${managedCount(after)} resources, the file ${managedCount(saved)}`, `look at it with npm run state -- status${stackName === "lab" ? "" : ` -- --stack ${stackName}`}; the state before is in ${savedCurrent ?? "(it was empty)"}`);
  }
  ctx.say(`restored: stack ${stackName} holds the file's ${managedCount(after)} resources (${secs(t0)})`);
  ctx.say(`next: ${npmRun("preview", [...stackFlag(stackName), "--expect-no-changes"])} (the hosts should match the restored state; if not, ${npmRun("refresh", stackFlag(stackName))} reads them back)`);
  return { stack: stackName, applied: true, comparison: cmp, savedCurrent };
}

// ─── migrate ───────────────────────────────────────────────────────────────────────────────────

export interface MigrateResult {
  stack: string;
  from: string;
  to: string;
  resources: number;
  previewChanges: number;
}

/**
 * Moves stack `stack` from its backend (or `from`) to `to`: export, import into the target
 * (which must not hold that stack with resources), then checks the resource count and a
 * no-change preview on the target. The source is left as it was (a copy to delete later).
 * The lab's choice is recorded in .lab/state-backend.json when the target is lab-postgres
 * (removed when it is lab-file).
 */
export async function migrateStack(ctx: OpContext & { stack: string; to: string; from?: string }): Promise<MigrateResult> {
  const t0 = Date.now();
  const { stack: name } = ctx;
  let target: Backend;
  let labTarget: "postgres" | "file" | undefined;
  if (ctx.to === "lab-postgres" || ctx.to === "lab-file") {
    if (name !== "lab") throw new StateError(`--to ${ctx.to} is for the lab stack`, "for another stack give the target's URL: --to postgres://USER@HOST:5432/DB?sslmode=verify-full");
    if (ctx.to === "lab-postgres") {
      const t = Date.now();
      const pg = await ensureLabPostgres(ctx.root, (s) => ctx.say(`  ${s}`));
      ctx.say(`the lab's PostgreSQL: 127.0.0.1:${pg.port}, data ${pg.dataDir}, ${pg.started ? `started (pid ${pg.pid})` : "already running"} (${secs(t)})`);
      target = { ...backendFromUrl(pg.url, "the lab's PostgreSQL", {}), env: { PGPASSWORD: pg.password }, secrets: [pg.password] };
      labTarget = "postgres";
    } else {
      target = backendFromUrl(`file://${join(ctx.root, ".lab", "state")}`, "the lab's file backend");
      labTarget = "file";
    }
  } else {
    target = backendFromUrl(ctx.to, "--to");
  }
  const src = await openWorkspace({ root: ctx.root, stack: name, ...(ctx.from ? { backend: backendFromUrl(ctx.from, "--from") } : {}) });
  if (src.backend.url === target.url) throw new StateError(`stack ${name} already uses ${target.display}`, "nothing to migrate");
  ctx.say(`migrate stack ${name}: ${src.backend.display} → ${target.display}`);
  // 1. export
  let t = Date.now();
  const names = (await onBackend(src, name, () => src.ws.listStacks())).map((s) => s.name);
  if (!names.includes(name)) throw new StateError(`${src.backend.display} has no stack ${name}`, `check the source (npm run state -- status${name === "lab" ? "" : ` -- --stack ${name}`}), or give it with --from URL`);
  const locks = await readLocks(src.backend, name).catch(() => []);
  if (locks.length) throw new StateError(`stack ${name} is locked in the source (${locks.map((l) => `${l.user}@${l.host} pid ${l.pid}`).join(", ")}): an update is running or was killed`, `wait for it, or ${npmRun("state", ["recover", ...stackFlag(name)])} first`);
  const exported = (await exportEncrypted(src, name)) as DeploymentFile;
  const count = managedCount(exported);
  const pending = exported.deployment?.pending_operations?.length ?? 0;
  if (pending) throw new StateError(`stack ${name} has ${pending} pending operation(s) from an interrupted update`, `${npmRun("state", ["recover", ...stackFlag(name)])} first, then migrate`);
  ctx.say(`  1. exported from the source: ${count} resources (${secs(t)})`);
  // 2. import into the target
  t = Date.now();
  const dst = await openWorkspace({ root: ctx.root, stack: name, backend: target });
  const existing = (await onBackend(dst, name, () => dst.ws.listStacks())).some((s) => s.name === name);
  if (existing) {
    const there = (await exportEncrypted(dst, name)) as DeploymentFile;
    if (managedCount(there) > 0) {
      throw new StateError(`${target.display} already holds stack ${name} with ${managedCount(there)} resources: refusing to overwrite it`, `compare and choose: back it up (npm run state -- backup) and restore the one you want with npm run state -- restore FILE --yes`);
    }
  } else {
    await onBackend(dst, name, () => dst.ws.createStack(name));
  }
  await onBackend(dst, name, () => dst.ws.importStack(name, exported as unknown as Deployment));
  ctx.say(`  2. imported into the target (${secs(t)})`);
  // 3. the count
  t = Date.now();
  const back = (await exportEncrypted(dst, name)) as DeploymentFile;
  const cmp = compareDeployments(exported, back);
  if (managedCount(back) !== count || cmp.added.length || cmp.removed.length || cmp.changed.length) {
    throw new StateError(`the target holds ${managedCount(back)} resources for ${count} exported (${[...cmp.added, ...cmp.removed, ...cmp.changed].slice(0, 5).join(", ")})`, `the source is untouched: keep using it; report this with the output above`);
  }
  ctx.say(`  3. the target holds the same ${count} resources, identical (${secs(t)})`);
  // 4. a no-change preview on the target
  t = Date.now();
  const stack = await openStack(withOptions(ctx, { root: ctx.root, stack: name, backend: target }));
  const r = await stack.preview({ color: "never" });
  const changes = Object.entries(r.changeSummary ?? {}).filter(([op]) => op !== "same").reduce((a, [, n]) => a + (n ?? 0), 0);
  ctx.say(`  4. preview on the target: ${changes === 0 ? "no changes" : `${changes} change(s)`} (${secs(t)})`);
  if (changes > 0) {
    ctx.say(`     (the data or the hosts differ from the last apply; the migration itself changed nothing: the counts above match)`);
  }
  if (labTarget) {
    // The lab's two homes: the old copy is saved as a backup, then removed, so that moving
    // back later finds the place empty (prod's source is never touched).
    const dir = join(ctx.root, ".lab", "state-backups");
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const saved = join(dir, `${name}-${stamp()}-before-migration.json`);
    writeFileSync(saved, `${JSON.stringify(exported, null, 2)}\n`, { mode: 0o600, flag: "wx" });
    await onBackend(src, name, () => src.ws.removeStack(name, { force: true, preserveConfig: true }));
    if (labTarget === "postgres") {
      const rec = /:(\d+)\//.exec(target.url);
      writeLabBackendRecord(ctx.root, { port: Number(rec?.[1]), dataDir: labBackendRecord(ctx.root)?.dataDir ?? LAB_PG_DATA });
      ctx.say(`the lab now keeps its state in PostgreSQL (${join(ctx.root, ".lab", "state-backend.json")}); the file copy was saved to ${saved}, then removed from .lab/state`);
    } else {
      removeLabBackendRecord(ctx.root);
      ctx.say(`the lab now keeps its state in .lab/state again; the PostgreSQL copy was saved to ${saved}, then removed from the database`);
    }
  } else {
    ctx.say(`next: point the stack at the target: set PULUMI_BACKEND_URL (the CI variable, and your own environment) to the new URL; the source stays as it was until you remove it`);
  }
  ctx.say(`migration done in ${secs(t0)}`);
  return { stack: name, from: src.backend.display, to: target.display, resources: count, previewChanges: changes };
}

// ─── locks and recovery ────────────────────────────────────────────────────────────────────────

export async function showLocks(ctx: OpContext & { stack: string }): Promise<number> {
  const w = await openWorkspace({ root: ctx.root, stack: ctx.stack });
  const locks = await readLocks(w.backend, ctx.stack);
  ctx.say(`stack ${ctx.stack} in ${w.backend.display} (from ${w.backend.origin})`);
  if (!locks.length) {
    ctx.say("  not locked");
    return 0;
  }
  const here = { hostname: hostname(), now: new Date(), pidAlive };
  for (const l of locks) ctx.say(`  locked by ${viewLock(l, here).line}`);
  return locks.length;
}

export interface RecoverResult {
  removed: number;
  pendingBefore: number;
  refreshed: boolean;
}

/**
 * After an update was killed: checks the lock's holders are gone (a process of this machine
 * that no longer runs; another machine's only with `holderGone`, the volunteer's word that
 * they checked), removes the lock, and when the state lists operations the killed update
 * left pending, reads the hosts back (refresh, dropping pending creates: the next `up`
 * creates those again, and the provider's create converges on what is already there).
 */
export async function recoverStack(ctx: OpContext & { stack: string; holderGone: boolean }): Promise<RecoverResult> {
  const t0 = Date.now();
  const w: OpenedWorkspace = await openWorkspace({ root: ctx.root, stack: ctx.stack });
  const locks = await readLocks(w.backend, ctx.stack);
  const here = { hostname: hostname(), now: new Date(), pidAlive };
  ctx.say(`recover stack ${ctx.stack} (${w.backend.display})`);
  for (const l of locks) {
    const v = viewLock(l, here);
    ctx.say(`  lock: ${v.line}`);
    if (v.state === "running-here") throw new StateError(`the lock's holder (pid ${l.pid}) still runs on this machine: it is not stale`, "wait for it to finish; never remove a live update's lock");
    if (v.state === "elsewhere" && !ctx.holderGone) {
      throw new StateError(`the lock was taken on ${l.host}, which this machine cannot check`, `make sure nothing runs Pulumi for stack ${ctx.stack} on ${l.host} any more (the CI job is finished or cancelled, the laptop is off), then: ${npmRun("state", ["recover", ...stackFlag(ctx.stack), "--holder-gone"])}`);
    }
  }
  const stack = await openStack(withOptions(ctx, { root: ctx.root, stack: ctx.stack }));
  if (locks.length) {
    await stack.cancel();
    ctx.say(`  removed ${locks.length} lock(s)`);
  } else ctx.say("  not locked");
  const dep = (await exportEncrypted(w, ctx.stack)) as DeploymentFile;
  const pending = (dep.deployment?.pending_operations ?? []) as Array<{ type?: string; resource?: { urn?: string } }>;
  let refreshed = false;
  if (pending.length) {
    ctx.say(`  ${pending.length} operation(s) left pending by the interrupted update:`);
    for (const p of pending) ctx.say(`    ${p.type ?? "?"} ${p.resource?.urn ? urnLabel(p.resource.urn) : "?"}`);
    const t = Date.now();
    ctx.say("  refresh: reading the hosts back into the state (pending creates are dropped; the next up makes them, converging on what exists) …");
    const r = await stack.refresh({ color: "never", clearPendingCreates: true });
    refreshed = true;
    ctx.say(`  refresh: ${r.summary.result} (${secs(t)})`);
  } else ctx.say("  no pending operations in the state");
  if (!locks.length && !pending.length) throw new StateError(`stack ${ctx.stack} is not locked and has no pending operation: nothing to recover`, `${npmRun("up", stackFlag(ctx.stack))} runs normally`);
  ctx.say(`recovered in ${secs(t0)}. next: ${npmRun("up", stackFlag(ctx.stack))}, then ${npmRun("preview", [...stackFlag(ctx.stack), "--expect-no-changes"])}`);
  return { removed: locks.length, pendingBefore: pending.length, refreshed };
}

