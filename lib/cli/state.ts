import { DriverError, onBackend } from "../engine/driver";
import { migrateStack, openWorkspace, recoverStack } from "../lab/open-stack";
import { ToolchainError } from "../engine/toolchain";
import { mask } from "../state/mask";
import { backupAll, restoreFile, showLocks, StateError } from "../engine/state-ops";
import { REPO_ROOT, UsageError } from "./args";
import { defaultStack } from "./stack-default";
import { CommandFailure, consoleIo, runCommand, type Args, type Io } from "./command";
import { findCommand } from "./commands";

/** npm run state (table entry and help: lib/cli/commands.ts). Every message is masked: the backend URL may hold a password. */
export async function runState(a: Args, io: Io): Promise<number> {
  const values = { stack: a.str("stack"), root: a.str("root"), dir: a.str("dir"), to: a.str("to"), from: a.str("from"), yes: a.flag("yes"), "holder-gone": a.flag("holder-gone") };
  const positionals = a.positionals;
  if (positionals.length === 0) throw new UsageError("say what to do: status, backup, restore, migrate or recover");
  const [cmd, ...args] = positionals;
  const root = values.root ?? REPO_ROOT;
  const stack = defaultStack(values.stack, values.root);
  const say = (s: string) => io.out(s);
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
        await backupAll({ root, stack, dir: values.dir as string, say });
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
    if (e instanceof StateError) throw new CommandFailure(mask(e.message, secrets), e.next === undefined ? undefined : mask(e.next, secrets));
    if (e instanceof DriverError || e instanceof ToolchainError) throw new CommandFailure(mask(e.message, secrets));
    if (e instanceof UsageError) throw e;
    const msg = mask(e instanceof Error ? e.message : String(e), secrets);
    throw new CommandFailure(`state ${cmd} failed:\n${msg.split("\n").slice(-25).join("\n")}`, "the lines above are the engine's own; npm run state -- status shows the backend and its locks");
  }
}

/** The state command as `npm run state -- argv` parses and reports it (never throws). */
export function stateCommand(argv: string[], io: Io = consoleIo): Promise<number> {
  return runCommand(findCommand("state")!, argv, io);
}
