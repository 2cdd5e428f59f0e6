import { RESOURCE_TOKENS, STORE_FOLDER_PROPERTY } from "../base/tokens";
import type { PlanStep } from "../guard/plan";
import { hashesOf, substituteSerials } from "../../provider/resources/file-set-serials";
import { isRecord } from "../base/record";
import { FileStoreError, setFiles } from "../../provider/resources/file-store";

/**
 * What of each resource differs from git, from a preview run with --refresh (pure: tested as
 * text). The refreshed state is what the hosts have; the program's inputs are git's. A file
 * set keeps hashes, not contents, so its files are named by comparing git's files (serials as
 * the host has them) with the live hashes; the other resources by their properties.
 */

type Json = Record<string, unknown>;

const str = (v: unknown) => JSON.stringify(v ?? null);

/** Per file of a file set: changed on the host, missing there, or there but not in git. */
export function fileSetDrift(liveHashes: Record<string, string>, gitFiles: Record<string, string>, serials: Record<string, number>): string[] {
  const want = hashesOf(substituteSerials(gitFiles, serials));
  const out: string[] = [];
  for (const p of [...new Set([...Object.keys(want), ...Object.keys(liveHashes)])].sort()) {
    if (!(p in liveHashes)) out.push(`${p} (missing on the host)`);
    else if (!(p in want)) out.push(`${p} (on the host, not in git)`);
    else if (want[p] !== liveHashes[p]) out.push(`${p} (changed on the host)`);
  }
  return out;
}

/** A set's files from the program's inputs; a store that cannot give them is said in `lines` (and the files are then named as a whole). */
function gitFilesOf(news: Json, lines: string[]): Record<string, string> | undefined {
  try {
    return setFiles(news);
  } catch (e) {
    if (!(e instanceof FileStoreError)) throw e;
    lines.push(`files: git's contents unreadable here (${e.message})`);
    return undefined;
  }
}

/** "property: detail" lines for one changed step; the property names alone when nothing more is known. */
export function driftDetails(step: PlanStep): string[] {
  const olds = { ...(step.old ?? {}), ...(step.oldOutputs ?? {}) };
  const news = step.new ?? {};
  if (step.op === "create") return ["(gone from the host, or never applied)"];
  if (step.op === "delete") return ["(in the state, no longer in git)"];
  const lines: string[] = [];
  const fileSet = step.type === RESOURCE_TOKENS.fileSet;
  // git's files from either form of the program's inputs (refs: read from its store, checked).
  const gitFiles = fileSet && isRecord(olds.hashes) ? gitFilesOf(news, lines) : undefined;
  if (gitFiles) {
    const serials = isRecord(olds.serials) ? (olds.serials as Record<string, number>) : {};
    for (const f of fileSetDrift(olds.hashes as Record<string, string>, gitFiles, serials)) lines.push(`files: ${f}`);
  }
  // The resource's own account of what it found different (accounts, databases, backups: `drift`).
  if (Array.isArray(olds.drift) && olds.drift.length > 0) lines.push(`drift: ${olds.drift.map(String).join("; ")}`);
  // The store's folder (a guest's too) is where the runner keeps contents, never a host's drift.
  const skip = new Set(["drift", STORE_FOLDER_PROPERTY, ...(fileSet ? ["files", "fileRefs", "fileManifest", "hashes", "serials", "generation", "tokenDigest", "zoneNames"] : [])]);
  const named = (step.diffs ?? Object.keys(news).filter((k) => k in olds && str(olds[k]) !== str(news[k]))).filter((k) => !skip.has(k));
  for (const k of [...new Set(named)].sort()) lines.push(k);
  if (lines.length === 0 && fileSet) lines.push("files");
  return lines;
}
