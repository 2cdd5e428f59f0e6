import type { Target } from "./connection";
import { pool } from "./pool";

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Positional arguments ($1, $2…): validated names only, never secrets (they are visible in ps). */
  args?: string[];
  /** Data for the script: files as tar, SQL, passwords. Never on argv. */
  stdin?: Buffer | string;
  /** Fail (throw) on a non-zero exit; default true. */
  check?: boolean;
  /** What the step is, for error messages. */
  what?: string;
  timeoutMs?: number;
}

/** POSIX single-quoting: the one escaping that needs no exceptions. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Error text must never carry secrets: cut long output and drop anything that looks like one. */
export function redact(text: string, secrets: string[] = []): string {
  let t = text;
  for (const s of secrets) if (s) t = t.split(s).join("[secret]");
  return t.length > 4000 ? `${t.slice(0, 4000)}\n…(${t.length - 4000} more characters)` : t;
}

/**
 * Runs a constant bash script of the provider's own on a host, as root (through `sudo -n` when
 * the SSH user is not root). Member values arrive as quoted positional arguments or on stdin,
 * never spliced into the script text.
 */
export async function run(t: Target, script: string, opts: RunOptions = {}, secrets: string[] = []): Promise<RunResult> {
  const prefix = t.user === "root" ? "" : "sudo -n ";
  const command = `${prefix}bash -c ${shellQuote(`set -euo pipefail\n${script}`)} globenet ${(opts.args ?? []).map(shellQuote).join(" ")}`;
  const result = await pool.with(t, (c) =>
    new Promise<RunResult>((resolve, reject) => {
      c.exec(command, (err, ch) => {
        if (err) return reject(new Error(`${t.name}: cannot open a channel: ${err.message}`));
        const out: Buffer[] = [];
        const errb: Buffer[] = [];
        const timer = opts.timeoutMs ? setTimeout(() => ch.close(), opts.timeoutMs) : undefined;
        ch.on("data", (d: Buffer) => out.push(d));
        ch.stderr.on("data", (d: Buffer) => errb.push(d));
        ch.on("close", (code: number | null) => {
          if (timer) clearTimeout(timer);
          resolve({ code: code ?? 255, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(errb).toString("utf8") });
        });
        if (opts.stdin !== undefined) ch.end(opts.stdin);
        else ch.end();
      });
    }),
  );
  if ((opts.check ?? true) && result.code !== 0) {
    throw new Error(`${t.name}: ${opts.what ?? "remote step"} failed (exit ${result.code}):\n${redact(result.stderr || result.stdout, secrets)}`);
  }
  return result;
}
