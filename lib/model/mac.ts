import { createHash } from "node:crypto";

/**
 * A stable MAC for a VPS that declares none: the inventory's prefix plus three bytes of
 * SHA-256 of "<handle>/<name>", so it never changes while the VPS keeps its name.
 */
export function derivedMac(prefix: string, handle: string, name: string): string {
  const h = createHash("sha256").update(`${handle}/${name}`).digest();
  const tail = [h[0], h[1], h[2]].map((b) => (b as number).toString(16).padStart(2, "0")).join(":");
  return `${prefix}:${tail}`;
}
