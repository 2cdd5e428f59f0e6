import type { SimpleGit } from "simple-git";

/** A file a commit touched, with the blobs before and after (none when added or deleted). */
export interface FileTouch {
  path: string;
  /** git's status letter: A added, M modified, D deleted, T type changed. */
  status: string;
  before?: string;
  after?: string;
}

export interface ChangeCommit {
  hash: string;
  parents: string[];
  /** Author date, strict ISO 8601 with the author's own offset (as git stored it). */
  authored: string;
  /** Committer date, same form. */
  committed: string;
  author: string;
  email: string;
  subject: string;
  body: string;
  files: FileTouch[];
}

const FS = "\x1f";
const RS = "\x1e";
/** One record per commit: fields separated by US, the raw diff after the last one. */
export const LOG_FORMAT = `--format=${RS}%H${FS}%P${FS}%aI${FS}%cI${FS}%an${FS}%ae${FS}%s${FS}%b${FS}`;
const NULL_SHA = /^0+$/;

/** Parses `git log --raw --no-abbrev` output made with LOG_FORMAT. Pure. */
export function parseLog(out: string): ChangeCommit[] {
  const commits: ChangeCommit[] = [];
  for (const rec of out.split(RS)) {
    if (!rec.trim()) continue;
    const [hash = "", parents = "", authored = "", committed = "", author = "", email = "", subject = "", body = "", raw = ""] = rec.split(FS);
    const files: FileTouch[] = [];
    for (const line of raw.split("\n")) {
      // :100644 100644 <old> <new> M\tpath
      const m = /^:\d+ \d+ ([0-9a-f]+) ([0-9a-f]+) ([A-Z])\d*\t(.+)$/.exec(line);
      if (!m) continue;
      const [, before = "", after = "", status = "", path = ""] = m;
      files.push({ path, status, before: NULL_SHA.test(before) ? undefined : before, after: NULL_SHA.test(after) ? undefined : after });
    }
    commits.push({ hash, parents: parents.split(" ").filter(Boolean), authored, committed, author, email, subject, body: body.trim(), files });
  }
  return commits;
}

/**
 * The commits reachable from `ref` that changed any of `paths`, oldest first, each with the
 * files it touched among them. Merge commits are left out: a merge request's own commits
 * carry its changes (git follows the branch whose side the file came from).
 */
export async function changeCommits(git: SimpleGit, ref: string, paths: string[]): Promise<ChangeCommit[]> {
  const out = await git.raw(["log", "--reverse", "--no-merges", "--no-renames", "--raw", "--no-abbrev", LOG_FORMAT, ref, "--", ...paths]);
  return parseLog(out);
}

/** Blob texts by id, each read once. */
export class Blobs {
  private cache = new Map<string, Promise<string>>();
  constructor(private git: SimpleGit) {}
  text(sha: string | undefined): Promise<string | undefined> {
    if (!sha) return Promise.resolve(undefined);
    let p = this.cache.get(sha);
    if (!p) {
      p = this.git.raw(["cat-file", "blob", sha]);
      this.cache.set(sha, p);
    }
    return p;
  }
}
