/**
 * French for the per-item reasons of `npm run import` (what could not be expressed or mapped,
 * what was left out on purpose): a catalog of patterns over the English text, as
 * lib/i18n/fr-catalog.ts does for the loader's messages, and for the same reason: the reasons
 * travel as one string each (ImportNote.why) from pure importers the tests read in English.
 * The variable parts (names, directives, privileges, the schema's own words) stay as they are.
 * A reason without an entry is shown in English: tests/unit-import-i18n.test.ts lists the
 * reasons each importer gives and fails on one without French.
 */
type Entry = [RegExp, (m: RegExpExecArray) => string];
const g = (m: RegExpExecArray, i: number) => m[i] ?? "";
/** What lib/schema/names.ts's dangerousCharacter names, in French (a quoted character stays as is). */
const CHARACTERS: Record<string, string> = {
  "a line break": "un saut de ligne",
  "a control character": "un caractère de contrôle",
  "a backtick": "un accent grave",
  "a double quote": "un guillemet",
  "a single quote": "une apostrophe",
  "a backslash": "une barre oblique inverse",
  "white space": "une espace",
  "nothing (no <name>)": "rien (pas de <name>)",
};
const character = (m: RegExpExecArray, i: number) => CHARACTERS[g(m, i)] ?? g(m, i);

const ENTRIES: Entry[] = [
  // lib/import/zone-file.ts
  [/^SOA: written by the stack \(name servers, hostmaster, timers\); BIND keeps the serial increasing$/, () => "SOA : écrit par la pile (serveurs de noms, hostmaster, délais) ; BIND garde le numéro de série croissant"],
  [/^(\S+): DNSSEC records are made by BIND's inline signing \(the keys themselves are adopted with the zone, not written here\)$/, (m) => `${g(m, 1)} : les enregistrements DNSSEC sont faits par la signature en ligne de BIND (les clés sont adoptées avec la zone, pas écrites ici)`],
  [/^apex NS: derived from the stack's DNS hosts \(Pulumi\.<stack>\.yaml\)$/, () => "NS de l'apex : déduit des serveurs DNS de la pile (Pulumi.<stack>.yaml)"],
  [/^CNAME: (\S+) is a name of an imported site, whose A\/AAAA the stack derives \(to its web host\)$/, (m) => `CNAME : ${g(m, 1)} est un nom d'un site importé, dont la pile déduit les A/AAAA (vers son serveur web)`],
  [/^(\S+): derived from (.+)$/s, (m) => `${g(m, 1)} : déduit de ${g(m, 2)}`],
  [/^the zone schema has no (\S+) records \(lib\/schema\/zone\.ts lists the types it holds\)$/, (m) => `le schéma des zones n'a pas d'enregistrements ${g(m, 1)} (lib/schema/zone.ts liste les types permis)`],
  [/^the zone schema refuses it: (.+)$/s, (m) => `le schéma des zones le refuse : ${g(m, 1)}`],
  [/^TTL (\d+) is outside the schema's (\d+)\.\.(\d+) seconds: written with ttl (\d+)$/, (m) => `TTL ${g(m, 1)} hors des ${g(m, 2)}..${g(m, 3)} secondes du schéma : écrit avec ttl ${g(m, 4)}`],
  // lib/import/read-host.ts (BIND, Apache)
  [/^apache2ctl -S lists no virtual host$/, () => "apache2ctl -S ne liste aucun hôte virtuel"],
  [/^one of Debian's default zones \(named\.conf\.default-zones\): served by bind9 itself$/, () => "une des zones par défaut de Debian (named.conf.default-zones) : servie par bind9 lui-même"],
  [/^not a primary zone on this host: import it from its primary$/, () => "pas une zone primaire sur cette machine : importez-la depuis son primaire"],
  [/^a primary zone without a file: not imported$/, () => "une zone primaire sans fichier : non importée"],
  [/^the zone file could not be read as bind: (.*)$/s, (m) => `le fichier de zone n'a pas pu être lu en tant que bind : ${g(m, 1)}`],
  [/^dynamic updates are allowed: BIND's journal may hold changes the file does not \(run rndc sync on the host, then import again\)$/, () => "les mises à jour dynamiques sont permises : le journal de BIND peut contenir des changements absents du fichier (lancez rndc sync sur la machine, puis importez à nouveau)"],
  // lib/import/sites.ts
  [/^its <VirtualHost> block could not be read from the file apache2ctl -S names \(not imported\)$/, () => "son bloc <VirtualHost> n'a pas pu être lu dans le fichier que nomme apache2ctl -S (non importé)"],
  [/^vhost (\S+): the site schema has no field for this directive \(it is not carried over: check the site works without it, or ask for the feature\)$/, (m) => `vhost ${g(m, 1)} : le schéma des sites n'a pas de champ pour cette directive (elle n'est pas reprise : vérifiez que le site marche sans elle, ou demandez la fonction)`],
  [/^the site's name is refused by the schema \((.+)\): site not imported \(Debian's 000-default has no ServerName: that is expected\)$/s, (m) => `le nom du site est refusé par le schéma (${g(m, 1)}) : site non importé (le 000-default de Debian n'a pas de ServerName : c'est normal)`],
  [/^a name of site (\S+) the schema refuses \((.+)\): left out$/s, (m) => `un nom du site ${g(m, 1)} que le schéma refuse (${g(m, 2)}) : laissé de côté`],
  [/^site (\S+): no PHP-FPM pool listens on this socket; written without PHP$/, (m) => `site ${g(m, 1)} : aucun pool PHP-FPM n'écoute sur cette socket ; écrit sans PHP`],
  [/^cannot map it to a member: its owner (\S+) is not a member's login account \(say who owns it in the map file: (.+)\)$/s, (m) => `impossible de l'attribuer à un adhérent : son propriétaire ${g(m, 1)} n'est pas le compte de connexion d'un adhérent (dites à qui il est dans le fichier de correspondance : ${g(m, 2)})`],
  [/^cannot map it to a member: no PHP pool user and no document root owner \(say who owns it in the map file: (.+)\)$/s, (m) => `impossible de l'attribuer à un adhérent : ni utilisateur de pool PHP ni propriétaire de la racine des documents (dites à qui il est dans le fichier de correspondance : ${g(m, 1)})`],
  [/^two accounts claim this document root: (.+) and (.+) \(each site keeps its own folder in the stack: decide whose files these are\)$/s, (m) => `deux comptes revendiquent cette racine des documents : ${g(m, 1)} et ${g(m, 2)} (dans la pile, chaque site a son propre dossier : décidez à qui sont ces fichiers)`],
  [/^redirects to (\S+), which no imported site serves \(not imported\)$/, (m) => `redirige vers ${g(m, 1)}, qu'aucun site importé ne sert (non importé)`],
  [/^an http vhost sends this name to https, but no https site serves it \(not imported\)$/, () => "un vhost http envoie ce nom vers https, mais aucun site https ne le sert (non importé)"],
  // lib/import/members.ts, accounts.ts
  [/^"(\S+)" cannot be a handle: (.+) \(give it one in the map file: (.+)\)$/s, (m) => `« ${g(m, 1)} » ne peut pas être un identifiant d'adhérent : ${g(m, 2)} (donnez-lui-en un dans le fichier de correspondance : ${g(m, 3)})`],
  [/^mapped to member (\S+) with (\S+): the stack knows one unix user per member, (\S+) and its files stay as they are on the host$/, (m) => `attribué à l'adhérent ${g(m, 1)} avec ${g(m, 2)} : la pile connaît un utilisateur unix par adhérent, ${g(m, 3)} et ses fichiers restent tels quels sur la machine`],
  [/^the member schema refuses what was read: (.+) \(not written\)$/s, (m) => `le schéma des adhérents refuse ce qui a été lu : ${g(m, 1)} (non écrit)`],
  [/^its member (\S+) was not written \(see the account's note above\): the site is not imported$/, (m) => `son adhérent ${g(m, 1)} n'a pas été écrit (voyez la note du compte plus haut) : le site n'est pas importé`],
  [/^has options before the key \(from=, command=, restrict…\): the member file holds plain keys only \(left out\)$/, () => "a des options avant la clé (from=, command=, restrict…) : le fichier d'adhérent ne garde que des clés simples (laissée de côté)"],
  [/^(.+) \(left out\)$/s, (m) => `${g(m, 1)} (laissée de côté)`],
  // lib/import/databases.ts
  [/^a MariaDB or Debian system account$/, () => "un compte système de MariaDB ou de Debian"],
  [/^the model has no roles: left on the server$/, () => "le modèle n'a pas de rôles : laissé sur le serveur"],
  [/^has WITH GRANT OPTION, beyond the model's grant: adoption keeps it until revoked by hand$/, () => "a WITH GRANT OPTION, au-delà du droit que donne le modèle : l'adoption le garde jusqu'à ce qu'il soit retiré à la main"],
  [/^the account name contains (.+): refused, nothing written for it \(rename or drop it by hand on the server\)$/s, (m) => `le nom du compte contient ${character(m, 1)} : refusé, rien d'écrit pour lui (renommez-le ou supprimez-le à la main sur le serveur)`],
  [/^the name contains (.+): refused, nothing written for it \(rename it by hand on the server: a dump and a restore under a new name\)$/s, (m) => `le nom contient ${character(m, 1)} : refusé, rien d'écrit pour elle (renommez-la à la main sur le serveur : une sauvegarde puis une restauration sous un nouveau nom)`],
  [/^not a member's database: (.+)$/s, (m) => `pas une base d'adhérent : ${g(m, 1)}`],
  [/^the schema refuses the name: (.+); it stays on the server, unmanaged$/s, (m) => `le schéma refuse le nom : ${g(m, 1)} ; elle reste sur le serveur, non gérée`],
  [/^also has privileges on (.+): the model has one account per database, named like it \((.+)\); this account is not adopted$/s, (m) => `a aussi des droits sur ${g(m, 1)} : le modèle a un compte par base, nommé comme elle (${g(m, 2)}) ; ce compte n'est pas adopté`],
  [/^(\d+) accounts hold privileges on it \((.+)\); (.+)$/s, (m) => `${g(m, 1)} comptes ont des droits sur elle (${g(m, 2)}) ; ${g(m, 3)}`],
  [/^has (.+) on (\S+), not ALL PRIVILEGES: adoption grants ALL PRIVILEGES \(missing today: (.+)\)$/s, (m) => `a ${g(m, 1)} sur ${g(m, 2)}, pas ALL PRIVILEGES : l'adoption donne ALL PRIVILEGES (manque aujourd'hui : ${g(m, 3)})`],
  [/^has (.+) on (\S+), beyond the model's ALL PRIVILEGES$/s, (m) => `a ${g(m, 1)} sur ${g(m, 2)}, au-delà du ALL PRIVILEGES du modèle`],
  [/^holds the global privilege (.+) \(on \*\.\*\), beyond the model's grant on (\S+) only: kept on the server, revoke it by hand$/s, (m) => `a le droit global ${g(m, 1)} (sur *.*), au-delà du droit du modèle sur ${g(m, 2)} seulement : gardé sur le serveur, retirez-le à la main`],
  [/^holds (.+) on the pattern (.+), wider than one database \(the model grants one database by name\): not adopted$/s, (m) => `a ${g(m, 1)} sur le motif ${g(m, 2)}, plus large qu'une base (le modèle donne une base par son nom) : non adopté`],
  [/^holds (.+) on (\S+), another database than (\S+): beyond the model's grant$/s, (m) => `a ${g(m, 1)} sur ${g(m, 2)}, une autre base que ${g(m, 3)} : au-delà du droit du modèle`],
  [/^holds (.+) on the (table|routine) (.+): the model grants whole databases only$/s, (m) => `a ${g(m, 1)} sur ${g(m, 2) === "table" ? "la table" : "la routine"} ${g(m, 3)} : le modèle ne donne que des bases entières`],
  [/^max_user_connections (\d+) is above the schema's 500: written as 500$/, (m) => `max_user_connections ${g(m, 1)} dépasse les 500 du schéma : écrit 500`],
  [/^MAX_CONNECTIONS_PER_HOUR (\d+): the model has no such limit \(adoption sets it to 0, no limit\)$/, (m) => `MAX_CONNECTIONS_PER_HOUR ${g(m, 1)} : le modèle n'a pas cette limite (l'adoption la met à 0, sans limite)`],  // lib/import/guests.ts (libvirt domains); the generic "<value>: the model's is <value>" comes last.
  [/^its definition is not XML the import reads: (.+)$/s, (m) => `sa définition n'est pas du XML que l'import sait lire : ${g(m, 1)}`],
  [/^the domain name contains (.+): refused, nothing written for it \(rename it by hand: virsh domrename\)$/s, (m) => `le nom du domaine contient ${character(m, 1)} : refusé, rien d'écrit pour lui (renommez-le à la main : virsh domrename)`],
  [/^the model names this guest's domain (\S+): adoption needs it renamed \(shut off, virsh domrename\) — done by hand, not by the import$/, (m) => `le modèle nomme le domaine de cet invité ${g(m, 1)} : l'adoption demande de le renommer (éteint, virsh domrename) — à la main, pas par l'import`],
  [/^line (\d+): the model's domain has no <([^>]+)>(?: \(type (.+)\))?: it stays until the domain is next redefined from the render \(a change of vCPUs, memory, disks or MAC: then without it\)$/s, (m) => `ligne ${g(m, 1)} : le domaine du modèle n'a pas de <${g(m, 2)}>${m[3] ? ` (type ${g(m, 3)})` : ""} : il reste jusqu'à la prochaine redéfinition du domaine à partir du rendu (un changement de vCPU, de mémoire, de disques ou de MAC : alors sans lui)`],
  [/^is (.+), the hypervisor's guests are (\S+)$/s, (m) => `est ${g(m, 1)}, les invités de l'hyperviseur sont ${g(m, 2)}`],
  [/^boots (\d+) of (\d+) vCPUs \(hot-plug\): the model has one count; (\d+) written$/, (m) => `démarre avec ${g(m, 1)} vCPU sur ${g(m, 2)} (ajout à chaud) : le modèle n'a qu'un nombre ; ${g(m, 3)} écrit`],
  [/^([\d.]+) MiB is not whole MiB: (\d+) written$/, (m) => `${g(m, 1)} Mio n'est pas un nombre entier de Mio : ${g(m, 2)} écrit`],
  [/^the guest runs with (\d+) MiB of a ([\d.]+) MiB maximum \(balloon\): the model gives it all (\d+) MiB$/, (m) => `l'invité tourne avec ${g(m, 1)} Mio sur un maximum de ${g(m, 2)} Mio (ballon) : le modèle lui donne les ${g(m, 3)} Mio`],
  [/^machine (.+): the model's guests are i440fx \("pc"\); another chipset changes the guest's devices$/s, (m) => `machine ${g(m, 1)} : les invités du modèle sont i440fx (« pc ») ; un autre chipset change les périphériques de l'invité`],
  [/^architecture (.+): the model's guests are x86_64$/s, (m) => `architecture ${g(m, 1)} : les invités du modèle sont x86_64`],
  [/^boots with firmware \(UEFI\): the model's guests boot with the BIOS; the guest may not boot after adoption$/, () => "démarre avec un micrologiciel (UEFI) : les invités du modèle démarrent avec le BIOS ; l'invité pourrait ne pas démarrer après l'adoption"],
  [/^boots from (.+): the model boots from the disk$/s, (m) => `démarre depuis ${g(m, 1)} : le modèle démarre depuis le disque`],
  [/^CPU mode (.+?)(?: \(model (.+)\))?: the model's is (\S+); the guest will see another CPU$/s, (m) => `mode de CPU ${g(m, 1)}${m[2] ? ` (modèle ${g(m, 2)})` : ""} : celui du modèle est ${g(m, 3)} ; l'invité verra un autre processeur`],
  [/^(.+): the model's clock is utc$/s, (m) => `${g(m, 1)} : l'horloge du modèle est utc`],
  [/^(\S+) (.+): the model attaches only the cloud-init seed (\S+); adoption redefines the domain from the render without it$/s, (m) => `${g(m, 1)} ${g(m, 2)} : le modèle n'attache que l'amorce cloud-init ${g(m, 3)} ; l'adoption redéfinit le domaine à partir du rendu, sans lui`],
  [/^a second disk \((.+)\): the model has one disk per VPS; adoption redefines the domain from the render without it, its data stays in the file$/s, (m) => `un second disque (${g(m, 1)}) : le modèle a un disque par VPS ; l'adoption redéfinit le domaine à partir du rendu, sans lui, ses données restent dans le fichier`],
  [/^a (.+) disk \((.*)\): the model's disks are qcow2 files under (\S+); it must be converted by hand before adoption$/s, (m) => `un disque ${g(m, 1)} (${g(m, 2)}) : les disques du modèle sont des fichiers qcow2 dans ${g(m, 3)} ; il doit être converti à la main avant l'adoption`],
  [/^format (.+): the model's disks are qcow2 \(convert with qemu-img convert, shut off\)$/s, (m) => `format ${g(m, 1)} : les disques du modèle sont en qcow2 (convertissez avec qemu-img convert, éteint)`],
  [/^bus (.+): the model's disk is virtio \(vda\); the guest sees a new disk name after adoption \(check its \/etc\/fstab uses UUIDs\)$/s, (m) => `bus ${g(m, 1)} : le disque du modèle est virtio (vda) ; l'invité voit un nouveau nom de disque après l'adoption (vérifiez que son /etc/fstab utilise des UUID)`],
  [/^(.+): the model's disk is (\S+); it must be moved there \(shut off\) before adoption$/s, (m) => `${g(m, 1)} : le disque du modèle est ${g(m, 2)} ; il doit y être déplacé (éteint) avant l'adoption`],
  [/^a second interface \((.*)\): the model has one; adoption redefines the domain from the render without it$/s, (m) => `une seconde interface (${g(m, 1)}) : le modèle en a une ; l'adoption redéfinit le domaine à partir du rendu, sans elle`],
  [/^type (.+?)(?: \(network (.+)\))?: the model's guests sit on the hypervisor's bridge with their public addresses$/s, (m) => `type ${g(m, 1)}${m[2] ? ` (réseau ${g(m, 2)})` : ""} : les invités du modèle sont sur le pont de l'hyperviseur, avec leurs adresses publiques`],
  [/^bridge (.+): the hypervisor's bridge in the inventory is (\S+)$/s, (m) => `pont ${g(m, 1)} : le pont de l'hyperviseur dans l'inventaire est ${g(m, 2)}`],
  [/^NIC model (.+): the model's is virtio; the guest sees a new network card after adoption \(check its network configuration names it\)$/s, (m) => `modèle de carte réseau ${g(m, 1)} : celui du modèle est virtio ; l'invité voit une nouvelle carte réseau après l'adoption (vérifiez que sa configuration réseau la nomme)`],
  [/^no network filter: adoption adds globenet-clean-traffic, which drops traffic from any address but the VPS's own \(check ipv4\/ipv6 below are all it uses\)$/, () => "pas de filtre réseau : l'adoption ajoute globenet-clean-traffic, qui rejette le trafic de toute adresse autre que celles du VPS (vérifiez que les ipv4/ipv6 ci-dessous sont toutes celles qu'il utilise)"],
  [/^filter (.+): adoption replaces it with globenet-clean-traffic \(the VPS's own MAC, addresses and ARP only\)$/s, (m) => `filtre ${g(m, 1)} : l'adoption le remplace par globenet-clean-traffic (seulement la MAC, les adresses et l'ARP du VPS)`],
  [/^several addresses \((.+)\): the model has one IPv4 and one IPv6 per VPS; the first of each written$/s, (m) => `plusieurs adresses (${g(m, 1)}) : le modèle a une IPv4 et une IPv6 par VPS ; la première de chaque écrite`],
  [/^(.+): the model's is (\S+)$/s, (m) => `${g(m, 1)} : celui du modèle est ${g(m, 2)}`],
];

/** The French of an import reason, or undefined when the catalog has none. */
export function importReasonFr(why: string): string | undefined {
  for (const [re, fr] of ENTRIES) {
    const m = re.exec(why);
    if (m) return fr(m);
  }
  return undefined;
}
