import { RESOURCE_TOKENS } from "../base/tokens";
import type { Bilingual, Lang } from "../i18n/lang";
import { mpmModulesOff, mpmSwitchNeeded } from "../../provider/resources/apache-mpm";
import type { Plan, PlanStep } from "./plan";

/**
 * An MPM switch is never a surprise. Globenet's wiring runs members' sites under mpm-itk; on a
 * web host still on mpm_event or mpm_worker (seen by the adoption's read or a refresh: the
 * apache2 file set's `mpm` output, provider/resources/apache-mpm.ts) the apply switches the
 * MPM, which Apache takes only with a full restart: a second or so of refused connections,
 * where every other change is a graceful reload. The preview says so, naming the host and the
 * runbook's command for a quiet hour; the guard refuses the apply unless a commit being applied
 * says `Allow-Restart: <host>` (or `--allow restart/<host>` by hand).
 */

export interface MpmSwitch {
  host: string;
  /** The MPM modules the host has enabled now ("mpm_event"). */
  from: string;
  /** The allowance that lets the apply restart Apache there (`restart/<host>`). */
  allowance: string;
  /** The one command of the runbook that switches it by hand (Debian, systemd). */
  command: string;
  allowedBy?: string;
}

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

function hostOf(s: PlanStep): string {
  const t = (s.new?.target ?? s.old?.target ?? s.oldOutputs?.target) as Record<string, unknown> | undefined;
  return str(t?.name) ?? s.name;
}

/** The command that switches `host` to mpm-itk by hand, as the runbook gives it. */
export function mpmSwitchCommand(host: string, from: string): string {
  const off = mpmModulesOff(from);
  return `ssh root@${host} '${off.length ? `a2dismod -q ${off.join(" ")} && ` : ""}a2enmod -q mpm_itk && systemctl restart apache2'`;
}

/** The apache2 file sets the plan applies on a host whose MPM the apply would switch. */
export function mpmSwitches(plan: Plan, allowances: readonly string[] = []): MpmSwitch[] {
  const out: MpmSwitch[] = [];
  for (const s of plan.steps) {
    if (s.type !== RESOURCE_TOKENS.fileSet || (s.new?.kind ?? s.old?.kind) !== "apache2") continue;
    // An import's own step carries no old outputs; its update does (the read's), as a refresh's.
    if (s.op !== "update" && s.op !== "import") continue;
    const from = str(s.oldOutputs?.mpm);
    if (from === undefined || !mpmSwitchNeeded(from)) continue;
    const host = hostOf(s);
    if (out.some((m) => m.host === host)) continue;
    const allowance = `restart/${host}`;
    out.push({ host, from, allowance, command: mpmSwitchCommand(host, from), ...(allowances.includes(allowance) ? { allowedBy: allowance } : {}) });
  }
  return out;
}

/** One switch in words: the host, what runs, why it matters, what to do. */
export function mpmMessage(m: MpmSwitch): Bilingual {
  return {
    en: `${m.host}: Apache runs ${m.from} there; Globenet's sites need mpm-itk, and Apache changes its MPM only with a full restart (a second or so of refused connections), not a graceful reload. Switch it at a quiet hour, as the runbook says: ${m.command}, then preview again; or let this apply restart Apache: Allow-Restart: ${m.host} in a commit message (or --allow ${m.allowance}).`,
    fr: `${m.host} : Apache y tourne en ${m.from} ; les sites de Globenet ont besoin de mpm-itk, et Apache ne change de MPM qu'en redémarrant complètement (une seconde environ de connexions refusées), pas par un rechargement en douceur. Basculez-le à une heure calme, comme le dit le guide : ${m.command}, puis refaites la prévisualisation ; ou laissez cette application redémarrer Apache : Allow-Restart: ${m.host} dans un message de commit (ou --allow ${m.allowance}).`,
  };
}

/** The switches in words, one line each (empty when there is none). */
export function formatMpmSwitches(list: readonly MpmSwitch[], lang: Lang = "en"): string {
  const fr = lang === "fr";
  return list
    .map((m) => {
      const state = m.allowedBy ? (fr ? "autorisé" : "allowed") : fr ? "BLOQUÉ" : "BLOCKED";
      return fr ? `  MPM d'Apache ${state} : ${mpmMessage(m).fr}` : `  Apache MPM ${state}: ${mpmMessage(m).en}`;
    })
    .join("\n");
}
