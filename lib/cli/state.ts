import { parseArgs } from "node:util";
import { DriverError, onBackend } from "../engine/driver";
import { migrateStack, openWorkspace, recoverStack } from "../lab/open-stack";
import { ToolchainError } from "../engine/toolchain";
import { mask } from "../state/mask";
import { backupAll, restoreFile, showLocks, StateError } from "../engine/state-ops";
import { REPO_ROOT, runMain, UsageError } from "./args";

export const STATE_HELP = `Usage: npm run state -- <command> [--stack NAME] [--root DIR]

The stacks' state: where it lives, its locks, backups, restore, migration between backends.
prod's state is in Globenet's PostgreSQL (PULUMI_BACKEND_URL, over TLS); the lab's in
.lab/state, or in the lab's own PostgreSQL after npm run lab -- --state postgres.

  status                        the stack's backend, the stacks it holds, the stack's locks
  backup [--dir DIR]            write every stack of the backend to DIR/<stack>-<UTC time>.json
                                (default DIR: state-backups/), secrets encrypted, mode 0600
  restore FILE [--yes]          show what putting FILE back would change; --yes does it (the
                                current state is saved beside FILE first)
  migrate --to TARGET [--from URL]
                                move the stack to another backend (export, import, same
                                resource count, no-change preview); TARGET: lab-postgres,
                                lab-file (lab only) or a URL (postgres://USER@HOST:5432/DB?sslmode=verify-full)
  recover [--holder-gone]       after a killed update: check the lock's holder is gone,
                                remove the lock, read the hosts back if operations were left
                                pending. A holder on another machine needs --holder-gone:
                                say so only once you checked nothing runs there any more

  --stack NAME   lab (default) or prod; prod takes PULUMI_BACKEND_URL (password in it or in
                 PGPASSWORD) and PULUMI_CONFIG_PASSPHRASE from the environment
  --root DIR     data tree (default: the repository)`;

export async function stateCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      stack: { type: "string" },
      root: { type: "string" },
      dir: { type: "string" },
      to: { type: "string" },
      from: { type: "string" },
      yes: { type: "boolean" },
      "holder-gone": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help || positionals.length === 0) {
    console.log(STATE_HELP);
    return values.help ? 0 : 2;
  }
  const [cmd, ...args] = positionals;
  const root = values.root ?? REPO_ROOT;
  const stack = values.stack ?? "lab";
  const say = (s: string) => console.log(s);
  const secrets = [process.env.PGPASSWORD, process.env.PULUMI_CONFIG_PASSPHRASE];
  try {
    switch (cmd) {
      case "status": {
        const w = await openWorkspace({ root, stack });
        const stacks = await onBackend(w, stack, () => w.ws.listStacks());
        say(`stack ${stack}: state in ${w.backend.display} (from ${w.backend.origin})`);
        say(`stacks there: ${stacks.length ? stacks.map((s) => `${s.name}${s.resourceCount !== undefined ? ` (${s.resourceCount} resources${s.lastUpdate ? `, last update ${s.lastUpdate}` : ""})` : ""}`).join(", ") : "none"}`);
        await showLocks({ root, stack, say });
        return 0;
      }
      case "backup":
        await backupAll({ root, stack, dir: values.dir ?? "state-backups", say });
        return 0;
      case "restore": {
        if (args.length !== 1) throw new UsageError("restore takes one file: npm run state -- restore state-backups/lab-20250131T120003Z.json [--yes]");
        await restoreFile({ root, file: args[0] as string, stack: values.stack, yes: !!values.yes, say });
        return 0;
      }
      case "migrate": {
        if (!values.to) throw new UsageError("migrate needs --to TARGET (lab-postgres, lab-file, or a postgres:// URL)");
        await migrateStack({ root, stack, to: values.to, from: values.from, say });
        return 0;
      }
      case "recover":
        await recoverStack({ root, stack, holderGone: !!values["holder-gone"], say });
        return 0;
      default:
        throw new UsageError(`unknown state command "${cmd}" (status, backup, restore, migrate, recover)`);
    }
  } catch (e) {
    if (e instanceof StateError) {
      console.error(`error: ${mask(e.message, secrets)}`);
      if (e.next) console.error(`next: ${mask(e.next, secrets)}`);
      return 1;
    }
    if (e instanceof DriverError || e instanceof ToolchainError) {
      console.error(`error: ${mask(e.message, secrets)}`);
      return 1;
    }
    if (e instanceof UsageError) throw e;
    const msg = mask(e instanceof Error ? e.message : String(e), secrets);
    console.error(`state ${cmd} failed:\n${msg.split("\n").slice(-25).join("\n")}`);
    return 1;
  }
}

if (require.main === module) runMain("state", stateCommand);
