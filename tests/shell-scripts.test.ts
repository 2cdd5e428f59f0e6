/**
 * Unit tier (no root, no daemon, no engine): every shell script of the repository passes
 * `bash -n` and shellcheck (Debian package shellcheck). The scripts are found, not listed:
 * every file git tracks or would track (ignored ones aside) whose name ends in .sh or whose
 * first line is a bash or sh shebang, so a new script is checked the day it is added.
 * Handlebars templates (lib/render/templates/*.sh.hbs) are rendered first and are not here.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync, openSync, readSync, closeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CRONTAB_ASIDE_DIR, OWNED_DIR, SSHD_LOCK, USERS_LOCK } from "../provider/resources/account-shared";
import { paths } from "../lib/model/paths";
import { requireTool } from "./helpers/tools";

const ROOT = join(__dirname, "..");

/** The first line of a file, read without loading the whole file. */
function firstLine(file: string): string {
  const fd = openSync(file, "r");
  try {
    const buf = Buffer.alloc(128);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return buf.subarray(0, n).toString("latin1").split("\n", 1)[0] ?? "";
  } finally {
    closeSync(fd);
  }
}

/** The shell scripts under `root` (a git checkout), repository-relative and sorted. */
function shellScripts(root: string): string[] {
  const r = spawnSync("git", ["-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`git ls-files in ${root} failed: ${r.stderr}`);
  const files = [...new Set(r.stdout.split("\0").filter(Boolean))];
  return files
    .filter((f) => {
      if (f.endsWith(".sh")) return true;
      if (/\.[a-z]+$/i.test(f.split("/").pop() ?? "")) return false;
      try {
        return /^#!\s*\S*\b(env\s+)?(bash|sh)\b/.test(firstLine(join(root, f)));
      } catch {
        return false; // deleted in the work tree, a folder (submodule)
      }
    })
    .sort();
}

/** `bash -n` on each file: the files it rejects, with bash's message. */
function syntaxErrors(root: string, files: string[]): string[] {
  const out: string[] = [];
  for (const f of files) {
    const r = spawnSync("bash", ["-n", f], { cwd: root, encoding: "utf8" });
    if (r.status !== 0) out.push(`${f}: ${r.stderr.trim()}`);
  }
  return out;
}

/** shellcheck on all files at once (one process: fast); its findings, one a line, "" when clean. */
function shellcheck(root: string, files: string[]): { status: number | null; findings: string } {
  const r = spawnSync("shellcheck", ["--format=gcc", "--", ...files], { cwd: root, encoding: "utf8" });
  return { status: r.status, findings: `${r.stdout}${r.stderr}`.trim() };
}

describe("shell scripts", () => {
  const have = requireTool("shellcheck", "shellcheck") && requireTool("bash", "bash");
  const files = shellScripts(ROOT);

  it("are found by name and by shebang, wherever they are", () => {
    for (const f of ["provider/scripts/file-set/file-set.sh", "provider/scripts/account/prelude.sh", "scripts/test.sh", ".ci/run", ".ci/trusted-setup", "provider/bin/pulumi-resource-globenet"]) {
      expect(files).toContain(f);
    }
    expect(files.filter((f) => f.endsWith(".hbs"))).toEqual([]);
  });

  it.runIf(have)("all pass bash -n", () => {
    expect(syntaxErrors(ROOT, files).join("\n")).toBe("");
  });

  it.runIf(have)("all pass shellcheck", () => {
    const r = shellcheck(ROOT, files);
    expect(r.findings).toBe("");
    expect(r.status).toBe(0);
  });

  it("state the same folders as the provider's constants", () => {
    const prelude = readFileSync(join(ROOT, "provider/scripts/account/prelude.sh"), "utf8");
    const sshd = readFileSync(join(ROOT, "provider/scripts/account/sshd.sh"), "utf8");
    expect(prelude).toMatch(new RegExp(`^REG=${OWNED_DIR}$`, "m"));
    expect(sshd).toMatch(new RegExp(`^ASIDE=${CRONTAB_ASIDE_DIR}$`, "m"));
    expect(prelude).toMatch(new RegExp(`^LOGS=${paths.siteLogRoot}$`, "m"));
    expect(sshd).toMatch(new RegExp(`^SSHD_LOCK=${SSHD_LOCK}$`, "m"));
    const converge = readFileSync(join(ROOT, "provider/scripts/account/converge.sh"), "utf8");
    expect(converge).toMatch(new RegExp(`^\\s*USERS_LOCK=${USERS_LOCK}$`, "m"));
  });

  describe("the gate catches what is planted", () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), "globenet-shellcheck-"));
      spawnSync("git", ["init", "-q", dir]);
      // An unquoted positional parameter (SC2086: split and globbed), in a file shellcheck finds by its extension.
      writeFileSync(join(dir, "unquoted.sh"), '#!/usr/bin/env bash\nset -euo pipefail\nrm -rf -- $1/cache\n');
      // A missing fi, in a file without extension found by its shebang alone.
      writeFileSync(join(dir, "broken"), '#!/bin/bash\nif [ -n "${1:-}" ]; then\n  echo "$1"\n');
      chmodSync(join(dir, "broken"), 0o755);
      writeFileSync(join(dir, "clean.sh"), '#!/usr/bin/env bash\nset -euo pipefail\nrm -rf -- "$1/cache"\n');
      writeFileSync(join(dir, "notes.txt"), "#!/bin/bash but a text file\n");
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it("finds new, untracked scripts", () => {
      expect(shellScripts(dir)).toEqual(["broken", "clean.sh", "unquoted.sh"]);
    });

    it.runIf(have)("bash -n rejects the syntax error, and only it", () => {
      const errors = syntaxErrors(dir, shellScripts(dir));
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(/^broken: .*syntax error: unexpected end of file/);
    });

    it.runIf(have)("shellcheck rejects the unquoted $1 (SC2086)", () => {
      const r = shellcheck(dir, ["unquoted.sh", "clean.sh"]);
      expect(r.status).not.toBe(0);
      expect(r.findings).toMatch(/^unquoted\.sh:3:\d+: .*\[SC2086\]$/m);
      expect(r.findings).not.toMatch(/^clean\.sh/m);
      expect(shellcheck(dir, ["clean.sh"])).toEqual({ status: 0, findings: "" });
    });
  });
});
