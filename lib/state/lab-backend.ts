/**
 * The lab's choice of state backend, kept in `.lab/state-backend.json` (git-ignored) when it
 * is not the default file backend:
 *   { "backend": "postgres", "port": 5433, "dataDir": "/var/lib/globenet-lab/postgres" }
 * with the state role's password in `.lab/postgres/password` (0600). Written by
 * `npm run lab -- --state postgres` and `npm run state -- migrate`; removed when the lab goes
 * back to the file backend.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { createServer } from "node:net";
import { startPostgres, STATE_DATABASE, STATE_ROLE } from "./pg-server";

export const LAB_PG_DATA = "/var/lib/globenet-lab/postgres";

export interface LabBackendRecord {
  backend: "postgres";
  port: number;
  dataDir: string;
  /** Absolute paths, filled when read. */
  recordFile: string;
  passwordFile: string;
}

export function labRecordFile(root: string): string {
  return join(root, ".lab", "state-backend.json");
}

export function labPasswordFile(root: string): string {
  return join(root, ".lab", "postgres", "password");
}

export function labBackendRecord(root: string): LabBackendRecord | undefined {
  const f = labRecordFile(root);
  if (!existsSync(f)) return undefined;
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(readFileSync(f, "utf8")) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${f} is not valid JSON (${(e as Error).message}): delete it to go back to the lab's file backend, or run npm run lab -- --state postgres`);
  }
  if (v.backend !== "postgres" || typeof v.port !== "number" || typeof v.dataDir !== "string") {
    throw new Error(`${f} should be {"backend":"postgres","port":N,"dataDir":"…"}: delete it to go back to the lab's file backend`);
  }
  return { backend: "postgres", port: v.port, dataDir: v.dataDir, recordFile: f, passwordFile: labPasswordFile(root) };
}

export function writeLabBackendRecord(root: string, r: { port: number; dataDir: string }): void {
  mkdirSync(join(root, ".lab"), { recursive: true, mode: 0o700 });
  writeFileSync(labRecordFile(root), `${JSON.stringify({ backend: "postgres", port: r.port, dataDir: r.dataDir }, null, 2)}\n`, { mode: 0o600 });
}

export function removeLabBackendRecord(root: string): void {
  rmSync(labRecordFile(root), { force: true });
}

/** The lab's state password, made once (random, 0600, never printed). */
export function ensureLabPassword(root: string): string {
  const f = labPasswordFile(root);
  if (existsSync(f)) return readFileSync(f, "utf8").trim();
  mkdirSync(join(root, ".lab", "postgres"), { recursive: true, mode: 0o700 });
  const p = randomBytes(24).toString("base64url");
  writeFileSync(f, `${p}\n`, { mode: 0o600, flag: "wx" });
  return p;
}

export function labPostgresUrl(r: Pick<LabBackendRecord, "port">): string {
  return `postgres://${STATE_ROLE}@127.0.0.1:${r.port}/${STATE_DATABASE}?sslmode=disable`;
}

/** A TCP port free on 127.0.0.1 now (the kernel picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const a = srv.address();
      const port = typeof a === "object" && a ? a.port : 0;
      srv.close(() => (port ? resolvePort(port) : reject(new Error("no free port"))));
    });
  });
}

/** The port a running server on `dataDir` listens on (postmaster.pid, line 4). */
function runningPort(dataDir: string): number | undefined {
  try {
    const lines = readFileSync(join(dataDir, "postmaster.pid"), "utf8").split("\n");
    const pid = Number(lines[0]);
    process.kill(pid, 0);
    return Number(lines[3]) || undefined;
  } catch {
    return undefined;
  }
}

export interface LabPostgres {
  port: number;
  dataDir: string;
  pid: number;
  /** Started by this call (else it was running already). */
  started: boolean;
  /** postgres://globenet_state@127.0.0.1:PORT/globenet_state?sslmode=disable (no password). */
  url: string;
  password: string;
}

/**
 * The lab's PostgreSQL for the state: running on 127.0.0.1 (started when needed, on the
 * recorded port when free, else on a new free one), with its role and database. Does not
 * switch the lab to it: the record does that (writeLabBackendRecord).
 */
export async function ensureLabPostgres(root: string, note: (s: string) => void = () => undefined, dataDir = LAB_PG_DATA): Promise<LabPostgres> {
  const password = ensureLabPassword(root);
  let port = runningPort(dataDir);
  if (!port) {
    const rec = labBackendRecord(root);
    port = rec?.port && (await portFree(rec.port)) ? rec.port : await freePort();
  }
  const s = await startPostgres({ dataDir, port, password }, note);
  return { port, dataDir, pid: s.pid, started: s.started, url: s.url, password };
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolveFree) => {
    const srv = createServer();
    srv.once("error", () => resolveFree(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolveFree(true)));
  });
}
