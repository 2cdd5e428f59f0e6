import { fpmPools, type HostModel, type Model } from "./types";

/**
 * The daemons each host must keep running, derived from its roles in the inventory
 * (docs/architecture.md, "Monitoring", the daemons' processes): the process check of the
 * node-exporter set (lib/render/monitoring-daemons.ts) looks for each one's process by its name
 * (the kernel's comm, 15 characters at most, as `ps -o comm` shows it) and the user it runs as
 * under Debian's unit, so a member's process given the same name does not count.
 */
export interface ExpectedDaemon {
  /** What the alert says: the Debian service's usual name (apache2, php8.2-fpm, named…). */
  daemon: string;
  /** The process name, as /proc/<pid>/comm has it (truncated by the kernel to 15 characters). */
  comm: string;
  /** The user the (main) process runs as under Debian's unit. */
  user: string;
}

/** The kernel keeps the first 15 characters of a program's name (TASK_COMM_LEN 16, with the NUL). */
export const commOf = (program: string): string => program.slice(0, 15);

const d = (daemon: string, program: string, user: string): ExpectedDaemon => ({ daemon, comm: commOf(program), user });

/** Every host: the apply and the volunteers reach it over SSH. */
const EVERY_HOST: ExpectedDaemon[] = [d("ssh", "sshd", "root")];

/** Per role, Debian's daemons and the users their units run them as. */
const BY_ROLE: Record<HostModel["roles"][number], ExpectedDaemon[]> = {
  web: [d("apache2", "apache2", "root")],
  db: [d("mariadb", "mariadbd", "mysql")],
  "dns-primary": [d("named", "named", "bind")],
  "dns-secondary": [d("named", "named", "bind")],
  hypervisor: [d("libvirtd", "libvirtd", "root")],
  // The backup host receives the archives over SSH (borg serve, started per connection): sshd.
  backup: [],
  monitor: [
    d("prometheus", "prometheus", "prometheus"),
    d("prometheus-alertmanager", "prometheus-alertmanager", "prometheus"),
    d("prometheus-blackbox-exporter", "prometheus-blackbox-exporter", "prometheus"),
  ],
  // Postfix's master (the queue manager and smtpd are its children), Dovecot, OpenDKIM.
  mail: [d("postfix", "master", "root"), d("dovecot", "dovecot", "root"), d("opendkim", "opendkim", "opendkim")],
};

/** The daemons of one host: every host's, its roles', and one PHP-FPM master per PHP version its sites use. */
export function expectedDaemons(model: Model, host: Pick<HostModel, "name" | "roles">): ExpectedDaemon[] {
  const out = [...EVERY_HOST, ...host.roles.flatMap((r) => BY_ROLE[r])];
  if (host.roles.includes("web")) {
    const versions = [...new Set(fpmPools(model).filter((p) => p.webHost === host.name).map((p) => p.phpVersion))].sort();
    for (const v of versions) out.push(d(`php${v}-fpm`, `php-fpm${v}`, "root"));
  }
  const seen = new Set<string>();
  return out.filter((x) => !seen.has(x.daemon) && !!seen.add(x.daemon));
}
