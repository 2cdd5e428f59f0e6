/**
 * globenet:mail:DkimKey — one mail domain's DKIM signing key for one selector, made ON the mail
 * host by `opendkim-genkey` (docs/architecture.md, "Mail"): /etc/globenet/mail/dkim/<selector>/<domain>.private,
 * opendkim:opendkim 0600 below folders only root writes. The private half never leaves the
 * host: the remote script (provider/scripts/mail/dkim-key.sh) prints only the public half, the
 * resource's `publicKey` output, from which the zone's TXT record is written (dkimRecordValue).
 *
 * The host's key is the truth: an existing key is kept (create on a host that has one adopts
 * it), `read` reports a key missing, replaced or opened up as drift, and the update that follows
 * makes or keeps the key and publishes the host's public half again. A new selector is a
 * rotation: a new resource (replace, the new key made first), the old key archived by delete.
 * Delete never destroys: the key moves to <archive_dir>/dkim/<selector>.<domain>.<stamp>.private.
 */
import type { DiffResult } from "@pulumi/pulumi/provider";
import { dkimKeyPath, MAIL_PATHS } from "../../lib/model/mail";
import { hostnameProblem } from "../../lib/schema/names";
import { loadScript } from "../scripts/load";
import { run } from "../ssh/remote";
import type { ResourceType, Target } from "../types";
import { Failures, asTarget, sameHost, checkTarget, hasUnknown, pathProblem, plain, str, utcStamp } from "./account-shared";

export interface DkimKeyInputs {
  /** The mail host, where the key is made and stays. */
  target: Target;
  /** The inventory's mail.dkim_selector (a new one is a rotation). */
  selector: string;
  /** The mail domain the key signs for. */
  domain: string;
  /** Where delete moves the key (the inventory's archive_dir). */
  archiveDir: string;
}

export interface DkimKeyOutputs extends DkimKeyInputs {
  /** The public half, base64 (the TXT record's p=). */
  publicKey: string;
  /** What `read` found out of line (key missing, another key, owner, mode or folders changed). */
  drift: string[];
}

const SCRIPT = loadScript("mail/dkim-key.sh");
const SELECTOR = /^[a-z0-9][a-z0-9-]{0,30}$/;
const PUBLIC = /^[A-Za-z0-9+/]{200,1000}={0,2}$/;

function check(raw: Record<string, unknown>): { inputs?: DkimKeyInputs; failures?: { property: string; reason: string }[] } {
  const news = plain<Record<string, unknown>>(raw);
  if (hasUnknown(news)) return { inputs: raw as unknown as DkimKeyInputs };
  const f = new Failures();
  checkTarget(f, "target", news.target);
  if (!str(news.selector) || !SELECTOR.test(news.selector)) f.add("selector", 'must be a short name of a-z, 0-9 and -, like "g2026"');
  const d = str(news.domain) ? hostnameProblem(news.domain) : "must be a string";
  if (d) f.add("domain", d);
  else if (!String(news.domain).includes(".")) f.add("domain", "must be a domain with a dot");
  const a = pathProblem(news.archiveDir, "archiveDir");
  if (a) f.add("archiveDir", a);
  if (!f.ok) return { failures: f.list };
  return { inputs: { target: asTarget(news.target), selector: news.selector as string, domain: news.domain as string, archiveDir: news.archiveDir as string } };
}

function diff(_id: string, rawOlds: DkimKeyOutputs, rawNews: DkimKeyInputs): DiffResult & { diffs: string[] } {
  const olds = plain<DkimKeyOutputs>(rawOlds);
  const news = plain<DkimKeyInputs>(rawNews);
  const diffs: string[] = [];
  if (JSON.stringify(olds.target) !== JSON.stringify(news.target)) diffs.push("target");
  for (const k of ["selector", "domain", "archiveDir"] as const) if (olds[k] !== news[k]) diffs.push(k);
  if ((olds.drift ?? []).length > 0) diffs.push("drift");
  // Another selector, domain or host is another key: made first, the old one archived after.
  const replaces: string[] = diffs.filter((k) => k === "selector" || k === "domain");
  if (!sameHost(olds.target, news.target)) replaces.push("target");
  return { changes: diffs.length > 0, replaces, diffs, deleteBeforeReplace: false };
}

async function ensure(i: DkimKeyInputs): Promise<string> {
  const r = await run(i.target, SCRIPT, { args: ["ensure", i.selector, i.domain], what: `making the DKIM key ${i.selector} of ${i.domain}`, kind: "converge" });
  const m = /^(made|kept) (\S+)$/m.exec(r.stdout);
  if (!m || !PUBLIC.test(m[2] as string)) throw new Error(`the DKIM key ${i.selector} of ${i.domain} on ${i.target.name}: the host did not print a public key`);
  return m[2] as string;
}

async function create(raw: DkimKeyInputs): Promise<{ id: string; outs: DkimKeyOutputs }> {
  const i = plain<DkimKeyInputs>(raw);
  const publicKey = await ensure(i);
  return { id: `${i.target.name}:dkim:${i.selector}:${i.domain}`, outs: { ...i, publicKey, drift: [] } };
}

async function update(_id: string, _olds: DkimKeyOutputs, rawNews: DkimKeyInputs): Promise<DkimKeyOutputs> {
  const news = plain<DkimKeyInputs>(rawNews);
  // The host's key as it is now (made again if it went): the zone follows its public half.
  const publicKey = await ensure(news);
  return { ...news, publicKey, drift: [] };
}

/** What read's line says is out of line, given the public half the state published. */
export function dkimDrift(line: string, file: string, published: string): string[] {
  const [state, owner, mode, dirs, pub] = line.trim().split(" ");
  if (state !== "present") return [`${file} is missing (the next apply makes a new key and publishes it)`];
  if (owner === "not-a-file") return [`${file} is not a regular file (remove it; the next apply makes a new key)`];
  const drift: string[] = [];
  if (pub !== published) drift.push(`${file} holds another key than the one published (the next apply publishes the host's)`);
  if (`${owner} ${mode}` !== "opendkim:opendkim 600") drift.push(`${file} is ${owner} ${mode}, not opendkim:opendkim 600`);
  if (dirs !== "dirs-ok") drift.push(`a folder above ${file} is not root's alone (others may write it; OpenDKIM refuses such a key)`);
  return drift;
}

async function read(_id: string, rawProps: DkimKeyOutputs): Promise<DkimKeyOutputs | undefined> {
  const props = plain<DkimKeyOutputs>(rawProps);
  const r = await run(props.target, SCRIPT, { args: ["read", props.selector, props.domain], what: `reading the DKIM key ${props.selector} of ${props.domain}`, kind: "read" });
  const file = dkimKeyPath(MAIL_PATHS, props.selector, props.domain);
  return { ...props, drift: dkimDrift(r.stdout, file, props.publicKey) };
}

async function del(_id: string, rawProps: DkimKeyOutputs): Promise<void> {
  const p = plain<DkimKeyOutputs>(rawProps);
  await run(p.target, SCRIPT, { args: ["archive", p.selector, p.domain, p.archiveDir, utcStamp()], what: `archiving the DKIM key ${p.selector} of ${p.domain}`, kind: "converge" });
}

/** Dry mode (the bench): a fixed public key of the right shape, no host. */
function dryOutputs(raw: DkimKeyInputs, olds?: DkimKeyOutputs): DkimKeyOutputs {
  const i = plain<DkimKeyInputs>(raw);
  return { ...i, publicKey: olds ? plain<DkimKeyOutputs>(olds).publicKey : `MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA${"A".repeat(340)}IDAQAB`, drift: [] };
}

export const dkimKeyType: ResourceType<DkimKeyInputs, DkimKeyOutputs> = { check, diff, create, read, update, delete: del, dryOutputs };
