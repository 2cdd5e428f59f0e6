import { existsSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { simpleGit } from "simple-git";
import { gitlabFromEnv } from "../ci/gitlab";
import { readCredentials } from "../portal/credentials";
import { loadPortalModel } from "../portal/model";
import { LIVE_FILE, snapshotReader } from "../portal/live-file";
import { buildPortal } from "../portal/server";
import { UsageError } from "./args";
import type { Args, Io } from "./command";

/**
 * npm run portal -- --serve: the deployed portal (its systemd unit on the web host, or the lab
 * by hand): plain HTTP on loopback behind Apache, the hashes the apply wrote, the store.
 */
export async function serve(a: Args, io: Io, root: string): Promise<number> {
  const stack = a.str("stack");
  if (!stack) throw new UsageError("--serve needs --stack NAME (whose data the portal shows)");
  const listen = /^(127\.0\.0\.1|\[::1\]):(\d{1,5})$/.exec(a.str("listen") ?? "");
  if (!listen || Number(listen[2]) > 65535) throw new UsageError("--serve needs --listen 127.0.0.1:PORT (or [::1]:PORT): the portal listens on loopback only, behind Apache");
  const state = a.str("state");
  if (!state || !isAbsolute(state)) throw new UsageError("--serve needs --state DIR, an absolute path (the portal's state folder)");
  let model = loadPortalModel(root, stack);
  const target = a.str("requests");
  const requests = target === undefined ? undefined : { gitlab: gitlabFromEnv(), target, root, stack };
  // The data repository is root's (the apply ships it, docs/architecture.md "Shipping the code"):
  // git is told on its command line that it is safe. Not through GIT_CONFIG_* in the unit's
  // environment: simple-git removes those from what git sees.
  const history = existsSync(join(root, ".git")) ? { git: simpleGit({ baseDir: root, config: [`safe.directory=${root}`] }), ref: target ?? "HEAD" } : undefined;
  const projectUrl = process.env.CI_PROJECT_URL;
  const credentials = join(state, "credentials.json");
  const app = await buildPortal({
    proxied: true,
    store: join(state, "store.json"),
    model: () => model,
    credentials: () => readCredentials(credentials),
    // The live figures: the protected runner's snapshot (--snapshot), read at each dashboard; this process reaches no host.
    live: snapshotReader(join(state, LIVE_FILE), stack),
    ...(requests ? { requests } : {}),
    ...(history ? { history } : {}),
    ...(projectUrl ? { projectUrl } : {}),
  });
  const host = (listen[1] as string).replace(/^\[|\]$/g, "");
  await app.listen({ host, port: Number(listen[2]) });
  io.out(`portal for stack ${stack} on http://${listen[0]}/ (behind Apache); state ${state}; live figures from ${join(state, LIVE_FILE)}; requests ${requests ? `into ${target}` : "off"}`);
  process.on("SIGHUP", () => void (model = loadPortalModel(root, stack)));
  await new Promise<void>((resolve) => {
    const stop = () => void app.close().then(() => resolve());
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  return 0;
}
