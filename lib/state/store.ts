/**
 * Reading a DIY backend's bookkeeping directly, without taking anything: the locks of a
 * stack (for `npm run state -- locks|recover`) and, for PostgreSQL, whether the state table
 * is there. The layout is Pulumi's: `.pulumi/locks/<org>/<project>/<stack>/<id>.json`, as files
 * under the file backend's folder or as rows (key, data = {"data": base64}) of the
 * PostgreSQL backend's table (`pulumi_state`, or `?table=`).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "pg";
import type { Backend } from "./backend";
import { readLockFile, type LockHolder } from "./lock";
import { mask } from "./mask";

export interface StoredLock extends LockHolder {
  /** The key (postgres) or path (file) of the lock, for messages. */
  key: string;
}

/** The connection settings `pg` needs for a postgres:// backend URL (its own `table` parameter removed). */
export function pgClientConfig(b: Backend): { connectionString: string; table: string; password?: string } {
  const u = new URL(b.url);
  const table = u.searchParams.get("table") ?? "pulumi_state";
  if (!/^[A-Za-z_][A-Za-z0-9_.]*$/.test(table)) throw new Error(`the backend's table name "${table}" is not a plain identifier`);
  u.searchParams.delete("table");
  const password = b.env.PGPASSWORD ?? process.env.PGPASSWORD;
  // pg lets the connection string's (absent) password override a separate one: put it in
  // the URL given to pg only (in memory; every message is masked).
  if (password && !u.password) u.password = encodeURIComponent(password);
  return { connectionString: u.toString(), table, password };
}

/** Runs `fn` with a connected `pg` client; connection errors are masked and say what to check. */
export async function withPg<T>(b: Backend, fn: (c: Client, table: string) => Promise<T>): Promise<T> {
  const cfg = pgClientConfig(b);
  const c = new Client({ connectionString: cfg.connectionString, connectionTimeoutMillis: 10_000, application_name: "globenet-state" });
  try {
    await c.connect();
  } catch (e) {
    throw new Error(mask(`cannot reach the state database (${b.display}): ${(e as Error).message}`, b.secrets));
  }
  try {
    return await fn(c, cfg.table);
  } finally {
    await c.end().catch(() => undefined);
  }
}

function stackOfLockKey(key: string): string | undefined {
  // .pulumi/locks/<org>/<project>/<stack>/<id>.json (project-scoped) or .pulumi/locks/<stack>/<id>.json (legacy)
  const parts = key.split("/");
  return parts.length >= 2 ? parts[parts.length - 2] : undefined;
}

/** The locks that stack `stack` holds in backend `b` now (an empty list when it is free). */
export async function readLocks(b: Backend, stack: string): Promise<StoredLock[]> {
  const out: StoredLock[] = [];
  if (b.kind === "file") {
    const dir = join(b.url.slice("file://".length), ".pulumi", "locks");
    if (!existsSync(dir)) return [];
    for (const rel of readdirSync(dir, { recursive: true }).map(String)) {
      if (!rel.endsWith(".json") || stackOfLockKey(`.pulumi/locks/${rel}`) !== stack) continue;
      const h = readLockFile(readFileSync(join(dir, rel), "utf8"));
      if (h) out.push({ ...h, key: join(dir, rel) });
    }
    return out;
  }
  if (b.kind === "postgres") {
    return withPg(b, async (c, table) => {
      const exists = await c.query<{ t: string | null }>("SELECT to_regclass($1) AS t", [table]);
      if (!exists.rows[0]?.t) return [];
      const r = await c.query<{ key: string; data: string }>(`SELECT key, data->>'data' AS data FROM ${table} WHERE key LIKE '%.pulumi/locks/%'`);
      for (const row of r.rows) {
        if (stackOfLockKey(row.key) !== stack) continue;
        const h = readLockFile(Buffer.from(row.data, "base64").toString("utf8"));
        if (h) out.push({ ...h, key: row.key });
      }
      return out;
    });
  }
  throw new Error(`reading locks directly works for the file and PostgreSQL backends only (this one is ${b.display})`);
}
