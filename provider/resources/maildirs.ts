/**
 * globenet:mail:Maildirs — the stored mail of one member's mail domain on the mail host
 * (docs/architecture.md, "Mail", "Departures"): the folder <vmail>/<domain>, holding each
 * mailbox's maildir (<local>/Maildir, made by Dovecot at the first delivery, owned by the fixed
 * vmail uid). The mail file set says which addresses exist; this resource is what holds their
 * mail, so that its removal (the member departed, or the domain taken out of its file) is a
 * deletion the guard asks for (`Allow-Destroy: members/<handle>`, as for a home) and archives
 * first: delete makes <archive_dir>/mail/<handle>--<domain>-<stamp>.tar.gz, checks it holds every
 * file that was there, and only then removes the folder.
 *
 * Create, update and read touch nothing on the host: the folder is Dovecot's to make, and what
 * is in it changes with every message, which is not drift (a refresh would report mail as a
 * change). `npm run status -- usage` and `-- mail` show its size. A domain moved to another mail host
 * or vmail folder is a replacement: the old folder is archived and removed after the new
 * resource exists (the mail itself does not move; a volunteer restores it from the archive).
 */
import type { DiffResult } from "@pulumi/pulumi/provider";
import { hostnameProblem } from "../../lib/schema/names";
import { loadScript } from "../scripts/load";
import { run } from "../ssh/remote";
import type { ResourceType, Target } from "../types";
import { Failures, asTarget, checkTarget, handleProblem, hasUnknown, pathProblem, plain, str, utcStamp } from "./account-shared";

export interface MaildirsInputs {
  /** The mail host. */
  target: Target;
  /** The member whose domain it is (its archive is named after it: purge-departure finds it). */
  handle: string;
  domain: string;
  /** The mailboxes' root (MAIL_PATHS.vmailDir; tests use a folder of their own). */
  vmailDir: string;
  /** Where delete archives the folder (the inventory's archive_dir). */
  archiveDir: string;
}

export type MaildirsOutputs = MaildirsInputs;

const SCRIPT = loadScript("account/prelude.sh", "mail/maildirs.sh");

function check(raw: Record<string, unknown>): { inputs?: MaildirsInputs; failures?: { property: string; reason: string }[] } {
  const news = plain<Record<string, unknown>>(raw);
  if (hasUnknown(news)) return { inputs: raw as unknown as MaildirsInputs };
  const f = new Failures();
  checkTarget(f, "target", news.target);
  const h = handleProblem(news.handle);
  if (h) f.add("handle", h);
  const d = str(news.domain) ? hostnameProblem(news.domain) : "must be a string";
  if (d) f.add("domain", d);
  else if (!String(news.domain).includes(".")) f.add("domain", "must be a domain with a dot");
  for (const k of ["vmailDir", "archiveDir"] as const) {
    const p = pathProblem(news[k], k);
    if (p) f.add(k, p);
  }
  if (!f.ok) return { failures: f.list };
  return { inputs: { target: asTarget(news.target), handle: news.handle as string, domain: news.domain as string, vmailDir: news.vmailDir as string, archiveDir: news.archiveDir as string } };
}

function diff(_id: string, rawOlds: MaildirsOutputs, rawNews: MaildirsInputs): DiffResult & { diffs: string[] } {
  const olds = plain<MaildirsOutputs>(rawOlds);
  const news = plain<MaildirsInputs>(rawNews);
  const diffs: string[] = [];
  if (JSON.stringify(olds.target) !== JSON.stringify(news.target)) diffs.push("target");
  for (const k of ["handle", "domain", "vmailDir", "archiveDir"] as const) if (olds[k] !== news[k]) diffs.push(k);
  // Another domain, folder or host is other mail: the old folder is archived (delete) after.
  const replaces: string[] = diffs.filter((k) => k === "domain" || k === "vmailDir");
  if (olds.target?.name !== news.target?.name) replaces.push("target");
  return { changes: diffs.length > 0, replaces, diffs, deleteBeforeReplace: false };
}

async function create(raw: MaildirsInputs): Promise<{ id: string; outs: MaildirsOutputs }> {
  const i = plain<MaildirsInputs>(raw);
  // Nothing to make: Dovecot makes each maildir at its first delivery. An existing folder (a host adopted) is kept.
  return { id: `${i.target.name}:maildirs:${i.domain}`, outs: i };
}

async function update(_id: string, _olds: MaildirsOutputs, rawNews: MaildirsInputs): Promise<MaildirsOutputs> {
  const news = plain<MaildirsInputs>(rawNews);
  return news;
}

async function read(_id: string, rawProps: MaildirsOutputs): Promise<MaildirsOutputs | undefined> {
  return plain<MaildirsOutputs>(rawProps);
}

async function del(_id: string, rawProps: MaildirsOutputs): Promise<void> {
  const p = plain<MaildirsOutputs>(rawProps);
  await run(p.target, SCRIPT, { args: ["archive", p.vmailDir, p.domain, p.handle, p.archiveDir, utcStamp()], what: `archiving the maildirs of ${p.domain} (member ${p.handle})`, kind: "converge" });
}

/** Dry mode (the bench): the inputs, no host. */
function dryOutputs(raw: MaildirsInputs): MaildirsOutputs {
  return plain<MaildirsInputs>(raw);
}

export const maildirsType: ResourceType<MaildirsInputs, MaildirsOutputs> = { check, diff, create, read, update, delete: del, dryOutputs };
