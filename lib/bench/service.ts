/**
 * `npm run bench -- service`: time to service on the running single-address lab. One new member
 * with a site, a database and a VPS is applied, and each phase is stamped from the start of the
 * apply: the engine's start (its prelude event), the plan, each step (the engine's
 * resourcePreEvent → resOutputsEvent), then from outside, as the member would see it: the guest
 * defined and running (virsh), its sshd answering, the member's SSH login accepted with the
 * member's key, the site answering over HTTPS with a certificate the lab's pebble root vouches
 * for. Beside them, floors measured in the same run: an apply with nothing to change, and a bare
 * boot of the same image with the same QEMU settings (the guest's own domain XML, a fresh
 * overlay disk, its seed) to the same login.
 *
 * The member lives only in a copy of the lab's data (its `.lab` linked to the checkout's: same
 * keys, same state), never in the checkout, and leaves through the project's departure path
 * (status: departed, its sites, databases, keys, VPS file and zone removed, applied: archived,
 * then removed), even when a step before failed. Every figure is this process's clock at an
 * event it received or a probe it made (probes every PROBE_MS).
 */
import { spawn } from "node:child_process";
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, rmdirSync, statSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { cpus, hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import type { EngineEvent, Stack } from "@pulumi/pulumi/automation";
import { loadModel } from "../check/build";
import { DataError } from "../load/diagnostic";
import type { VpsModel } from "../model/types";
import { detectAccel } from "../host/accel";
import { LabError, run, runAsync, sleep } from "../base/proc";
import { CATCH_ALL_HOST, domstate, httpGet, httpsGet } from "../lab/checks";
import { LIBVIRT_URI } from "../lab/daemons";
import { machineFacts, openLabStackNamed, stackResources } from "../lab/open-stack";
import { labPaths } from "../lab/paths";
import { pebbleRootFile } from "../lab/pebble";
import { labHello } from "../lab/reach";
import { readTopology } from "../lab/topology-record";
import { paths } from "../model/paths";
import { guestBootStages, serviceTable, type Floors, type Mark, type Probe, type ServiceTable } from "./service-table";

export const STACK = "lab";
export const HANDLE = "bench-service";
export const VPS_NAME = "svc";
export const DOMAIN_NAME = "bench-service.test";

/**
 * The site's name for one run: a name of its own under the member's zone. mod_md keeps a
 * certificate in its store after the site has gone, so a second run on the same lab with the
 * same name would measure a certificate already there (seen: 2.3 s instead of 10 s).
 */
export function siteName(now = Date.now()): string {
  return `r${now.toString(36)}.${DOMAIN_NAME}`;
}
/** How often the probes look (their figures are at most this late). */
export const PROBE_MS = 500;
/** How long after the apply the probes wait for the guest's login and the site's certificate. */
const SERVICE_WAIT_MS = 420_000;
/** The bench's own files that QEMU reads (libvirt-qemu must reach them): outside /tmp. */
const BENCH_VAR = "/var/lib/globenet-lab/bench";

export interface ServiceBenchOptions {
  root: string;
  say?: (line: string) => void;
  /** Keep the temporary data copy (the member has departed all the same). */
  keep?: boolean;
}

export interface ServiceBenchResult {
  date: string;
  machine: { host: string; cpu: string; cores: number; accel: string };
  table: ServiceTable;
  floors: Floors & { emptyApplyChanges: string; bareBootToBanner?: number };
  /** Each boot's stages on the guest's own clock (its serial console): the applied guest's and the bare boot's. */
  boot: { applied: Array<{ stage: string; up?: number }>; bare: Array<{ stage: string; up?: number }> };
  /** Opening the stack before any apply (the CLI found, the provider's build checked, the workspace and stack selected), seconds. */
  openStack: number;
  /** The member's departure (status: departed, applied), seconds: not part of the service. */
  departure?: number;
  archivesRemoved: string[];
  marks: Mark[];
  /** The whole command, seconds. */
  total: number;
}

const secsSince = (t0: number) => (performance.now() - t0) / 1000;

/** Records the engine's events as marks, stamped when they arrive (ms since `t0`). */
function recorder(t0: number, marks: Mark[]): (e: EngineEvent) => void {
  return (e) => {
    const at = performance.now() - t0;
    if (e.preludeEvent) marks.push({ kind: "engine-start", at });
    else if (e.resourcePreEvent) {
      const m = e.resourcePreEvent.metadata;
      marks.push({ kind: "step-start", at, urn: m.urn, type: m.type, op: m.op });
    } else if (e.resOutputsEvent) marks.push({ kind: "step-end", at, urn: e.resOutputsEvent.metadata.urn });
    else if (e.resOpFailedEvent) marks.push({ kind: "step-end", at, urn: e.resOpFailedEvent.metadata.urn, failed: true });
    else if (e.summaryEvent) marks.push({ kind: "engine-end", at });
  };
}

function changesOf(r: { summary: { resourceChanges?: Record<string, number | undefined> } }): { text: string; changed: number } {
  const c = Object.entries(r.summary.resourceChanges ?? {}).filter(([, n]) => (n ?? 0) > 0);
  return { text: c.map(([op, n]) => `${op} ${n}`).join(", ") || "none", changed: c.filter(([op]) => op !== "same").reduce((a, [, n]) => a + (n ?? 0), 0) };
}

/** The new member's files (and null: removed), active or departed. */
export function memberFiles(key: string, departed: boolean, site = siteName()): Record<string, string | null> {
  const member = departed
    ? `handle: ${HANDLE}\nname: Bench Service\ncontact: { email: bench@${DOMAIN_NAME} }\nstatus: departed\nnote: "npm run bench -- service: a throwaway member, gone after the run."\n`
    : `handle: ${HANDLE}\nname: Bench Service\ncontact: { email: bench@${DOMAIN_NAME} }\nstatus: active\nssh_keys: ["${key}"]\nsites:\n  - host: ${site}\n    php: "8.2"\ndatabases:\n  - name: bench_service\n`;
  return {
    [`members/${HANDLE}/member.yaml`]: member,
    [`members/${HANDLE}/vps/${VPS_NAME}.yaml`]: departed ? null : `hypervisor: hv1\nvcpus: 1\nmemory_mb: 512\ndisk_gb: 3\nimage: debian-12\nipv4: 203.0.113.40\nipv6: "2001:db8:42::40"\n`,
    // Unsigned: a bench zone's DNSSEC keys would outlive it (BIND keeps keys when a zone goes).
    [`zones/${DOMAIN_NAME}.yaml`]: departed ? null : `owner: ${HANDLE}\ndnssec: false\nrecords:\n  - { name: "@", type: TXT, value: "v=spf1 -all" }\n`,
  };
}

function writeFiles(root: string, files: Record<string, string | null>): void {
  for (const [rel, content] of Object.entries(files)) {
    const f = join(root, rel);
    if (content === null) rmSync(f, { force: true });
    else {
      mkdirSync(join(f, ".."), { recursive: true });
      writeFileSync(f, content);
    }
  }
}

function modelOf(root: string) {
  const { model, errors } = loadModel(root, STACK, machineFacts());
  if (!model) throw new DataError(errors);
  return model;
}

function sshLogin(port: number, key: string): Promise<boolean> {
  return runAsync(
    "ssh",
    ["-p", String(port), "-i", key, "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR", `${HANDLE}@127.0.0.1`, "true"],
    15_000,
  ).then((r) => r.status === 0);
}

/**
 * Watches, every PROBE_MS, what the member would see: the domain (defined, running), the guest's
 * sshd banner, a login with the member's key, the site over HTTPS. Each probe is marked once.
 */
class ServiceProbes {
  readonly marks: Mark[] = [];
  private seen = new Set<Probe>();
  private stopped = false;
  private loop?: Promise<void>;
  /** The apply's start (performance.now()), set by start(). */
  private t0 = 0;
  constructor(
    private readonly domain: string,
    private readonly sshPort: number,
    private readonly key: string,
    private readonly site: string,
    private readonly ca: () => string | undefined,
    private readonly only: readonly Probe[],
  ) {}

  private mark(p: Probe, detail?: string): void {
    if (this.seen.has(p)) return;
    this.seen.add(p);
    this.marks.push({ kind: "probe", at: performance.now() - this.t0, probe: p, detail });
  }

  done(): boolean {
    return this.only.every((p) => this.seen.has(p));
  }

  start(t0: number): void {
    this.t0 = t0;
    this.loop = (async () => {
      while (!this.stopped && !this.done()) {
        await Promise.all([this.guest(), this.https()]);
        await sleep(PROBE_MS);
      }
    })();
  }

  private async guest(): Promise<void> {
    const want = (p: Probe) => this.only.includes(p) && !this.seen.has(p);
    if (want("guest-defined") || want("guest-running")) {
      const st = await domstate(this.domain);
      if (st) this.mark("guest-defined", st);
      if (st === "running") this.mark("guest-running");
    }
    if (!this.seen.has("guest-running")) return;
    if (want("ssh-banner")) {
      const b = await labHello("127.0.0.1", this.sshPort, 2_000, "the bench guest's forwarded SSH port");
      if (b?.startsWith("SSH-")) this.mark("ssh-banner", b.trim());
    }
    if (this.seen.has("ssh-banner") && want("ssh-login") && (await sshLogin(this.sshPort, this.key))) this.mark("ssh-login", `${HANDLE}@127.0.0.1:${this.sshPort}`);
  }

  private async https(): Promise<void> {
    // Its own vhost over HTTP: an answer unlike the catch-all site's (a redirect once the certificate is live).
    if (this.only.includes("site-http") && !this.seen.has("site-http")) {
      const [own, other] = await Promise.all([httpGet(this.site), httpGet(CATCH_ALL_HOST)]);
      if (own && own.sig !== other?.sig) this.mark("site-http", `HTTP ${own.status}`);
    }
    if (!this.only.includes("site-https") || this.seen.has("site-https")) return;
    const ca = this.ca();
    if (!ca) return;
    const a = await httpsGet(this.site, ca, 3_000);
    if (!("error" in a)) this.mark("site-https", `HTTP ${a.status}${a.title ? ` "${a.title}"` : ""}`);
  }

  async waitAll(timeoutMs: number): Promise<void> {
    const end = performance.now() + timeoutMs;
    while (!this.done() && performance.now() < end) await sleep(PROBE_MS);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }
}

/**
 * The bare boot: the guest's own domain XML (taken while it ran) under another name, on a fresh
 * overlay of the same base image and a copy of its seed, its SSH forwarded on another port;
 * `virsh create` → running → banner → the member's login. A transient domain: nothing stays
 * defined. Returns seconds from `virsh create`.
 */
async function bareBoot(xml: string, vps: VpsModel, copies: Record<string, string>, key: string, port: number, dir: string, say: (l: string) => void): Promise<{ running?: number; banner?: number; login?: number; console: string }> {
  const name = `${HANDLE}--bare`;
  const disk = join(dir, `${name}.qcow2`);
  const log = join(dir, `${name}-console.log`);
  if (vps.network.type !== "user") throw new LabError("the bench needs the lab's user-mode network (hv1 of Pulumi.lab.yaml)");
  const base = vps.imagePath;
  const mk = run("qemu-img", ["create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", base, "--", disk, String(vps.diskGb * 1024 ** 3)], { timeoutMs: 60_000 });
  if (mk.status !== 0) throw new LabError(`qemu-img create for the bare boot failed: ${mk.stderr.trim()}`);
  let edited = xml
    .replace(/<name>[^<]*<\/name>/, `<name>${name}</name>`)
    .replace(/<uuid>[^<]*<\/uuid>\s*/, "")
    .split(vps.diskPath).join(disk)
    .replace(/<log file='[^']*'/, `<log file='${log}'`)
    .split(`tcp:127.0.0.1:${vps.network.sshForwardPort}-`).join(`tcp:127.0.0.1:${port}-`);
  // The seed, kernel and initrd the guest booted with, copied before it left.
  for (const [from, to] of Object.entries(copies)) edited = edited.split(from).join(to);
  if (edited.includes(vps.diskPath) || !edited.includes(`tcp:127.0.0.1:${port}-`)) throw new LabError("the guest's domain XML did not take the bare boot's disk and port: the bench cannot make a like-for-like boot");
  const file = join(dir, `${name}.xml`);
  writeFileSync(file, edited);
  const t0 = performance.now();
  const out: { running?: number; banner?: number; login?: number; console: string } = { console: "" };
  const created = await runAsync("virsh", ["-c", LIBVIRT_URI, "create", file], 60_000);
  if (created.status !== 0) throw new LabError(`virsh create of the bare boot failed: ${created.stderr.trim()}`);
  try {
    const end = t0 + SERVICE_WAIT_MS;
    while (out.login === undefined && performance.now() < end) {
      if (out.running === undefined && (await domstate(name)) === "running") out.running = secsSince(t0);
      if (out.running !== undefined && out.banner === undefined) {
        const b = await labHello("127.0.0.1", port, 2_000, "the bare boot's forwarded SSH port");
        if (b?.startsWith("SSH-")) out.banner = secsSince(t0);
      }
      if (out.banner !== undefined && (await sshLogin(port, key))) out.login = secsSince(t0);
      else await sleep(PROBE_MS);
    }
    say(`bare boot: running ${out.running?.toFixed(1) ?? "never"} s, sshd ${out.banner?.toFixed(1) ?? "never"} s, login ${out.login?.toFixed(1) ?? "never"} s`);
    out.console = existsSync(log) ? readFileSync(log, "latin1") : "";
    return out;
  } finally {
    const d = await runAsync("virsh", ["-c", LIBVIRT_URI, "destroy", name], 60_000);
    if (d.status !== 0) say(`bare boot: virsh destroy ${name} failed: ${d.stderr.trim()} (stop it by hand)`);
  }
}

/** A free TCP port on 127.0.0.1 for the bare boot's SSH forward (none answers there). */
async function freePort(from: number): Promise<number> {
  for (let p = from; p < from + 200; p++) if ((await runAsync("ss", ["-Htln", `sport = :${p}`], 5_000)).stdout.trim() === "") return p;
  throw new LabError(`no free port from ${from} for the bare boot`);
}

/** The archives this run's departure made (under archive_dir, named after the member or its guest, newer than `since`). */
function benchArchives(archiveDir: string, since: number): string[] {
  const out: string[] = [];
  if (!existsSync(archiveDir)) return out;
  for (const kind of readdirSync(archiveDir)) {
    const d = join(archiveDir, kind);
    if (!statSync(d).isDirectory()) continue;
    for (const f of readdirSync(d)) if ((f.startsWith(HANDLE) || f.startsWith("bench_service")) && statSync(join(d, f)).mtimeMs >= since) out.push(join(d, f));
  }
  return out.sort();
}

export async function serviceBench(o: ServiceBenchOptions): Promise<ServiceBenchResult> {
  const say = o.say ?? ((l: string) => process.stderr.write(`[bench] ${l}\n`));
  const tAll = performance.now();
  if (typeof process.getuid === "function" && process.getuid() !== 0) throw new LabError("the service bench applies to the lab (its daemons, libvirt): it must run as root", "sudo -E npm run bench -- service");
  const p = labPaths(o.root);
  if (readTopology(p)) throw new LabError("the multi-host lab is up: the service bench runs on the single-address lab (stack lab)", "npm run lab -- down, then npm run lab -- --topology single");
  const accel = detectAccel();
  const machine = { host: hostname(), cpu: cpus()[0]?.model ?? "unknown", cores: cpus().length, accel: accel.name };

  // The lab's data, copied; the copy's .lab is the checkout's (keys, state, pebble's root).
  const copy = mkdtempSync(join(tmpdir(), "globenet-bench-service-"));
  // Pulumi.yaml stays behind: its provider path is relative to the checkout; a data tree without
  // one gets the project's settings with the checkout's provider (lib/engine/driver.ts).
  copyFileSync(join(o.root, "Pulumi.lab.yaml"), join(copy, "Pulumi.lab.yaml"));
  for (const d of ["members", "zones"]) cpSync(join(o.root, d), join(copy, d), { recursive: true });
  symlinkSync(join(o.root, ".lab"), join(copy, ".lab"));
  const runDir = join(BENCH_VAR, String(process.pid));
  mkdirSync(runDir, { recursive: true });
  try {
    return await measure(o, copy, runDir, tAll, machine, say);
  } finally {
    rmSync(runDir, { recursive: true, force: true });
    if (existsSync(BENCH_VAR) && readdirSync(BENCH_VAR).length === 0) rmdirSync(BENCH_VAR);
    if (o.keep) say(`kept ${copy}`);
    else {
      // The link first, by itself: the checkout's .lab (state, keys) must never be walked into.
      unlinkSync(join(copy, ".lab"));
      rmSync(copy, { recursive: true, force: true });
    }
  }
}

/** The run itself, in the data copy `copy` (its .lab the checkout's) with QEMU's files in `runDir`. */
async function measure(o: ServiceBenchOptions, copy: string, runDir: string, tAll: number, machine: ServiceBenchResult["machine"], say: (l: string) => void): Promise<ServiceBenchResult> {
  const p = labPaths(o.root);
  const keyFile = join(copy, "member_key");
  const kg = run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", `${HANDLE}@bench`, "-f", keyFile]);
  if (kg.status !== 0) throw new LabError(`ssh-keygen failed: ${kg.stderr.trim()}`);
  const key = readFileSync(`${keyFile}.pub`, "utf8").trim();

  const before = modelOf(copy);
  if (before.members.some((m) => m.handle === HANDLE)) throw new LabError(`the lab's data already has a member ${HANDLE}`, `remove members/${HANDLE} from ${o.root} (the bench adds it to a copy only)`);
  const archiveDir = before.inventory.archive_dir;

  say(`opening stack ${STACK} on a copy of ${o.root}'s data (${copy}) …`);
  const tOpen = performance.now();
  const stack: Stack = await openLabStackNamed(STACK, copy);
  const openStackSeconds = secsSince(tOpen);
  if ((await stackResources(stack)).length === 0) throw new LabError(`stack ${STACK} manages nothing: the lab is not up`, "npm run lab -- --topology single (then run the bench again)");

  let applied = false;
  let departure: number | undefined;
  let archivesRemoved: string[] = [];
  const marks: Mark[] = [];
  const floors: ServiceBenchResult["floors"] = { emptyApplyChanges: "" };
  const boot: ServiceBenchResult["boot"] = { applied: guestBootStages(""), bare: guestBootStages("") };
  const domainLogs = [paths.vpsConsoleLog(`${HANDLE}--${VPS_NAME}`), `/var/log/libvirt/qemu/${HANDLE}--${VPS_NAME}.log`, `/var/log/libvirt/qemu/${HANDLE}--bare.log`];
  try {
    // Floor 1: the same engine, stack and data with nothing to change.
    say("floor: an apply with nothing to change …");
    let t0 = 0;
    const emptyUp = async () => {
      const m: Mark[] = [];
      t0 = performance.now();
      const r = await stack.up({ color: "never", onEvent: recorder(t0, m) });
      floors.emptyApply = secsSince(t0);
      const prelude = m.find((x) => x.kind === "engine-start");
      floors.emptyEngineStart = prelude && prelude.at / 1000;
      return changesOf(r);
    };
    let ec = await emptyUp();
    if (ec.changed > 0) {
      say(`floor: the first empty apply changed something (${ec.text}): once more, so the floor is an apply with nothing to do`);
      ec = await emptyUp();
    }
    floors.emptyApplyChanges = ec.text;
    if (ec.changed > 0) throw new LabError(`the empty apply changed something (${ec.text}): the lab had not converged, so the bench's apply would measure more than the new member`, "run npm run lab -- --topology single again, then the bench");
    say(`floor: empty apply ${(floors.emptyApply ?? 0).toFixed(1)} s`);

    // The new member.
    const site = siteName();
    writeFiles(copy, memberFiles(key, false, site));
    const model = modelOf(copy);
    const vps = model.vps.find((v) => v.handle === HANDLE);
    if (!vps || vps.network.type !== "user") throw new LabError("the bench member's VPS is not on a user-mode lab hypervisor");
    const rootFile = pebbleRootFile(p);
    const probes = new ServiceProbes(vps.domain, vps.network.sshForwardPort, keyFile, site, () => (existsSync(rootFile) ? readFileSync(rootFile, "utf8") : undefined), ["guest-defined", "guest-running", "ssh-banner", "ssh-login", "site-http", "site-https"]);
    say(`apply: new member ${HANDLE} (site ${site}, database bench_service, VPS ${vps.domain}) …`);
    t0 = performance.now();
    probes.start(t0);
    applied = true;
    try {
      await stack.up({ color: "never", onEvent: recorder(t0, marks) });
    } finally {
      marks.push({ kind: "apply-returned", at: performance.now() - t0 });
    }
    say(`apply returned after ${secsSince(t0).toFixed(1)} s; waiting for the login and the certificate (at most ${SERVICE_WAIT_MS / 1000} s) …`);
    await probes.waitAll(SERVICE_WAIT_MS);
    await probes.stop();
    marks.push(...probes.marks);

    // The guest's own account of its boot, up to now (it runs until the departure).
    if (existsSync(domainLogs[0] as string)) boot.applied = guestBootStages(readFileSync(domainLogs[0] as string, "latin1"));

    // What the bare boot needs from the guest, while it is defined.
    const xml = await runAsync("virsh", ["-c", LIBVIRT_URI, "dumpxml", "--inactive", vps.domain], 30_000);
    const copies: Record<string, string> = {};
    for (const [what, f] of [["seed.iso", vps.seedPath], ["vmlinuz", vps.directBoot?.kernel], ["initrd", vps.directBoot?.initrd]] as const) {
      if (!f || !existsSync(f)) continue;
      copies[f] = join(runDir, what);
      copyFileSync(f, copies[f] as string);
    }

    // Departure, the project's way.
    say(`departure: ${HANDLE} status: departed, its site, database, keys, VPS file and zone removed, applied …`);
    writeFiles(copy, memberFiles(key, true));
    t0 = performance.now();
    const tArch = Date.now();
    await stack.up({ color: "never" });
    departure = secsSince(t0);
    applied = false;
    archivesRemoved = benchArchives(archiveDir, tArch - 1000);
    for (const a of archivesRemoved) rmSync(a, { recursive: true, force: true });
    say(`departure: ${departure.toFixed(1)} s; removed this run's archives: ${archivesRemoved.join(", ") || "none"}`);

    // Floor 2: the same image with the same QEMU settings, alone.
    if (xml.status === 0) {
      say("floor: bare boot of the same image, same domain XML, to the member's login …");
      const b = await bareBoot(xml.stdout, vps, copies, keyFile, await freePort(vps.network.sshForwardPort + 1000), runDir, say);
      floors.bareBootToRunning = b.running;
      floors.bareBootToBanner = b.banner;
      boot.bare = guestBootStages(b.console);
      if (b.login !== undefined && b.running !== undefined) floors.bareBootToLogin = b.login - b.running;
    } else say(`floor: bare boot skipped: virsh dumpxml failed (${xml.stderr.trim()})`);
  } finally {
    if (applied) {
      say(`the run stopped before the member left: departure of ${HANDLE} now …`);
      try {
        writeFiles(copy, memberFiles(key, true));
        await stack.up({ color: "never" });
        for (const a of benchArchives(archiveDir, tAll - 1000)) rmSync(a, { recursive: true, force: true });
      } catch (e) {
        say(`DEPARTURE FAILED: ${(e as Error).message.split("\n").slice(-5).join(" | ")}\n  the copy stays in ${copy}: fix the cause, then: npm run up -- --stack lab --root ${copy}`);
        o.keep = true;
      }
    }
    // The throwaway guests' logs (libvirt's and the serial console's): nothing of a member in them.
    for (const f of domainLogs) rmSync(f, { force: true });
  }
  const table = serviceTable(marks, floors);
  return { date: new Date().toISOString(), machine, table, floors, boot, openStack: openStackSeconds, departure, archivesRemoved, marks, total: secsSince(tAll) };
}

/** The lines under the table: the floors themselves and what the run cost. */
export function formatFloors(r: ServiceBenchResult): string {
  const f = (x: number | undefined) => (x === undefined ? "never" : `${x.toFixed(1)} s`);
  return [
    `floors (same run): empty apply ${f(r.floors.emptyApply)} (${r.floors.emptyApplyChanges}); bare boot: virsh create → running ${f(r.floors.bareBootToRunning)}, → sshd ${f(r.floors.bareBootToBanner)}, running → login ${f(r.floors.bareBootToLogin)}`,
    `steps that changed something: ${r.table.steps}; unchanged: ${r.table.same}; probes every ${PROBE_MS / 1000} s`,
    `before the apply (not counted above): opening the stack ${f(r.openStack)}; after it, the departure ${f(r.departure)}; whole command ${f(r.total)}`,
    `machine: ${r.machine.host}, ${r.machine.cores} × ${r.machine.cpu}, guests ${r.machine.accel}; ${r.date}`,
    ...(r.table.missing.length ? [`never seen: ${r.table.missing.join(", ")}`] : []),
  ].join("\n");
}
