import { invPath, type Ctx } from "./context";
import type { Role } from "../schema/inventory";
import { hostsWithRole } from "./hosts";
import type { Bilingual } from "../i18n/lang";

/** A shard names a host the inventory does not have (in `hosts:` or `members_of:`). */
function unknownHost(h: string, hosts: Record<string, unknown>): Bilingual {
  return { en: `unknown host "${h}" (the inventory's hosts: ${Object.keys(hosts).join(", ")})`, fr: `hôte « ${h} » inconnu (hôtes de l'inventaire : ${Object.keys(hosts).join(", ")})` };
}

/**
 * The inventory's shard rule (docs/architecture.md, "Sharded stacks") may not make two shards
 * write one object: every host is in exactly one shard (its host-wide file sets — Apache's
 * vhosts, BIND's zones… — are then declared by that shard alone), and the DNS primary shares
 * its shard with every secondary (the zone transfer key is made by the primary's copy and
 * handed to the secondaries' inside one program) and every mail host (its DKIM keys' public
 * halves go into the primary's zone files). A web host's members split by hash (`members_of:`)
 * are each in exactly one bucket: checkBuckets.
 */
export function checkShards(ctx: Ctx): void {
  const shards = ctx.inventory.value.shards;
  if (!shards) return;
  const hosts = ctx.inventory.value.hosts;
  const where = new Map<string, string>();
  for (const [shard, { hosts: list }] of Object.entries(shards)) {
    (list ?? []).forEach((h, i) => {
      const at = invPath(ctx, "shards", shard, "hosts", i);
      if (!hosts[h]) {
        const unknown = unknownHost(h, hosts);
        ctx.report.at(ctx.inventory.src, at, unknown);
        return;
      }
      const first = where.get(h);
      if (first !== undefined) {
        const same = first === shard;
        ctx.report.at(ctx.inventory.src, at, {
          en: same ? `host "${h}" is listed twice in shard ${shard} (keep one)` : `host "${h}" is already in shard ${first}: its host-wide objects (file sets, server settings, backups) would be written by two shards (keep it in one)`,
          fr: same ? `l'hôte « ${h} » figure deux fois dans le fragment ${shard} (gardez-en un)` : `l'hôte « ${h} » est déjà dans le fragment ${first} : ses objets communs à tout l'hôte (jeux de fichiers, réglages, sauvegardes) seraient écrits par deux fragments (gardez-le dans un seul)`,
        });
        return;
      }
      where.set(h, shard);
    });
  }
  checkBuckets(ctx, where);
  const missing = Object.keys(hosts).filter((h) => !where.has(h));
  if (missing.length) {
    ctx.report.at(ctx.inventory.src, invPath(ctx, "shards"), {
      en: `host(s) ${missing.join(", ")} in no shard: what is written on them would be in no stack (add each to one shard)`,
      fr: `hôte(s) ${missing.join(", ")} dans aucun fragment : ce qui y est écrit ne serait dans aucune pile (ajoutez chacun à un fragment)`,
    });
  }
  const [primary] = hostsWithRole(ctx, "dns-primary");
  const home = primary ? where.get(primary) : undefined;
  if (!primary || home === undefined) return;
  // The hosts whose stack must also be the primary's, and why (what crosses between them at apply).
  const beside: [role: Role, why: (h: string, theirs: string) => { en: string; fr: string }][] = [
    [
      "dns-secondary",
      (h, theirs) => ({
        en: `dns-secondary "${h}" is in shard ${theirs}, the dns-primary "${primary}" in ${home}: the zone transfer key goes from the primary's copy to the secondaries' in one stack (put ${h} in shard ${home})`,
        fr: `le dns-secondary « ${h} » est dans le fragment ${theirs}, le dns-primary « ${primary} » dans ${home} : la clé de transfert de zones passe de la copie du primaire à celles des secondaires dans une même pile (mettez ${h} dans le fragment ${home})`,
      }),
    ],
    [
      "mail",
      (h, theirs) => ({
        en: `mail host "${h}" is in shard ${theirs}, the dns-primary "${primary}" in ${home}: the zones publish the DKIM keys made on the mail host, known only inside one stack (put ${h} in shard ${home})`,
        fr: `l'hôte de messagerie « ${h} » est dans le fragment ${theirs}, le dns-primary « ${primary} » dans ${home} : les zones publient les clés DKIM faites sur l'hôte de messagerie, connues dans une seule pile (mettez ${h} dans le fragment ${home})`,
      }),
    ],
  ];
  for (const [role, why] of beside) {
    for (const h of hostsWithRole(ctx, role)) {
      const theirs = where.get(h);
      if (theirs === undefined || theirs === home) continue;
      const i = (shards[theirs]?.hosts ?? []).indexOf(h);
      const message = why(h, theirs);
      ctx.report.at(ctx.inventory.src, invPath(ctx, "shards", theirs, "hosts", i), message);
    }
  }
}

/**
 * `members_of:` shards (docs/architecture.md, "Members split by hash"): each names a web host
 * that is in a `hosts:` shard and holds no member portal, with `bucket:` below `buckets:`; the
 * shards of one host agree on `buckets:` and hold each bucket exactly once, so every member
 * hashed to that host is in exactly one stack.
 */
function checkBuckets(ctx: Ctx, hostShard: ReadonlyMap<string, string>): void {
  const shards = ctx.inventory.value.shards ?? {};
  const hosts = ctx.inventory.value.hosts;
  const portal = ctx.inventory.value.portal?.host;
  const at = (shard: string, ...rest: string[]) => invPath(ctx, "shards", shard, ...rest);
  const say = (path: Array<string | number>, m: Bilingual) => ctx.report.at(ctx.inventory.src, path, m);
  // Host → bucket count (the first shard's) and bucket → shard; hosts whose shards disagree on the count (said once).
  const split = new Map<string, { buckets: number; by: string; taken: Map<number, string> }>();
  const disagree = new Set<string>();
  for (const [shard, s] of Object.entries(shards)) {
    const bucketed = s.members_of !== undefined || s.bucket !== undefined || s.buckets !== undefined;
    if (s.hosts && bucketed) {
      say(at(shard, s.members_of !== undefined ? "members_of" : s.bucket !== undefined ? "bucket" : "buckets"), {
        en: `shard ${shard} has both hosts: and members_of:/bucket:/buckets: (a shard holds either hosts, or one bucket of a web host's members: make two shards)`,
        fr: `le fragment ${shard} a à la fois hosts: et members_of:/bucket:/buckets: (un fragment porte soit des hôtes, soit une part des adhérents d'un hôte web : faites-en deux)`,
      });
      continue;
    }
    if (!s.hosts && !bucketed) {
      say(at(shard), {
        en: `shard ${shard} holds nothing: give it hosts: [...] (the hosts whose objects it holds), or members_of: <web host> with bucket: and buckets:`,
        fr: `le fragment ${shard} ne porte rien : donnez-lui hosts: [...] (les hôtes dont il porte les objets), ou members_of: <hôte web> avec bucket: et buckets:`,
      });
      continue;
    }
    if (!bucketed) continue;
    if (s.members_of === undefined || s.bucket === undefined || s.buckets === undefined) {
      const lacks = (["members_of", "bucket", "buckets"] as const).filter((k) => s[k] === undefined);
      say(at(shard), {
        en: `shard ${shard} lacks ${lacks.join(" and ")}: a shard of a web host's members needs members_of: <web host>, bucket: <n> and buckets: <count> (for example members_of: web1, bucket: 0, buckets: 4)`,
        fr: `il manque ${lacks.join(" et ")} au fragment ${shard} : un fragment des adhérents d'un hôte web demande members_of: <hôte web>, bucket: <n> et buckets: <nombre> (par exemple members_of: web1, bucket: 0, buckets: 4)`,
      });
      continue;
    }
    const h = s.members_of;
    const host = hosts[h];
    if (!host) {
      say(at(shard, "members_of"), unknownHost(h, hosts));
      continue;
    }
    if (!host.roles.includes("web")) {
      say(at(shard, "members_of"), {
        en: `host "${h}" is not a web host (roles ${host.roles.join(", ")}): only a web host's members are split by hash; its own objects stay in its hosts: shard`,
        fr: `l'hôte « ${h} » n'est pas un hôte web (rôles ${host.roles.join(", ")}) : seuls les adhérents d'un hôte web se répartissent par hachage ; ses propres objets restent dans son fragment hosts:`,
      });
      continue;
    }
    if (portal !== undefined && (h === portal || (hostShard.has(h) && hostShard.get(h) === hostShard.get(portal)))) {
      const home = hostShard.get(portal) ?? "";
      say(at(shard, "members_of"), {
        en: `${h === portal ? `host "${h}" runs the member portal` : `host "${h}" is in shard ${home} with the member portal's host ${portal}`}: the portal's logins are the password hashes of the members of that shard, made in its own stack, and a split would take ${h}'s members out of it (split a web host of another shard, or move the portal: portal.host)`,
        fr: `${h === portal ? `l'hôte « ${h} » fait tourner le portail des adhérents` : `l'hôte « ${h} » est dans le fragment ${home} avec l'hôte du portail des adhérents, ${portal}`} : les identifiants du portail sont les empreintes des mots de passe des adhérents de ce fragment, faites dans sa propre pile, et la répartition en sortirait les adhérents de ${h} (répartissez un hôte web d'un autre fragment, ou déplacez le portail : portal.host)`,
      });
      continue;
    }
    if (s.bucket >= s.buckets) {
      say(at(shard, "bucket"), { en: `bucket ${s.bucket} is not below buckets: ${s.buckets} (the buckets are numbered 0 to ${s.buckets - 1})`, fr: `le seau ${s.bucket} n'est pas inférieur à buckets: ${s.buckets} (les seaux vont de 0 à ${s.buckets - 1})` });
      continue;
    }
    const seen = split.get(h);
    if (!seen) {
      split.set(h, { buckets: s.buckets, by: shard, taken: new Map([[s.bucket, shard]]) });
      continue;
    }
    if (seen.buckets !== s.buckets) {
      disagree.add(h);
      say(at(shard, "buckets"), {
        en: `${h}'s members are in ${seen.buckets} buckets by shard ${seen.by}, ${s.buckets} here: every members_of: ${h} shard says the same buckets:`,
        fr: `les adhérents de ${h} sont en ${seen.buckets} seaux d'après le fragment ${seen.by}, ${s.buckets} ici : tous les fragments members_of: ${h} donnent le même buckets:`,
      });
      continue;
    }
    const other = seen.taken.get(s.bucket);
    if (other !== undefined) {
      say(at(shard, "bucket"), {
        en: `bucket ${s.bucket} of ${h}'s members is already shard ${other}: its members' accounts would be written by two shards (give each bucket one shard)`,
        fr: `le seau ${s.bucket} des adhérents de ${h} est déjà le fragment ${other} : les comptes de ses adhérents seraient écrits par deux fragments (un fragment par seau)`,
      });
      continue;
    }
    seen.taken.set(s.bucket, shard);
  }
  for (const [h, { buckets, by, taken }] of split) {
    const gaps = Array.from({ length: buckets }, (_, i) => i).filter((i) => !taken.has(i));
    if (gaps.length && !disagree.has(h)) {
      say(at(by, "buckets"), {
        en: `${h}'s bucket(s) ${gaps.join(", ")} of ${buckets} in no shard: the members hashed there would be in no stack (add a members_of: ${h} shard for each)`,
        fr: `seau(x) ${gaps.join(", ")} sur ${buckets} de ${h} dans aucun fragment : les adhérents qui y tombent ne seraient dans aucune pile (ajoutez un fragment members_of: ${h} pour chacun)`,
      });
    }
  }
}

