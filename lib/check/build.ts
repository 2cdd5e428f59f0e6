import type { Diagnostic } from "../load/diagnostic";
import { sortDiagnostics } from "../load/diagnostic";
import type { LoadCacheOptions } from "../load/load-cache";
import { loadTree, type LoadedTree } from "../load/tree";
import { checkDatabaseNames } from "./databases";
import { checkBackupHost, checkDnsHosts, checkMonitorHost, checkPortalHost, checkSshForwardAddresses, memberHost } from "./hosts";
import { checkDuplicateSiteNames, checkPhpVersions, siteNameClaims } from "./sites";
import { checkAddresses, checkPlacement, vpsEntries, type VpsEntry } from "./vps";
import { checkZoneNesting, checkZoneOwners, checkZoneRecords, type PlacedRecord } from "./zones";
import { checkCaa, deriveCaa } from "./caa";
import { checkPtr } from "./ptr";
import { checkDepartedLeftovers } from "./departed";
import { checkDnsRules } from "./dns-rules";
import { checkMail, checkMailHost } from "./mail";
import { checkMailCollisions, deriveMailRecords } from "./mail-records";
import { checkFpmPoolAgreement } from "./fpm-pools";
import { checkDiskQuotaWithinMax, checkPhpSettingsWithinMax, memberQuota } from "./php-settings";
import { poolFieldsOf } from "../schema/site-scope";
import { cmp, invPath, makeCtx, type Ctx } from "./context";
import { dbClientHost } from "../model/db-client";
import { paths } from "../model/paths";
import { deriveRecords, sortRecords } from "./records";
import type { DatabaseModel, HostModel, MemberModel, Model, SiteModel, VpsModel, ZoneModel } from "../model/types";
import { autoDomainType, type MachineFacts } from "../model/facts";
import { sshForwardPorts } from "./lab-ports";
import { checkShards } from "./shards";

/**
 * Loads the data tree for a stack and builds the model; errors (sorted) mean nothing may be
 * applied. `facts` are the machine's (lib/model/facts.ts), given by the tool that runs here;
 * `changed` the data files changed against the base (git), on which duplicates are blamed.
 */
export function loadModel(root: string, stack: string, facts: MachineFacts = {}, opts: { changed?: ReadonlySet<string>; cache?: LoadCacheOptions } = {}): { model?: Model; errors: Diagnostic[]; warnings: Diagnostic[] } {
  const { tree, errors } = loadTree(root, stack, undefined, opts.cache);
  if (opts.changed) tree.changed = opts.changed;
  const built = buildModel(tree, facts);
  const all = sortDiagnostics([...errors, ...built.errors]);
  const warnings = sortDiagnostics(built.warnings ?? []);
  return all.length === 0 ? { model: built.model, errors: [], warnings } : { errors: all, warnings };
}

/**
 * `warnings` (only with a model): what validate prints without refusing the data. `part`: the
 * tree is a shard's part (loadTree's TreePart: some members, no zone) of data whose whole passed
 * these checks (lib/check/shard-index.ts): the zones, their records and mail, which read every
 * file, are neither checked nor built (empty in the model).
 */
export function buildModel(tree: LoadedTree, facts: MachineFacts = {}, part = false): { model?: Model; errors: Diagnostic[]; warnings?: Diagnostic[] } {
  if (!tree.inventory) return { errors: [] };
  const ctx = makeCtx(tree, tree.inventory);
  const inv = ctx.inventory.value;

  const hosts: HostModel[] = Object.entries(inv.hosts)
    .sort(([a], [b]) => cmp(a, b))
    .map(([name, h]) => ({ name, roles: h.roles, fqdn: h.fqdn, address: h.address, ipv4: h.ipv4 ?? (h.address.includes(":") ? undefined : h.address), ipv6: h.ipv6 ?? (h.address.includes(":") ? h.address : undefined), host: h }));
  const dns = checkDnsHosts(ctx);
  checkBackupHost(ctx);
  checkMonitorHost(ctx);
  checkPortalHost(ctx);
  checkSshForwardAddresses(ctx);
  checkShards(ctx);

  const members: MemberModel[] = [];
  const sites: SiteModel[] = [];
  const databases: DatabaseModel[] = [];
  for (const m of ctx.current) {
    const mv = m.value;
    const webHost = mv.sites.length > 0 ? memberHost(ctx, m, "web") : undefined;
    const dbHost = mv.databases.length > 0 ? memberHost(ctx, m, "db") : undefined;
    if (mv.cron.length > 0 && mv.sites.length === 0) {
      ctx.report.at(m.src, ["cron"], {
        en: `${mv.handle} has no site, so no account on a web host to run its jobs in (add a site, or remove cron)`,
        fr: `${mv.handle} n'a aucun site, donc pas de compte sur un hôte web où lancer ses tâches (ajoutez un site, ou retirez cron)`,
      });
    }
    members.push({ handle: mv.handle, name: mv.name, status: mv.status, email: mv.contact.email, sshKeys: mv.ssh_keys, access: mv.access, ...(mv.sftp_password_hash ? { passwordHash: mv.sftp_password_hash } : {}), ...memberQuota(mv, inv), cron: mv.cron, webHost, home: paths.home(mv.handle), file: m.src.file });
    if (webHost) {
      for (const s of mv.sites) {
        sites.push({
          handle: mv.handle, status: mv.status, host: s.host, aliases: s.aliases, redirects: s.redirects, php: s.php, tls: s.tls, dns: s.dns, webHost,
          docroot: s.webroot ? `${paths.docroot(mv.handle, s.host)}/${s.webroot}` : paths.docroot(mv.handle, s.host), fpmSocket: s.php === "none" ? undefined : paths.fpmSocket(mv.handle, s.php), poolFields: poolFieldsOf(s), file: m.src.file,
        });
      }
    }
    if (dbHost) {
      const web = webHost ? inv.hosts[webHost] : undefined;
      const db = inv.hosts[dbHost];
      // One rule for the account's host part (lib/model/db-client.ts): the socket on one machine, else the web host's address.
      const clientHost = web && db ? dbClientHost(web, db) : "localhost";
      if (clientHost === undefined && webHost) {
        ctx.report.at(ctx.inventory.src, invPath(ctx, "hosts", webHost), {
          en: `web host ${webHost} has no ${db?.address.includes(":") ? "IPv6" : "IPv4"} address, and the database host ${dbHost} is reached at ${db?.address} (give ${webHost} an address of that family, or move the databases of ${mv.handle} with db_host)`,
          fr: `l'hôte web ${webHost} n'a pas d'adresse ${db?.address.includes(":") ? "IPv6" : "IPv4"}, et l'hôte de bases de données ${dbHost} est joint à ${db?.address} (donnez à ${webHost} une adresse de cette famille, ou déplacez les bases de ${mv.handle} avec db_host)`,
        });
        continue;
      }
      for (const d of mv.databases) {
        const limits = { ...mv.db_limits, ...d.limits };
        databases.push({
          handle: mv.handle, status: mv.status, name: d.name, user: d.name, dbHost, clientHost: clientHost ?? "localhost", limits: { ...limits, max_user_connections: limits.max_user_connections ?? 20 }, webHost, file: m.src.file,
          ...(d.rotate_password !== undefined ? { rotation: String(d.rotate_password) } : {}),
        });
      }
    }
  }
  const claims = siteNameClaims(ctx);
  checkDuplicateSiteNames(ctx, claims);
  checkPhpVersions(ctx);
  checkFpmPoolAgreement(ctx);
  checkPhpSettingsWithinMax(ctx);
  checkDiskQuotaWithinMax(ctx);
  checkDatabaseNames(ctx);
  checkDepartedLeftovers(ctx);

  const entries = vpsEntries(ctx);
  checkPlacement(ctx, entries);
  checkAddresses(ctx, entries);
  const ports = sshForwardPorts(ctx, entries);
  const vps = entries.map((e) => vpsModel(ctx, e, ports.get(e) ?? 0, facts));

  const { zones, mail } = part ? { zones: [], mail: [] } : zonesAndMail(ctx, tree, { claims, sites, vps, hosts, dns });

  if (ctx.report.errors.length > 0) return { errors: ctx.report.errors };
  return {
    model: {
      stack: tree.stack,
      inventory: inv,
      hosts,
      members,
      sites: sites.sort((a, b) => cmp(a.host, b.host)),
      databases: databases.sort((a, b) => cmp(a.name, b.name)),
      vps,
      zones,
      mail,
    },
    errors: [],
    warnings: ctx.report.warnings,
  };
}

/** The zones with every record (typed, derived, CAA, mail's) and the mail domains, checked across every file. */
function zonesAndMail(
  ctx: Ctx,
  tree: LoadedTree,
  { claims, sites, vps, hosts, dns }: { claims: ReturnType<typeof siteNameClaims>; sites: SiteModel[]; vps: VpsModel[]; hosts: HostModel[]; dns: ReturnType<typeof checkDnsHosts> },
): Pick<Model, "zones" | "mail"> {
  const inv = ctx.inventory.value;
  checkZoneOwners(ctx);
  const refused = checkZoneNesting(ctx);
  const mail = checkMail(ctx, checkMailHost(ctx));
  const records = [...deriveRecords(ctx, { claims, sites, vps, hosts, nameservers: nameservers(hosts, dns), refused }), ...deriveMailRecords(ctx, mail, hosts)];
  const placed = [...records, ...deriveCaa(ctx, claims, records)];
  checkMailCollisions(ctx, placed, mail);
  checkZoneRecords(ctx, placed);
  checkDnsRules(ctx, placed);
  checkCaa(ctx, claims, placed);
  checkPtr(ctx, placed, vps, refused);

  const byZone = new Map<string, PlacedRecord[]>();
  for (const p of placed) {
    const list = byZone.get(p.zone) ?? [];
    list.push(p);
    byZone.set(p.zone, list);
  }
  const ns = nameservers(hosts, dns).map((n) => `${n}.`);
  const zones: ZoneModel[] = [...tree.zones.entries()]
    .sort(([a], [b]) => cmp(a, b))
    .map(([name, z]) => ({
      name,
      reverse: name.endsWith(".arpa"),
      owner: z.value.owner,
      ttl: z.value.ttl,
      dnssec: z.value.dnssec,
      ...(z.value.dnssec_policy ? { dnssecPolicy: z.value.dnssec_policy } : {}),
      records: sortRecords((byZone.get(name) ?? []).map((p) => p.record)),
      primary: dns.primary ?? "",
      secondaries: dns.secondaries,
      nameservers: ns,
      hostmaster: hostmasterName(inv.hostmaster),
      file: z.src.file,
    }));
  return { zones, mail };
}

function nameservers(hosts: HostModel[], dns: { primary?: string; secondaries: string[] }): string[] {
  const names = [dns.primary, ...dns.secondaries].filter((n): n is string => !!n);
  return names.map((n) => hosts.find((h) => h.name === n)?.fqdn).filter((f): f is string => !!f);
}

/** SOA RNAME: the mailbox's local part dots escaped, "@" becoming a dot. */
function hostmasterName(email: string): string {
  const at = email.lastIndexOf("@");
  return `${email.slice(0, at).replace(/\./g, "\\.")}.${email.slice(at + 1)}.`;
}

function vpsModel(ctx: Ctx, e: VpsEntry, sshForwardPort: number, facts: MachineFacts): VpsModel {
  const inv = ctx.inventory.value;
  const v = e.vps.value;
  const handle = e.member.value.handle;
  const domain = `${handle}--${e.name}`;
  const hv = inv.hosts[v.hypervisor];
  const lv = hv?.libvirt;
  const imagesDir = lv?.images_dir ?? "/var/lib/libvirt/images/globenet";
  const image = inv.images[v.image];
  return {
    handle,
    name: e.name,
    status: e.member.value.status,
    domain,
    hypervisor: v.hypervisor,
    vcpus: v.vcpus,
    memoryMb: v.memory_mb,
    diskGb: v.disk_gb,
    image: v.image,
    imagePath: image?.path ?? "",
    osVariant: image?.os_variant ?? "debian12",
    diskPath: paths.vpsDisk(imagesDir, domain),
    seedPath: paths.vpsSeed(imagesDir, domain),
    ipv4: v.ipv4 && e.pool4 ? { address: v.ipv4, ...e.pool4 } : undefined,
    ipv6: v.ipv6 && e.pool6 ? { address: v.ipv6, ...e.pool6 } : undefined,
    mac: e.mac,
    fqdn: vpsFqdn(ctx, handle, e.name, v.dns_name),
    sshKeys: v.ssh_keys ?? e.member.value.ssh_keys,
    resolvers: inv.resolvers,
    domainType: lv?.domain_type === "auto" ? autoDomainType(facts) : (lv?.domain_type ?? "kvm"),
    shutdownTimeoutSec: lv?.shutdown_timeout_sec ?? 90,
    network: lv?.network.type === "user" ? { type: "user", sshForwardPort, sshForwardAddress: lv.network.ssh_forward_address } : { type: "bridge", bridge: lv?.network.type === "bridge" ? lv.network.bridge : "br0" },
    instanceId: `iid-${domain}`,
    directBoot: image?.boot
      ? {
          kernel: paths.vpsKernel(imagesDir, domain),
          initrd: paths.vpsInitrd(imagesDir, domain),
          cmdline: image.boot.cmdline,
          kernelSource: image.boot.kernel,
          initrdSource: image.boot.initrd,
        }
      : undefined,
    file: e.vps.src.file,
  };
}

/** A VPS is known as its declared dns_name, else <name>.<handle>.vps.<Globenet's domain>. */
export function vpsFqdn(ctx: Ctx, handle: string, name: string, dnsName?: string): string {
  return dnsName ?? `${name}.${handle}.vps.${ctx.inventory.value.domain}`;
}
