/**
 * What the lab changed on the machine, so `lab down` can put it back: the original of each
 * file it rewrote (copied once, before the first change, into .lab/backup/), the files it
 * created, and the owner and mode of /dev/kvm. Listed in .lab/backup/manifest.json; an entry
 * stays until it is restored, so repeated `lab up` runs never overwrite an original with the
 * lab's own version.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, copyFileSync, existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { LabPaths } from "./paths";

export type Change =
  /** A file the lab rewrote; `copy` holds the original. */
  | { kind: "file"; path: string; copy: string; mode: number; uid: number; gid: number }
  /** A file the lab created (removed by down). */
  | { kind: "created"; path: string }
  /** Owner and mode the lab changed on a path (restored by down). */
  | { kind: "mode"; path: string; mode: number; uid: number; gid: number }
  /** Apache modules the lab switched with a2enmod/a2dismod (`path` is the mods-enabled folder): down switches them back. */
  | { kind: "apache-modules"; path: string; enabled: string[]; disabled: string[] };

function manifestFile(p: LabPaths): string {
  return join(p.backup, "manifest.json");
}

export function changes(p: LabPaths): Change[] {
  const f = manifestFile(p);
  if (!existsSync(f)) return [];
  return JSON.parse(readFileSync(f, "utf8")) as Change[];
}

function save(p: LabPaths, list: Change[]): void {
  writeFileSync(manifestFile(p), JSON.stringify(list, null, 2) + "\n", { mode: 0o600 });
}

function known(p: LabPaths, path: string): boolean {
  return changes(p).some((c) => c.path === path);
}

/** Call before changing `path`: keeps its original (or notes that the lab creates it). */
export function beforeChange(p: LabPaths, path: string): void {
  if (known(p, path)) return;
  const list = changes(p);
  if (existsSync(path)) {
    const st = statSync(path);
    const copy = join(p.backup, path.replace(/^\//, "").replace(/\//g, "__"));
    copyFileSync(path, copy);
    list.push({ kind: "file", path, copy, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid });
  } else {
    list.push({ kind: "created", path });
  }
  save(p, list);
}

/** Call before changing the owner or mode of `path`. */
export function beforeModeChange(p: LabPaths, path: string): void {
  if (known(p, path)) return;
  const st = statSync(path);
  save(p, [...changes(p), { kind: "mode", path, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid }]);
}

/** Call before switching Apache modules: what the lab enables and disables, for down to undo. */
export function beforeModuleChange(p: LabPaths, modsEnabled: string, enabled: string[], disabled: string[]): void {
  if (known(p, modsEnabled)) return;
  save(p, [...changes(p), { kind: "apache-modules", path: modsEnabled, enabled, disabled }]);
}

/** Writes `content` to `path` (keeping the original first) when it differs. True when written. */
export function writeManaged(p: LabPaths, path: string, content: string, mode = 0o644): boolean {
  if (existsSync(path) && readFileSync(path, "utf8") === content) return false;
  beforeChange(p, path);
  const tmp = `${path}.globenet-lab-new`;
  writeFileSync(tmp, content, { mode });
  chmodSync(tmp, mode);
  if (existsSync(path)) {
    const st = statSync(path);
    chownSync(tmp, st.uid, st.gid);
  }
  // rename keeps the write atomic for daemons that may read the file meanwhile
  renameSync(tmp, path);
  return true;
}

/**
 * Puts everything back, newest change first; entries whose filter says no are kept.
 * Returns what was restored and what could not be.
 */
export function restore(p: LabPaths, only: (c: Change) => boolean = () => true): { restored: string[]; failed: string[] } {
  const restored: string[] = [];
  const failed: string[] = [];
  const keep: Change[] = [];
  const list = changes(p);
  for (const c of [...list].reverse()) {
    if (!only(c)) {
      keep.unshift(c);
      continue;
    }
    try {
      if (c.kind === "file") {
        copyFileSync(c.copy, c.path);
        chownSync(c.path, c.uid, c.gid);
        chmodSync(c.path, c.mode);
        rmSync(c.copy, { force: true });
        restored.push(`${c.path} (original put back)`);
      } else if (c.kind === "apache-modules") {
        // Those the lab enabled go first: the MPMs it disabled conflict with them.
        for (const [tool, mods] of [["a2dismod", c.enabled], ["a2enmod", c.disabled]] as const) {
          if (mods.length === 0) continue;
          const r = spawnSync(tool, ["-q", "-f", ...mods], { encoding: "utf8", env: { ...process.env, APACHE_CONFDIR: dirname(c.path) } });
          if (r.status !== 0) throw new Error(`${tool} ${mods.join(" ")}: ${(r.stderr || r.error?.message || "").trim()}`);
        }
        restored.push(`Apache modules (${[...c.disabled.map((m) => `${m} on`), ...c.enabled.map((m) => `${m} off`)].join(", ")}, as before the lab)`);
      } else if (c.kind === "created") {
        rmSync(c.path, { force: true });
        restored.push(`${c.path} (removed: the lab had created it)`);
      } else {
        if (existsSync(c.path)) {
          chownSync(c.path, c.uid, c.gid);
          chmodSync(c.path, c.mode);
        }
        restored.push(`${c.path} (owner and mode ${c.mode.toString(8).padStart(4, "0")} put back)`);
      }
    } catch (e) {
      failed.push(`${c.path}: ${(e as Error).message}`);
      keep.unshift(c);
    }
  }
  save(p, keep);
  return { restored, failed };
}
