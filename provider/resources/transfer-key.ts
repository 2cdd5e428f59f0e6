/**
 * globenet:dns:TransferKey — the TSIG key (hmac-sha256) that signs zone transfers and NOTIFY
 * between the primary name server and the secondaries (docs/architecture.md, "Secondary name
 * servers and TSIG"), on one name server: /etc/bind/globenet-transfer.key, root:bind 0640,
 * included by named.conf.globenet.
 *
 * The primary's resource makes the key at create (node:crypto, 256 bits) and returns it as a
 * secret output, so the state keeps it encrypted; each secondary's resource takes that output
 * as its `secret` input and writes the same key. The key travels on stdin only
 * (provider/scripts/dns/transfer-key.sh), never argv, and is never printed. Rotation: raise
 * `rotation` (the inventory's dns_transfers.key_rotation): the primary's update makes a new
 * key, the secondaries' inputs follow in the same apply.
 */
import { createHash, randomBytes } from "node:crypto";
import type { DiffResult } from "@pulumi/pulumi/provider";
import { paths } from "../../lib/model/paths";
import { loadScript } from "../scripts/load";
import { run } from "../ssh/remote";
import type { ResourceType, Target } from "../types";
import { Failures, asTarget, checkTarget, hasUnknown, plain, secret, str, type SecretValue } from "./account-shared";

export interface TransferKeyInputs {
  /** The name server that keeps this copy of the key. */
  target: Target;
  /** Raised to make a new key (the primary's copy makes it; the others follow `secret`). */
  rotation: number;
  /** The key to write (base64, 32 bytes): the primary's `secret` output, on a secondary; absent on the primary, which makes it. */
  secret?: string;
}

export interface TransferKeyOutputs {
  target: Target;
  rotation: number;
  secret: SecretValue<string>;
  /** What `read` found out of line (file missing, another key, owner or mode changed). */
  drift: string[];
}

const SCRIPT = loadScript("dns/transfer-key.sh");

/** 32 random bytes, base64: what tsig-keygen makes for hmac-sha256. */
export function newTransferSecret(): string {
  return randomBytes(32).toString("base64");
}

const SECRET = /^[A-Za-z0-9+/]{43}=$/;

/** The key file's text (the remote script checks this shape line by line). */
export function transferKeyText(secretValue: string): string {
  return `key "${paths.transferKeyName}" {\n\talgorithm hmac-sha256;\n\tsecret "${secretValue}";\n};\n`;
}

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

function secretOf(o: { secret?: unknown } | undefined): string | undefined {
  const s = plain<unknown>(o?.secret);
  return str(s) && SECRET.test(s) ? s : undefined;
}

function check(raw: Record<string, unknown>): { inputs?: TransferKeyInputs; failures?: { property: string; reason: string }[] } {
  const news = plain<Record<string, unknown>>(raw);
  if (hasUnknown(news)) return { inputs: raw as unknown as TransferKeyInputs };
  const f = new Failures();
  checkTarget(f, "target", news.target);
  const r = news.rotation;
  if (typeof r !== "number" || !Number.isInteger(r) || r < 0 || r > 1_000_000) f.add("rotation", "must be a whole number from 0 to 1000000");
  // Never the value in the message: it is the key.
  if (news.secret !== undefined && news.secret !== null && !(str(news.secret) && SECRET.test(news.secret))) f.add("secret", "must be a key as this provider makes them (32 bytes, base64)");
  if (!f.ok) return { failures: f.list };
  // Wrapped as a secret whatever the caller sent: the engine keeps it encrypted in the state.
  const inputs = { target: asTarget(news.target), rotation: r as number, ...(news.secret ? { secret: secret(news.secret as string) } : {}) } as unknown as TransferKeyInputs;
  return { inputs };
}

function diff(_id: string, rawOlds: TransferKeyOutputs, rawNews: TransferKeyInputs): DiffResult & { diffs: string[] } {
  const olds = plain<TransferKeyOutputs>(rawOlds);
  const news = plain<TransferKeyInputs>(rawNews);
  const diffs: string[] = [];
  if (JSON.stringify(olds.target) !== JSON.stringify(news.target)) diffs.push("target");
  if (olds.rotation !== news.rotation) diffs.push("rotation");
  if (news.secret !== undefined && news.secret !== secretOf(olds)) diffs.push("secret");
  if ((olds.drift ?? []).length > 0) diffs.push("drift");
  // Another host is another copy: the old host's copy goes (delete), the new one is written.
  const replaces = olds.target?.name !== news.target?.name ? ["target"] : [];
  return { changes: diffs.length > 0, replaces, diffs, deleteBeforeReplace: false };
}

async function write(i: TransferKeyInputs, key: string): Promise<void> {
  await run(i.target, SCRIPT, { args: ["write"], stdin: transferKeyText(key), what: "writing the zone transfer key", kind: "converge" }, [key]);
}

async function create(raw: TransferKeyInputs): Promise<{ id: string; outs: TransferKeyOutputs }> {
  const i = plain<TransferKeyInputs>(raw);
  const key = i.secret ?? newTransferSecret();
  await write(i, key);
  return { id: `${i.target.name}:transfer-key`, outs: { target: i.target, rotation: i.rotation, secret: secret(key), drift: [] } };
}

async function update(_id: string, rawOlds: TransferKeyOutputs, rawNews: TransferKeyInputs): Promise<TransferKeyOutputs> {
  const olds = plain<TransferKeyOutputs>(rawOlds);
  const news = plain<TransferKeyInputs>(rawNews);
  // The key given (a secondary), else the primary's own: kept unless the rotation moved.
  const key = news.secret ?? (olds.rotation === news.rotation ? secretOf(olds) : undefined) ?? newTransferSecret();
  await write(news, key);
  return { target: news.target, rotation: news.rotation, secret: secret(key), drift: [] };
}

async function read(_id: string, rawProps: TransferKeyOutputs): Promise<TransferKeyOutputs | undefined> {
  const props = plain<TransferKeyOutputs>(rawProps);
  const r = await run(props.target, SCRIPT, { args: ["read"], what: "reading the zone transfer key", kind: "read" });
  const [state, hash, owner, mode] = r.stdout.trim().split(" ");
  const key = secretOf(props);
  const drift: string[] = [];
  const file = paths.transferKeyFile;
  if (state !== "present") drift.push(`${file} is missing (the next apply writes it from the stack's secret)`);
  else {
    if (!key || hash !== sha256(transferKeyText(key))) drift.push(`${file} holds another key than the stack's (the next apply writes the stack's back)`);
    if (`${owner} ${mode}` !== "root:bind 640") drift.push(`${file} is ${owner} ${mode}, not root:bind 640`);
  }
  return { ...props, secret: secret(key ?? ""), drift };
}

async function del(_id: string, rawProps: TransferKeyOutputs): Promise<void> {
  const props = plain<TransferKeyOutputs>(rawProps);
  const key = secretOf(props);
  if (!key) return;
  // The hash says which key to remove: a newer one written since (a rotation) stays.
  await run(props.target, SCRIPT, { args: ["delete", sha256(transferKeyText(key))], what: "removing the zone transfer key", kind: "converge" });
}

/** Dry mode: the key is made as create and update make it (it needs no host), so the state has the real shape. */
function dryOutputs(raw: TransferKeyInputs, olds?: TransferKeyOutputs): TransferKeyOutputs {
  const i = plain<TransferKeyInputs>(raw);
  const o = olds ? plain<TransferKeyOutputs>(olds) : undefined;
  const key = i.secret ?? (o && o.rotation === i.rotation ? secretOf(o) : undefined) ?? newTransferSecret();
  return { target: i.target, rotation: i.rotation, secret: secret(key), drift: [] };
}

export const transferKeyType: ResourceType<TransferKeyInputs, TransferKeyOutputs> = { check, diff, create, read, update, delete: del, dryOutputs };
