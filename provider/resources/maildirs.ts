/**
 * globenet:mail:Maildirs — the stored mail of one member's mail domain on the mail host
 * (docs/architecture.md, "Mail", "Departures"): the folder <vmail>/<domain>, holding each
 * mailbox's maildir (<local>/Maildir, made by Dovecot at the first delivery, owned by the fixed
 * vmail uid). The mail file set says which addresses exist; this resource is what holds their
 * mail, so that its removal (the member departed, or the domain taken out of its file) is a
 * deletion the guard asks for (`Allow-Destroy: members/<handle>`, as for a home) and archives
 * first: delete makes <archive_dir>/mail/<handle>--<domain>-<stamp>.tar.gz, checks it holds every
 * file that was there, and only then removes the folder. A mailbox taken out of a domain that
 * stays is the same on a smaller scale, in update: its folder <vmail>/<domain>/<local> goes to
 * <archive_dir>/mail/<handle>--<domain>--<local>-<stamp>.tar.gz (same layout inside, so the same
 * `tar -x <domain>/<local>` restores either), verified, then removed, so that the address made
 * again later starts empty (not with the previous holder's mail); the guard asks for it
 * (`Allow-Destroy: members/<handle>/mail/<domain>/<local>`, lib/guard/mailbox-removal.ts).
 *
 * Create, read and an update that removes no mailbox touch nothing on the host: the folder is Dovecot's to make, and what
 * is in it changes with every message, which is not drift (a refresh would report mail as a
 * change). `npm run status -- usage` and `-- mail` show its size. A domain moved to another mail host
 * or vmail folder is a replacement: the old folder is archived and removed after the new
 * resource exists (the mail itself does not move; a volunteer restores it from the archive).
 */
import type { DiffResult } from "@pulumi/pulumi/provider";
import { removedMailboxes } from "../../lib/model/mail";
import { localPartProblem } from "../../lib/schema/mail";
import { hostnameProblem } from "../../lib/schema/names";
import { loadScript } from "../scripts/load";
import { run } from "../ssh/remote";
import type { ResourceType, Target } from "../types";
import { Failures, asTarget, sameHost, checkTarget, handleProblem, hasUnknown, pathProblem, plain, str, utcStamp } from "./account-shared";

export interface MaildirsInputs {
  /** The mail host. */
  target: Target;
  /** The member whose domain it is (its archive is named after it: purge-departure finds it). */
  handle: string;
  domain: string;
  /**
   * The domain's mailboxes (local parts, sorted): one that leaves the list has its maildir
   * archived, then removed (update). Absent in a state written before the resource knew them:
   * then nothing is removed until a list has been stored.
   */
  mailboxes?: string[];
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
  const boxes = news.mailboxes;
  if (boxes !== undefined) {
    // Each becomes a path under the domain's folder and an argument of the script: the schema's own rule.
    const bad = Array.isArray(boxes) ? boxes.find((l) => typeof l !== "string" || localPartProblem(l)) : undefined;
    if (!Array.isArray(boxes)) f.add("mailboxes", "must be a list of local parts");
    else if (bad !== undefined) f.add("mailboxes", `${JSON.stringify(bad)} is not a local part (${typeof bad === "string" ? localPartProblem(bad) : "not a string"})`);
    else if (new Set(boxes).size !== boxes.length) f.add("mailboxes", "must not name a mailbox twice");
  }
  if (!f.ok) return { failures: f.list };
  const mailboxes = Array.isArray(boxes) ? { mailboxes: [...(boxes as string[])].sort() } : {};
  return { inputs: { target: asTarget(news.target), handle: news.handle as string, domain: news.domain as string, ...mailboxes, vmailDir: news.vmailDir as string, archiveDir: news.archiveDir as string } };
}

function diff(_id: string, rawOlds: MaildirsOutputs, rawNews: MaildirsInputs): DiffResult & { diffs: string[] } {
  const olds = plain<MaildirsOutputs>(rawOlds);
  const news = plain<MaildirsInputs>(rawNews);
  const diffs: string[] = [];
  if (JSON.stringify(olds.target) !== JSON.stringify(news.target)) diffs.push("target");
  for (const k of ["handle", "domain", "vmailDir", "archiveDir"] as const) if (olds[k] !== news[k]) diffs.push(k);
  // A mailbox added or removed is an update (a removed one is archived there), never a replacement.
  if (JSON.stringify(olds.mailboxes) !== JSON.stringify(news.mailboxes)) diffs.push("mailboxes");
  // Another domain, folder or host is other mail: the old folder is archived (delete) after.
  const replaces: string[] = diffs.filter((k) => k === "domain" || k === "vmailDir");
  if (!sameHost(olds.target, news.target)) replaces.push("target");
  return { changes: diffs.length > 0, replaces, diffs, deleteBeforeReplace: false };
}

async function create(raw: MaildirsInputs): Promise<{ id: string; outs: MaildirsOutputs }> {
  const i = plain<MaildirsInputs>(raw);
  // Nothing to make: Dovecot makes each maildir at its first delivery. An existing folder (a host adopted) is kept.
  return { id: `${i.target.name}:maildirs:${i.domain}`, outs: i };
}

async function update(_id: string, rawOlds: MaildirsOutputs, rawNews: MaildirsInputs): Promise<MaildirsOutputs> {
  const olds = plain<MaildirsOutputs>(rawOlds);
  const news = plain<MaildirsInputs>(rawNews);
  // A mailbox gone from the list: its address left Postfix's maps and Dovecot's users before this
  // (the mail file set comes first), so its maildir is archived (under the member whose it was), then removed.
  const gone = removedMailboxes(olds.mailboxes, news.mailboxes);
  if (gone.length > 0) {
    await run(news.target, SCRIPT, { args: ["archive-mailboxes", news.vmailDir, news.domain, olds.handle, news.archiveDir, utcStamp(), ...gone], what: `archiving the maildir of ${gone.map((l) => `${l}@${news.domain}`).join(", ")} (member ${olds.handle})`, kind: "archive" });
  }
  return news;
}

async function read(_id: string, rawProps: MaildirsOutputs): Promise<MaildirsOutputs | undefined> {
  return plain<MaildirsOutputs>(rawProps);
}

async function del(_id: string, rawProps: MaildirsOutputs): Promise<void> {
  const p = plain<MaildirsOutputs>(rawProps);
  await run(p.target, SCRIPT, { args: ["archive", p.vmailDir, p.domain, p.handle, p.archiveDir, utcStamp()], what: `archiving the maildirs of ${p.domain} (member ${p.handle})`, kind: "archive" });
}

/** Dry mode (the bench): the inputs, no host. */
function dryOutputs(raw: MaildirsInputs): MaildirsOutputs {
  return plain<MaildirsInputs>(raw);
}

export const maildirsType: ResourceType<MaildirsInputs, MaildirsOutputs> = { check, diff, create, read, update, delete: del, dryOutputs };
