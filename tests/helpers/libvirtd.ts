/**
 * A libvirt daemon for tests: `virtlogd` and `libvirtd` (Debian 12: libvirt 9.0, QEMU 7.2) run
 * as children of the test process, in the foreground with their own PID files, so they are
 * stopped by their own PIDs and nothing else. See LAB-NOTES ("libvirt 9.0 + QEMU 7.2").
 *
 * - When a libvirtd already answers on qemu:///system (a lab someone started), it is used as
 *   is and left running; only what this helper started is stopped.
 * - `/dev/kvm` on these machines is 0600 root: libvirtd then re-probes QEMU's capabilities on
 *   every call (define takes ~50 s). Like udev on a normal host, the helper makes it
 *   `root:kvm 0660` while the daemon runs and puts the original owner and mode back on stop.
 *   (Guests still use TCG: `<domain type='qemu'>`; KVM does not work here.)
 * - `stop()` does not touch domains: the test destroys and undefines its own first (QEMU
 *   processes outlive libvirtd).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { connect as netConnect } from "node:net";
import { join } from "node:path";
import { findTool, run } from "./tools";

export const LIBVIRT_URI = "qemu:///system";

export interface Libvirtd {
  uri: string;
  /** False when an already running libvirtd was reused (and will be left running). */
  startedHere: boolean;
  /** Milliseconds until `virsh version` answered (0 when reused). */
  startMs: number;
  /** `virsh -c qemu:///system ARGS…` */
  virsh(...args: string[]): { status: number | null; stdout: string; stderr: string };
  /** The daemons' own output so far, for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

function virsh(...args: string[]) {
  return run("virsh", ["-c", LIBVIRT_URI, ...args], { timeoutMs: 120_000 });
}

function answers(): boolean {
  return run("virsh", ["-c", LIBVIRT_URI, "version"], { timeoutMs: 20_000 }).status === 0;
}

function kvmGid(): number | undefined {
  const line = readFileSync("/etc/group", "utf8")
    .split("\n")
    .find((l) => l.startsWith("kvm:"));
  const gid = line ? Number(line.split(":")[2]) : NaN;
  return Number.isInteger(gid) ? gid : undefined;
}

/** The LAB-NOTES trick; returns how to undo it (undefined when nothing was changed). */
function openKvmToGroup(): (() => void) | undefined {
  const dev = "/dev/kvm";
  const gid = kvmGid();
  if (!existsSync(dev) || gid === undefined) return undefined;
  const st = statSync(dev);
  const mode = st.mode & 0o7777;
  if (st.gid === gid && (mode & 0o060) === 0o060) return undefined;
  chownSync(dev, st.uid, gid);
  chmodSync(dev, 0o660);
  return () => {
    try {
      chownSync(dev, st.uid, st.gid);
      chmodSync(dev, mode);
    } catch {
      // /dev/kvm vanished: nothing to restore.
    }
  };
}

function stopChild(child: ChildProcess, ms = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const t = setTimeout(() => {
      child.kill("SIGKILL");
      resolve();
    }, ms);
    child.once("exit", () => {
      clearTimeout(t);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

/** Starts virtlogd and libvirtd (or reuses a running libvirtd) and waits until virsh answers. */
export async function startLibvirtd(): Promise<Libvirtd> {
  const common = {
    uri: LIBVIRT_URI,
    virsh,
  };
  if (answers()) {
    return { ...common, startedHere: false, startMs: 0, log: () => "", stop: async () => undefined };
  }
  const libvirtdBin = findTool("libvirtd");
  const virtlogdBin = findTool("virtlogd");
  if (!libvirtdBin || !virtlogdBin) {
    throw new Error("libvirtd/virtlogd not found: install libvirt-daemon-system libvirt-daemon-driver-qemu (bash scripts/ensure-debs.sh)");
  }
  const dir = mkdtempSync("/tmp/globenet-libvirtd-");
  const restoreKvm = openKvmToGroup();
  let text = "";
  const children: ChildProcess[] = [];
  const startChild = (bin: string, name: string) => {
    // Foreground (no -d), our own PID file: the ChildProcess is the daemon itself.
    const c = spawn(bin, ["-p", join(dir, `${name}.pid`)], { stdio: ["ignore", "pipe", "pipe"] });
    c.stdout?.on("data", (d: Buffer) => (text += `[${name}] ${d.toString()}`));
    c.stderr?.on("data", (d: Buffer) => (text += `[${name}] ${d.toString()}`));
    children.push(c);
    return c;
  };
  const stop = async () => {
    // libvirtd first (it holds a connection to virtlogd), then virtlogd.
    for (const c of [...children].reverse()) await stopChild(c);
    restoreKvm?.();
    rmSync(dir, { recursive: true, force: true });
  };
  const t0 = Date.now();
  try {
    const logd = startChild(virtlogdBin, "virtlogd");
    // virtlogd must be listening before libvirtd starts a guest (a socket file left by an
    // earlier run refuses connections until virtlogd replaces it).
    const sock = "/run/libvirt/virtlogd-sock";
    for (let i = 0; i < 100 && !(await socketReady(sock)); i++) {
      if (logd.exitCode !== null) throw new Error(`virtlogd exited with ${logd.exitCode}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const daemon = startChild(libvirtdBin, "libvirtd");
    const deadline = Date.now() + 90_000;
    while (!answers()) {
      if (daemon.exitCode !== null) throw new Error(`libvirtd exited with ${daemon.exitCode}`);
      if (Date.now() > deadline) throw new Error("libvirtd did not answer within 90 s");
      await new Promise((r) => setTimeout(r, 200));
    }
  } catch (e) {
    await stop();
    throw new Error(`${e instanceof Error ? e.message : String(e)}\n${text}`);
  }
  return { ...common, startedHere: true, startMs: Date.now() - t0, log: () => text, stop };
}

/** True when something accepts connections on the unix socket (a stale socket file refuses). */
function socketReady(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netConnect(path);
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}
