import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { SimpleGit } from "simple-git";
import { formatDiagnostic, type Diagnostic } from "../load/diagnostic";
import { loadModel } from "../check/build";
import type { Model } from "../model/types";
import { renderAll, type RenderedFile } from "../render";
import { extractDataTree } from "./extract";

/** One side of the comparison: a commit's data, or the working tree as it is. */
export type Side = { role: "base" | "head"; ref: string; commit: string } | { role: "head"; worktree: true };

export function sideName(s: Side): string {
  if ("worktree" in s) return "the working tree";
  return `${s.role === "base" ? "the base" : "the head"} (${s.ref}, ${s.commit.slice(0, 12)})`;
}

/** The data of one side cannot be rendered; the message names the side and every error's file and line. */
export class SideError extends Error {
  constructor(
    readonly side: Side,
    readonly diagnostics: Diagnostic[],
    detail?: string,
  ) {
    const next =
      "worktree" in side
        ? "fix them in the working tree (npm run validate lists the same errors)"
        : side.role === "base"
          ? "the base itself is broken: compare with another --base, such as the last commit that validates"
          : `fix them and commit (git checkout ${side.ref} && npm run validate lists the same errors)`;
    super(
      detail
        ? `${sideName(side)} cannot be rendered: ${detail} (${next})`
        : `${sideName(side)} has ${diagnostics.length} data error(s), so it cannot be rendered:\n` + diagnostics.map((d) => `  ${formatDiagnostic(d)}`).join("\n") + `\n(${next})`,
    );
  }
}

/**
 * Renders one side with the project's own loadModel and renderAll: a commit's data is first
 * written under `tmp` (members/, zones/ and the stack's inventory, nothing else); the working
 * tree is read in place at `repoRoot`.
 */
export async function renderSide(git: SimpleGit, repoRoot: string, side: Side, stack: string, tmp: string, changed?: ReadonlySet<string>): Promise<{ files: RenderedFile[]; model: Model; root: string }> {
  let root = repoRoot;
  if (!("worktree" in side)) {
    root = join(tmp, `tree-${side.role}`);
    mkdirSync(root, { recursive: true });
    await extractDataTree(git, repoRoot, side.commit, root, stack);
  }
  // The head's duplicates are blamed on the files changed since the base.
  const { model, errors } = loadModel(root, stack, {}, { changed });
  if (!model) throw new SideError(side, errors);
  try {
    return { files: renderAll(model), model, root };
  } catch (e) {
    throw new SideError(side, [], e instanceof Error ? e.message : String(e));
  }
}
