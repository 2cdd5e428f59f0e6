import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { Client, utils, type ConnectConfig } from "ssh2";

/** Where and as whom to connect: resource inputs (no credentials here, ever). */
export interface Target {
  /** Inventory host name, for messages. */
  name: string;
  address: string;
  port: number;
  user: string;
  /** The host's public key, pinned: "ssh-ed25519 AAAA… [comment]". */
  hostKey: string;
}

export class HostKeyMismatch extends Error {}

/** Max channels open at once on one connection (OpenSSH's MaxSessions defaults to 10). */
export const MAX_CHANNELS = 8;

/**
 * The private key comes from the provider's environment, never from inputs or state:
 * GLOBENET_SSH_KEY_FILE names a key file, else SSH_AUTH_SOCK names an agent.
 */
export function credentials(): Pick<ConnectConfig, "privateKey" | "agent" | "passphrase"> {
  const file = process.env.GLOBENET_SSH_KEY_FILE;
  if (file) {
    if (!existsSync(file)) throw new Error(`GLOBENET_SSH_KEY_FILE names ${file}, which does not exist (point it at the deploy key)`);
    return { privateKey: readFileSync(file), passphrase: process.env.GLOBENET_SSH_KEY_PASSPHRASE };
  }
  if (process.env.SSH_AUTH_SOCK) return { agent: process.env.SSH_AUTH_SOCK };
  throw new Error("no SSH credentials: set GLOBENET_SSH_KEY_FILE to the deploy key's path, or run an ssh-agent (SSH_AUTH_SOCK)");
}

function keyBlob(line: string): Buffer {
  const parsed = utils.parseKey(line.trim());
  if (parsed instanceof Error) throw new Error(`the pinned host key is not a valid public key (${parsed.message})`);
  const k = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!k) throw new Error("the pinned host key is empty");
  return k.getPublicSSH();
}

export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/** A counting semaphore: at most `n` holders at once, the rest wait in order. */
export class Semaphore {
  private waiting: Array<() => void> = [];
  private free: number;
  constructor(n: number) {
    this.free = n;
  }
  async use<T>(fn: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((r) => this.waiting.push(r));
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    }
  }
}

/** Opens an SSH connection that refuses any host key but the pinned one. */
export function connect(t: Target): Promise<Client> {
  const pinned = keyBlob(t.hostKey);
  return new Promise((resolve, reject) => {
    const c = new Client();
    let mismatch: string | undefined;
    c.on("ready", () => resolve(c));
    c.on("error", (e) => {
      if (mismatch) reject(new HostKeyMismatch(mismatch));
      else reject(new Error(`cannot connect to ${t.name} (${t.user}@${t.address}:${t.port}): ${e.message} (check the host is up and the deploy key is authorised)`));
    });
    c.connect({
      host: t.address,
      port: t.port,
      username: t.user,
      ...credentials(),
      readyTimeout: 20_000,
      keepaliveInterval: 15_000,
      hostVerifier: (key: Buffer) => {
        if (key.equals(pinned)) return true;
        mismatch = `host key of ${t.name} (${t.address}:${t.port}) is ${fingerprint(key)}, but the inventory pins ${fingerprint(pinned)}: refusing to connect, nothing was done (if the host was reinstalled, update its host_key in Pulumi.<stack>.yaml after checking the new key out of band)`;
        return false;
      },
    });
  });
}
