/**
 * Preparing the lab machine for the provider, the way a real Globenet host is prepared by
 * hand once: the deploy user (the inventory's ssh.user) with the deploy key and passwordless
 * sudo (the provider runs `sudo -n bash -c …` for a non-root user). Also the LAB-NOTES
 * /dev/kvm fix that keeps libvirt's define fast. The base images: image.ts.
 */
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { beforeModeChange, writeManaged } from "./backup";
import type { LabPaths } from "./paths";
import { LabError, run, why } from "../base/proc";

/** The deploy user's home: outside /home, which holds the members' homes. */
export function deployHome(user: string): string {
  return `/var/lib/${user}`;
}

export function sudoersFile(user: string): string {
  return `/etc/sudoers.d/${user.replace(/[^A-Za-z0-9_-]/g, "_")}`;
}

interface Passwd {
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

function passwdOf(user: string): Passwd | undefined {
  const r = run("getent", ["passwd", user]);
  if (r.status !== 0) return undefined;
  const f = r.stdout.trim().split(":");
  return { uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? "", shell: f[6] ?? "" };
}

/** A password field that makes sshd (UsePAM no) refuse even a key login: "!…" (locked). */
function locked(user: string): boolean {
  const r = run("getent", ["shadow", user]);
  return r.status === 0 && (r.stdout.split(":")[1] ?? "").startsWith("!");
}

/**
 * The deploy user: a system account (no password: `*`), a bash shell (the provider's
 * commands run through it), the deploy key in ~/.ssh/authorized_keys, usable from the
 * loopback only. Returns what it did.
 */
export function ensureDeployUser(user: string, deployKeyPub: string, from: string[] = ["127.0.0.1", "::1"]): string[] {
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(user)) throw new LabError(`the lab's ssh.user "${user}" is not a valid unix user name`, "fix hosts.*.ssh.user in Pulumi.lab.yaml");
  const done: string[] = [];
  let pw = passwdOf(user);
  if (!pw) {
    const home = deployHome(user);
    const r = run("useradd", ["--system", "--user-group", "--create-home", "--home-dir", home, "--shell", "/bin/bash", "--password", "*", "--comment", "globenet-infra lab deploy user (npm run lab)", user]);
    if (r.status !== 0) throw new LabError(`useradd ${user} failed: ${why(r)}`, "install the Debian package passwd (bash scripts/ensure-debs.sh) and run npm run lab again");
    pw = passwdOf(user);
    if (!pw) throw new LabError(`useradd reported success but ${user} does not exist`);
    done.push(`created user ${user} (home ${home})`);
  } else if (!pw.shell.endsWith("sh") || pw.shell.endsWith("nologin")) {
    const r = run("usermod", ["--shell", "/bin/bash", user]);
    if (r.status !== 0) throw new LabError(`usermod --shell /bin/bash ${user} failed: ${why(r)}`);
    done.push(`gave ${user} the shell /bin/bash`);
  }
  if (locked(user)) {
    // "*" = no password that could ever match, but not locked: key logins work.
    const r = run("usermod", ["--password", "*", user]);
    if (r.status !== 0) throw new LabError(`usermod --password '*' ${user} failed: ${why(r)}`);
    done.push(`unlocked ${user} for key logins (password field "*": no password login)`);
  }
  if (!existsSync(pw.home)) {
    mkdirSync(pw.home, { recursive: true, mode: 0o750 });
    chownSync(pw.home, pw.uid, pw.gid);
  }
  const ssh = join(pw.home, ".ssh");
  mkdirSync(ssh, { recursive: true, mode: 0o700 });
  chmodSync(ssh, 0o700);
  chownSync(ssh, pw.uid, pw.gid);
  const ak = join(ssh, "authorized_keys");
  const key = readFileSync(deployKeyPub, "utf8").trim();
  // The multi-host lab adds the runner's addresses on the lab's bridge: the provider connects from there.
  const line = `from="${from.join(",")}" ${key}\n`;
  if (!existsSync(ak) || readFileSync(ak, "utf8") !== line) {
    writeFileSync(ak, line, { mode: 0o600 });
    done.push(`put the deploy key in ${ak}`);
  }
  chmodSync(ak, 0o600);
  chownSync(ak, pw.uid, pw.gid);
  return done;
}

/** Passwordless sudo for the deploy user, through a file in /etc/sudoers.d checked by visudo first. */
export function ensureSudoers(p: LabPaths, user: string): string[] {
  if (!run("sudo", ["--version"]).stdout.startsWith("Sudo")) {
    throw new LabError("sudo is not installed (the provider runs `sudo -n` as the deploy user)", "run bash scripts/ensure-debs.sh as root (it installs sudo), then npm run lab again");
  }
  const main = existsSync("/etc/sudoers") ? readFileSync("/etc/sudoers", "utf8") : "";
  if (!/^[@#]includedir\s+\/etc\/sudoers\.d\s*$/m.test(main)) {
    throw new LabError("/etc/sudoers does not read /etc/sudoers.d (no @includedir line)", "add `@includedir /etc/sudoers.d` to /etc/sudoers with visudo, then run npm run lab again");
  }
  const file = sudoersFile(user);
  const content = [
    "# globenet-infra lab (npm run lab): the provider logs in as this user and runs its",
    "# scripts as root with `sudo -n bash -c …`. Removed by `npm run lab -- down`.",
    `${user} ALL=(root) NOPASSWD: ALL`,
    "",
  ].join("\n");
  if (existsSync(file) && readFileSync(file, "utf8") === content) return [];
  const candidate = join(p.lab, "sudoers.candidate");
  writeFileSync(candidate, content, { mode: 0o440 });
  const check = run("visudo", ["-cf", candidate]);
  rmSync(candidate, { force: true });
  if (check.status !== 0) throw new LabError(`visudo rejected the lab's sudoers rule: ${why(check)}`);
  mkdirSync(dirname(file), { recursive: true, mode: 0o750 });
  writeManaged(p, file, content, 0o440);
  const whole = run("visudo", ["-c"]);
  if (whole.status !== 0) throw new LabError(`visudo -c fails with the lab's rule in place: ${why(whole)}`, `remove ${file} and check /etc/sudoers.d by hand`);
  return [`wrote ${file} (${user}: passwordless sudo, checked with visudo -cf)`];
}

/** known_hosts pinning the lab sshd's host key, for the `ssh` hints and the login check. */
export function writeKnownHosts(p: LabPaths, port: number, hostKeyPub: string): void {
  const key = readFileSync(hostKeyPub, "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
  writeFileSync(p.knownHosts, `[127.0.0.1]:${port} ${key}\n`, { mode: 0o600 });
}

/** known_hosts pinning each multi-host lab host's own key at its addresses (port 22: no brackets). */
export function writeKnownHostsMulti(p: LabPaths, hosts: Array<{ addresses: string[]; port: number; hostKeyPub: string }>): void {
  const lines = hosts.flatMap((h) => {
    const key = readFileSync(h.hostKeyPub, "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
    return h.addresses.map((a) => `${h.port === 22 ? a : `[${a}]:${h.port}`} ${key}\n`);
  });
  writeFileSync(p.knownHosts, lines.join(""), { mode: 0o600 });
}

/** /dev/kvm root:kvm 0660, as udev makes it (LAB-NOTES: libvirt's define takes 50 s otherwise). */
export function openKvm(p: LabPaths): string | undefined {
  const dev = "/dev/kvm";
  if (!existsSync(dev)) return undefined;
  const line = readFileSync("/etc/group", "utf8")
    .split("\n")
    .find((l) => l.startsWith("kvm:"));
  const gid = line ? Number(line.split(":")[2]) : NaN;
  if (!Number.isInteger(gid)) return undefined;
  const st = statSync(dev);
  if (st.gid === gid && (st.mode & 0o060) === 0o060) return undefined;
  beforeModeChange(p, dev);
  chownSync(dev, st.uid, gid);
  chmodSync(dev, 0o660);
  return `/dev/kvm made root:kvm 0660 (was ${(st.mode & 0o777).toString(8)}, gid ${st.gid}) so libvirt does not re-probe QEMU on every call`;
}
