/**
 * globenet:web:Portal — the member portal on its web host (docs/architecture.md, "Member
 * portal"): its own system user `globenet-portal` (no shell, locked, marked as the provider's),
 * its state folder /var/lib/globenet-portal (the user's, 0700), the members' password hashes
 * in it (credentials.json, 0600: handle → scrypt hash, from each member's PortalPassword), its
 * systemd unit (lib/render/portal.ts renderPortalUnit) and, when requests are on, its
 * environment file with the GitLab bot token (/etc/globenet/portal.env, root:root 0600, read by
 * systemd before it starts the portal as its user: the user cannot read it).
 *
 * The token and the hashes are secrets: secret inputs, kept encrypted in the state, sent on
 * stdin only (provider/scripts/portal/portal.sh), never argv; `read` compares hashes of the
 * files. Where systemd runs, a changed unit or environment restarts the portal (new hashes need
 * no restart: the portal reads them at each login); elsewhere (the lab) nothing starts.
 */
import { createHash } from "node:crypto";
import type { DiffResult } from "@pulumi/pulumi/provider";
import { PORTAL_CREDENTIALS, PORTAL_ENV, PORTAL_UNIT, PORTAL_USER } from "../../lib/render/portal";
import { loadScript } from "../scripts/load";
import { run } from "../ssh/remote";
import type { ResourceType, Target } from "../types";
import { Failures, asTarget, checkTarget, hasUnknown, plain, secret, str, type SecretValue } from "./account-shared";

export interface PortalInputs {
  /** The portal's web host. */
  target: Target;
  /** The unit's text (renderPortalUnit). */
  unit: string;
  /** The environment file's text (renderPortalEnv) with the token, a secret; "" when requests are off. */
  env: string;
  /** The credentials file: a JSON object handle → scrypt hash (secret). */
  credentials: string;
}

export interface PortalOutputs {
  target: Target;
  unit: string;
  env: SecretValue<string>;
  credentials: SecretValue<string>;
  /** What `read` found out of line (a file missing or changed, a mode, the user's shell). */
  drift: string[];
}

const SCRIPT = loadScript("account/prelude.sh", "portal/portal.sh");
const UNIT_FILE = `/etc/systemd/system/${PORTAL_UNIT}`;
const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");
const ENV_LINES = [/^CI_API_V4_URL=https?:\/\/[A-Za-z0-9.:[\]/_-]+$/, /^CI_PROJECT_ID=[A-Za-z0-9._%/-]+$/, /^GITLAB_API_TOKEN=[A-Za-z0-9_-]{8,200}$/, /^CI_PROJECT_URL=https?:\/\/[A-Za-z0-9.:[\]/_-]+$/];
const HASH = /^scrypt\$\d{1,2}\$\d{1,2}\$\d{1,2}\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/;

/** Why `text` is not a credentials file this provider writes (never quoting it: it holds hashes). */
export function credentialsProblem(text: string): string | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return "must be a JSON object of member handle to scrypt hash";
  }
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) return "must be a JSON object of member handle to scrypt hash";
  for (const [k, v] of Object.entries(raw)) {
    if (!/^[a-z][a-z0-9-]{0,31}$/.test(k)) return `has a key that is not a member handle (${k.slice(0, 40).replace(/[^a-z0-9-]/g, "?")})`;
    if (typeof v !== "string" || !HASH.test(v)) return `${k}: must be a scrypt hash (lib/portal/credentials.ts)`;
  }
  return undefined;
}

function check(raw: Record<string, unknown>): { inputs?: PortalInputs; failures?: { property: string; reason: string }[] } {
  const news = plain<Record<string, unknown>>(raw);
  if (hasUnknown(news)) return { inputs: news as unknown as PortalInputs };
  const f = new Failures();
  checkTarget(f, "target", news.target);
  if (!str(news.unit) || !news.unit.startsWith("# Managed by globenet-infra") || !news.unit.includes("\n[Service]\n") || !news.unit.includes(`\nUser=${PORTAL_USER}\n`) || news.unit.length > 10_000) {
    f.add("unit", "must be the portal's unit (lib/render/portal.ts renderPortalUnit), run as its own user");
  } else if (news.unit.includes("GITLAB_API_TOKEN")) f.add("unit", "must not hold the token (it goes in the environment file)");
  const lines = str(news.env) ? news.env.split("\n") : [];
  // Never the value in the message: it holds the token.
  if (!str(news.env) || (news.env !== "" && (lines.pop() !== "" || lines.length < 3 || lines.length > 4 || lines.some((l, n) => !ENV_LINES[n]!.test(l))))) {
    f.add("env", "must be the portal's environment file: CI_API_V4_URL, CI_PROJECT_ID, GITLAB_API_TOKEN and CI_PROJECT_URL, one a line (renderPortalEnv), or empty");
  }
  const problem = str(news.credentials) ? credentialsProblem(news.credentials) : "must be a JSON object of member handle to scrypt hash";
  if (problem) f.add("credentials", problem);
  if (!f.ok) return { failures: f.list };
  return { inputs: { target: asTarget(news.target), unit: news.unit as string, env: secret(news.env as string), credentials: secret(news.credentials as string) } as unknown as PortalInputs };
}

function diff(_id: string, rawOlds: PortalOutputs, rawNews: PortalInputs): DiffResult & { diffs: string[] } {
  const olds = plain<PortalOutputs>(rawOlds);
  const news = plain<PortalInputs>(rawNews);
  const diffs: string[] = [];
  if (JSON.stringify(olds.target) !== JSON.stringify(news.target)) diffs.push("target");
  if (olds.unit !== news.unit) diffs.push("unit");
  if (sha256(String(olds.env ?? "")) !== sha256(String(news.env ?? ""))) diffs.push("env");
  if (sha256(String(olds.credentials ?? "")) !== sha256(String(news.credentials ?? ""))) diffs.push("credentials");
  if ((olds.drift ?? []).length > 0) diffs.push("drift");
  const replaces = olds.target?.name !== news.target?.name ? ["target"] : [];
  return { changes: diffs.length > 0, replaces, diffs, deleteBeforeReplace: replaces.length > 0 };
}

async function write(i: PortalInputs, mode: "create" | "update", restart: boolean): Promise<PortalOutputs> {
  const token = /^GITLAB_API_TOKEN=(.*)$/m.exec(i.env)?.[1] ?? "";
  const secrets = [token, i.env, i.credentials].filter((s) => s.length >= 8);
  await run(i.target, SCRIPT, { args: ["user", mode], what: `making the portal's user ${PORTAL_USER}`, kind: "converge" });
  await run(i.target, SCRIPT, { args: ["write", "credentials"], stdin: i.credentials, what: `writing ${PORTAL_CREDENTIALS}`, kind: "converge" }, secrets);
  await run(i.target, SCRIPT, { args: ["write", "env"], stdin: i.env, what: `writing ${PORTAL_ENV}`, kind: "converge" }, secrets);
  await run(i.target, SCRIPT, { args: ["write", "unit"], stdin: i.unit, what: `writing ${UNIT_FILE}`, kind: "converge" });
  if (restart) {
    const r = await run(i.target, SCRIPT, { args: ["start"], what: `starting ${PORTAL_UNIT}`, kind: "converge" });
    const note = /^note=(.*)$/m.exec(r.stdout)?.[1];
    if (note) console.error(`globenet: ${i.target.name}: note: ${note}`);
  }
  return { ...i, env: secret(i.env), credentials: secret(i.credentials), drift: [] };
}

async function create(raw: PortalInputs): Promise<{ id: string; outs: PortalOutputs }> {
  const i = plain<PortalInputs>(raw);
  return { id: i.target.name, outs: await write(i, "create", true) };
}

async function update(_id: string, rawOlds: PortalOutputs, raw: PortalInputs): Promise<PortalOutputs> {
  const olds = plain<PortalOutputs>(rawOlds);
  const i = plain<PortalInputs>(raw);
  // New hashes alone need no restart: the portal reads the file at each login.
  const restart = olds.unit !== i.unit || String(olds.env ?? "") !== i.env || (olds.drift ?? []).length > 0;
  return write(i, "update", restart);
}

async function read(_id: string, rawProps: PortalOutputs): Promise<PortalOutputs | undefined> {
  const props = plain<PortalOutputs>(rawProps);
  const r = await run(props.target, SCRIPT, { args: ["read"], what: "reading the portal's files", kind: "read" });
  const v = new Map(r.stdout.split("\n").filter((l) => l.includes("=")).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)] as const));
  if (v.get("unit") === "absent" && v.get("credentials") === "absent" && v.get("user") === "absent") return undefined;
  const env = String(props.env ?? "");
  const credentials = String(props.credentials ?? "");
  const drift: string[] = [];
  for (const [k, path, want] of [["env", PORTAL_ENV, env], ["unit", UNIT_FILE, props.unit], ["credentials", PORTAL_CREDENTIALS, credentials]] as const) {
    const have = v.get(k);
    if (have === "absent") drift.push(`${path} is missing`);
    else if (have !== sha256(want)) drift.push(`${path} differs from what was written`);
  }
  const envMode = v.get("env_mode");
  if (envMode && envMode !== "root:root 600") drift.push(`${PORTAL_ENV} is ${envMode}, not root:root 600`);
  const credMode = v.get("credentials_mode");
  if (credMode && credMode !== `${PORTAL_USER}:${PORTAL_USER} 600`) drift.push(`${PORTAL_CREDENTIALS} is ${credMode}, not ${PORTAL_USER}:${PORTAL_USER} 600`);
  const user = v.get("user");
  if (user === "absent") drift.push(`the user ${PORTAL_USER} is missing`);
  else if (user && !user.endsWith(":/usr/sbin/nologin")) drift.push(`the user ${PORTAL_USER} has a login shell (${user.split(":")[1] ?? ""})`);
  return { ...props, env: secret(env), credentials: secret(credentials), drift };
}

async function del(_id: string, rawProps: PortalOutputs): Promise<void> {
  const props = plain<PortalOutputs>(rawProps);
  await run(props.target, SCRIPT, { args: ["delete"], what: "removing the portal", kind: "converge" });
}

function dryOutputs(raw: PortalInputs): PortalOutputs {
  const i = plain<PortalInputs>(raw);
  return { ...i, env: secret(i.env), credentials: secret(i.credentials), drift: [] };
}

export const portalType: ResourceType<PortalInputs, PortalOutputs> = { check, diff, create, read, update, delete: del, dryOutputs };
