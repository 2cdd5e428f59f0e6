/**
 * Members' mail (members/<handle>/member.yaml `mail:`), checked across files: the domain is in a
 * zone the member owns, one owner per domain, one use per address, RFC 2142's addresses are
 * Globenet's, aliases lead somewhere (no loop, no missing local address), forwards and quotas
 * within the inventory's limits, and a mail host exists. Returns what the mail host serves.
 */
import type { Ctx } from "./context";
import { cmp, forwardZones, invPath } from "./context";
import { hostsWithRole } from "./hosts";
import { GLOBENET_HANDLE } from "./zones";
import { zoneFor } from "../model/dns-names";
import { RFC2142 } from "../model/mail";
import type { MailDomainModel } from "../model/types";
import type { LoadedMember } from "../load/tree";


type Path = Array<string | number>;

/** The mail host, when the stack has exactly one (reported otherwise). */
export function checkMailHost(ctx: Ctx): string | undefined {
  const hosts = hostsWithRole(ctx, "mail");
  if (hosts.length > 1) {
    ctx.report.at(ctx.inventory.src, invPath(ctx, "hosts", hosts[1] as string, "roles"), {
      en: `only one host may have the mail role for now, found ${hosts.join(", ")} (keep it on one; a second MX is not built yet)`,
      fr: `un seul hôte peut avoir le rôle mail pour l'instant, il y en a ${hosts.length} (${hosts.join(", ")}) (gardez-le sur un seul ; un second MX n'existe pas encore)`,
    });
  }
  checkRetiredSelectors(ctx);
  return hosts[0];
}

/** A retired DKIM selector is neither the current one nor listed twice (its key and TXT exist once). */
function checkRetiredSelectors(ctx: Ctx): void {
  const { dkim_selector: current, dkim_retired_selectors: retired } = ctx.inventory.value.mail;
  retired.forEach((s, i) => {
    const path = invPath(ctx, "mail", "dkim_retired_selectors", i);
    if (s === current) {
      ctx.report.at(ctx.inventory.src, path, {
        en: `"${s}" is the current dkim_selector: a retired selector is an earlier one (list the selector you rotated away from)`,
        fr: `« ${s} » est le dkim_selector actuel : un sélecteur retiré est un ancien (indiquez celui que vous venez de remplacer)`,
      });
    } else if (retired.indexOf(s) < i) {
      ctx.report.at(ctx.inventory.src, path, { en: `"${s}" is listed twice (keep one)`, fr: `« ${s} » figure deux fois (gardez-en un)` });
    }
  });
}

interface Owned {
  handle: string;
  src: LoadedMember["src"];
  path: Path;
}

export function checkMail(ctx: Ctx, mailHost: string | undefined): MailDomainModel[] {
  const inv = ctx.inventory.value;
  const forward = forwardZones(ctx);
  const domains = new Map<string, Owned>();
  const out: MailDomainModel[] = [];
  // The domains served here and every address they define (mailbox or alias), to check local targets.
  const served = new Set<string>();
  const defined = new Set<string>();
  for (const m of ctx.current) {
    for (const d of m.value.mail) {
      served.add(d.domain);
      for (const x of [...d.mailboxes, ...d.aliases]) defined.add(`${x.local}@${d.domain}`);
    }
  }

  for (const m of ctx.current) {
    const handle = m.value.handle;
    if (m.value.mail.length > 0 && !mailHost) {
      ctx.report.at(m.src, ["mail"], {
        en: `the stack has no host with the mail role (add one to Pulumi.${ctx.tree.stack}.yaml, or remove mail)`,
        fr: `la pile n'a aucun hôte ayant le rôle mail (ajoutez-en un dans Pulumi.${ctx.tree.stack}.yaml, ou retirez mail)`,
      });
    }
    m.value.mail.forEach((d, i) => {
      const at: Path = ["mail", i];
      const prev = domains.get(d.domain);
      if (prev) {
        const where = prev.handle === handle ? `also at mail[${prev.path[1]}]` : `by ${prev.handle} (${prev.src.file})`;
        const whereFr = prev.handle === handle ? `aussi en mail[${prev.path[1]}]` : `par ${prev.handle} (${prev.src.file})`;
        ctx.report.at(m.src, [...at, "domain"], { en: `mail for ${d.domain} is already declared ${where} (a domain's mail is in one place; merge them)`, fr: `le courriel de ${d.domain} est déjà déclaré ${whereFr} (le courriel d'un domaine est en un seul endroit ; fusionnez-les)` });
        return;
      }
      domains.set(d.domain, { handle, src: m.src, path: at });

      const zone = zoneFor(d.domain, forward);
      const owner = zone === undefined ? undefined : ctx.tree.zones.get(zone)?.value.owner;
      if (!zone) {
        ctx.report.at(m.src, [...at, "domain"], { en: `${d.domain} is in no zone Globenet serves (add zones/<domain>.yaml: its MX, SPF and DKIM records are derived there)`, fr: `${d.domain} n'est dans aucune zone que sert Globenet (ajoutez zones/<domaine>.yaml : ses enregistrements MX, SPF et DKIM y sont déduits)` });
        return;
      }
      if (owner !== handle) {
        ctx.report.at(m.src, [...at, "domain"], { en: `${d.domain} is in the zone ${zone}, owned by ${owner} (mail is for a domain the member owns: ask them, or transfer the zone)`, fr: `${d.domain} est dans la zone ${zone}, qui appartient à ${owner} (le courriel est pour un domaine du membre : demandez-lui, ou transférez la zone)` });
        return;
      }

      const locals = new Map<string, Path>();
      const claim = (local: string, path: Path) => {
        // Globenet's own domains define where these go (its hostmaster mailbox, say).
        if ((RFC2142 as readonly string[]).includes(local) && handle !== GLOBENET_HANDLE) {
          ctx.report.at(m.src, path, { en: `${local}@${d.domain} is Globenet's (RFC 2142: it reaches the hosting team on every domain; choose another name)`, fr: `${local}@${d.domain} est à Globenet (RFC 2142 : cette adresse joint l'équipe d'hébergement sur chaque domaine ; choisissez un autre nom)` });
          return false;
        }
        const first = locals.get(local);
        if (first) {
          ctx.report.at(m.src, path, { en: `${local}@${d.domain} is already defined at ${first.slice(2).join(".")} (an address is a mailbox or an alias, once; remove one)`, fr: `${local}@${d.domain} est déjà défini en ${first.slice(2).join(".")} (une adresse est une boîte ou un alias, une seule fois ; retirez-en un)` });
          return false;
        }
        locals.set(local, path);
        return true;
      };
      const mailboxes: MailDomainModel["mailboxes"] = [];
      d.mailboxes.forEach((b, j) => {
        const path: Path = [...at, "mailboxes", j];
        if (!claim(b.local, [...path, "local"])) return;
        const quota = b.quota_mb ?? inv.mail.default_quota_mb;
        if (quota > inv.mail.max_quota_mb) {
          ctx.report.at(m.src, [...path, "quota_mb"], { en: `${quota} MB is over the inventory's mail.max_quota_mb of ${inv.mail.max_quota_mb} MB (lower it, or ask the hosting team)`, fr: `${quota} Mo dépasse mail.max_quota_mb de l'inventaire, ${inv.mail.max_quota_mb} Mo (baissez-le, ou demandez à l'équipe d'hébergement)` });
        }
        mailboxes.push({ address: `${b.local}@${d.domain}`, local: b.local, quotaMb: quota, passwordHash: b.password_hash });
      });
      const aliases: MailDomainModel["aliases"] = [];
      let forwards = 0;
      d.aliases.forEach((a, j) => {
        const path: Path = [...at, "aliases", j];
        if (!claim(a.local, [...path, "local"])) return;
        const to = a.to.map((t) => (t.includes("@") ? t.toLowerCase() : `${t}@${d.domain}`));
        to.forEach((t, k) => {
          const domain = t.slice(t.lastIndexOf("@") + 1);
          if (RFC2142.some((l) => t === `${l}@${domain}`)) return;
          if (served.has(domain)) {
            if (!defined.has(t)) {
              ctx.report.at(m.src, [...path, "to", k], { en: `${t} does not exist: ${domain} is served here and has no mailbox or alias ${t.slice(0, t.lastIndexOf("@"))} (add it, or correct the address)`, fr: `${t} n'existe pas : ${domain} est servi ici et n'a ni boîte ni alias ${t.slice(0, t.lastIndexOf("@"))} (ajoutez-le, ou corrigez l'adresse)` });
            }
          } else forwards++;
        });
        if (new Set(to).size !== to.length) {
          ctx.report.at(m.src, [...path, "to"], { en: `lists an address twice (remove the repeat)`, fr: `cite deux fois la même adresse (retirez la répétition)` });
        }
        aliases.push({ address: `${a.local}@${d.domain}`, local: a.local, to });
      });
      if (forwards > inv.mail.max_forwards) {
        ctx.report.at(m.src, [...at, "aliases"], { en: `forwards to ${forwards} outside addresses, over the inventory's mail.max_forwards of ${inv.mail.max_forwards} (forwarding is what gets a server listed as a spam source; ask the hosting team)`, fr: `fait suivre vers ${forwards} adresses extérieures, plus que mail.max_forwards de l'inventaire, ${inv.mail.max_forwards} (faire suivre fait classer un serveur comme source de spam ; demandez à l'équipe d'hébergement)` });
      }
      if (d.catch_all !== undefined && !d.mailboxes.some((b) => b.local === d.catch_all)) {
        ctx.report.at(m.src, [...at, "catch_all"], { en: `${d.catch_all}@${d.domain} is not a mailbox of this domain (a catch-all delivers into one of its mailboxes)`, fr: `${d.catch_all}@${d.domain} n'est pas une boîte de ce domaine (le fourre-tout livre dans l'une de ses boîtes)` });
      }
      if (mailHost) out.push({ handle, status: m.value.status, domain: d.domain, zone, mailHost, mailboxes, aliases, ...(d.catch_all ? { catchAll: `${d.catch_all}@${d.domain}` } : {}), file: m.src.file });
    });
  }
  checkAliasLoops(ctx, out);
  return out.sort((a, b) => cmp(a.domain, b.domain));
}

/** An alias that leads back to itself: Postfix would bounce every message to it. */
function checkAliasLoops(ctx: Ctx, domains: MailDomainModel[]): void {
  const next = new Map<string, string[]>();
  const where = new Map<string, { d: MailDomainModel; j: number }>();
  for (const d of domains) {
    d.aliases.forEach((a, j) => {
      next.set(a.address, a.to);
      where.set(a.address, { d, j });
    });
  }
  const reported = new Set<string>();
  for (const start of next.keys()) {
    // Depth-first from `start`, looking for `start` again.
    const stack: Array<{ at: string; trail: string[] }> = [{ at: start, trail: [start] }];
    const seen = new Set<string>();
    while (stack.length > 0) {
      const { at, trail } = stack.pop() as { at: string; trail: string[] };
      for (const t of next.get(at) ?? []) {
        if (t === start) {
          const cycle = [...trail, start];
          const key = [...cycle.slice(0, -1)].sort().join(" ");
          if (reported.has(key)) continue;
          reported.add(key);
          const w = where.get(start);
          const member = w ? ctx.tree.members.get(w.d.handle) : undefined;
          if (w && member) {
            const domainIndex = member.value.mail.findIndex((x) => x.domain === w.d.domain);
            const aliasIndex = member.value.mail[domainIndex]?.aliases.findIndex((x) => `${x.local}@${w.d.domain}` === start) ?? -1;
            ctx.report.at(member.src, ["mail", domainIndex, "aliases", aliasIndex, "to"], { en: `the aliases loop: ${cycle.join(" → ")} (mail would go round until bounced; make one of them deliver to a mailbox)`, fr: `les alias bouclent : ${cycle.join(" → ")} (le courrier tournerait jusqu'au rejet ; faites livrer l'un d'eux dans une boîte)` });
          }
        } else if (next.has(t) && !seen.has(t)) {
          seen.add(t);
          stack.push({ at: t, trail: [...trail, t] });
        }
      }
    }
  }
}
