import type { SimpleGit } from "simple-git";
import { mergeRequestOf } from "../state/merge-request";

/** Where a commit reached the branch: the merge commit that brought it, or itself. */
export interface Landing {
  hash: string;
  /** Committer date of the landing commit (ISO 8601 with its offset). */
  committed: string;
  /** True when the commit itself is on the branch's first-parent line (no merge commit). */
  direct: boolean;
  /** The merge request the landing commit's message names, if any. */
  mergeRequest?: string;
}

/**
 * The branch (`ref`) seen as its first-parent line, the way GitLab's merge commits build
 * it: a commit landed when the oldest commit of that line that contains it was made.
 */
export class Mainline {
  private descendantsOf = new Map<string, Promise<Set<string>>>();
  private messages = new Map<string, Promise<string>>();

  private constructor(
    private git: SimpleGit,
    readonly ref: string,
    /** The ref for people: the branch's name when ref is HEAD on a branch. */
    readonly label: string,
    /** First-parent line, oldest first: hash and committer date. */
    private line: { hash: string; committed: string }[],
    private onLine: Set<string>,
    private reachable: Set<string>,
  ) {}

  static async load(git: SimpleGit, ref: string): Promise<Mainline> {
    const out = await git.raw(["log", "--first-parent", "--reverse", "--format=%H%x1f%cI", ref]);
    const line = out
      .split("\n")
      .filter(Boolean)
      .map((l) => {
        const [hash = "", committed = ""] = l.split("\x1f");
        return { hash, committed };
      });
    const all = (await git.raw(["rev-list", ref])).split("\n").filter(Boolean);
    const branch = ref === "HEAD" ? (await git.raw(["rev-parse", "--abbrev-ref", "HEAD"]).catch(() => "")).trim() : "";
    return new Mainline(git, ref, branch && branch !== "HEAD" ? branch : ref, line, new Set(line.map((l) => l.hash)), new Set(all));
  }

  /** Every commit reachable from the ref that contains `commit` (not counting itself). */
  descendants(commit: string): Promise<Set<string>> {
    let p = this.descendantsOf.get(commit);
    if (!p) {
      p = this.git.raw(["rev-list", "--ancestry-path", `${commit}..${this.ref}`]).then((o) => new Set(o.split("\n").filter(Boolean)));
      this.descendantsOf.set(commit, p);
    }
    return p;
  }

  message(hash: string): Promise<string> {
    let p = this.messages.get(hash);
    if (!p) {
      p = this.git.raw(["log", "-1", "--format=%B", hash]);
      this.messages.set(hash, p);
    }
    return p;
  }

  async landing(commit: string): Promise<Landing | undefined> {
    if (this.onLine.has(commit)) {
      const l = this.line.find((x) => x.hash === commit) as { hash: string; committed: string };
      return { ...l, direct: true };
    }
    const d = await this.descendants(commit);
    const l = this.line.find((x) => d.has(x.hash));
    if (!l) return undefined;
    return { ...l, direct: false, mergeRequest: mergeRequestOf(await this.message(l.hash)) };
  }

  /** Whether the commit `head` (e.g. an update's git.head) contains `commit`. */
  async contains(head: string, commit: string): Promise<boolean> {
    if (head === commit) return true;
    if (this.reachable.has(head)) return (await this.descendants(commit)).has(head);
    // A head off this branch (another branch, or a rewritten history): ask git, if it knows
    // that commit. The merge base of an ancestor and its descendant is the ancestor.
    return this.git.raw(["merge-base", commit, head]).then(
      (o) => o.trim() === commit,
      () => false,
    );
  }
}
