/** What identifies the machine behind an inventory host: its name, and where SSH reaches it. */
export interface HostIdentity {
  name: string;
  address?: string;
  port?: number;
}

/**
 * Whether two targets are one machine: the same inventory name (a reinstalled host, a new SSH
 * user or a renumbered host stays itself), or the same address and port under another name (a
 * host renamed in the inventory; the lab's hosts on one sshd). A resource that holds data on its
 * host replaces itself only when the machine changes: a rename alone must never archive and
 * remove what it would make again at once on the same machine. The provider's diffs and the
 * offline guard (lib/guard/offline.ts) both decide with it.
 */
export function sameHost(a: HostIdentity | undefined, b: HostIdentity | undefined): boolean {
  if (!a || !b) return a === b;
  return a.name === b.name || (a.address === b.address && a.port === b.port);
}
