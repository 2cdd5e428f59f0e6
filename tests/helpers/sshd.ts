import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect as tcpConnect } from "node:net";
import { join } from "node:path";
import { findTool, freePort, run } from "./tools";

export interface Sshd {
  port: number;
  /** The server's public host key line, to pin. */
  hostKey: string;
  /** A client private key authorised for root; give it to the provider as GLOBENET_SSH_KEY_FILE. */
  keyFile: string;
  /** Another valid host key that is not the server's (for mismatch tests). */
  otherHostKey: string;
  dir: string;
  /** A folder the server's config includes first (`Include <dir>/*.conf`), as Debian's sshd_config.d. */
  dropinDir: string;
  /** The server's pid file (the provider reloads it through this, as the inventory's sshd.pid_file). */
  pidFile: string;
  /** What the server printed so far (-e: its log on stderr). */
  log(): string;
  /** Stops the daemon but keeps its folder, keys and port: resume() starts it again as it was. */
  suspend(): Promise<void>;
  resume(): Promise<void>;
  stop(): Promise<void>;
}

export interface SshdOptions {
  /** Also read each user's ~/.ssh/authorized_keys (as Debian's sshd does), after the shared file. */
  homeKeys?: boolean;
  /** Where it listens (default 127.0.0.1), and on which port (default: a free one here). */
  listen?: { address: string; port: number };
  /** How to run it: e.g. lib/lab/netns.ts onHost, for a server inside a host's namespaces. */
  wrap?: (cmd: string, args: string[]) => [string, string[]];
  /** Let in this existing client key (its .pub beside it) instead of a new one: one key for several servers. */
  clientKeyFile?: string;
}


function banner(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect({ host, port }, () => undefined);
    s.setTimeout(1000);
    s.once("data", (d) => {
      s.destroy();
      resolve(d.toString().startsWith("SSH-"));
    });
    s.once("error", () => resolve(false));
    s.once("timeout", () => {
      s.destroy();
      resolve(false);
    });
  });
}

function keygen(file: string, comment: string): void {
  const r = run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file]);
  if (r.status !== 0) throw new Error(`ssh-keygen failed: ${r.stderr}`);
}

/** A throwaway OpenSSH server on 127.0.0.1 that lets one generated key in as root. */
export async function startSshd(opts: SshdOptions = {}): Promise<Sshd> {
  const sshd = findTool("sshd");
  if (!sshd) throw new Error("sshd not found: install the Debian package openssh-server");
  const dir = mkdtempSync("/tmp/globenet-sshd-");
  keygen(join(dir, "host_key"), "host@test");
  keygen(join(dir, "other_host_key"), "other@test");
  const clientKey = opts.clientKeyFile ?? join(dir, "client_key");
  if (!opts.clientKeyFile) keygen(clientKey, "deploy@test");
  writeFileSync(join(dir, "authorized_keys"), readFileSync(`${clientKey}.pub`));
  const host = opts.listen?.address ?? "127.0.0.1";
  const port = opts.listen?.port ?? (await freePort());
  const dropinDir = join(dir, "sshd_config.d");
  mkdirSync(dropinDir, { mode: 0o755 });
  writeFileSync(
    join(dir, "sshd_config"),
    [
      // First, as in Debian's sshd_config: sshd keeps the first value it reads.
      `Include ${dropinDir}/*.conf`,
      `Port ${port}`,
      `ListenAddress ${host.includes(":") ? `[${host}]` : host}`,
      `HostKey ${join(dir, "host_key")}`,
      `PidFile ${join(dir, "sshd.pid")}`,
      `AuthorizedKeysFile ${join(dir, "authorized_keys")}${opts.homeKeys ? " .ssh/authorized_keys" : ""}`,
      "PermitRootLogin prohibit-password",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      // The keys live under /tmp, which StrictModes would refuse.
      "StrictModes no",
      "MaxSessions 20",
      "MaxStartups 50",
      // A production host's root runs Debian's stock ~/.bashrc; this machine's root's runs
      // `pyenv init` (a rehash under a lock shared by every shell) and puts pyenv's shims before
      // /usr/bin. Debian's bash reads ~/.bashrc for a command sshd starts only at shell level 1:
      // from level 2 each provider command starts as on a host (0.3 s instead of 1–11 s under load).
      "SetEnv SHLVL=1",
      "Subsystem sftp internal-sftp",
      "",
    ].join("\n"),
  );
  mkdirSync("/run/sshd", { recursive: true });
  let child: ChildProcess;
  let log = "";
  const launch = async (): Promise<void> => {
    const [cmd, args] = (opts.wrap ?? ((c, a) => [c, a]))(sshd, ["-D", "-e", "-f", join(dir, "sshd_config")]);
    child = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
    child.stderr?.on("data", (d: Buffer) => (log += d.toString()));
    const deadline = Date.now() + 15_000;
    while (!(await banner(port, host))) {
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new Error(`sshd did not start on ${host}:${port}:\n${log}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const halt = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    await new Promise<void>((r) => {
      const t = setTimeout(() => {
        child.kill("SIGKILL");
        r();
      }, 5000);
      child.once("exit", () => {
        clearTimeout(t);
        r();
      });
    });
  };
  try {
    await launch();
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    port,
    dir,
    dropinDir,
    pidFile: join(dir, "sshd.pid"),
    hostKey: readFileSync(join(dir, "host_key.pub"), "utf8").trim(),
    otherHostKey: readFileSync(join(dir, "other_host_key.pub"), "utf8").trim(),
    keyFile: clientKey,
    log: () => log,
    suspend: halt,
    resume: launch,
    async stop() {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
