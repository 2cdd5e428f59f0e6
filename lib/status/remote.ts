/**
 * Reading live state from the stack's hosts for the status views and `npm run dnssec`: the
 * provider's SSH layer (pinned host keys, the deploy key from GLOBENET_SSH_KEY_FILE or an
 * agent, constant scripts with validated arguments), outside the engine.
 */
import { targetOf } from "../../components/target";
import type { HostModel, Model } from "../model/types";
import { pool } from "../../provider/ssh/pool";
import { run } from "../../provider/ssh/remote";

/** Readers in flight, and the pending close of a lingering pool (withHostConnections). */
let inFlight = 0;
let closeTimer: NodeJS.Timeout | undefined;

/**
 * Runs `fn`, which reads the stack's hosts, with the credentials the driver would give the
 * provider: `keyFile` when given (the lab passes its deploy key for the lab stack:
 * lib/lab/open-stack.ts), else GLOBENET_SSH_KEY_FILE or the agent; and closes the SSH
 * connections once no reader is using them, so the process can end. With `lingerMs` (a
 * long-lived reader: the lab portal) they stay open that long after the last reader, so the
 * next page does not pay an SSH handshake per host; a reader still running is never cut off
 * by another's end.
 */
export async function withHostConnections<T>(keyFile: string | undefined, fn: () => Promise<T>, opts: { lingerMs?: number } = {}): Promise<T> {
  if (keyFile && !process.env.GLOBENET_SSH_KEY_FILE) process.env.GLOBENET_SSH_KEY_FILE = keyFile;
  if (closeTimer) clearTimeout(closeTimer);
  closeTimer = undefined;
  inFlight++;
  try {
    return await fn();
  } finally {
    inFlight--;
    if (inFlight === 0) {
      if (opts.lingerMs) {
        closeTimer = setTimeout(() => {
          closeTimer = undefined;
          if (inFlight === 0) void pool.close();
        }, opts.lingerMs);
        closeTimer.unref();
      } else await pool.close();
    }
  }
}

/** Closes what a lingering reader left open (the portal, when it stops). */
export async function closeHostConnections(): Promise<void> {
  if (closeTimer) clearTimeout(closeTimer);
  closeTimer = undefined;
  if (inFlight === 0) await pool.close();
}

export async function onHost(root: string, host: HostModel, script: string, args: string[], what: string): Promise<string> {
  const r = await run(targetOf(host, root), script, { args, what, timeoutMs: 60_000 });
  return r.stdout;
}

export function hostsWith(model: Model, role: "web" | "dns-primary"): HostModel[] {
  return model.hosts.filter((h) => h.roles.includes(role));
}
