import { COMMANDS } from "../../lib/cli/commands";

/** One `npm run …` quoted in a document: where, which script, which options. */
export interface QuotedCommand {
  file: string;
  line: number;
  text: string;
  name: string;
  flags: string[];
}

/** The code a markdown text quotes: inline `code` spans and fenced blocks (continued lines joined), with their line. */
function codeSnippets(markdown: string): Array<{ line: number; code: string }> {
  const out: Array<{ line: number; code: string }> = [];
  const lines = markdown.split("\n");
  let fence = false;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i] as string;
    if (/^\s*(```|~~~)/.test(l)) {
      fence = !fence;
      continue;
    }
    if (fence) {
      let code = l;
      const start = i;
      while (code.endsWith("\\") && i + 1 < lines.length) code = `${code.slice(0, -1)} ${lines[++i]}`;
      out.push({ line: start + 1, code });
    } else {
      for (const m of l.matchAll(/`([^`]+)`/g)) out.push({ line: i + 1, code: (m[1] as string).replace(/\\\|/g, "|") });
    }
  }
  return out;
}

/** Every `npm run <name> [-- options]` quoted in `markdown`. */
export function quotedCommands(file: string, markdown: string): QuotedCommand[] {
  const found: QuotedCommand[] = [];
  for (const { line, code } of codeSnippets(markdown)) {
    for (const m of code.matchAll(/npm run((?:\s+--?[a-z-]+)*)\s+([a-z][a-z0-9:-]*)([^\n]*)/g)) {
      // The command ends where the shell or a comment takes over.
      const rest = (m[3] as string).split(/\s#|&&|;|\s\|\s|\||\)/)[0] as string;
      const args = rest.split(/\s+--(?=\s|\]|$)/).slice(1).join(" ");
      const flags = [...args.matchAll(/(?<![\w-])--([a-z][a-z0-9-]*)/g)].map((f) => f[1] as string);
      found.push({ file, line, text: `npm run${m[1]} ${m[2]}${rest}`.trim(), name: m[2] as string, flags });
    }
  }
  return found;
}

/**
 * What is wrong with a quoted command against the command table and package.json's scripts:
 * an unknown command, or an option the command does not have. Empty when it is right.
 */
export function problemsOf(q: QuotedCommand, scripts: Record<string, string>): string[] {
  const where = `${q.file}:${q.line}: ${q.text}`;
  const cmd = COMMANDS.find((c) => c.name === q.name);
  if (!cmd) return scripts[q.name] === undefined ? [`${where}: no command "${q.name}" (npm run lists them)`] : [];
  const valid = [...Object.keys(cmd.options), "help"];
  return q.flags.filter((f) => !valid.includes(f)).map((f) => `${where}: npm run ${q.name} has no option --${f} (its options: ${valid.map((o) => `--${o}`).join(", ")})`);
}
