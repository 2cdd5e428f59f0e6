import { renderTemplate } from "./handlebars";
import { UnsafeValueError } from "./escape";

/**
 * The oneshot service and timer of a periodic check that writes a textfile for the node
 * exporter (the daemons' check, the RRSIG check): the same hardening and the same timer shape
 * for each, from one pair of templates (check.service.hbs, check.timer.hbs).
 */
export interface CheckUnit {
  /** The file set that carries the units (named in their header). */
  set: string;
  /** The unit's name without suffix: the timer runs `<unit>.service`. */
  unit: string;
  /** What the check is, for the header comment and the timer's description. */
  what: string;
  /** The service's description. */
  description: string;
  /** The renderer that owns the check, named in the header. */
  source: string;
  /** The script and its arguments: paths of the set, no spaces. */
  command: readonly string[];
  /** What the service may write. */
  writes: string;
  /** Whether the check talks to other hosts (otherwise it runs without a network). */
  network: boolean;
  /** How often the timer runs it, in minutes. */
  everyMin: number;
  /** The timer's AccuracySec, when a minute's default is too coarse. */
  accuracy?: string;
}

// A unit file's values end at the line's end and split ExecStart's words at spaces: names and paths only.
const SAFE = /^[A-Za-z0-9._/@:-]+$/;

function checked(c: CheckUnit): CheckUnit {
  for (const v of [c.set, c.unit, c.writes, ...c.command, ...(c.accuracy ? [c.accuracy] : [])]) {
    if (!SAFE.test(v)) throw new UnsafeValueError(`the ${c.unit} unit`, v, "a unit name, a path or a duration");
  }
  for (const v of [c.what, c.description, c.source]) {
    if (/[\r\n%$\\]/.test(v)) throw new UnsafeValueError(`the ${c.unit} unit`, v, "a one-line text without %, $ or \\");
  }
  if (!Number.isInteger(c.everyMin) || c.everyMin < 1) throw new UnsafeValueError(`the ${c.unit} unit`, String(c.everyMin), "a whole number of minutes");
  return c;
}

export function renderCheckService(c: CheckUnit): string {
  const u = checked(c);
  return renderTemplate("check.service", { ...u, execStart: u.command.join(" ") });
}

export function renderCheckTimer(c: CheckUnit): string {
  const u = checked(c);
  return renderTemplate("check.timer", {
    ...u,
    every: u.everyMin === 1 ? "minute" : `${u.everyMin} minutes`,
    accuracy: u.accuracy ?? "",
  });
}
