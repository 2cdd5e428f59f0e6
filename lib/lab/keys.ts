import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";

/**
 * The lab's SSH keys, made at run time and never committed (.lab/ is git-ignored): the
 * deploy key the provider logs in with, and the lab sshd's host key that Pulumi.lab.yaml
 * pins through host_key_file.
 */
/** The lab's deploy key: what lib/lab/open-stack.ts gives the engine and the status views for the lab stack. */
export function labDeployKeyFile(root: string): string {
  return join(root, ".lab", "ssh", "deploy_key");
}

export function ensureLabKeys(root: string): { deployKey: string; hostKey: string; hostKeyPub: string } {
  const dir = join(root, ".lab", "ssh");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const deployKey = labDeployKeyFile(root);
  const hostKey = join(dir, "host_key");
  for (const [file, comment] of [
    [deployKey, "globenet-deploy@lab"],
    [hostKey, "lab-host"],
  ] as const) {
    if (existsSync(file) && existsSync(`${file}.pub`)) continue;
    const r = spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file], { encoding: "utf8" });
    if (r.error || r.status !== 0) {
      throw new Error(`cannot make the lab's SSH key ${file}: ${r.error?.message ?? r.stderr.trim()} (install the Debian package openssh-client)`);
    }
  }
  return { deployKey, hostKey, hostKeyPub: `${hostKey}.pub` };
}

/** A multi-host lab host's own sshd host key, .lab/ssh/<host>/host_key (what Pulumi.lab-multi.yaml pins). */
export function ensureHostKey(root: string, host: string): { hostKey: string; hostKeyPub: string } {
  const dir = join(root, ".lab", "ssh", host);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const hostKey = join(dir, "host_key");
  if (!(existsSync(hostKey) && existsSync(`${hostKey}.pub`))) {
    const r = spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", `lab-${host}`, "-f", hostKey], { encoding: "utf8" });
    if (r.error || r.status !== 0) throw new Error(`cannot make lab host ${host}'s SSH host key ${hostKey}: ${r.error?.message ?? r.stderr.trim()} (install the Debian package openssh-client)`);
  }
  return { hostKey, hostKeyPub: `${hostKey}.pub` };
}
