/**
 * Unit tier. Every `npm run …` quoted in the READMEs, the volunteers' guide and the architecture
 * must exist in the command table (lib/cli/commands.ts) with the options it is quoted with, and
 * its --help must work. A planted bad command and a planted bad option show the check bites.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { commandsMarkdown } from "../lib/cli/main";
import { cli } from "./helpers/cli";
import { problemsOf, quotedCommands } from "./helpers/doc-commands";

const REPO = join(__dirname, "..");
const DOCS = ["README.md", "docs/guide-benevole.md", "docs/architecture.md", "members/README.md", "zones/README.md", "vps/README.md", ".gitlab/merge_request_templates/Default.md"].filter((f) => existsSync(join(REPO, f)));
const scripts = (JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
const quoted = DOCS.flatMap((f) => quotedCommands(f, readFileSync(join(REPO, f), "utf8")));

describe("the commands the documentation quotes", () => {
  it("finds the quotes (README, guide, data READMEs, architecture)", () => {
    for (const f of ["README.md", "docs/guide-benevole.md", "members/README.md", "zones/README.md"]) expect(quoted.filter((q) => q.file === f).length, f).toBeGreaterThan(0);
    expect(quoted.length).toBeGreaterThan(50);
  });

  it("each exists, with the options it is quoted with", () => {
    expect(quoted.flatMap((q) => problemsOf(q, scripts))).toEqual([]);
  });

  it("each quoted command's --help works", async () => {
    for (const name of new Set(quoted.map((q) => q.name).filter((n) => scripts[n]?.startsWith("tsx lib/cli/main.ts ")))) {
      const r = await cli([name, "--help"]);
      expect([name, r.status]).toEqual([name, 0]);
    }
  });
});

describe("the check itself, on planted mistakes", () => {
  const md = [
    "Run `npm run validate -- --stack prod` first.",
    "```sh",
    "npm run deploy -- --stack prod          # no such command",
    "npm run diff -- --bsae main --worktree  # a typo in an option",
    "npm run status -- certs \\",
    "  --stack prod --wiat 30",
    "npm run --silent diff -- --base main | tee out.diff",
    "```",
    "| `npm run lab [-- down\\|status]` | table cell |",
  ].join("\n");
  const found = quotedCommands("planted.md", md);

  it("reads inline code, fenced lines, continued lines, npm's own options and table cells", () => {
    expect(found.map((q) => [q.line, q.name, q.flags])).toEqual([
      [1, "validate", ["stack"]],
      [3, "deploy", ["stack"]],
      [4, "diff", ["bsae", "worktree"]],
      [5, "status", ["stack", "wiat"]],
      [7, "diff", ["base"]],
      [9, "lab", []],
    ]);
  });

  it("fails on the unknown command and on each unknown option, naming file and line", () => {
    expect(found.flatMap((q) => problemsOf(q, scripts))).toEqual([
      'planted.md:3: npm run deploy -- --stack prod: no command "deploy" (npm run lists them)',
      "planted.md:4: npm run diff -- --bsae main --worktree: npm run diff has no option --bsae (its options: --base, --head, --worktree, --stack, --root, --json, --help)",
      "planted.md:5: npm run status -- certs    --stack prod --wiat 30: npm run status has no option --wiat (its options: --stack, --root, --wait, --days, --json, --help)",
    ]);
  });
});

describe("README.md's command list", () => {
  it("is the one generated from the table", () => {
    const readme = readFileSync(join(REPO, "README.md"), "utf8");
    const block = /<!-- commands:begin -->\n([\s\S]*?)\n<!-- commands:end -->/.exec(readme)?.[1];
    expect(block, "README.md: put the output of npx tsx -e 'console.log(require(\"./lib/cli/main.ts\").commandsMarkdown())' between the commands markers").toBe(commandsMarkdown());
  });
});
