/**
 * globenet:web:Portal — the member portal on its web host (docs/architecture.md, "Member
 * portal"): its own system user `globenet-portal` (no shell, locked, marked as the provider's),
 * its state folder /var/lib/globenet-portal (the user's, 0700), the members' password hashes
 * in it (credentials.json, 0600: handle → scrypt hash, from each member's PortalPassword), its
 * systemd unit (lib/render/portal.ts renderPortalUnit) and, when requests are on, its
 * environment file with the GitLab bot token (/etc/globenet/portal.env, root:root 0600, read by
 * systemd before it starts the portal as its user: the user cannot read it).
 *
 * What it runs is shipped too (docs/architecture.md, "Shipping the code"): the release (the
 * portal's esbuild bundle and the templates, a tar built on the runner, provider/release-build.ts;
 * the state keeps its sha256 and its path on the runner, never its bytes) unpacked into
 * /opt/globenet-portal/releases/<sha256> and made current in one rename; the data (a git bundle
 * of the applied commit, made here from the runner's checkout) fetched into the root's
 * repository /opt/globenet-portal/data. Old releases are pruned (provider/release.ts prunable).
 *
 * The token and the hashes are secrets: secret inputs, kept encrypted in the state, sent on
 * stdin only (provider/scripts/portal/portal.sh), never argv; `read` compares hashes of the
 * files. A new release, unit or environment restarts the portal; new data reloads it (SIGHUP,
 * same process); new hashes alone touch nothing (the portal reads them at each login). Without
 * systemd (the lab, the tests) the script runs the unit's command itself.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { isAbsolute } from "node:path";
import type { DiffResult } from "@pulumi/pulumi/provider";
import { PORTAL_CREDENTIALS, PORTAL_CURRENT, PORTAL_DATA, PORTAL_ENV, PORTAL_HOME, PORTAL_UNIT, PORTAL_USER } from "../../lib/render/portal";
import { isReleaseName, prunable, releaseName, type HostRelease } from "../release";
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
  /** The code: the release's tar on the runner (provider/release-build.ts) and its sha256 (its name on the host). */
  release: PortalRelease;
  /** The data: the runner's git checkout, the applied commit (its HEAD) and the branch it is shown as. */
  data: PortalData;
}

export interface PortalRelease {
  sha256: string;
  /** The tar on the runner; only read when the release is sent (not compared: it is rebuilt at each run). */
  file: string;
}

export interface PortalData {
  /** The runner's checkout (not compared). */
  repo: string;
  commit: string;
  branch: string;
}

export interface PortalOutputs {
  target: Target;
  unit: string;
  env: SecretValue<string>;
  credentials: SecretValue<string>;
  release: PortalRelease;
  data: PortalData;
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
  const release = news.release as Partial<PortalRelease> | undefined;
  if (!release || !str(release.sha256) || !isReleaseName(release.sha256) || !str(release.file) || !isAbsolute(release.file)) f.add("release", "must be the portal's release: its tar's sha256 and absolute path on the runner (provider/release-build.ts buildPortalRelease)");
  const data = news.data as Partial<PortalData> | undefined;
  if (!data || !str(data.repo) || !isAbsolute(data.repo) || !str(data.commit) || !/^[0-9a-f]{40}$/.test(data.commit) || !str(data.branch) || !/^[A-Za-z0-9._/-]{1,100}$/.test(data.branch)) f.add("data", "must be the applied commit: the checkout's absolute path, its HEAD (40 hex digits) and a branch name");
  if (!f.ok) return { failures: f.list };
  const shipped = { release: { sha256: release?.sha256, file: release?.file }, data: { repo: data?.repo, commit: data?.commit, branch: data?.branch } };
  return { inputs: { target: asTarget(news.target), unit: news.unit as string, env: secret(news.env as string), credentials: secret(news.credentials as string), ...shipped } as unknown as PortalInputs };
}

function diff(_id: string, rawOlds: PortalOutputs, rawNews: PortalInputs): DiffResult & { diffs: string[] } {
  const olds = plain<PortalOutputs>(rawOlds);
  const news = plain<PortalInputs>(rawNews);
  const diffs: string[] = [];
  if (JSON.stringify(olds.target) !== JSON.stringify(news.target)) diffs.push("target");
  if (olds.unit !== news.unit) diffs.push("unit");
  if (sha256(String(olds.env ?? "")) !== sha256(String(news.env ?? ""))) diffs.push("env");
  if (sha256(String(olds.credentials ?? "")) !== sha256(String(news.credentials ?? ""))) diffs.push("credentials");
  if (olds.release?.sha256 !== news.release?.sha256) diffs.push("release");
  if (olds.data?.commit !== news.data?.commit || olds.data?.branch !== news.data?.branch) diffs.push("data");
  if ((olds.drift ?? []).length > 0) diffs.push("drift");
  const replaces = olds.target?.name !== news.target?.name ? ["target"] : [];
  return { changes: diffs.length > 0, replaces, diffs, deleteBeforeReplace: replaces.length > 0 };
}

/** The release's tar, read from the runner and checked against its name. */
function releaseTar(r: PortalRelease): Buffer {
  if (!existsSync(r.file)) throw new Error(`the portal's release ${r.file} is missing on this runner (it is built at each preview and up: run the apply again)`);
  const tar = readFileSync(r.file);
  if (releaseName(tar) !== r.sha256) throw new Error(`the portal's release ${r.file} does not have the sha256 ${r.sha256} it was built with: run the apply again`);
  return tar;
}

/** A git bundle of the checkout's HEAD, which must be the commit the apply read its data from. */
function dataBundle(d: PortalData): Buffer {
  const git = (args: string[]) => execFileSync("git", ["-C", d.repo, ...args], { maxBuffer: 1 << 30, stdio: ["ignore", "pipe", "pipe"] });
  const head = git(["rev-parse", "HEAD"]).toString().trim();
  if (head !== d.commit) throw new Error(`${d.repo} is at ${head}, not at ${d.commit} the apply read: the checkout moved during the apply; run it again`);
  return git(["bundle", "create", "--quiet", "-", "HEAD"]);
}

/** What changed on the host, so the start step knows whether to restart, reload or leave the portal alone. */
interface Shipped {
  code: boolean;
  data: boolean;
}

async function ship(i: PortalInputs, olds: PortalOutputs | undefined): Promise<Shipped> {
  const out: Shipped = { code: false, data: false };
  const drift = olds?.drift ?? [];
  if (!olds || olds.release?.sha256 !== i.release.sha256 || drift.some((d) => d.includes(PORTAL_CURRENT))) {
    const r = await run(i.target, SCRIPT, { args: ["ship", i.release.sha256], stdin: releaseTar(i.release), what: `shipping the portal's release ${i.release.sha256.slice(0, 12)} to ${PORTAL_CURRENT}`, kind: "converge" });
    out.code = /^code=changed$/m.test(r.stdout);
    const list = await run(i.target, SCRIPT, { args: ["releases"], what: "listing the portal's releases", kind: "read" });
    const have: HostRelease[] = [...list.stdout.matchAll(/^release=(\S+) (\d+)/gm)].map((m) => ({ name: m[1] as string, mtime: Number(m[2]) }));
    const old = prunable(have, i.release.sha256);
    if (old.length) await run(i.target, SCRIPT, { args: ["prune", ...old], what: `pruning ${old.length} old release(s) of the portal`, kind: "converge" });
  }
  if (!olds || olds.data?.commit !== i.data.commit || olds.data?.branch !== i.data.branch || drift.some((d) => d.includes(PORTAL_DATA))) {
    const r = await run(i.target, SCRIPT, { args: ["data", i.data.commit, i.data.branch], stdin: dataBundle(i.data), what: `shipping the data at ${i.data.commit.slice(0, 12)} to ${PORTAL_DATA}`, kind: "converge" });
    out.data = /^data=changed$/m.test(r.stdout);
  }
  return out;
}

/** restart: the process must change (code, unit, token, drift, or it is the first start); reload: new data only. */
async function write(i: PortalInputs, mode: "create" | "update", olds?: PortalOutputs): Promise<PortalOutputs> {
  const token = /^GITLAB_API_TOKEN=(.*)$/m.exec(i.env)?.[1] ?? "";
  const secrets = [token, i.env, i.credentials].filter((s) => s.length >= 8);
  await run(i.target, SCRIPT, { args: ["needs"], what: `checking what the portal needs on ${i.target.name}`, kind: "read" });
  await run(i.target, SCRIPT, { args: ["user", mode], what: `making the portal's user ${PORTAL_USER}`, kind: "converge" });
  await run(i.target, SCRIPT, { args: ["write", "credentials"], stdin: i.credentials, what: `writing ${PORTAL_CREDENTIALS}`, kind: "converge" }, secrets);
  await run(i.target, SCRIPT, { args: ["write", "env"], stdin: i.env, what: `writing ${PORTAL_ENV}`, kind: "converge" }, secrets);
  await run(i.target, SCRIPT, { args: ["write", "unit"], stdin: i.unit, what: `writing ${UNIT_FILE}`, kind: "converge" });
  const shipped = await ship(i, olds);
  const how = startMode(olds, i, shipped);
  if (how) {
    const r = await run(i.target, SCRIPT, { args: ["start", how], what: `${how === "restart" ? "(re)starting" : "reloading"} ${PORTAL_UNIT}`, kind: "converge" }, secrets);
    const note = /^note=(.*)$/m.exec(r.stdout)?.[1];
    if (note) console.error(`globenet: ${i.target.name}: note: ${note}`);
  }
  return { ...i, env: secret(i.env), credentials: secret(i.credentials), drift: [] };
}

/**
 * Whether the portal restarts, reloads or is left alone: restarted for a first start, new code,
 * a new unit or token, or drift; reloaded (same process) when only the data changed; else
 * nothing (new hashes are read at each login).
 */
export function startMode(olds: { unit: string; env: unknown; drift?: readonly string[] } | undefined, i: Pick<PortalInputs, "unit" | "env">, shipped: Shipped): "restart" | "reload" | undefined {
  if (!olds || shipped.code || olds.unit !== i.unit || String(olds.env ?? "") !== i.env || (olds.drift ?? []).length > 0) return "restart";
  return shipped.data ? "reload" : undefined;
}

async function create(raw: PortalInputs): Promise<{ id: string; outs: PortalOutputs }> {
  const i = plain<PortalInputs>(raw);
  return { id: i.target.name, outs: await write(i, "create") };
}

async function update(_id: string, rawOlds: PortalOutputs, raw: PortalInputs): Promise<PortalOutputs> {
  const olds = plain<PortalOutputs>(rawOlds);
  const i = plain<PortalInputs>(raw);
  return write(i, "update", olds);
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
  const release = v.get("release");
  if (props.release?.sha256 && release !== props.release.sha256) drift.push(`${PORTAL_CURRENT} is ${release === "absent" ? "missing" : `release ${String(release).slice(0, 12)}`}, not the shipped ${props.release.sha256.slice(0, 12)}`);
  const data = v.get("data");
  if (props.data?.commit && data !== props.data.commit) drift.push(`${PORTAL_DATA} is ${data === "absent" ? "missing" : `at ${String(data).slice(0, 12)}`}, not at the shipped ${props.data.commit.slice(0, 12)}`);
  const home = v.get("home_mode");
  if (home && home !== `root:${PORTAL_USER} 750`) drift.push(`${PORTAL_HOME} is ${home}, not root:${PORTAL_USER} 750`);
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
