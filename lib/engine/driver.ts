import { existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { LocalWorkspace, Stack, type ProjectSettings } from "@pulumi/pulumi/automation";
import { REPO_ROOT } from "../base/repo";
import { BackendError, resolveBackend, type Backend } from "../state/backend";
import { mask } from "../state/mask";
import { formatUpdateMessage, gitEnvFor, updateFacts } from "../state/metadata";
import { ensureProviderBuild } from "./provider-build";
import { ensureEngine } from "./toolchain";
import { prepareProgram, program, type AdoptMode, type PreparedProgram } from "../../index";
import { preloadOnSpawn, type Preload } from "./preload";
import type { MachineFacts } from "../model/facts";
import { splitStackName } from "../model/shards";
import { shardSecretKeys } from "./shards";
import { pidAlive } from "../base/proc";
import { withoutSdkOverheadWhile } from "../base/sdk-overhead";
import { DriverError, guarded, lockedOrMasked, masked, StackLockedError } from "./lock-retry";

export { DriverError, StackLockedError };

/** The lab's passphrase guards nothing of value: lab secrets are throwaway. Never used for prod. */
export const LAB_PASSPHRASE = "globenet-lab-dev-only";
export const PROJECT = "globenet-infra";

export interface StackOptions {
  /** Data tree (members/, zones/, Pulumi.<stack>.yaml); default the repository. */
  root?: string;
  stack: string;
  /**
   * Extra environment for the engine and the provider, such as the deploy key
   * (GLOBENET_SSH_KEY_FILE): the engine knows no stack's keys; the lab passes its own
   * (lib/lab/open-stack.ts), CI its variables.
   */
  env?: Record<string, string>;
  /** This machine's facts for the program's model (lib/model/facts.ts), from the tool that runs here. */
  facts?: MachineFacts;
  /** Use this backend instead of the stack's own (migration, tests). */
  backend?: Backend;
  /**
   * How long up/refresh/destroy wait for a stack another update holds (seconds; default 0:
   * report the holder at once). Progress goes to `onLockWait`.
   */
  lockWaitSeconds?: number;
  onLockWait?: (line: string) => void;
  /** Adoption mode (index.ts): the program imports what the state lacks; the caller fills `inState`. */
  adopt?: AdoptMode;
}

/**
 * Where the stack's state lives and how its secrets are encrypted. The backend comes from
 * lib/state/backend.ts (lab: file in .lab/state, or the lab's PostgreSQL; prod: PostgreSQL
 * from PULUMI_BACKEND_URL over TLS). The lab has a documented dev-only passphrase; any other
 * stack takes its passphrase from the environment and refuses to guess.
 */
export function engineEnv(root: string, stack: string, extra: Record<string, string> = {}, backend?: Backend): Record<string, string> {
  return engineSetup(root, stack, extra, backend).env;
}

export function engineSetup(root: string, stack: string, extra: Record<string, string> = {}, backendOverride?: Backend): { env: Record<string, string>; backend: Backend } {
  const env: Record<string, string> = {
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
    ...extra,
  };
  const given = (k: string) => extra[k] ?? process.env[k];
  // A shard's stack (<stack>.<shard>) lives in its stack's backend under its own name, state and lock.
  const data = splitStackName(stack).stack;
  let backend: Backend;
  try {
    backend = backendOverride ?? resolveBackend(root, data, given, join(root, ".lab", "state"));
  } catch (e) {
    if (e instanceof BackendError) throw new DriverError(e.message);
    throw e;
  }
  if (backend.kind === "file") mkdirSync(backend.url.slice("file://".length), { recursive: true });
  Object.assign(env, backend.env);
  env.PULUMI_BACKEND_URL = backend.url;
  if (data === "lab" || data === "lab-multi") {
    env.PULUMI_CONFIG_PASSPHRASE = given("PULUMI_CONFIG_PASSPHRASE") ?? LAB_PASSPHRASE;
  } else {
    const pass = given("PULUMI_CONFIG_PASSPHRASE");
    if (!pass) throw new DriverError(`stack ${stack}: PULUMI_CONFIG_PASSPHRASE is not set (the stack's secrets passphrase, from a CI variable)`);
    env.PULUMI_CONFIG_PASSPHRASE = pass;
  }
  return { env, backend };
}

/** Values never to print: the backend's password, the passphrase (unless the lab's public one). */
function secretsOf(env: Record<string, string>, backend: Backend): string[] {
  const pass = env.PULUMI_CONFIG_PASSPHRASE;
  return [...backend.secrets, ...(pass && pass !== LAB_PASSPHRASE ? [pass] : [])];
}

/** The backend a stack opened by openStack uses (for messages and the state commands). */
export function backendOf(stack: Stack): Backend | undefined {
  return backends.get(stack);
}
const backends = new WeakMap<Stack, Backend>();

export interface OpenedWorkspace {
  ws: LocalWorkspace;
  /**
   * A shard's stack: the stack's secrets its program reads, fetched before each run
   * (shardSecrets); undefined for a stack without shards (its program reads its own config).
   */
  stackSecrets: { values?: Record<string, string> };
  backend: Backend;
  /** Values never to print (the backend's password, the passphrase). */
  secrets: string[];
  root: string;
}

/**
 * A workspace on the stack's backend (or `opts.backend`) with index.ts's program inline, for
 * operations on the backend itself: list, export, import, cancel. Selects no stack.
 */
export async function openWorkspace(opts: StackOptions): Promise<OpenedWorkspace> {
  const root = resolve(opts.root ?? REPO_ROOT);
  const engineDir = ensureEngine();
  // The engine starts the provider at every run: compiled, it starts in a fraction of the time.
  ensureProviderBuild();
  const { env: envVars, backend } = engineSetup(root, opts.stack, opts.env, opts.backend);
  Object.assign(envVars, gitEnvFor(root));
  const secrets = secretsOf(envVars, backend);
  // The CLI must come first on PATH; the Automation API and the provider inherit it.
  if (!(process.env.PATH ?? "").startsWith(`${engineDir}:`)) process.env.PATH = `${engineDir}:${process.env.PATH ?? ""}`;
  for (const [k, v] of Object.entries(envVars)) if (k.startsWith("GLOBENET_")) process.env[k] = v;
  // A data tree outside the repository gets the project's settings (and provider) from here.
  const projectSettings: ProjectSettings | undefined = existsSync(join(root, "Pulumi.yaml"))
    ? undefined
    : ({ name: PROJECT, runtime: "nodejs", plugins: { providers: [{ name: "globenet", path: join(REPO_ROOT, "provider", "bin") }] } } as ProjectSettings);
  const stackSecrets: OpenedWorkspace["stackSecrets"] = {};
  const passphrase = envVars.PULUMI_CONFIG_PASSPHRASE;
  let preload: Preload<PreparedProgram> | undefined;
  const ws = await LocalWorkspace.create({
    workDir: root,
    envVars,
    projectSettings,
    program: async () => program(root, opts.facts, opts.adopt, passphrase, stackSecrets.values, (engineStack) => preload?.take(engineStack)),
  });
  // The program's data is loaded while the CLI starts (lib/engine/preload.ts).
  preload = preloadOnSpawn(cliOf({ ws }), (engineStack) => prepareProgram(root, engineStack, opts.facts, passphrase));
  return { ws, backend, secrets, root, stackSecrets };
}

/** The workspace's Pulumi CLI, for the commands the Automation API does not wrap. */
function cliOf(w: Pick<OpenedWorkspace, "ws">): { run(args: string[], cwd: string, env: Record<string, string>): Promise<{ stdout: string }> } {
  return w.ws.pulumiCommand as unknown as ReturnType<typeof cliOf>;
}

/** Runs a backend operation with the engine's errors masked, a locked stack said plainly. */
export async function onBackend<T>(o: Pick<OpenedWorkspace, "backend" | "secrets">, stackName: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    const err = lockedOrMasked(e, stackName, o.secrets);
    throw err instanceof StackLockedError ? err : backendTrouble(err, o.backend, o.secrets);
  }
}

/** Opens (creating if needed) the stack with index.ts's program run inline in this process. */
export async function openStack(opts: StackOptions): Promise<Stack> {
  const w = await openWorkspace(opts);
  const { backend, secrets } = w;
  const stack = await onBackend(w, opts.stack, () => Stack.createOrSelect(opts.stack, w.ws));
  backends.set(stack, backend);
  for (const op of RUNS) {
    const run = stack[op].bind(stack) as (o?: Record<string, unknown>) => Promise<unknown>;
    (stack as unknown as Record<string, unknown>)[op] = async (o: Record<string, unknown> = {}) => {
      await shardSecrets(w, opts.stack);
      return guarded(op, opts, backend, secrets, () => withoutSdkOverheadWhile(() => run(withMessage(op, o, w.root, secrets))));
    };
  }
  for (const op of ["exportStack", "importStack", "history", "cancel"] as const) {
    const run = stack[op].bind(stack) as (...a: unknown[]) => Promise<unknown>;
    (stack as unknown as Record<string, unknown>)[op] = async (...a: unknown[]) => {
      try {
        return await run(...a);
      } catch (e) {
        throw lockedOrMasked(e, opts.stack, secrets);
      }
    };
  }
  return stack;
}

/**
 * A shard's stack (<stack>.<shard>) has no config of its own: the stack's secrets stay in
 * Pulumi.<stack>.yaml, encrypted with the stack's passphrase, and each run hands its program
 * the ones the shard needs (shardSecretKeys: the alert bridge's token to the monitor host's
 * shard), decrypted by the engine from that file (`pulumi config get --config-file`). Nothing
 * is written: another shard's program, config file and state never see them
 * (docs/architecture.md, "Sharded stacks"). The values join those never printed.
 */
async function shardSecrets(w: OpenedWorkspace, stackName: string): Promise<void> {
  const { stack, shard } = splitStackName(stackName);
  if (shard === undefined) return;
  const values: Record<string, string> = {};
  const cmd = cliOf(w);
  for (const key of shardSecretKeys(w.root, stack, shard, PROJECT)) {
    const r = await onBackend(w, stackName, () => cmd.run(["config", "get", key, "--json", "--config-file", join(w.root, `Pulumi.${stack}.yaml`), "--stack", stackName], w.ws.workDir, w.ws.envVars));
    const value = (JSON.parse(r.stdout) as { value?: unknown }).value;
    if (typeof value !== "string") throw new DriverError(`stack ${stack}: ${key} in Pulumi.${stack}.yaml could not be read`);
    values[key.slice(PROJECT.length + 1)] = value;
    if (value && !w.secrets.includes(value)) w.secrets.push(value);
  }
  w.stackSecrets.values = values;
}

/** A failure to even open the stack: unreachable database, wrong password… said plainly. */
function backendTrouble(e: unknown, backend: Backend, secrets: readonly string[]): unknown {
  if (e instanceof DriverError) return e;
  const err = masked(e, secrets) as Error;
  const text = err.message ?? "";
  if (backend.kind === "postgres" && /failed to ping PostgreSQL|connection refused|password authentication failed|no pg_hba\.conf entry|SSL/i.test(text)) {
    const why = /failed to ping PostgreSQL[^\n]*/.exec(text)?.[0] ?? text.split("\n").find((l) => /refused|authentication|pg_hba|SSL/i.test(l)) ?? "";
    return new DriverError(
      `the state database does not answer (${backend.display}, from ${backend.origin}): ${why.trim()}\n` +
        `next: ${backend.origin.endsWith("state-backend.json") ? "start the lab's PostgreSQL: npm run lab (it starts it with the other lab daemons); or go back to the file backend: npm run lab -- --state file" : "check PULUMI_BACKEND_URL (host, port, database), the password (in the URL or PGPASSWORD) and sslmode/sslrootcert; the database admin can tell whether it runs"}`,
    );
  }
  return err;
}

/** Whether a process runs on this machine (one definition for the lab and the driver: lib/base/proc.ts). */
export { pidAlive };

/** up, refresh and destroy record the commit, its merge request and who ran them (lib/state/metadata.ts). */
function withMessage(op: string, o: Record<string, unknown>, root: string, secrets: readonly string[]): Record<string, unknown> {
  if (op === "preview" || o.message !== undefined) return o;
  const onOutput = o.onOutput as ((s: string) => void) | undefined;
  return { ...o, message: formatUpdateMessage(updateFacts(root)), ...(onOutput ? { onOutput: (s: string) => onOutput(mask(s, secrets)) } : {}) };
}

/** The operations that run the program in this process. */
const RUNS = ["preview", "up", "refresh", "destroy"] as const;

/**
 * The stack's state as `pulumi stack export` writes it, secrets as ciphertext. (The
 * Automation API's exportStack passes --show-secrets: its result holds them decrypted, so
 * nothing that is written to disk or moved between backends comes from it.)
 */
export async function exportEncrypted(w: Pick<OpenedWorkspace, "ws" | "backend" | "secrets">, stackName: string): Promise<Record<string, unknown>> {
  const cmd = cliOf(w);
  const r = await onBackend(w, stackName, () => cmd.run(["stack", "export", "--stack", stackName], w.ws.workDir, w.ws.envVars));
  const d = JSON.parse(r.stdout) as Record<string, unknown>;
  if (/"plaintext"\s*:/.test(r.stdout)) throw new DriverError(`the export of stack ${stackName} holds decrypted secrets: refusing to use it`);
  return d;
}
