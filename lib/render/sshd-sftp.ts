import { renderTemplate } from "./handlebars";
import { generatedNotice } from "./notice";
import { sshdToken } from "./sshd-suspended";

/**
 * What sshd reads for a member with `access: sftp`: a drop-in `Match User <handle>` that forces
 * the in-process SFTP server into a chroot of the member's home and refuses everything else
 * (commands, shell, terminal, every kind of forwarding); password login only when the member
 * gave a password hash. The provider's Account writes it into the host's sshd drop-in folder
 * (the inventory's `sshd.dropin_dir`), tests it with `sshd -t`, reloads, and removes it when
 * the member goes back to `access: ssh`. Why one `Match User` per member rather than one
 * `Match Group`: docs/architecture.md, "SFTP-only access".
 */
export interface SftpSshd {
  handle: string;
  /** The drop-in folder sshd includes (Debian: /etc/ssh/sshd_config.d). */
  dropinDir: string;
  /** Whether the member has a password hash: PasswordAuthentication yes for it alone. */
  password: boolean;
}

export function sftpSshdPath(s: Pick<SftpSshd, "handle" | "dropinDir">): string {
  return `${s.dropinDir}/globenet-sftp-${sshdToken(s.handle)}.conf`;
}

export function renderSftpSshd(s: SftpSshd): string {
  return renderTemplate("sshd-sftp.conf", {
    notice: generatedNotice(`members/${s.handle}/member.yaml (access: sftp)`),
    handle: sshdToken(s.handle),
    password: s.password,
  });
}
