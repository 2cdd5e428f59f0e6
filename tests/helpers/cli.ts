import { captureIo } from "../../lib/cli/command";
import { main } from "../../lib/cli/main";

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

/**
 * `npm run <command> -- args` in this process: the same table, parser, error path and exit
 * code as the real command line, with the output captured. `env` is set for the call only.
 */
export async function cli(argv: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  const set = (vars: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(vars)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  set(env);
  const io = captureIo();
  try {
    const status = await main(argv, io);
    return { status, stdout: io.stdout, stderr: io.stderr };
  } finally {
    set(saved);
  }
}

