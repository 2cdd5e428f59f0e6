import { formatDiagnostic } from "../load/diagnostic";
import { DataError } from "../load/diagnostic";
import { UsageError } from "./args";
import { benchCommand } from "./bench";
import { engineCommand } from "./engine";
import { labCommand } from "./lab";
import { renderCommand } from "./render";
import { validateCommand } from "./validate";

const HELP = `globenet-infra command-line tool

  npm run validate [-- --root DIR --stack NAME]   check every data file
  npm run render -- --out DIR [--root DIR]        write the generated config files
  npm run bench -- data [--members N]             time validate and render on N synthetic members
  npm run preview|up|refresh|destroy|history      drive the Pulumi engine (lab stack by default)
  npm run state -- status|backup|restore|migrate|recover
                                                  the stacks' state: where, locks, backups
  npm run lab [-- up|down|status]                 the whole of Globenet on this machine (as root)

Each command takes --help.`;

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case "preview":
      case "up":
      case "refresh":
      case "destroy":
      case "history":
        return await engineCommand(cmd, rest);
      case "validate":
        return validateCommand(rest);
      case "render":
        return renderCommand(rest);
      case "bench":
        return benchCommand(rest);
      case "lab":
        return await labCommand(rest);
      case undefined:
      case "help":
      case "--help":
        console.log(HELP);
        return cmd === undefined ? 2 : 0;
      default:
        console.error(`unknown command "${cmd}"\n\n${HELP}`);
        return 2;
    }
  } catch (e) {
    if (e instanceof DataError) {
      for (const d of e.diagnostics) console.error(formatDiagnostic(d));
      return 1;
    }
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      console.error(`error: ${(e as Error).message}`);
      return 2;
    }
    throw e;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(e instanceof Error ? e.stack ?? e.message : String(e));
    process.exitCode = 1;
  },
);
