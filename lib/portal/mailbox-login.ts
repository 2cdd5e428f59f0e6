import type { Model } from "../model/types";

/**
 * Logging in to the portal with a mailbox (docs/architecture.md, "Member portal"): the address
 * names the member whose mail domain holds it, and the password is checked against that
 * mailbox's Dovecot hash as the data holds it (the model the portal reads: git, where the
 * schema keeps mailbox hashes; never a clear password anywhere). Undefined for an address that
 * is no mailbox, or whose member departed (their mail is gone).
 */
export function mailboxLogin(model: Model, address: string): { handle: string; hash: string } | undefined {
  const a = address.trim().toLowerCase();
  for (const d of model.mail) {
    const box = d.mailboxes.find((b) => b.address === a);
    if (!box) continue;
    const member = model.members.find((m) => m.handle === d.handle);
    if (!member || member.status === "departed") return undefined;
    return { handle: d.handle, hash: box.passwordHash };
  }
  return undefined;
}
