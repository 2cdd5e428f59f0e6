/**
 * Unit tier. The command table (lib/cli/commands.ts) against package.json, its generated help,
 * its argument errors and the one error path, all in this process.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { UsageError } from "../lib/cli/args";
import { captureIo, CommandFailure, commandHelp, runCommand, type Command } from "../lib/cli/command";
import { COMMANDS } from "../lib/cli/commands";
import { DataError } from "../lib/load/diagnostic";
import { cli } from "./helpers/cli";

const scripts = (JSON.parse(readFileSync(join(__dirname, "..", "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
/** Scripts that are not commands of the table: the start, the tests and the type check. */
const NOT_COMMANDS = ["start", "test", "test:unit", "typecheck"];

describe("package.json and the table", () => {
  it("every npm run script but start, test, test:unit and typecheck calls the one entry with its own name", () => {
    const commands = Object.entries(scripts).filter(([name]) => !NOT_COMMANDS.includes(name));
    expect(commands.filter(([name, line]) => line !== `tsx lib/cli/main.ts ${name}`)).toEqual([]);
    expect(commands.map(([name]) => name).sort()).toEqual(COMMANDS.map((c) => c.name).sort());
  });
});

describe("help generated from the table", () => {
  it.each(COMMANDS.map((c) => [c.name, c] as const))("npm run %s -- --help: usage, summary and every option", async (name, c) => {
    const r = await cli([name, "--help"]);
    expect([r.status, r.stderr]).toEqual([0, ""]);
    expect(r.stdout.startsWith(`Usage: npm run ${name}`)).toBe(true);
    expect(r.stdout).toContain(c.summary.en);
    for (const o of [...Object.keys(c.options), "help"]) expect(r.stdout).toMatch(new RegExp(`^  (-h, )?--${o}\\b`, "m"));
  });

  it("the summary follows the volunteer's language", async () => {
    const fr = await cli(["diff", "-h"], { GLOBENET_LANG: "fr", LC_ALL: undefined });
    expect(fr.stdout).toContain("les fichiers de configuration générés qu'un changement des données modifie");
  });

  it("the top-level help lists every command; no command is an error (exit 2), so is an unknown one", async () => {
    const top = await cli(["--help"]);
    expect(top.status).toBe(0);
    for (const c of COMMANDS) expect(top.stdout).toMatch(new RegExp(`^  ${c.name} +${c.summary.en.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`, "m"));
    expect((await cli([])).status).toBe(2);
    const unknown = await cli(["deploy"]);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('unknown command "deploy" (known: validate, render');
  });

  it("bench -- --help works (it used to fail)", async () => {
    expect((await cli(["bench", "--help"])).status).toBe(0);
  });
});

describe("argument errors name the option and the valid ones (exit 2)", () => {
  it.each(COMMANDS.map((c) => [c.name, c] as const))("npm run %s -- --no-such-option", async (name, c) => {
    const r = await cli([name, "--no-such-option"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`error: unknown option --no-such-option for npm run ${name} (its options: ${[...Object.keys(c.options), "help"].map((o) => `--${o}`).join(", ")})\n(npm run ${name} -- --help for the options)\n`);
    expect(r.stdout).toBe("");
  });

  it("a string option without its value, a flag with one, a word where none is taken", async () => {
    expect((await cli(["render", "--out"])).stderr).toContain("error: --out needs a value: --out DIR\n");
    expect((await cli(["diff", "--json=yes", "--base", "HEAD"])).stderr).toContain("error: --json takes no value\n");
    const word = await cli(["validate", "members"]);
    expect([word.status, word.stderr.split("\n")[0]]).toEqual([2, 'error: npm run validate takes no argument "members", only options (--root, --stack, --base, --help)']);
  });

  it("an option of another engine operation is refused: --limit is history's, not up's", async () => {
    const r = await cli(["up", "--limit", "3"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("unknown option --limit for npm run up");
  });
});

describe("the one error path", () => {
  const fake = (run: Command["run"]): Command => ({ name: "fake", summary: { en: "a test command", fr: "une commande de test" }, usage: [""], options: { root: { type: "string", help: "x" } }, run });

  it("data errors: each diagnostic, in French when the volunteer reads French, exit 1", async () => {
    const err = new DataError([{ file: "members/velo-libre/member.yaml", line: 3, col: 8, field: "status", message: "must be active or suspended", fr: "doit valoir active ou suspended" }]);
    const env = process.env.GLOBENET_LANG;
    try {
      for (const [lang, text] of [
        ["en", "members/velo-libre/member.yaml:3:8 status: must be active or suspended"],
        ["fr", "members/velo-libre/member.yaml:3:8 status: doit valoir active ou suspended"],
      ] as const) {
        process.env.GLOBENET_LANG = lang;
        const io = captureIo();
        expect(await runCommand(fake(() => Promise.reject(err)), [], io)).toBe(1);
        expect(io.stderr.split("\n")[0]).toBe(text);
        expect(io.stderr).toContain(lang === "fr" ? "1 erreur(s) dans les données" : "1 error(s) in the data");
      }
    } finally {
      if (env === undefined) delete process.env.GLOBENET_LANG;
      else process.env.GLOBENET_LANG = env;
    }
  });

  it("usage errors exit 2 and say where the options are; an expected failure is one line and what to do next, exit 1", async () => {
    const usage = captureIo();
    expect(await runCommand(fake(() => { throw new UsageError("--root is wrong"); }), [], usage)).toBe(2);
    expect(usage.stderr).toBe("error: --root is wrong\n(npm run fake -- --help for the options)\n");
    const failure = captureIo();
    expect(await runCommand(fake(() => { throw new CommandFailure("the stack is locked", "wait, or npm run state -- recover"); }), [], failure)).toBe(1);
    expect(failure.stderr).toBe("error: the stack is locked\nnext: wait, or npm run state -- recover\n");
  });

  it("an unexpected error says so, what to do, and gives the trace (exit 1)", async () => {
    const io = captureIo();
    expect(await runCommand(fake(() => { throw new TypeError("x is undefined"); }), [], io)).toBe(1);
    const lines = io.stderr.split("\n");
    expect(lines[0]).toBe("error: x is undefined");
    expect(lines[1]).toMatch(/^next: this is not a known failure of npm run fake: check the trace below/);
    expect(lines[2]).toBe("TypeError: x is undefined");
  });

  it("a command asking for an option its table entry does not declare is a bug, caught at once", async () => {
    const io = captureIo();
    expect(await runCommand(fake((a) => (a.str("roots") ? 0 : 0)), [], io)).toBe(1);
    expect(io.stderr).toContain("command fake has no option --roots in its table entry");
  });

  it("the generated help shows defaults and repeatable options", () => {
    const guard = COMMANDS.find((c) => c.name === "guard") as Command;
    const help = commandHelp(guard);
    expect(help).toMatch(/^ {2}--max-share N +largest share of members or zones removed at once \(default: 0\.1\)$/m);
    expect(help).toMatch(/^ {2}--allow PATH +allow PATH, as an Allow-Destroy line would \(restart\/HOST, as Allow-Restart: HOST\) \(repeatable\)$/m);
  });
});
