import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { REPO_ROOT } from "../base/repo";

/**
 * The provider, compiled to JavaScript once instead of at every start.
 *
 * The engine starts provider/bin/pulumi-resource-globenet for every preview, up, refresh and
 * destroy. Through tsx that start took about 1.3 s (transforming the TypeScript and loading
 * source maps) before the provider printed its port; from provider/dist it takes about 0.3 s.
 * `npm test`, `npm start` and the driver (openStack) call ensureProviderBuild(); the wrapper
 * runs the compiled provider only while no source it was built from is newer than the build,
 * and otherwise falls back to tsx, so an edit never runs stale code.
 *
 * provider/dist (git-ignored): the tsc output of provider/tsconfig.build.json, laid out like the
 * repository (provider/main.js, lib/render/…), the remote scripts (provider/scripts/<area>/<name>.sh,
 * copied), plus SOURCES: the repository-relative files the build came from (.sh included),
 * written last. lib/render/templates is a symlink to the real folder, since
 * lib/render/handlebars.ts reads templates next to itself.
 */

export const PROVIDER_DIST = join(REPO_ROOT, "provider", "dist");
/** The list of sources (one repository-relative path a line); its mtime is the build's. */
export const SOURCES = "sources.txt";
const TSCONFIG = join(REPO_ROOT, "provider", "tsconfig.build.json");
/** The provider's remote scripts (provider/scripts/<area>/<name>.sh). */
const SCRIPTS = join(REPO_ROOT, "provider", "scripts");

export class ProviderBuildError extends Error {}

/** True when provider/dist exists and none of its sources changed since it was built (the wrapper's own rule). */
export function providerBuildFresh(): boolean {
  const list = join(PROVIDER_DIST, SOURCES);
  if (!existsSync(list) || !existsSync(join(PROVIDER_DIST, "provider", "main.js"))) return false;
  const built = statSync(list).mtimeMs;
  for (const rel of readFileSync(list, "utf8").split("\n").filter(Boolean)) {
    const p = join(REPO_ROOT, rel);
    if (!existsSync(p) || statSync(p).mtimeMs > built) return false;
  }
  return true;
}

/**
 * Compiles the provider into provider/dist unless it is fresh. Builds into a temporary folder
 * and swaps it in, so a provider starting meanwhile sees the old build, none (and uses tsx),
 * or the new one, never half of one. Returns whether a fresh build is in place. A failed
 * build is reported and otherwise harmless: the wrapper runs the TypeScript with tsx.
 */
export function ensureProviderBuild(log: (line: string) => void = (l) => process.stderr.write(`[provider] ${l}\n`)): boolean {
  if (providerBuildFresh()) return true;
  try {
    build(log);
    return true;
  } catch (e) {
    log(`${e instanceof Error ? e.message : String(e)}\n(the engine runs the provider's TypeScript with tsx instead: slower to start, same behaviour)`);
    return false;
  }
}

function build(log: (line: string) => void): void {
  const t0 = Date.now();
  const tmp = join(REPO_ROOT, "provider", `.dist-${process.pid}-${Date.now()}`);
  try {
    const tsc = join(REPO_ROOT, "node_modules", "typescript", "bin", "tsc");
    const r = spawnSync(process.execPath, [tsc, "-p", TSCONFIG, "--outDir", tmp, "--listEmittedFiles"], { cwd: REPO_ROOT, encoding: "utf8" });
    if (r.status !== 0) throw new ProviderBuildError(`compiling the provider failed (tsc exit ${r.status}):\n${(r.stdout + r.stderr).trim().slice(0, 4000)}`);
    const sources = new Set<string>([relative(REPO_ROOT, TSCONFIG), "tsconfig.json"]);
    for (const line of r.stdout.split("\n")) {
      const m = /^TSFILE: (.*)\.js$/.exec(line.trim());
      if (!m?.[1]) continue;
      const src = join(REPO_ROOT, relative(tmp, m[1]));
      if (!existsSync(`${src}.ts`)) throw new ProviderBuildError(`compiling the provider: no source for ${m[1]}.js`);
      sources.add(relative(REPO_ROOT, `${src}.ts`).split(sep).join("/"));
    }
    if (!sources.has("provider/main.ts")) throw new ProviderBuildError("compiling the provider emitted no provider/main.js");
    // The remote scripts (provider/scripts/load.ts reads them next to itself): copied, and
    // listed as sources, so an edited .sh makes the build stale like an edited .ts.
    for (const rel of shellScripts(SCRIPTS)) {
      mkdirSync(dirname(join(tmp, rel)), { recursive: true });
      copyFileSync(join(REPO_ROOT, rel), join(tmp, rel));
      sources.add(rel.split(sep).join("/"));
    }
    const render = join(tmp, "lib", "render");
    if (existsSync(render)) symlinkSync(relative(render, join(REPO_ROOT, "lib", "render", "templates")), join(render, "templates"));
    // Written last: its mtime says when the build was made.
    writeFileSync(join(tmp, SOURCES), `${[...sources].sort().join("\n")}\n`);
    swapIn(tmp);
    log(`compiled the provider into ${relative(REPO_ROOT, PROVIDER_DIST)} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** The .sh files under `dir`, repository-relative. */
function shellScripts(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".sh"))
    .map((f) => relative(REPO_ROOT, join(dir, f)))
    .sort();
}

/** Replaces provider/dist by `tmp`; if another build swapped its own in meanwhile, keeps that one. */
function swapIn(tmp: string): void {
  mkdirSync(dirname(PROVIDER_DIST), { recursive: true });
  const old = `${tmp}.old`;
  try {
    renameSync(PROVIDER_DIST, old);
  } catch {
    /* none yet, or another build moved it */
  }
  try {
    renameSync(tmp, PROVIDER_DIST);
  } catch {
    /* another build put its own in place first: same sources, keep it */
  }
  rmSync(old, { recursive: true, force: true });
}
