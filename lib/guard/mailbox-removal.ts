import { RESOURCE_TOKENS } from "../base/tokens";
import { removedMailboxes } from "../model/mail";
import type { PlanStep } from "./plan";
import type { Loss } from "./rules";

/**
 * A mailbox taken out of a mail domain that stays (its line gone from `mailboxes:`, or turned
 * into an alias) is an *update* of the domain's Maildirs resource, never a delete: the provider
 * archives <vmail>/<domain>/<local> (verified) and then removes it, so that the address made
 * again later starts empty. As for a site (./site-removal.ts), the resource's mailbox list before
 * and after is compared here: each mailbox that goes is a loss, allowed by its own path, its
 * domain's or its member's.
 */
export function mailboxLosses(step: PlanStep): Loss[] {
  // A deleted or replaced domain is already a loss as a whole (every maildir).
  if (step.type !== RESOURCE_TOKENS.maildirs || step.op !== "update") return [];
  const gone = removedMailboxes(step.old?.mailboxes, step.new?.mailboxes);
  const i = step.old ?? {};
  const handle = typeof i.handle === "string" ? i.handle : step.name;
  const domain = typeof i.domain === "string" ? i.domain : step.name;
  const t = i.target;
  const host = t && typeof t === "object" && typeof (t as Record<string, unknown>).name === "string" ? ((t as Record<string, unknown>).name as string) : "?";
  const archiveDir = typeof step.new?.archiveDir === "string" ? step.new.archiveDir : typeof i.archiveDir === "string" ? i.archiveDir : "<archive_dir>";
  return gone.map((local) => {
    const archive = `${archiveDir}/mail/${handle}--${domain}--${local}-<UTC time>.tar.gz`;
    return {
      path: `members/${handle}/mail/${domain}/${local}`,
      coveredBy: [`members/${handle}/mail/${domain}`, `members/${handle}`],
      description: `members/${handle}: the mailbox ${local}@${domain} (its maildir, every message) would be deleted on ${host}; the address made again later starts empty`,
      archive: `${archive} on ${host}, verified before anything is removed`,
      fr: {
        description: `members/${handle} : la boîte ${local}@${domain} (son maildir, tous ses messages) serait supprimée sur ${host} ; l'adresse recréée plus tard repartirait vide`,
        archive: `${archive.replace("<UTC time>", "<heure UTC>")} sur ${host}, vérifiée avant toute suppression`,
      },
    };
  });
}
