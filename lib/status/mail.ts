/**
 * The mail as served (`npm run status -- mail`): per member's domain, MX, SPF, DKIM and DMARC as
 * the zone's primary name server answers them beside what git derives (lib/check/mail-records.ts;
 * the DKIM value from the public half of the key on the mail host, which never leaves it); each
 * mailbox's size against its quota (Dovecot's `doveadm quota get -A`); the queue and its deferred
 * messages (`postqueue -j`). Read live: DNS by a query to the primary's address (Node's resolver,
 * no tool needed on the volunteer's machine), the mail host over the provider's SSH with a
 * constant script (provider/scripts/status/read-mail.sh).
 */
import { Resolver } from "node:dns/promises";
import { loadScript } from "../../provider/scripts/load";
import type { Lang } from "../i18n/lang";
import { absoluteName } from "../model/dns-names";
import { dkimRecordValue, MAIL_PATHS, type MailPaths } from "../model/mail";
import type { Model } from "../model/types";
import { onHost } from "./remote";
import { humanBytes, textTable } from "./text-table";

const READ_MAIL = loadScript("status/read-mail.sh");

export type RecordKind = "MX" | "SPF" | "DKIM" | "DMARC";
export const RECORD_KINDS: RecordKind[] = ["MX", "SPF", "DKIM", "DMARC"];

/** What git says a domain's records are (DKIM: the name; its value comes from the mail host's key). */
export interface ExpectedMailDns {
  domain: string;
  zone: string;
  mx: string[];
  spf?: string;
  dmarc?: string;
  dkimName: string;
}

/** What the primary answered, per kind: the values, or why there is none ("no answer: …"). */
export type Served = Record<RecordKind, string[] | { error: string }>;

export type DnsState = "ok" | "missing" | "differs" | "unanswered" | "no key";

export interface DnsCheck {
  kind: RecordKind;
  state: DnsState;
  expected?: string;
  served: string[];
  error?: string;
}

export interface MailboxUse {
  address: string;
  bytes?: number;
  messages?: number;
  quotaMb: number;
}

export interface QueuedMessage {
  queue: string;
  id: string;
  arrival: number;
  size: number;
  sender: string;
  recipients: { address: string; reason?: string }[];
}

export interface MailStatus {
  host: string;
  domains: { domain: string; handle: string; checks: DnsCheck[] }[];
  mailboxes: (MailboxUse & { handle: string })[];
  queue?: QueuedMessage[];
  errors: string[];
}

const norm = (s: string) => s.trim().replace(/\s+/g, " ");
const lowerDot = (s: string) => (s.endsWith(".") ? s : `${s}.`).toLowerCase();

/** The derived records of a mail domain, as the model holds them (origin "mail"). */
export function expectedMailDns(model: Model, domain: string, selector: string): ExpectedMailDns | undefined {
  const d = model.mail.find((x) => x.domain === domain);
  const zone = d && model.zones.find((z) => z.name === d.zone);
  if (!d || !zone) return undefined;
  const at = (name: string) => zone.records.filter((r) => r.origin === "mail" && absoluteName(r.name, zone.name) === name);
  const txt = (name: string, re: RegExp) => at(name).flatMap((r) => (r.type === "TXT" && re.test(r.value) ? [r.value] : []))[0];
  const mx = at(domain).flatMap((r) => (r.type === "MX" ? [`${r.priority} ${lowerDot(r.value)}`] : []));
  const spf = txt(domain, /^v=spf1(\s|$)/i);
  const dmarc = txt(`_dmarc.${domain}`, /^v=DMARC1/i);
  return { domain, zone: zone.name, mx, ...(spf ? { spf } : {}), ...(dmarc ? { dmarc } : {}), dkimName: `${selector}._domainkey.${domain}` };
}

/** Served against expected, per kind (pure). `dkim`: the value the mail host's key gives, or undefined without a key. */
export function compareMailDns(e: ExpectedMailDns, served: Served, dkim: string | undefined): DnsCheck[] {
  const one = (kind: RecordKind, expected: string | undefined, pick: (v: string) => boolean, same: (a: string, b: string) => boolean): DnsCheck => {
    const s = served[kind];
    // No key on the mail host is what to fix first, whatever the name server says.
    if (kind === "DKIM" && expected === undefined) return { kind, state: "no key", served: Array.isArray(s) ? s.filter(pick) : [] };
    if (!Array.isArray(s)) return { kind, state: "unanswered", served: [], error: s.error, ...(expected ? { expected } : {}) };
    const mine = s.filter(pick);
    if (expected === undefined) return { kind, state: mine.length ? "differs" : "ok", served: mine };
    if (mine.length === 0) return { kind, state: "missing", expected, served: mine };
    return { kind, state: mine.length === 1 && same(mine[0] as string, expected) ? "ok" : "differs", expected, served: mine };
  };
  const mxServed = served.MX;
  const mx: DnsCheck = !Array.isArray(mxServed)
    ? { kind: "MX", state: "unanswered", served: [], error: mxServed.error, expected: e.mx.join(", ") }
    : mxServed.length === 0
      ? { kind: "MX", state: "missing", served: [], expected: e.mx.join(", ") }
      : { kind: "MX", state: [...mxServed].map((x) => x.toLowerCase()).sort().join(",") === [...e.mx].sort().join(",") ? "ok" : "differs", served: mxServed, expected: e.mx.join(", ") };
  const txt = (a: string, b: string) => norm(a) === norm(b);
  return [
    mx,
    one("SPF", e.spf, (v) => /^v=spf1(\s|$)/i.test(v), txt),
    one("DKIM", dkim, (v) => /(^|;)\s*(v=DKIM1|p=)/i.test(v), (a, b) => norm(a).replace(/;\s*/g, ";") === norm(b).replace(/;\s*/g, ";")),
    one("DMARC", e.dmarc, (v) => /^v=DMARC1/i.test(v), txt),
  ];
}

/**
 * `doveadm -f tab quota get -A`: a header line, then per user and quota type (STORAGE in KiB,
 * MESSAGE in messages) its value and limit. Returns bytes and messages by address (pure).
 */
export function parseQuota(tab: string): Map<string, { bytes?: number; messages?: number }> {
  const out = new Map<string, { bytes?: number; messages?: number }>();
  const lines = tab.split("\n").filter((l) => l.trim());
  const head = (lines[0] ?? "").split("\t").map((h) => h.trim().toLowerCase());
  const col = (n: string) => head.indexOf(n);
  const [u, t, v] = [col("username"), col("type"), col("value")];
  if (u < 0 || t < 0 || v < 0) return out;
  for (const line of lines.slice(1)) {
    const f = line.split("\t");
    const user = (f[u] ?? "").toLowerCase();
    const value = Number(f[v]);
    if (!user || !Number.isFinite(value)) continue;
    const row = out.get(user) ?? {};
    if ((f[t] ?? "").toUpperCase() === "STORAGE") row.bytes = value * 1024;
    else if ((f[t] ?? "").toUpperCase() === "MESSAGE") row.messages = value;
    out.set(user, row);
  }
  return out;
}

/** `postqueue -j`: one JSON object a line (Postfix 3.1+); lines that are not are skipped (pure). */
export function parseQueue(lines: string): QueuedMessage[] {
  const out: QueuedMessage[] = [];
  for (const line of lines.split("\n")) {
    if (!line.trim().startsWith("{")) continue;
    try {
      const j = JSON.parse(line) as { queue_name?: unknown; queue_id?: unknown; arrival_time?: unknown; message_size?: unknown; sender?: unknown; recipients?: unknown };
      const recipients = Array.isArray(j.recipients) ? (j.recipients as { address?: unknown; delay_reason?: unknown }[]).map((r) => ({ address: String(r.address ?? ""), ...(r.delay_reason ? { reason: String(r.delay_reason) } : {}) })) : [];
      out.push({ queue: String(j.queue_name ?? ""), id: String(j.queue_id ?? ""), arrival: Number(j.arrival_time ?? 0), size: Number(j.message_size ?? 0), sender: String(j.sender ?? ""), recipients });
    } catch {
      // not a message line
    }
  }
  return out;
}

export interface ReadMailOutput {
  quota?: string;
  queue?: string;
  /** domain → base64 public key, or undefined without a key. */
  dkim: Map<string, string | undefined>;
  errors: string[];
}

/** The script's three NUL-ended sections (pure). */
export function parseReadMail(out: string): ReadMailOutput {
  const [quota = "", queue = "", dkim = ""] = out.split("\0");
  const body = (s: string, what: string, errors: string[]) => {
    const nl = s.indexOf("\n");
    const first = nl < 0 ? s : s.slice(0, nl);
    if (first === "ok") return nl < 0 ? "" : s.slice(nl + 1);
    errors.push(`${what}: ${first.replace(/^error ?/, "").trim() || "no answer"}`);
    return undefined;
  };
  const errors: string[] = [];
  const q = body(quota, "doveadm quota get", errors);
  const p = body(queue, "postqueue -j", errors);
  const k = body(dkim, "DKIM keys", errors) ?? "";
  const keys = new Map<string, string | undefined>();
  for (const line of k.split("\n")) {
    const [d, v] = line.trim().split(" ");
    if (d && v) keys.set(d, v === "none" || v === "unreadable" ? undefined : v);
  }
  return { ...(q !== undefined ? { quota: q } : {}), ...(p !== undefined ? { queue: p } : {}), dkim: keys, errors };
}

/** Asks `server` (address, or address:port) for a domain's MX, SPF, DKIM and DMARC. */
export async function queryMailDns(server: string, e: ExpectedMailDns): Promise<Served> {
  const r = new Resolver({ timeout: 3000, tries: 2 });
  r.setServers([server]);
  const none = (err: unknown) => ["ENODATA", "ENOTFOUND"].includes((err as { code?: string }).code ?? "");
  const ask = async <T>(f: () => Promise<T[]>, map: (x: T) => string): Promise<string[] | { error: string }> => {
    try {
      return (await f()).map(map);
    } catch (err) {
      return none(err) ? [] : { error: `${(err as { code?: string }).code ?? String(err)} from ${server}` };
    }
  };
  const txt = (name: string) => ask(() => r.resolveTxt(name), (chunks: string[]) => chunks.join(""));
  const [MX, SPF, DKIM, DMARC] = await Promise.all([ask(() => r.resolveMx(e.domain), (m) => `${m.priority} ${lowerDot(m.exchange)}`), txt(e.domain), txt(e.dkimName), txt(`_dmarc.${e.domain}`)]);
  return { MX, SPF, DKIM, DMARC };
}

/** The mail host's state and each domain's records; `dnsServer` replaces the zone's primary (tests: a port). */
export async function readMail(root: string, model: Model, opts: { dnsServer?: (zone: string) => string; paths?: MailPaths; readHost?: (args: string[]) => Promise<string> } = {}): Promise<MailStatus[]> {
  const paths = opts.paths ?? MAIL_PATHS;
  const selector = model.inventory.mail.dkim_selector;
  const out: MailStatus[] = [];
  for (const host of model.hosts.filter((h) => h.roles.includes("mail"))) {
    const domains = model.mail.filter((d) => d.mailHost === host.name && d.status !== "departed");
    const args = [paths.postfixDir, `${paths.dovecotDir}/dovecot.conf`, paths.dkimKeyDir, selector, ...domains.map((d) => d.domain)];
    const raw = parseReadMail(opts.readHost ? await opts.readHost(args) : await onHost(root, host, READ_MAIL, args, `reading the mail host ${host.name}`));
    const quota = raw.quota !== undefined ? parseQuota(raw.quota) : undefined;
    const rows: MailStatus["domains"] = [];
    for (const d of domains) {
      const e = expectedMailDns(model, d.domain, selector);
      if (!e) continue;
      const zone = model.zones.find((z) => z.name === e.zone);
      const primary = model.hosts.find((h) => h.name === zone?.primary);
      const server = opts.dnsServer?.(e.zone) ?? primary?.address;
      const served: Served = server ? await queryMailDns(server, e) : { MX: { error: "no primary" }, SPF: { error: "no primary" }, DKIM: { error: "no primary" }, DMARC: { error: "no primary" } };
      const pub = raw.dkim.get(d.domain);
      let dkim: string | undefined;
      try {
        dkim = pub ? dkimRecordValue(pub) : undefined;
      } catch {
        dkim = undefined;
      }
      rows.push({ domain: d.domain, handle: d.handle, checks: compareMailDns(e, served, dkim) });
    }
    const mailboxes = domains.flatMap((d) => d.mailboxes.map((b) => ({ handle: d.handle, address: b.address, quotaMb: b.quotaMb, ...(quota?.get(b.address) ?? {}) })));
    out.push({ host: host.name, domains: rows, mailboxes, ...(raw.queue !== undefined ? { queue: parseQueue(raw.queue) } : {}), errors: raw.errors });
  }
  return out;
}

/** Mailboxes at or above this share of their quota are flagged. */
export const MAILBOX_NEAR_QUOTA_PERCENT = 90;

export const mailboxPercent = (b: MailboxUse) => (b.bytes === undefined ? undefined : Math.floor((b.bytes * 100) / (b.quotaMb * 1024 * 1024)));

/** What needs a volunteer: records not as derived, mailboxes near their quota, deferred mail, a host not read. */
export function mailNeedsAttention(s: MailStatus[]): boolean {
  return s.some((h) => h.errors.length > 0 || h.domains.some((d) => d.checks.some((c) => c.state !== "ok")) || h.mailboxes.some((b) => (mailboxPercent(b) ?? 0) >= MAILBOX_NEAR_QUOTA_PERCENT) || (h.queue ?? []).some((m) => m.queue === "deferred"));
}

const STATE_FR: Record<DnsState, string> = { ok: "ok", missing: "absent", differs: "DIFFÉRENT", unanswered: "sans réponse", "no key": "pas de clé" };
const STATE_EN: Record<DnsState, string> = { ok: "ok", missing: "MISSING", differs: "DIFFERS", unanswered: "unanswered", "no key": "no key" };

export function formatMail(status: MailStatus[], now: Date, lang: Lang = "en"): string {
  const fr = lang === "fr";
  if (status.length === 0) return fr ? "aucun hôte n'a le rôle mail" : "no host has the mail role";
  const out: string[] = [];
  for (const h of status) {
    out.push(fr ? `hôte mail ${h.host}` : `mail host ${h.host}`, "");
    const st = fr ? STATE_FR : STATE_EN;
    out.push(...textTable([fr ? "domaine" : "domain", fr ? "adhérent" : "member", ...RECORD_KINDS], h.domains.map((d) => [d.domain, d.handle, ...d.checks.map((c) => st[c.state])])));
    for (const d of h.domains) {
      for (const c of d.checks.filter((x) => x.state !== "ok")) {
        const served = c.error ?? (c.served.length ? c.served.map((v) => `"${v}"`).join(", ") : fr ? "rien" : "nothing");
        const expected = c.state === "no key" ? (fr ? "aucune clé DKIM sur l'hôte mail (le sélecteur de l'inventaire n'a pas encore sa clé)" : "no DKIM key on the mail host (the inventory's selector has no key yet)") : c.expected !== undefined ? `"${c.expected}"` : fr ? "aucun" : "none";
        out.push(fr ? `  ${d.domain} ${c.kind} : servi ${served} ; attendu ${expected}` : `  ${d.domain} ${c.kind}: served ${served}; expected ${expected}`);
      }
    }
    out.push("");
    out.push(
      ...textTable(
        [fr ? "boîte" : "mailbox", fr ? "utilisé" : "used", "quota", "%", fr ? "messages" : "messages"],
        h.mailboxes.map((b) => {
          const pct = mailboxPercent(b);
          return [b.address, humanBytes(b.bytes), `${b.quotaMb} MiB`, pct === undefined ? "-" : `${pct}${pct >= MAILBOX_NEAR_QUOTA_PERCENT ? " !" : ""}`, b.messages === undefined ? "-" : String(b.messages)];
        }),
      ),
    );
    out.push("");
    if (h.queue) {
      const by = (q: string) => h.queue!.filter((m) => m.queue === q).length;
      const deferred = h.queue.filter((m) => m.queue === "deferred");
      out.push(fr ? `file d'attente : ${h.queue.length} message(s) (actifs ${by("active")}, différés ${deferred.length}, retenus ${by("hold")})` : `queue: ${h.queue.length} message(s) (active ${by("active")}, deferred ${deferred.length}, on hold ${by("hold")})`);
      for (const m of deferred.sort((a, b) => a.arrival - b.arrival).slice(0, 20)) {
        const age = Math.max(0, Math.round((now.getTime() / 1000 - m.arrival) / 60));
        for (const r of m.recipients) out.push(`  ${m.id} ${m.sender || "<>"} → ${r.address}, ${age} min: ${r.reason ?? "-"}`);
      }
      if (deferred.length > 20) out.push(fr ? `  … et ${deferred.length - 20} autre(s)` : `  … and ${deferred.length - 20} more`);
    }
    for (const e of h.errors) out.push(fr ? `non lu sur ${h.host} : ${e}` : `not read on ${h.host}: ${e}`);
    out.push("");
  }
  out.push(mailNeedsAttention(status) ? (fr ? "à regarder : voir ci-dessus (enregistrements différents de git, boîtes presque pleines, courrier différé)" : "needs attention: see above (records not as git derives them, mailboxes near full, deferred mail)") : fr ? "tout est comme git le décrit" : "everything is as git describes it");
  return out.join("\n");
}
