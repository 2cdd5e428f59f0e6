/**
 * A driver process for tests/state-postgres.test.ts: loads the CLI (driver, program, SDK),
 * prints "ready", and on the first line on stdin runs `npm run <op>` with the given
 * arguments, as the CLI would. Started ahead, the second one is released the moment the test
 * has paused the first while it holds the lock, which `npm run up` started twice cannot promise
 * (its start-up alone takes seconds on a busy machine).
 *   tsx tests/helpers/state-runner.ts up --root DIR [--lock-wait 120]
 */
import { engineCommand } from "../../lib/cli/engine";

const [op, ...args] = process.argv.slice(2);
process.stdout.write("ready\n");
process.stdin.once("data", () => {
  engineCommand(op as string, args).then(
    (code) => {
      process.exitCode = code;
      process.stdin.destroy();
    },
    (e: unknown) => {
      console.error(e instanceof Error ? e.message : String(e));
      process.exitCode = 1;
      process.stdin.destroy();
    },
  );
});
