import { invPath, type Ctx } from "./context";
import type { Role } from "../schema/inventory";
import { hostsWithRole } from "./hosts";

/**
 * The inventory's shard rule (docs/architecture.md, "Sharded stacks") may not make two shards
 * write one object: every host is in exactly one shard (its host-wide file sets — Apache's
 * vhosts, BIND's zones… — are then declared by that shard alone), and the DNS primary shares
 * its shard with every secondary (the zone transfer key is made by the primary's copy and
 * handed to the secondaries' inside one program) and every mail host (its DKIM keys' public
 * halves go into the primary's zone files).
 */
export function checkShards(ctx: Ctx): void {
  const shards = ctx.inventory.value.shards;
  if (!shards) return;
  const hosts = ctx.inventory.value.hosts;
  const where = new Map<string, string>();
  for (const [shard, { hosts: list }] of Object.entries(shards)) {
    list.forEach((h, i) => {
      const at = invPath(ctx, "shards", shard, "hosts", i);
      if (!hosts[h]) {
        ctx.report.at(ctx.inventory.src, at, { en: `unknown host "${h}" (the inventory's hosts: ${Object.keys(hosts).join(", ")})`, fr: `hôte « ${h} » inconnu (hôtes de l'inventaire : ${Object.keys(hosts).join(", ")})` });
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
