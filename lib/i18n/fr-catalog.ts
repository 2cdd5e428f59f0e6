/**
 * French for the messages of the loader (lib/load), of zod's issues as lib/load/zod-issues.ts
 * words them, and of the schemas' own rules (lib/schema): a catalog of patterns over the
 * English text, applied when a diagnostic is shown to a volunteer reading French.
 *
 * Why a catalog here and not Bilingual at the call site, as in lib/check: these messages
 * travel as zod issues (one string each) and come from rule functions (hostnameProblem,
 * sshPublicKeyProblem…) that the provider and `npm run new` also call and read in English.
 * Changing their return type would touch every caller; a catalog keeps them as they are.
 * Each entry matches one English message (its variable parts captured) and gives its French;
 * tests/unit-i18n-coverage.test.ts runs validate over a corpus of broken trees and fails on
 * any diagnostic without French, so a new message without an entry is caught.
 */
type Entry = [RegExp, (m: RegExpExecArray) => string];

const g = (m: RegExpExecArray, i: number) => m[i] ?? "";

/** Short phrases used inside messages ("contains a double quote"). */
const PHRASES: Record<string, string> = {
  "a line break": "un saut de ligne",
  "a control character": "un caractère de contrôle",
  "`$(`": "`$(`",
  "a backtick": "un accent grave (backtick)",
  "a double quote": "un guillemet double",
  "a single quote": "une apostrophe",
  "a backslash": "une barre oblique inverse",
  "`;`": "`;`",
  "`..`": "`..`",
  "`/`": "`/`",
  "white space": "une espace",
};
const phrase = (s: string) => PHRASES[s] ?? s;

const TYPES: Record<string, string> = {
  text: "du texte",
  "a number": "un nombre",
  "true or false": "true ou false",
  "a mapping (key: value lines)": "un dictionnaire (lignes clé: valeur)",
  "a list (lines starting with -)": "une liste (lignes commençant par -)",
};
function described(s: string): string {
  if (s === "nothing (null)") return "rien (null)";
  if (s === "a list") return "une liste";
  if (s === "a mapping") return "un dictionnaire";
  const t = /^the text "(.*)"$/s.exec(s);
  if (t) return `le texte "${t[1]}"`;
  return s.replace(/^number /, "le nombre ").replace(/^boolean /, "le booléen ");
}

const UNITS: Record<string, string> = { MB: "Mo", GB: "Go", vCPUs: "vCPU", "vCPU": "vCPU", seconds: "secondes", buckets: "seaux" };
const unit = (s: string) => UNITS[s] ?? s;

/** lib/schema/password-hash.ts's PASSWORD_HASH_HINT, in French. */
const HASH_HINT_FR = "fabriquez-la avec : mkpasswd -m yescrypt (paquet Debian whois), et collez la ligne affichée, entre guillemets";

const ENTRIES: Entry[] = [
  // lib/load/zod-issues.ts: zod's own issues in our words.
  [/^must be (.+), not (.+) \(check the example in the README\)$/s, (m) => `doit être ${TYPES[g(m, 1)] ?? g(m, 1)}, pas ${described(g(m, 2))} (voyez l'exemple du README)`],
  [/^unknown key \(check the spelling; see the README for the allowed keys\)$/, () => "clé inconnue (vérifiez l'orthographe ; le README liste les clés permises)"],
  [/^unknown key \(did you mean "(.+)"\?\)$/, (m) => `clé inconnue (vouliez-vous dire « ${g(m, 1)} » ?)`],
  [/^unknown key \(allowed here: (.+)\)$/, (m) => `clé inconnue (permises ici : ${g(m, 1)})`],
  [/^unknown key \(check the spelling\)$/, () => "clé inconnue (vérifiez l'orthographe)"],
  [/^must be one of (.+)$/, (m) => `doit être l'une de ces valeurs : ${g(m, 1)}`],
  [/^needs at least (\d+) item\(s\)$/, (m) => `demande au moins ${g(m, 1)} élément(s)`],
  [/^is too small \(minimum (.+)\)$/, (m) => `est trop petit (minimum ${g(m, 1)})`],
  [/^has more than (\d+) items \(split it or ask the hosting team\)$/, (m) => `a plus de ${g(m, 1)} éléments (répartissez-les ou demandez à l'équipe d'hébergement)`],
  [/^is too big \(maximum (.+)\)$/, (m) => `est trop grand (maximum ${g(m, 1)})`],
  [/^has the wrong format \(expected (.+)\)$/, (m) => `n'a pas le bon format (attendu : ${g(m, 1)})`],
  [/^is required \(add (.+); see the README for an example\)$/, (m) => `est obligatoire (ajoutez ${g(m, 1) === "it" ? "cet élément" : g(m, 1)} ; voyez l'exemple du README)`],

  // lib/load/tree.ts and lib/load/yaml-file.ts: files and folders.
  [/^is not a regular file \(replace it with a plain YAML file\)$/, () => "n'est pas un fichier ordinaire (remplacez-le par un simple fichier YAML)"],
  [/^cannot be read: (\S+) \(check it exists and is readable\)$/, (m) => `ne peut pas être lu : ${g(m, 1)} (vérifiez qu'il existe et qu'il est lisible)`],
  [/^file is (\d+) bytes, over the (\d+)-byte limit \(a data file is a few kilobytes; split it or remove what does not belong\)$/, (m) => `le fichier fait ${g(m, 1)} octets, plus que la limite de ${g(m, 2)} octets (un fichier de données fait quelques kilo-octets ; découpez-le ou retirez ce qui n'y a pas sa place)`],
  [/^is missing: the stack "(.+)" has no inventory \(create (.+), or pick another stack with --stack\)$/, (m) => `est absent : la pile « ${g(m, 1)} » n'a pas d'inventaire (créez ${g(m, 2)}, ou choisissez une autre pile avec --stack)`],
  [/^has no "(.+)" key \(add the inventory: hosts, pools, images; see docs\/architecture\.md\)$/, (m) => `n'a pas de clé « ${g(m, 1)} » (ajoutez l'inventaire : hôtes, plages d'adresses, images ; voyez docs/architecture.md)`],
  [/^unexpected file \(a member is a folder members\/<handle>\/ holding member\.yaml\)$/, () => "fichier inattendu (un membre est un dossier members/<identifiant>/ contenant member.yaml)"],
  [/^unexpected file \(a member folder holds member\.yaml and vps\/(; rename \.yml to member\.yaml)?\)$/, (m) => `fichier inattendu (un dossier de membre contient member.yaml et vps/${g(m, 1) ? " ; renommez le .yml en member.yaml" : ""})`],
  [/^is missing \(every member folder needs member\.yaml; see members\/README\.md\)$/, () => "est absent (chaque dossier de membre a besoin de member.yaml ; voyez members/README.md)"],
  [/^"(.+)" does not match the folder name "(.+)" \(the handle never changes: rename neither, or ask the hosting team to migrate\)$/, (m) => `« ${g(m, 1)} » ne correspond pas au nom du dossier « ${g(m, 2)} » (l'identifiant ne change jamais : ne renommez ni l'un ni l'autre, ou demandez une migration à l'équipe d'hébergement)`],
  [/^must be a folder holding one <name>\.yaml per VPS$/, () => "doit être un dossier contenant un fichier <nom>.yaml par VPS"],
  [/^unexpected file \(a VPS is vps\/<name>\.yaml(; rename \.yml to \.yaml)?\)$/, (m) => `fichier inattendu (un VPS est vps/<nom>.yaml${g(m, 1) ? " ; renommez le .yml en .yaml" : ""})`],
  [/^has an invalid VPS name \(the file name is the VPS name: 2-32 characters, lowercase letters, digits and single hyphens, like "atelier\.yaml"\)$/, () => "a un nom de VPS invalide (le nom du fichier est le nom du VPS : 2 à 32 caractères, lettres minuscules, chiffres et tirets simples, comme « atelier.yaml »)"],
  [/^unexpected file \(a zone is zones\/<domain>\.yaml(; rename \.yml to \.yaml)?\)$/, (m) => `fichier inattendu (une zone est zones/<domaine>.yaml${g(m, 1) ? " ; renommez le .yml en .yaml" : ""})`],
  [/^has a file name that (.+) \(the file name is the zone: zones\/velo-libre\.example\.yaml, or zones\/113\.0\.203\.in-addr\.arpa\.yaml for reverse\)$/s, (m) => `a un nom de fichier qui ${french(g(m, 1)) ?? g(m, 1)} (le nom du fichier est la zone : zones/velo-libre.example.yaml, ou zones/113.0.203.in-addr.arpa.yaml pour une zone inverse)`],
  [/^duplicate key \(each key may appear once in a mapping; remove or merge the repeated one\)$/, () => "clé en double (une clé n'apparaît qu'une fois dans un dictionnaire ; retirez ou fusionnez la répétition)"],
  [/^several YAML documents in one file \(keep one document per file; remove the `---` separator\)$/, () => "plusieurs documents YAML dans un fichier (un seul document par fichier ; retirez le séparateur `---`)"],
  [/^YAML syntax error: (.+) \(fix the syntax; check indentation and quoting\)$/s, (m) => `erreur de syntaxe YAML : ${g(m, 1)} (corrigez la syntaxe ; vérifiez l'indentation et les guillemets)`],
  [/^YAML alias \*(.+) is not allowed \(write the value out in full\)$/, (m) => `l'alias YAML *${g(m, 1)} n'est pas permis (écrivez la valeur en entier)`],
  [/^YAML anchor &(.+) is not allowed \(write the value out in full\)$/, (m) => `l'ancre YAML &${g(m, 1)} n'est pas permise (écrivez la valeur en entier)`],
  [/^YAML tag (.+) is not allowed \(remove the tag; write a plain value\)$/, (m) => `l'étiquette YAML ${g(m, 1)} n'est pas permise (retirez-la ; écrivez une valeur simple)`],
  [/^cannot read the YAML: (.+) \(fix the file\)$/s, (m) => `impossible de lire le YAML : ${g(m, 1)} (corrigez le fichier)`],

  // lib/schema/names.ts: host names, record names, identifiers.
  [/^contains (.+?) \(a host name is only letters a-z, digits, hyphens and dots\)$/, (m) => `contient ${phrase(g(m, 1))} (un nom d'hôte n'a que des lettres a-z, des chiffres, des tirets et des points)`],
  [/^must not end with a dot \(write "(.+)"\)$/, (m) => `ne doit pas finir par un point (écrivez « ${g(m, 1)} »)`],
  [/^is (\d+) characters, over the 253 allowed for a DNS name \(choose a shorter name\)$/, (m) => `fait ${g(m, 1)} caractères, plus que les 253 permis pour un nom DNS (choisissez un nom plus court)`],
  [/^must be lowercase \(write "(.+)"\)$/, (m) => `doit être en minuscules (écrivez « ${g(m, 1)} »)`],
  [/^needs at least two labels, like example\.org \(write the full name\)$/, () => "demande au moins deux étiquettes, comme example.org (écrivez le nom complet)"],
  [/^has an empty label \(remove the doubled or leading dot\)$/, () => "a une étiquette vide (retirez le point doublé ou initial)"],
  [/^has a label of (\d+) characters, over the 63 allowed \("(.+)"; shorten it\)$/, (m) => `a une étiquette de ${g(m, 1)} caractères, plus que les 63 permis (« ${g(m, 2)} » ; raccourcissez-la)`],
  [/^may not contain a wildcard here \(name one host\)$/, () => "ne peut pas contenir de joker ici (nommez un seul hôte)"],
  [/^has "(.+)" with an underscore, which a host name cannot contain \(use a hyphen\)$/, (m) => `a « ${g(m, 1)} » avec un tiret bas, qu'un nom d'hôte ne peut pas contenir (utilisez un tiret)`],
  [/^has an invalid label "(.+)" \(use letters a-z, digits and inner hyphens only\)$/, (m) => `a une étiquette invalide « ${g(m, 1)} » (uniquement des lettres a-z, des chiffres et des tirets intérieurs)`],
  [/^has a label "(.+)" with "--" in 3rd-4th position, reserved for encodings \(remove the double hyphen\)$/, (m) => `a une étiquette « ${g(m, 1)} » avec « -- » en 3e-4e position, réservé aux encodages (retirez le double tiret)`],
  [/^ends in an all-numeric label, which is an IP address, not a host name \(write a host name\)$/, () => "finit par une étiquette toute numérique : c'est une adresse IP, pas un nom d'hôte (écrivez un nom d'hôte)"],
  [/^contains (.+?) \(a record name is letters a-z, digits, hyphens, underscores and dots, or "@" for the zone itself\)$/, (m) => `contient ${phrase(g(m, 1))} (un nom d'enregistrement, ce sont des lettres a-z, des chiffres, des tirets, des tirets bas et des points, ou « @ » pour la zone elle-même)`],
  [/^must be relative to the zone, without a final dot \(write "(.+)" or "@"\)$/, (m) => `doit être relatif à la zone, sans point final (écrivez « ${g(m, 1)} » ou « @ »)`],
  [/^starts with "\$", which a zone file reads as a directive such as \$INCLUDE \(use a plain name\)$/, () => "commence par « $ », qu'un fichier de zone lit comme une directive telle que $INCLUDE (utilisez un nom simple)"],
  [/^is (\d+) characters, over the 253 allowed \(shorten it\)$/, (m) => `fait ${g(m, 1)} caractères, plus que les 253 permis (raccourcissez-le)`],
  [/^has an empty label \(remove the doubled dot\)$/, () => "a une étiquette vide (retirez le point doublé)"],
  [/^has a label of (\d+) characters, over the 63 allowed \(shorten it\)$/, (m) => `a une étiquette de ${g(m, 1)} caractères, plus que les 63 permis (raccourcissez-la)`],
  [/^has an invalid label "(.+)" \(use letters a-z, digits, inner hyphens, or a leading underscore for service names\)$/, (m) => `a une étiquette invalide « ${g(m, 1)} » (des lettres a-z, des chiffres, des tirets intérieurs, ou un tiret bas initial pour les noms de service)`],
  [/^must be a fully qualified name ending with a dot \(write "(.+)" — without the dot the zone's name would be appended\)$/, (m) => `doit être un nom complet finissant par un point (écrivez « ${g(m, 1)} » — sans le point, le nom de la zone serait ajouté à la fin)`],
  [/^contains (.+?) \(a (.+) is lowercase letters, digits and single hyphens, like "(.+)"\)$/, (m) => `contient ${phrase(g(m, 1))} (un ${what(g(m, 2))} s'écrit en lettres minuscules, chiffres et tirets simples, comme « ${g(m, 3)} »)`],
  [/^must be 2 to (\d+) characters long \(choose a (.+) like "(.+)"\)$/, (m) => `doit faire de 2 à ${g(m, 1)} caractères (choisissez un ${what(g(m, 2))} comme « ${g(m, 3)} »)`],
  [/^must start with a lowercase letter and use only a-z, 0-9 and inner hyphens \(like "(.+)"\)$/, (m) => `doit commencer par une lettre minuscule et n'utiliser que a-z, 0-9 et des tirets intérieurs (comme « ${g(m, 1)} »)`],
  [/^must not contain "--" \(use a single hyphen\)$/, () => "ne doit pas contenir « -- » (utilisez un seul tiret)"],

  // lib/schema/ssh-key.ts
  [/^is a PRIVATE key \(never share it: paste the public key, the \.pub file, instead\)$/, () => "est une clé PRIVÉE (ne la partagez jamais : collez plutôt la clé publique, le fichier .pub)"],
  [/^contains a line break \(put each key on one line, as in the \.pub file\)$/, () => "contient un saut de ligne (une clé par ligne, comme dans le fichier .pub)"],
  [/^is a DSA key, which OpenSSH no longer accepts \(generate one with: ssh-keygen -t ed25519\)$/, () => "est une clé DSA, qu'OpenSSH n'accepte plus (générez-en une avec : ssh-keygen -t ed25519)"],
  [/^starts with authorized_keys options \(give the bare key: type, base64, comment\)$/, () => "commence par des options authorized_keys (donnez la clé seule : type, base64, commentaire)"],
  [/^has unknown key type "(.*)" \(use an ssh-ed25519, ecdsa or ssh-rsa public key\)$/, (m) => `a un type de clé inconnu « ${g(m, 1)} » (utilisez une clé publique ssh-ed25519, ecdsa ou ssh-rsa)`],
  [/^contains a control character, quote, backslash, backtick or `\$` \(copy the key again from the \.pub file\)$/, () => "contient un caractère de contrôle, un guillemet, une barre oblique inverse, un accent grave ou `$` (recopiez la clé depuis le fichier .pub)"],
  [/^is not a valid OpenSSH public key \(copy the whole line of the \.pub file\)$/, () => "n'est pas une clé publique OpenSSH valide (copiez la ligne entière du fichier .pub)"],
  [/^is a security-key \(FIDO\) key, which a person holds; a host key is the host's own \(get it with: ssh-keyscan -t ed25519 HOST\)$/, () => "est une clé de sécurité (FIDO), que détient une personne ; une clé d'hôte est celle de l'hôte lui-même (obtenez-la avec : ssh-keyscan -t ed25519 HOST)"],
  [/^is an RSA key of (\d+) bits, under the (\d+) required \(generate one with: ssh-keygen -t ed25519\)$/, (m) => `est une clé RSA de ${g(m, 1)} bits, moins que les ${g(m, 2)} exigés (générez-en une avec : ssh-keygen -t ed25519)`],

  // lib/schema/system-names.ts
  [/^"(.+)" is a system account name \(choose another handle\)$/, (m) => `« ${g(m, 1)} » est un nom de compte système (choisissez un autre identifiant)`],
  [/^"(.+)" starts with "(.+)", kept for (.+) \(choose another handle\)$/, (m) => `« ${g(m, 1)} » commence par « ${g(m, 2)} », réservé à ${g(m, 3)} (choisissez un autre identifiant)`],
  [/^must be 2 to 32 characters: a lowercase letter, then a-z, 0-9 or _ \(like "velo_wp"\)$/, () => "doit faire de 2 à 32 caractères : une lettre minuscule, puis a-z, 0-9 ou _ (comme « velo_wp »)"],
  [/^"(.+)" is reserved: (.+) \(choose another name, like "velo_wp"\)$/, (m) => `« ${g(m, 1)} » est réservé : ${g(m, 2)} (choisissez un autre nom, comme « velo_wp »)`],
  [/^"(.+)" starts with "(.+)", (.+) \(choose another name, like "velo_wp"\)$/, (m) => `« ${g(m, 1)} » commence par « ${g(m, 2)} », ${g(m, 3)} (choisissez un autre nom, comme « velo_wp »)`],

  // lib/schema/common.ts
  [/^"(.*)" is not an IPv4 address in dotted form \(write it like 203\.0\.113\.20\)$/, (m) => `« ${g(m, 1)} » n'est pas une adresse IPv4 en notation pointée (écrivez-la comme 203.0.113.20)`],
  [/^"(.*)" is not an IPv6 address \(write it like 2001:db8:42::20\)$/, (m) => `« ${g(m, 1)} » n'est pas une adresse IPv6 (écrivez-la comme 2001:db8:42::20)`],
  [/^must be written in its canonical short form \(write "(.+)"\)$/, (m) => `doit être écrite sous sa forme courte canonique (écrivez « ${g(m, 1)} »)`],
  [/^"(.*)" is not a MAC address \(write six lowercase hex pairs like 52:54:00:12:34:56\)$/, (m) => `« ${g(m, 1)} » n'est pas une adresse MAC (écrivez six paires hexadécimales en minuscules, comme 52:54:00:12:34:56)`],
  [/^is a multicast MAC address \(the first byte must be even; use the 52:54:00 prefix\)$/, () => "est une adresse MAC multicast (le premier octet doit être pair ; utilisez le préfixe 52:54:00)"],
  [/^must be an IPv(\d) prefix \(like (.+)\)$/, (m) => `doit être un préfixe IPv${g(m, 1)} (comme ${g(m, 2)})`],
  [/^must name the network address \(write "(.+)"\)$/, (m) => `doit nommer l'adresse du réseau (écrivez « ${g(m, 1)} »)`],
  [/^"(.*)" is not a prefix in CIDR form \(write it like (.+)\)$/, (m) => `« ${g(m, 1)} » n'est pas un préfixe en notation CIDR (écrivez-le comme ${g(m, 2)})`],
  [/^contains (.+?) \(write a plain address like bureau@velo-libre\.example\)$/, (m) => `contient ${phrase(g(m, 1))} (écrivez une adresse simple comme bureau@velo-libre.example)`],
  [/^is not an e-mail address \(write it like bureau@velo-libre\.example\)$/, () => "n'est pas une adresse e-mail (écrivez-la comme bureau@velo-libre.example)"],
  // A mail local part (lib/schema/mail.ts, localPartProblem): what a member types in the portal's alias form.
  [/^must not be empty \(write the part before the @, like "contact"\)$/, () => "ne doit pas être vide (écrivez la partie avant le @, comme « contact »)"],
  [/^is (\d+) characters, over the 64 a local part may have \(shorten it\)$/, (m) => `fait ${g(m, 1)} caractères, plus que les 64 permis avant le @ (raccourcissez-le)`],
  [/^must be the part before the @ only \(write "(.*)"\)$/, (m) => `doit être seulement la partie avant le @ (écrivez « ${g(m, 1)} »)`],
  [/^must be in lower case \(write "(.*)"\)$/, (m) => `doit être en minuscules (écrivez « ${g(m, 1)} »)`],
  [/^may hold only a-z, 0-9, '\.', '_' and '-', starting and ending with a letter or digit$/, () => "ne peut contenir que a-z, 0-9, « . », « _ » et « - », et doit commencer et finir par une lettre ou un chiffre"],
  [/^must not have two dots in a row$/, () => "ne doit pas avoir deux points à la suite"],
  [/^must not be empty \(write the text\)$/, () => "ne doit pas être vide (écrivez le texte)"],
  [/^is (\d+) characters, over the (\d+) allowed \(shorten it\)$/, (m) => `fait ${g(m, 1)} caractères, plus que les ${g(m, 2)} permis (raccourcissez-le)`],
  [/^contains a line break or control character \(write it on one line\)$/, () => "contient un saut de ligne ou un caractère de contrôle (écrivez-le sur une ligne)"],
  [/^contains <, >, a backtick, a backslash or `\$\(` \(remove them\)$/, () => "contient <, >, un accent grave, une barre oblique inverse ou `$(` (retirez-les)"],
  // lib/schema/inventory.ts, shards: a bucket's number.
  [/^must be a whole number from 0 \(write a number without quotes\)$/, () => "doit être un nombre entier à partir de 0 (écrivez un nombre sans guillemets)"],
  [/^must be a whole number$/, () => "doit être un nombre entier"],
  [/^must be 0 or more \(the first bucket is 0\)$/, () => "doit valoir 0 ou plus (le premier seau est le 0)"],
  [/^must be a whole number of (.+) \(write a number without quotes\)$/, (m) => `doit être un nombre entier de ${unit(g(m, 1))} (écrivez un nombre sans guillemets)`],
  [/^must be a whole number of (.+)$/, (m) => `doit être un nombre entier de ${unit(g(m, 1))}`],
  [/^must be at least 1 (.+)$/, (m) => `doit valoir au moins 1 ${unit(g(m, 1))}`],
  [/^must be at most (\d+) (.+) \(ask the hosting team if you need more\)$/, (m) => `doit valoir au plus ${g(m, 1)} ${unit(g(m, 2))} (demandez à l'équipe d'hébergement s'il vous en faut plus)`],
  [/^must be quoted, like php: "(.+)" \(unquoted, YAML reads 8\.10 as the number 8\.1\)$/, (m) => `doit être entre guillemets, comme php: "${g(m, 1)}" (sans guillemets, YAML lit 8.10 comme le nombre 8.1)`],
  [/^must be a PHP version like "8\.2", or "none"$/, () => "doit être une version de PHP comme \"8.2\", ou \"none\""],
  [/^must be a number of seconds \(write a number without quotes\)$/, () => "doit être un nombre de secondes (écrivez un nombre sans guillemets)"],
  [/^must be at least 60 seconds \(use 300 for names you change often\)$/, () => "doit valoir au moins 60 secondes (mettez 300 pour les noms que vous changez souvent)"],
  [/^must be at most 604800 seconds, one week \(use 86400 for stable names\)$/, () => "doit valoir au plus 604800 secondes, une semaine (mettez 86400 pour les noms stables)"],

  // lib/schema/member.ts, vps.ts
  [/^must be a relative folder like "public" or "dolibarr\/htdocs" \(letters, digits, _ and -, separated by \/\)$/, () => "doit être un dossier relatif comme « public » ou « dolibarr/htdocs » (lettres, chiffres, _ et -, séparés par /)"],
  [/^must be "acme" or "none"$/, () => "doit être \"acme\" ou \"none\""],
  [/^must be "managed" \(default\) or "external"$/, () => "doit être \"managed\" (par défaut) ou \"external\""],
  [/^tls: none needs a stated reason \(add tls_none_reason: "…", or remove tls to get HTTPS\)$/, () => "tls: none demande une raison écrite (ajoutez tls_none_reason: \"…\", ou retirez tls pour avoir HTTPS)"],
  // access: sftp (lib/schema/member.ts, password-hash.ts)
  [/^must be "ssh" \(keys and a shell\) or "sftp" \(SFTP only, with keys and\/or sftp_password_hash\)$/, () => "doit être \"ssh\" (clés et un shell) ou \"sftp\" (SFTP seulement, avec des clés et/ou sftp_password_hash)"],
  // lib/schema/inventory.ts (disk_quota) and lib/schema/php-settings.ts (php.defaults): a default above its maximum.
  [/^(\w+) \((\d+)\) is above (\w+) \((\d+)\): a member asking for nothing would already be over the limit \(lower \w+ or raise \w+\)$/, (m) => `${g(m, 1)} (${g(m, 2)}) dépasse ${g(m, 3)} (${g(m, 4)}) : un adhérent qui ne demande rien serait déjà au-delà de la limite (baissez ${g(m, 1)} ou relevez ${g(m, 3)})`],
  [/^is (\d+), above php\.max\.(\w+) \((\d+)\): a site asking for nothing would already be over the limit \(lower the default or raise the maximum\)$/, (m) => `vaut ${g(m, 1)}, au-dessus de php.max.${g(m, 2)} (${g(m, 3)}) : un site qui ne demande rien serait déjà au-delà de la limite (baissez la valeur par défaut ou relevez le maximum)`],
  [/^sftp needs a way in: add ssh_keys, or sftp_password_hash \(make one with: mkpasswd -m yescrypt\)$/, () => "sftp demande un moyen d'entrer : ajoutez ssh_keys, ou sftp_password_hash (fabriquez-le avec : mkpasswd -m yescrypt)"],
  [/^only works with access: sftp \(an ssh account logs in with keys only: add access: sftp, or remove sftp_password_hash\)$/, () => "ne sert qu'avec access: sftp (un compte ssh se connecte uniquement par clé : ajoutez access: sftp, ou retirez sftp_password_hash)"],
  [/^is not a password hash: never write the password itself here \(make one with: mkpasswd -m yescrypt \(Debian package whois\), and paste the line it prints, in quotes\)$/, () => `n'est pas une empreinte de mot de passe : n'écrivez jamais le mot de passe lui-même ici (${HASH_HINT_FR})`],
  [/^uses an old or unsupported hash method: only yescrypt \(\$y\$…\) or sha512-crypt \(\$6\$…\) are accepted \(make one with: mkpasswd -m yescrypt \(Debian package whois\), and paste the line it prints, in quotes\)$/, () => `utilise une méthode d'empreinte ancienne ou non prise en charge : seules yescrypt ($y$…) et sha512-crypt ($6$…) sont acceptées (${HASH_HINT_FR})`],
  [/^is not a whole yescrypt \(\$y\$…\) or sha512-crypt \(\$6\$…\) hash \(make one with: mkpasswd -m yescrypt \(Debian package whois\), and paste the line it prints, in quotes\)$/, () => `n'est pas une empreinte yescrypt ($y$…) ou sha512-crypt ($6$…) complète (${HASH_HINT_FR})`],
  [/^only makes sense with tls: none \(remove it\)$/, () => "n'a de sens qu'avec tls: none (retirez-le)"],
  [/^must be "active", "suspended" or "departed"$/, () => "doit être \"active\", \"suspended\" ou \"departed\""],
  [/^must be at least 256 MB \(a Debian guest needs 512 MB to be comfortable\)$/, () => "doit valoir au moins 256 Mo (un invité Debian est à l'aise avec 512 Mo)"],
  [/^must be at least 3 GB \(the base image needs 2 GB\)$/, () => "doit valoir au moins 3 Go (l'image de base occupe 2 Go)"],
  [/^must list at least one key \(or remove ssh_keys to use the member's keys\)$/, () => "doit lister au moins une clé (ou retirez ssh_keys pour utiliser les clés du membre)"],
  [/^needs an address: ipv4, ipv6 or both \(pick free ones from the VPS pools in Pulumi\.<stack>\.yaml\)$/, () => "demande une adresse : ipv4, ipv6 ou les deux (prenez-en de libres dans les plages des VPS de Pulumi.<pile>.yaml)"],

  // lib/schema/zone.ts
  [/^contains a line break or control character \(write it on one line; long values are split for you\)$/, () => "contient un saut de ligne ou un caractère de contrôle (écrivez-le sur une ligne ; les valeurs longues sont découpées pour vous)"],
  [/^contains a double quote \(remove it; the value is quoted for you\)$/, () => "contient un guillemet double (retirez-le ; la valeur est mise entre guillemets pour vous)"],
  [/^contains a backslash \(remove it\)$/, () => "contient une barre oblique inverse (retirez-la)"],
  [/^contains a backtick \(remove it\)$/, () => "contient un accent grave (retirez-le)"],
  [/^contains `\$\(` \(remove it\)$/, () => "contient `$(` (retirez-le)"],
  [/^contains a zone-file directive such as \$INCLUDE \(remove it\)$/, () => "contient une directive de fichier de zone telle que $INCLUDE (retirez-la)"],
  [/^is (\d+) bytes, over the (\d+) allowed \(shorten it\)$/, (m) => `fait ${g(m, 1)} octets, plus que les ${g(m, 2)} permis (raccourcissez-le)`],
  [/^must be a number \((.+)\)$/, (m) => `doit être un nombre (${g(m, 1)})`],
  [/^must be a whole number \((.+)\)$/, (m) => `doit être un nombre entier (${g(m, 1)})`],
  [/^must be 0 or more \((.+)\)$/, (m) => `doit valoir 0 ou plus (${g(m, 1)})`],
  [/^must be at most (\d+) \((.+)\)$/, (m) => `doit valoir au plus ${g(m, 1)} (${g(m, 2)})`],
  [/^must be lowercase hexadecimal \((.+)\)$/, (m) => `doit être en hexadécimal minuscule (${g(m, 1)})`],
  [/^must have an even number of hex digits \((.+)\)$/, (m) => `doit avoir un nombre pair de chiffres hexadécimaux (${g(m, 1)})`],
  [/^must be "issue", "issuewild" or "iodef"$/, () => "doit être \"issue\", \"issuewild\" ou \"iodef\""],
  [/^type must be one of A, AAAA, CNAME, MX, TXT, SRV, CAA, NS, PTR, SSHFP, TLSA \(write it in capitals\)$/, () => "type doit être l'un de A, AAAA, CNAME, MX, TXT, SRV, CAA, NS, PTR, SSHFP, TLSA (en majuscules)"],
  [/^is the zone itself \(name the sub-zone relative to this zone, like "radio" for radio\.<this zone>\)$/, () => "est la zone elle-même (nommez la sous-zone relativement à cette zone, comme « radio » pour radio.<cette zone>)"],
  [/^must be a sub-zone name of letters, digits and hyphens \(no "\*" or "_" labels\)$/, () => "doit être un nom de sous-zone en lettres, chiffres et tirets (pas d'étiquette « * » ni « _ »)"],
  [/^must be true or false$/, () => "doit être true ou false"],
  [/^"(.+)" is already delegated at delegations\[(\d+)\] \(a sub-zone has one owner; remove one of them\)$/, (m) => `« ${g(m, 1)} » est déjà délégué en delegations[${g(m, 2)}] (une sous-zone a un seul propriétaire ; retirez l'une des deux)`],

  // lib/schema/inventory.ts (volunteers rarely edit it; the hosting team does)
  [/^must be an absolute path of letters, digits, '\.', '_', '-' and '\/' \(like \/var\/backups\/globenet\)$/, () => "doit être un chemin absolu en lettres, chiffres, '.', '_', '-' et '/' (comme /var/backups/globenet)"],
  [/^must not contain `\.\.` \(write the real path\)$/, () => "ne doit pas contenir `..` (écrivez le vrai chemin)"],
  [/^must not contain `\.\.`$/, () => "ne doit pas contenir `..`"],
  [/^must be a TCP port, 1-65535$/, () => "doit être un port TCP, de 1 à 65535"],
  [/^needs at least one role$/, () => "demande au moins un rôle"],
  [/^lists a role twice \(remove the repeat\)$/, () => "liste un rôle deux fois (retirez la répétition)"],
  [/^needs at least one host$/, () => "demande au moins un hôte"],
  [/^must be a PHP version like "8\.2" \(quoted\)$/, () => "doit être une version de PHP comme \"8.2\" (entre guillemets)"],
  [/^must be three lowercase hex pairs like 52:54:00$/, () => "doit être trois paires hexadécimales en minuscules, comme 52:54:00"],
  [/^must be "warn" \(validate prints it, nothing is refused\) or "error" \(validate refuses the data\)$/, () => "doit être \"warn\" (validate l'affiche, rien n'est refusé) ou \"error\" (validate refuse les données)"],
];

/** "handle", "VPS name"… inside an identifier message. */
function what(s: string): string {
  const words: Record<string, string> = { handle: "identifiant", "host name": "nom d'hôte", "VPS name": "nom de VPS", "image name": "nom d'image" };
  return words[s] ?? s;
}

/** The French of an English message of the loader or the schemas, or undefined when the catalog has none. */
export function french(message: string): string | undefined {
  for (const [re, fr] of ENTRIES) {
    const m = re.exec(message);
    if (m) return fr(m);
  }
  return undefined;
}
