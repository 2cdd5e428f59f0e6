import { alertBridge } from "../ci/alert-bridge";
import { gitlabFromEnv } from "../ci/gitlab";
import { UsageError } from "./args";
import type { Args, Io } from "./command";

/** npm run monitor (table entry and help: lib/cli/commands.ts). */
export async function runMonitor(a: Args, io: Io): Promise<number> {
  const [what] = a.positionals;
  if (what !== "bridge") throw new UsageError(`say what to run: bridge (got ${what ?? "nothing"})`);
  const listen = a.str("listen") ?? "127.0.0.1:9099";
  const m = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\]):(\d{1,5})$/.exec(listen);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new UsageError(`--listen takes a loopback address and port, like 127.0.0.1:9099 (got ${listen}): Alertmanager runs beside the bridge`);
  const gl = gitlabFromEnv();
  const server = alertBridge(gl, (line) => io.err(`[alert-bridge] ${line}`));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(Number(m[2]), (m[1] as string).replace(/^\[|\]$/g, ""), () => resolve());
  });
  io.err(`[alert-bridge] listening on ${listen}/alerts: each alert opens, updates or closes its issue in GitLab project ${gl.project}`);
  await new Promise<void>((resolve) => {
    for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => server.close(() => resolve()));
  });
  return 0;
}
