import { mkdirSync } from "node:fs";
import { join } from "node:path";

/** Where the lab keeps its run-time files, all under <checkout>/.lab (git-ignored). */
export interface LabPaths {
  root: string;
  lab: string;
  /** PIDs of the daemons the lab started: <daemon>.pid (+ <daemon>.start, the process's start time). */
  run: string;
  /** The daemons' start-up output. */
  log: string;
  /** Originals of the machine's files the lab changed, and the manifest that lists them. */
  backup: string;
  ssh: string;
  sshdConfig: string;
  knownHosts: string;
}

export function labPaths(root: string): LabPaths {
  const lab = join(root, ".lab");
  return {
    root,
    lab,
    run: join(lab, "run"),
    log: join(lab, "log"),
    backup: join(lab, "backup"),
    ssh: join(lab, "ssh"),
    sshdConfig: join(lab, "sshd_config"),
    knownHosts: join(lab, "ssh", "known_hosts"),
  };
}

export function ensureLabDirs(p: LabPaths): void {
  mkdirSync(p.lab, { recursive: true, mode: 0o700 });
  for (const d of [p.run, p.log, p.backup]) mkdirSync(d, { recursive: true, mode: 0o700 });
}
