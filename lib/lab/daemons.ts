/**
 * The lab's daemons, each started by hand as LAB-NOTES describes (no systemd here), on the
 * loopback only, each only when it is not running already. The PID of every daemon the lab
 * starts is recorded in .lab/run/<name>.pid (with its start time in <name>.start, so a
 * recycled PID is never mistaken for it); `lab down` stops those and nothing else.
 *
 * The machine's own configuration is used (the provider edits /etc/apache2, /etc/bind,
 * /etc/php/<v>/fpm and talks to MariaDB on its default socket), moved onto 127.0.0.1: the
 * lab rewrites ports.conf and named.conf.options, keeping the originals (backup.ts).
 */
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeChange, beforeModuleChange, writeManaged } from "./backup";
import { openKvm } from "./host";
import type { Acme } from "../schema/inventory";
import { ensureListenerCert, MULTI_LAB_CERT_VALIDITY_SEC, PEBBLE_MANAGEMENT_PORT, PEBBLE_PORT, pebbleEnv, resetLabStore, savePebbleRoot, usesPebble, writePebbleConfig } from "./pebble";
import { bracket } from "./netns";
import { BIND_HOST_LOGGING, ownBindFolders } from "./bind-host";
import { ownLibvirtFolders } from "./libvirt-host";
import { MD_RELOAD_DELAY_SEC, MD_RELOAD_FLAG } from "../render/md-reload";
import type { LabPaths } from "./paths";
import { comm, fileTail, findTool, LabError, livePid, pidAlive, pidFrom, run, runAsync, sessionOf, sleep, startTicks, stopPid, stopSession, unixSocketAnswers, waitFor, why } from "../base/proc";
import { labHello } from "./reach";

export interface DaemonCtx {
  paths: LabPaths;
  /** The stack's ACME settings: the lab runs pebble when they name it. */
  acme?: Acme;
  sshPort: number;
  /** The lab web host's sshd facts (Pulumi.lab.yaml: hosts.lab.sshd): the provider writes suspension drop-ins there and reloads through the pid file. */
  sshd: { dropinDir: string; pidFile: string };
  hostKey: string;
  phpVersions: string[];
}

/**
 * Where a daemon runs: this machine's own namespaces (the single lab, LOCAL) or one host of the
 * multi-host lab (lib/lab/multi.ts), whose commands go through netns.ts's onHost so the daemon
 * binds in the host's network namespace and sees its private folders.
 */
export interface Place {
  /** The lab host (multi-host lab); undefined for this machine itself. */
  host?: string;
  /** argv that runs `cmd args` there. */
  wrap(cmd: string, args: string[]): [string, string[]];
  /** The addresses its daemons listen on (the first is where the lab checks them). */
  addresses: string[];
  /** Where a file the host sees lives in this machine's mount namespace (its private folders). */
  path(p: string): string;
  /** Added to record and log names: "" here, "-<host>" for a daemon each host runs its own of. */
  suffix: string;
  /**
   * Whether the host's namespace exists. Until it does, its addresses are not on this machine's
   * lab link: a probe would follow the default route out of the machine, so none is made.
   */
  present(): boolean;
}

export const LOCAL: Place = { wrap: (cmd, args) => [cmd, args], addresses: ["127.0.0.1"], path: (p) => p, suffix: "", present: () => true };


export interface Running {
  pid?: number;
}

export interface LabDaemon {
  /** Record name (.lab/run/<name>.pid) and what the volunteer sees. */
  name: string;
  /** Where it listens, for messages. */
  where: string;
  /** Prefix of /proc/PID/comm, to recognise the recorded process. */
  comm: string;
  /** An instance already running (whoever started it), found from its usual pid file or by asking it. */
  running(): Promise<Running | undefined>;
  /** Starts it; resolves with its PID once it answers. Notes go to `note`. */
  start(note: (s: string) => void): Promise<number>;
  /** Started after the apply, which writes its configuration (the mail host's daemons: lib/lab/mail.ts). */
  afterApply?: boolean;
  /** How long SIGTERM may take, and whether SIGKILL may follow. */
  graceMs: number;
  killAfterGrace: boolean;
  /**
   * The daemon leads its own session (it detaches, or the lab started it detached) and its
   * children may hold its ports: what is left of that session after the master is stopped
   * (a child that outlived it) is stopped too.
   */
  ownSession?: boolean;
}

// ─── records ───────────────────────────────────────────────────────────────────────────────────

function recordFiles(p: LabPaths, name: string): { pid: string; start: string } {
  return { pid: join(p.run, `${name}.pid`), start: join(p.run, `${name}.start`) };
}

export function record(p: LabPaths, name: string, pid: number): void {
  const f = recordFiles(p, name);
  writeFileSync(f.pid, `${pid}\n`);
  writeFileSync(f.start, `${startTicks(pid)} ${comm(pid)}\n`);
}

/** The PID the lab recorded for `name`, when that very process still runs. */
export function recorded(p: LabPaths, d: Pick<LabDaemon, "name" | "comm">): number | undefined {
  const f = recordFiles(p, d.name);
  const pid = pidFrom(f.pid);
  if (pid === undefined || !pidAlive(pid) || !comm(pid).startsWith(d.comm)) return undefined;
  if (existsSync(f.start)) {
    const ticks = readFileSync(f.start, "utf8").trim().split(" ")[0];
    if (ticks && ticks !== startTicks(pid)) return undefined;
  }
  return pid;
}

export function hasRecord(p: LabPaths, name: string): boolean {
  return existsSync(recordFiles(p, name).pid);
}

export function forget(p: LabPaths, name: string): void {
  const f = recordFiles(p, name);
  rmSync(f.pid, { force: true });
  rmSync(f.start, { force: true });
}

// ─── helpers ───────────────────────────────────────────────────────────────────────────────────

/**
 * Runs a command that daemonizes. Its output goes to a log file, not a pipe: a daemon that
 * kept our pipe open would hold spawnSync (and npm) until it exits.
 */
function runDaemonizing(p: LabPaths, name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): { status: number | null; log: string } {
  const logFile = join(p.log, `${name}.log`);
  const fd = openSync(logFile, "w");
  const r = spawnSync(cmd, args, { stdio: ["ignore", fd, fd], env, timeout: 120_000 });
  closeSync(fd);
  return { status: r.error ? null : r.status, log: readFileSync(logFile, "utf8").trim() || (r.error?.message ?? "") };
}

/**
 * Starts a daemon that stays in the foreground as a detached child (its own session, output to
 * .lab/log/<name>.log): its PID is the daemon's own, and it outlives this process.
 */
export function detachedChild(p: LabPaths, name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): { pid: number; exited?: string } {
  const fd = openSync(join(p.log, `${name}.log`), "w");
  const child = spawn(cmd, args, { stdio: ["ignore", fd, fd], detached: true, env });
  closeSync(fd);
  const out: { pid: number; exited?: string } = { pid: child.pid ?? -1 };
  child.once("exit", (code, sig) => (out.exited = `exit ${code ?? sig}`));
  child.once("error", (e) => (out.exited = e.message));
  child.unref();
  return out;
}

export function logTail(p: LabPaths, name: string, lines = 15): string {
  return fileTail(join(p.log, `${name}.log`), lines)?.join("\n") ?? "(no output)";
}

export function need(tool: string, pkg: string): string {
  const t = findTool(tool);
  if (!t) throw new LabError(`${tool} not found`, `install the Debian package ${pkg}: bash scripts/ensure-debs.sh`);
  return t;
}

export async function pidFromFile(file: string, name: string, what: string, timeoutMs = 30_000): Promise<number> {
  const pid = await waitFor(() => livePid(file, name), timeoutMs, 100);
  if (!pid) throw new LabError(`${what}: no live process in ${file} after ${timeoutMs / 1000} s`);
  return pid;
}

/** Who holds a TCP port on 127.0.0.1, for messages (no ss/lsof needed: /proc/net/tcp and fd links). */
function holderOf(port: number): string {
  try {
    const hex = port.toString(16).toUpperCase().padStart(4, "0");
    const inodes = new Set<string>();
    for (const f of ["/proc/net/tcp", "/proc/net/tcp6"]) {
      if (!existsSync(f)) continue;
      for (const l of readFileSync(f, "utf8").split("\n").slice(1)) {
        const c = l.trim().split(/\s+/);
        if (c[1]?.endsWith(`:${hex}`) && c[3] === "0A") inodes.add(c[9] ?? "");
      }
    }
    if (inodes.size === 0) return "an unknown program";
    const targets = new Set([...inodes].map((i) => `socket:[${i}]`));
    for (const d of readdirSync("/proc")) {
      if (!/^\d+$/.test(d)) continue;
      let fds: string[] = [];
      try {
        fds = readdirSync(`/proc/${d}/fd`);
      } catch {
        continue;
      }
      for (const fd of fds) {
        try {
          if (targets.has(readlinkSync(`/proc/${d}/fd/${fd}`))) return `pid ${d} (${comm(Number(d))})`;
        } catch {
          // closed meanwhile
        }
      }
    }
    return "an unknown program";
  } catch {
    return "an unknown program";
  }
}

/**
 * A lab host's ports, in its namespace: a daemon just stopped may hold its listening socket a
 * moment longer (its children exiting), so wait for it; whatever still holds one after that is
 * named (ss -p) rather than left to a bare "Address already in use".
 */
async function portsFreeOn(place: Place, ports: number[], what: string, leftover?: string, note?: (s: string) => void): Promise<void> {
  const listeners = () => {
    const r = run(...place.wrap("ss", ["-Hltnp", `( ${ports.map((n) => `sport = :${n}`).join(" or ")} )`]), { timeoutMs: 10_000 });
    return r.status === 0 ? r.stdout.trim() : "";
  };
  if (await waitFor(async () => listeners() === "", 15_000, 200)) return;
  // The host's namespace is the lab's own: a process of the daemon's own name still holding its
  // ports there is a leftover of an earlier run of it (a child that outlived its master), stopped.
  if (leftover && place.host) {
    const pids = leftoverHolders(listeners(), leftover);
    if (pids.length > 0) {
      note?.(`lab host ${place.host}: ${leftover} processes left from an earlier run still held ports ${ports.join(", ")} (pid ${pids.join(", ")}): stopped`);
      for (const pid of pids) await stopPid(pid, 3_000, true);
      if (await waitFor(async () => listeners() === "", 5_000, 100)) return;
    }
  }
  throw new LabError(`lab host ${place.host}: ports ${ports.join(", ")} are still taken, so ${what} cannot start:\n${listeners()}`, `stop that program in the host's namespace (by its PID), then run npm run lab again`);
}

/** The PIDs that `ss -p` names as holders, whose command is `name` (checked in /proc, not trusted from ss). */
export function leftoverHolders(ssOutput: string, name: string): number[] {
  const pids = new Set<number>();
  for (const m of ssOutput.matchAll(/pid=(\d+)/g)) pids.add(Number(m[1]));
  return [...pids].filter((pid) => pidAlive(pid) && comm(pid) === name).sort((x, y) => x - y);
}

async function portFree(port: number, what: string): Promise<void> {
  if ((await labHello("127.0.0.1", port, 500, `is ${what}'s port free`)) !== undefined) {
    throw new LabError(`127.0.0.1:${port} is taken by ${holderOf(port)}, and it is not ${what}`, `stop that program (by its PID), then run npm run lab again`);
  }
}

const LAB_HEADER = (what: string) =>
  `globenet-infra lab (npm run lab): ${what}\n` + `The machine's original is kept in .lab/backup/ of the checkout and comes back with \`npm run lab -- down\`.`;

// ─── sshd ──────────────────────────────────────────────────────────────────────────────────────

/** What a host's sshd lets in besides keys: AllowUsers (undefined: every account, as on a web host). */
export function sshd(ctx: DaemonCtx, place: Place = LOCAL, allowUsers?: string[]): LabDaemon {
  const p = ctx.paths;
  const port = ctx.sshPort;
  const at = place.addresses[0] ?? "127.0.0.1";
  const name = `sshd${place.suffix}`;
  const config = `${p.sshdConfig}${place.suffix}`;
  return {
    name,
    where: place.addresses.map((a) => `${bracket(a)}:${port}`).join(", "),
    comm: "sshd",
    graceMs: 5_000,
    killAfterGrace: true,
    async running() {
      // Only the lab's own sshd (recorded) will do: another server on this port has another host key.
      if (!place.present()) return undefined;
      const hello = await labHello(at, port, 1_000, `${name}: is its SSH port taken`);
      if (hello === undefined) return undefined;
      throw new LabError(`${bracket(at)}:${port} (the lab's SSH port) is taken by ${place.host ? "a program" : holderOf(port)}, which the lab did not start`, "stop it by its PID, or give the lab hosts another ssh.port in Pulumi.lab.yaml");
    },
    async start() {
      const bin = need("sshd", "openssh-server");
      mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
      // Where the inventory says (hosts.lab.sshd.pid_file): the provider reloads sshd through it.
      const pidFile = ctx.sshd.pidFile;
      rmSync(pidFile, { force: true });
      // The provider's suspension drop-ins (hosts.lab.sshd.dropin_dir), as Debian's sshd_config.d.
      mkdirSync(ctx.sshd.dropinDir, { recursive: true, mode: 0o755 });
      writeFileSync(
        config,
        [
          `# globenet-infra lab sshd (npm run lab): the provider reaches ${place.host ? `lab host ${place.host}` : "the lab hosts"} through it.`,
          `# ${place.host ? "Its own addresses only" : "Loopback only"}, keys only; members' accounts log in with their own keys as on a real host.`,
          // First, as Debian's sshd_config does: sshd keeps the first value it reads.
          `Include ${ctx.sshd.dropinDir}/*.conf`,
          `Port ${port}`,
          ...place.addresses.map((a) => `ListenAddress ${bracket(a)}`),
          // One machine's /etc/passwd serves every lab host: members' accounts exist on all of
          // them, but in prod they have none on a database or name server, so only these get in.
          ...(allowUsers ? [`AllowUsers ${allowUsers.join(" ")}`] : []),
          `HostKey ${ctx.hostKey}`,
          `PidFile ${pidFile}`,
          "AuthorizedKeysFile .ssh/authorized_keys",
          "PasswordAuthentication no",
          "KbdInteractiveAuthentication no",
          "PermitRootLogin no",
          // No PAM session stack in a container without systemd; accounts with password "*" are not locked.
          "UsePAM no",
          // StrictModes stays on: authorized_keys live in the users' own homes (deploy user,
          // members), as on a real host; the host key in the checkout is not subject to it.
          "StrictModes yes",
          // The provider keeps one connection per host with up to 8 channels; three lab hosts share this server.
          "MaxSessions 30",
          "MaxStartups 50",
          "X11Forwarding no",
          "PrintMotd no",
          "Subsystem sftp internal-sftp",
          "",
        ].join("\n"),
        { mode: 0o600 },
      );
      const t = run(bin, ["-t", "-f", config]);
      if (t.status !== 0) throw new LabError(`sshd rejects ${config}: ${why(t)}`);
      const r = runDaemonizing(p, name, ...place.wrap(bin, ["-f", config, "-E", join(p.log, `${name}-auth.log`)]));
      if (r.status !== 0) throw new LabError(`${name} did not start (exit ${r.status}): ${r.log}\n${logTail(p, `${name}-auth`)}`);
      const pid = await pidFromFile(place.path(pidFile), "sshd", name);
      const ok = await waitFor(async () => (await labHello(at, port, 1_000, `${name}: waiting for its banner`))?.startsWith("SSH-"), 15_000, 100);
      if (!ok) throw new LabError(`${name} (pid ${pid}) does not answer on ${bracket(at)}:${port}:\n${logTail(p, `${name}-auth`)}`);
      return pid;
    },
  };
}

// ─── Apache ────────────────────────────────────────────────────────────────────────────────────

function apacheEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.APACHE_CONFDIR;
  return env;
}

export function apachePidFile(): string {
  const r = spawnSync("bash", ["-c", '. /etc/apache2/envvars >/dev/null 2>&1; echo "${APACHE_PID_FILE:-/var/run/apache2/apache2.pid}"'], { encoding: "utf8", env: apacheEnv() });
  return (r.stdout ?? "").trim() || "/var/run/apache2/apache2.pid";
}

/**
 * The web host's MPM, before Apache starts: prefork with mpm-itk (each member's site runs as the
 * member), as the apache2 file set's wiring wants it. Apache cannot switch MPM in the graceful
 * reload an apply does (the wiring would then restart it under a new PID the lab does not know),
 * so the lab switches it first, with Debian's a2dismod/a2enmod; `lab down` switches it back.
 */
function ensureItk(p: LabPaths, note: (s: string) => void): void {
  const mods = "/etc/apache2/mods-enabled";
  if (!existsSync("/etc/apache2/mods-available/mpm_itk.load")) {
    throw new LabError("Apache's mpm-itk module is not installed (/etc/apache2/mods-available/mpm_itk.load)", "install the Debian package libapache2-mpm-itk: bash scripts/ensure-debs.sh");
  }
  const on = (m: string) => existsSync(join(mods, `${m}.load`));
  const off = ["mpm_event", "mpm_worker"].filter(on);
  const enable = ["mpm_prefork", "mpm_itk"].filter((m) => !on(m));
  if (off.length === 0 && enable.length === 0) return;
  beforeModuleChange(p, mods, enable, off);
  const env = apacheEnv();
  if (off.length > 0) {
    const r = run("a2dismod", ["-q", "-f", ...off], { env });
    if (r.status !== 0) throw new LabError(`a2dismod ${off.join(" ")} failed: ${why(r)}`);
  }
  const r = run("a2enmod", ["-q", "mpm_itk"], { env });
  if (r.status !== 0) throw new LabError(`a2enmod mpm_itk failed: ${why(r)}`);
  note(`Apache's MPM: ${off.join(", ") || "none"} off, prefork with mpm-itk on (members' sites run as their own users; switched back by lab down)`);
}

export function apache(ctx: DaemonCtx, place: Place = LOCAL): LabDaemon {
  const p = ctx.paths;
  const at = place.addresses[0] ?? "127.0.0.1";
  return {
    name: "apache2",
    where: `${place.addresses.map(bracket).join(", ")} :80 and :443`,
    comm: "apache2",
    graceMs: 15_000,
    killAfterGrace: true,
    ownSession: true,
    async running() {
      const pid = livePid(apachePidFile(), "apache2");
      return pid ? { pid } : undefined;
    },
    async start(note) {
      const ctl = need("apache2ctl", "apache2");
      if (!place.host) {
        await portFree(80, "Apache");
        await portFree(443, "Apache");
      } else await portsFreeOn(place, [80, 443], "Apache", "apache2", note);
      const listen = (port: number, indent = "") => place.addresses.map((a) => `${indent}Listen ${bracket(a)}:${port}\n`).join("");
      const header = place.host ? `the machine's web server listens on lab host ${place.host}'s addresses only.` : "the machine's web server listens on the loopback only.";
      const ports = `${LAB_HEADER(header).replace(/^/gm, "# ")}\n${listen(80)}<IfModule ssl_module>\n${listen(443, "    ")}</IfModule>\n`;
      if (writeManaged(p, "/etc/apache2/ports.conf", ports)) {
        note(`/etc/apache2/ports.conf: Listen ${place.addresses.map(bracket).join(", ")} on 80 and, with mod_ssl, 443 (original kept)`);
      }
      ensureItk(p, note);
      const t = run(ctl, ["-t"], { env: apacheEnv() });
      if (t.status !== 0) throw new LabError(`apache2ctl -t rejects the machine's Apache configuration:\n${why(t)}`, "fix /etc/apache2 (apache2ctl -t says where), then run npm run lab again");
      const r = runDaemonizing(p, "apache2", ...place.wrap(ctl, ["start"]), apacheEnv());
      if (r.status !== 0) throw new LabError(`apache2ctl start failed (exit ${r.status}):\n${r.log}`);
      const pid = await pidFromFile(apachePidFile(), "apache2", "Apache");
      const ok = await waitFor(async () => (await labHello(at, 80, 500, "Apache: waiting for it")) !== undefined, 15_000, 100);
      if (!ok) throw new LabError(`Apache (pid ${pid}) does not accept connections on ${bracket(at)}:80`);
      return pid;
    },
  };
}

// ─── md-reload (the lab's stand-in for systemd's globenet-md-reload.path) ─────────────────────────

/**
 * mod_md's md-event.sh asks for a graceful reload by creating MD_RELOAD_FLAG (it cannot reload
 * Apache itself under mpm-itk: lib/render/md-reload.ts). On a web host systemd's path unit
 * answers; the lab has no systemd, so this loop, run as root like the unit, does the same: wait
 * a few seconds for a burst, remove the request, then a graceful restart of the running Apache.
 */
export function mdReload(ctx: DaemonCtx, place: Place = LOCAL): LabDaemon {
  const p = ctx.paths;
  return {
    name: "md-reload",
    where: `watches ${MD_RELOAD_FLAG}`,
    comm: "sh",
    graceMs: 5_000,
    killAfterGrace: true,
    // Only the lab's own (recorded) watcher counts: nothing else answers this request.
    async running() {
      return undefined;
    },
    async start() {
      const ctl = need("apache2ctl", "apache2");
      const loop = [
        `flag='${MD_RELOAD_FLAG}'`,
        "while :; do",
        '  if [ -e "$flag" ] || [ -L "$flag" ]; then',
        `    sleep ${MD_RELOAD_DELAY_SEC}`,
        '    rm -f -- "$flag"',
        // Only a running Apache (lib/render/md-reload.ts: graceful would start a stopped one).
        `    pid=$(cat -- '${apachePidFile()}' 2>/dev/null || true)`,
        '    if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = apache2 ]; then',
        `      if '${ctl}' -t; then`,
        '        echo "$(date -u +%FT%TZ) mod_md asked for a reload: graceful restart of Apache (SIGUSR1 to $pid)"',
        '        kill -USR1 "$pid"',
        "      else",
        '        echo "$(date -u +%FT%TZ) mod_md asked for a reload, but apache2ctl -t refuses the configuration: not reloaded"',
        "      fi",
        "    else",
        '      echo "$(date -u +%FT%TZ) mod_md asked for a reload, but Apache is not running: nothing to reload"',
        "    fi",
        "  fi",
        "  sleep 1",
        "done",
      ].join("\n");
      const child = detachedChild(p, "md-reload", ...place.wrap("/bin/sh", ["-c", loop]), apacheEnv());
      await sleep(200);
      if (child.exited || child.pid < 0) throw new LabError(`the md-reload watcher did not start (${child.exited ?? "no pid"}):\n${logTail(p, "md-reload")}`);
      return child.pid;
    },
  };
}

// ─── pebble (the lab's ACME CA, see pebble.ts) ──────────────────────────────────────────────────

/** pebble on this machine (127.0.0.1) or in the multi-host lab's "ca" namespace; `dns`: the name server it asks. */
export function pebble(ctx: DaemonCtx, acme: Acme & { ca_trust: string }, place: Place = LOCAL, dns = "127.0.0.1"): LabDaemon {
  const p = ctx.paths;
  const at = place.addresses[0] ?? "127.0.0.1";
  return {
    name: "pebble",
    where: `${bracket(at)}:${PEBBLE_PORT} (ACME; management ${PEBBLE_MANAGEMENT_PORT})`,
    comm: "pebble",
    graceMs: 5_000,
    killAfterGrace: true,
    async running() {
      if (!place.present() || (await labHello(at, PEBBLE_PORT, 500, "pebble: is its port taken")) === undefined) return undefined;
      throw new LabError(`${bracket(at)}:${PEBBLE_PORT} (the lab's ACME CA) is taken by ${place.host ? "a program" : holderOf(PEBBLE_PORT)}, which the lab did not start`, "stop it by its PID, then run npm run lab again");
    },
    async start(note) {
      const bin = need("pebble", "pebble");
      if (!place.host) await portFree(PEBBLE_MANAGEMENT_PORT, "pebble");
      const listener = ensureListenerCert(acme, at);
      if (listener.made) note(`made pebble's HTTPS listener certificate ${listener.cert} (mod_md trusts it: acme.ca_trust)`);
      const emptied = resetLabStore(acme);
      if (emptied) note(`emptied the lab's mod_md store ${emptied}: a new pebble knows none of its certificates`);
      // The multi-host lab's certificates are short-lived, so its certificate alert can be crossed.
      const config = writePebbleConfig(p, listener.cert, listener.key, at, place.host ? MULTI_LAB_CERT_VALIDITY_SEC : undefined);
      const child = detachedChild(p, "pebble", ...place.wrap(bin, ["-config", config, "-dnsserver", `${bracket(dns)}:53`]), pebbleEnv());
      const ok = await waitFor(async () => child.exited ?? ((await labHello(at, PEBBLE_PORT, 500, "pebble: waiting for it")) !== undefined || undefined), 20_000, 100);
      if (ok !== true) throw new LabError(`pebble did not start (${child.exited ?? `no answer on ${bracket(at)}:${PEBBLE_PORT}`}):\n${logTail(p, "pebble")}`);
      const root = await savePebbleRoot(p, listener.cert, readFileSync(listener.cert, "utf8"), at);
      note(`this pebble's root: ${root} (curl --cacert ${root} https://<site>/)`);
      return child.pid;
    },
  };
}

// ─── PHP-FPM ───────────────────────────────────────────────────────────────────────────────────

export function fpm(ctx: DaemonCtx, v: string, place: Place = LOCAL): LabDaemon {
  const p = ctx.paths;
  const bin = `php-fpm${v}`;
  const conf = `/etc/php/${v}/fpm/php-fpm.conf`;
  const pidFile = `/run/php/php${v}-fpm.pid`;
  return {
    name: `php${v}-fpm`,
    where: `unix sockets in /run/php`,
    comm: bin,
    graceMs: 10_000,
    killAfterGrace: true,
    ownSession: true,
    async running() {
      const pid = livePid(pidFile, bin);
      return pid ? { pid } : undefined;
    },
    async start() {
      const path = need(bin, `php${v}-fpm`);
      if (!existsSync("/run/php")) mkdirSync("/run/php", { recursive: true, mode: 0o755 });
      const t = run(path, ["-t", "--fpm-config", conf]);
      if (t.status !== 0) throw new LabError(`${bin} -t rejects ${conf}:\n${why(t)}`);
      // Not --daemonize: the provider reloads FPM with USR2, which re-executes the master with
      // its own arguments; with --daemonize it would fork again and the master would get a new
      // PID (the lab would lose track of it). In the foreground, detached from this process,
      // the master keeps its PID across reloads.
      const child = detachedChild(p, `php${v}-fpm`, ...place.wrap(path, ["--nodaemonize", "--fpm-config", conf]));
      const pid = await waitFor(() => child.exited ?? (livePid(pidFile, bin) === child.pid ? child.pid : undefined), 30_000, 100);
      if (typeof pid !== "number") throw new LabError(`${bin} did not start${child.exited ? ` (${child.exited})` : ""}:\n${logTail(p, `php${v}-fpm`)}`);
      return pid;
    },
  };
}

// ─── MariaDB ───────────────────────────────────────────────────────────────────────────────────

const MYSQL_PID = "/run/mysqld/mysqld.pid";
const MYSQL_SOCK = "/run/mysqld/mysqld.sock";

function mariadbAnswers(): boolean {
  return run("mariadb", ["--batch", "--skip-column-names", "--connect-timeout=3", "-e", "select 1"], { timeoutMs: 10_000 }).stdout.trim() === "1";
}

export function mariadb(ctx: DaemonCtx, place: Place = LOCAL): LabDaemon {
  const p = ctx.paths;
  return {
    name: "mariadb",
    where: `${MYSQL_SOCK} and ${place.addresses.map(bracket).join(", ")}:3306`,
    comm: "mariadbd",
    graceMs: 120_000,
    // Never SIGKILL a database: a slow shutdown is reported instead.
    killAfterGrace: false,
    async running() {
      const pid = livePid(MYSQL_PID, "mariadbd") ?? livePid(MYSQL_PID, "mysqld");
      if (pid) return { pid };
      return (await unixSocketAnswers(MYSQL_SOCK)) ? {} : undefined;
    },
    async start(note) {
      const bin = need("mariadbd", "mariadb-server");
      need("mariadb", "mariadb-client");
      const ids = run("id", ["-u", "mysql"]);
      const uid = Number(ids.stdout.trim());
      if (ids.status !== 0 || !Number.isInteger(uid)) throw new LabError("no unix user mysql", "install mariadb-server (bash scripts/ensure-debs.sh)");
      mkdirSync("/run/mysqld", { recursive: true, mode: 0o755 });
      chownSync("/run/mysqld", uid, 0);
      if (!existsSync("/var/lib/mysql/mysql")) {
        note("no system tables in /var/lib/mysql: running mariadb-install-db");
        const i = run("mariadb-install-db", ["--user=mysql", "--auth-root-authentication-method=socket", "--skip-test-db"], { timeoutMs: 180_000 });
        if (i.status !== 0) throw new LabError(`mariadb-install-db failed:\n${why(i)}`);
      }
      // mariadbd stays in the foreground (no mysqld_safe): started detached, its PID is the server's own.
      // bind-address: the host's own addresses (MariaDB 10.11 takes a list); the admin connection stays on the socket.
      const child = detachedChild(p, "mariadb", ...place.wrap(bin, ["--user=mysql", `--bind-address=${place.addresses.join(",")}`, `--socket=${MYSQL_SOCK}`, `--pid-file=${MYSQL_PID}`]));
      const ok = await waitFor(() => child.exited !== undefined || mariadbAnswers(), 90_000, 250);
      if (child.exited || !ok || child.pid < 0) throw new LabError(`mariadbd ${child.exited ? `stopped (${child.exited})` : "does not answer `select 1` after 90 s"}:\n${logTail(p, "mariadb")}`);
      return child.pid;
    },
  };
}

// ─── BIND ──────────────────────────────────────────────────────────────────────────────────────

const NAMED_PID = "/run/named/named.pid";

function rndcAnswers(place: Place = LOCAL): boolean {
  return run(...place.wrap("rndc", ["status"]), { timeoutMs: 10_000 }).status === 0;
}

/**
 * BIND, on this machine (single lab) or on one lab host: the same code for the multi-host lab's
 * primary (ns1, the machine's /etc/bind) and secondary (ns2, whose /etc/bind, /var/cache/bind,
 * /var/lib/bind and /run/named are its own: place.path says where they are from here).
 */
export function bind(ctx: DaemonCtx, place: Place = LOCAL): LabDaemon {
  const p = ctx.paths;
  const name = `named${place.suffix}`;
  const pidFile = place.path(NAMED_PID);
  const etc = place.path("/etc/bind");
  // A host's own /etc/bind is the lab's copy: written as is. The machine's keeps its original (backup.ts).
  const ownEtc = etc !== "/etc/bind";
  const v4 = place.addresses.filter((a) => !a.includes(":"));
  const v6 = place.addresses.filter((a) => a.includes(":"));
  return {
    name,
    where: `${place.addresses.map(bracket).join(", ")}:53 (rndc on 127.0.0.1:953${place.host ? ` in ${place.host}` : ""})`,
    comm: "named",
    graceMs: 15_000,
    killAfterGrace: true,
    async running() {
      const pid = livePid(pidFile, "named");
      if (pid) return { pid };
      return rndcAnswers(place) ? {} : undefined;
    },
    async start(note) {
      const named = need("named", "bind9");
      need("rndc", "bind9-utils");
      if (!place.host) await portFree(53, "BIND");
      // A host's own folders (bind-host.ts): laid out as Debian's package does, with a named.conf.
      if (ownEtc) for (const f of ownBindFolders(place.path)) note(`made ${f}`);
      if (existsSync(join(etc, "rndc.conf"))) {
        note(`${etc}/rndc.conf exists: rndc (and the provider) use it; it must name this named's control channel (127.0.0.1:953, rndc.key)`);
      }
      if (!existsSync(join(etc, "rndc.key"))) {
        if (!ownEtc) beforeChange(p, "/etc/bind/rndc.key");
        const g = run(...place.wrap("rndc-confgen", ["-a", "-u", "bind"]));
        if (g.status !== 0) throw new LabError(`rndc-confgen -a failed: ${why(g)}`);
        note(`made the rndc control key ${etc}/rndc.key (rndc-confgen -a)`);
      }
      const list = (a: string[]) => (a.length ? `{ ${a.map((x) => `${x}; `).join("")}}` : "{ none; }");
      const what = place.host ? `lab host ${place.host}'s addresses` : "the loopback";
      const options = [
        (ownEtc ? `globenet-infra lab (npm run lab): ${place.host}'s own name server (its own /etc/bind), on ${what} only.` : LAB_HEADER(`the machine's name server answers on ${what} only, as an authoritative server.`)).replace(/^/gm, "// "),
        "options {",
        '\tdirectory "/var/cache/bind";',
        `\tpid-file "${NAMED_PID}";`,
        `\tlisten-on port 53 ${list(place.host ? v4 : ["127.0.0.1"])};`,
        `\tlisten-on-v6 ${list(place.host ? v6 : [])};`,
        "\trecursion no;",
        "\tdnssec-validation no;",
        "};",
        // A host's own named logs to its own /var/cache/bind/named.log (transfers, NOTIFY, refusals).
        ...(ownEtc ? BIND_HOST_LOGGING : []),
        "",
      ].join("\n");
      const optionsFile = join(etc, "named.conf.options");
      const changed = ownEtc ? existsSync(optionsFile) && readFileSync(optionsFile, "utf8") === options ? false : (writeFileSync(optionsFile, options), true) : writeManaged(p, "/etc/bind/named.conf.options", options);
      if (changed) note(`${optionsFile}: listen-on ${what} port 53, no recursion${ownEtc ? "" : " (original kept)"}`);
      const c = run(...place.wrap("named-checkconf", []));
      if (c.status !== 0) throw new LabError(`named-checkconf rejects ${etc}/named.conf:\n${why(c)}`);
      const bindIds = run("id", ["-g", "bind"]);
      const bindGid = Number(bindIds.stdout.trim());
      mkdirSync(place.path("/run/named"), { recursive: true, mode: 0o775 });
      chownSync(place.path("/run/named"), 0, bindGid);
      // named writes its pid file as bind (a host's own folder starts root's, 0755).
      chmodSync(place.path("/run/named"), 0o775);
      const r = runDaemonizing(p, name, ...place.wrap(named, ["-u", "bind"]));
      if (r.status !== 0) throw new LabError(`${name} did not start (exit ${r.status}):\n${r.log}`);
      const pid = await pidFromFile(pidFile, "named", name);
      if (!(await waitFor(() => rndcAnswers(place), 20_000, 200))) throw new LabError(`${name} (pid ${pid}) does not answer rndc status`, "look at its log: grep named /var/log/syslog, or run named -g -u bind by hand");
      return pid;
    },
  };
}

// ─── libvirt ───────────────────────────────────────────────────────────────────────────────────

export const LIBVIRT_URI = "qemu:///system";
const VIRTLOGD_PID = "/run/virtlogd.pid";
const VIRTLOGD_SOCK = "/run/libvirt/virtlogd-sock";
const LIBVIRTD_PID = "/run/libvirtd.pid";

/** libvirtd answers where the place is (a lab host's own /run/libvirt/libvirt-sock, in its mount namespace). */
async function libvirtAnswers(place: Place): Promise<boolean> {
  if (!place.present()) return false;
  const [cmd, args] = place.wrap("virsh", ["-c", LIBVIRT_URI, "version"]);
  return (await runAsync(cmd, args, 20_000)).status === 0;
}

/**
 * A lab host's own libvirt (libvirt-host.ts: its folders and pid files): laid out, and its pid
 * file emptied (a file bind-mounted over the machine's, never removed). Nothing on this machine.
 */
function ownLibvirt(place: Place, pidFile: string, note: (s: string) => void): void {
  if (!place.host) return;
  for (const f of ownLibvirtFolders(place.path)) note(`made ${f}`);
  writeFileSync(pidFile, "");
}

/**
 * virtlogd, on this machine (single lab) or on one lab host: each hypervisor host of the
 * multi-host lab runs its own, on its own /run/libvirt/virtlogd-sock (place.path says where).
 */
export function virtlogd(ctx: DaemonCtx, place: Place = LOCAL): LabDaemon {
  const p = ctx.paths;
  const name = `virtlogd${place.suffix}`;
  const pidFile = place.path(VIRTLOGD_PID);
  const sock = place.path(VIRTLOGD_SOCK);
  return {
    name,
    where: place.host ? `${place.host}'s own ${VIRTLOGD_SOCK}` : VIRTLOGD_SOCK,
    comm: "virtlogd",
    graceMs: 10_000,
    killAfterGrace: true,
    async running() {
      const pid = livePid(pidFile, "virtlogd");
      if (pid) return { pid };
      return (await unixSocketAnswers(sock)) ? {} : undefined;
    },
    async start(note) {
      const bin = need("virtlogd", "libvirt-daemon-system");
      ownLibvirt(place, pidFile, note);
      const r = runDaemonizing(p, name, ...place.wrap(bin, ["-d", "-p", VIRTLOGD_PID]));
      if (r.status !== 0) throw new LabError(`${name} did not start (exit ${r.status}):\n${r.log}`);
      const pid = await pidFromFile(pidFile, "virtlogd", name);
      // libvirtd needs virtlogd listening before it starts a guest (a stale socket refuses).
      if (!(await waitFor(() => unixSocketAnswers(sock), 10_000, 50))) throw new LabError(`${name} (pid ${pid}) does not listen on ${sock}`);
      return pid;
    },
  };
}

/**
 * libvirtd, on this machine (single lab) or on one lab host: each hypervisor host of the
 * multi-host lab runs its own, in its network namespace (its guests' QEMU processes too) and on
 * its own folders, reached through its own /run/libvirt/libvirt-sock by that host's sshd.
 */
export function libvirtd(ctx: DaemonCtx, place: Place = LOCAL): LabDaemon {
  const p = ctx.paths;
  const name = `libvirtd${place.suffix}`;
  const pidFile = place.path(LIBVIRTD_PID);
  return {
    name,
    where: place.host ? `${LIBVIRT_URI} on ${place.host} (its own /run/libvirt)` : LIBVIRT_URI,
    comm: "libvirtd",
    graceMs: 15_000,
    killAfterGrace: true,
    async running() {
      const pid = livePid(pidFile, "libvirtd");
      if (pid) return { pid };
      return (await libvirtAnswers(place)) ? {} : undefined;
    },
    async start(note) {
      const bin = need("libvirtd", "libvirt-daemon-system libvirt-daemon-driver-qemu");
      need("virsh", "libvirt-clients");
      const kvm = openKvm(p);
      if (kvm) note(kvm);
      ownLibvirt(place, pidFile, note);
      const r = runDaemonizing(p, name, ...place.wrap(bin, ["-d", "-p", LIBVIRTD_PID]));
      if (r.status !== 0) throw new LabError(`${name} did not start (exit ${r.status}):\n${r.log}`);
      const pid = await pidFromFile(pidFile, "libvirtd", name);
      if (!(await waitFor(() => libvirtAnswers(place), 90_000, 250))) throw new LabError(`${name} (pid ${pid}) does not answer virsh -c ${LIBVIRT_URI} version${place.host ? ` in ${place.host}` : ""} after 90 s:\n${logTail(p, name)}`);
      return pid;
    },
  };
}

// ─── cron ──────────────────────────────────────────────────────────────────────────────────────

const CRON_PID = "/run/crond.pid";

/**
 * Debian's cron, the hosts' scheduler: the backup runs the apply installs in /etc/cron.d run
 * for real in the lab (and members' crontabs). It reads /etc/cron.d and the spool by itself.
 */
export function cron(ctx: DaemonCtx, place: Place = LOCAL): LabDaemon {
  const p = ctx.paths;
  const name = `cron${place.suffix}`;
  const pidFile = place.path(CRON_PID);
  return {
    name,
    where: place.host ? `${place.host}'s own /etc/cron.d` : "/etc/cron.d",
    comm: "cron",
    graceMs: 5_000,
    killAfterGrace: true,
    async running() {
      const pid = livePid(pidFile, "cron");
      return pid ? { pid } : undefined;
    },
    async start() {
      const bin = need("cron", "cron");
      // A host's own pid file is a file bind-mounted over /run/crond.pid: emptied, not removed.
      if (place.host) writeFileSync(pidFile, "");
      else rmSync(CRON_PID, { force: true });
      // -L 15: log start, end, failures and pids of jobs, to syslog when there is one (none here: the log stays quiet).
      const r = runDaemonizing(p, name, ...place.wrap(bin, ["-L", "15"]));
      if (r.status !== 0) throw new LabError(`${name} did not start (exit ${r.status}):\n${r.log}`);
      return pidFromFile(pidFile, "cron", name);
    },
  };
}

/** In start order; `lab down` stops them in the reverse order. */
export function labDaemons(ctx: DaemonCtx): LabDaemon[] {
  // pebble before Apache: starting it empties the lab's mod_md store, which Apache must not hold yet.
  const ca = usesPebble(ctx.acme) ? [pebble(ctx, ctx.acme)] : [];
  // md-reload after Apache: it answers mod_md's requests for a reload, which need a certificate authority.
  const reload = ctx.acme ? [mdReload(ctx)] : [];
  return [sshd(ctx), ...ca, apache(ctx), ...reload, ...ctx.phpVersions.map((v) => fpm(ctx, v)), mariadb(ctx), bind(ctx), virtlogd(ctx), libvirtd(ctx), cron(ctx)];
}

export type StartOutcome = { daemon: LabDaemon; pid?: number; how: "started" | "lab's, already running" | "not the lab's, already running"; ms: number; notes: string[] };

/** Starts one daemon unless it runs; records the PID of what it starts. */
export async function ensureDaemon(p: LabPaths, d: LabDaemon): Promise<StartOutcome> {
  const t0 = Date.now();
  const notes: string[] = [];
  const mine = recorded(p, d);
  if (mine) return { daemon: d, pid: mine, how: "lab's, already running", ms: Date.now() - t0, notes };
  if (hasRecord(p, d.name)) {
    notes.push(`the process the lab recorded earlier is gone`);
    forget(p, d.name);
  }
  const other = await d.running();
  if (other) {
    notes.push(`started by someone else: used as is, and left running by \`lab down\``);
    return { daemon: d, pid: other.pid, how: "not the lab's, already running", ms: Date.now() - t0, notes };
  }
  const pid = await d.start((s) => notes.push(s));
  record(p, d.name, pid);
  return { daemon: d, pid, how: "started", ms: Date.now() - t0, notes };
}

/** Stops the daemon the lab started (by its recorded PID); never anything else. */
export async function stopDaemon(
  p: LabPaths,
  d: LabDaemon,
): Promise<{ pid?: number; result: "stopped" | "running, not started by the lab: left as is" | "not running" | "already gone" | "still running" }> {
  const pid = recorded(p, d);
  if (!pid) {
    const had = hasRecord(p, d.name);
    forget(p, d.name);
    const other: Running | undefined = await d.running().catch((): Running => ({}));
    if (other) return { pid: other.pid, result: "running, not started by the lab: left as is" };
    return { result: had ? "already gone" : "not running" };
  }
  // Read before the stop: the session is the master's only while the master leads it.
  const sid = d.ownSession && sessionOf(pid) === pid ? pid : undefined;
  const gone = await stopPid(pid, d.graceMs, d.killAfterGrace);
  if (!gone) return { pid, result: "still running" };
  if (sid !== undefined && (await stopSession(sid, 3_000)).length > 0) return { pid, result: "still running" };
  forget(p, d.name);
  // Give the kernel a moment to release ports before the next start.
  await sleep(50);
  return { pid, result: "stopped" };
}
