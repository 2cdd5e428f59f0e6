import { readFileSync } from "node:fs";
import { join } from "node:path";
import { dkimKeyPath, type MailPlan } from "../model/mail";
import { dovecotPasswdField, mailAddress, mailMapWord, UnsafeValueError } from "./escape";
import { renderTemplate } from "./handlebars";
import { renderMailExporter } from "./mail-exporter";
import { generatedNotice } from "./notice";

/**
 * The mail host's files (docs/architecture.md, "Mail"), from lib/model/mail.ts's plan:
 * Postfix's main.cf and master.cf and its four maps, Dovecot's dovecot.conf with its users and
 * suspended files, OpenDKIM's configuration and tables. The mail FileSet compiles the maps and
 * checks the whole set (postmap, postconf, doveconf, opendkim -n) on the host before the swap.
 */

/** OpenDKIM's socket and pid, in Postfix's queue folder so Postfix reaches it (group postfix). */
export const opendkimRun = (p: MailPlan["paths"]) => ({ dir: `${p.queueDir}/opendkim`, socket: `${p.queueDir}/opendkim/opendkim.sock`, pidFile: `${p.queueDir}/opendkim/opendkim.pid` });

export interface MailFiles {
  postfix: Record<"main.cf" | "master.cf", string>;
  maps: Record<"domains" | "mailboxes" | "aliases" | "senders", string>;
  dovecot: Record<"dovecot.conf" | "globenet-users" | "globenet-suspended", string>;
  opendkim: Record<"opendkim.conf" | "globenet-keytable" | "globenet-signingtable" | "globenet-internal-hosts", string>;
  /** SRS for forwards: the regexp table beside the maps (not compiled) and Debian's /etc/default/postsrsd, linked into the set. */
  srs: { "direct-senders.regexp": string; "srs-reverse.regexp": string; "postsrsd.default": string };
  /** The certificate from ACME (lego), when the inventory has acme: (else it is placed by hand). */
  acme?: Record<"mail-cert.conf" | "mail-cert.sh" | "globenet-mail-cert.service" | "globenet-mail-cert.timer", string>;
  /** Debian's Postfix exporter's ARGS, port table and drop-in, when a monitor host scrapes it (lib/render/mail-exporter.ts; paths relative to the set). */
  exporter?: Record<string, string>;
}

const NOTICE = generatedNotice("the mail: of members/*/member.yaml");
const lines = (rows: string[]) => (rows.length ? `${rows.join("\n")}\n` : "");

export function renderMailFiles(plan: MailPlan, vmailUid: number, defaultQuotaMb: number, postmaster: string): MailFiles {
  const listen = plan.listen.map((a) => mailAddress(a, "postfix"));
  const at = (port: number) => listen.map((a) => `${a}:${port}`);
  const dkimRun = opendkimRun(plan.paths);
  const main = renderTemplate("postfix-main.cf", {
    notice: NOTICE,
    publicName: mailMapWord(plan.publicName),
    inetInterfaces: listen.join(", "),
    paths: plan.paths,
    messageSizeBytes: plan.messageSizeBytes,
    relayhost: plan.relay ? relayhost(plan.relay) : "",
    milterSocket: mailMapWord(dkimRun.socket),
    srs: srsWords(plan),
    directSenders: `regexp:${plan.paths.mapsDir}/direct-senders.regexp`,
    srsReverse: `pipemap:{regexp:${plan.paths.mapsDir}/srs-reverse.regexp, tcp:${srsWords(plan).listen}:${plan.srs.reversePort}}`,
  });
  const master = renderTemplate("postfix-master.cf", {
    notice: NOTICE,
    smtpListen: at(plan.ports.smtp),
    submissionListen: at(plan.ports.submission),
    submissionsListen: at(plan.ports.submissions),
    sendPerHour: plan.sendPerHour,
    srs: srsWords(plan),
  });
  const maps = {
    domains: lines(plan.domains.map((d) => `${mailMapWord(d)} OK`)),
    mailboxes: lines(plan.mailboxes.map((b) => `${mailMapWord(b.address)} ${b.address.split("@").reverse().join("/")}/`)),
    aliases: lines(plan.aliases.map((a) => `${mailMapWord(a.address)} ${a.to.map((t) => mailMapWord(t)).join(", ")}`)),
    senders: lines(plan.senders.map((s) => `${mailMapWord(s.address)} ${s.logins.map((l) => mailMapWord(l)).join(", ")}`)),
  };
  const users = lines(plan.mailboxes.map((b) => `${dovecotPasswdField(mailMapWord(b.address))}:${dovecotPasswdField(b.passwordHash)}::::::userdb_quota_rule=*:storage=${b.quotaMb}M`));
  // Suspended: the deny passdb refuses IMAP and submission; the userdb still takes their mail.
  const suspended = lines(plan.mailboxes.filter((b) => b.suspended).map((b) => `${dovecotPasswdField(mailMapWord(b.address))}:`));
  const dovecot = renderTemplate("dovecot.conf", {
    notice: NOTICE,
    listen: plan.listen.map((a) => mailAddress(a, "dovecot")).join(", "),
    paths: plan.paths,
    ports: plan.ports,
    vmailUid,
    defaultQuotaMb,
    postmaster: mailMapWord(postmaster),
  });
  const sel = mailMapWord(plan.dkimSelector);
  const opendkim = {
    "opendkim.conf": renderTemplate("opendkim.conf", { notice: NOTICE, paths: plan.paths, socket: mailMapWord(dkimRun.socket), pidFile: mailMapWord(dkimRun.pidFile) }),
    "globenet-keytable": lines(plan.domains.map((d) => `${sel}._domainkey.${mailMapWord(d)} ${d}:${sel}:${mailMapWord(dkimKeyPath(plan.paths, plan.dkimSelector, d))}`)),
    "globenet-signingtable": lines(plan.domains.map((d) => `*@${mailMapWord(d)} ${sel}._domainkey.${d}`)),
    // No host is trusted to have its mail signed by address: only what members submit with a login.
    "globenet-internal-hosts": `# ${NOTICE}\n# Empty on purpose: OpenDKIM signs mail Postfix marks ORIGINATING (submission with login), never by client address.\n`,
  };
  return {
    postfix: { "main.cf": main, "master.cf": master },
    maps,
    dovecot: { "dovecot.conf": dovecot, "globenet-users": users, "globenet-suspended": suspended },
    opendkim,
    srs: { "direct-senders.regexp": renderDirectSenders(plan), "srs-reverse.regexp": renderSrsReverse(plan), "postsrsd.default": renderPostsrsdDefault(plan) },
    ...(plan.acme ? { acme: renderMailAcme(plan) } : {}),
    ...(plan.exporter ? { exporter: renderMailExporter(plan) } : {}),
  };
}

/**
 * SRS for forwards (docs/architecture.md, "Mail", "SRS"): the values main.cf and master.cf name,
 * each checked (a domain, the loopback address, ports).
 */
function srsWords(plan: MailPlan) {
  const { domain, listen, forwardPort, reversePort, reinjectPort } = plan.srs;
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/.test(domain)) throw new UnsafeValueError("the SRS domain (the mail host's public name)", domain, "it is not a lower-case domain name");
  for (const port of [forwardPort, reversePort, reinjectPort]) if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UnsafeValueError("an SRS port", String(port), "it is not a TCP port");
  if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(listen)) throw new UnsafeValueError("postsrsd's listen address", listen, "only the host's IPv4 loopback: postsrsd and the re-injection must not be reachable from outside");
  return { domain, listen: mailAddress(listen, "postfix"), forwardPort, reversePort, reinjectPort };
}

/**
 * Postfix's sender_dependent_default_transport_maps, one regexp table: the senders whose mail
 * leaves as it is (DUNNO: the global default_transport, with the relay) — bounces (<>), the SRS
 * domain (a sender already rewritten, Postfix's own notices) and every member domain (members
 * submit as their own addresses, which SPF covers) — then any other sender: its mail for an
 * outside address is a forward, re-injected to be rewritten. One table, not a hash map and a
 * static fallback: Postfix tries each key (the address, then @domain) on every table in turn, so
 * the fallback would answer the full address before the hash map saw @domain (the first run
 * looped our own mail through the re-injection until "too many hops").
 */
export function renderDirectSenders(plan: MailPlan): string {
  const { domain, listen, reinjectPort } = srsWords(plan);
  const re = (d: string) => mailMapWord(d).replace(/\./g, "\\.");
  return [
    `# ${NOTICE}`,
    "# SRS (docs/architecture.md, \"Mail\"): who leaves directly (DUNNO), and the rest re-injected to be rewritten.",
    "/^<>$/ DUNNO",
    `/@${re(domain)}$/ DUNNO`,
    ...plan.domains.map((d) => `/@${re(d)}$/ DUNNO`),
    // Only an address: the null sender's key (no @) never matches, whatever Postfix passes for it (the first run's `/./` sent bounces round the re-injection).
    `/@/ globenet-srs:[${listen}]:${reinjectPort}`,
    "",
  ].join("\n");
}

/** Only an SRS address of our SRS domain is asked of postsrsd (the rest never waits on it). */
export function renderSrsReverse(plan: MailPlan): string {
  const { domain } = srsWords(plan);
  return `# ${NOTICE}\n# SRS bounces (SRS0=…@${domain}, SRS1=…): handed to postsrsd's reverse table (main.cf recipient_canonical_maps).\n/^(srs[01][-=+].*@${domain.replace(/\./g, "\\.")})$/ \${1}\n`;
}

/**
 * Debian's /etc/default/postsrsd, which its launcher (/usr/share/postsrsd/postsrsd-systemd-launcher)
 * sources: the SRS domain, loopback address and ports, Debian's secret file (made on the host by
 * the set's apply when missing, never written here), Debian's user and chroot. Plain words only:
 * the lab starts postsrsd with the same words (postsrsdArgs).
 */
export function renderPostsrsdDefault(plan: MailPlan): string {
  const w = srsWords(plan);
  if (!/^\/[A-Za-z0-9._/-]+$/.test(plan.srs.secret)) throw new UnsafeValueError("postsrsd's secret file", plan.srs.secret, "it is not an absolute path of plain characters");
  const settings: [string, string][] = [
    ["SRS_DOMAIN", w.domain],
    ["SRS_EXCLUDE_DOMAINS", ""],
    ["SRS_SEPARATOR", "="],
    ["SRS_SECRET", plan.srs.secret],
    ["SRS_HASHLENGTH", "4"],
    ["SRS_HASHMIN", "4"],
    ["SRS_FORWARD_PORT", String(w.forwardPort)],
    ["SRS_REVERSE_PORT", String(w.reversePort)],
    ["RUN_AS", "postsrsd"],
    ["SRS_LISTEN_ADDR", w.listen],
    ["CHROOT", "/var/lib/postsrsd"],
  ];
  return [`# ${NOTICE}`, "# postsrsd (SRS for forwards, docs/architecture.md \"Mail\"): read by Debian's launcher; the secret is the host's own.", ...settings.map(([k, v]) => `${k}=${v}`), ""].join("\n");
}

/** Debian's launcher's arguments from the default file's words (the lab starts postsrsd with them, in the foreground's place -D and a pid file). */
export function postsrsdArgs(defaults: string): string[] {
  const v: Record<string, string> = {};
  for (const line of defaults.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([A-Z_]+)=([A-Za-z0-9._/=:-]*)$/.exec(line);
    if (!m) throw new UnsafeValueError("/etc/default/postsrsd", line, "only KEY=word lines are read");
    v[m[1] as string] = m[2] as string;
  }
  const need = (k: string) => {
    const x = v[k];
    if (x === undefined || (x === "" && k !== "SRS_EXCLUDE_DOMAINS")) throw new UnsafeValueError("/etc/default/postsrsd", k, `${k} is missing`);
    return x;
  };
  return [`-f${need("SRS_FORWARD_PORT")}`, `-r${need("SRS_REVERSE_PORT")}`, `-d${need("SRS_DOMAIN")}`, `-s${need("SRS_SECRET")}`, `-a${need("SRS_SEPARATOR")}`, `-n${need("SRS_HASHLENGTH")}`, `-N${need("SRS_HASHMIN")}`, `-u${need("RUN_AS")}`, `-l${need("SRS_LISTEN_ADDR")}`, `-c${need("CHROOT")}`, `-X${need("SRS_EXCLUDE_DOMAINS")}`];
}

/** Where the mail set's ACME files are live (the systemd units name them). */
const ACME_LIVE = "/etc/globenet/mail/conf/acme";
export const MAIL_CERT_UNIT = "globenet-mail-cert";

/**
 * The mail host's certificate from the inventory's ACME CA (docs/architecture.md, "Mail"): the
 * settings lego's script reads (key=value, each value a name, path, URL or address: checked
 * here and again by the script), the script as the repository holds it, and the oneshot
 * service and timer that run it twice a day (installed by the set where systemd runs).
 */
export function renderMailAcme(plan: MailPlan): NonNullable<MailFiles["acme"]> {
  const a = plan.acme;
  if (!a) throw new Error("renderMailAcme: the plan has no acme");
  const settings: [string, string][] = [
    ["directory", a.directory],
    ["email", a.email],
    ["name", plan.publicName],
    ["ca_trust", a.caTrust ?? ""],
    ["store", plan.paths.acmeDir],
    ["cert", plan.paths.tlsCert],
    ["key", plan.paths.tlsKey],
    ["renew_days", String(a.renewDays)],
  ];
  for (const [k, v] of settings) {
    if (!/^[A-Za-z0-9._~:/@+-]*$/.test(v) || (v === "" && k !== "ca_trust")) throw new UnsafeValueError(`the mail host's ACME settings (${k})`, v, "only a name, a path, an https URL or an address goes there");
  }
  const conf = [`# ${NOTICE}`, "# The mail host's certificate from ACME: read by mail-cert.sh (key=value).", ...settings.map(([k, v]) => `${k}=${v}`), ""].join("\n");
  const service = `# Managed by globenet-infra (FileSet mail): the mail host's certificate from ACME (lib/render/mail.ts).
[Unit]
Description=globenet-infra: certificate of ${plan.publicName} from ACME (lego), reloads Postfix and Dovecot when it changes
After=network-online.target
Wants=network-online.target

[Service]
Type=oneshot
ExecStart=/bin/bash ${ACME_LIVE}/mail-cert.sh ${ACME_LIVE}/mail-cert.conf
PrivateTmp=yes
ProtectHome=yes
`;
  const timer = `# Managed by globenet-infra (FileSet mail): runs ${MAIL_CERT_UNIT}.service (lib/render/mail.ts).
[Unit]
Description=globenet-infra: renew the mail host's certificate twice a day when it is due

[Timer]
OnCalendar=*-*-* 03,15:17:00
RandomizedDelaySec=1h
Persistent=true

[Install]
WantedBy=timers.target
`;
  return { "mail-cert.conf": conf, "mail-cert.sh": mailCertScript(), [`${MAIL_CERT_UNIT}.service`]: service, [`${MAIL_CERT_UNIT}.timer`]: timer } as NonNullable<MailFiles["acme"]>;
}

/** The ACME script, as the repository holds it (checked by bash -n and shellcheck like every .sh). */
export function mailCertScript(): string {
  return readFileSync(join(__dirname, "scripts", "mail-cert.sh"), "utf8");
}

/** "smtp.relay.example:587" → "[smtp.relay.example]:587" (no MX lookup for a named relay). */
export function relayhost(relay: string): string {
  const m = /^([a-z0-9.-]+)(?::(\d{1,5}))?$/.exec(relay);
  if (!m) throw new UnsafeValueError("relayhost", relay, "it is not host or host:port");
  return `[${m[1]}]${m[2] ? `:${m[2]}` : ""}`;
}

/** Where the mail set lives on the mail host (provider/scripts/file-set/file-set.sh, kind mail). */
export const MAIL_SET_ROOT = "/etc/globenet/mail/conf";

/** The mail set's files, relative to its root. */
export const MAIL_SET_PATHS = [
  "postfix/main.cf",
  "postfix/master.cf",
  "postfix/maps/srs-reverse.regexp",
  "postfix/maps/domains",
  "postfix/maps/mailboxes",
  "postfix/maps/aliases",
  "postfix/maps/senders",
  "postfix/maps/direct-senders.regexp",
  "dovecot/dovecot.conf",
  "dovecot/globenet-users",
  "dovecot/globenet-suspended",
  "opendkim/opendkim.conf",
  "opendkim/globenet-keytable",
  "opendkim/globenet-signingtable",
  "opendkim/globenet-internal-hosts",
  "postsrsd/postsrsd.default",
];

/** The set's ACME files, there when the inventory has acme: (file-set.sh installs the units where systemd runs). */
export const MAIL_ACME_PATHS = ["acme/mail-cert.conf", "acme/mail-cert.sh", `acme/${MAIL_CERT_UNIT}.service`, `acme/${MAIL_CERT_UNIT}.timer`];

/** The rendered files as the mail set's relative paths (the plan's paths must be the set's: MAIL_PATHS). */
export function mailSetFiles(f: MailFiles): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [n, c] of Object.entries(f.postfix)) out[`postfix/${n}`] = c;
  for (const [n, c] of Object.entries(f.maps)) out[`postfix/maps/${n}`] = c;
  for (const [n, c] of Object.entries(f.dovecot)) out[`dovecot/${n}`] = c;
  for (const [n, c] of Object.entries(f.opendkim)) out[`opendkim/${n}`] = c;
  out["postfix/maps/direct-senders.regexp"] = f.srs["direct-senders.regexp"];
  out["postfix/maps/srs-reverse.regexp"] = f.srs["srs-reverse.regexp"];
  out["postsrsd/postsrsd.default"] = f.srs["postsrsd.default"];
  for (const [n, c] of Object.entries(f.acme ?? {})) out[`acme/${n}`] = c;
  Object.assign(out, f.exporter ?? {});
  return out;
}
