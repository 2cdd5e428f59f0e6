/**
 * `npm run lab` (up), `npm run lab -- down`, `npm run lab -- status`: the whole of Globenet
 * on this one machine, with real daemons started by hand and the repository's own data
 * applied to them through the project's driver (lib/engine/driver.ts).
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Stack, UpResult } from "@pulumi/pulumi/automation";
import { DataError } from "../load/diagnostic";
import { loadModel } from "../check/build";
import type { Model } from "../model/types";
import { changes, restore } from "./backup";
import { ApplyWatch, countByType, databasesOnServer, definedDomains, digSoa, httpGet, httpsGet, runningDomains, waitForSsh, type WatchResult } from "./checks";
import { removeMailLeftovers } from "./mail";
import { setMailSetAside } from "./mail-set-aside";
import { waitForCerts } from "../status/cert-wait";
import { formatCerts, type CertStatus } from "../status/certs";
import { machineFacts, onStackHosts, openLabStackNamed, stackResources } from "./open-stack";
import { acmeDiagnostics, pebbleRootFile } from "./pebble";
import { labBackendRecord } from "../state/lab-backend";
import { ensureDaemon, labDaemons, LIBVIRT_URI, recorded, stopDaemon, type DaemonCtx, type LabDaemon, type StartOutcome } from "./daemons";
import { stateDaemons, switchLabState, type LabState } from "./postgres";
import { deployHome, ensureDeployUser, ensureSudoers, sudoersFile, writeKnownHosts } from "./host";
import { detectAccel, type Accel } from "../host/accel";
import { ensureLabImages, staleReason, usedImages } from "./image";
import { ensureLabKeys } from "./keys";
import { ensureLabDirs, labPaths, type LabPaths } from "./paths";
import { readTopology } from "./topology-record";
import { LabError, run, say, secs, step, why } from "../base/proc";

export const STACK = "lab";
/** How long `lab up` waits for the guests' SSH after the apply (a TCG boot takes about 45 s). */
const SSH_WAIT_MS = 300_000;
/** Pebble answers at once; mod_md retries after failures (2 s, then doubling): a minute and a half is plenty. */
const CERT_WAIT_S = 90;

interface LabFacts {
  model: Model;
  sshPort: number;
  user: string;
  ctx: DaemonCtx;
}

function requireRoot(): void {
  if (typeof process.getuid === "function" && process.getuid() !== 0) {
    throw new LabError("the lab starts system daemons and edits /etc: it must run as root", "run it again as root (sudo -E npm run lab -- --topology single)");
  }
}

function loadLab(root: string, p: LabPaths): LabFacts {
  const { model, errors } = loadModel(root, STACK, machineFacts());
  if (!model) throw new DataError(errors);
  const lab = model.hosts.filter((h) => h.address === "127.0.0.1" || h.address === "::1");
  if (lab.length !== model.hosts.length) {
    const other = model.hosts.filter((h) => !lab.includes(h)).map((h) => `${h.name} (${h.address})`);
    throw new LabError(`Pulumi.lab.yaml: every lab host must be 127.0.0.1, but ${other.join(", ")} is not`, "point those hosts' address at 127.0.0.1");
  }
  const ports = [...new Set(lab.map((h) => h.host.ssh.port))];
  const users = [...new Set(lab.map((h) => h.host.ssh.user))];
  if (ports.length !== 1 || users.length !== 1) {
    throw new LabError(`Pulumi.lab.yaml: the lab runs one sshd with one deploy user, but the hosts name ports ${ports.join(", ")} and users ${users.join(", ")}`, "give every lab host the same ssh.port and ssh.user");
  }
  const sshPort = ports[0] as number;
  const user = users[0] as string;
  if (user === "root") throw new LabError("Pulumi.lab.yaml: the lab's ssh.user is root; the lab's sshd refuses root", "keep ssh.user: globenet-deploy (the provider then runs sudo -n)");
  // Members log in through the same sshd: its drop-in folder and pid file are the web hosts' sshd facts.
  const sshds = [...new Set(lab.filter((h) => h.roles.includes("web")).map((h) => JSON.stringify(h.host.sshd)))];
  if (sshds.length > 1) throw new LabError(`Pulumi.lab.yaml: the lab runs one sshd, but the web hosts name different sshd facts (${sshds.join(", ")})`, "give every lab web host the same sshd: { dropin_dir, pid_file }");
  const facts = lab.find((h) => h.roles.includes("web"))?.host.sshd ?? lab[0]?.host.sshd;
  const sshd = { dropinDir: facts?.dropin_dir ?? "/etc/ssh/sshd_config.d", pidFile: facts?.pid_file ?? "/run/sshd.pid" };
  return { model, sshPort, user, ctx: { paths: p, sshPort, sshd, hostKey: join(p.ssh, "host_key"), phpVersions: model.inventory.php_versions, acme: model.inventory.acme } };
}



function printCounts(resources: Array<{ type: string }>, indent = "  "): void {
  for (const [type, n] of countByType(resources)) console.log(`${indent}${String(n).padStart(4)}  ${type}`);
}

function engineFailure(op: string, e: unknown, t0: number): LabError {
  const msg = e instanceof Error ? e.message : String(e);
  // The Automation API's error carries the CLI's whole output; its tail says what failed.
  const tail = msg.split("\n").filter((l) => l.trim()).slice(-30).join("\n");
  return new LabError(`${op} of stack ${STACK} failed after ${secs(Date.now() - t0)}:\n${tail}`);
}

async function startDaemons(p: LabPaths, facts: LabFacts, state?: LabState): Promise<{ outcomes: StartOutcome[]; ms: number }> {
  const t0 = Date.now();
  const outcomes: StartOutcome[] = [];
  for (const d of [...stateDaemons(p.root, state), ...labDaemons(facts.ctx)]) {
    const o = await step(`${d.name} on ${d.where}`, () => ensureDaemon(p, d));
    const r = o.value;
    say(`  ${d.name}: ${r.how}${r.pid ? ` (pid ${r.pid})` : ""}`);
    for (const n of r.notes) say(`  ${d.name}: ${n}`);
    outcomes.push(r);
  }
  return { outcomes, ms: Date.now() - t0 };
}

/** ssh as the deploy user into the lab's sshd and `sudo -n true`: what the provider will do first. */
function checkDeployLogin(p: LabPaths, facts: LabFacts): void {
  const r = run(
    "ssh",
    [
      "-p", String(facts.sshPort),
      "-i", join(p.ssh, "deploy_key"),
      "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=yes",
      "-o", `UserKnownHostsFile=${p.knownHosts}`, "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR",
      `${facts.user}@127.0.0.1`, "sudo", "-n", "true",
    ],
    { timeoutMs: 30_000 },
  );
  if (r.status !== 0) {
    throw new LabError(`the deploy user cannot log in and sudo through the lab's sshd: ${why(r)}`, `look at ${join(p.log, "sshd-auth.log")}; check ${deployHome(facts.user)}/.ssh/authorized_keys and ${sudoersFile(facts.user)}`);
  }
}

function sshHint(p: LabPaths, facts: LabFacts): string {
  return `ssh -p ${facts.sshPort} -i ${join(p.ssh, "deploy_key")} -o IdentitiesOnly=yes -o UserKnownHostsFile=${p.knownHosts} ${facts.user}@127.0.0.1`;
}

function hints(p: LabPaths, facts: LabFacts): string[] {
  const m = facts.model;
  const site = m.sites.find((s) => s.status === "active")?.host ?? m.sites[0]?.host ?? "velo-libre.example";
  const zone = m.zones.find((z) => !z.reverse)?.name ?? site;
  const vps = m.vps[0]?.domain;
  const tls = m.sites.find((s) => s.status === "active" && s.tls === "acme" && s.dns === "managed")?.host;
  const root = pebbleRootFile(p);
  return [
    `curl -i -H 'Host: ${site}' http://127.0.0.1/`,
    ...(tls && existsSync(root) ? [`curl -i --cacert ${root} --resolve ${tls}:443:127.0.0.1 https://${tls}/     (this pebble's root)`, `npm run status -- certs     (every site's certificate)`] : []),
    `dig @127.0.0.1 ${zone} SOA +short`,
    `dig @127.0.0.1 ${zone} DNSKEY +dnssec +multi     (npm run status -- dnssec: keys and DS)`,
    `mysql -e 'show databases'`,
    `virsh -c qemu:///system list --all`,
    ...(vps ? [`virsh -c qemu:///system dominfo ${vps}`] : []),
    sshHint(p, facts),
    `npm run preview -- --expect-no-changes     (the lab converged: nothing to do)`,
  ];
}

// ─── up ────────────────────────────────────────────────────────────────────────────────────────

export interface UpOptions {
  root: string;
  /** Skip scripts/ensure-debs.sh. */
  skipPackages?: boolean;
  /** Where the lab stack's state lives: file (.lab/state) or the lab's own PostgreSQL (lib/lab/postgres.ts). */
  state?: LabState;
}

export async function labUp(o: UpOptions): Promise<number> {
  // From the start of this Node process: loading tsx, @pulumi/pulumi and the program counts too.
  const T0 = Date.now() - Math.round(process.uptime() * 1000);
  requireRoot();
  const p = labPaths(o.root);
  if (readTopology(p)) throw new LabError("the multi-host lab is up (.lab/topology.json): both topologies use the same Apache, MariaDB and BIND files", "npm run lab -- down first, then npm run lab -- --topology single (or keep the multi-host lab: npm run lab)");
  const phases: Array<[string, number, string?]> = [["startup", Date.now() - T0, "node, tsx, @pulumi/pulumi and the program's modules"]];

  // 1. Debian packages
  if (o.skipPackages) {
    say("Debian packages: skipped (--skip-packages)");
  } else {
    const r = await step("Debian packages (bash scripts/ensure-debs.sh)", () => {
      const s = spawnSync("bash", [join(o.root, "scripts", "ensure-debs.sh")], { stdio: ["ignore", "inherit", "inherit"], cwd: o.root });
      if (s.status !== 0) throw new LabError(`scripts/ensure-debs.sh failed (exit ${s.status ?? s.error?.message}): its output above says which packages and why`, "fix the package problem (apt-get update, network, disk space), then run npm run lab -- --topology single again");
    });
    phases.push(["packages", r.ms]);
  }

  // 2 + 3. keys, model, host preparation
  const prep = await step("lab host: keys, deploy user, sudo", () => {
    ensureLabDirs(p);
    const keys = ensureLabKeys(o.root);
    const facts = loadLab(o.root, p);
    const notes = [...ensureDeployUser(facts.user, `${keys.deployKey}.pub`), ...ensureSudoers(p, facts.user)];
    writeKnownHosts(p, facts.sshPort, keys.hostKeyPub);
    return { facts, notes };
  });
  phases.push(["host prep", prep.ms]);
  const { facts } = prep.value;
  for (const n of prep.value.notes) say(`  ${n}`);
  const img = await step("base images", () => ensureLabImages(usedImages(facts.model)));
  const images = img.value;
  if (images.length) phases.push(["base images", img.ms, images.map((i) => `${i.name} ${i.built ? `built in ${secs(i.ms ?? 0)}` : "cached"}`).join(", ")]);
  const accel = facts.model.vps.length ? detectAccel() : undefined;
  if (accel) say(`guests: ${accel.name} (${accel.why})`);

  // 4. daemons
  say(`daemons (each only if not running; PIDs of those the lab starts go to ${p.run}/)`);
  const daemons = await startDaemons(p, facts, o.state);
  const login = await step(`deploy login: ssh ${facts.user}@127.0.0.1:${facts.sshPort} + sudo -n`, () => checkDeployLogin(p, facts));
  phases.push(["daemons up", daemons.ms + login.ms, daemons.outcomes.map((x) => `${x.daemon.name} ${x.how === "started" ? secs(x.ms) : "already up"}`).join(", ")]);

  // 5. engine + apply
  await switchLabState(o.root, o.state, say);
  const eng = await step("engine: Pulumi CLI and stack lab", () => openLabStackNamed(STACK, o.root));
  phases.push(["engine", eng.ms]);
  const stack = eng.value;

  const sites = facts.model.sites.map((s) => s.host);
  const wantRunning = facts.model.vps.filter((v) => v.status === "active").map((v) => v.domain);
  const watch = new ApplyWatch(T0, sites, wantRunning);
  await watch.start();
  const tApply = Date.now();
  say(`apply: up of stack ${STACK} (${facts.model.members.length} members, ${sites.length} sites, ${facts.model.databases.length} databases, ${facts.model.vps.length} VPS, ${facts.model.zones.length} zones) …`);
  let up: UpResult | undefined;
  let failure: LabError | undefined;
  try {
    up = await stack.up({ onOutput: (s: string) => process.stdout.write(s), color: process.stdout.isTTY ? "auto" : "never" });
  } catch (e) {
    failure = engineFailure("up", e, tApply);
  }
  const applyMs = Date.now() - tApply;
  const seen = await watch.stop();
  say(`apply: ${failure ? "FAILED" : "done"} in ${secs(applyMs)}`);
  phases.push(["apply", applyMs, up ? summary(up) : "failed"]);

  // A running guest is plumbing; a member logging in is the service: wait for each guest's sshd.
  const sshTargets = facts.model.vps.flatMap((v) => (v.status === "active" && v.network.type === "user" ? [{ domain: v.domain, port: v.network.sshForwardPort, address: v.network.sshForwardAddress }] : []));
  let sshSeen = new Map<string, number>();
  if (!failure && sshTargets.length) {
    const t = Date.now();
    say(`guests: waiting for SSH on ${sshTargets.map((x) => `127.0.0.1:${x.port}`).join(", ")} (a ${accel?.name ?? "TCG"} boot of Debian takes about ${accel?.name === "KVM" ? "10" : "45"} s; at most ${SSH_WAIT_MS / 1000} s) …`);
    sshSeen = await waitForSsh(sshTargets, T0, SSH_WAIT_MS, say);
    phases.push(["guests boot", Date.now() - t, `${sshSeen.size} of ${sshTargets.length} answering SSH`]);
  }

  // Certificates come after the apply, from mod_md and the lab's pebble: wait for them, and say
  // which site has none and why (a name the zone does not point at the web host, say).
  let certs: CertStatus[] = [];
  if (!failure && facts.model.inventory.acme && facts.model.sites.some((s) => s.tls === "acme")) {
    const t = Date.now();
    say(`certificates: waiting for mod_md to get them from ${facts.model.inventory.acme.directory} (at most ${CERT_WAIT_S} s) …`);
    try {
      certs = await onStackHosts(o.root, STACK, () => waitForCerts(o.root, facts.model, CERT_WAIT_S));
      const live = certs.filter((c) => c.state === "ok").length;
      phases.push(["certificates", Date.now() - t, `${live} of ${certs.length} live`]);
    } catch (e) {
      phases.push(["certificates", Date.now() - t, `could not read them: ${(e as Error).message}`]);
    }
  }

  // report
  let resources: Array<{ type: string; urn: string }> = [];
  try {
    resources = await stackResources(stack);
  } catch {
    // the report goes on without counts
  }
  report({ p, facts, phases, seen, resources, accel, sshSeen, sshWanted: sshTargets.length, total: Date.now() - T0, sitesWanted: sites, vpsWanted: wantRunning });
  console.log("checks");
  await printSites(facts.model, p);
  if (certs.length) {
    console.log(`certificates (npm run status -- certs; clients trust this pebble's root: curl --cacert ${pebbleRootFile(p)})`);
    console.log(formatCerts(certs).replace(/^/gm, "  "));
    if (certs.some((c) => c.state !== "ok")) for (const l of acmeDiagnostics(p)) console.log(`  ${l}`);
  }
  checksSync(p, facts);
  const silent = sshTargets.filter((x) => !sshSeen.has(x.domain));
  if (!failure && silent.length) {
    failure = new LabError(
      `no SSH from ${silent.map((x) => `${x.domain} (127.0.0.1:${x.port})`).join(", ")} within ${SSH_WAIT_MS / 1000} s of the apply: the guest runs but did not finish booting`,
      `watch its boot with virsh -c ${LIBVIRT_URI} console ${silent[0]?.domain} (Ctrl+] leaves); its cloud-init seed is ${facts.model.vps.find((v) => v.domain === silent[0]?.domain)?.seedPath}`,
    );
  }
  if (failure) {
    console.error(`\nerror: ${failure.message}`);
    if (failure.next) console.error(`next: ${failure.next}`);
    console.error(
      `next: the daemons keep running. Fix the cause above, then run npm run lab -- --topology single again (the apply converges);\n` +
        `      npm run lab -- status shows what runs; npm run lab -- down destroys the stack and stops the daemons.`,
    );
    return 1;
  }
  return 0;
}

function summary(up: UpResult): string {
  const c = Object.entries(up.summary.resourceChanges ?? {}).filter(([, n]) => (n ?? 0) > 0);
  return c.length ? c.map(([op, n]) => `${op} ${n}`).join(", ") : "no changes";
}

function report(r: {
  p: LabPaths;
  facts: LabFacts;
  phases: Array<[string, number, string?]>;
  seen: WatchResult;
  resources: Array<{ type: string }>;
  accel?: Accel;
  sshSeen: Map<string, number>;
  sshWanted: number;
  total: number;
  sitesWanted: string[];
  vpsWanted: string[];
}): void {
  const { facts, seen } = r;
  const line = (a: string, b: string, c = "") => console.log(`  ${a.padEnd(22)}${b.padStart(12)}${c ? `   ${c}` : ""}`);
  console.log("\n══════════════════════════════ lab report ══════════════════════════════");
  console.log("phases");
  for (const [name, ms, detail] of r.phases) line(name, secs(ms), detail);
  line("total", secs(r.total));
  console.log("since `lab up` started");
  const already = (n: number | undefined, of: number) => (n ? ` (${n === of ? "all" : `${n} of ${of}`} already up before the apply)` : "");
  if (seen.firstSite) line("first site answered", secs(seen.firstSite.ms), `${seen.firstSite.host} → HTTP ${seen.firstSite.status}${already(seen.before?.sites, r.sitesWanted.length)}`);
  else line("first site answered", "never", "no site answered with its own vhost (see the checks below)");
  line(`every site (${r.sitesWanted.length})`, seen.allSitesMs !== undefined ? secs(seen.allSitesMs) : "never", seen.allSitesMs !== undefined ? "" : `${seen.sites.size} of ${r.sitesWanted.length} answered`);
  if (r.vpsWanted.length) {
    if (r.accel) line("guest acceleration", r.accel.name, r.accel.why);
    line(`every VPS running (${r.vpsWanted.length})`, seen.allVpsMs !== undefined ? secs(seen.allVpsMs) : "never", [...seen.vps.entries()].map(([d, ms]) => `${d} ${secs(ms)}`).join(", ") + already(seen.before?.vps, r.vpsWanted.length));
  }
  if (r.sshWanted) {
    const all = r.sshSeen.size === r.sshWanted ? Math.max(...r.sshSeen.values()) : undefined;
    line(`every VPS SSH up (${r.sshWanted})`, all !== undefined ? secs(all) : "never", [...r.sshSeen.entries()].map(([d, ms]) => `${d} ${secs(ms)}`).join(", ") || "none answered yet");
  }
  console.log(`resources in stack ${STACK}: ${r.resources.length} (besides the stack itself)`);
  printCounts(r.resources);
}

function checksSync(p: LabPaths, facts: LabFacts): void {
  const m = facts.model;
  const zonesOk = m.zones.filter((z) => digSoa(z.name) !== "");
  console.log(`  zones answering SOA on 127.0.0.1: ${zonesOk.length}/${m.zones.length}${zonesOk.length < m.zones.length ? `   missing: ${m.zones.filter((z) => !zonesOk.includes(z)).map((z) => z.name).join(", ")}` : ""}`);
  const dbs = databasesOnServer();
  if (dbs) {
    const missing = m.databases.filter((d) => !dbs.includes(d.name)).map((d) => d.name);
    console.log(`  databases on the MariaDB server: ${m.databases.length - missing.length}/${m.databases.length}${missing.length ? `   missing: ${missing.join(", ")}` : ""}`);
  } else console.log("  databases: the mariadb client could not connect as root");
  const defined = definedDomains() ?? [];
  const running = runningDomains() ?? [];
  for (const v of m.vps) {
    const state = running.includes(v.domain) ? "running" : defined.includes(v.domain) ? "defined, not running" : "not defined";
    const want = v.status === "active" ? "running" : "shut off";
    console.log(`  VPS ${v.domain} on ${v.hypervisor}: ${state} (wanted: ${want}; SSH forward ${v.network.type === "user" ? `${v.network.sshForwardAddress}:${v.network.sshForwardPort}` : "bridge"})`);
  }
  console.log("try");
  for (const h of hints(p, facts)) console.log(`  ${h}`);
}

/**
 * Prints each site's HTTP answer (status and page title) and, once HTTP redirects to HTTPS
 * (its certificate is live), the HTTPS answer checked against the lab's pebble root.
 */
export async function printSites(model: Model, p?: LabPaths): Promise<void> {
  const rootFile = p ? pebbleRootFile(p) : undefined;
  const ca = rootFile && existsSync(rootFile) ? readFileSync(rootFile, "utf8") : undefined;
  for (const s of model.sites) {
    const a = await httpGet(s.host);
    let line = `  http://${s.host}/ (${s.status}): ${a ? `HTTP ${a.status}${a.title ? ` "${a.title}"` : ""}` : "no answer"}`;
    if (a && a.status >= 300 && a.status < 400 && ca) {
      const b = await httpsGet(s.host, ca);
      line += "error" in b ? `; https: ${b.error}` : ` → https: HTTP ${b.status}${b.title ? ` "${b.title}"` : ""}${b.hsts ? " (HSTS)" : ""}`;
    }
    console.log(line);
  }
}

// ─── down ──────────────────────────────────────────────────────────────────────────────────────

export interface DownOptions {
  root: string;
  /** Stop the daemons and restore the files even when the destroy failed. */
  force?: boolean;
}

function newFiles(dir: string, since: number, depth = 3): string[] {
  if (depth < 0 || !existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const f = join(dir, e.name);
    if (e.isDirectory()) out.push(...newFiles(f, since, depth - 1));
    else if (statSync(f).mtimeMs >= since) out.push(f);
  }
  return out.sort();
}

export async function labDown(o: DownOptions): Promise<number> {
  const T0 = Date.now() - Math.round(process.uptime() * 1000);
  requireRoot();
  const p = labPaths(o.root);
  ensureLabDirs(p);
  ensureLabKeys(o.root);
  const facts = loadLab(o.root, p);
  const daemons = [...stateDaemons(o.root), ...labDaemons(facts.ctx)];
  const phases: Array<[string, number, string?]> = [["startup", Date.now() - T0, "node, tsx, @pulumi/pulumi and the program's modules"]];

  // 1. destroy (archives happen in the provider)
  const eng = await step("engine: Pulumi CLI and stack lab", async () => {
    const st = await openLabStackNamed(STACK, o.root);
    return { st, before: await stackResources(st) };
  });
  phases.push(["engine", eng.ms, `stack ${STACK} holds ${eng.value.before.length} resources`]);
  const { st: stack, before } = eng.value;
  let destroyFailed: LabError | undefined;
  if (before.length === 0) {
    say(`stack ${STACK} manages nothing: no destroy needed`);
  } else {
    // The destroy reaches the services over SSH: they must run (e.g. after a reboot).
    const down: LabDaemon[] = [];
    for (const d of daemons) if (!recorded(p, d) && !(await d.running().catch(() => ({})))) down.push(d);
    if (down.length > 0) {
      say(`the destroy needs the lab's services; not running: ${down.map((d) => d.name).join(", ")} — starting them first`);
      const t = Date.now();
      try {
        const s = await startDaemons(p, facts);
        phases.push(["daemons up", s.ms]);
        checkDeployLogin(p, facts);
      } catch (e) {
        // Whatever started is recorded and stopped below; with --force the files come back too.
        destroyFailed = e instanceof LabError ? e : new LabError(String(e));
        destroyFailed.message = `the destroy needs the lab's services, which could not all start: ${destroyFailed.message}`;
        phases.push(["daemons up", Date.now() - t, "FAILED"]);
      }
    }
  }
  if (before.length > 0 && !destroyFailed) {
    const t = Date.now();
    say(`destroy of stack ${STACK} (${before.length} resources; members' homes, databases and VPS disks are archived first) …`);
    try {
      const r = await stack.destroy({ onOutput: (s: string) => process.stdout.write(s), color: process.stdout.isTTY ? "auto" : "never" });
      const c = Object.entries(r.summary.resourceChanges ?? {}).filter(([, n]) => (n ?? 0) > 0).map(([op, n]) => `${op} ${n}`).join(", ");
      phases.push(["destroy", Date.now() - t, c]);
      say(`destroy: done in ${secs(Date.now() - t)}`);
    } catch (e) {
      destroyFailed = engineFailure("destroy", e, t);
      phases.push(["destroy", Date.now() - t, "FAILED"]);
    }
  }
  if (destroyFailed && !o.force) {
    console.error(`\nerror: ${destroyFailed.message}`);
    console.error(
      `next: the daemons are left running so the destroy can be retried: fix the cause above and run npm run lab -- down again.\n` +
        `      npm run lab -- down --force stops the daemons and restores the files anyway (what the stack still manages stays on the machine).`,
    );
    return 1;
  }
  const leftDomains = (definedDomains() ?? []).filter((d) => facts.model.vps.some((v) => v.domain === d));

  // 2. stop what the lab started, newest first
  const tStop = Date.now();
  const stopped: string[] = [];
  const problems: string[] = [];
  for (const d of [...daemons].reverse()) {
    if (d.name === "libvirtd") {
      const still = runningDomains();
      if (still && still.length > 0 && recorded(p, d)) say(`  libvirtd: guests still running: ${still.join(", ")} (their QEMU processes outlive libvirtd)`);
    }
    const r = await step(`stop ${d.name}`, () => stopDaemon(p, d));
    const x = r.value;
    say(`  ${d.name}: ${x.result}${x.pid ? ` (pid ${x.pid})` : ""}`);
    if (x.result === "stopped") stopped.push(d.name);
    if (x.result === "still running") problems.push(`${d.name} (pid ${x.pid}) did not stop within ${d.graceMs / 1000} s: stop it by its PID (kill ${x.pid}) once it is done`);
  }
  phases.push(["daemons down", Date.now() - tStop, stopped.join(", ") || "none were the lab's"]);

  // 3. restore the machine's files
  const tRestore = Date.now();
  const res = restore(p);
  for (const r of res.restored) say(`  restored ${r}`);
  for (const f of res.failed) problems.push(`could not restore ${f} (the copy stays in ${p.backup})`);
  if (!destroyFailed) for (const l of removeMailLeftovers()) say(`  ${l}`);
  else for (const l of setMailSetAside(p)) say(`  ${l}`);
  phases.push(["restore files", Date.now() - tRestore, `${res.restored.length} restored`]);

  // report
  console.log("\n══════════════════════════════ lab down ══════════════════════════════");
  for (const [name, ms, detail] of phases) console.log(`  ${name.padEnd(16)}${secs(ms).padStart(12)}${detail ? `   ${detail}` : ""}`);
  console.log(`  ${"total".padEnd(16)}${secs(Date.now() - T0).padStart(12)}`);
  const archives = newFiles(facts.model.inventory.archive_dir, T0);
  if (archives.length) {
    console.log(`archives made by the destroy (${facts.model.inventory.archive_dir}):`);
    for (const a of archives) console.log(`  ${a}`);
  }
  const after = await stackResources(stack).catch(() => undefined);
  if (after) console.log(`resources left in stack ${STACK}: ${after.length}`);
  if (leftDomains.length) problems.push(`libvirt domains of the lab still defined: ${leftDomains.join(", ")}`);
  const stillOurs = daemons.filter((d) => recorded(p, d));
  if (stillOurs.length) problems.push(`still running, started by the lab: ${stillOurs.map((d) => d.name).join(", ")}`);
  console.log("left in place on purpose");
  console.log(`  the Debian packages; the deploy user ${facts.user} (no password; its key only worked through the lab's sshd; remove with: userdel -r ${facts.user})`);
  console.log(`  the base image(s) under ${[...new Set(Object.values(facts.model.inventory.images).map((i) => i.path.replace(/\/[^/]*$/, "")))].join(", ")}, the archives, the stack's state ${labBackendRecord(o.root) ? `in the lab's PostgreSQL (data ${labBackendRecord(o.root)?.dataDir}; npm run lab -- --topology single --state file moves it back)` : "in .lab/state"}`);
  for (const d of daemons) {
    if (recorded(p, d)) continue;
    const other = await d.running().catch(() => undefined);
    if (other) console.log(`  ${d.name}${other.pid ? ` (pid ${other.pid})` : ""}: running, not started by the lab`);
  }
  if (problems.length) {
    console.error("problems:");
    for (const x of problems) console.error(`  ${x}`);
    return 1;
  }
  if (destroyFailed) return 1;
  say(`the lab is down (${secs(Date.now() - T0)})`);
  return 0;
}

// ─── status ────────────────────────────────────────────────────────────────────────────────────

export async function labStatus(o: { root: string }): Promise<number> {
  const p = labPaths(o.root);
  const facts = loadLab(o.root, p);
  console.log("daemons");
  for (const d of [...stateDaemons(o.root), ...labDaemons(facts.ctx)]) {
    const mine = recorded(p, d);
    let state: string;
    if (mine) state = `running, started by the lab (pid ${mine})`;
    else {
      try {
        const other = await d.running();
        state = other ? `running, NOT started by the lab${other.pid ? ` (pid ${other.pid})` : ""}` : "stopped";
      } catch (e) {
        state = `stopped (${(e as Error).message.split("\n")[0]})`;
      }
    }
    console.log(`  ${d.name.padEnd(10)} ${d.where.padEnd(40)} ${state}`);
  }
  const t = Date.now();
  try {
    const stack = await openLabStackNamed(STACK, o.root);
    const resources = await stackResources(stack);
    console.log(`stack ${STACK}: ${resources.length} resources (read in ${secs(Date.now() - t)})`);
    printCounts(resources);
  } catch (e) {
    console.log(`stack ${STACK}: could not be read: ${(e as Error).message.split("\n").slice(-3).join(" ")}`);
  }
  const anyUp = labDaemons(facts.ctx).some((d) => d.name === "apache2" && recorded(p, d));
  if (anyUp) {
    console.log("sites");
    await printSites(facts.model, p);
  }
  const pending = changes(p);
  if (pending.length) {
    console.log(`machine files changed by the lab (put back by npm run lab -- down):`);
    for (const c of pending) console.log(`  ${c.path} (${c.kind === "file" ? "rewritten" : c.kind === "created" ? "created" : "owner/mode"})`);
  }
  for (const [name, img] of Object.entries(facts.model.inventory.images)) {
    const stale = staleReason(img.path);
    const state = stale ? `to build (${stale}): npm run lab builds it` : "built, cached";
    console.log(`base image ${name}: ${img.path}: ${state}`);
  }
  console.log("inspect with");
  for (const h of hints(p, facts)) console.log(`  ${h}`);
  return 0;
}
