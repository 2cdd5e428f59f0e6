import type { Model } from "../model/types";
import { addDatabase, addMailbox, addSite, addSiteAlias, addSshKey, removeMailAlias, removeSiteAlias, resizeVps, setMailboxPassword, suspend } from "../scaffold/edit";
import { describeSize, isSize, SIZES } from "../scaffold/hypervisor";
import { homePathProblem } from "../scaffold/names";
import type { Word } from "./i18n";
import { hashMailPassword, mailPasswordProblem } from "./mail-password";
import { addAlias, RequestRefused, refusedInFrench, type MemberAct, type MemberRequest } from "./requests";

/**
 * What a member can ask in the portal (docs/architecture.md, "Member portal"), one entry per
 * request: its form's fields and what it becomes. A data change becomes a merge request through
 * `openRequest` (the member's file read at the target branch, edited by lib/scaffold/edit.ts,
 * the whole tree validated); an act that changes no data (a VPS restart, a restore) becomes an
 * issue for the volunteers with the exact command (`openIssue`). The server (server.ts) serves
 * every entry the same way: GET /m/<handle>/<slug> shows the form, POST checks the CSRF token,
 * then that every choice posted is one of the member's own objects (403 before anything is
 * read), then builds and sends.
 */

/** The logged-in member's own objects: the only values a form offers or accepts. */
export interface Own {
  handle: string;
  status: string;
  mailDomains: string[];
  /** local@domain of the member's aliases. */
  mailAliases: string[];
  mailboxes: string[];
  sites: string[];
  siteAliases: string[];
  databases: string[];
  vps: string[];
  php: string[];
}

export function ownObjects(model: Model, handle: string): Own {
  const mail = model.mail.filter((d) => d.handle === handle);
  const sites = model.sites.filter((s) => s.handle === handle);
  return {
    handle,
    status: model.members.find((m) => m.handle === handle)?.status ?? "departed",
    mailDomains: mail.map((d) => d.domain),
    mailAliases: mail.flatMap((d) => d.aliases.map((a) => a.address)),
    mailboxes: mail.flatMap((d) => d.mailboxes.map((b) => b.address)),
    sites: sites.map((s) => s.host),
    siteAliases: sites.flatMap((s) => s.aliases),
    databases: model.databases.filter((d) => d.handle === handle).map((d) => d.name),
    vps: model.vps.filter((v) => v.handle === handle).map((v) => v.name),
    php: ["none", ...model.inventory.php_versions],
  };
}

export interface Field {
  name: string;
  label: Word;
  kind: "select" | "text" | "password" | "textarea";
  /** A select's choices, from the member's own objects: a posted value outside them is 403. */
  options?: (own: Own) => string[];
  /** Optional fields may be left empty. */
  optional?: boolean;
}

/** What a request becomes: a change of one file of the member's folder, or an act for the volunteers. */
export type Built = { mr: Omit<MemberRequest, "handle" | "via"> } | { act: Omit<MemberAct, "handle" | "via"> };

export interface RequestType {
  /** /m/<handle>/<slug> */
  slug: string;
  title: Word;
  help: Word;
  fields: Field[];
  /** Whether the dashboard offers it to this member. */
  offered: (own: Own) => boolean;
  build: (v: Record<string, string>, own: Own, model: Model) => Promise<Built> | Built;
}

const splitAddress = (a: string) => ({ local: a.slice(0, a.lastIndexOf("@")), domain: a.slice(a.lastIndexOf("@") + 1) });
const list = (s: string) => s.split(",").map((x) => x.trim()).filter(Boolean);
const active = (own: Own) => {
  if (own.status !== "active") throw new RequestRefused("votre compte est suspendu : écrivez aux bénévoles pour le réactiver d'abord");
};
/** A value inside single quotes for a shell (a quote inside becomes '\''). */
const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
/** An optional date the member gives for a restore: YYYY-MM-DD, not in the future. */
function restoreDate(s: string): string {
  if (!s) return "";
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s) || Number.isNaN(Date.parse(s))) throw new RequestRefused(`« ${s} » n'est pas une date AAAA-MM-JJ (comme 2026-12-01), ou laissez vide pour la plus récente`);
  return s;
}
/** How the volunteer picks the archive, and what --in-place / --replace do, for both restores. */
const ARCHIVE_HINT = "`list` montre les archives : sans date, la plus récente ; avec une date, remplacez ARCHIVE par celle de ce jour (ou la plus proche avant).";
/** Free text of the member on one line (a forged form may hold line breaks), at most `max` characters. */
// eslint-disable-next-line no-control-regex
const oneLine = (s: string, max = 200) => s.replace(/[\u0000-\u001f\u007f]+/g, " ").slice(0, max);
/** The new password's two fields (a `password` field is never echoed back in the form). */
const passwordFields = (label: Word): Field[] => [
  { name: "password", label, kind: "password" },
  { name: "confirm", label: "confirmPassword", kind: "password" },
];
/**
 * The member's new mailbox password, checked (mailPasswordProblem) then hashed by Dovecot: only
 * the hash leaves this function, the password is dropped here.
 */
async function newMailboxHash(v: Record<string, string>, local: string): Promise<string> {
  const problem = mailPasswordProblem(v.password ?? "", v.confirm ?? "", local);
  if (problem) throw new RequestRefused(problem);
  return hashMailPassword(v.password ?? "");
}
const restoreWhen = (date: string) => (date ? `l'état du ${date} (la sauvegarde de ce jour-là, ou la plus proche avant)` : "la sauvegarde la plus récente");

export const REQUEST_TYPES: RequestType[] = [
  {
    slug: "alias",
    title: "askAlias",
    help: "askAliasHelp",
    fields: [
      { name: "domain", label: "domain", kind: "select", options: (o) => o.mailDomains },
      { name: "local", label: "aliasLocal", kind: "text" },
      { name: "to", label: "aliasTo", kind: "text" },
    ],
    offered: (o) => o.mailDomains.length > 0,
    build: (v) => {
      const to = list(v.to ?? "");
      return { mr: { title: `demande l'alias ${v.local}@${v.domain}`, what: `ajouter l'alias ${v.local}@${v.domain} vers ${to.join(", ")}`, change: (t) => addAlias(t, v.domain ?? "", v.local ?? "", to) } };
    },
  },
  {
    slug: "alias-remove",
    title: "askAliasRemove",
    help: "askAliasRemoveHelp",
    fields: [{ name: "alias", label: "alias", kind: "select", options: (o) => o.mailAliases }],
    offered: (o) => o.mailAliases.length > 0,
    build: (v) => {
      const { local, domain } = splitAddress(v.alias ?? "");
      return { mr: { title: `retire l'alias ${v.alias}`, what: `retirer l'alias ${v.alias}`, change: (t) => refusedInFrench(() => removeMailAlias(t, domain, local)) } };
    },
  },
  {
    slug: "mailbox",
    title: "askMailbox",
    help: "askMailboxHelp",
    fields: [
      { name: "domain", label: "domain", kind: "select", options: (o) => o.mailDomains },
      { name: "local", label: "mailboxLocal", kind: "text" },
      ...passwordFields("newPassword"),
    ],
    offered: (o) => o.mailDomains.length > 0,
    build: async (v) => {
      const local = v.local ?? "";
      const hash = await newMailboxHash(v, local);
      return { mr: { title: `demande la boîte ${local}@${v.domain}`, what: `ajouter la boîte ${local}@${v.domain} (mot de passe choisi par l'adhérent, haché par Dovecot : seul le hachage est ici)`, change: (t) => refusedInFrench(() => addMailbox(t, v.domain ?? "", local, hash)) } };
    },
  },
  {
    slug: "mailbox-password",
    title: "askMailboxPassword",
    help: "askMailboxPasswordHelp",
    fields: [{ name: "mailbox", label: "mailbox", kind: "select", options: (o) => o.mailboxes }, ...passwordFields("newMailboxPassword")],
    offered: (o) => o.mailboxes.length > 0,
    build: async (v) => {
      const { local, domain } = splitAddress(v.mailbox ?? "");
      const hash = await newMailboxHash(v, local);
      return {
        mr: {
          title: `change le mot de passe de la boîte ${v.mailbox}`,
          what: `changer le mot de passe de la boîte ${v.mailbox} (nouveau mot de passe choisi par l'adhérent, haché par Dovecot : seul le hachage est ici ; l'ancien marche jusqu'à l'application)`,
          change: (t) => refusedInFrench(() => setMailboxPassword(t, domain, local, hash)),
        },
      };
    },
  },
  {
    slug: "site-alias",
    title: "askSiteAlias",
    help: "askSiteAliasHelp",
    fields: [
      { name: "site", label: "site", kind: "select", options: (o) => o.sites },
      { name: "name", label: "siteAliasName", kind: "text" },
    ],
    offered: (o) => o.sites.length > 0,
    build: (v) => ({ mr: { title: `demande le nom ${v.name} pour ${v.site}`, what: `ajouter le nom ${v.name} au site ${v.site}`, change: (t) => refusedInFrench(() => addSiteAlias(t, v.site ?? "", (v.name ?? "").toLowerCase())) } }),
  },
  {
    slug: "site-alias-remove",
    title: "askSiteAliasRemove",
    help: "askSiteAliasRemoveHelp",
    fields: [{ name: "name", label: "siteAliasName", kind: "select", options: (o) => o.siteAliases }],
    offered: (o) => o.siteAliases.length > 0,
    build: (v, own, model) => {
      const site = model.sites.find((s) => s.handle === own.handle && s.aliases.includes(v.name ?? ""))?.host ?? "";
      return { mr: { title: `retire le nom ${v.name} de ${site}`, what: `retirer le nom ${v.name} du site ${site}`, change: (t) => refusedInFrench(() => removeSiteAlias(t, site, v.name ?? "")) } };
    },
  },
  {
    slug: "site",
    title: "askSite",
    help: "askSiteHelp",
    fields: [
      { name: "host", label: "siteHost", kind: "text" },
      { name: "php", label: "php", kind: "select", options: (o) => o.php },
    ],
    offered: (o) => o.status === "active",
    build: (v, own) => {
      active(own);
      const host = (v.host ?? "").toLowerCase();
      return { mr: { title: `demande le site ${host}`, what: `ajouter le site ${host} (PHP : ${v.php})`, change: (t) => refusedInFrench(() => addSite(t, host, v.php ?? "none")) } };
    },
  },
  {
    slug: "database",
    title: "askDatabase",
    help: "askDatabaseHelp",
    fields: [{ name: "name", label: "dbName", kind: "text" }],
    offered: (o) => o.status === "active",
    build: (v, own) => {
      active(own);
      return { mr: { title: `demande la base ${v.name}`, what: `ajouter la base de données ${v.name}`, change: (t) => refusedInFrench(() => addDatabase(t, v.name ?? "")) } };
    },
  },
  {
    slug: "ssh-key",
    title: "askSshKey",
    help: "askSshKeyHelp",
    fields: [{ name: "key", label: "sshKey", kind: "textarea" }],
    offered: () => true,
    build: (v) => {
      const key = (v.key ?? "").trim();
      const comment = key.split(/\s+/).slice(2).join(" ");
      return { mr: { title: `ajoute une clé SSH${comment ? ` (${comment.slice(0, 40)})` : ""}`, what: "ajouter une clé SSH publique", change: (t) => refusedInFrench(() => addSshKey(t, key)) } };
    },
  },
  {
    slug: "vps-resize",
    title: "askVpsResize",
    help: "askVpsResizeHelp",
    fields: [
      { name: "vps", label: "vpsName", kind: "select", options: (o) => o.vps },
      { name: "size", label: "vpsSize", kind: "select", options: () => Object.keys(SIZES) },
    ],
    offered: (o) => o.vps.length > 0,
    build: (v, own) => {
      const size = v.size ?? "";
      if (!isSize(size)) throw new RequestRefused(`taille inconnue : ${size}`);
      return {
        mr: {
          title: `demande la taille ${size} pour le VPS ${v.vps}`,
          what: `passer le VPS ${v.vps} à la taille ${size} (${describeSize(SIZES[size])}) ; il redémarre à l'application`,
          file: `members/${own.handle}/vps/${v.vps}.yaml`,
          change: (t) => refusedInFrench(() => resizeVps(t, SIZES[size])),
        },
      };
    },
  },
  {
    slug: "vps-restart",
    title: "askVpsRestart",
    help: "askVpsRestartHelp",
    fields: [
      { name: "vps", label: "vpsName", kind: "select", options: (o) => o.vps },
      { name: "reason", label: "reason", kind: "text", optional: true },
    ],
    offered: (o) => o.vps.length > 0,
    build: (v, own, model) => {
      active(own);
      const vps = model.vps.find((x) => x.handle === own.handle && x.name === v.vps);
      if (!vps) throw new RequestRefused(`pas de VPS ${v.vps}`);
      const hv = model.hosts.find((h) => h.name === vps.hypervisor)?.fqdn ?? vps.hypervisor;
      return {
        act: {
          title: `redémarrer le VPS ${vps.name}`,
          what: `redémarrer le VPS ${vps.name}${v.reason ? ` (« ${oneLine(v.reason)} »)` : ""}`,
          before: "le VPS répond-il vraiment mal (npm run status) ? `virsh reboot` demande un arrêt propre au système du VPS ; s'il ne répond plus du tout, `virsh reset` à la place (comme couper le courant).",
          commands: [`ssh root@${hv} virsh reboot ${vps.domain}`],
        },
      };
    },
  },
  {
    slug: "restore-file",
    title: "askRestoreFile",
    help: "askRestoreFileHelp",
    fields: [
      { name: "path", label: "restorePath", kind: "text" },
      { name: "date", label: "restoreDate", kind: "text", optional: true },
    ],
    offered: () => true,
    build: (v, own) => {
      const path = (v.path ?? "").trim().replace(/^~\/|^\/+/, "");
      const problem = homePathProblem(path);
      if (problem) throw new RequestRefused(`« ${path} » n'est pas un chemin dans votre dossier (comme sites/${own.sites[0] ?? "mon-site.example"}/htdocs/index.php)`);
      const date = restoreDate(v.date ?? "");
      return {
        act: {
          title: `restaurer ${path.slice(0, 80)}`,
          what: `restaurer ${path} de son dossier, ${restoreWhen(date)}`,
          before: `${ARCHIVE_HINT} Avec \`--in-place\`, la copie remplace le fichier actuel (c'est la demande) ; sans, elle va dans le dossier de root du serveur de sauvegarde.`,
          commands: [`npm run backup -- list ${own.handle}`, `npm run backup -- restore ${own.handle} ${shq(path)}${date ? " --at ARCHIVE" : ""} --in-place`],
        },
      };
    },
  },
  {
    slug: "restore-db",
    title: "askRestoreDb",
    help: "askRestoreDbHelp",
    fields: [
      { name: "database", label: "dbName", kind: "select", options: (o) => o.databases },
      { name: "date", label: "restoreDate", kind: "text", optional: true },
    ],
    offered: (o) => o.databases.length > 0,
    build: (v, own) => {
      const date = restoreDate(v.date ?? "");
      return {
        act: {
          title: `restaurer la base ${v.database}`,
          what: `restaurer la base ${v.database}, ${restoreWhen(date)}`,
          before: `${ARCHIVE_HINT} \`--replace\` remplace la base actuelle (ce qu'elle contenait est gardé à côté, le message dit où).`,
          commands: [`npm run backup -- list ${own.handle}`, `npm run backup -- restore-db ${v.database ?? ""}${date ? " --at ARCHIVE" : ""} --replace`],
        },
      };
    },
  },
  {
    slug: "suspend",
    title: "askSuspend",
    help: "askSuspendHelp",
    fields: [{ name: "reason", label: "reason", kind: "text" }],
    offered: (o) => o.status === "active",
    build: (v) => {
      const reason = (v.reason ?? "").trim();
      if (!reason) throw new RequestRefused("dites en quelques mots pourquoi (les bénévoles le notent dans votre fiche)");
      return { mr: { title: "demande la suspension de son compte", what: "suspendre son propre compte", change: (t) => refusedInFrench(() => suspend(t, `Suspendu à sa demande (espace adhérent) : ${reason}`)) } };
    },
  },
];

export const requestType = (slug: string) => REQUEST_TYPES.find((t) => t.slug === slug);
