import { parseArgs } from "node:util";
import { labDown, labStatus, labUp } from "../lab/commands";
import { LabError } from "../base/proc";
import { REPO_ROOT, UsageError } from "./args";

export const LAB_HELP = `Usage: npm run lab [-- up|down|status] [options]

The whole of Globenet on this machine (Debian 12, as root): real OpenSSH, Apache, PHP-FPM,
MariaDB, BIND and libvirt/QEMU started by hand on 127.0.0.1, and the repository's members/
and zones/ applied to them through the project's engine (stack lab, Pulumi.lab.yaml).

  up (default)     install missing Debian packages, make the lab keys, prepare the deploy
                   user, start each daemon that is not running, apply the stack, and report
                   what was created and how long each phase took
      --skip-packages   do not run scripts/ensure-debs.sh
      --state postgres  keep the lab stack's state in a PostgreSQL of the lab's own (started
                        on 127.0.0.1 like the other daemons; the state is migrated there);
                        the choice stays (.lab/state-backend.json) until --state file
  down             destroy the stack (the provider archives homes, databases and disks
                   first), stop the daemons the lab started (by their recorded PIDs, never
                   others) and put back the machine files it changed (.lab/backup/)
      --force           stop and restore even when the destroy fails
  status           which daemons run, the stack's resources, commands to look around

Run-time files live in .lab/ (git-ignored): ssh/ keys, run/ PIDs, log/ daemon output,
backup/ originals of changed machine files, state/ the stack's state.`;

export async function labCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      "skip-packages": { type: "boolean" },
      force: { type: "boolean" },
      state: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    console.log(LAB_HELP);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError(`lab takes one action (up, down or status), not "${positionals.join(" ")}"`);
  const action = positionals[0] ?? "up";
  if (values.state !== undefined && values.state !== "file" && values.state !== "postgres") throw new UsageError(`--state takes file or postgres (got "${values.state}")`);
  try {
    switch (action) {
      case "up":
        return await labUp({ root: REPO_ROOT, skipPackages: values["skip-packages"], state: values.state as "file" | "postgres" | undefined });
      case "down":
        return await labDown({ root: REPO_ROOT, force: values.force });
      case "status":
        return await labStatus({ root: REPO_ROOT });
      default:
        throw new UsageError(`unknown lab action "${action}" (up, down or status)\n\n${LAB_HELP}`);
    }
  } catch (e) {
    if (e instanceof LabError) {
      console.error(`\nerror: ${e.message}`);
      if (e.next) console.error(`next: ${e.next}`);
      return 1;
    }
    throw e;
  }
}
