/**
 * `npm run lab` (--topology multi, the default): the lab as Globenet's real topology. One network namespace
 * per inventory host of Pulumi.lab-multi.yaml (lib/lab/netns.ts), each with its own sshd on its
 * own address, port 22, with its own host key, and only the daemons of its roles, started there
 * through netns.ts's onHost (daemons.ts's Place). The engine applies stack lab-multi from this
 * machine's namespace, reaching each host by its inventory address, exactly as CI reaches prod.
 *
 * What runs where (docs/architecture.md, "Multi-host lab"):
 *   every host   sshd (its address:22, .lab/ssh/<host>/host_key), the deploy user
 *   web          Apache + PHP-FPM + the md-reload watcher (Listen on the host's addresses)
 *   db           MariaDB (bind-address: the host's addresses; the admin connection on the socket)
 *   dns-primary  BIND with the machine's /etc/bind; dns-secondary: BIND with its own /etc/bind,
 *                /var/cache/bind, /var/lib/bind and /run/named (private folders)
 *   hypervisor   its own virtlogd and libvirtd (its guests' QEMU processes run in its namespace), with
 *                its own /etc/libvirt, /var/lib/libvirt, /var/log/libvirt, /var/cache/libvirt,
 *                /run/libvirt and pid files (libvirt-host.ts)
 *   backup       its sshd lets the backup account in
 *   ca           (not an inventory host) pebble, at the address acme.directory names
 * and a cron in each host that has backup jobs, reading the host's own /etc/cron.d.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Stack, UpResult } from "@pulumi/pulumi/automation";
import { DataError } from "../load/diagnostic";
import { loadModel } from "../check/build";
import type { HostModel, Model } from "../model/types";
import { backupPlan } from "../model/backup";
import { beforeChange, restore } from "./backup";
import { ApplyWatch, countByType, databasesOnServer, digSoa, httpGet, httpsGet, waitForSsh } from "./checks";
import { waitForCerts } from "../status/cert-wait";
import { formatCerts, type CertStatus } from "../status/certs";
import { apache, bind, cron, ensureDaemon, fpm, LIBVIRT_URI, libvirtd, mariadb, mdReload, pebble, recorded, sshd, stopDaemon, virtlogd, type DaemonCtx, type LabDaemon, type Place } from "./daemons";
import { bindPrivateDirs } from "./bind-host";
import { LIBVIRT_HOST_FILES, libvirtPrivateDirs } from "./libvirt-host";
import { ensureDeployUser, ensureSudoers, writeKnownHostsMulti } from "./host";
import { ensureHostKey, ensureLabKeys } from "./keys";
import { bracket, MOUNT_NS_DIR, netnsName, onHost, runOnHost, topologyDown, topologyUp, type NetHost, type Topology } from "./netns";
import { machineFacts, onStackHosts, openLabStackNamed, stackResources } from "./open-stack";
import { acmeAddress, acmeDiagnostics, pebbleRootFile, usesPebble } from "./pebble";
import { ensureLabImages, usedImages } from "./image";
import { ensureLabDirs, labPaths, type LabPaths } from "./paths";
import { forgetTopology, readTopology, writeTopology, type TopologyRecord } from "./topology-record";
import { comm, LabError, run, say, secs, step, why } from "../base/proc";
import { mustStayOnMachine } from "./reach";
import { daemonsCheck, LAB_GITLAB_PORT, MONITOR_PIDS, monitorDaemons, nodeExporter, postfixExporter } from "./monitoring";
import { PORTS } from "../model/monitoring";
import { mailDaemons, removeMailLeftovers } from "./mail";
import { setMailSetAside } from "./mail-set-aside";

export const MULTI_STACK = "lab-multi";
/** The lab's namespaces and links: gn-web1, gn-bridge, gn-lab … (tests use prefixes of their own). */
export const LAB_PREFIX = "gn";
/** This machine on the lab's bridge: where the engine and the provider connect from (never 192.0.2.1/2, the machine's own network). */
export const RUNNER = ["192.0.2.254", "2001:db8::fe"];
/** The lab's own namespace for pebble (not an inventory host). */
export const CA_HOST = "ca";
const CERT_WAIT_S = 90;
const SSH_WAIT_MS = 300_000;

export interface MultiHost {
  name: string;
  roles: string[];
  /** Its address, then ipv4 and ipv6 when they differ: where its daemons listen. */
  addresses: string[];
  address: string;
  port: number;
  hostKey: string;
  hostKeyPub: string;
}

export interface MultiFacts {
  model: Model;
  user: string;
  hosts: MultiHost[];
  /** pebble's address (the "ca" namespace) when the stack's CA is the lab's pebble. */
  ca?: string;
  topology: Topology;
  /** Files each host has its own of, bind-mounted over the machine's in its mount namespace. */
  files: Array<{ host: string; path: string; own: string; content: string }>;
  ctx: DaemonCtx;
}

function addressesOf(h: HostModel): string[] {
  return [...new Set([h.address, h.ipv4, h.ipv6].filter((a): a is string => !!a))];
}

function requireRoot(): void {
  if (typeof process.getuid === "function" && process.getuid() !== 0) {
    throw new LabError("the lab starts system daemons, network namespaces and edits /etc: it must run as root", "run it again as root (sudo -E npm run lab)");
  }
}

const PROTECTED = ["web", "db", "dns-primary", "hypervisor"];

/** Reads Pulumi.lab-multi.yaml (and members/, zones/) and derives the topology from it. Pure but for key files. */
export function loadMulti(root: string, p: LabPaths, prefix = LAB_PREFIX): MultiFacts {
  const { model, errors } = loadModel(root, MULTI_STACK, machineFacts());
  if (!model) throw new DataError(errors);
  const file = `Pulumi.${MULTI_STACK}.yaml`;
  const loop = model.hosts.filter((h) => h.address.startsWith("127.") || h.address === "::1");
  if (loop.length) throw new LabError(`${file}: every host of the multi-host lab has its own address, but ${loop.map((h) => h.name).join(", ")} is on the loopback`, "give each host its prod address (Pulumi.prod.yaml)");
  const users = [...new Set(model.hosts.map((h) => h.host.ssh.user))];
  if (users.length !== 1 || users[0] === "root") throw new LabError(`${file}: the lab has one deploy user (not root) on every host, but the hosts name ${users.join(", ")}`, "give every host ssh.user: globenet-deploy");
  const user = users[0] as string;
  for (const role of ["web", "db", "dns-primary"] as const) {
    const n = model.hosts.filter((h) => h.roles.includes(role)).length;
    if (n > 1) throw new LabError(`${file}: ${n} hosts have the role ${role}; the lab runs one of its daemon (one /etc/apache2, one /var/lib/mysql, one primary /etc/bind on this machine)`, "keep one such host in the lab's stack");
  }
  if (model.hosts.some((h) => h.name === CA_HOST)) throw new LabError(`${file}: the host name ${CA_HOST} is the lab's own namespace for pebble`, "rename that host");
  const acme = model.inventory.acme;
  const caAddr = acme ? acmeAddress(acme) : undefined;
  const ca = caAddr && usesPebble(acme, caAddr) && !model.hosts.some((h) => addressesOf(h).includes(caAddr)) ? caAddr : undefined;
  const plan = backupPlan(model);
  const cronHosts = new Set([...(plan?.hosts.map((h) => h.host) ?? []), ...(plan ? [plan.backupHost.name] : []), ...model.hosts.filter((h) => h.roles.includes("web")).map((h) => h.name)]);
  const stateDir = join(p.lab, "hosts");
  const files: MultiFacts["files"] = [];
  const primaryNs = model.hosts.find((h) => h.roles.includes("dns-primary"));
  const monitored = model.hosts.some((h) => h.roles.includes("monitor"));
  const hosts: NetHost[] = model.hosts.map((h) => {
    const dirs: NetHost["privateDirs"] = [];
    // A second BIND on one machine: its own configuration, zones, keys and pid file.
    if (h.roles.includes("dns-secondary") && !h.roles.includes("dns-primary")) {
      dirs.push(...bindPrivateDirs());
    }
    if (h.roles.includes("hypervisor")) {
      // Each hypervisor its own libvirt: configuration, domains, logs, cache, sockets and pid files.
      dirs.push(...libvirtPrivateDirs());
      for (const path of LIBVIRT_HOST_FILES) files.push({ host: h.name, path, own: join(stateDir, h.name, path), content: "" });
    }
    if (cronHosts.has(h.name)) {
      // Each host's cron reads its own /etc/cron.d (where the provider puts that host's backup
      // schedule) and runs its jobs in the host's namespace, so they reach bk by its address.
      dirs.push({ path: "/etc/cron.d", seed: false });
      files.push({ host: h.name, path: "/run/crond.pid", own: join(stateDir, h.name, "run", "crond.pid"), content: "" });
      if (!h.roles.includes("web")) {
        // Members' crontabs and Debian's /etc/crontab run once, on the web host's cron, as in prod.
        dirs.push({ path: "/var/spool/cron/crontabs", seed: false });
        files.push({ host: h.name, path: "/etc/crontab", own: join(stateDir, h.name, "etc", "crontab"), content: `# globenet-infra lab: lab host ${h.name}'s own (empty) crontab; Debian's runs on the web host.\n` });
      }
    }
    if (monitored) {
      // Every host's node-exporter file set (/etc/prometheus/globenet-node) and the backup runs'
      // metrics (Debian's textfile directory) are each host's own, as on separate machines; the
      // monitor host keeps the machine's /etc/prometheus, where its monitoring set lives.
      dirs.push({ path: "/var/lib/prometheus/node-exporter", seed: false });
      if (!h.roles.includes("monitor")) dirs.push({ path: "/etc/prometheus", seed: true });
    }
    if (h.roles.includes("monitor") && primaryNs) {
      // The blackbox exporter resolves the sites' names as a volunteer's browser would: through
      // Globenet's name server (the lab's ns1; nothing outside the machine is asked).
      files.push({ host: h.name, path: "/etc/resolv.conf", own: join(stateDir, h.name, "etc", "resolv.conf"), content: `# globenet-infra lab: lab host ${h.name} asks the lab's primary name server.\nnameserver ${primaryNs.address}\n` });
    }
    return { name: h.name, addresses: addressesOf(h), privateDirs: dirs };
  });
  if (ca) hosts.push({ name: CA_HOST, addresses: [ca] });
  const topology: Topology = { prefix, stateDir, hosts, runner: RUNNER };
  const multiHosts: MultiHost[] = model.hosts.map((h) => {
    const k = ensureHostKey(root, h.name);
    return { name: h.name, roles: h.roles, addresses: addressesOf(h), address: h.address, port: h.host.ssh.port, hostKey: k.hostKey, hostKeyPub: k.hostKeyPub };
  });
  const web = model.hosts.find((h) => h.roles.includes("web"));
  const sshdFacts = web?.host.sshd ?? { dropin_dir: "/var/lib/globenet-lab/sshd_config.d", pid_file: "/run/globenet-lab-sshd.pid" };
  const ctx: DaemonCtx = { paths: p, sshPort: 22, sshd: { dropinDir: sshdFacts.dropin_dir, pidFile: sshdFacts.pid_file }, hostKey: "", phpVersions: model.inventory.php_versions, acme };
  return { model, user, hosts: multiHosts, ca, topology, files, ctx };
}

/** Where a daemon of `host` runs: through onHost, seeing the host's private folders and files. */
export function placeOf(f: Pick<MultiFacts, "topology" | "files">, host: string): Place {
  const h = f.topology.hosts.find((x) => x.name === host);
  if (!h) throw new LabError(`no lab host ${host} in the topology`);
  const dirs = (h.privateDirs ?? []).map((d) => d.path);
  const own = f.files.filter((x) => x.host === host);
  return {
    host,
    wrap: (cmd, args) => onHost(f.topology, host, cmd, args),
    addresses: h.addresses,
    path: (p) => {
      const file = own.find((x) => x.path === p);
      if (file) return file.own;
      const d = dirs.find((x) => p === x || p.startsWith(`${x}/`));
      return d ? join(f.topology.stateDir, host, p) : p;
    },
    suffix: `-${host}`,
    present: () => existsSync(`/run/netns/${netnsName(f.topology, host)}`),
  };
}

/** The daemons of the multi-host lab in start order, each in its host's namespaces. */
export function multiDaemons(f: MultiFacts): LabDaemon[] {
  const with_ = (role: string) => f.hosts.filter((h) => h.roles.includes(role));
  const backupUser = f.model.inventory.backup?.user ?? "globenet-backup";
  const out: LabDaemon[] = [];
  for (const h of f.hosts) {
    const ctx: DaemonCtx = { ...f.ctx, sshPort: h.port, hostKey: h.hostKey, sshd: h.roles.includes("web") ? f.ctx.sshd : { dropinDir: f.ctx.sshd.dropinDir, pidFile: `/run/globenet-lab-sshd-${h.name}.pid` } };
    // Members log in on the web host only, as in prod; the backup host lets the backup account in.
    const allow = h.roles.includes("web") ? undefined : [f.user, ...(h.roles.includes("backup") ? [backupUser] : [])];
    out.push(sshd(ctx, placeOf(f, h.name), allow));
  }
  for (const h of [...with_("dns-primary"), ...with_("dns-secondary").filter((h) => !h.roles.includes("dns-primary"))]) out.push(bind(f.ctx, placeOf(f, h.name)));
  const primary = with_("dns-primary")[0];
  if (f.ca && f.ctx.acme && usesPebble(f.ctx.acme, f.ca)) out.push(pebble(f.ctx, f.ctx.acme, placeOf(f, CA_HOST), primary?.address ?? "127.0.0.1"));
  const web = with_("web")[0];
  if (web) {
    const at = placeOf(f, web.name);
    out.push(apache(f.ctx, at));
    if (f.ctx.acme) out.push(mdReload(f.ctx, at));
    for (const v of f.ctx.phpVersions) out.push(fpm(f.ctx, v, at));
  }
  const db = with_("db")[0];
  if (db) out.push(mariadb(f.ctx, placeOf(f, db.name)));
  // Postfix, Dovecot and OpenDKIM in the mail host's namespace, started after the apply (lib/lab/mail.ts).
  const mail = with_("mail")[0];
  if (mail) out.push(...mailDaemons(f.ctx.paths, placeOf(f, mail.name)));
  // Each hypervisor its own virtlogd and libvirtd, in its namespaces (libvirt-host.ts).
  for (const hv of with_("hypervisor")) {
    const at = placeOf(f, hv.name);
    out.push(virtlogd(f.ctx, at), libvirtd(f.ctx, at));
  }
  for (const x of f.files.filter((x) => x.path === "/run/crond.pid")) out.push(cron(f.ctx, placeOf(f, x.host)));
  // Monitoring (issue 21): every host's node exporter, then the monitor host's daemons.
  const monitor = with_("monitor")[0];
  if (monitor) {
    for (const h of f.hosts) out.push(nodeExporter(f.ctx.paths, placeOf(f, h.name)), daemonsCheck(f.ctx.paths, placeOf(f, h.name)));
    out.push(...monitorDaemons(f.ctx.paths, placeOf(f, monitor.name)));
    // The mail host's queue, for the monitor host (after the apply, once Postfix runs).
    if (mail) out.push(postfixExporter(f.ctx.paths, placeOf(f, mail.name)));
  }
  return out;
}

/** Binds each host's own files over the machine's, in the host's mount namespace. */
function bindFiles(f: MultiFacts): string[] {
  const done: string[] = [];
  for (const x of f.files) {
    mkdirSync(join(x.own, ".."), { recursive: true, mode: 0o755 });
    if (!existsSync(x.own)) writeFileSync(x.own, x.content, { mode: 0o644 });
    // The mount point must exist; an empty /run/crond.pid is what a stopped cron leaves anyway.
    if (!existsSync(x.path)) {
      beforeChange(f.ctx.paths, x.path);
      writeFileSync(x.path, "");
    }
    const r = runOnHost(f.topology, x.host, "mount", ["--bind", x.own, x.path]);
    if (r.status !== 0) throw new LabError(`host ${x.host}'s own ${x.path}: mount --bind failed: ${why(r)}`);
    done.push(`host ${x.host}: its own ${x.path} (${x.own})`);
  }
  return done;
}

function recordOf(f: MultiFacts): TopologyRecord {
  return { topology: "multi", stack: MULTI_STACK, prefix: f.topology.prefix, hosts: f.topology.hosts.map((h) => h.name), files: f.files.map((x) => ({ host: x.host, path: x.path })) };
}

/** Live records of the single lab's daemons: it must be down before the multi-host lab starts. */
function singleLabRunning(p: LabPaths): string[] {
  if (readTopology(p) || !existsSync(p.run)) return [];
  const out: string[] = [];
  for (const f of spawnSync("ls", [p.run], { encoding: "utf8" }).stdout.split("\n").filter((x) => x.endsWith(".pid"))) {
    const pid = Number(readFileSync(join(p.run, f), "utf8").trim());
    if (Number.isInteger(pid) && pid > 0 && existsSync(`/proc/${pid}`)) out.push(f.replace(/\.pid$/, ""));
  }
  return out;
}

/** Refuses (reach.ts) unless every address of every lab host is routed through the lab's link: what the engine's provider is about to reach. */
function everyHostOnTheLabLink(f: MultiFacts, what: string): void {
  for (const h of f.hosts) for (const a of h.addresses) mustStayOnMachine(a, `${what}, lab host ${h.name}`);
}

/** ssh as the deploy user to each host's own address and `sudo -n true`: what the provider does first. */
export function checkDeployLogins(p: LabPaths, f: MultiFacts): string[] {
  const lines: string[] = [];
  for (const h of f.hosts) {
    mustStayOnMachine(h.address, `ssh to lab host ${h.name}`);
    const r = run(
      "ssh",
      ["-p", String(h.port), "-i", join(p.ssh, "deploy_key"), "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${p.knownHosts}`, "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR", `${f.user}@${h.address}`, "sudo", "-n", "true"],
      { timeoutMs: 30_000 },
    );
    if (r.status !== 0) throw new LabError(`the deploy user cannot log in and sudo on lab host ${h.name} (${h.address}:${h.port}): ${why(r)}`, `look at ${join(p.log, `sshd-${h.name}-auth.log`)}`);
    lines.push(`${h.name}: ${f.user}@${h.address}:${h.port} (its own host key) + sudo -n`);
  }
  return lines;
}

/** A guest's forwarded SSH port answers inside its hypervisor's namespace (where that host's libvirtd runs its QEMU). */
function helloIn(f: MultiFacts): (port: number, address: string, domain: string) => Promise<string | undefined> {
  return async (port, address, domain) => {
    const host = f.model.vps.find((v) => v.domain === domain)?.hypervisor;
    if (!host) throw new Error(`no VPS ${domain} in the lab's model`);
    // The address and port come from the model (an IPv4 address, an integer), checked again here: they go into bash's /dev/tcp path.
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(address) || !Number.isInteger(port)) throw new Error(`not an IPv4 address and port: ${address}:${port}`);
    const r = runOnHost(f.topology, host, "timeout", ["3", "bash", "-c", `exec 3<>/dev/tcp/${address}/${port} && head -c 4 <&3`], { timeoutMs: 5_000 });
    return r.status === 0 ? r.stdout : undefined;
  };
}

function engineFailure(op: string, e: unknown, t0: number): LabError {
  const msg = e instanceof Error ? e.message : String(e);
  const tail = msg.split("\n").filter((l) => l.trim()).slice(-30).join("\n");
  return new LabError(`${op} of stack ${MULTI_STACK} failed after ${secs(Date.now() - t0)}:\n${tail}`);
}



/**
 * The topology and every daemon, without the apply: what `up` does first and `down` needs
 * before a destroy. Returns the facts and the daemons.
 */
export async function multiInfra(o: { root: string; skipPackages?: boolean; prefix?: string }): Promise<{ facts: MultiFacts; daemons: LabDaemon[]; phases: Array<[string, number, string?]> }> {
  const p = labPaths(o.root);
  const phases: Array<[string, number, string?]> = [];
  if (!o.skipPackages) {
    const r = await step("Debian packages (bash scripts/ensure-debs.sh)", () => {
      const s = spawnSync("bash", [join(o.root, "scripts", "ensure-debs.sh")], { stdio: ["ignore", "inherit", "inherit"], cwd: o.root });
      if (s.status !== 0) throw new LabError(`scripts/ensure-debs.sh failed (exit ${s.status ?? s.error?.message})`, "fix the package problem, then run npm run lab -- --topology multi again");
    });
    phases.push(["packages", r.ms]);
  }
  const prep = await step("lab hosts: keys, deploy user, sudo", () => {
    ensureLabDirs(p);
    const keys = ensureLabKeys(o.root);
    const facts = loadMulti(o.root, p, o.prefix);
    const notes = [...ensureDeployUser(facts.user, `${keys.deployKey}.pub`, ["127.0.0.1", "::1", ...RUNNER]), ...ensureSudoers(p, facts.user)];
    writeKnownHostsMulti(p, facts.hosts.map((h) => ({ addresses: h.addresses, port: h.port, hostKeyPub: h.hostKeyPub })));
    return { facts, notes };
  });
  const { facts } = prep.value;
  for (const n of prep.value.notes) say(`  ${n}`);
  phases.push(["host prep", prep.ms]);
  // The VPS' base images, built here as the single lab does (scripts/lab-image.sh), cached outside the checkout.
  const img = await step("base images", () => ensureLabImages(usedImages(facts.model)));
  if (img.value.length) phases.push(["base images", img.ms, img.value.map((i) => `${i.name} ${i.built ? `built in ${secs(i.ms ?? 0)}` : "cached"}`).join(", ")]);
  // Built once: rebuilding would pull the network from under the daemons already running there.
  const built = readTopology(p) !== undefined && facts.topology.hosts.every((h) => existsSync(`/run/netns/${netnsName(facts.topology, h.name)}`));
  const topo = await step(`network namespaces (${facts.topology.hosts.map((h) => netnsName(facts.topology, h.name)).join(", ")})`, () => {
    if (built) return ["already up: kept as they are (npm run lab -- down removes them)"];
    // Recorded first: a half-built topology is what `down` removes too.
    writeTopology(p, recordOf(facts));
    return [...topologyUp(facts.topology), ...bindFiles(facts)];
  });
  for (const l of topo.value) say(`  ${l}`);
  phases.push(["namespaces", topo.ms, `${facts.topology.hosts.length} hosts + bridge`]);
  const daemons = multiDaemons(facts);
  const t = Date.now();
  say(`daemons, each in its host's namespaces (PIDs of those the lab starts go to ${p.run}/)`);
  for (const d of daemons.filter((x) => !x.afterApply)) await startDaemon(p, d);
  const login = await step("deploy login on every host: ssh to its address + sudo -n", () => checkDeployLogins(p, facts));
  for (const l of login.value) say(`  ${l}`);
  phases.push(["daemons up", Date.now() - t, daemons.map((d) => d.name).join(", ")]);
  return { facts, daemons, phases };
}

async function startDaemon(p: LabPaths, d: LabDaemon): Promise<void> {
  const r = (await step(`${d.name} on ${d.where}`, () => ensureDaemon(p, d))).value;
  say(`  ${d.name}: ${r.how}${r.pid ? ` (pid ${r.pid})` : ""}`);
  // One started by someone else runs in this machine's namespace (or another host's), not where the inventory says.
  if (r.how === "not the lab's, already running") throw new LabError(`${d.name} already runs on this machine${r.pid ? ` (pid ${r.pid})` : ""}, not started by the multi-host lab: it would answer for the wrong host`, "stop it by its PID (or npm run lab -- down for the single lab's), then run npm run lab -- --topology multi again");
  for (const n of r.notes) say(`  ${d.name}: ${n}`);
}

export interface MultiUpOptions {
  root: string;
  skipPackages?: boolean;
  /** netns prefix (tests use their own so they never clash with the lab's "gn"). */
  prefix?: string;
}

export async function multiUp(o: MultiUpOptions): Promise<number> {
  const T0 = Date.now() - Math.round(process.uptime() * 1000);
  requireRoot();
  const p = labPaths(o.root);
  ensureLabDirs(p);
  const single = singleLabRunning(p);
  if (single.length) throw new LabError(`the single-address lab runs (${single.join(", ")}): both topologies use the same Apache, MariaDB and BIND files`, "npm run lab -- down first, then npm run lab (or keep the single-address lab: npm run lab -- --topology single)");
  const { facts, daemons, phases } = await multiInfra(o);
  everyHostOnTheLabLink(facts, `the apply of stack ${MULTI_STACK}`);
  const web = facts.hosts.find((h) => h.roles.includes("web"));
  const eng = await step(`engine: Pulumi CLI and stack ${MULTI_STACK}`, () => openLabStackNamed(MULTI_STACK, o.root));
  phases.push(["engine", eng.ms]);
  const stack = eng.value;
  const sites = facts.model.sites.map((s) => s.host);
  const watch = new ApplyWatch(T0, sites, facts.model.vps.filter((v) => v.status === "active").map((v) => v.domain), 300, web?.address ?? "127.0.0.1");
  await watch.start();
  const tApply = Date.now();
  say(`apply: up of stack ${MULTI_STACK} (${facts.hosts.length} hosts, ${facts.model.members.length} members, ${sites.length} sites, ${facts.model.databases.length} databases, ${facts.model.vps.length} VPS, ${facts.model.zones.length} zones) …`);
  let up: UpResult | undefined;
  let failure: LabError | undefined;
  try {
    up = await stack.up({ onOutput: (s: string) => process.stdout.write(s), color: process.stdout.isTTY ? "auto" : "never" });
  } catch (e) {
    failure = engineFailure("up", e, tApply);
  }
  const seen = await watch.stop();
  phases.push(["apply", Date.now() - tApply, up ? Object.entries(up.summary.resourceChanges ?? {}).map(([k, n]) => `${k} ${n}`).join(", ") : "failed"]);
  // The mail host's daemons, now that the apply wrote their configuration.
  const after = daemons.filter((d) => d.afterApply);
  if (!failure && after.length) {
    const t = Date.now();
    try {
      for (const d of after) await startDaemon(p, d);
      phases.push(["mail daemons", Date.now() - t, after.map((d) => d.name).join(", ")]);
    } catch (e) {
      failure = e instanceof LabError ? e : new LabError(String(e));
    }
  }
  const guests = facts.model.vps.filter((v) => v.status === "active" && v.network.type === "user");
  const sshTargets = guests.flatMap((v) => (v.network.type === "user" ? [{ domain: v.domain, port: v.network.sshForwardPort, address: v.network.sshForwardAddress }] : []));
  if (!failure && sshTargets.length) {
    const t = Date.now();
    say(`guests: waiting for SSH on ${guests.map((v) => (v.network.type === "user" ? `${v.network.sshForwardAddress}:${v.network.sshForwardPort} in ${v.hypervisor}'s namespace` : "")).join(", ")} (at most ${SSH_WAIT_MS / 1000} s) …`);
    const got = await waitForSsh(sshTargets, T0, SSH_WAIT_MS, say, helloIn(facts));
    phases.push(["guests boot", Date.now() - t, `${got.size} of ${sshTargets.length} answering SSH`]);
    if (got.size < sshTargets.length) failure = new LabError(`no SSH from ${sshTargets.filter((x) => !got.has(x.domain)).map((x) => x.domain).join(", ")} within ${SSH_WAIT_MS / 1000} s of the apply`);
  }
  let certs: CertStatus[] = [];
  if (!failure && facts.model.inventory.acme && facts.model.sites.some((s) => s.tls === "acme")) {
    const t = Date.now();
    try {
      certs = await onStackHosts(o.root, MULTI_STACK, () => waitForCerts(o.root, facts.model, CERT_WAIT_S));
      phases.push(["certificates", Date.now() - t, `${certs.filter((c) => c.state === "ok").length} of ${certs.length} live`]);
    } catch (e) {
      phases.push(["certificates", Date.now() - t, `could not read them: ${(e as Error).message}`]);
    }
  }
  console.log("\n══════════════════════════ multi-host lab report ══════════════════════════");
  for (const [name, ms, detail] of phases) console.log(`  ${name.padEnd(16)}${secs(ms).padStart(12)}${detail ? `   ${detail}` : ""}`);
  console.log(`  ${"total".padEnd(16)}${secs(Date.now() - T0).padStart(12)}`);
  if (seen.firstSite) console.log(`  first site answered from ${web?.name} at ${secs(seen.firstSite.ms)} (${seen.firstSite.host})`);
  const resources = await stackResources(stack).catch(() => []);
  console.log(`resources in stack ${MULTI_STACK}: ${resources.length}`);
  for (const [type, n] of countByType(resources)) console.log(`  ${String(n).padStart(4)}  ${type}`);
  console.log("hosts (each its own network namespace; ssh, curl and dig from here reach them by address)");
  for (const h of facts.topology.hosts) console.log(`  ${h.name.padEnd(6)} ${netnsName(facts.topology, h.name).padEnd(10)} ${h.addresses.join(", ")}`);
  console.log("checks");
  const checks = await multiChecks(p, facts);
  for (const l of checks.lines) console.log(`  ${l}`);
  if (certs.length) console.log(formatCerts(certs).replace(/^/gm, "  "));
  if (certs.some((c) => c.state !== "ok")) for (const l of acmeDiagnostics(p)) console.log(`  ${l}`);
  console.log("try");
  for (const l of multiHints(p, facts)) console.log(`  ${l}`);
  if (!failure && checks.failed.length) failure = new LabError(`checks failed: ${checks.failed.join("; ")}`);
  if (failure) {
    console.error(`\nerror: ${failure.message}`);
    if (failure.next) console.error(`next: ${failure.next}`);
    console.error(`next: the hosts keep running. Fix the cause, then run npm run lab -- --topology multi again (the apply converges); npm run lab -- down removes it all.`);
    return 1;
  }
  return 0;
}

/** Sites over HTTP(S) from the web host's address (pebble's certificates), zones from the primary's, databases on db. */
export async function multiChecks(p: LabPaths, f: MultiFacts): Promise<{ lines: string[]; failed: string[] }> {
  const lines: string[] = [];
  const failed: string[] = [];
  const web = f.hosts.find((h) => h.roles.includes("web"));
  const ns = f.hosts.find((h) => h.roles.includes("dns-primary"));
  const rootFile = pebbleRootFile(p);
  const ca = existsSync(rootFile) ? readFileSync(rootFile, "utf8") : undefined;
  if (web) {
    for (const s of f.model.sites.filter((x) => x.status === "active")) {
      const a = await httpGet(s.host, 3_000, web.address);
      let line = `http://${s.host}/ from ${web.name} (${web.address}): ${a ? `HTTP ${a.status}` : "no answer"}`;
      if (!a) failed.push(`${s.host} does not answer on ${web.address}:80`);
      if (a && s.tls === "acme" && ca) {
        const b = await httpsGet(s.host, ca, 5_000, web.address);
        line += "error" in b ? `; https: ${b.error}` : `; https: HTTP ${b.status} (certificate from the lab's pebble)`;
        if ("error" in b && s.dns === "managed") failed.push(`https://${s.host}/ on ${web.name}: ${b.error}`);
      }
      lines.push(line);
    }
  }
  if (ns) {
    const ok = f.model.zones.filter((z) => digSoa(z.name, ns.address) !== "");
    lines.push(`zones answering SOA on ${ns.name} (${ns.address}): ${ok.length}/${f.model.zones.length}`);
    if (ok.length < f.model.zones.length) failed.push(`zones not answered by ${ns.name}: ${f.model.zones.filter((z) => !ok.includes(z)).map((z) => z.name).join(", ")}`);
  }
  const dbs = databasesOnServer();
  if (dbs) lines.push(`databases on the MariaDB server of ${f.hosts.find((h) => h.roles.includes("db"))?.name}: ${f.model.databases.filter((d) => dbs.includes(d.name)).length}/${f.model.databases.length}`);
  return { lines, failed };
}

function multiHints(p: LabPaths, f: MultiFacts): string[] {
  const web = f.hosts.find((h) => h.roles.includes("web"));
  const ns = f.hosts.find((h) => h.roles.includes("dns-primary"));
  const site = f.model.sites.find((s) => s.status === "active")?.host;
  const zone = f.model.zones.find((z) => !z.reverse)?.name;
  return [
    ...(web && site ? [`curl --cacert ${pebbleRootFile(p)} --resolve ${site}:443:${web.address} https://${site}/`] : []),
    ...(ns && zone ? [`dig @${ns.address} ${zone} SOA +short`] : []),
    ...f.hosts.slice(0, 2).map((h) => `ssh -i ${join(p.ssh, "deploy_key")} -o IdentitiesOnly=yes -o UserKnownHostsFile=${p.knownHosts} ${f.user}@${h.address}     (${h.name})`),
    `ip netns exec ${netnsName(f.topology, web?.name ?? f.hosts[0]?.name ?? "web1")} ss -ltn     (what listens on a host)`,
    ...f.hosts.filter((h) => h.roles.includes("hypervisor")).map((h) => `nsenter --mount=${join(MOUNT_NS_DIR, netnsName(f.topology, h.name))} virsh -c ${LIBVIRT_URI} list --all     (${h.name}'s guests, under its own libvirtd)`),
    `npm run preview -- --stack ${MULTI_STACK} --expect-no-changes`,
    ...monitorHints(f),
  ];
}

/** Where a volunteer looks at the lab's monitoring: the UIs, the fake GitLab's issues, status -- health. */
function monitorHints(f: MultiFacts): string[] {
  const mon = f.hosts.find((h) => h.roles.includes("monitor"));
  if (!mon) return [];
  const a = bracket(mon.address);
  return [
    `http://${a}:${PORTS.prometheus}/targets     (Prometheus on ${mon.name}: every probe target)`,
    `http://${a}:${PORTS.alertmanager}/     (Alertmanager on ${mon.name})`,
    `curl -H "PRIVATE-TOKEN: $(cat .lab/gitlab-token)" 'http://${a}:${LAB_GITLAB_PORT}/api/v4/projects/42/issues?state=all'     (the alerts' issues in the lab's fake GitLab)`,
    `npm run status -- health --stack ${MULTI_STACK}     (what fires now)`,
  ];
}

// ─── down ──────────────────────────────────────────────────────────────────────────────────────

/**
 * Destroys stack lab-multi (its daemons must run: they are started again when the topology
 * was lost, e.g. after a reboot), stops the daemons the lab started, removes every namespace,
 * link and mount, and puts back the machine's files.
 */
export async function multiDown(o: { root: string; force?: boolean; prefix?: string }): Promise<number> {
  const T0 = Date.now();
  requireRoot();
  const p = labPaths(o.root);
  ensureLabDirs(p);
  const rec = readTopology(p);
  const prefix = rec?.prefix ?? o.prefix ?? LAB_PREFIX;
  const problems: string[] = [];
  let facts: MultiFacts | undefined;
  let daemons: LabDaemon[] = [];
  try {
    facts = loadMulti(o.root, p, prefix);
    daemons = multiDaemons(facts);
  } catch (e) {
    if (!o.force) throw e;
    problems.push(`could not read stack ${MULTI_STACK}: ${(e as Error).message}`);
  }
  let destroyFailed: LabError | undefined;
  if (facts) {
    const eng = await step(`engine: Pulumi CLI and stack ${MULTI_STACK}`, async () => {
      const st = await openLabStackNamed(MULTI_STACK, o.root);
      return { st, before: await stackResources(st) };
    }).catch((e: unknown) => {
      destroyFailed = e instanceof LabError ? e : new LabError(String(e));
      return undefined;
    });
    if (eng && eng.value.before.length > 0) {
      const missing = daemons.filter((d) => !recorded(p, d));
      try {
        if (missing.length) {
          say(`the destroy needs the lab's hosts; not running: ${missing.map((d) => d.name).join(", ")} — starting the topology first`);
          await multiInfra({ root: o.root, skipPackages: true, prefix });
        }
        everyHostOnTheLabLink(facts, `the destroy of stack ${MULTI_STACK}`);
        const t = Date.now();
        say(`destroy of stack ${MULTI_STACK} (${eng.value.before.length} resources; members' homes, databases and VPS disks are archived first) …`);
        await eng.value.st.destroy({ onOutput: (s: string) => process.stdout.write(s), color: process.stdout.isTTY ? "auto" : "never" });
        say(`destroy: done in ${secs(Date.now() - t)}`);
      } catch (e) {
        destroyFailed = e instanceof LabError ? e : engineFailure("destroy", e, T0);
      }
    }
  }
  if (destroyFailed && !o.force) {
    console.error(`\nerror: ${destroyFailed.message}`);
    console.error("next: the hosts keep running so the destroy can be retried: fix the cause and run npm run lab -- down again; --force removes the topology anyway.");
    return 1;
  }
  // A hypervisor's guests still running (after a failed destroy, with --force): powered off
  // before its libvirtd stops, or their QEMU would outlive it in a namespace about to go.
  if (facts) for (const l of powerOffGuests(facts)) say(`  ${l}`);
  for (const d of [...daemons].reverse()) {
    const x = (await step(`stop ${d.name}`, () => stopDaemon(p, d))).value;
    say(`  ${d.name}: ${x.result}${x.pid ? ` (pid ${x.pid})` : ""}`);
    if (x.result === "still running") problems.push(`${d.name} (pid ${x.pid}) did not stop: kill ${x.pid} once it is done`);
  }
  if (facts) problems.push(...leftOnHypervisors(facts));
  // The monitoring daemons' PID folder (their supervisors removed their files): gone when empty.
  try {
    rmdirSync(MONITOR_PIDS);
  } catch {
    // absent, or holding a PID file of a daemon the lab did not start: left as it is
  }
  if (!destroyFailed) for (const l of removeMailLeftovers()) say(`  ${l}`);
  else for (const l of setMailSetAside(p)) say(`  ${l}`);
  const hosts = rec?.hosts ?? facts?.topology.hosts.map((h) => h.name) ?? [];
  const removed = topologyDown({ prefix, hosts: hosts.map((name) => ({ name, addresses: [] })) });
  for (const l of removed) say(`  ${l}`);
  const res = restore(p);
  for (const r of res.restored) say(`  restored ${r}`);
  for (const x of res.failed) problems.push(`could not restore ${x}`);
  forgetTopology(p);
  if (problems.length) {
    console.error("problems:");
    for (const x of problems) console.error(`  ${x}`);
    return 1;
  }
  if (destroyFailed) return 1;
  say(`the multi-host lab is down (${secs(Date.now() - T0)}); each host's own folders stay in ${join(p.lab, "hosts")} (like a host's disk; the next up reuses them)`);
  return 0;
}

/** Powers off (virsh destroy: the disk stays) every guest still running under a hypervisor host's own libvirtd. Returns what it did. */
function powerOffGuests(f: MultiFacts): string[] {
  const out: string[] = [];
  for (const h of f.hosts.filter((x) => x.roles.includes("hypervisor") && placeOf(f, x.name).present())) {
    const virsh = (...a: string[]) => runOnHost(f.topology, h.name, "virsh", ["-c", LIBVIRT_URI, ...a], { timeoutMs: 60_000 });
    // Running and paused domains; no libvirtd there (not started, or already stopped): nothing to do.
    const list = virsh("list", "--name");
    if (list.status !== 0) continue;
    for (const d of list.stdout.split("\n").map((x) => x.trim()).filter(Boolean)) {
      const r = virsh("destroy", d);
      out.push(`${h.name}: guest ${d} ${r.status === 0 ? "was still running: powered off (virsh destroy; its disk stays)" : `could not be powered off: ${why(r)}`}`);
    }
  }
  return out;
}

/** Processes still in a hypervisor host's network namespace once its daemons are stopped (a guest's QEMU would be one): each a problem. */
function leftOnHypervisors(f: MultiFacts): string[] {
  const out: string[] = [];
  for (const h of f.hosts.filter((x) => x.roles.includes("hypervisor") && placeOf(f, x.name).present())) {
    const ns = netnsName(f.topology, h.name);
    const pids = run("ip", ["netns", "pids", ns]).stdout.split("\n").map((x) => x.trim()).filter(Boolean);
    if (pids.length) out.push(`still running in ${h.name}'s namespace ${ns}: ${pids.map((pid) => `${comm(Number(pid)) || "?"} (pid ${pid})`).join(", ")}: stop them by their PIDs`);
  }
  return out;
}

/** npm run lab -- status, when the multi-host lab is up. */
export async function multiStatus(o: { root: string }): Promise<number> {
  const p = labPaths(o.root);
  const rec = readTopology(p);
  const facts = loadMulti(o.root, p, rec?.prefix);
  console.log(`topology: ${rec ? "multi (one network namespace per host)" : "multi, not up"}`);
  for (const h of facts.topology.hosts) console.log(`  ${h.name.padEnd(6)} ${netnsName(facts.topology, h.name).padEnd(10)} ${h.addresses.map(bracket).join(", ")}`);
  console.log("daemons");
  for (const d of multiDaemons(facts)) {
    const mine = recorded(p, d);
    console.log(`  ${d.name.padEnd(14)} ${d.where.padEnd(48)} ${mine ? `running, started by the lab (pid ${mine})` : "stopped"}`);
  }
  return 0;
}
