/**
 * `npm run lab -- --state postgres`: the lab's state in a real PostgreSQL of its own, so the
 * production path (Pulumi's postgres:// backend, locks in the database) is exercised here.
 * The server is one more lab daemon (started by hand as the postgres user on 127.0.0.1,
 * recorded in .lab/run/postgres.pid, stopped by `lab down` after the destroy); the choice is
 * recorded in .lab/state-backend.json, so later `npm run preview|up` and `lab` runs keep
 * using it. `--state file` moves the state back to .lab/state. Both moves are
 * `npm run state -- migrate` (export, import, same count, no-change preview).
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { ensureLabPostgres, LAB_PG_DATA, labBackendRecord, writeLabBackendRecord } from "../state/lab-backend";
import { migrateStack } from "./open-stack";
import { runningPostgres } from "../state/pg-server";
import type { LabDaemon } from "./daemons";

export type LabState = "file" | "postgres";

/** The lab's PostgreSQL as a lab daemon, when the lab keeps (or is asked to keep) its state there. */
export function stateDaemons(root: string, want?: LabState): LabDaemon[] {
  const rec = labBackendRecord(root);
  if (want !== "postgres" && !rec) return [];
  const dataDir = rec?.dataDir ?? LAB_PG_DATA;
  return [
    {
      name: "postgres",
      where: `127.0.0.1:${rec?.port ?? "(a free port)"}, data ${dataDir}`,
      comm: "postgres",
      async running() {
        const pid = runningPostgres(dataDir);
        return pid ? { pid } : undefined;
      },
      async start(note) {
        const pg = await ensureLabPostgres(root, note, dataDir);
        note(`the stack's state: postgres://globenet_state@127.0.0.1:${pg.port}/globenet_state (password in .lab/postgres/password)`);
        return pg.pid;
      },
      // A database is never killed: SIGTERM is PostgreSQL's smart shutdown.
      graceMs: 60_000,
      killAfterGrace: false,
    },
  ];
}

function fileStateHasLab(root: string): boolean {
  const dir = join(root, ".lab", "state", ".pulumi", "stacks", "globenet-infra");
  return existsSync(dir) && readdirSync(dir).some((f) => /^lab\.json(\.gz)?$/.test(f));
}

/**
 * Puts the lab's state where `want` says (the daemons are up): a stack already in the file
 * backend is migrated; with nothing to move, the choice is just recorded.
 */
export async function switchLabState(root: string, want: LabState | undefined, say: (s: string) => void): Promise<void> {
  const rec = labBackendRecord(root);
  if (want === "postgres" && !rec) {
    if (fileStateHasLab(root)) {
      say("state: moving the lab stack from .lab/state to the lab's PostgreSQL (npm run state -- migrate --to lab-postgres)");
      await migrateStack({ root, stack: "lab", to: "lab-postgres", say: (s) => say(`  ${s}`) });
    } else {
      const pg = await ensureLabPostgres(root);
      writeLabBackendRecord(root, { port: pg.port, dataDir: pg.dataDir });
      say(`state: the lab stack's state goes to the lab's PostgreSQL on 127.0.0.1:${pg.port} (recorded in .lab/state-backend.json)`);
    }
  } else if (want === "file" && rec) {
    say("state: moving the lab stack from the lab's PostgreSQL back to .lab/state (npm run state -- migrate --to lab-file)");
    await migrateStack({ root, stack: "lab", to: "lab-file", say: (s) => say(`  ${s}`) });
  } else if (rec) {
    say(`state: the lab's PostgreSQL on 127.0.0.1:${rec.port} (.lab/state-backend.json; --state file moves it back)`);
  }
}
