import type { SimpleGit } from "simple-git";
import { classifyPath } from "./semantic";

/** What the audit tells the story of, and the paths (git pathspecs) that make it. */
export interface Target {
  kind: "member" | "vps" | "zone" | "file";
  /** For people: "member velo-libre", "zone velo-libre.example", "VPS atelier of velo-libre". */
  label: string;
  paths: string[];
}

export class TargetError extends Error {}

/** How a path reads as a target, without asking git. Pure. */
export function targetForPath(path: string): Target {
  const p = path.replace(/^\.\//, "").replace(/\/+$/, "");
  const m = /^members\/([^/]+)$/.exec(p);
  if (m) return { kind: "member", label: `member ${m[1]}`, paths: [`${p}/`] };
  const k = classifyPath(p);
  if (k.kind === "vps") return { kind: "vps", label: `VPS ${k.name} of ${k.handle}`, paths: [p] };
  if (k.kind === "zone") return { kind: "zone", label: `zone ${k.zone}`, paths: [p] };
  if (k.kind === "member") return { kind: "member", label: `member ${k.handle} (${p} only)`, paths: [p] };
  return { kind: "file", label: p, paths: [p] };
}

async function touched(git: SimpleGit, ref: string, path: string): Promise<string[]> {
  const out = await git.raw(["log", "--format=", "--name-only", ref, "--", path]);
  return [...new Set(out.split("\n").filter(Boolean))].sort();
}

/**
 * A member handle, a zone, a VPS name or a path in the repository, checked against the
 * history of `ref`: the object must have existed in some commit.
 */
export async function resolveTarget(git: SimpleGit, ref: string, arg: string): Promise<Target> {
  const name = arg.trim();
  if (!name || name.startsWith("-")) throw new TargetError(`"${arg}" is not a member, zone or path`);
  if (name.includes("/")) {
    const t = targetForPath(name);
    if ((await touched(git, ref, t.paths[0] as string)).length === 0) {
      throw new TargetError(`no commit of ${ref} touches ${t.paths[0]} (check the spelling; paths are relative to the repository's root, like members/velo-libre/vps/atelier.yaml)`);
    }
    return t;
  }
  if (/^[a-z][a-z0-9-]*$/.test(name) && (await touched(git, ref, `members/${name}/`)).length > 0) {
    return { kind: "member", label: `member ${name}`, paths: [`members/${name}/`] };
  }
  if ((await touched(git, ref, `zones/${name}.yaml`)).length > 0) {
    return { kind: "zone", label: `zone ${name}`, paths: [`zones/${name}.yaml`] };
  }
  const vps = /^[a-z][a-z0-9-]*$/.test(name) ? await touched(git, ref, `members/*/vps/${name}.yaml`) : [];
  if (vps.length === 1) return targetForPath(vps[0] as string);
  if (vps.length > 1) throw new TargetError(`several VPS are named ${name}: ${vps.join(", ")} (give the path of the one you mean)`);
  throw new TargetError(
    `no member, zone or VPS named "${name}" in the history of ${ref} (a member is its handle, like velo-libre; a zone its domain, like velo-libre.example; or give a path, like members/velo-libre/vps/atelier.yaml)`,
  );
}
