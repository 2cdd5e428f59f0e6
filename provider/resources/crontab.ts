/**
 * globenet:hosting:Crontab — the jobs a member file asks for (cron:), kept as one block at the
 * end of the member's crontab on its web host, between `# BEGIN globenet` and `# END globenet`
 * (lib/render/crontab.ts). The member's own jobs, above the block, are never touched: a member
 * with a shell keeps using `crontab -e`. crontab(1) installs the result as root for the member
 * (`crontab -u`), so cron's own syntax check has the last word and the spool stays cron's.
 *
 * While the member is suspended the Account has set its whole crontab aside: this resource then
 * changes nothing on the host and keeps the wanted block in the state; the update that comes
 * with reactivation (after the Account's, which brings the crontab back) writes it.
 */
import type { DiffResult } from "@pulumi/pulumi/provider";
import { loadScript } from "../scripts/load";
import { run } from "../ssh/remote";
import type { ResourceType, Target } from "../types";
import { Failures, asTarget, sameHost, checkTarget, handleProblem, hasUnknown, parseLines, plain, str } from "./account-shared";

export interface CrontabInputs {
  target: Target;
  handle: string;
  /** The rendered block (lib/render/crontab.ts); "" when the member has no job. */
  block: string;
  /** false while the member is suspended: nothing is written until it is active again. */
  active: boolean;
}

export type CrontabOutputs = CrontabInputs;

const SCRIPT = loadScript("account/prelude.sh", "crontab/crontab.sh");

const BEGIN = "# BEGIN globenet";
const END = "# END globenet";

/** Why a block cannot be the one this resource keeps, or undefined. */
export function blockProblem(block: string): string | undefined {
  if (block === "") return undefined;
  const lines = block.replace(/\n$/, "").split("\n");
  if (!lines[0]?.startsWith(BEGIN) || lines[lines.length - 1] !== END) return `must start with "${BEGIN}" and end with "${END}" (render it with lib/render/crontab.ts)`;
  if (lines.slice(1, -1).some((l) => l.startsWith(BEGIN) || l === END)) return "must hold one block only";
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0009\u000b-\u001f\u007f]/.test(block)) return "must not contain control characters";
  if (block.length > 100_000) return "is too long";
  return undefined;
}

function check(raw: Record<string, unknown>): { inputs?: CrontabInputs; failures?: { property: string; reason: string }[] } {
  const news = plain<Record<string, unknown>>(raw);
  if (hasUnknown(news)) return { inputs: news as unknown as CrontabInputs };
  const f = new Failures();
  checkTarget(f, "target", news.target);
  const hp = handleProblem(news.handle);
  if (hp) f.add("handle", hp);
  if (!str(news.block) && news.block !== "") f.add("block", "must be the rendered block, as text");
  else {
    const bp = blockProblem(news.block as string);
    if (bp) f.add("block", bp);
  }
  if (typeof news.active !== "boolean") f.add("active", "must be true or false");
  if (!f.ok) return { failures: f.list };
  return { inputs: { target: asTarget(news.target), handle: news.handle as string, block: news.block as string, active: news.active as boolean } };
}

function diff(_id: string, rawOlds: CrontabOutputs, rawNews: CrontabInputs): DiffResult & { diffs: string[] } {
  const olds = plain<CrontabOutputs>(rawOlds);
  const news = plain<CrontabInputs>(rawNews);
  const diffs = (["target", "handle", "block", "active"] as const).filter((k) => JSON.stringify(olds[k]) !== JSON.stringify(news[k]));
  const replaces = diffs.filter((k) => k === "handle" || (k === "target" && !sameHost(olds.target, news.target)));
  return { changes: diffs.length > 0, replaces, diffs, deleteBeforeReplace: replaces.length > 0 };
}

async function apply(i: CrontabInputs): Promise<CrontabOutputs> {
  if (!i.active) return i;
  await run(i.target, SCRIPT, { args: ["apply", i.handle], stdin: i.block, what: `writing the crontab jobs of ${i.handle}`, kind: "converge" });
  return i;
}

async function create(raw: CrontabInputs): Promise<{ id: string; outs: CrontabOutputs }> {
  const i = plain<CrontabInputs>(raw);
  return { id: i.handle, outs: await apply(i) };
}

async function update(_id: string, _olds: CrontabOutputs, raw: CrontabInputs): Promise<CrontabOutputs> {
  return apply(plain<CrontabInputs>(raw));
}

/** The live block, so a hand edit between BEGIN and END shows as drift and the next apply puts git's back. */
async function read(_id: string, raw: CrontabOutputs): Promise<CrontabOutputs | undefined> {
  const props = plain<CrontabOutputs>(raw);
  if (!props.active) return props;
  const r = await run(props.target, SCRIPT, { args: ["read", props.handle], what: `reading the crontab of ${props.handle}`, kind: "read" });
  const v = parseLines(r.stdout);
  if (v.get("account")?.[0] === "absent") return undefined;
  const live = Buffer.from(v.get("block64")?.[0] ?? "", "base64").toString("utf8");
  return { ...props, block: live };
}

async function del(_id: string, raw: CrontabOutputs): Promise<void> {
  const props = plain<CrontabOutputs>(raw);
  if (!props.active) return;
  await run(props.target, SCRIPT, { args: ["remove", props.handle], what: `removing the crontab jobs of ${props.handle}`, kind: "converge" });
}

export const crontabType: ResourceType<CrontabInputs, CrontabOutputs> = { check, diff, create, read, update, delete: del };

export const crontabScripts = { SCRIPT };
