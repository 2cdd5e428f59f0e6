import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import type { Model } from "../model/types";
import { labPaths } from "../lab/paths";
import { onStackHosts } from "../lab/open-stack";
import { closeHostConnections } from "../status/remote";
import { loadPortalModel } from "./model";
import { readMemberLive } from "./live";
import { issuePassword, readCredentials } from "./credentials";
import { ensurePortalCert } from "./lab-cert";
import { buildPortal, type PortalOptions } from "./server";
import type { MemberLive } from "./view";

/** Where the lab's portal keeps its credentials (handle → scrypt hash, 0600) and the passwords it issued. */
export function portalFiles(root: string): { credentials: string; passwords: string } {
  const dir = join(labPaths(root).lab, "portal");
  return { credentials: join(dir, "credentials.json"), passwords: join(dir, "passwords.txt") };
}

export { loadPortalModel };

/**
 * One member's live figures, read at each dashboard by the status views' own code over the
 * stack's SSH (lib/portal/live.ts readMemberLive: the snapshot's reads, on a model holding only
 * that member's objects, so nothing of another member is even read).
 */
export function liveReader(root: string, stack: string, model: () => Model): (handle: string) => Promise<MemberLive> {
  return (handle) => onStackHosts(root, stack, () => readMemberLive(root, model(), handle), { lingerMs: LIVE_LINGER_MS });
}

/**
 * How long the portal keeps its SSH connections to the hosts after a page: a member moving
 * between pages (or reloading) reuses them instead of paying a handshake per host each time.
 */
export const LIVE_LINGER_MS = 60_000;

/**
 * Passwords for the members that have none yet, written to the lab's passwords.txt (0600) for
 * whoever runs the lab: the lab's delivery. Returns the handles that got one.
 */
export async function issueMissing(root: string, model: Model): Promise<string[]> {
  const files = portalFiles(root);
  const have = readCredentials(files.credentials);
  const made: string[] = [];
  const lines = existsSync(files.passwords) ? readFileSync(files.passwords, "utf8") : "";
  let out = lines;
  for (const m of model.members) {
    if (m.status === "departed" || have.has(m.handle)) continue;
    out += `${m.handle} ${await issuePassword(files.credentials, m.handle)}\n`;
    made.push(m.handle);
  }
  if (made.length) writeFileSync(files.passwords, out, { mode: 0o600 });
  return made;
}

export interface StartedPortal {
  app: FastifyInstance;
  url: string;
  caFile: string;
  /** Reads the data again (a volunteer's edit shows at the next page). */
  reload: () => void;
}

/** The portal on 127.0.0.1:`port` over HTTPS with the lab CA's certificate. */
export async function startLabPortal(root: string, stack: string, port: number, extra: Omit<Partial<PortalOptions>, "live"> & { live?: boolean } = {}): Promise<StartedPortal> {
  const tls = ensurePortalCert(labPaths(root));
  let model = loadPortalModel(root, stack);
  const files = portalFiles(root);
  const { live, ...rest } = extra;
  const app = await buildPortal({
    tls,
    model: () => model,
    credentials: () => readCredentials(files.credentials),
    ...(live ? { live: liveReader(root, stack, () => model) } : {}),
    ...rest,
  });
  if (live) app.addHook("onClose", async () => closeHostConnections());
  await app.listen({ host: "127.0.0.1", port });
  const address = app.server.address();
  const bound = typeof address === "object" && address ? address.port : port;
  return { app, url: `https://localhost:${bound}/`, caFile: tls.caFile, reload: () => void (model = loadPortalModel(root, stack)) };
}
