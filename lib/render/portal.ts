import type { Model } from "../model/types";
import { apacheToken, lineComment, UnsafeValueError } from "./escape";
import { renderTemplate } from "./handlebars";
import { liveCertFiles } from "./apache-vhost";

/**
 * The member portal's deployment on its web host (docs/architecture.md, "Member portal"): its
 * Apache vhost (HTTPS by mod_md, HSTS, a reverse proxy to loopback, its own logs), its systemd
 * unit (its own unix user, hardened, only its state writable) and its environment file (the
 * GitLab bot token). The provider's resource (provider/resources/portal.ts) installs the unit,
 * the environment file and the members' password hashes; the vhost goes with the host's other
 * Apache files (renderAll), checked by apache2ctl -t in the file set's staging.
 */
export const PORTAL_USER = "globenet-portal";
export const PORTAL_STATE = "/var/lib/globenet-portal";
export const PORTAL_ENV = "/etc/globenet/portal.env";
export const PORTAL_UNIT = "globenet-portal.service";
export const PORTAL_VHOST_PATH = "apache2/sites-available/globenet-portal.conf";
/** What the apply ships (docs/architecture.md, "Shipping the code"): root's, read-only to the portal's user. */
export const PORTAL_HOME = "/opt/globenet-portal";
/** One folder per release, named by its tar's sha256 (provider/release.ts). */
export const PORTAL_RELEASES = `${PORTAL_HOME}/releases`;
/** The link to the running release, swapped in one rename. */
export const PORTAL_CURRENT = `${PORTAL_HOME}/current`;
/** The data: a git repository at the applied commit (members/, zones/, Pulumi.<stack>.yaml and their history). */
export const PORTAL_DATA = `${PORTAL_HOME}/data`;
/** Where the apply writes the members' password hashes (handle → scrypt hash), in the state folder. */
export const PORTAL_CREDENTIALS = `${PORTAL_STATE}/credentials.json`;
/** Sessions and lockouts (lib/portal/store.ts), in the state folder. */
export const PORTAL_STORE = `${PORTAL_STATE}/store.json`;
/** Where a member finds their portal password: in their home, 0600 (delivered like the database passwords). */
export const PORTAL_PASSWORD_FILE = ".portal-password";

type PortalSettings = NonNullable<Model["inventory"]["portal"]>;

const NOTICE = "Managed by globenet-infra (lib/render/portal.ts): the member portal";

/** The portal's Apache vhost, for its web host's Apache file set. */
export function renderPortalVhost(model: Pick<Model, "inventory">): string {
  const p = model.inventory.portal;
  if (!p) throw new Error("the inventory has no portal: section");
  const acme = !!model.inventory.acme;
  const name = apacheToken(p.name);
  return renderTemplate("apache-portal.conf", {
    notice: lineComment(`${NOTICE}'s vhost, ${p.name}`),
    name,
    user: PORTAL_USER,
    backend: `http://127.0.0.1:${p.port}`,
    mdomain: acme ? name : null,
    liveCert: acme ? liveCertFiles(model as Model, p.name) : null,
    // With a CA: HTTP only redirects (after mod_md's challenge), HTTPS proxies. Without one (a
    // stack with no acme:), the portal is not served: a login form over plain HTTP is not offered.
    listeners: acme
      ? [
          { port: 80, tls: false, proxy: false },
          { port: 443, tls: true, proxy: true },
        ]
      : [{ port: 80, tls: false, proxy: false }],
  });
}

/**
 * The portal's systemd unit: Debian's node runs the shipped bundle (PORTAL_CURRENT/portal.cjs)
 * on the shipped data (PORTAL_DATA), both root's. `stack`: whose data it reads (the data's
 * Pulumi.<stack>.yaml); `requests`: the request forms are on (portal.gitlab and the stack's
 * portalToken). A reload (SIGHUP) reads the data again without a restart.
 */
export function renderPortalUnit(p: PortalSettings, stack: string, requests: boolean): string {
  if (!/^[a-z0-9][a-z0-9-]{0,40}$/.test(stack)) throw new UnsafeValueError("the portal's unit", stack, "the stack name must be lowercase letters, digits and '-'");
  return renderTemplate("portal.service", {
    notice: `${NOTICE}'s unit`,
    user: PORTAL_USER,
    env: PORTAL_ENV,
    release: PORTAL_CURRENT,
    data: PORTAL_DATA,
    stack,
    listen: `127.0.0.1:${p.port}`,
    state: PORTAL_STATE,
    target: requests && p.gitlab ? p.gitlab.target_branch : null,
  });
}

export interface PortalEnv {
  api: string;
  project: string;
  token: string;
  url?: string;
}

/**
 * The unit's EnvironmentFile (root:root 0600): the GitLab API, project and bot token the portal
 * reads (lib/ci/gitlab.ts gitlabFromEnv). Each value is checked for the one-line KEY=value
 * syntax systemd reads; a bad token is refused without being shown.
 */
export function renderPortalEnv(e: PortalEnv): string {
  const where = "the portal's environment file";
  if (!/^https?:\/\/[A-Za-z0-9.:[\]/_-]+$/.test(e.api)) throw new UnsafeValueError(where, e.api, "the GitLab API URL must be like https://gitlab.example/api/v4");
  if (!/^[A-Za-z0-9._%/-]+$/.test(e.project)) throw new UnsafeValueError(where, e.project, "the project must be its id or its path, like 42 or globenet/infra");
  if (!/^[A-Za-z0-9_-]{8,200}$/.test(e.token)) throw new UnsafeValueError(where, "[token]", "the GitLab token must be 8 to 200 letters, digits, - or _ (a project access token)");
  if (e.url !== undefined && !/^https?:\/\/[A-Za-z0-9.:[\]/_-]+$/.test(e.url)) throw new UnsafeValueError(where, e.url, "the project's address must be like https://gitlab.example/globenet/infra");
  return `CI_API_V4_URL=${e.api}\nCI_PROJECT_ID=${e.project}\nGITLAB_API_TOKEN=${e.token}\n${e.url ? `CI_PROJECT_URL=${e.url}\n` : ""}`;
}
