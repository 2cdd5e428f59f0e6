/**
 * Reading live state from the stack's hosts for the status views and `npm run dnssec`: the
 * provider's SSH layer (pinned host keys, the deploy key from GLOBENET_SSH_KEY_FILE or an
 * agent, constant scripts with validated arguments), outside the engine.
 */
import { join } from "node:path";
import { targetOf } from "../../components/target";
import type { HostModel, Model } from "../model/types";
import { pool } from "../../provider/ssh/pool";
import { run } from "../../provider/ssh/remote";

/** The lab's deploy key, as the driver gives it to the provider. */
export function useLabKey(root: string, stack: string): void {
  if (stack === "lab" && !process.env.GLOBENET_SSH_KEY_FILE) process.env.GLOBENET_SSH_KEY_FILE = join(root, ".lab", "ssh", "deploy_key");
}

export async function onHost(root: string, host: HostModel, script: string, args: string[], what: string): Promise<string> {
  const r = await run(targetOf(host, root), script, { args, what, timeoutMs: 60_000 });
  return r.stdout;
}

export function hostsWith(model: Model, role: "web" | "dns-primary"): HostModel[] {
  return model.hosts.filter((h) => h.roles.includes(role));
}

export async function closeConnections(): Promise<void> {
  await pool.close();
}
