/**
 * npm run backup -- purge-departure <handle> [--yes]: removing a departed member's departure
 * archives from the hosts, as an explicit act (docs/architecture.md, "Backups", "Departures").
 * Declared in git first: the member's file says `status: departed` and `purge_archives: true`,
 * committed, and a non-merge commit of the branch carries `Allow-Destroy: departures/<handle>`
 * (the guard's rule, lib/guard/rules.ts, which asked for it in the merge request's plan). The backup repository keeps
 * its copies until retention prunes the last snapshot holding them.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { targetOf } from "../../components/target";
import { loadScript } from "../../provider/scripts/load";
import { run } from "../../provider/ssh/remote";
import type { Target } from "../../provider/types";
import { parseLog } from "../guard/allowances";
import { allowancesIn } from "../guard/rules";
import type { Lang } from "../i18n/lang";
import type { Model } from "../model/types";
import { UsageError } from "./args";
import { CommandFailure, type Io } from "./command";

/** Lists or removes one member's departure archives on a host (provider/scripts/tools/purge-departure.sh). */
const PURGE = loadScript("tools/purge-departure.sh");

function git(root: string, args: string[]): { ok: boolean; out: string } {
  const r = spawnSync("git", ["-C", root, ...args], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024, timeout: 60_000 });
  return { ok: r.status === 0, out: r.stdout ?? "" };
}

export interface PurgeDecision {
  handle: string;
  /** The member's databases in any committed version of its file: their departure dumps are its. */
  databases: string[];
  /** The commit whose message says Allow-Destroy: departures/<handle>. */
  allowedBy: { sha: string; subject: string };
}

/** Whether the purge is declared and allowed in git; throws a UsageError saying what is missing. */
export function purgeDecision(root: string, handle: string): PurgeDecision {
  const rel = `members/${handle}/member.yaml`;
  const file = join(root, rel);
  if (!/^[a-z][a-z0-9-]*[a-z0-9]$/.test(handle) || !existsSync(file)) throw new UsageError(`there is no ${rel}: name a departed member`);
  const v = parse(readFileSync(file, "utf8")) as { status?: string; purge_archives?: boolean } | null;
  const how = `set status: departed and purge_archives: true in ${rel}, in a commit whose message has the line "Allow-Destroy: departures/${handle}", reviewed and merged`;
  if (v?.status !== "departed") throw new UsageError(`${handle} has not departed (status: ${v?.status ?? "none"}): only a departed member's archives are purged (${how})`);
  if (v.purge_archives !== true) throw new UsageError(`${rel} does not declare the purge: ${how}`);
  if (!git(root, ["rev-parse", "--is-inside-work-tree"]).ok) throw new UsageError(`${root} is not a git checkout: the purge must be declared in a reviewed commit`);
  const dirty = git(root, ["status", "--porcelain", "--", `members/${handle}`]);
  if (!dirty.ok || dirty.out.trim() !== "") throw new UsageError(`members/${handle}/ has changes that are not committed: the purge counts only as committed and reviewed (${how})`);
  // Any reviewed commit of the branch: the guard's hint is an empty commit holding the line.
  const log = parseLog(git(root, ["log", "-z", "--no-merges", "-i", "--grep=Allow-Destroy", "--format=%H%x00%B", "HEAD"]).out);
  const allowing = log.find((c) => allowancesIn(c.message).includes(`departures/${handle}`));
  if (!allowing) throw new UsageError(`no commit says "Allow-Destroy: departures/${handle}": ${how}`);
  const databases = new Set<string>();
  for (const c of parseLog(git(root, ["log", "-z", "--format=%H%x00", "HEAD", "--", rel]).out)) {
    const text = git(root, ["show", `${c.sha}:${rel}`]);
    if (!text.ok) continue;
    try {
      const old = parse(text.out) as { databases?: Array<{ name?: unknown }> } | null;
      for (const d of old?.databases ?? []) if (typeof d?.name === "string" && /^[A-Za-z0-9_]{1,64}$/.test(d.name)) databases.add(d.name);
    } catch {
      /* a version that did not parse held no database the apply made */
    }
  }
  return { handle, databases: [...databases].sort(), allowedBy: { sha: allowing.sha, subject: allowing.message.split("\n")[0] ?? "" } };
}

export interface HostPurge {
  files: { path: string; size: number }[];
  removed: string[];
}

/** Lists (or, with purge, removes) the member's departure archives in one host's archive folder. */
export async function purgeOnHost(target: Target, archiveDir: string, handle: string, databases: string[], mode: "list" | "purge"): Promise<HostPurge> {
  const r = await run(target, PURGE, { args: [archiveDir, mode, handle, ...databases], what: `${mode === "purge" ? "purging" : "listing"} the departure archives of ${handle}`, check: false, timeoutMs: 600_000 });
  if (r.code !== 0) throw new CommandFailure(`${target.name}: ${mode} of the departure archives of ${handle} failed (exit ${r.code}):\n${(r.stderr || r.stdout).trim()}`);
  const files = [...r.stdout.matchAll(/^file=(.+) size=(\d+)$/gm)].map((m) => ({ path: m[1] as string, size: Number(m[2]) }));
  const removed = [...r.stdout.matchAll(/^removed=(.+)$/gm)].map((m) => m[1] as string);
  return { files, removed };
}

/** The whole command: the git decision first, then every protected machine once. */
export async function purgeDeparture(opts: { root: string; model: Model; handle: string; yes: boolean; io: Io; lang: Lang }): Promise<void> {
  const { root, model, handle, io } = opts;
  const fr = opts.lang === "fr";
  const d = purgeDecision(root, handle);
  io.out(fr ? `autorisé par ${d.allowedBy.sha.slice(0, 12)} « ${d.allowedBy.subject} »` : `allowed by ${d.allowedBy.sha.slice(0, 12)} "${d.allowedBy.subject}"`);
  const seen = new Set<string>();
  let total = 0;
  for (const h of [...model.hosts].sort((a, b) => a.name.localeCompare(b.name))) {
    if (h.roles.includes("backup")) continue;
    const machine = `${h.address} ${h.host.ssh.port}`;
    if (seen.has(machine)) continue;
    seen.add(machine);
    const r = await purgeOnHost(targetOf(h, root), model.inventory.archive_dir, handle, d.databases, opts.yes ? "purge" : "list");
    for (const f of r.files) io.out(`${h.name}  ${f.path}  ${f.size}${r.removed.includes(f.path) ? (fr ? "  supprimé" : "  removed") : ""}`);
    total += r.files.length;
  }
  const retention = model.inventory.backup?.retention;
  const kept = retention
    ? fr
      ? `Le dépôt de sauvegarde garde ses copies (les instantanés path--archives faits avant) jusqu'à ce que la rétention efface le dernier : environ ${retention.monthly} mois.`
      : `The backup repository keeps its copies (the path--archives snapshots made before) until retention prunes the last of them: about ${retention.monthly} months.`
    : "";
  if (total === 0) io.out(fr ? `aucune archive de départ de ${handle} sur les hôtes` : `no departure archive of ${handle} on the hosts`);
  else if (!opts.yes) io.out(fr ? `${total} fichier(s) seraient supprimés : relancez avec --yes pour le faire. ${kept}` : `${total} file(s) would be removed: run again with --yes to do it. ${kept}`);
  else io.out(fr ? `${total} fichier(s) supprimés. ${kept}` : `${total} file(s) removed. ${kept}`);
}
