import type { Client } from "ssh2";
import { connect, MAX_CHANNELS, Semaphore, type Target } from "./connection";

interface Entry {
  client: Promise<Client>;
  channels: Semaphore;
}

/**
 * One connection per host for the provider's lifetime, reused by every resource, with at
 * most MAX_CHANNELS channels open on it at once.
 */
export class Pool {
  private entries = new Map<string, Entry>();

  private key(t: Target): string {
    return `${t.user}@${t.address}:${t.port}|${t.hostKey.split(/\s+/).slice(0, 2).join(" ")}`;
  }

  async with<T>(t: Target, fn: (c: Client) => Promise<T>): Promise<T> {
    const k = this.key(t);
    let e = this.entries.get(k);
    if (!e) {
      const client = connect(t);
      const entry: Entry = { client, channels: new Semaphore(MAX_CHANNELS) };
      e = entry;
      this.entries.set(k, entry);
      // A closed or failed connection is forgotten, so the next use reconnects.
      const forget = () => {
        if (this.entries.get(k) === entry) this.entries.delete(k);
      };
      client.then((c) => c.on("close", forget), forget);
    }
    const c = await e.client;
    return e.channels.use(() => fn(c));
  }

  /** Connections opened so far (for tests: one per host). */
  get size(): number {
    return this.entries.size;
  }

  async close(): Promise<void> {
    for (const e of this.entries.values()) (await e.client.catch(() => undefined))?.end();
    this.entries.clear();
  }
}

export const pool = new Pool();
