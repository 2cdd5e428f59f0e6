import { fpmPools, type DatabaseModel, type Model } from "../model/types";
import { bucketPart, memberBucket, splitHosts } from "../model/shards";
import { APACHE_COMMON_PATH, MD_EVENT_PATH, SUSPENDED_PAGE_PATH, renderApacheCommon, renderMdEvent, renderSuspendedPage } from "./apache-common";
import { renderVhost, vhostPath } from "./apache-vhost";
import { PORTAL_VHOST_PATH, renderPortalVhost } from "./portal";
import { NAMED_CONF_PATH, isDnsHost, renderNamedConf } from "./bind-named-conf";
import { renderZone, SERIAL_TOKEN, zonePath } from "./bind-zone";
import { cloudInitPath, renderMetaData, renderNetworkConfig, renderUserData } from "./cloud-init";
import { fpmPoolPath, renderFpmPool } from "./fpm-pool";
import { renderSiteLogrotate, SITE_LOGROTATE_PATH } from "./site-logrotate";
import { domainXmlPath, renderDomainXml } from "./libvirt-domain";
import { nwfilterPath, renderNwfilter } from "./libvirt-nwfilter";
import { DB_PASSWORD_PLACEHOLDER, databaseSqlPath, renderDatabaseSql } from "./mariadb-sql";
import { monitoringPlan } from "../model/monitoring";
import { MONITORING_DIR, renderMonitoring } from "./monitoring";
import { renderDaemonFiles } from "./monitoring-daemons";
import { NODE_EXPORTER_DIR, NODE_EXPORTER_FILE, NODE_EXPORTER_NFT, renderNodeExporterDropIn, renderNodeExporterNft } from "./monitoring-units";

export { renderApacheCommon, renderSuspendedPage } from "./apache-common";
export { renderVhost } from "./apache-vhost";
export { renderNamedConf } from "./bind-named-conf";
export { SERIAL_TOKEN, SOA_TIMERS, renderZone } from "./bind-zone";
export { renderMetaData, renderNetworkConfig, renderUserData } from "./cloud-init";
export { UnsafeValueError } from "./escape";
export { renderFpmPool } from "./fpm-pool";
export { renderDomainXml } from "./libvirt-domain";
export { NWFILTER_NAME, renderNwfilter } from "./libvirt-nwfilter";
export { DB_PASSWORD_PLACEHOLDER, renderDatabaseSql } from "./mariadb-sql";

/** One file as a host's daemon reads it. The CLI writes it to OUT/<host>/<path>. */
export interface RenderedFile {
  host: string;
  /** The daemon that reads the file: one file-set resource per host and daemon. */
  daemon: "apache2" | "php-fpm" | "bind" | "libvirt" | "cloud-init" | "mariadb" | "www" | "monitoring" | "node-exporter";
  /** Relative to the host's folder, with forward slashes. */
  path: string;
  content: string;
  /** Unix permissions when they must differ from 0644. */
  mode?: number;
  /**
   * A split web host's member vhost or pool: the part of the host's set it goes to, its
   * member's bucket's (lib/model/shards.ts, bucketPart), declared by that bucket's shard.
   */
  part?: string;
}

export interface RenderOptions {
  /** SOA serial of a zone; default 1 (the apply step supplies the real one). */
  serial?: (zone: string) => number | typeof SERIAL_TOKEN;
  /** Password of a database's user; default DB_PASSWORD_PLACEHOLDER, so no secret is rendered. */
  dbPassword?: (db: DatabaseModel) => string;
  /** Only the files of these hosts (a shard's program: docs/architecture.md, "Sharded stacks"); default every host. */
  hosts?: ReadonlySet<string>;
  /** Only the files these daemons read (the program's: FILE_SET_DAEMONS; the others' are not rendered, or not kept); default every daemon. */
  daemons?: ReadonlySet<RenderedFile["daemon"]>;
}

/**
 * The daemons whose files the program hands to file sets. The others' files are for `npm run
 * render` and the reviewers: a guest's domain and seed are rendered by its component
 * (components/guest-inputs.ts), a database's SQL by the provider with the real password; a
 * program that rendered them too (at 10,000 databases and 1,000 VPS, a tenth of a second of
 * `core`'s preparation) dropped them unread.
 */
export const FILE_SET_DAEMONS: ReadonlySet<RenderedFile["daemon"]> = new Set(["apache2", "php-fpm", "www", "bind", "monitoring", "node-exporter"]);

/**
 * Every config file the model implies, sorted by host then path. Pure: the same model and
 * options give byte-identical output.
 */
export function renderAll(model: Model, opts: RenderOptions = {}): RenderedFile[] {
  const serial = opts.serial ?? (() => 1);
  const dbPassword = opts.dbPassword ?? (() => DB_PASSWORD_PLACEHOLDER);
  const files: RenderedFile[] = [];
  // A rendered text is built piece by piece (Handlebars appends to a string): V8 keeps it as a
  // tree of the pieces until something reads it whole. Reading it once here, as it is made,
  // turns it into one flat string while the pieces are still young garbage; kept as trees, the
  // pieces of 100 MB of files would survive into the old generation and be copied and marked
  // there (at 10,000 members this was most of render's time). Same text either way.
  const daemon = (d: RenderedFile["daemon"]) => !opts.daemons || opts.daemons.has(d);
  const add = (f: RenderedFile) => {
    if (!daemon(f.daemon)) return;
    Buffer.byteLength(f.content);
    files.push(f);
  };

  const want = (host: string) => !opts.hosts || opts.hosts.has(host);
  const webHosts = model.hosts.filter((h) => h.roles.includes("web") && want(h.name)).map((h) => h.name);
  // A split host's member files go to their bucket's part (one hash per member, not per file).
  const split = splitHosts(model);
  const parts = new Map<string, string>();
  const partOf = (host: string, handle: string): { part?: string } => {
    const n = split.get(host);
    if (n === undefined) return {};
    let part = parts.get(handle);
    if (part === undefined) parts.set(handle, (part = bucketPart(memberBucket(handle, n))));
    return { part };
  };
  for (const host of webHosts) {
    add({ host, daemon: "apache2", path: APACHE_COMMON_PATH, content: renderApacheCommon(model) });
    if (model.inventory.acme) add({ host, daemon: "apache2", path: MD_EVENT_PATH, content: renderMdEvent(model) });
    add({ host, daemon: "apache2", path: SITE_LOGROTATE_PATH, content: renderSiteLogrotate(model) });
    // A split host's shard loads none of its members: its parts' vhosts may point at the page.
    if (split.has(host) || model.sites.some((s) => s.webHost === host)) {
      add({ host, daemon: "www", path: SUSPENDED_PAGE_PATH, content: renderSuspendedPage(model) });
    }
  }
  // The member portal's vhost, with its web host's other Apache files (checked and swapped together).
  const portal = model.inventory.portal;
  if (portal && webHosts.includes(portal.host)) add({ host: portal.host, daemon: "apache2", path: PORTAL_VHOST_PATH, content: renderPortalVhost(model) });
  for (const site of model.sites.filter((s) => want(s.webHost))) {
    add({ host: site.webHost, daemon: "apache2", path: vhostPath(site), content: renderVhost(site, model), ...partOf(site.webHost, site.handle) });
  }
  // A shard without a web host (core) does not work out every member's pools to keep none.
  for (const pool of webHosts.length === 0 ? [] : fpmPools(model).filter((p) => want(p.webHost))) {
    add({ host: pool.webHost, daemon: "php-fpm", path: fpmPoolPath(pool), content: renderFpmPool(pool, model), ...partOf(pool.webHost, pool.handle) });
  }

  for (const host of model.hosts.map((h) => h.name).filter((h) => want(h) && isDnsHost(model, h))) {
    add({ host, daemon: "bind", path: NAMED_CONF_PATH, content: renderNamedConf(model, host) });
  }
  for (const zone of model.zones.filter((z) => want(z.primary))) {
    add({ host: zone.primary, daemon: "bind", path: zonePath(zone), content: renderZone(zone, serial(zone.name)) });
  }

  // `add` drops another daemon's file; the guards below only spare rendering the costly ones.
  const vpsHere = model.vps.filter((v) => want(v.hypervisor));
  for (const host of [...new Set(vpsHere.filter((v) => v.network.type === "bridge").map((v) => v.hypervisor))]) {
    add({ host, daemon: "libvirt", path: nwfilterPath(), content: renderNwfilter() });
  }
  for (const vps of vpsHere) {
    if (daemon("libvirt")) add({ host: vps.hypervisor, daemon: "libvirt", path: domainXmlPath(vps), content: renderDomainXml(vps) });
    if (!daemon("cloud-init")) continue;
    add({ host: vps.hypervisor, daemon: "cloud-init", path: cloudInitPath(vps, "user-data"), content: renderUserData(vps) });
    add({ host: vps.hypervisor, daemon: "cloud-init", path: cloudInitPath(vps, "meta-data"), content: renderMetaData(vps) });
    add({ host: vps.hypervisor, daemon: "cloud-init", path: cloudInitPath(vps, "network-config"), content: renderNetworkConfig(vps) });
  }

  if (daemon("mariadb")) {
    for (const db of model.databases.filter((d) => want(d.dbHost))) {
      add({ host: db.dbHost, daemon: "mariadb", path: databaseSqlPath(db), content: renderDatabaseSql(db, dbPassword(db)), mode: 0o600 });
    }
  }

  // The monitor host's Prometheus, rules, blackbox and Alertmanager files: probes follow the data.
  const plan = monitoringPlan(model);
  for (const [path, content] of Object.entries(plan && !want(plan.monitor.name) ? {} : renderMonitoring(plan, model))) {
    add({ host: (plan as NonNullable<typeof plan>).monitor.name, daemon: "monitoring", path: `${MONITORING_DIR}${path}`, content });
  }
  // With a monitor host, every host's node exporter: its own address, the textfile collector,
  // and its port open to the monitor host only (an nftables table of its own).
  if (plan) {
    for (const h of model.hosts.filter((x) => want(x.name))) {
      add({ host: h.name, daemon: "node-exporter", path: `${NODE_EXPORTER_DIR}${NODE_EXPORTER_FILE}`, content: renderNodeExporterDropIn(h) });
      add({ host: h.name, daemon: "node-exporter", path: `${NODE_EXPORTER_DIR}${NODE_EXPORTER_NFT}`, content: renderNodeExporterNft(h, plan.monitor) });
      // The daemons its roles expect, checked every minute for the node exporter (DaemonNotRunning).
      for (const [path, content] of Object.entries(renderDaemonFiles(h, model))) add({ host: h.name, daemon: "node-exporter", path: `${NODE_EXPORTER_DIR}${path}`, content });
    }
  }

  // Plain code-unit comparison, not localeCompare: the order must not depend on the locale.
  const key = (f: RenderedFile) => [f.host, f.path] as const;
  files.sort((a, b) => {
    const [ah, ap] = key(a);
    const [bh, bp] = key(b);
    return ah < bh ? -1 : ah > bh ? 1 : ap < bp ? -1 : ap > bp ? 1 : 0;
  });
  for (let i = 1; i < files.length; i++) {
    const [prev, cur] = [files[i - 1] as RenderedFile, files[i] as RenderedFile];
    if (prev.host === cur.host && prev.path === cur.path) throw new Error(`two rendered files share ${cur.host}/${cur.path}`);
  }
  return files;
}
