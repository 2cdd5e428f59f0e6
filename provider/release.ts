import { createHash } from "node:crypto";

/**
 * The portal's code as the apply ships it (docs/architecture.md, "Member portal", "Shipping
 * the code"): the pure part (what a release holds, its name, which old ones go). The build
 * (esbuild, on the runner) is provider/release-build.ts; the host's side is
 * provider/scripts/portal/portal.sh (`ship`, `prune`).
 *
 * A release is a tar of its files (provider/ssh/tar.ts tarOf: sorted, mtime 0, root's), so the
 * same code gives the same bytes; its name is the tar's sha256. The host unpacks it into
 * <releases>/<sha256> (root's, read-only to everyone else), checks the hash of what it received
 * against the name first, and points the `current` link at it in one rename.
 */

/** The bundle's file name in a release (the unit runs `node <current>/portal.cjs`). */
export const RELEASE_BUNDLE = "portal.cjs";
/** The templates folder beside the bundle: lib/render/handlebars.ts reads `<its folder>/templates/<name>.hbs`. */
export const RELEASE_TEMPLATES = "templates";
/** How many releases a host keeps: the current one and the one before (a rollback by hand is `ln -sfn`). */
export const RELEASES_KEPT = 2;

const NAME = /^[0-9a-f]{64}$/;

/** Whether `name` is a release's (a sha256): nothing else in the releases folder is ever pruned. */
export function isReleaseName(name: string): boolean {
  return NAME.test(name);
}

/** A release's name: the sha256 of its tar. */
export function releaseName(tar: Buffer): string {
  return createHash("sha256").update(tar).digest("hex");
}

/**
 * What a release holds, path (relative to the release folder) → content: the bundle and every
 * template, under templates/ as lib/render/templates lays them out. Refuses what cannot run
 * from there: a path that leaves the folder, a template that is not .hbs, no bundle.
 */
export function releaseFiles(bundle: Buffer | string, templates: Record<string, Buffer | string>): Record<string, Buffer | string> {
  if (bundle.length === 0) throw new Error("the portal's bundle is empty");
  const out: Record<string, Buffer | string> = { [RELEASE_BUNDLE]: bundle };
  for (const [rel, text] of Object.entries(templates)) {
    if (rel.startsWith("/") || rel.split("/").some((p) => p === ".." || p === "" || p === ".") || !rel.endsWith(".hbs")) throw new Error(`refusing ${rel} in the portal's release: templates are lib/render/templates/**/*.hbs`);
    out[`${RELEASE_TEMPLATES}/${rel}`] = text;
  }
  return out;
}

export interface HostRelease {
  name: string;
  /** When it was unpacked (seconds since the epoch, the folder's mtime). */
  mtime: number;
}

/**
 * The releases to remove from a host: all but `current` and the newest others, RELEASES_KEPT
 * in all; a name that is not a release's is never listed (the host's script refuses it too).
 */
export function prunable(have: readonly HostRelease[], current: string, kept = RELEASES_KEPT): string[] {
  const others = have.filter((r) => isReleaseName(r.name) && r.name !== current).sort((a, b) => b.mtime - a.mtime || a.name.localeCompare(b.name));
  return others.slice(Math.max(0, kept - 1)).map((r) => r.name).sort();
}
