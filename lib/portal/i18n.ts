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
  handle: { fr: "Identifiant (nom du compte)", en: "Account name" },
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
  liveError: { fr: "Les chiffres en direct n'ont pas pu être lus : {error}", en: "The live figures could not be read: {error}" },
  fromGit: { fr: "Ce que Globenet a enregistré pour vous (le dépôt, relu par les bénévoles).", en: "What Globenet has on record for you (the repository, reviewed by volunteers)." },
  switchLang: { fr: "English", en: "Français" },
  changes: { fr: "Pour demander un changement, écrivez aux bénévoles : chaque demande devient une modification relue avant d'être appliquée.", en: "To ask for a change, write to the volunteers: every request becomes a change that is reviewed before it is applied." },
  askAlias: { fr: "Demander un alias de courriel", en: "Ask for a mail alias" },
  askAliasHelp: { fr: "Un alias reçoit le courrier à une adresse et le remet à une ou plusieurs boîtes (ou adresses extérieures). La demande devient une modification relue par les bénévoles ; rien ne change avant leur accord.", en: "An alias receives mail at an address and hands it to one or more mailboxes (or outside addresses). The request becomes a change reviewed by the volunteers; nothing changes before they agree." },
  domain: { fr: "Domaine", en: "Domain" },
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
    fr: "Les demandes faites depuis cet espace et où elles en sont : « en attente de relecture » tant qu'un·e bénévole ne l'a pas relue, « acceptée » une fois fusionnée (elle est appliquée ensuite), « refusée (fermée) » si elle a été fermée.",
    en: "The requests made from this space and where they stand: \"waiting for review\" until a volunteer has reviewed it, \"accepted\" once merged (it is applied afterwards), \"declined (closed)\" if it was closed.",
  },
  request: { fr: "Demande", en: "Request" },
  state: { fr: "État", en: "State" },
  mrOpened: { fr: "en attente de relecture", en: "waiting for review" },
  mrMerged: { fr: "acceptée", en: "accepted" },
  mrClosed: { fr: "refusée (fermée)", en: "declined (closed)" },
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
