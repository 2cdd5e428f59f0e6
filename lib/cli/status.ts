import { loadModel } from "../check/build";
import type { Model } from "../model/types";
import { formatCerts, type CertStatus } from "../status/certs";
import { waitForCerts } from "../status/cert-wait";
import { formatDnssec, readDnssec } from "../status/dnssec";
import { formatBackups, needsAttention, readBackups } from "../status/backups";
import { formatUsage, NEAR_QUOTA_PERCENT, quotaPercent, readUsage } from "../status/usage";
import { formatSlowQueries, readSlowQueries } from "../status/slow-queries";
import { alertmanagerUrl, formatHealth, readHealth } from "../status/health";
import { formatMail, mailNeedsAttention, readMail } from "../status/mail";
import { formatVps, readVps, vpsNeedsAttention } from "../status/vps";
import { backupPlan } from "../model/backup";
import { volunteerLang } from "../i18n/lang";
import { onStackHosts } from "../lab/open-stack";
import { REPO_ROOT, UsageError } from "./args";
import { LabError } from "../base/proc";
import { defaultStack } from "./stack-default";
import type { Args, Io } from "./command";

export function loadOrThrow(root: string, stack: string): Model {
  const { model, errors } = loadModel(root, stack);
  if (!model) throw new UsageError(`the data does not validate (${errors.length} error(s)): run npm run validate -- --stack ${stack}`);
  return model;
}

/** npm run status (table entry and help: lib/cli/commands.ts). */
export async function runStatus(a: Args, io: Io): Promise<number> {
  const values = { stack: a.str("stack"), root: a.str("root"), wait: a.str("wait"), json: a.flag("json") };
  const positionals = a.positionals;
  const what = positionals[0];
  if (what !== "certs" && what !== "dnssec" && what !== "backups" && what !== "usage" && what !== "mail" && what !== "vps" && what !== "slow-queries" && what !== "health") throw new UsageError(`say what to show: certs, dnssec, backups, usage, mail, vps, health or slow-queries <member> (got ${what ?? "nothing"})`);
  const stack = defaultStack(values.stack, values.root);
  const root = values.root ?? REPO_ROOT;
  const wait = Number(values.wait ?? 0);
  if (!Number.isFinite(wait) || wait < 0 || wait > 3600) throw new UsageError("--wait must be seconds from 0 to 3600");
  const model = loadOrThrow(root, stack);
  if (what === "backups") {
    const plan = backupPlan(model);
    if (!plan) throw new UsageError(`stack ${stack} has no backup host (give a host the backup role in Pulumi.${stack}.yaml)`);
    return onStackHosts(root, stack, async () => {
      const rows = await readBackups(root, model, plan);
      io.out(values.json ? JSON.stringify(rows, null, 2) : formatBackups(rows, plan, volunteerLang()));
      return needsAttention(rows).length === 0 ? 0 : 1;
    });
  }
  if (what === "slow-queries") {
    const handle = positionals[1];
    if (!handle) throw new UsageError("name the member, like: npm run status -- slow-queries velo-libre");
    const days = Number(a.str("days") ?? 7);
    if (!Number.isInteger(days) || days < 1 || days > 365) throw new UsageError("--days must be a whole number of days from 1 to 365");
    if (!model.members.some((m) => m.handle === handle)) throw new UsageError(`no member ${handle} on stack ${stack} (members/<handle>/member.yaml)`);
    if (!model.databases.some((d) => d.handle === handle)) {
      io.out(`${handle}: no database`);
      return 0;
    }
    return onStackHosts(root, stack, async () => {
      const groups = await readSlowQueries(root, model, handle, days);
      io.out(values.json ? JSON.stringify(groups, null, 2) : formatSlowQueries(handle, groups, model.inventory.mariadb.slow_query_seconds, volunteerLang()));
      return 0;
    });
  }
  if (what === "health") {
    const url = alertmanagerUrl(model);
    if (!url) throw new UsageError(`stack ${stack} has no monitor host (give a host the monitor role in Pulumi.${stack}.yaml)`);
    return onStackHosts(root, stack, async () => {
      const firing = await readHealth(url);
      io.out(values.json ? JSON.stringify(firing, null, 2) : formatHealth(firing, new Date(), volunteerLang()));
      return firing.length === 0 ? 0 : 1;
    });
  }
  if (what === "mail") {
    if (!model.hosts.some((h) => h.roles.includes("mail"))) throw new UsageError(`stack ${stack} has no mail host (give a host the mail role in Pulumi.${stack}.yaml)`);
    return onStackHosts(root, stack, async () => {
      const rows = await readMail(root, model);
      io.out(values.json ? JSON.stringify(rows, null, 2) : formatMail(rows, new Date(), volunteerLang()));
      return mailNeedsAttention(rows) ? 1 : 0;
    });
  }
  if (what === "vps") {
    return onStackHosts(root, stack, async () => {
      const rows = await readVps(root, model);
      io.out(values.json ? JSON.stringify(rows, null, 2) : formatVps(rows, volunteerLang()));
      return vpsNeedsAttention(rows).length === 0 ? 0 : 1;
    });
  }
  if (what === "usage") {
    return onStackHosts(root, stack, async () => {
      const rows = await readUsage(root, model);
      io.out(values.json ? JSON.stringify(rows, null, 2) : formatUsage(rows, volunteerLang()));
      return rows.every((r) => !r.homeMissing && (quotaPercent(r) ?? 0) < NEAR_QUOTA_PERCENT && r.databases.every((d) => d.bytes !== undefined)) ? 0 : 1;
    });
  }
  return onStackHosts(root, stack, async () => {
    if (what === "certs") {
      let rounds = 0;
      const rows = await waitForCerts(root, model, wait, (r) => {
        if (wait > 0 && ++rounds % 5 === 1) io.err(`[status] ${r.filter((x) => x.state === "ok").length} of ${r.length} certificates live …`);
      });
      io.out(values.json ? JSON.stringify(rows, null, 2) : formatCerts(rows));
      return rows.every((r) => r.state === "ok") ? 0 : 1;
    }
    const rows = await readDnssec(root, model);
    io.out(values.json ? JSON.stringify(rows.map(({ raw: _raw, ...r }) => r), null, 2) : formatDnssec(rows));
    return rows.every((r) => (r.wanted ? r.keys.some((k) => !!k.since) : true)) ? 0 : 1;
  });
}

/** A host the route guard refuses to reach (lib/lab/reach.ts): one line and what to do (exit 1). */
export const expected = [LabError];
