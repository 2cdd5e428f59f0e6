import type { LoadedMember } from "../load/tree";
import type { Role } from "../schema/inventory";
import { invPath, type Ctx } from "./context";

/** Hosts of the inventory that carry a role, sorted by name. */
export function hostsWithRole(ctx: Ctx, role: Role): string[] {
  return Object.entries(ctx.inventory.value.hosts)
    .filter(([, h]) => h.roles.includes(role))
    .map(([n]) => n)
    .sort();
}

/**
 * The host a member's sites (role web) or databases (role db) live on: the one named in the
 * member file, else the only host with that role.
 */
export function memberHost(ctx: Ctx, m: LoadedMember, role: "web" | "db"): string | undefined {
  const field = role === "web" ? "web_host" : "db_host";
  const named = m.value[field];
  const candidates = hostsWithRole(ctx, role);
  if (named) {
    const host = ctx.inventory.value.hosts[named];
    if (!host) {
      ctx.report.at(m.src, [field], { en: `unknown host "${named}" (hosts with the ${role} role: ${candidates.join(", ") || "none"})`, fr: `hôte « ${named} » inconnu (hôtes ayant le rôle ${role} : ${candidates.join(", ") || "aucun"})` });
      return undefined;
    }
    if (!host.roles.includes(role)) {
      ctx.report.at(m.src, [field], { en: `host "${named}" does not have the ${role} role (use one of: ${candidates.join(", ") || "none"})`, fr: `l'hôte « ${named} » n'a pas le rôle ${role} (utilisez l'un de : ${candidates.join(", ") || "aucun"})` });
      return undefined;
    }
    return named;
  }
  if (candidates.length === 1) return candidates[0];
  const what = role === "web" ? "sites" : "databases";
  if (candidates.length === 0) {
    ctx.report.at(m.src, [what], { en: `the stack has no host with the ${role} role (add one to Pulumi.${ctx.tree.stack}.yaml, or remove the ${what})`, fr: `la pile n'a aucun hôte ayant le rôle ${role} (ajoutez-en un dans Pulumi.${ctx.tree.stack}.yaml, ou retirez les ${what === "sites" ? "sites" : "bases de données"})` });
  } else {
    ctx.report.at(m.src, [what], { en: `the stack has several ${role} hosts (${candidates.join(", ")}): say which with ${field}: <host>`, fr: `la pile a plusieurs hôtes ${role} (${candidates.join(", ")}) : indiquez lequel avec ${field}: <hôte>` });
  }
  return undefined;
}

/** DNS service needs exactly one primary; secondaries are optional. */
export function checkDnsHosts(ctx: Ctx): { primary?: string; secondaries: string[] } {
  const primaries = hostsWithRole(ctx, "dns-primary");
  const secondaries = hostsWithRole(ctx, "dns-secondary");
  const zonesExist = ctx.tree.zones.size > 0;
  if (zonesExist && primaries.length !== 1) {
    ctx.report.at(ctx.inventory.src, invPath(ctx, "hosts"), { en: `needs exactly one host with the dns-primary role, found ${primaries.length} (${primaries.join(", ") || "none"}) (give the role to one host)`, fr: `il faut exactement un hôte ayant le rôle dns-primary, il y en a ${primaries.length} (${primaries.join(", ") || "aucun"}) (donnez ce rôle à un seul hôte)` });
  }
  for (const s of secondaries) {
    if (primaries.includes(s)) ctx.report.at(ctx.inventory.src, invPath(ctx, "hosts", s, "roles"), { en: "a host cannot be both dns-primary and dns-secondary (keep one role)", fr: "un hôte ne peut pas être à la fois dns-primary et dns-secondary (gardez un seul rôle)" });
    // A secondary copies the zones from the primary: without one it would serve nothing.
    else if (primaries.length === 0) ctx.report.at(ctx.inventory.src, invPath(ctx, "hosts", s, "roles"), { en: "a dns-secondary needs a host with the dns-primary role to transfer the zones from (give that role to one host, or remove dns-secondary)", fr: "un dns-secondary a besoin d'un hôte ayant le rôle dns-primary d'où transférer les zones (donnez ce rôle à un hôte, ou retirez dns-secondary)" });
  }
  // Host names and SSH users must not collide with member handles (unix users on the same machines).
  const sshUsers = new Set(Object.values(ctx.inventory.value.hosts).map((h) => h.ssh.user));
  for (const m of ctx.tree.members.values()) {
    if (sshUsers.has(m.value.handle)) ctx.report.at(m.src, ["handle"], { en: `"${m.value.handle}" is the SSH user the deployment uses on our hosts (choose another handle)`, fr: `« ${m.value.handle} » est l'utilisateur SSH du déploiement sur nos hôtes (choisissez un autre identifiant)` });
  }
  const fqdns = new Map<string, string>();
  for (const [name, h] of Object.entries(ctx.inventory.value.hosts).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const prev = fqdns.get(h.fqdn);
    if (prev) ctx.report.at(ctx.inventory.src, invPath(ctx, "hosts", name, "fqdn"), { en: `"${h.fqdn}" is already the fqdn of host ${prev} (each host has its own name)`, fr: `« ${h.fqdn} » est déjà le fqdn de l'hôte ${prev} (chaque hôte a son propre nom)` });
    else fqdns.set(h.fqdn, name);
  }
  return { primary: primaries.length === 1 ? primaries[0] : undefined, secondaries };
}

/**
 * Backups: at most one host with the backup role, holding no other role (a backup kept on a
 * host it protects dies with it), and the inventory's backup section when there is one. A
 * backup host on a loopback address shares the machine with the others: the lab only. The
 * state backups' host (backup.state.host) is an inventory host other than the backup host.
 */
export function checkBackupHost(ctx: Ctx): void {
  const inv = ctx.inventory.value;
  const backups = hostsWithRole(ctx, "backup");
  if (backups.length > 1) {
    ctx.report.at(ctx.inventory.src, invPath(ctx, "hosts", backups[1] as string, "roles"), { en: `only one host may have the backup role, found ${backups.join(", ")} (keep it on one)`, fr: `un seul hôte peut avoir le rôle backup, il y en a ${backups.length} (${backups.join(", ")}) (gardez-le sur un seul)` });
  }
  for (const name of backups) {
    const h = inv.hosts[name];
    if (!h) continue;
    const others = h.roles.filter((r) => r !== "backup");
    if (others.length > 0) {
      ctx.report.at(ctx.inventory.src, invPath(ctx, "hosts", name, "roles"), { en: `the backup host must not also be ${others.join(", ")}: a backup kept on a host it protects is lost with it (give the backup role to another machine)`, fr: `l'hôte de sauvegarde ne doit pas être aussi ${others.join(", ")} : une sauvegarde gardée sur l'hôte qu'elle protège disparaît avec lui (donnez le rôle backup à une autre machine)` });
    }
    const loopback = h.address === "::1" || h.address.startsWith("127.");
    const sharing = Object.entries(inv.hosts).filter(([n, o]) => n !== name && o.address === h.address);
    if (!loopback && sharing.length > 0) {
      ctx.report.at(ctx.inventory.src, invPath(ctx, "hosts", name, "address"), { en: `${h.address} is also the address of ${sharing.map(([n]) => n).join(", ")}: the backup host must be another machine (only the lab shares 127.0.0.1)`, fr: `${h.address} est aussi l'adresse de ${sharing.map(([n]) => n).join(", ")} : l'hôte de sauvegarde doit être une autre machine (seul le lab partage 127.0.0.1)` });
    }
  }
  if (backups.length > 0 && !inv.backup) {
    ctx.report.at(ctx.inventory.src, invPath(ctx, "hosts", backups[0] as string, "roles"), { en: "a host has the backup role but the inventory has no backup: section (add backup: {} for the defaults: 02:30, 7 daily, 4 weekly, 12 monthly)", fr: "un hôte a le rôle backup mais l'inventaire n'a pas de section backup: (ajoutez backup: {} pour les valeurs par défaut : 02:30, 7 quotidiennes, 4 hebdomadaires, 12 mensuelles)" });
  }
  if (backups.length === 0 && inv.backup) {
    ctx.report.at(ctx.inventory.src, invPath(ctx, "backup"), { en: "backup: is set but no host has the backup role (add the role to the backup machine, or remove the section)", fr: "backup: est présent mais aucun hôte n'a le rôle backup (ajoutez ce rôle à la machine de sauvegarde, ou retirez la section)" });
  }
  // CI's state backups are sent by the host the protected runner writes them on.
  const state = inv.backup?.state;
  if (state) {
    const known = Object.keys(inv.hosts).filter((n) => !backups.includes(n)).sort();
    if (!inv.hosts[state.host]) {
      ctx.report.at(ctx.inventory.src, invPath(ctx, "backup", "state", "host"), { en: `unknown host "${state.host}" (the inventory host the protected CI runner writes the state backups on: ${known.join(", ")})`, fr: `hôte « ${state.host} » inconnu (l'hôte de l'inventaire où le runner CI protégé écrit les sauvegardes de l'état : ${known.join(", ")})` });
    } else if (backups.includes(state.host)) {
      ctx.report.at(ctx.inventory.src, invPath(ctx, "backup", "state", "host"), { en: `"${state.host}" is the backup host: the state backups must be sent from another machine, or they are lost with it (name the host the protected CI runner writes on: ${known.join(", ")})`, fr: `« ${state.host} » est l'hôte de sauvegarde : les sauvegardes de l'état doivent partir d'une autre machine, sinon elles disparaissent avec lui (indiquez l'hôte où écrit le runner CI protégé : ${known.join(", ")})` });
    }
  }
}

/** At most one host watches the others (one Prometheus, one Alertmanager: alerts are not sent twice). */
export function checkMonitorHost(ctx: Ctx): void {
  const monitors = hostsWithRole(ctx, "monitor");
  if (monitors.length > 1) {
    ctx.report.at(ctx.inventory.src, invPath(ctx, "hosts", monitors[1] as string, "roles"), {
      en: `only one host may have the monitor role, found ${monitors.join(", ")} (keep it on one: two would send every alert twice)`,
      fr: `un seul hôte peut avoir le rôle monitor, il y en a ${monitors.length} (${monitors.join(", ")}) (gardez-le sur un seul : deux enverraient chaque alerte deux fois)`,
    });
  }
  // Alertmanager's mail goes through the mail host, or a smarthost named when there is none.
  const mail = ctx.inventory.value.monitoring.mail;
  if (mail && !mail.smarthost && hostsWithRole(ctx, "mail").length === 0) {
    ctx.report.at(ctx.inventory.src, invPath(ctx, "monitoring", "mail"), {
      en: 'no host has the mail role to send the alerts\' mail through: add smarthost: "<host>:<port>" (a server that relays for the monitor host), or remove mail:',
      fr: 'aucun hôte n\'a le rôle mail pour envoyer les alertes par courriel : ajoutez smarthost: "<hôte>:<port>" (un serveur qui relaie pour l\'hôte de supervision), ou retirez mail:',
    });
  }
}

/** The member portal runs on a web host of the inventory (its Apache proxies to it). */
export function checkPortalHost(ctx: Ctx): void {
  const portal = ctx.inventory.value.portal;
  if (!portal) return;
  const webs = hostsWithRole(ctx, "web");
  if (!webs.includes(portal.host)) {
    ctx.report.at(ctx.inventory.src, invPath(ctx, "portal", "host"), {
      en: `"${portal.host}" is not a host with the web role (the portal runs behind a web host's Apache: ${webs.join(", ") || "no web host in the inventory"})`,
      fr: `« ${portal.host} » n'est pas un hôte avec le rôle web (l'espace adhérent tourne derrière l'Apache d'un hôte web : ${webs.join(", ") || "aucun hôte web dans l'inventaire"})`,
    });
  }
}

/** A lab hypervisor's guests' SSH is forwarded on 127.0.0.1 or on the hypervisor's own IPv4 address (where the monitor host can probe it), nowhere else. */
export function checkSshForwardAddresses(ctx: Ctx): void {
  for (const [name, h] of Object.entries(ctx.inventory.value.hosts)) {
    const net = h.libvirt?.network;
    if (net?.type !== "user" || ["127.0.0.1", h.address, h.ipv4].includes(net.ssh_forward_address)) continue;
    const own = h.ipv4 ?? h.address;
    ctx.report.at(ctx.inventory.src, invPath(ctx, "hosts", name, "libvirt", "network", "ssh_forward_address"), {
      en: `must be 127.0.0.1 or this hypervisor's own IPv4 address (${own}): QEMU listens there for the guests' SSH`,
      fr: `doit être 127.0.0.1 ou l'adresse IPv4 de cet hyperviseur (${own}) : QEMU y écoute pour le SSH des invités`,
    });
  }
}
