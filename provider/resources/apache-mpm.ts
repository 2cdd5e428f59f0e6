/**
 * Apache's MPM on a web host (pure). Globenet's wiring (provider/scripts/file-set/file-set.sh,
 * APACHE_MPM) runs members' sites under mpm-itk, which works with prefork only: a host whose
 * enabled MPM modules are anything else gets them switched by the apache2 file set's apply,
 * and Apache takes a new MPM only with a full restart (a second or so of refused connections),
 * never with a graceful reload. The set's outputs keep the MPM modules the host had when last
 * read (`mpm`), so a preview can say so before the apply (lib/guard/mpm.ts).
 */

/** The MPM modules enabled once the wiring is in place, as file-set.sh's apache_mpms prints them. */
export const WIRED_MPM = "mpm_itk mpm_prefork";

/** The enabled MPM modules of a line like apache_mpms's ("mpm_event "), sorted, one space apart. */
export function normaliseMpm(line: string): string {
  return [...new Set(line.split(/\s+/).filter((m) => /^mpm_[a-z0-9_]+$/.test(m)))].sort().join(" ");
}

/** Whether the wiring would switch the MPM of a host whose enabled MPM modules are `live` (undefined: not known). */
export function mpmSwitchNeeded(live: string | undefined): boolean {
  return live !== undefined && normaliseMpm(live) !== WIRED_MPM;
}

/** The MPM modules the wiring turns off on a host with `live` enabled (for the runbook's command). */
export function mpmModulesOff(live: string): string[] {
  return normaliseMpm(live)
    .split(" ")
    .filter((m) => m && m !== "mpm_itk" && m !== "mpm_prefork");
}
