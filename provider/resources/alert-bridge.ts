/**
 * globenet:monitor:AlertBridge — the alert bridge on the monitor host (docs/architecture.md,
 * "Monitoring"): Alertmanager's webhook that opens and closes GitLab issues, run by systemd as
 * `globenet-alert-bridge.service` (lib/render/monitoring-units.ts renderAlertBridgeUnit), its
 * GitLab token in `/etc/globenet/alert-bridge.env` (root:root 0600, renderAlertBridgeEnv),
 * which systemd reads as root before the unit drops to its dynamic user.
 *
 * The token is a stack secret (`pulumi config set --secret alertBridgeToken`): it reaches this
 * resource as a secret input, is kept encrypted in the state (a secret output), travels to the
 * host on stdin only (provider/scripts/monitor/alert-bridge.sh), never argv, and `read` compares
 * the file's hash, never its text. Where systemd runs, create and update restart the unit (it
 * reads both files at start); elsewhere (the lab) the files are written and nothing starts.
 */
import { createHash } from "node:crypto";
import type { DiffResult } from "@pulumi/pulumi/provider";
import { ALERT_BRIDGE_CHECKOUT, ALERT_BRIDGE_ENV, ALERT_BRIDGE_UNIT } from "../../lib/render/monitoring-units";
import { loadScript } from "../scripts/load";
import { run } from "../ssh/remote";
import type { ResourceType, Target } from "../types";
import { Failures, asTarget, sameHost, checkTarget, hasUnknown, plain, secret, str, type SecretValue } from "./account-shared";

export interface AlertBridgeInputs {
  /** The monitor host. */
  target: Target;
  /** The unit's text (renderAlertBridgeUnit). */
  unit: string;
  /** The environment file's text (renderAlertBridgeEnv), with the token: a secret. */
  env: string;
}

export interface AlertBridgeOutputs {
  target: Target;
  unit: string;
  env: SecretValue<string>;
  /** What `read` found out of line (a file missing or changed, the env file's owner or mode). */
  drift: string[];
}

const SCRIPT = loadScript("account/prelude.sh", "monitor/alert-bridge.sh");
const UNIT_FILE = `/etc/systemd/system/${ALERT_BRIDGE_UNIT}`;
const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

/** The env file's shape: the three variables the bridge reads, one a line (renderAlertBridgeEnv makes it). */
const ENV_LINES = [/^CI_API_V4_URL=https?:\/\/[A-Za-z0-9.:[\]/_-]+$/, /^CI_PROJECT_ID=[A-Za-z0-9._%/-]+$/, /^GITLAB_API_TOKEN=[A-Za-z0-9_-]{8,200}$/];

function check(raw: Record<string, unknown>): { inputs?: AlertBridgeInputs; failures?: { property: string; reason: string }[] } {
  const news = plain<Record<string, unknown>>(raw);
  if (hasUnknown(news)) return { inputs: news as unknown as AlertBridgeInputs };
  const f = new Failures();
  checkTarget(f, "target", news.target);
  if (!str(news.unit) || !news.unit.startsWith("# Managed by globenet-infra") || !news.unit.includes("\n[Service]\n") || news.unit.length > 10_000) {
    f.add("unit", "must be the alert bridge's unit (lib/render/monitoring-units.ts renderAlertBridgeUnit)");
  } else if (news.unit.includes("GITLAB_API_TOKEN")) f.add("unit", "must not hold the token (it goes in the environment file)");
  const lines = str(news.env) ? news.env.split("\n") : [];
  // Never the value in the message: it holds the token.
  if (!str(news.env) || lines.pop() !== "" || lines.length !== ENV_LINES.length || lines.some((l, n) => !ENV_LINES[n]!.test(l))) {
    f.add("env", "must be the alert bridge's environment file: CI_API_V4_URL, CI_PROJECT_ID and GITLAB_API_TOKEN, one a line (renderAlertBridgeEnv)");
  }
  if (!f.ok) return { failures: f.list };
  // The env file stays a secret in the checked inputs too: the state keeps the inputs the check returns.
  return { inputs: { target: asTarget(news.target), unit: news.unit as string, env: secret(news.env as string) } as unknown as AlertBridgeInputs };
}

function diff(_id: string, rawOlds: AlertBridgeOutputs, rawNews: AlertBridgeInputs): DiffResult & { diffs: string[] } {
  const olds = plain<AlertBridgeOutputs>(rawOlds);
  const news = plain<AlertBridgeInputs>(rawNews);
  const diffs: string[] = [];
  if (JSON.stringify(olds.target) !== JSON.stringify(news.target)) diffs.push("target");
  if (olds.unit !== news.unit) diffs.push("unit");
  if (sha256(String(olds.env ?? "")) !== sha256(String(news.env ?? ""))) diffs.push("env");
  if ((olds.drift ?? []).length > 0) diffs.push("drift");
  const replaces = sameHost(olds.target, news.target) ? [] : ["target"];
  return { changes: diffs.length > 0, replaces, diffs, deleteBeforeReplace: replaces.length > 0 };
}

async function write(i: AlertBridgeInputs): Promise<AlertBridgeOutputs> {
  const token = /^GITLAB_API_TOKEN=(.*)$/m.exec(i.env)?.[1] ?? "";
  await run(i.target, SCRIPT, { args: ["write", "env"], stdin: i.env, what: `writing ${ALERT_BRIDGE_ENV}`, kind: "converge" }, [token, i.env]);
  await run(i.target, SCRIPT, { args: ["write", "unit"], stdin: i.unit, what: `writing ${UNIT_FILE}`, kind: "converge" });
  const r = await run(i.target, SCRIPT, { args: ["start", ALERT_BRIDGE_CHECKOUT], what: `starting ${ALERT_BRIDGE_UNIT}`, kind: "converge" });
  const note = /^note=(.*)$/m.exec(r.stdout)?.[1];
  if (note) console.error(`globenet: ${i.target.name}: note: ${note}`);
  return { ...i, env: secret(i.env), drift: [] };
}

async function create(raw: AlertBridgeInputs): Promise<{ id: string; outs: AlertBridgeOutputs }> {
  const i = plain<AlertBridgeInputs>(raw);
  return { id: i.target.name, outs: await write(i) };
}

async function update(_id: string, _olds: AlertBridgeOutputs, raw: AlertBridgeInputs): Promise<AlertBridgeOutputs> {
  return write(plain<AlertBridgeInputs>(raw));
}

async function read(_id: string, rawProps: AlertBridgeOutputs): Promise<AlertBridgeOutputs | undefined> {
  const props = plain<AlertBridgeOutputs>(rawProps);
  const r = await run(props.target, SCRIPT, { args: ["read"], what: "reading the alert bridge's files", kind: "read" });
  const v = new Map(r.stdout.split("\n").filter((l) => l.includes("=")).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)] as const));
  if (v.get("env") === "absent" && v.get("unit") === "absent") return undefined;
  const env = String(props.env ?? "");
  const drift: string[] = [];
  for (const [k, path, want] of [["env", ALERT_BRIDGE_ENV, env], ["unit", UNIT_FILE, props.unit]] as const) {
    const have = v.get(k);
    if (have === "absent") drift.push(`${path} is missing`);
    else if (have !== sha256(want)) drift.push(`${path} differs from what was written`);
  }
  const mode = v.get("mode");
  if (mode && mode !== "root:root 600") drift.push(`${ALERT_BRIDGE_ENV} is ${mode}, not root:root 600`);
  return { ...props, env: secret(env), drift };
}

async function del(_id: string, rawProps: AlertBridgeOutputs): Promise<void> {
  const props = plain<AlertBridgeOutputs>(rawProps);
  await run(props.target, SCRIPT, { args: ["delete"], what: "removing the alert bridge", kind: "converge" });
}

function dryOutputs(raw: AlertBridgeInputs): AlertBridgeOutputs {
  const i = plain<AlertBridgeInputs>(raw);
  return { ...i, env: secret(i.env), drift: [] };
}

export const alertBridgeType: ResourceType<AlertBridgeInputs, AlertBridgeOutputs> = { check, diff, create, read, update, delete: del, dryOutputs };
