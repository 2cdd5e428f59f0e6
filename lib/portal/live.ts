import type { Model } from "../model/types";
import { backupPlan } from "../model/backup";
import { readCerts, type CertStatus } from "../status/certs";
import { readUsage, type UsageRow } from "../status/usage";
import { readMail, type MailStatus } from "../status/mail";
import { readBackups, type BackupRow } from "../status/backups";
import { readVps, type VpsState } from "../status/vps";
import { PORTAL_STATE } from "../render/portal";
import { loadScript } from "../../provider/scripts/load";
import { run } from "../../provider/ssh/remote";
import { targetOf, type Target } from "../../components/target";
import { memberBackups, memberPlan } from "./backups";
import { modelOf, type MemberLive } from "./view";
import { LIVE_FILE, LIVE_MAX_BYTES, type LiveSnapshot } from "./live-file";

export { LIVE_FILE, LIVE_MAX_AGE_MS, LIVE_MAX_BYTES, liveOfSnapshot, parseSnapshot, snapshotReader, type LiveSnapshot } from "./live-file";

/**
 * The portal's live figures (docs/architecture.md, "Member portal"): each member's
 * certificates, home and database use, mailboxes, last backups and VPS states, read by the status
 * views' own code (readCerts, readUsage, readMail, readBackups, readVps) on the model of those
 * members only.
 *
 * One function reads them for one member (the lab's portal, `npm run portal -- --live`, at each
 * dashboard) or for every active member of a stack at once (the snapshot: `npm run portal --
 * --snapshot`, run by the protected runner's `portal-live` schedule). The snapshot is one JSON
 * document delivered to the portal's host, `<state>/live.json` (root's, group the portal's user,
 * 0640), so the deployed portal shows figures without holding any key to the hosts; it reads
 * the file at each dashboard and shows only the logged-in member's entry, with the time it was
 * read, or says the figures are too old or missing instead of showing them as current.
 */

/** Writes stdin to the portal's state folder as live.json: root's, the portal user's group, 0640, atomically. */
const WRITE_LIVE = loadScript("portal/live.sh");

/** What the readers answered for a set of members; a part that failed is absent and its error listed. */
export interface LiveReads {
  certs?: CertStatus[];
  usage?: UsageRow[];
  mail?: MailStatus[];
  backups?: BackupRow[];
  vps?: VpsState[];
  failed: { part: LivePart; error: string }[];
}
export type LivePart = "certificates" | "usage" | "mail" | "backups" | "vps";

/** The members a snapshot holds: the active ones (a suspended or departed member cannot log in… or has nothing live to show). */
export function snapshotHandles(model: Model): string[] {
  return model.members.filter((m) => m.status === "active").map((m) => m.handle);
}

/**
 * Reads `handles`' live figures in one pass: the status views' readers on the model of those
 * members only, all at once (each host is one SSH connection of the provider's pool, its
 * channels shared). A reader that fails leaves its part out and says why (`failed`).
 */
export async function readLive(root: string, model: Model, handles: readonly string[], now = new Date()): Promise<LiveReads> {
  const mine = modelOf(model, handles);
  const plan = backupPlan(mine);
  const own = plan ? memberPlan(plan, handles) : undefined;
  const parts: [LivePart, Promise<unknown>][] = [
    ["certificates", readCerts(root, mine, now)],
    ["usage", readUsage(root, mine)],
    ["mail", mine.mail.length ? readMail(root, mine) : Promise.resolve([])],
    ["backups", own?.hosts.length ? readBackups(root, mine, own, now) : Promise.resolve([])],
    ["vps", mine.vps.length ? readVps(root, mine) : Promise.resolve([])],
  ];
  const settled = await Promise.allSettled(parts.map(([, p]) => p));
  const out: LiveReads = { failed: [] };
  settled.forEach((r, i) => {
    const part = (parts[i] as [LivePart, unknown])[0];
    if (r.status === "rejected") out.failed.push({ part, error: r.reason instanceof Error ? r.reason.message : String(r.reason) });
    else if (part === "certificates") out.certs = r.value as CertStatus[];
    else if (part === "usage") out.usage = r.value as UsageRow[];
    else if (part === "mail") out.mail = r.value as MailStatus[];
    else if (part === "vps") out.vps = r.value as VpsState[];
    else out.backups = r.value as BackupRow[];
  });
  return out;
}

/**
 * One member's entry from the reads: only objects of theirs, field by field (no row of
 * another member, nothing the model holds besides: no hash, no key). `error`: what the member
 * is told of a part that failed (the snapshot gives the part's name only: a host's error text
 * may name another member's files; the full text goes to the job's log).
 */
export function memberLiveOf(model: Model, handle: string, reads: LiveReads, readAt: Date, error = failedParts(reads)): MemberLive {
  const sites = new Set(model.sites.filter((s) => s.handle === handle).map((s) => s.host));
  const plan = backupPlan(modelOf(model, handle));
  const usage = reads.usage?.find((u) => u.handle === handle);
  return {
    readAt,
    ...(reads.certs ? { certs: reads.certs.filter((c) => sites.has(c.site)).map((c) => ({ site: c.site, host: c.host, names: c.names, ...(c.cert ? { cert: c.cert } : {}), missing: c.missing, extra: c.extra, ...(c.error ? { error: c.error } : {}), ...(c.next ? { next: c.next } : {}), state: c.state })) } : {}),
    ...(usage ? { usage } : {}),
    ...(reads.mail ? { mailboxes: reads.mail.flatMap((s) => s.mailboxes.filter((b) => b.handle === handle).map((b) => ({ address: b.address, quotaMb: b.quotaMb, ...(b.bytes !== undefined ? { bytes: b.bytes } : {}), ...(b.messages !== undefined ? { messages: b.messages } : {}) }))) } : {}),
    ...(plan && reads.backups ? { backups: memberBackups(plan, handle, reads.backups) } : {}),
    ...(reads.vps ? { vps: reads.vps.filter((v) => v.handle === handle).map((v) => ({ name: v.name, state: v.state })) } : {}),
    ...(error ? { error } : {}),
  };
}

/** The failed parts, as a member reads them (no host's text). */
export function failedParts(reads: LiveReads): string | undefined {
  return reads.failed.length ? `${reads.failed.map((f) => f.part).join(", ")} (the volunteers see why in the job's log)` : undefined;
}

/** The lab's live reader: one member, read now; a failed part's own error is shown (only their objects were read). */
export async function readMemberLive(root: string, model: Model, handle: string, now = new Date()): Promise<MemberLive> {
  const reads = await readLive(root, model, [handle], now);
  return memberLiveOf(model, handle, reads, now, reads.failed.length ? reads.failed.map((f) => `${f.part}: ${f.error}`).join("; ") : undefined);
}

/** The snapshot of every active member of `stack`, read in one pass. */
export async function takeSnapshot(root: string, stack: string, model: Model, now = new Date()): Promise<{ snapshot: LiveSnapshot; failed: LiveReads["failed"] }> {
  const handles = snapshotHandles(model);
  const reads = await readLive(root, model, handles, now);
  return { snapshot: buildSnapshot(model, stack, handles, reads, now), failed: reads.failed };
}

/** Pure: the document from the reads. */
export function buildSnapshot(model: Model, stack: string, handles: readonly string[], reads: LiveReads, now: Date): LiveSnapshot {
  const members: Record<string, MemberLive> = {};
  for (const h of handles) members[h] = memberLiveOf(model, h, reads, now);
  return { taken_at: now.toISOString(), stack, members };
}

/** What of the model's secrets a text holds (the kinds only): mailbox and SFTP password hashes, private keys. Empty: none. */
export function secretsIn(text: string, model: Model): string[] {
  const found = new Set<string>();
  for (const d of model.mail) for (const b of d.mailboxes) if (b.passwordHash && text.includes(b.passwordHash)) found.add("a mailbox's password hash");
  for (const m of model.members) if (m.passwordHash && text.includes(m.passwordHash)) found.add("a member's SFTP password hash");
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) found.add("a private key");
  if (/\bscrypt\$\d+\$/.test(text)) found.add("a portal password hash");
  return [...found];
}

/** The snapshot as the file holds it; refused when it would carry a secret (a bug upstream: nothing is delivered). */
export function snapshotJson(snapshot: LiveSnapshot, model: Model): string {
  const text = `${JSON.stringify(snapshot)}\n`;
  const secrets = secretsIn(text, model);
  if (secrets.length) throw new Error(`the portal's live snapshot would hold ${secrets.join(", ")}: not written (a reader returned more than figures)`);
  if (Buffer.byteLength(text) > LIVE_MAX_BYTES) throw new Error(`the portal's live snapshot is ${Buffer.byteLength(text)} bytes, over ${LIVE_MAX_BYTES}`);
  return text;
}

/** Where the snapshot lands on the portal's host (provider/scripts/portal/live.sh). */
export const LIVE_PATH = `${PORTAL_STATE}/${LIVE_FILE}`;

/**
 * Delivers the snapshot to the portal's host through the provider's SSH layer: the constant
 * script, the JSON on stdin. Call inside onStackHosts (the stack's key, the pool closed after).
 */
export async function deliverSnapshot(root: string, model: Model, text: string): Promise<{ host: string; path: string }> {
  const p = model.inventory.portal;
  if (!p) throw new Error("the inventory has no portal: section: there is no portal to deliver the live figures to");
  const host = model.hosts.find((h) => h.name === p.host);
  if (!host) throw new Error(`the portal's host ${p.host} is not in the inventory's hosts`);
  return deliverTo(targetOf(host, root), text);
}

/** The delivery itself, to a host's connection facts. */
export async function deliverTo(target: Target, text: string): Promise<{ host: string; path: string }> {
  await run(target, WRITE_LIVE, { args: ["write"], stdin: text, what: `delivering the portal's live figures to ${target.name}`, timeoutMs: 60_000 });
  return { host: target.name, path: LIVE_PATH };
}
