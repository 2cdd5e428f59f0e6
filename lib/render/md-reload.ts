/**
 * How a renewed certificate goes live without an apply. mod_md renews by itself but activates a
 * new certificate only at a reload, and asks for one through MDMessageCmd (md-event.sh), which
 * it runs as the web server's user inside a child of Apache. Under mpm-itk that child carries a
 * seccomp filter that refuses every switch to root, so sudo cannot work there (measured:
 * "sudo: PERM_ROOT: setresuid(0, -1, -1): Operation not permitted"), and www-data cannot signal
 * Apache's root parent. So md-event.sh only leaves a request, MD_RELOAD_FLAG, in Apache's lock
 * directory (www-data's; members cannot write there), and root answers it: on a host run by
 * systemd, the path unit below (installed by the apache2 file set's wiring); in the lab, which
 * has no systemd, the lab's own stand-in (lib/lab/daemons.ts, "md-reload").
 */

/** The request md-event.sh leaves for a graceful reload. */
export const MD_RELOAD_FLAG = "/var/lock/apache2/globenet-md-reload";

/** The systemd units' name (globenet-md-reload.path and .service). */
export const MD_RELOAD_UNIT = "globenet-md-reload";

/**
 * Only a running Apache is reloaded: \`apache2ctl graceful\` starts a stopped Apache, so a request
 * left just before a volunteer stopped it would start it again behind their back (and outside
 * systemd; the lab saw the same race: a stopped Apache back, holding the port its own start
 * wanted). systemd's try-reload-or-restart does nothing for a stopped unit; the lab signals the
 * recorded PID (SIGUSR1 is what \`-k graceful\` sends) after the same configuration test.
 */
/** Seconds to wait after a request, so a burst of renewals (a new host gets them all at once) makes one reload. */
export const MD_RELOAD_DELAY_SEC = 5;

export const MD_RELOAD_PATH_UNIT = `# Managed by globenet-infra (FileSet apache2): see lib/render/md-reload.ts.
[Unit]
Description=globenet-infra: mod_md asks for a graceful reload (a renewed certificate waits)

[Path]
PathExists=${MD_RELOAD_FLAG}
Unit=${MD_RELOAD_UNIT}.service

[Install]
WantedBy=multi-user.target
`;

export const MD_RELOAD_SERVICE_UNIT = `# Managed by globenet-infra (FileSet apache2): see lib/render/md-reload.ts.
[Unit]
Description=globenet-infra: put the certificates mod_md renewed live (graceful reload of a running Apache)
After=apache2.service

[Service]
Type=oneshot
ExecStartPre=/bin/sleep ${MD_RELOAD_DELAY_SEC}
ExecStart=/bin/rm -f -- ${MD_RELOAD_FLAG}
ExecStart=/bin/systemctl try-reload-or-restart apache2.service
`;
