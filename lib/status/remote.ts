/**
 * Reading live state from the stack's hosts for the status views and `npm run dnssec`: the
 * provider's SSH layer (pinned host keys, the deploy key from GLOBENET_SSH_KEY_FILE or an
 * agent, constant scripts with validated arguments), outside the engine.
 */
import { targetOf } from "../../components/target";
import type { HostModel, Model } from "../model/types";
import { pool } from "../../provider/ssh/pool";
import { run } from "../../provider/ssh/remote";

/**
 * Runs `fn`, which reads the stack's hosts, with the credentials the driver would give the
 * provider: `keyFile` when given (the lab passes its deploy key for the lab stack:
 * lib/lab/open-stack.ts), else GLOBENET_SSH_KEY_FILE or the agent; and closes the SSH
 * connections afterwards, so the process can end.
 */
export async function withHostConnections<T>(keyFile: string | undefined, fn: () => Promise<T>): Promise<T> {
  if (keyFile && !process.env.GLOBENET_SSH_KEY_FILE) process.env.GLOBENET_SSH_KEY_FILE = keyFile;
  try {
    return await fn();
  } finally {
    await pool.close();
  }
}

export async function onHost(root: string, host: HostModel, script: string, args: string[], what: string): Promise<string> {
  const r = await run(targetOf(host, root), script, { args, what, timeoutMs: 60_000 });
  return r.stdout;
}

export function hostsWith(model: Model, role: "web" | "dns-primary"): HostModel[] {
  return model.hosts.filter((h) => h.roles.includes(role));
}
