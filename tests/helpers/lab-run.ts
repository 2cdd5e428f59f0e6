import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { labDown } from "../../lib/lab/commands";
import { labDaemons, LIBVIRT_URI } from "../../lib/lab/daemons";
import { labPaths } from "../../lib/lab/paths";
import { ARCHIVE_DIR, E2E_VAR, LAB_SSHD, ONDES, VELO, VPS_DOMAIN } from "./lab-tree";
import { run } from "./tools";

/** What the lab tests (lab-e2e, lab-vps) share: clients, archives, and the checks before and after. */

export function sh(cmd: string, args: string[], input?: string) {
  return run(cmd, args, input === undefined ? {} : { input });
}

export function virsh(...args: string[]): string {
  const r = sh("virsh", ["-c", LIBVIRT_URI, ...args]);
  if (r.status !== 0) throw new Error(`virsh ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

export function dominfo(domain: string): Record<string, string> {
  return Object.fromEntries(
    virsh("dominfo", domain)
      .split("\n")
      .map((l) => l.split(/:\s+/, 2))
      .filter((p) => p.length === 2)
      .map(([k, v]) => [k?.trim(), v?.trim()]),
  );
}

/** Verified archives of one kind whose names start with `prefix`. */
export function archives(kind: "accounts" | "sites" | "databases" | "vps", prefix: string): string[] {
  const dir = join(ARCHIVE_DIR, kind);
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.startsWith(prefix) && !f.endsWith(".partial")).map((f) => join(dir, f)) : [];
}

/**
 * Before a lab test: no lab daemon may run already (labUp would reuse it and labDown would
 * leave it, so the test would prove nothing about starting and stopping them), and leftovers
 * of an interrupted run (the tests' own users and folders only) are cleared.
 */
export async function prepareLabTest(root: string): Promise<void> {
  const ctx = { paths: labPaths(root), sshPort: 2222, sshd: LAB_SSHD, hostKey: join(root, ".lab", "ssh", "host_key"), phpVersions: ["8.2"] };
  for (const d of labDaemons(ctx)) {
    if (await d.running()) throw new Error(`${d.name} already runs on this machine (${d.where}): stop it first (npm run lab -- down stops the lab's)`);
  }
  // A guest of an interrupted run outlives libvirtd (QEMU runs on its own): it would answer
  // on the test VPS's SSH port with another machine.
  const qemu = run("pgrep", ["-f", `guest=${VPS_DOMAIN},`]);
  for (const pid of qemu.stdout.split("\n").filter(Boolean)) run("kill", ["-9", pid]);
  cleanLabTest();
  mkdirSync(E2E_VAR, { recursive: true });
}

/** The tests' own users and folders; the lab's base image cache stays. */
export function cleanLabTest(): void {
  for (const u of [VELO, ONDES]) if (run("id", [u]).status === 0) run("userdel", ["-r", u]);
  rmSync(E2E_VAR, { recursive: true, force: true });
  // A definition left by an interrupted run (libvirtd is down here: the file is all there is).
  rmSync(`/etc/libvirt/qemu/${VPS_DOMAIN}.xml`, { force: true });
  // DNSSEC keys of the tests' zones (BIND keeps keys when a zone goes: real zones' DS may be at a registrar).
  const keys = "/var/lib/bind/globenet-keys";
  if (existsSync(keys)) for (const f of readdirSync(keys)) if (/^K(atelier-velo|radio-ondes)\.test\.\+/.test(f)) rmSync(join(keys, f), { force: true });
}

/**
 * After a lab test: a step that failed left the lab up, so down it (--force: stop every daemon
 * and put the machine's files back even if the destroy fails). The root goes only when that
 * worked: its .lab/backup holds the originals of the machine's files the lab rewrote.
 */
export async function labTestTeardown(root: string | undefined, downDone: boolean): Promise<void> {
  let keep = false;
  if (!downDone && root) {
    await labDown({ root, force: true }).catch((e: unknown) => {
      keep = true;
      console.error(`lab down after a failed step failed too: ${String(e)}\nKEPT ${root}: its .lab/backup holds the machine's original files; fix the cause, then run labDown on it`);
    });
  }
  cleanLabTest();
  if (root && !keep) rmSync(root, { recursive: true, force: true });
}
