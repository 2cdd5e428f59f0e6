/**
 * Where each stack's state lives.
 *
 * - `prod`: Globenet's own PostgreSQL, through Pulumi's DIY `postgres://` backend. The URL
 *   comes from PULUMI_BACKEND_URL (a CI variable, or a volunteer's password manager), never
 *   from a committed file; the password may be inside it or in PGPASSWORD. TLS is required
 *   (`sslmode=require`, better `verify-full`) unless the database is reached on the loopback
 *   (an SSH tunnel).
 * - `lab`: the file backend in `.lab/state` by default; after `npm run lab -- --state postgres`
 *   (or `npm run state -- migrate --to lab-postgres`) a PostgreSQL of the lab's own on
 *   127.0.0.1, recorded in `.lab/state-backend.json` (its password in `.lab/postgres/password`).
 * - any other stack (bench, tests): PULUMI_BACKEND_URL from the environment.
 * PULUMI_BACKEND_URL given explicitly always wins.
 */
import { existsSync, readFileSync } from "node:fs";
import { describeBackend, urlPassword } from "./mask";
import { labBackendRecord, labPostgresUrl } from "./lab-backend";

export class BackendError extends Error {}

export type BackendKind = "file" | "postgres" | "other";

export interface Backend {
  /** The value PULUMI_BACKEND_URL gets (may hold a password when it was given so). */
  url: string;
  kind: BackendKind;
  /** More environment for the engine (PGPASSWORD for the lab's PostgreSQL). */
  env: Record<string, string>;
  /** Values to hide in every message. */
  secrets: string[];
  /** For messages: no credentials. */
  display: string;
  /** Where the choice came from, for messages. */
  origin: string;
}

export function kindOf(url: string): BackendKind {
  if (url.startsWith("file://")) return "file";
  if (/^postgres(ql)?:\/\//.test(url)) return "postgres";
  return "other";
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1", "[::1]"]);
const TLS_MODES = new Set(["require", "verify-ca", "verify-full"]);

/**
 * Why a prod backend URL is refused, or undefined when it is fine: prod's state is in
 * PostgreSQL, reached over TLS (or over the loopback, e.g. an SSH tunnel). Pure.
 */
export function prodUrlProblem(url: string, env: Record<string, string | undefined> = {}): string | undefined {
  if (kindOf(url) !== "postgres") return `stack prod keeps its state in Globenet's PostgreSQL: PULUMI_BACKEND_URL must be a postgres:// URL (got a ${url.split(":")[0]}: URL)`;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return "PULUMI_BACKEND_URL is not a valid URL (postgres://USER@HOST:5432/DB?sslmode=verify-full)";
  }
  const host = u.hostname || env.PGHOST || "localhost";
  const mode = u.searchParams.get("sslmode") ?? env.PGSSLMODE;
  if (!LOOPBACK.has(host) && !(mode && TLS_MODES.has(mode))) {
    return `stack prod's state must travel over TLS: add sslmode=verify-full (with sslrootcert=… for Globenet's CA) or at least sslmode=require to PULUMI_BACKEND_URL (now: ${mode ? `sslmode=${mode}` : "no sslmode"})`;
  }
  return undefined;
}

/** The backend of `stack` for the data tree `root`; `given` reads explicit settings (extra env, then process env). */
export function resolveBackend(root: string, stack: string, given: (k: string) => string | undefined, labStateDir: string): Backend {
  const explicit = given("PULUMI_BACKEND_URL");
  const pgpass = given("PGPASSWORD");
  const secretsOf = (url: string) => [urlPassword(url), pgpass].filter((s): s is string => !!s);
  if (explicit) {
    if (stack === "prod") {
      const problem = prodUrlProblem(explicit, { PGHOST: given("PGHOST"), PGSSLMODE: given("PGSSLMODE") });
      if (problem && given("GLOBENET_STATE_ALLOW_PLAINTEXT") !== "1") throw new BackendError(problem);
    }
    return { url: explicit, kind: kindOf(explicit), env: {}, secrets: secretsOf(explicit), display: describeBackend(explicit), origin: "PULUMI_BACKEND_URL" };
  }
  if (stack === "lab") {
    const rec = labBackendRecord(root);
    if (rec) {
      if (!existsSync(rec.passwordFile)) throw new BackendError(`${rec.recordFile} says the lab's state is in PostgreSQL, but its password file ${rec.passwordFile} is missing: run npm run lab -- --state postgres (it makes a new one), or delete ${rec.recordFile} to go back to the file backend`);
      const password = readFileSync(rec.passwordFile, "utf8").trim();
      const url = labPostgresUrl(rec);
      return { url, kind: "postgres", env: { PGPASSWORD: password }, secrets: [password], display: describeBackend(url), origin: rec.recordFile };
    }
    const url = `file://${labStateDir}`;
    return { url, kind: "file", env: {}, secrets: [], display: describeBackend(url), origin: "the lab's default" };
  }
  // The multi-host lab (npm run lab -- --topology multi): the lab's file backend, a stack of its own there.
  if (stack === "lab-multi") {
    const url = `file://${labStateDir}`;
    return { url, kind: "file", env: {}, secrets: [], display: describeBackend(url), origin: "the lab's default" };
  }
  throw new BackendError(`stack ${stack}: PULUMI_BACKEND_URL is not set (the shared state's URL, postgres://USER@HOST:5432/DB?sslmode=verify-full, from a CI variable or your password manager; the password in it or in PGPASSWORD)`);
}

/** A backend named by URL (migration targets and sources); PGPASSWORD from the environment goes with it. */
export function backendFromUrl(url: string, origin: string, env: Record<string, string | undefined> = process.env): Backend {
  const extra: Record<string, string> = {};
  if (kindOf(url) === "postgres" && env.PGPASSWORD) extra.PGPASSWORD = env.PGPASSWORD;
  return { url, kind: kindOf(url), env: extra, secrets: [urlPassword(url), env.PGPASSWORD].filter((s): s is string => !!s), display: describeBackend(url), origin };
}
