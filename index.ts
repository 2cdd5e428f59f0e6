import { execFileSync } from "node:child_process";
import * as pulumi from "@pulumi/pulumi";
import { Backups } from "./components/backups";
import { DbServerSettings } from "./components/db-server-settings";
import { DnsServer } from "./components/dns-server";
import { FileSet } from "./components/file-set";
import { dkimOutput, MailServer } from "./components/mail-server";
import { Member } from "./components/member";
import { targetOf, type Target } from "./components/target";
import { WebServer } from "./components/web-server";
import { WebPart } from "./components/web-part";
import { DataError } from "./lib/load/diagnostic";
import { loadModel } from "./lib/check/build";
import { backupPlan } from "./lib/model/backup";
import { dkimRecordPlaces, MAIL_PATHS, mailDomainsOf, mailPlan, VMAIL_UID } from "./lib/model/mail";
import { detectAccel } from "./lib/host/accel";
import type { MachineFacts } from "./lib/model/facts";
import type { Model, ModelRecord } from "./lib/model/types";
import { FILE_SET_DAEMONS, renderAll, SERIAL_TOKEN, type RenderedFile } from "./lib/render";
import { renderAppendedRecords, zonePath } from "./lib/render/bind-zone";
import { renderCached } from "./lib/render/rendered-cache";
import { mailSetFiles, renderMailFiles } from "./lib/render/mail";
import { MONITORING_DIR } from "./lib/render/monitoring";
import { NODE_EXPORTER_DIR, renderAlertBridgeEnv, renderAlertBridgeUnit } from "./lib/render/monitoring-units";
import { monitoringPlan } from "./lib/model/monitoring";
import { AlertBridge } from "./components/alert-bridge";
import { Portal } from "./components/portal";
import { PortalPassword } from "./components/portal-password";
import { renderPortalEnv, renderPortalUnit } from "./lib/render/portal";
import { adoptedProps, adoptionOf } from "./provider/adopt-ids";
import { fileStoreOf } from "./provider/resources/file-store";
import { pruneStore } from "./provider/resources/file-store-prune";
import { buildPortalRelease } from "./provider/release-build";
import { REPO_ROOT } from "./lib/base/repo";
import { groupBy } from "./lib/base/group";
import { withoutSdkOverhead } from "./lib/base/sdk-overhead";
import { ownsFile, shardBackups, shardParts, shardProblem, shardView, splitStackName } from "./lib/model/shards";
import { loadShardModel } from "./lib/check/shard-index";
import type { StackSecretName } from "./lib/schema/inventory";

/**
 * Adoption mode (docs/architecture.md, "Adoption"; npm run up -- --adopt): each provider
 * resource the state lacks is imported from its host (the engine's import, the provider's
 * read) rather than created; `inState` (resourceKey()s) is filled by the caller from the
 * state before the run.
 */
export interface AdoptMode {
  inState: Set<string>;
}

/** What the program computes before it declares anything: the data loaded, checked and rendered for one engine stack. */
export interface PreparedProgram {
  /** The engine's stack name (`<stack>.<shard>` for a shard): a preparation serves that stack only. */
  engineStack: string;
  shard?: string;
  /** The data loaded (connection facts and backups read it); `model` is the shard's view of it. */
  whole: Model;
  model: Model;
  /** The web parts the shard declares (a bucket's: lib/model/shards.ts, shardParts). */
  parts: Array<{ host: string; part: string }>;
  /** The files of the shard's sets (its hosts' and its parts'; all hosts' without shards; FILE_SET_DAEMONS only), zone serials left as SERIAL_TOKEN for the provider. */
  files: RenderedFile[];
}

/**
 * The program's work before its first resource: a pure function of the data, the stack, the
 * machine's facts and the index's key, so the driver can run it while the CLI starts
 * (lib/engine/preload.ts). Throws the data's errors (DataError) and a shard's refusal.
 */
export function prepareProgram(root: string, engineStack: string, facts: MachineFacts = {}, indexKey?: string): PreparedProgram {
  // A sharded stack's engine stack is <stack>.<shard>: the data is Pulumi.<stack>.yaml's (docs/architecture.md, "Sharded stacks").
  const { stack, shard } = splitStackName(engineStack);
  // A shard with a verified index of the validated data loads its own members only
  // (lib/check/shard-index.ts, keyed by the stack's passphrase); otherwise the whole data.
  const { model: whole, errors, digest } = shard === undefined ? { ...loadModel(root, stack, facts), digest: undefined } : loadShardModel(root, stack, shard, facts, indexKey);
  if (!whole) throw new DataError(errors);
  const refused = shardProblem(whole, shard);
  if (refused) throw new Error(refused);
  // Connection facts and backups read `whole` (the data loaded); the resources declared are this shard's only.
  const model = shard === undefined ? whole : { ...whole, ...shardView(whole, shard) };
  // Zone serials are the provider's: it raises them only for zones whose content changed. A
  // shard renders its hosts' files only, and a bucket its part of its host's (its members').
  if (shard === undefined) return { engineStack, whole, model, parts: [], files: renderAll(whole, { serial: () => SERIAL_TOKEN, daemons: FILE_SET_DAEMONS }) };
  const parts = shardParts(whole, shard);
  const hosts = new Set(model.hosts.map((h) => h.name));
  // The same data and code render the same files: a shard keeps them for its next run (lib/render/rendered-cache.ts).
  const guard = digest && indexKey ? { root, engineStack, digest, key: indexKey, facts } : undefined;
  const { files } = renderCached(whole, guard, () =>
    renderAll(whole, { serial: () => SERIAL_TOKEN, daemons: FILE_SET_DAEMONS, hosts: new Set([...hosts, ...parts.map((p) => p.host)]) }).filter(ownsFile(hosts, parts)),
  );
  return { engineStack, shard, whole, model, parts, files };
}

/**
 * The Pulumi program: read the stack, load and validate the data, instantiate the components.
 * Exported as a function so the project's driver runs it inline through the Automation API,
 * and a stock Pulumi install runs it through the default export with `pulumi up`. `facts`: the
 * machine's, from whoever runs the engine here (the driver passes the lab's; lib/model/facts.ts).
 * `indexKey`: the stack's passphrase, which signs a shard's index of the validated data
 * (lib/check/shard-index.ts). `stackSecrets`: a shard's stack's secrets, from the driver (a
 * shard's stack has no config of its own; without them, the stack's config is read).
 * `preparedFor`: the driver's preparation of this run for the engine's stack, if it made one.
 */
export function program(
  root: string = __dirname,
  facts: MachineFacts = {},
  adopt?: AdoptMode,
  indexKey: string | undefined = process.env.PULUMI_CONFIG_PASSPHRASE,
  stackSecrets?: Partial<Record<StackSecretName, string>>,
  preparedFor?: (engineStack: string) => PreparedProgram | undefined,
): Record<string, unknown> {
  const engineStack = pulumi.getStack();
  // The driver may have prepared this run already, while the CLI started (lib/engine/preload.ts).
  const { shard, whole, model, parts, files } = preparedFor?.(engineStack) ?? prepareProgram(root, engineStack, facts, indexKey);
  const refusals = adopt ? adoptResources(adopt) : [];
  const targets = new Map<string, Target>(whole.hosts.map((h) => [h.name, targetOf(h, root)]));
  // The file sets' contents go to the engine as sha256 refs into this store on the runner (provider/resources/file-store.ts).
  const fileStore = fileStoreOf(root);
  // What no run used for a month goes (once a day at most; every content this run needs is written again below).
  const pruned = pruneStore(fileStore);
  if (pruned?.removed) void pulumi.log.info(`file store ${fileStore}: removed ${pruned.removed} file(s) no run used for a month (${(pruned.bytes / 1e6).toFixed(1)} MB), kept ${pruned.kept}`);
  const sshd = new Map(whole.hosts.map((h) => [h.name, { dropinDir: h.host.sshd.dropin_dir, pidFile: h.host.sshd.pid_file }]));
  const homeQuota = new Map(whole.hosts.map((h) => [h.name, h.host.home_quota]));
  const archiveDir = model.inventory.archive_dir;
  // Each member's sites, databases and VPS, in the model's order (one pass, not one per member).
  const sites = byHandle(model.sites);
  const databases = byHandle(model.databases);
  const vps = byHandle(model.vps);
  withoutSdkOverhead(() => {
    const members = model.members.map(
      (m) =>
        new Member(m.handle, {
          member: m,
          sites: sites.get(m.handle) ?? [],
          databases: databases.get(m.handle) ?? [],
          vps: vps.get(m.handle) ?? [],
          archiveDir,
          targets,
          sshd,
          homeQuota,
          contact: model.inventory.hostmaster,
          fileStore,
        }),
    );

    memberPortal(root, model, whole, members, targets, stackSecrets);

    // The mail host before the primary: the zones publish its DKIM keys' public halves.
    const appended = mailServers(whole, model.hosts, targets, fileStore);
    // The primary first: its copy of the zone transfer key makes the key the secondaries get.
    const transfers = model.hosts.some((h) => h.roles.includes("dns-secondary")) ? { rotation: model.inventory.dns_transfers.key_rotation } : undefined;
    const primaryHost = model.hosts.find((h) => h.roles.includes("dns-primary"));
    const primary = primaryHost ? new DnsServer(primaryHost.name, { target: targets.get(primaryHost.name) as Target, role: "primary", files: files.filter((f) => f.host === primaryHost.name), fileStore, transfers, appended }) : undefined;
    // The accounts on a web host that this shard declares: the pools and vhosts that run as them come after.
    const accountsOn = (host: string) => model.members.flatMap((m, i) => (m.webHost === host && members[i]?.account ? [members[i].account] : []));
    for (const h of model.hosts) {
      const mine = files.filter((f) => f.host === h.name && f.part === undefined);
      const target = targets.get(h.name) as Target;
      if (h.roles.includes("web")) {
        // FPM pools run as the members' users: their accounts on this host come first.
        new WebServer(h.name, { target, files: mine, fileStore }, { dependsOn: accountsOn(h.name) });
      }
      // Every database of the host, whichever shard declares it: a database host's shard loads the whole data.
      if (h.roles.includes("db") && whole.databases.some((d) => d.dbHost === h.name)) {
        new DbServerSettings(`${h.name}-mariadb`, { target, slowQuerySeconds: model.inventory.mariadb.slow_query_seconds, keepDays: model.inventory.mariadb.slow_log_keep_days });
      }
      if (h.roles.includes("monitor")) {
        // Prometheus, its rules, the blackbox exporter and Alertmanager: probes follow the data,
        // so a member added (or removed) in git is probed (or not) after this apply.
        const set: Record<string, string> = {};
        for (const f of mine) if (f.daemon === "monitoring") set[f.path.slice(MONITORING_DIR.length)] = f.content;
        new FileSet(`${h.name}-monitoring`, { target, kind: "monitoring", files: set, fileStore });
        alertBridge(whole, target, stackSecrets);
      }
      // With a monitor host, every host's node exporter (Debian's; the textfile directory holds the
      // backup runs' metrics) and the nftables table that opens its port to the monitor host only.
      const node: Record<string, string> = {};
      for (const f of mine) if (f.daemon === "node-exporter") node[f.path.slice(NODE_EXPORTER_DIR.length)] = f.content;
      if (Object.keys(node).length) new FileSet(`${h.name}-node-exporter`, { target, kind: "node-exporter", files: node, fileStore });
      if (h.roles.includes("dns-secondary") && !h.roles.includes("dns-primary")) {
        // After the primary: a new zone is loaded there before a secondary asks for it. Asked
        // first, the primary refuses, and BIND's secondary retries a zone it never loaded only
        // a minute or more later (measured in lab-multi: ns2 answered a new zone 116 s after the
        // apply began, ns1 at 23 s), which a NOTIFY sent before it knew the zone does not shorten.
        new DnsServer(h.name, { target, role: "secondary", files: mine, fileStore, transfers: transfers && { ...transfers, secret: primary?.transferSecret } }, primary ? { dependsOn: [primary] } : undefined);
      }
    }
    for (const { host, part } of parts) {
      // A split host's bucket: its members' vhosts and pools, after their accounts (in this stack too).
      new WebPart(`${host}-${part}`, { target: targets.get(host) as Target, part, files: files.filter((f) => f.host === host && f.part === part), fileStore }, { dependsOn: accountsOn(host) });
    }
    const backups = shard === undefined ? backupPlan(whole) : shardBackups(backupPlan(whole), model);
    // After the members: the first scheduled run finds their homes and databases in place.
    if (backups) new Backups("backups", { plan: backups, targets }, { dependsOn: members });
  });
  if (refusals.length > 0) throw new Error(`adoption refused, nothing was changed:\n${refusals.map((r) => `  ${r}`).join("\n")}`);

  return {
    members: model.members.length,
    sites: model.sites.length,
    databases: model.databases.length,
    vps: model.vps.length,
    zones: model.zones.length,
  };
}

/**
 * The mail host's component (docs/architecture.md, "Mail"): its file set rendered from the
 * plan with the mail host's own paths, one DKIM key per domain, for the mail hosts among `hosts`
 * (this shard's). Returns, per zone file of the
 * primary's set, the DKIM TXT records to append (their value is the keys' output).
 */
function mailServers(model: Model, hosts: Model["hosts"], targets: Map<string, Target>, fileStore: string): Record<string, pulumi.Output<string>> {
  const appended: Record<string, pulumi.Output<string>> = {};
  const inv = model.inventory;
  // A mail host's set is host-wide: rendered from the whole model, declared by its shard only
  // (whose stack also holds the DNS primary: lib/check/shards.ts).
  for (const h of hosts.filter((x) => x.roles.includes("mail"))) {
    const plan = mailPlan(model, h.name, { paths: MAIL_PATHS });
    const server = new MailServer(h.name, {
      target: targets.get(h.name) as Target,
      files: mailSetFiles(renderMailFiles(plan, VMAIL_UID, inv.mail.default_quota_mb, inv.hostmaster)),
      fileStore,
      domains: plan.domains,
      selector: plan.dkimSelector,
      retired: inv.mail.dkim_retired_selectors,
      archiveDir: inv.archive_dir,
      maildirs: mailDomainsOf(model, h.name),
      vmailDir: plan.paths.vmailDir,
    });
    const byZone = new Map<string, ReturnType<typeof dkimRecordPlaces>>();
    for (const p of dkimRecordPlaces(model, h.name)) byZone.set(p.zone, [...(byZone.get(p.zone) ?? []), p]);
    for (const zone of model.zones) {
      const places = byZone.get(zone.name);
      if (!places) continue;
      const path = zonePath(zone).slice("bind/".length);
      appended[path] = pulumi.all(places.map((p) => server.dkim[dkimOutput(p.selector, p.domain)] as pulumi.Output<string>)).apply((values) =>
        renderAppendedRecords(places.map((p, i) => ({ name: p.name, type: "TXT", value: values[i] as string, origin: "mail", why: `DKIM key ${p.selector} of ${p.domain}${p.retired ? " (retired: no longer signs, published until removed from mail.dkim_retired_selectors)" : ""}, made on ${h.name}` }) as ModelRecord)),
      );
    }
  }
  return appended;
}

/**
 * Gives every provider resource the state lacks the import id adoptionOf() derives from its
 * inputs (a stack transformation: the components stay as they are). Returns the refusals,
 * filled as the resources are declared.
 */
function adoptResources(adopt: AdoptMode): string[] {
  const refusals: string[] = [];
  pulumi.runtime.registerStackTransformation((a) => {
    const custom = a.resource instanceof pulumi.CustomResource;
    const first = adoptionOf({ type: a.type, name: a.name, custom, props: a.props as Record<string, unknown> }, adopt.inState);
    if (first.kind === "refuse") refusals.push(first.message);
    if (first.kind !== "import") return undefined;
    // Taken over from the host: a file set also takes over the hand-made definitions of its names.
    const props = adoptedProps(a.type, a.props as Record<string, unknown>);
    const d = adoptionOf({ type: a.type, name: a.name, custom, props }, adopt.inState);
    return { props, opts: { ...a.opts, import: d.kind === "import" ? d.importId : first.importId } };
  });
  return refusals;
}

function byHandle<T extends { handle: string }>(items: T[]): Map<string, T[]> {
  return groupBy(items, (i) => i.handle);
}

/** A stock `pulumi up` runs on the machine it applies from: its facts are this machine's. */
export default () => program(__dirname, { accel: detectAccel().domainType });

/**
 * The alert bridge on the monitor host (docs/architecture.md, "Monitoring"), when the inventory
 * names the GitLab project (monitoring.gitlab) and the webhook is the monitor host's own: its
 * unit, and its environment file with the GitLab token, a stack secret (never in git, argv or
 * a rendered file). Without the secret, nothing is installed and the apply says what to set.
 */
function alertBridge(model: NonNullable<ReturnType<typeof loadModel>["model"]>, target: Target, stackSecrets?: Partial<Record<StackSecretName, string>>): void {
  const plan = monitoringPlan(model);
  const gitlab = model.inventory.monitoring.gitlab;
  const unit = plan && renderAlertBridgeUnit(plan);
  if (!plan || !gitlab || !unit) return;
  // A shard's stack: handed by the driver from the stack's config (lib/engine/driver.ts, shardSecrets).
  const given = stackSecrets?.alertBridgeToken;
  const token = stackSecrets ? (given === undefined ? undefined : pulumi.secret(given)) : new pulumi.Config().getSecret("alertBridgeToken");
  if (!token) {
    // A sharded stack's secret is set in the stack's file through any of its shards' stacks (docs/architecture.md, "Sharded stacks").
    const where = stackSecrets ? ` --config-file Pulumi.${model.stack}.yaml --stack ${pulumi.getStack()}` : "";
    void pulumi.log.warn(`monitoring.gitlab is set but the stack has no alertBridgeToken: the alert bridge is not installed on ${plan.monitor.name} (pulumi config set --secret alertBridgeToken${where}, with no value: it asks for the project access token, which stays out of argv and shell history)`);
    return;
  }
  const env = token.apply((t) => renderAlertBridgeEnv({ api: gitlab.api, project: gitlab.project, token: t }));
  new AlertBridge(`${plan.monitor.name}-alert-bridge`, { target, unit, env });
}

/**
 * The member portal (docs/architecture.md, "Member portal"), when the inventory has portal: and
 * this stack (shard) holds its web host: one PortalPassword per member who can log in (made at
 * create, delivered in their home on their web host, after their account), and the Portal on its
 * web host with their hashes (a secret) and, when portal.gitlab is set and the stack has the
 * secret portalToken, the bot token in its environment file (request forms on). A shard declares
 * the passwords of its own members; the portal's credentials need every member's, so a sharded
 * stack gets the portal only from the shard holding its host and its members' passwords only from
 * theirs (left: the hashes of other shards' members; docs/architecture.md).
 */
function memberPortal(root: string, model: Model, whole: Model, members: Member[], targets: Map<string, Target>, stackSecrets?: Partial<Record<StackSecretName, string>>): void {
  const p = whole.inventory.portal;
  if (!p) return;
  const url = `https://${p.name}/`;
  const passwords: PortalPassword[] = [];
  model.members.forEach((m, i) => {
    const member = members[i];
    if (m.status === "departed" || !m.webHost || !member?.account) return;
    passwords.push(new PortalPassword(`${m.handle}-portal-password`, { target: targets.get(m.webHost) as Target, handle: m.handle, home: m.home, url }, { parent: member, dependsOn: [member.account] }));
  });
  if (!model.hosts.some((h) => h.name === p.host)) return;
  const given = stackSecrets?.portalToken;
  const token = p.gitlab ? (stackSecrets ? (given === undefined ? undefined : pulumi.secret(given)) : new pulumi.Config().getSecret("portalToken")) : undefined;
  if (p.gitlab && !token) {
    const where = stackSecrets ? ` --config-file Pulumi.${whole.stack}.yaml --stack ${pulumi.getStack()}` : "";
    void pulumi.log.warn(`portal.gitlab is set but the stack has no portalToken: the member portal on ${p.host} shows but takes no requests (pulumi config set --secret portalToken${where}, with no value: it asks for the bot's project access token, which stays out of argv and shell history)`);
  }
  const gitlab = p.gitlab;
  const env = gitlab && token ? token.apply((t) => renderPortalEnv({ api: gitlab.api, project: gitlab.project, token: t, ...(gitlab.url ? { url: gitlab.url } : {}) })) : "";
  const hashes = pulumi.all(passwords.map((pw) => pulumi.all([pw.handle, pw.hash])));
  const credentials = hashes.apply((list) => JSON.stringify(Object.fromEntries(list.filter(([, h]) => !!h).sort(([a], [b]) => a.localeCompare(b))), null, 2) + "\n");
  // What it runs (docs/architecture.md, "Shipping the code"): this checkout's portal bundled
  // now, and the data at the commit this apply read (its history for the audit page).
  const release = pulumi.output(buildPortalRelease(REPO_ROOT)).apply(({ sha256, file }) => ({ sha256, file }));
  const data = { repo: root, commit: appliedCommit(root), branch: p.gitlab?.target_branch ?? "main" };
  new Portal(`${p.host}-portal`, { target: targets.get(p.host) as Target, unit: renderPortalUnit(p, whole.stack, !!token), env, credentials, release, data }, { dependsOn: passwords });
}

/** The commit the data was read from: the portal shows it and its history. A data tree that is not a git checkout cannot be shipped. */
function appliedCommit(root: string): string {
  try {
    return execFileSync("git", ["-C", root, "rev-parse", "HEAD"], { stdio: ["ignore", "pipe", "pipe"] }).toString().trim();
  } catch {
    throw new Error(`the member portal is shipped with the data at the applied commit, and ${root} is not a git checkout with a commit (docs/architecture.md, "Shipping the code")`);
  }
}
