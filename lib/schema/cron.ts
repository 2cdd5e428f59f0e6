import { z } from "zod";
import { text } from "./common";

/**
 * A member's scheduled job (docs/architecture.md, "Cron per member"): cron's five time fields
 * or one of its @ words, and a command run by /bin/sh as the member. The command is the
 * member's own shell code (run with the member's rights only), so quotes, `$(…)` and pipes are
 * fine; what is refused is what would break out of its crontab line.
 */

const FIELDS = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12, names: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"] },
  { name: "day of week", min: 0, max: 7, names: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] },
] as const;

export const CRON_WORDS = ["@hourly", "@daily", "@midnight", "@weekly", "@monthly", "@yearly", "@annually", "@reboot"] as const;

/** Why one time field is not cron syntax, or undefined. Names (jan, mon) only alone, as cron(8) takes them. */
function fieldProblem(value: string, f: (typeof FIELDS)[number]): string | undefined {
  const names: readonly string[] = "names" in f ? f.names : [];
  if (names.includes(value.toLowerCase())) return undefined;
  for (const part of value.split(",")) {
    const m = /^(\*|(\d{1,2})(?:-(\d{1,2}))?)(?:\/(\d{1,2}))?$/.exec(part);
    if (!m) return `its ${f.name} field "${value}" is not cron syntax (a number, a range like 1-5, a list like 1,15, * or a step like */10)`;
    for (const n of [m[2], m[3]].filter((x): x is string => x !== undefined).map(Number)) {
      if (n < f.min || n > f.max) return `its ${f.name} field "${value}" has ${n}, outside ${f.min}-${f.max}`;
    }
    if (m[2] !== undefined && m[3] !== undefined && Number(m[3]) < Number(m[2])) return `its ${f.name} field "${value}" has a range that goes backwards`;
    if (m[4] !== undefined && Number(m[4]) === 0) return `its ${f.name} field "${value}" has a step of 0`;
  }
  return undefined;
}

/** Why a schedule is not one cron(8) takes, or undefined. */
export function scheduleProblem(s: string): string | undefined {
  const hint = 'write five fields like "*/15 * * * *" (minute, hour, day of month, month, day of week) or one of ' + CRON_WORDS.join(", ");
  if (/[^\x20-\x7e]/.test(s)) return `contains a line break or a character cron does not read (${hint})`;
  const t = s.trim();
  if (t.startsWith("@")) return (CRON_WORDS as readonly string[]).includes(t) ? undefined : `"${t}" is not one of cron's words (${hint})`;
  const parts = t.split(/\s+/);
  if (parts.length !== 5) return `has ${parts.length} field(s), cron needs 5 (${hint})`;
  for (let i = 0; i < 5; i++) {
    const p = fieldProblem(parts[i] as string, FIELDS[i] as (typeof FIELDS)[number]);
    if (p) return `${p} (${hint})`;
  }
  return undefined;
}

/** Why a command cannot be one crontab line, or undefined. */
export function cronCommandProblem(s: string): string | undefined {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(s)) return "contains a line break or a control character (a job is one line; put a longer script in a file of your home and run that)";
  if (s.trim().length === 0) return "must not be empty (write the command to run)";
  if (s.length > 1000) return `is ${s.length} characters, over the 1000 allowed (put it in a script in your home and run that)`;
  return undefined;
}

export const cronJob = z.strictObject({
  schedule: z.string({ error: 'must be a cron schedule in quotes, like "*/15 * * * *"' }).superRefine((v, ctx) => {
    const p = scheduleProblem(v);
    if (p) ctx.addIssue({ code: "custom", message: p });
  }),
  command: z.string({ error: "must be the command to run, as text" }).superRefine((v, ctx) => {
    const p = cronCommandProblem(v);
    if (p) ctx.addIssue({ code: "custom", message: p });
  }),
  /** What the job is for, shown above it in the crontab. */
  comment: text(200).optional(),
});

export type CronJob = z.infer<typeof cronJob>;
