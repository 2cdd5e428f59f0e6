import { spawn } from "node:child_process";
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
 * anywhere, and a data file must be a plain file. `cwd` is the checkout git runs in.
 */
export async function extractDataTree(git: SimpleGit, cwd: string, commit: string, dest: string, stack: string): Promise<string[]> {
  const out = await git.raw(["ls-tree", "-r", "-z", commit, "--", ...dataPaths(stack)]);
  const entries = parseLsTree(out).filter((e) => e.type === "blob");
  const links = entries.filter((e) => e.mode === "120000");
  if (links.length > 0) {
    throw new GitRefError(`${links.map((l) => l.path).join(", ")}: a symbolic link in git at ${commit.slice(0, 12)} (data files must be plain files; replace the link with the file)`);
  }
  const blobs = await catBlobs(cwd, entries.map((e) => e.sha));
  for (const e of entries) {
    const p = join(dest, e.path);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, blobs.get(e.sha) as Buffer);
  }
  return entries.map((e) => e.path).sort();
}

/**
 * The content of each blob, read by one `git cat-file --batch` (one process for the whole tree:
 * a process per file cost half a second on the example data).
 */
export function catBlobs(cwd: string, shas: readonly string[]): Promise<Map<string, Buffer>> {
  const wanted = [...new Set(shas)];
  if (wanted.length === 0) return Promise.resolve(new Map());
  return new Promise((resolvePromise, reject) => {
    const child = spawn("git", ["cat-file", "--batch"], { cwd, stdio: ["pipe", "pipe", "pipe"] });
    const chunks: Buffer[] = [];
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => chunks.push(c));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) return reject(new GitRefError(`git cat-file failed (exit ${code}): ${stderr.trim()}`));
      try {
        resolvePromise(parseBatch(Buffer.concat(chunks), wanted));
      } catch (e) {
        reject(e);
      }
    });
    child.stdin.end(`${wanted.join("\n")}\n`);
  });
}

/** Parses `git cat-file --batch` output: for each object "<sha> <type> <size>\n<content>\n". */
export function parseBatch(out: Buffer, order: readonly string[]): Map<string, Buffer> {
  const blobs = new Map<string, Buffer>();
  let at = 0;
  for (const sha of order) {
    const nl = out.indexOf(0x0a, at);
    if (nl < 0) throw new GitRefError(`git cat-file: no answer for ${sha}`);
    const [got = "", type = "", size = ""] = out.subarray(at, nl).toString("utf8").split(" ");
    if (got !== sha || type !== "blob" || !/^\d+$/.test(size)) throw new GitRefError(`git cat-file: unexpected answer for ${sha}: ${out.subarray(at, nl).toString("utf8")}`);
    const start = nl + 1;
    const end = start + Number(size);
    blobs.set(sha, out.subarray(start, end));
    at = end + 1;
  }
  return blobs;
}
