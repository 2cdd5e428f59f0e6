import type { Lang } from "../i18n/lang";

/**
 * The portal's words, French first (members read French; English on request). The language
 * is the `lang` cookie a member set with the switch (a plain link, no JavaScript), else the
 * first of French or English in Accept-Language, else French.
 */
export function pickLang(cookie: string | undefined, acceptLanguage: string | undefined): Lang {
  if (cookie === "fr" || cookie === "en") return cookie;
  const ranked = (acceptLanguage ?? "")
    .split(",")
    .map((part, i) => {
      const [tag, ...params] = part.trim().toLowerCase().split(";");
      const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)?.[1]).find((x) => x !== undefined);
      return { tag: tag ?? "", q: q === undefined ? 1 : Number(q), i };
    })
    .filter((x) => x.q > 0)
    .sort((a, b) => b.q - a.q || a.i - b.i);
  for (const r of ranked) {
    if (r.tag === "fr" || r.tag.startsWith("fr-")) return "fr";
    if (r.tag === "en" || r.tag.startsWith("en-")) return "en";
  }
  return "fr";
}

const WORDS = {
  title: { fr: "Espace adhérent Globenet", en: "Globenet member space" },
  login: { fr: "Connexion", en: "Log in" },
  handle: { fr: "Identifiant (nom du compte) ou adresse d'une de vos boîtes", en: "Account name or one of your mailbox addresses" },
  password: { fr: "Mot de passe", en: "Password" },
  submit: { fr: "Se connecter", en: "Log in" },
  logout: { fr: "Se déconnecter", en: "Log out" },
  wrong: { fr: "Identifiant ou mot de passe incorrect.", en: "Wrong account name or password." },
  locked: { fr: "Trop d'essais : ce compte est bloqué pendant {min} minutes. Réessayez plus tard, ou écrivez aux bénévoles.", en: "Too many attempts: this account is locked for {min} minutes. Try again later, or write to the volunteers." },
  forbidden: { fr: "Cette page n'est pas la vôtre.", en: "This page is not yours." },
  notFound: { fr: "Page introuvable.", en: "Page not found." },
  badForm: { fr: "Formulaire expiré ou falsifié : rechargez la page et recommencez.", en: "Form expired or forged: reload the page and try again." },
  tooMany: { fr: "Trop de requêtes : attendez une minute.", en: "Too many requests: wait a minute." },
  welcome: { fr: "Bonjour", en: "Hello" },
  status: { fr: "État du compte", en: "Account status" },
  active: { fr: "actif", en: "active" },
  suspended: { fr: "suspendu", en: "suspended" },
  departed: { fr: "parti", en: "departed" },
  contact: { fr: "Contact", en: "Contact" },
  access: { fr: "Accès", en: "Access" },
  webHost: { fr: "Serveur web", en: "Web host" },
  diskQuota: { fr: "Quota disque", en: "Disk quota" },
  diskUsed: { fr: "Espace utilisé", en: "Disk used" },
  notEnforced: { fr: "(non appliqué)", en: "(not enforced)" },
  sites: { fr: "Sites", en: "Sites" },
  site: { fr: "Site", en: "Site" },
  aliases: { fr: "Autres noms", en: "Aliases" },
  redirects: { fr: "Redirections", en: "Redirects" },
  php: { fr: "PHP", en: "PHP" },
  certificate: { fr: "Certificat", en: "Certificate" },
  certUntil: { fr: "valable jusqu'au {date} ({days} jours)", en: "valid until {date} ({days} days)" },
  certNotRead: { fr: "non lu", en: "not read" },
  noTls: { fr: "sans HTTPS", en: "no HTTPS" },
  databases: { fr: "Bases de données", en: "Databases" },
  dbName: { fr: "Nom", en: "Name" },
  dbHost: { fr: "Serveur", en: "Host" },
  dbCredentials: { fr: "Identifiants (fichier dans votre dossier)", en: "Credentials (file in your home)" },
  size: { fr: "Taille", en: "Size" },
  mail: { fr: "Courriel", en: "Mail" },
  mailbox: { fr: "Boîte", en: "Mailbox" },
  quota: { fr: "Quota", en: "Quota" },
  used: { fr: "Utilisé", en: "Used" },
  alias: { fr: "Alias", en: "Alias" },
  to: { fr: "Vers", en: "To" },
  vps: { fr: "Serveurs virtuels (VPS)", en: "Virtual servers (VPS)" },
  vpsName: { fr: "Nom", en: "Name" },
  resources: { fr: "Ressources", en: "Resources" },
  addresses: { fr: "Adresses", en: "Addresses" },
  howLogin: { fr: "Connexion", en: "How to log in" },
  none: { fr: "Aucun.", en: "None." },
  liveReadAt: { fr: "Chiffres lus le {time} sur les serveurs.", en: "Figures read from the servers at {time}." },
  liveOld: { fr: "Les derniers chiffres lus sur les serveurs datent du {time}, il y a plus de {minutes} minutes : ils ne sont pas affichés. Réessayez plus tard ; si cela dure, écrivez aux bénévoles.", en: "The last figures read from the servers are from {time}, more than {minutes} minutes ago: they are not shown. Try again later; if this lasts, write to the volunteers." },
  liveMissing: { fr: "Les chiffres lus sur les serveurs (certificats, espace disque, boîtes, sauvegardes) ne sont pas disponibles pour le moment.", en: "The figures read from the servers (certificates, disk use, mailboxes, backups) are not available for now." },
  liveError: { fr: "Les chiffres en direct n'ont pas pu être lus : {error}", en: "The live figures could not be read: {error}" },
  fromGit: { fr: "Ce que Globenet a enregistré pour vous (le dépôt, relu par les bénévoles).", en: "What Globenet has on record for you (the repository, reviewed by volunteers)." },
  switchLang: { fr: "English", en: "Français" },
  changes: { fr: "Pour demander un changement, écrivez aux bénévoles : chaque demande devient une modification relue avant d'être appliquée.", en: "To ask for a change, write to the volunteers: every request becomes a change that is reviewed before it is applied." },
  askAlias: { fr: "Demander un alias de courriel", en: "Ask for a mail alias" },
  askAliasHelp: { fr: "Un alias reçoit le courrier à une adresse et le remet à une ou plusieurs boîtes (ou adresses extérieures). La demande devient une modification relue par les bénévoles ; rien ne change avant leur accord.", en: "An alias receives mail at an address and hands it to one or more mailboxes (or outside addresses). The request becomes a change reviewed by the volunteers; nothing changes before they agree." },
  domain: { fr: "Domaine", en: "Domain" },
  asks: { fr: "Demander un changement", en: "Ask for a change" },
  asksHelp: {
    fr: "Chaque demande devient une modification relue par les bénévoles (ou, pour un redémarrage ou une restauration, un ticket pour eux) ; rien ne change avant leur accord. Vous la suivez dans « Vos demandes ».",
    en: "Each request becomes a change reviewed by the volunteers (or, for a restart or a restore, a ticket for them); nothing changes before they agree. Follow it in \"Your requests\".",
  },
  optional: { fr: "(facultatif)", en: "(optional)" },
  askAliasRemove: { fr: "Retirer un alias de courriel", en: "Remove a mail alias" },
  askAliasRemoveHelp: { fr: "L'adresse cessera de recevoir du courrier une fois la demande acceptée et appliquée.", en: "The address stops receiving mail once the request is accepted and applied." },
  askMailbox: { fr: "Demander une boîte de courriel", en: "Ask for a mailbox" },
  askMailboxHelp: {
    fr: "Choisissez le mot de passe de la boîte (au moins 12 caractères ; une phrase de quelques mots convient). Il n'est ni enregistré ni envoyé : le portail le transforme aussitôt en empreinte (Dovecot, ARGON2ID), et seule l'empreinte va dans la demande. Le même mot de passe servira pour le webmail, le logiciel de courriel et, si vous le voulez, pour vous connecter ici.",
    en: "Choose the mailbox's password (at least 12 characters; a phrase of a few words is fine). It is neither stored nor sent: the portal turns it at once into a hash (Dovecot, ARGON2ID), and only the hash goes into the request. The same password is for webmail, your mail program and, if you wish, for logging in here.",
  },
  askMailboxPassword: { fr: "Changer le mot de passe d'une boîte", en: "Change a mailbox's password" },
  askMailboxPasswordHelp: {
    fr: "Choisissez le nouveau mot de passe (au moins 12 caractères ; une phrase de quelques mots convient) et tapez-le deux fois. Il n'est ni enregistré ni envoyé : le portail le transforme aussitôt en empreinte (Dovecot, ARGON2ID), et seule l'empreinte va dans la demande. L'ancien mot de passe marche jusqu'à ce que les bénévoles appliquent la demande ; changez-le ensuite dans votre logiciel de courriel.",
    en: "Choose the new password (at least 12 characters; a phrase of a few words is fine) and type it twice. It is neither stored nor sent: the portal turns it at once into a hash (Dovecot, ARGON2ID), and only the hash goes into the request. The old password works until the volunteers apply the request; then change it in your mail program.",
  },
  newMailboxPassword: { fr: "Nouveau mot de passe de la boîte", en: "New password of the mailbox" },
  mailboxLocal: { fr: "Nom de la boîte (avant le @)", en: "Mailbox name (before the @)" },
  newPassword: { fr: "Mot de passe de la boîte", en: "Mailbox password" },
  confirmPassword: { fr: "Le même mot de passe, encore", en: "The same password again" },
  askSiteAlias: { fr: "Ajouter un nom à un site", en: "Add a name to a site" },
  askSiteAliasHelp: { fr: "Un autre nom sous lequel le site répond (comme www.), dans un de vos domaines.", en: "Another name the site answers to (like www.), in one of your domains." },
  siteAliasName: { fr: "Nom (comme www.mon-site.example)", en: "Name (like www.my-site.example)" },
  askSiteAliasRemove: { fr: "Retirer un nom d'un site", en: "Remove a name from a site" },
  askSiteAliasRemoveHelp: { fr: "Le site cessera de répondre sous ce nom une fois la demande acceptée et appliquée.", en: "The site stops answering to that name once the request is accepted and applied." },
  askSite: { fr: "Demander un site", en: "Ask for a site" },
  askSiteHelp: { fr: "Un nouveau site, dans un de vos domaines gérés par Globenet (ou un domaine dont vous dirigez les noms vers nous : dites-le aux bénévoles). HTTPS est automatique.", en: "A new site, in one of your domains served by Globenet (or a domain whose names you point at us: tell the volunteers). HTTPS is automatic." },
  siteHost: { fr: "Nom du site (comme blog.mon-site.example)", en: "Site name (like blog.my-site.example)" },
  askDatabase: { fr: "Demander une base de données", en: "Ask for a database" },
  askDatabaseHelp: { fr: "Une base MariaDB ; son mot de passe arrive dans votre dossier (~/.my.cnf.d/<nom>.cnf) une fois la demande appliquée.", en: "A MariaDB database; its password arrives in your home (~/.my.cnf.d/<name>.cnf) once the request is applied." },
  askSshKey: { fr: "Ajouter une clé SSH", en: "Add an SSH key" },
  askSshKeyHelp: { fr: "Collez la ligne entière de votre fichier .pub (la clé publique, jamais la clé privée), par exemple ssh-ed25519 AAAA… moi@portable.", en: "Paste the whole line of your .pub file (the public key, never the private one), like ssh-ed25519 AAAA… me@laptop." },
  sshKey: { fr: "Clé publique", en: "Public key" },
  askVpsResize: { fr: "Changer la taille d'un VPS", en: "Resize a VPS" },
  askVpsResizeHelp: { fr: "small : 1 vCPU, 1 Go, 10 Go de disque ; medium : 2 vCPU, 2 Go, 20 Go ; large : 4 vCPU, 4 Go, 40 Go. Le disque ne peut que grandir. Le VPS redémarre quand le changement est appliqué.", en: "small: 1 vCPU, 1 GB, 10 GB of disk; medium: 2 vCPUs, 2 GB, 20 GB; large: 4 vCPUs, 4 GB, 40 GB. The disk can only grow. The VPS restarts when the change is applied." },
  vpsSize: { fr: "Nouvelle taille", en: "New size" },
  askVpsRestart: { fr: "Redémarrer un VPS", en: "Restart a VPS" },
  askVpsRestartHelp: { fr: "Un redémarrage ne change pas vos données : la demande devient un ticket pour les bénévoles, qui redémarrent le VPS à la main.", en: "A restart changes none of your data: the request becomes a ticket for the volunteers, who restart the VPS by hand." },
  reason: { fr: "Pourquoi (quelques mots)", en: "Why (a few words)" },
  askRestoreFile: { fr: "Restaurer un fichier ou un dossier", en: "Restore a file or a folder" },
  askRestoreFileHelp: { fr: "Un fichier ou un dossier de votre dossier personnel, tel qu'il était dans une sauvegarde. Il remplace la version actuelle ; la demande devient un ticket pour les bénévoles.", en: "A file or folder of your home as it was in a backup. It replaces the current version; the request becomes a ticket for the volunteers." },
  restorePath: { fr: "Chemin dans votre dossier (comme sites/mon-site.example/htdocs/index.php)", en: "Path in your home (like sites/my-site.example/htdocs/index.php)" },
  restoreDate: { fr: "Date voulue, AAAA-MM-JJ (vide : la sauvegarde la plus récente)", en: "Wanted date, YYYY-MM-DD (empty: the newest backup)" },
  askRestoreDb: { fr: "Restaurer une base de données", en: "Restore a database" },
  askRestoreDbHelp: { fr: "La base telle qu'elle était dans une sauvegarde ; le contenu actuel est gardé à côté. La demande devient un ticket pour les bénévoles.", en: "The database as it was in a backup; the current content is kept aside. The request becomes a ticket for the volunteers." },
  askSuspend: { fr: "Suspendre mon compte", en: "Suspend my account" },
  askSuspendHelp: { fr: "Une fois la demande acceptée et appliquée : vos sites affichent une page d'avis, vos bases sont verrouillées, SSH, SFTP et vos boîtes refusent la connexion (le courrier continue d'arriver), vos VPS sont arrêtés ; rien n'est effacé. Pour revenir, écrivez aux bénévoles.", en: "Once the request is accepted and applied: your sites show a notice, your databases are locked, SSH, SFTP and your mailboxes refuse logins (mail still arrives), your VPS are shut down; nothing is deleted. To come back, write to the volunteers." },
  issueSentText: { fr: "Votre demande est le ticket n°{iid} ; un·e bénévole s'en occupe et le ferme une fois fait.", en: "Your request is ticket no. {iid}; a volunteer handles it and closes it once done." },
  aliasLocal: { fr: "Nom de l'alias (avant le @)", en: "Alias name (before the @)" },
  aliasTo: { fr: "Destinataires (boîtes du domaine ou adresses complètes, séparées par des virgules)", en: "Recipients (mailboxes of the domain or whole addresses, separated by commas)" },
  send: { fr: "Envoyer la demande", en: "Send the request" },
  refused: { fr: "Demande refusée (rien n'a été envoyé) :", en: "Request refused (nothing was sent):" },
  sent: { fr: "Demande envoyée", en: "Request sent" },
  sentText: { fr: "Votre demande est la demande de fusion n°{iid} ; un·e bénévole la relit avant de l'appliquer.", en: "Your request is merge request no. {iid}; a volunteer reviews it before it is applied." },
  requestsOff: { fr: "Les demandes en ligne ne sont pas ouvertes sur ce portail.", en: "Online requests are not open on this portal." },
  back: { fr: "Retour", en: "Back" },
  history: { fr: "Historique de votre fiche", en: "History of your file" },
  historyHelp: {
    fr: "Chaque modification enregistrée de votre fiche chez Globenet, la plus récente d'abord : quand, par qui, et ce qui a changé. Quand une modification touchait aussi d'autres fichiers, son titre n'est pas affiché (il peut parler d'autres adhérents) ; ce qui a changé dans votre fiche l'est toujours.",
    en: "Every recorded change of your file at Globenet, newest first: when, by whom, and what changed. When a change also touched other files, its title is not shown (it may speak of other members); what changed in your file always is.",
  },
  date: { fr: "Date", en: "Date" },
  author: { fr: "Par", en: "By" },
  change: { fr: "Modification", en: "Change" },
  inYourFile: { fr: "Dans votre fiche", en: "In your file" },
  commit: { fr: "Version", en: "Commit" },
  subjectHidden: { fr: "(modification commune avec {n} autre(s) fichier(s) : titre non affiché)", en: "(change shared with {n} other file(s): title not shown)" },
  noHistory: { fr: "Aucune modification enregistrée.", en: "No recorded change." },
  requests: { fr: "Vos demandes", en: "Your requests" },
  requestsHelp: {
    fr: "Les demandes faites depuis cet espace et où elles en sont : « en attente de relecture » tant qu'un·e bénévole ne l'a pas relue, « acceptée » une fois fusionnée (elle est appliquée ensuite), « refusée (fermée) » si elle a été fermée. Un redémarrage ou une restauration est un ticket (#) : « traitée » une fois que les bénévoles l'ont fermé.",
    en: "The requests made from this space and where they stand: \"waiting for review\" until a volunteer has reviewed it, \"accepted\" once merged (it is applied afterwards), \"declined (closed)\" if it was closed. A restart or a restore is a ticket (#): \"handled\" once the volunteers closed it.",
  },
  request: { fr: "Demande", en: "Request" },
  state: { fr: "État", en: "State" },
  mrOpened: { fr: "en attente de relecture", en: "waiting for review" },
  mrMerged: { fr: "acceptée", en: "accepted" },
  mrClosed: { fr: "refusée (fermée)", en: "declined (closed)" },
  issueClosed: { fr: "traitée (ticket fermé)", en: "handled (ticket closed)" },
  noRequests: { fr: "Aucune demande.", en: "No request." },
  backups: { fr: "Sauvegardes", en: "Backups" },
  backupsHelp: {
    fr: "La dernière sauvegarde réussie de chacun de vos objets, lue sur les serveurs. Le courriel est sauvegardé avec celui de tous les adhérents (il n'apparaît pas ici).",
    en: "The last good backup of each of your objects, read on the servers. Mail is backed up with every member's (it is not listed here).",
  },
  backupWhat: { fr: "Objet", en: "Object" },
  backupLast: { fr: "Dernière réussie", en: "Last good" },
  backupHome: { fr: "Votre dossier (sites, fichiers)", en: "Your home (sites, files)" },
  backupDatabase: { fr: "Base {name}", en: "Database {name}" },
  backupVps: { fr: "Disque du VPS {name}", en: "Disk of VPS {name}" },
  bk_ok: { fr: "à jour", en: "up to date" },
  bk_stale: { fr: "trop ancienne : les bénévoles sont prévenus", en: "too old: the volunteers are told" },
  bk_failed: { fr: "la dernière a échoué : les bénévoles sont prévenus", en: "the last one failed: the volunteers are told" },
  bk_never: { fr: "pas encore faite", en: "not made yet" },
  bk_unsupported: { fr: "pas encore sauvegardé", en: "not backed up yet" },
  bk_absent: { fr: "rien à sauvegarder pour l'instant", en: "nothing to back up yet" },
  bk_scheduled: { fr: "prévue, pas encore faite", en: "scheduled, not made yet" },
  bk_unread: { fr: "non lue (serveur injoignable)", en: "not read (host unreachable)" },
  vpsState: { fr: "État (lu sur l'hyperviseur)", en: "State (as the hypervisor says)" },
  vs_running: { fr: "en marche", en: "running" },
  vs_shut_off: { fr: "arrêté", en: "shut off" },
  vs_paused: { fr: "en pause", en: "paused" },
  vs_crashed: { fr: "planté : les bénévoles sont prévenus", en: "crashed: the volunteers are told" },
  vs_undefined: { fr: "absent de l'hyperviseur : les bénévoles sont prévenus", en: "missing on its hypervisor: the volunteers are told" },
  readError: { fr: "Lecture impossible pour le moment : {error}", en: "Could not be read for now: {error}" },
} as const;

export type Word = keyof typeof WORDS;

export function words(lang: Lang): Record<Word, string> {
  return Object.fromEntries(Object.entries(WORDS).map(([k, v]) => [k, v[lang]])) as Record<Word, string>;
}

/** `text` with `{name}` replaced by the values. */
export function fill(text: string, values: Record<string, string | number>): string {
  return text.replace(/\{(\w+)\}/g, (all, k: string) => (k in values ? String(values[k]) : all));
}
