import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { simpleGit, type SimpleGit } from "simple-git";

const REPO = resolve(__dirname, "..", "..");

export const PEOPLE = {
  seed: ["Seed Maintainers", "seed@globenet.example"],
  alice: ["Alice Martin", "alice@globenet.example"],
  bob: ["Bob Durand", "bob@globenet.example"],
} as const;

export type Person = keyof typeof PEOPLE;

/**
 * A throwaway git repository holding a copy of the repository's data (members/, zones/ and the
 * stacks' inventories), committed with fixed authors and dates: for the diff and audit tests.
 */
export class DataRepo {
  readonly dir: string;
  /** Commits take their authors and dates from the environment, which simple-git guards. */
  readonly git: SimpleGit;

  constructor(prefix = "globenet-data-repo-") {
    this.dir = mkdtempSync(join(tmpdir(), prefix));
    this.git = simpleGit({ baseDir: this.dir, allowEnvironment: ["GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_AUTHOR_DATE", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "GIT_COMMITTER_DATE"] });
  }

  /** Copies the data in and makes the repository (no commit yet). */
  async init(): Promise<this> {
    for (const p of ["members", "zones", "Pulumi.lab.yaml", "Pulumi.prod.yaml"]) cpSync(join(REPO, p), join(this.dir, p), { recursive: true });
    await this.git.init(["--initial-branch=main"]);
    return this;
  }
  path(rel: string): string {
    return join(this.dir, rel);
  }
  read(rel: string): string {
    return readFileSync(this.path(rel), "utf8");
  }
  write(rel: string, text: string): void {
    mkdirSync(dirname(this.path(rel)), { recursive: true });
    writeFileSync(this.path(rel), text);
  }
  /** Replaces `from` once in a file; fails if the repository's data no longer holds it. */
  edit(rel: string, from: string, to: string): void {
    const t = this.read(rel);
    if (!t.includes(from)) throw new Error(`${rel} no longer holds ${JSON.stringify(from)}: update the test`);
    this.write(rel, t.replace(from, to));
  }
  private env(who: Person, date: string) {
    const [name, email] = PEOPLE[who];
    return { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", GIT_AUTHOR_NAME: name, GIT_AUTHOR_EMAIL: email, GIT_AUTHOR_DATE: date, GIT_COMMITTER_NAME: name, GIT_COMMITTER_EMAIL: email, GIT_COMMITTER_DATE: date };
  }
  /** Commits everything as `who` at `date`; returns the commit. */
  async commit(who: Person, date: string, message: string): Promise<string> {
    await this.git.env(this.env(who, date)).add(["-A"]);
    await this.git.env(this.env(who, date)).commit(message);
    return this.head();
  }
  async merge(who: Person, date: string, branch: string, message: string): Promise<string> {
    await this.git.env(this.env(who, date)).raw(["merge", "--no-ff", "-m", message, branch]);
    return this.head();
  }
  async head(): Promise<string> {
    return (await this.git.revparse(["HEAD"])).trim();
  }
  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
