import { bracket } from "../model/address";
import type { MailPlan } from "../model/mail";
import { PORTS } from "../model/monitoring";
import { UnsafeValueError } from "./escape";
import { renderMonitorOnlyNft } from "./monitoring-units";
import { generatedNotice } from "./notice";

/**
 * Debian's Postfix exporter on the mail host (docs/architecture.md, "Mail" and "Monitoring"):
 * what the monitor host scrapes on port 9154 for MailQueueGrowing and MailQueueNotWatched. Three
 * files in the mail set's exporter/ folder, when the inventory has a monitor host:
 * - the ARGS of Debian's /etc/default/prometheus-postfix-exporter (its unit's EnvironmentFile,
 *   expanded unquoted by systemd as `$ARGS`: words without spaces or quotes), which the set copies
 *   there where systemd runs; the lab starts the exporter with the same words (lib/lab/monitoring.ts);
 * - the nftables table that keeps port 9154 to the monitor host (the node exporter's, reused);
 * - a drop-in of Debian's unit that loads the table before each start (a reboot flushes nftables).
 * The file set checks them on the host (the exporter parses the flags, `nft -c` the table).
 */

/** The set's folder, and its files in it. */
export const MAIL_EXPORTER_DIR = "exporter";
export const MAIL_EXPORTER_FILES = { args: "prometheus-postfix-exporter", nft: "postfix-exporter.nft", dropin: "globenet.conf" } as const;
/** The set's exporter files, relative to its root (all or none). */
export const MAIL_EXPORTER_PATHS = Object.values(MAIL_EXPORTER_FILES).map((f) => `${MAIL_EXPORTER_DIR}/${f}`);
/** The port's table (file-set.sh loads it, and deletes it with the set or the exporter). */
export const MAIL_EXPORTER_TABLE = "globenet_postfix_exporter";
/** Where the set copies the ARGS file and the drop-in where systemd runs (file-set.sh PFX_DEFAULT, PFX_DROPIN). */
export const POSTFIX_EXPORTER_DEFAULT = "/etc/default/prometheus-postfix-exporter";
export const POSTFIX_EXPORTER_DROPIN = "/etc/systemd/system/prometheus-postfix-exporter.service.d/globenet.conf";

const MAIL_LIVE = "/etc/globenet/mail/conf";
const SOURCE = "lib/render/mail-exporter.ts";
/** A word of ARGS: what systemd splits on and a shell would read as itself. */
const WORD = /^[A-Za-z0-9._:/=[\]-]+$/;

/**
 * The exporter's flags: the address the monitor scrapes, Postfix's showq socket in the plan's
 * queue, and no log file. The exporter exits when its log file is missing (Debian's package has
 * no journal support), and Debian 12 without rsyslog has no /var/log/mail.log: the alerts use
 * the queue (postfix_showq_*) only, so the log tail reads /dev/null on every host.
 */
export function postfixExporterFlags(plan: Pick<MailPlan, "paths"> & { exporter: NonNullable<MailPlan["exporter"]> }): string[] {
  const flags = [
    `--web.listen-address=${bracket(plan.exporter.listen)}:${PORTS.postfixExporter}`,
    `--postfix.showq_path=${plan.paths.queueDir}/public/showq`,
    "--postfix.logfile_path=/dev/null",
  ];
  for (const f of flags) if (!WORD.test(f)) throw new UnsafeValueError(`${POSTFIX_EXPORTER_DEFAULT} (ARGS)`, f, "a flag there is one word: letters, digits and . _ : / = [ ] - only");
  return flags;
}

/** The mail set's exporter files (relative to the set's root), or none without a monitor host. */
export function renderMailExporter(plan: MailPlan): Record<string, string> {
  if (!plan.exporter) return {};
  const args = [
    `# ${generatedNotice("the inventory's mail and monitor hosts")}`,
    `# Debian's prometheus-postfix-exporter, scraped by ${plan.exporter.monitor.name} (${SOURCE}); copied to ${POSTFIX_EXPORTER_DEFAULT} where systemd runs.`,
    `ARGS="${postfixExporterFlags({ paths: plan.paths, exporter: plan.exporter }).join(" ")}"`,
    "",
  ].join("\n");
  const nft = renderMonitorOnlyNft({ set: "mail", table: MAIL_EXPORTER_TABLE, port: PORTS.postfixExporter, source: SOURCE }, { name: plan.host }, plan.exporter.monitor);
  const dropin = [
    `# Managed by globenet-infra (FileSet mail): the Postfix exporter's port filter first (${SOURCE}).`,
    "[Service]",
    // The exporter never listens without its table (a reboot flushes nftables).
    `ExecStartPre=/usr/sbin/nft -f ${MAIL_LIVE}/${MAIL_EXPORTER_DIR}/${MAIL_EXPORTER_FILES.nft}`,
    "",
  ].join("\n");
  return {
    [`${MAIL_EXPORTER_DIR}/${MAIL_EXPORTER_FILES.args}`]: args,
    [`${MAIL_EXPORTER_DIR}/${MAIL_EXPORTER_FILES.nft}`]: nft,
    [`${MAIL_EXPORTER_DIR}/${MAIL_EXPORTER_FILES.dropin}`]: dropin,
  };
}

/**
 * The flags an ARGS file gives the exporter, as systemd reads it (EnvironmentFile, then `$ARGS`
 * split on whitespace): the lab starts the exporter with them. Only what renderMailExporter writes
 * is accepted: one ARGS="…" line of words, comments.
 */
export function postfixExporterArgs(text: string, file: string): string[] {
  const lines = text.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("#"));
  const m = lines.length === 1 ? /^ARGS="([^"]*)"$/.exec(lines[0] as string) : null;
  if (!m) throw new Error(`${file}: not one ARGS="…" line (the mail set's exporter/${MAIL_EXPORTER_FILES.args}, ${SOURCE})`);
  const words = (m[1] as string).split(/\s+/).filter((w) => w !== "");
  for (const w of words) if (!WORD.test(w)) throw new Error(`${file}: ${JSON.stringify(w)} is not one word of ARGS`);
  return words;
}
