import { say } from "../i18n/lang";
import { consoleIo, EXIT, runCommand, type Io } from "./command";
import { COMMANDS, findCommand } from "./commands";

/** The top-level help: every command of the table, with its summary in the volunteer's language. */
export function topHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return [
    "globenet-infra command-line tool: npm run <command> [-- options]",
    "",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}${say(c.summary)}`),
    "",
    "npm run <command> -- --help shows a command's options.",
    "Exit codes: 0 done; 1 the command ran and found a problem (data errors, a refusal, a failure: the",
    "message says what to do next); 2 usage error (unknown command or option, missing value).",
  ].join("\n");
}

/** The command list of README.md ("All commands"), in English; tests/docs-commands.test.ts keeps the README equal to it. */
export function commandsMarkdown(): string {
  return ["| command | what it does |", "|---|---|", ...COMMANDS.map((c) => `| \`npm run ${c.name}${c.usage[0] ? ` ${c.usage[0]}` : ""}\` | ${c.summary.en} |`.replace(/\|(?=[^`]*`\s\|)/g, "\\|"))].join("\n");
}

/** `npx tsx lib/cli/main.ts <command> args…`: what every package.json script calls. */
export async function main(argv: string[], io: Io = consoleIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    io.out(topHelp());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const cmd = findCommand(name);
  if (!cmd) {
    io.err(`error: unknown command "${name}" (known: ${COMMANDS.map((c) => c.name).join(", ")})`);
    io.err("(npx tsx lib/cli/main.ts --help describes them)");
    return EXIT.usage;
  }
  return runCommand(cmd, rest, io);
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
