import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join, relative } from "node:path";
import { buildSync, version as esbuildVersion, type BuildOptions } from "esbuild";
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
  /** Whether the tar came from the runner's cache (its inputs hashed as when it was built) rather than a new bundle. */
  cached: boolean;
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

const BUILD: BuildOptions = {
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
};

/**
 * Where built releases are kept between runs: the runner's own cache folder (CI's protected jobs
 * set XDG_CACHE_HOME to the protected runner's), never the checkout, so a file committed under
 * .pulumi/ cannot become the code prod's portal runs.
 */
export function releaseCacheDir(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "globenet-infra", "portal-release");
}

/** The last build's inputs (repo-relative: every module esbuild read, and the templates) and its key. */
interface Manifest {
  v: 1;
  inputs: string[];
  key: string;
  sha256: string;
}

/**
 * What the bundle's bytes depend on: esbuild's version and options, the lock file, each input's
 * content, and the names of every file in the folders of the repository's own inputs (a new file
 * can change how an import resolves without any input changing). Undefined when an input is gone.
 */
function buildKey(repo: string, inputs: readonly string[]): string | undefined {
  const h = createHash("sha256").update(`globenet-portal-release\0${esbuildVersion}\0${JSON.stringify(BUILD)}\0`);
  const own = new Set<string>();
  for (const rel of [...inputs, "package-lock.json"]) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(join(repo, rel));
    } catch {
      return undefined;
    }
    h.update(`${rel}\0${createHash("sha256").update(bytes).digest("hex")}\0`);
    if (!rel.startsWith("node_modules/") && rel.includes("/")) own.add(rel.split("/")[0] as string);
  }
  for (const top of [...own].sort()) h.update(`${top}:${listNames(join(repo, top)).join("\0")}\0`);
  return h.digest("hex");
}

function listNames(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).sort();
}

function readManifest(dir: string): Manifest | undefined {
  try {
    const m = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as Manifest;
    return m.v === 1 && Array.isArray(m.inputs) && typeof m.key === "string" && typeof m.sha256 === "string" ? m : undefined;
  } catch {
    return undefined;
  }
}

/** The tar of a release in the cache, when it is there and still has the sha256 it is named by. */
function cachedTar(dir: string, sha256: string): BuiltRelease | undefined {
  const file = join(dir, `globenet-portal-${sha256}.tar`);
  if (!existsSync(file)) return undefined;
  const tar = readFileSync(file);
  return releaseName(tar) === sha256 ? { sha256, file, bytes: tar.length, cached: true } : undefined;
}

/** How many built tars the cache keeps (several checkouts of a runner may build different code). */
const TARS_KEPT = 4;

function pruneTars(dir: string, keep: string): void {
  const tars = readdirSync(dir)
    .filter((n) => /^globenet-portal-[0-9a-f]{64}\.tar$/.test(n) && n !== keep)
    .map((n) => ({ n, t: statSync(join(dir, n)).mtimeMs }))
    .sort((a, b) => b.t - a.t);
  for (const { n } of tars.slice(TARS_KEPT - 1)) rmSync(join(dir, n), { force: true });
}

function writeAtomic(file: string, data: Buffer | string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, data, { mode: 0o600 });
  renameSync(tmp, file);
}

/**
 * The portal's release, built on the runner at apply (and preview): esbuild bundles the entry
 * and every module and package it imports into one CommonJS file for Debian's node (>= 20), with
 * no source map and no absolute path of the runner in it (paths relative to `repo`), so the
 * same code gives the same bytes wherever it is built; ssh2's optional native addons stay out
 * (it falls back to its JavaScript). Beside it, lib/render/templates. The tar is kept in the
 * runner's cache (releaseCacheDir) under its hash, with the list of what went into it: a next
 * run whose inputs hash the same (buildKey) takes that tar without bundling again.
 */
export async function buildPortalRelease(repo: string, cacheDir = releaseCacheDir()): Promise<BuiltRelease> {
  const last = readManifest(cacheDir);
  if (last && buildKey(repo, last.inputs) === last.key) {
    const hit = cachedTar(cacheDir, last.sha256);
    if (hit) return hit;
  }
  const r = buildSync({ ...BUILD, absWorkingDir: repo, metafile: true });
  const out = r.outputFiles?.[0];
  if (!out) throw new Error(`esbuild wrote no bundle of ${PORTAL_ENTRY}`);
  const templatesDir = join(repo, "lib", "render", "templates");
  const templates = templatesOf(templatesDir);
  const tar = await tarOf(releaseFiles(Buffer.from(out.contents), templates));
  const sha256 = releaseName(tar);
  const inputs = [...Object.keys(r.metafile?.inputs ?? {}), ...Object.keys(templates).map((t) => relative(repo, join(templatesDir, t)).split("\\").join("/"))].sort();
  const name = `globenet-portal-${sha256}.tar`;
  try {
    mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
    writeAtomic(join(cacheDir, name), tar);
    const key = buildKey(repo, inputs);
    if (key) writeAtomic(join(cacheDir, "manifest.json"), `${JSON.stringify({ v: 1, inputs, key, sha256 } satisfies Manifest)}\n`);
    pruneTars(cacheDir, name);
    return { sha256, file: join(cacheDir, name), bytes: tar.length, cached: false };
  } catch {
    // No writable cache folder (a read-only home): the tar where the provider can read it, built again next run.
    writeAtomic(join(tmpdir(), name), tar);
    return { sha256, file: join(tmpdir(), name), bytes: tar.length, cached: false };
  }
}
