import { UsageError } from "./args";
import { consoleIo, runCommand, type Args, type Io } from "./command";
import { findCommand } from "./commands";
import { serve } from "./portal-serve";

/**
 * The deployed portal's entry (docs/architecture.md, "Member portal", "Shipping the code"): the
 * `portal` command of the table (its options, help and exit codes) running `--serve` only, its
 * code imported statically so esbuild bundles it into one file (provider/release.ts). The apply
 * ships that file, and the web host's unit runs it with Debian's node:
 * `node portal.cjs --serve --root DATA …`. Neither the lab, the engine nor Pulumi is in it.
 */
export async function portalMain(argv: string[], io: Io = consoleIo): Promise<number> {
  const table = findCommand("portal");
  if (!table) throw new Error("the command table has no portal command");
  const run = (a: Args, out: Io) => {
    const root = a.str("root");
    if (!a.flag("serve") || !root) throw new UsageError("the shipped portal runs as deployed only: --serve --root DIR (the data repository the apply ships); npm run portal in a checkout serves the lab");
    return serve(a, out, root);
  };
  return runCommand({ ...table, run }, argv, io);
}

if (require.main === module) {
  portalMain(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
