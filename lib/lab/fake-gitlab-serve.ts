/**
 * The lab's stand-in for GitLab (lib/lab/monitoring.ts starts it on the monitor host): the fake
 * API of the CI tests (fake-gitlab.ts) served until SIGTERM. The token it accepts comes from
 * the environment (GLOBENET_LAB_GITLAB_TOKEN), never from argv; it listens where
 * GLOBENET_LAB_GITLAB_LISTEN says (address:port, in the monitor host's namespace).
 */
import { fakeGitLab } from "./fake-gitlab";

const token = process.env.GLOBENET_LAB_GITLAB_TOKEN ?? "";
const listen = process.env.GLOBENET_LAB_GITLAB_LISTEN ?? "";
const m = /^(.*):(\d{1,5})$/.exec(listen);
if (!token || !m) {
  console.error("fake GitLab: GLOBENET_LAB_GITLAB_TOKEN and GLOBENET_LAB_GITLAB_LISTEN (address:port) must be set");
  process.exit(2);
}
const gl = fakeGitLab(token, { id: 1, username: "globenet-alerts" });
gl.server.listen(Number(m[2]), (m[1] as string).replace(/^\[|\]$/g, ""), () => console.log(`fake GitLab API on ${listen}/api/v4 (project 42)`));
for (const sig of ["SIGTERM", "SIGINT"] as const) process.once(sig, () => gl.server.close(() => process.exit(0)));
