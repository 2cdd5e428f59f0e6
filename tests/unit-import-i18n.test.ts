import { describe, expect, it } from "vitest";
import { importReasonFr } from "../lib/i18n/import-catalog";

/**
 * The French of npm run import's per-item reasons (lib/i18n/import-catalog.ts): one reason of
 * each kind the zone, site, account and database importers give, as they word it (the
 * legacy host's among them), and its French. Every reason of the guest importer's fixture
 * has its French too (tests/unit-import-guests.test.ts); its refusals are here.
 */
const TABLE: [string, string][] = [
  ["SOA: written by the stack (name servers, hostmaster, timers); BIND keeps the serial increasing", "SOA : écrit par la pile (serveurs de noms, hostmaster, délais) ; BIND garde le numéro de série croissant"],
  ["apex NS: derived from the stack's DNS hosts (Pulumi.<stack>.yaml)", "NS de l'apex : déduit des serveurs DNS de la pile (Pulumi.<stack>.yaml)"],
  ["DNSKEY: DNSSEC records are made by BIND's inline signing (the keys themselves are adopted with the zone, not written here)", "DNSKEY : les enregistrements DNSSEC sont faits par la signature en ligne de BIND (les clés sont adoptées avec la zone, pas écrites ici)"],
  ["A: derived from site velo-legacy.example (members/velo/member.yaml)", "A : déduit de site velo-legacy.example (members/velo/member.yaml)"],
  ["CNAME: www.alice.example is a name of an imported site, whose A/AAAA the stack derives (to its web host)", "CNAME : www.alice.example est un nom d'un site importé, dont la pile déduit les A/AAAA (vers son serveur web)"],
  ["the zone schema has no HINFO records (lib/schema/zone.ts lists the types it holds)", "le schéma des zones n'a pas d'enregistrements HINFO (lib/schema/zone.ts liste les types permis)"],
  ["TTL 30 is outside the schema's 60..604800 seconds: written with ttl 60", "TTL 30 hors des 60..604800 secondes du schéma : écrit avec ttl 60"],
  ["one of Debian's default zones (named.conf.default-zones): served by bind9 itself", "une des zones par défaut de Debian (named.conf.default-zones) : servie par bind9 lui-même"],
  ["vhost alice.example: the site schema has no field for this directive (it is not carried over: check the site works without it, or ask for the feature)", "vhost alice.example : le schéma des sites n'a pas de champ pour cette directive (elle n'est pas reprise : vérifiez que le site marche sans elle, ou demandez la fonction)"],
  ["cannot map it to a member: its owner root is not a member's login account (say who owns it in the map file: sites: { orphan.example: { member: <handle> } })", "impossible de l'attribuer à un adhérent : son propriétaire root n'est pas le compte de connexion d'un adhérent (dites à qui il est dans le fichier de correspondance : sites: { orphan.example: { member: <handle> } })"],
  ["two accounts claim this document root: bob (bob.example, /etc/apache2/sites-enabled/bob.conf:1) and alice (shop.alice.example, /etc/apache2/sites-enabled/shop.conf:2) (each site keeps its own folder in the stack: decide whose files these are)", "deux comptes revendiquent cette racine des documents : bob (bob.example, /etc/apache2/sites-enabled/bob.conf:1) et alice (shop.alice.example, /etc/apache2/sites-enabled/shop.conf:2) (dans la pile, chaque site a son propre dossier : décidez à qui sont ces fichiers)"],
  ["has options before the key (from=, command=, restrict…): the member file holds plain keys only (left out)", "a des options avant la clé (from=, command=, restrict…) : le fichier d'adhérent ne garde que des clés simples (laissée de côté)"],
  ["a MariaDB or Debian system account", "un compte système de MariaDB ou de Debian"],
  ['also has privileges on database "bob_old": the model has one account per database, named like it (bob_old@localhost); this account is not adopted', 'a aussi des droits sur database "bob_old" : le modèle a un compte par base, nommé comme elle (bob_old@localhost) ; ce compte n\'est pas adopté'],
  ["has SELECT on alice_wp, not ALL PRIVILEGES: adoption grants ALL PRIVILEGES (missing today: INSERT, UPDATE)", "a SELECT sur alice_wp, pas ALL PRIVILEGES : l'adoption donne ALL PRIVILEGES (manque aujourd'hui : INSERT, UPDATE)"],
  ["max_user_connections 900 is above the schema's 500: written as 500", "max_user_connections 900 dépasse les 500 du schéma : écrit 500"],
  ["the domain name contains a line break: refused, nothing written for it (rename it by hand: virsh domrename)", "le nom du domaine contient un saut de ligne : refusé, rien d'écrit pour lui (renommez-le à la main : virsh domrename)"],
  ["the domain name contains `$(`: refused, nothing written for it (rename it by hand: virsh domrename)", "le nom du domaine contient `$(` : refusé, rien d'écrit pour lui (renommez-le à la main : virsh domrename)"],
  ["its definition is not XML the import reads: line 1: DOCTYPE refused", "sa définition n'est pas du XML que l'import sait lire : line 1: DOCTYPE refused"],
  ["several addresses (203.0.113.45, 203.0.113.46): the model has one IPv4 and one IPv6 per VPS; the first of each written", "plusieurs adresses (203.0.113.45, 203.0.113.46) : le modèle a une IPv4 et une IPv6 par VPS ; la première de chaque écrite"],
];

describe("npm run import's reasons in French", () => {
  it.each(TABLE)("%s", (en, fr) => {
    expect(importReasonFr(en)).toBe(fr);
  });

  it("a reason the catalog lacks stays English (undefined here: the caller shows it as is)", () => {
    expect(importReasonFr("the model's clock is utc")).toBeUndefined();
  });
});
