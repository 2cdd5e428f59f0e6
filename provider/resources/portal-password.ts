/**
 * globenet:hosting:PortalPassword — a member's password for the member portal
 * (docs/architecture.md, "Member portal"), generated here at create (lib/portal/credentials.ts:
 * 20 characters, 100 bits, node:crypto) and delivered as the database passwords are: a file in
 * the member's home on their web host, `~/.portal-password`, the member's, 0600, written with
 * the member's rights only (provider/scripts/portal/password.sh, like database/cnf-write.sh).
 * Outputs: the password and its scrypt hash, both secret (the state keeps them encrypted); the
 * hash goes to the portal's credentials file (globenet:web:Portal), the password nowhere else.
 * A new `rotation` value makes a new password (and hash) at the next update.
 */
import { createHash } from "node:crypto";
import type { DiffResult } from "@pulumi/pulumi/provider";
import { generatePassword, hashPassword } from "../../lib/base/scrypt";
import { PORTAL_PASSWORD_FILE } from "../../lib/render/portal";
import { loadScript } from "../scripts/load";
import { run } from "../ssh/remote";
import type { ResourceType, Target } from "../types";
import { Failures, asTarget, checkTarget, handleProblem, hasUnknown, homeProblem, plain, rotationProblem, secret, str, type SecretValue } from "./account-shared";

export interface PortalPasswordInputs {
  /** The member's web host (where their home is). */
  target: Target;
  handle: string;
  home: string;
  /** The portal's address, written in the file beside the password. */
  url: string;
  /** A new value: a new password at the next update (like rotate_password of a database). */
  rotation?: string;
}

export interface PortalPasswordOutputs extends PortalPasswordInputs {
  password: SecretValue<string>;
  hash: SecretValue<string>;
  drift: string[];
}

const SCRIPT = loadScript("account/prelude.sh", "portal/password.sh");
const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");
const PASSWORD = /^[A-Za-z0-9]{20}$/;

/** The file the member reads: what it is, the address, the login, then the password on a line of its own. */
export function passwordFileText(i: Pick<PortalPasswordInputs, "handle" | "url">, password: string): string {
  if (!PASSWORD.test(password)) throw new Error(`portal password of ${i.handle}: not one this provider makes (refusing to write it)`);
  return `# Espace adhérent / member portal: ${i.url}\n# Identifiant / login: ${i.handle}\n# Mot de passe / password (ligne suivante / next line):\n${password}\n`;
}

function check(raw: Record<string, unknown>): { inputs?: PortalPasswordInputs; failures?: { property: string; reason: string }[] } {
  const news = plain<Record<string, unknown>>(raw);
  if (hasUnknown(news)) return { inputs: news as unknown as PortalPasswordInputs };
  const f = new Failures();
  checkTarget(f, "target", news.target);
  const hp = handleProblem(news.handle);
  if (hp) f.add("handle", hp);
  const home = homeProblem(news.home, news.handle);
  if (home) f.add("home", home);
  if (!str(news.url) || !/^https:\/\/[a-z0-9.-]+\/$/.test(news.url)) f.add("url", "must be the portal's https address, like https://espace.globenet.example/");
  const rp = rotationProblem(news.rotation);
  if (rp) f.add("rotation", rp);
  if (!f.ok) return { failures: f.list };
  return { inputs: { target: asTarget(news.target), handle: news.handle as string, home: news.home as string, url: news.url as string, ...(news.rotation ? { rotation: news.rotation as string } : {}) } };
}

function diff(_id: string, rawOlds: PortalPasswordOutputs, rawNews: PortalPasswordInputs): DiffResult & { diffs: string[] } {
  const olds = plain<Record<string, unknown>>(rawOlds);
  const news = plain<Record<string, unknown>>(rawNews);
  const diffs = ["target", "handle", "home", "url", "rotation"].filter((k) => JSON.stringify(olds[k] ?? null) !== JSON.stringify(news[k] ?? null));
  if (((olds.drift as string[] | undefined) ?? []).length > 0) diffs.push("drift");
  // Another host or member: a new password in the new home (the old file is removed first).
  const replaces = diffs.filter((k) => k === "target" || k === "handle");
  return { changes: diffs.length > 0, replaces, diffs, deleteBeforeReplace: replaces.length > 0 };
}

async function deliver(i: PortalPasswordInputs, password: string): Promise<void> {
  await run(i.target, SCRIPT, { args: ["write", i.handle, i.home], stdin: passwordFileText(i, password), what: `writing ~${i.handle}/${PORTAL_PASSWORD_FILE}`, kind: "converge" }, [password]);
}

async function create(raw: PortalPasswordInputs): Promise<{ id: string; outs: PortalPasswordOutputs }> {
  const i = plain<PortalPasswordInputs>(raw);
  const password = generatePassword();
  const hash = await hashPassword(password);
  await deliver(i, password);
  return { id: i.handle, outs: { ...i, password: secret(password), hash: secret(hash), drift: [] } };
}

async function update(_id: string, rawOlds: PortalPasswordOutputs, raw: PortalPasswordInputs): Promise<PortalPasswordOutputs> {
  const olds = plain<PortalPasswordOutputs & { password?: unknown; hash?: unknown }>(rawOlds);
  const i = plain<PortalPasswordInputs>(raw);
  const kept = typeof olds.password === "string" && PASSWORD.test(olds.password) && typeof olds.hash === "string" && (olds.rotation ?? "") === (i.rotation ?? "");
  const password = kept ? (olds.password as unknown as string) : generatePassword();
  const hash = kept ? (olds.hash as unknown as string) : await hashPassword(password);
  if (!kept) console.error(`globenet: ${i.target.name}: new portal password for ${i.handle}; the member finds it in ~${i.handle}/${PORTAL_PASSWORD_FILE}`);
  await deliver(i, password);
  return { ...i, password: secret(password), hash: secret(hash), drift: [] };
}

async function read(_id: string, rawProps: PortalPasswordOutputs): Promise<PortalPasswordOutputs | undefined> {
  const props = plain<PortalPasswordOutputs & { password?: unknown; hash?: unknown }>(rawProps);
  const r = await run(props.target, SCRIPT, { args: ["read", props.handle, props.home], what: `reading ~${props.handle}/${PORTAL_PASSWORD_FILE}`, kind: "read" });
  const sha = /^sha=(.*)$/m.exec(r.stdout)?.[1];
  const mode = /^mode=(.*)$/m.exec(r.stdout)?.[1];
  const password = String(props.password ?? "");
  const drift: string[] = [];
  if (sha === "absent") drift.push(`~${props.handle}/${PORTAL_PASSWORD_FILE} is missing`);
  else if (!PASSWORD.test(password) || sha !== sha256(passwordFileText(props, password))) drift.push(`~${props.handle}/${PORTAL_PASSWORD_FILE} differs from what was written`);
  if (mode && mode !== "600") drift.push(`~${props.handle}/${PORTAL_PASSWORD_FILE} has mode ${mode}, not 600`);
  return { ...props, password: secret(password), hash: secret(String(props.hash ?? "")), drift };
}

async function del(_id: string, rawProps: PortalPasswordOutputs): Promise<void> {
  const props = plain<PortalPasswordOutputs>(rawProps);
  await run(props.target, SCRIPT, { args: ["delete", props.handle, props.home], what: `removing ~${props.handle}/${PORTAL_PASSWORD_FILE}`, kind: "converge" });
}

function dryOutputs(raw: PortalPasswordInputs): PortalPasswordOutputs {
  const i = plain<PortalPasswordInputs>(raw);
  return { ...i, password: secret(""), hash: secret(""), drift: [] };
}

export const portalPasswordType: ResourceType<PortalPasswordInputs, PortalPasswordOutputs> = { check, diff, create, read, update, delete: del, dryOutputs };
