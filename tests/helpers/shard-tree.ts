import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect } from "vitest";
import { loadModel } from "../../lib/check/build";
import { formatDiagnostic } from "../../lib/load/diagnostic";
import type { Model } from "../../lib/model/types";
import { touchedShards } from "../../lib/ci/touched-shards";
import { setShards, writeShardedSyntheticTree, type ShardRule } from "../../lib/bench/sharded-tree";

/**
 * The sharded tests' tree: the synthetic tree with web1 and web2 (members alternating: even on
 * web1, odd on web2), a DNS secondary ns2, and the inventory's `shards` as given.
 */
export function writeShardedTree(root: string, members: number, shards: Record<string, ShardRule>): void {
  writeShardedSyntheticTree(root, members, 2, shards);
}

/** The "bench" stack's model of `root`, which must load without an error (each is shown). */
export function validModel(root: string): Model {
  const { model, errors } = loadModel(root, "bench");
  expect(errors.map((e) => formatDiagnostic(e))).toEqual([]);
  return model as Model;
}

/**
 * `edit(file, f)`: the shards of `root` that `f`'s change to `file` touches, against `base`
 * (lib/ci/touched-shards.ts); the file is put back afterwards.
 */
export function touchedBy(root: string, base: Model): (file: string, f: (t: string) => string) => string[] {
  return (file, f) => {
    const p = join(root, file);
    const was = readFileSync(p, "utf8");
    writeFileSync(p, f(was));
    try {
      return touchedShards(base, validModel(root));
    } finally {
      writeFileSync(p, was);
    }
  };
}

/** Makes `root` a git repository with its files as the commit "base" on main; returns a git runner there (output trimmed). */
export function committedRepo(root: string): (...args: string[]) => string {
  const git = (...args: string[]) => execFileSync("git", args, { cwd: root, encoding: "utf8", env: { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@globenet.example", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@globenet.example" } }).trim();
  git("init", "-q", "-b", "main");
  git("add", "-A");
  git("commit", "-q", "-m", "base");
  return git;
}

/** The stack's passphrase of the sharded tests (it signs the index, the caches and the checked model). */
export const KEY = "the-stack-passphrase";

/** `core` holds the name servers, the database host and the hypervisor (not partial); `one` and `two` a web host each. */
export const SHARDS = { core: ["db1", "ns1", "ns2", "hv1"], one: ["web1"], two: ["web2"] };

/**
 * For one test file: `tree(members)` writes a sharded tree (SHARDS) in a new temporary folder,
 * `temp()` gives an empty one; both are removed after the file's tests.
 */
export function shardedTrees(prefix: string, members: number): { tree: (n?: number) => string; temp: () => string } {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const temp = () => {
    const d = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(d);
    return d;
  };
  return {
    tree: (n = members) => {
      const d = temp();
      writeShardedTree(d, n, SHARDS);
      return d;
    },
    temp,
  };
}

/**
 * Gives member-00001's first site member-00000's name (members on two web hosts, so two
 * shards): an error only a check over the whole data sees. Returns the name claimed twice.
 */
export function claimSiteTwice(root: string): string {
  const a = join(root, "members", "member-00000", "member.yaml");
  const b = join(root, "members", "member-00001", "member.yaml");
  const host = /- host: (\S+)/.exec(readFileSync(a, "utf8"))?.[1] as string;
  writeFileSync(b, readFileSync(b, "utf8").replace(/- host: \S+/, `- host: ${host}`));
  return host;
}

export { setShards };
