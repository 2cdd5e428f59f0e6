import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { SimpleGit } from "simple-git";

/** What a data tree is made of at a commit: everything loadTree reads for one stack. */
export function dataPaths(stack: string): string[] {
  return ["members", "zones", `Pulumi.${stack}.yaml`];
}

export class GitRefError extends Error {}

/** The commit a ref names, or a GitRefError saying how to get it. */
export async function resolveCommit(git: SimpleGit, ref: string): Promise<string> {
  if (ref.startsWith("-")) throw new GitRefError(`"${ref}" is not a git ref (give a branch, tag or commit, like origin/main)`);
  const sha = await git.raw(["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]).then((s) => s.trim(), () => "");
  if (!/^[0-9a-f]{40,64}$/.test(sha)) {
    throw new GitRefError(`unknown git ref "${ref}" (give a branch, tag or commit, like origin/main or HEAD~1; in CI fetch it first: git fetch origin main)`);
  }
  return sha;
}

interface TreeEntry {
  mode: string;
  type: string;
  sha: string;
  path: string;
}

/** Parses `git ls-tree -r -z` output. */
export function parseLsTree(out: string): TreeEntry[] {
  const entries: TreeEntry[] = [];
  for (const rec of out.split("\0")) {
    if (!rec) continue;
    const tab = rec.indexOf("\t");
    const [mode = "", type = "", sha = ""] = rec.slice(0, tab).split(" ");
    entries.push({ mode, type, sha, path: rec.slice(tab + 1) });
  }
  return entries;
}

/**
 * Writes the stack's data files (members/, zones/, Pulumi.<stack>.yaml) as they are at
 * `commit` into `dest`, so the project's own loader can read them like a checkout.
 * Returns the paths written. Symbolic links are refused: a checkout's link could point
 * anywhere, and a data file must be a plain file.
 */
export async function extractDataTree(git: SimpleGit, commit: string, dest: string, stack: string): Promise<string[]> {
  const out = await git.raw(["ls-tree", "-r", "-z", commit, "--", ...dataPaths(stack)]);
  const entries = parseLsTree(out).filter((e) => e.type === "blob");
  const links = entries.filter((e) => e.mode === "120000");
  if (links.length > 0) {
    throw new GitRefError(`${links.map((l) => l.path).join(", ")}: a symbolic link in git at ${commit.slice(0, 12)} (data files must be plain files; replace the link with the file)`);
  }
  await Promise.all(
    entries.map(async (e) => {
      const content = (await git.binaryCatFile(["blob", e.sha])) as Buffer;
      const p = join(dest, e.path);
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, content);
    }),
  );
  return entries.map((e) => e.path).sort();
}
