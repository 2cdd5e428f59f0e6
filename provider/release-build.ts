import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { buildSync } from "esbuild";
import { releaseFiles, releaseName } from "./release";
import { tarOf } from "./ssh/tar";

/** The deployed portal's entry point (its --serve command only; no lab, engine or Pulumi in it). */
export const PORTAL_ENTRY = "lib/cli/portal-main.ts";

export interface BuiltRelease {
  /** The sha256 of the tar: the release's name on the host. */
  sha256: string;
  /** The tar on the runner, for the provider to send (the state keeps its name and hash only, not its bytes). */
  file: string;
  /** Bytes of the tar. */
  bytes: number;
}

function templatesOf(dir: string): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && e.name.endsWith(".hbs")) out[relative(dir, p).split("\\").join("/")] = readFileSync(p);
    }
  };
  walk(dir);
  return out;
}

/**
 * The portal's release, built on the runner at apply (and preview): esbuild bundles the entry
 * and every module and package it imports into one CommonJS file for Debian's node (>= 20), with
 * no source map and no absolute path of the runner in it (paths relative to `repo`), so the
 * same code gives the same bytes wherever it is built; ssh2's optional native addons stay out
 * (it falls back to its JavaScript). Beside it, lib/render/templates. The tar goes to the
 * system's temporary folder under its hash.
 */
export async function buildPortalRelease(repo: string): Promise<BuiltRelease> {
  const r = buildSync({
    absWorkingDir: repo,
    entryPoints: [PORTAL_ENTRY],
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    write: false,
    outfile: "portal.cjs",
    external: ["*.node"],
    legalComments: "none",
    logLevel: "silent",
  });
  const out = r.outputFiles?.[0];
  if (!out) throw new Error(`esbuild wrote no bundle of ${PORTAL_ENTRY}`);
  const tar = await tarOf(releaseFiles(Buffer.from(out.contents), templatesOf(join(repo, "lib", "render", "templates"))));
  const sha256 = releaseName(tar);
  const file = join(tmpdir(), `globenet-portal-${sha256}.tar`);
  writeFileSync(file, tar, { mode: 0o600 });
  return { sha256, file, bytes: tar.length };
}
