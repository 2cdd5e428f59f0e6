import { existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { LocalWorkspace, type ProjectSettings, type Stack } from "@pulumi/pulumi/automation";
import { REPO_ROOT } from "../cli/args";
import { ensureProviderBuild } from "./provider-build";
import { ensureEngine } from "./toolchain";
import { ensureLabKeys } from "../lab/keys";
import { program } from "../../index";

/** The lab's passphrase guards nothing of value: lab secrets are throwaway. Never used for prod. */
export const LAB_PASSPHRASE = "globenet-lab-dev-only";
export const PROJECT = "globenet-infra";

export interface StackOptions {
  /** Data tree (members/, zones/, Pulumi.<stack>.yaml); default the repository. */
  root?: string;
  stack: string;
  /** Extra environment for the engine and the provider. */
  env?: Record<string, string>;
}

export class DriverError extends Error {}

/**
 * Where the stack's state lives and how its secrets are encrypted. The lab keeps a file
 * backend inside the checkout (git-ignored) and a documented dev-only passphrase; any other
 * stack takes both from the environment and refuses to guess.
 */
export function engineEnv(root: string, stack: string, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
    ...extra,
  };
  const given = (k: string) => extra[k] ?? process.env[k];
  if (stack === "lab") {
    ensureLabKeys(root);
    const state = join(root, ".lab", "state");
    mkdirSync(state, { recursive: true });
    env.PULUMI_BACKEND_URL = given("PULUMI_BACKEND_URL") ?? `file://${state}`;
    env.PULUMI_CONFIG_PASSPHRASE = given("PULUMI_CONFIG_PASSPHRASE") ?? LAB_PASSPHRASE;
    const key = join(root, ".lab", "ssh", "deploy_key");
    if (!given("GLOBENET_SSH_KEY_FILE") && existsSync(key)) env.GLOBENET_SSH_KEY_FILE = key;
  } else {
    const url = given("PULUMI_BACKEND_URL");
    const pass = given("PULUMI_CONFIG_PASSPHRASE");
    if (!url) throw new DriverError(`stack ${stack}: PULUMI_BACKEND_URL is not set (the shared state's URL, from a CI variable or your password manager)`);
    if (!pass) throw new DriverError(`stack ${stack}: PULUMI_CONFIG_PASSPHRASE is not set (the stack's secrets passphrase, from a CI variable)`);
    env.PULUMI_BACKEND_URL = url;
    env.PULUMI_CONFIG_PASSPHRASE = pass;
  }
  return env;
}

/** Opens (creating if needed) the stack with index.ts's program run inline in this process. */
export async function openStack(opts: StackOptions): Promise<Stack> {
  const root = resolve(opts.root ?? REPO_ROOT);
  const engineDir = ensureEngine();
  // The engine starts the provider at every run: compiled, it starts in a fraction of the time.
  ensureProviderBuild();
  const envVars = engineEnv(root, opts.stack, opts.env);
  // The CLI must come first on PATH; the Automation API and the provider inherit it.
  process.env.PATH = `${engineDir}:${process.env.PATH ?? ""}`;
  for (const [k, v] of Object.entries(envVars)) if (k.startsWith("GLOBENET_")) process.env[k] = v;
  // A data tree outside the repository gets the project's settings (and provider) from here.
  const projectSettings: ProjectSettings | undefined = existsSync(join(root, "Pulumi.yaml"))
    ? undefined
    : ({ name: PROJECT, runtime: "nodejs", plugins: { providers: [{ name: "globenet", path: join(REPO_ROOT, "provider", "bin") }] } } as ProjectSettings);
  const stack = await LocalWorkspace.createOrSelectStack(
    { stackName: opts.stack, projectName: PROJECT, program: async () => program(root) },
    { workDir: root, envVars, projectSettings },
  );
  for (const op of RUNS) {
    const run = stack[op].bind(stack) as (...a: unknown[]) => Promise<unknown>;
    (stack as unknown as Record<string, unknown>)[op] = (...a: unknown[]) => withoutPromiseStacksWhile(() => run(...a));
  }
  return stack;
}

/** The operations that run the program in this process. */
const RUNS = ["preview", "up", "refresh", "destroy"] as const;

let runsInFlight = 0;
let savedLimit = Error.stackTraceLimit;

/**
 * Runs an engine operation without the stack traces the SDK captures for each promise it
 * makes. index.ts's withoutPromiseStacks covers the declaration of the resources; the rest of
 * a run makes as many again (a few per resource when the engine answers: the SDK's debug lines
 * to the engine, each RPC, each component's outputs), and under tsx each trace is formatted
 * through source maps, the SDK's own included. They serve only the SDK's promise-leak report
 * (PULUMI_DEBUG_PROMISE_LEAKS, which keeps them). Skipping them took about 2 s of the driver's
 * CPU time off a no-op preview of 1,000 members (29 s to 27 s; docs/architecture.md, "Engine
 * speed"). Resources' source positions are unaffected (the SDK lifts the limit itself for
 * those); an error raised in this process during the run keeps its message, without frames.
 */
async function withoutPromiseStacksWhile<T>(run: () => Promise<T>): Promise<T> {
  if (process.env.PULUMI_DEBUG_PROMISE_LEAKS) return run();
  if (runsInFlight++ === 0) {
    savedLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
  }
  try {
    return await run();
  } finally {
    if (--runsInFlight === 0) Error.stackTraceLimit = savedLimit;
  }
}
