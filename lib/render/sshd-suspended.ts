import { UnsafeValueError } from "./escape";
import { renderTemplate } from "./handlebars";
import { generatedNotice } from "./notice";

/**
 * What sshd reads for a suspended member: a drop-in (`Match User <handle>` with `DenyUsers *`
 * and a `Banner`) and the banner itself, in French and English. The provider's Account writes
 * both into the host's sshd drop-in folder (the inventory's `sshd.dropin_dir`) and removes them
 * on reactivation. Why a banner and `DenyUsers` rather than a ForceCommand: docs/architecture.md,
 * "Suspension".
 */
export interface SuspendedSshd {
  handle: string;
  /** The drop-in folder sshd includes (Debian: /etc/ssh/sshd_config.d). */
  dropinDir: string;
  /** Whom the member writes to (the inventory's hostmaster). */
  contact: string;
}

/** A token of sshd_config: it has no escape for quotes or spaces, so only plain characters pass. */
export function sshdToken(s: string): string {
  if (!/^[A-Za-z0-9._\/-]+$/.test(s)) throw new UnsafeValueError("sshd_config", s, "only letters, digits, '.', '_', '-' and '/' can stand in an sshd_config token here");
  return s;
}

/** One line of banner text: sshd sends it as is, so no control characters. */
function bannerText(s: string): string {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(s) || s.length > 200) throw new UnsafeValueError("the sshd banner", s, "a line break or control character would change the message");
  return s;
}

export function suspendedSshdPaths(s: Pick<SuspendedSshd, "handle" | "dropinDir">): { conf: string; banner: string } {
  const base = `${s.dropinDir}/globenet-suspended-${sshdToken(s.handle)}`;
  // Debian's sshd_config includes sshd_config.d/*.conf: the banner's .txt is not read as config.
  return { conf: `${base}.conf`, banner: `${base}.txt` };
}

export function renderSuspendedSshd(s: SuspendedSshd): { conf: string; banner: string } {
  const paths = suspendedSshdPaths(s);
  return {
    conf: renderTemplate("sshd-suspended.conf", {
      notice: generatedNotice(`members/${s.handle}/member.yaml (status: suspended)`),
      handle: sshdToken(s.handle),
      banner: sshdToken(paths.banner),
    }),
    banner: renderTemplate("sshd-suspended-banner.txt", { handle: bannerText(s.handle), contact: bannerText(s.contact) }),
  };
}
