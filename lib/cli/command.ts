import { parseArgs } from "node:util";
import type { Bilingual } from "../i18n/lang";
import { say, volunteerLang } from "../i18n/lang";
import { DataError, formatDiagnostic, sortDiagnostics } from "../load/diagnostic";
import { UsageError } from "./args";

/**
 * One command of `npm run <name>`: everything its help, its argument parsing and the
 * docs-commands test need, in one value. The table of them is lib/cli/commands.ts.
 */
export interface OptionSpec {
  type: "string" | "boolean";
  /** What the value is, in the help: DIR, REF, N… (string options only). */
  arg?: string;
  /** Repeatable: the values come as a list. */
  multiple?: boolean;
  /** Given to parseArgs, so the command sees it when the option is left out. */
  default?: string;
  /** Shown as "(default: …)" when the default is decided by the command (the repository, lab…). */
  defaultText?: string;
  /** The help text; may hold several lines. */
  help: string;
}

export interface Command {
  name: string;
  summary: Bilingual;
  /** Usage lines after `npm run <name>`, e.g. "-- --base REF [--json]". */
  usage: string[];
  /** What the command does, before the option list. */
  description?: string;
  /** Positional words the command takes (sub-commands, names); none when left out. */
  positionals?: string;
  options: Record<string, OptionSpec>;
  /** After the option list: exit codes, notes. */
  footer?: string;
  /**
   * Errors the command expects in normal use (a bad git ref, a refused change): shown as one
   * line and exit 1, without a stack trace.
   */
  expected?: readonly ErrorClass[];
  run(args: Args, io: Io): number | Promise<number>;
}

/** Where a command writes: the console, or a buffer in tests. */
export interface Io {
  /** A line on stdout. */
  out(text: string): void;
  /** A line on stderr. */
  err(text: string): void;
  /** Raw text on stdout (no newline added). */
  write(text: string): void;
  isTTY: boolean;
}

export const consoleIo: Io = {
  out: (t) => console.log(t),
  err: (t) => console.error(t),
  write: (t) => void process.stdout.write(t),
  get isTTY() {
    return !!process.stdout.isTTY;
  },
};

export interface CapturedIo extends Io {
  stdout: string;
  stderr: string;
}

/** An Io that keeps what the command printed, for in-process tests. */
export function captureIo(): CapturedIo {
  const io: CapturedIo = {
    stdout: "",
    stderr: "",
    out: (t) => void (io.stdout += `${t}\n`),
    err: (t) => void (io.stderr += `${t}\n`),
    write: (t) => void (io.stdout += t),
    isTTY: false,
  };
  return io;
}

/** The parsed command line; asking for an option the command does not declare is a bug, so it throws. */
export class Args {
  constructor(
    private readonly cmd: Command,
    private readonly values: Record<string, string | boolean | Array<string | boolean> | undefined>,
    readonly positionals: string[],
  ) {}
  private get(name: string) {
    if (!(name in this.cmd.options)) throw new Error(`command ${this.cmd.name} has no option --${name} in its table entry`);
    return this.values[name];
  }
  /** Whether the command declares the option (commands sharing one run, like the engine's, differ). */
  declares(name: string): boolean {
    return name in this.cmd.options;
  }
  str(name: string): string | undefined {
    const v = this.get(name);
    return typeof v === "string" ? v : undefined;
  }
  flag(name: string): boolean {
    return this.get(name) === true;
  }
  list(name: string): string[] | undefined {
    const v = this.get(name);
    return Array.isArray(v) ? v.map(String) : undefined;
  }
}

const HELP_OPTION: OptionSpec = { type: "boolean", help: "show this help" };

function optionList(cmd: Command): string[] {
  return Object.keys(cmd.options).map((n) => `--${n}`).concat("--help");
}

function parse(cmd: Command, argv: string[]): { args: Args; help: boolean } {
  const options: Record<string, { type: "string" | "boolean"; multiple?: boolean; default?: string; short?: string }> = { help: { type: "boolean", short: "h" } };
  for (const [name, o] of Object.entries(cmd.options)) options[name] = { type: o.type, ...(o.multiple ? { multiple: true } : {}), ...(o.default !== undefined ? { default: o.default } : {}) };
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: cmd.positionals !== undefined, strict: true });
    const { help, ...rest } = values;
    return { args: new Args(cmd, rest, positionals), help: help === true };
  } catch (e) {
    const code = (e as { code?: string }).code ?? "";
    const msg = (e as Error).message;
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
      const opt = /'([^']+)'/.exec(msg)?.[1] ?? msg;
      throw new UsageError(`unknown option ${opt} for npm run ${cmd.name} (its options: ${optionList(cmd).join(", ")})`);
    }
    if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") {
      const word = /'([^']*)'/.exec(msg)?.[1] ?? "";
      throw new UsageError(`npm run ${cmd.name} takes no argument "${word}", only options (${optionList(cmd).join(", ")})`);
    }
    if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
      const opt = /'(--?[a-z-]+)/.exec(msg)?.[1] ?? "";
      const spec = cmd.options[opt.replace(/^-+/, "")];
      throw new UsageError(spec?.type === "string" ? `${opt} needs a value: ${opt} ${spec.arg ?? "VALUE"}` : `${opt} takes no value`);
    }
    throw e;
  }
}

/** The help of one command, generated from its table entry. */
export function commandHelp(cmd: Command): string {
  const usage = cmd.usage.map((u, i) => `${i === 0 ? "Usage: " : "       "}npm run ${cmd.name}${u ? ` ${u}` : ""}`);
  const rows = Object.entries({ ...cmd.options, help: HELP_OPTION }).map(([name, o]) => {
    const left = `  ${name === "help" ? "-h, " : ""}--${name}${o.type === "string" ? ` ${o.arg ?? "VALUE"}` : ""}`;
    const dflt = o.defaultText ?? o.default;
    const more = [o.multiple ? "(repeatable)" : "", dflt !== undefined ? `(default: ${dflt})` : ""].filter(Boolean).join(" ");
    const lines = `${o.help}${more ? ` ${more}` : ""}`.split("\n");
    return { left, lines };
  });
  const width = Math.max(...rows.map((r) => r.left.length)) + 2;
  const options = rows.flatMap((r) => r.lines.map((l, i) => `${(i === 0 ? r.left : "").padEnd(width)}${l}`));
  return [...usage, "", say(cmd.summary), ...(cmd.description ? ["", cmd.description] : []), "", "Options:", ...options, ...(cmd.footer ? ["", cmd.footer] : [])].join("\n");
}

/** Parses argv for the command and runs it; errors are thrown (runCommand reports them). */
export async function invoke(cmd: Command, argv: string[], io: Io = consoleIo): Promise<number> {
  const { args, help } = parse(cmd, argv);
  if (help) {
    io.out(commandHelp(cmd));
    return 0;
  }
  return cmd.run(args, io);
}

/** A failure the command expected (a bad git ref, a refusal): one line, and what to do next. */
export class CommandFailure extends Error {
  constructor(
    message: string,
    readonly next?: string,
  ) {
    super(message);
  }
}

export type ErrorClass = new (...a: never[]) => Error;

/** Turns an error of one of the `expected` classes into a CommandFailure; rethrows others. */
export function asFailure(e: unknown, expected: readonly ErrorClass[] | undefined): never {
  if (e instanceof Error && expected?.some((k) => e instanceof k)) {
    const next = (e as { next?: unknown }).next;
    throw new CommandFailure(e.message, typeof next === "string" ? next : undefined);
  }
  throw e;
}

export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

function isUsage(e: unknown): boolean {
  return e instanceof UsageError || !!(e as { code?: string } | undefined)?.code?.startsWith("ERR_PARSE_ARGS");
}

/**
 * The one error path of every command: a data error prints its diagnostics in the volunteer's
 * language; a usage error says where the options are (exit 2); an error the command expects
 * prints its message and, when it has one, what to do next (exit 1); anything else is a bug:
 * one line saying so, then the trace (exit 1).
 */
export function reportError(cmd: Command | undefined, e: unknown, io: Io): number {
  const name = cmd?.name;
  if (e instanceof DataError) {
    const lang = volunteerLang();
    for (const d of sortDiagnostics(e.diagnostics)) io.err(formatDiagnostic(d, lang));
    io.err(say({ en: `\n${e.diagnostics.length} error(s) in the data: fix them, then run the command again (npm run validate lists them)`, fr: `\n${e.diagnostics.length} erreur(s) dans les données : corrigez-les puis relancez la commande (npm run validate les liste)` }, lang));
    return EXIT.failed;
  }
  const message = e instanceof Error ? e.message : String(e);
  if (isUsage(e)) {
    io.err(`error: ${message}`);
    io.err(name ? `(npm run ${name} -- --help for the options)` : "(npx tsx lib/cli/main.ts --help lists the commands)");
    return EXIT.usage;
  }
  const next = (e as { next?: unknown } | undefined)?.next;
  if (e instanceof CommandFailure || cmd?.expected?.some((k) => e instanceof k) || typeof next === "string") {
    io.err(`error: ${message}`);
    if (typeof next === "string") io.err(`next: ${next}`);
    return EXIT.failed;
  }
  io.err(`error: ${message}`);
  io.err(`next: this is not a known failure of ${name ? `npm run ${name}` : "the tool"}: check the trace below, and tell the maintainers if your data or the machine is not the cause`);
  if (e instanceof Error && e.stack) io.err(e.stack);
  return EXIT.failed;
}

/** Runs a command as `npm run <name> -- argv` does and returns its exit code; never throws. */
export async function runCommand(cmd: Command, argv: string[], io: Io = consoleIo): Promise<number> {
  try {
    return await invoke(cmd, argv, io);
  } catch (e) {
    return reportError(cmd, e, io);
  }
}
