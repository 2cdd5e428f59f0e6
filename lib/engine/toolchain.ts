import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, join } from "node:path";
import { REPO_ROOT } from "../base/repo";

/** The CLI matching @pulumi/pulumi 3.248.0, the last release for Node 20. */
export const PULUMI_VERSION = "v3.248.0";
const PKG = "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi";

export function cacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(base, "globenet-infra", `pulumi-${PULUMI_VERSION}`);
}

function versionOf(bin: string): string | undefined {
  const r = spawnSync(bin, ["version"], { encoding: "utf8", env: { ...process.env, PULUMI_SKIP_UPDATE_CHECK: "true" } });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    const p = join(dir, name);
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}

function step(msg: string): () => void {
  const t0 = Date.now();
  process.stderr.write(`[engine] ${msg} …\n`);
  return () => process.stderr.write(`[engine] ${msg}: done in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
}

export class ToolchainError extends Error {}

/**
 * Returns the folder holding a Pulumi CLI at PULUMI_VERSION: one already on PATH, else the
 * cached build, else builds it from the pinned wrapper module in scripts/engine (go.mod and
 * go.sum fix every dependency). Idempotent; prints each step and its duration on stderr.
 */
export function ensureEngine(): string {
  const fromPath = onPath("pulumi");
  if (fromPath && versionOf(fromPath) === PULUMI_VERSION) return join(fromPath, "..");
  const dir = cacheDir();
  const cached = join(dir, "pulumi");
  if (existsSync(cached) && versionOf(cached) === PULUMI_VERSION) return dir;

  const go = onPath("go") ?? (existsSync("/usr/local/go/bin/go") ? "/usr/local/go/bin/go" : undefined);
  if (!go) {
    throw new ToolchainError(
      `the Pulumi CLI ${PULUMI_VERSION} is not on PATH nor in ${dir}, and Go is not installed to build it.\n` +
        `Either install Go 1.25 or newer (https://go.dev/dl/) and run this again (the build takes 3 to 10 minutes),\n` +
        `or install Pulumi the normal way at this exact version and put it on PATH:\n` +
        `  curl -fsSL https://get.pulumi.com | sh -s -- --version ${PULUMI_VERSION.slice(1)}`,
    );
  }
  const goVersion = spawnSync(go, ["env", "GOVERSION"], { encoding: "utf8" }).stdout.trim();
  process.stderr.write(`[engine] building the Pulumi CLI ${PULUMI_VERSION} with ${goVersion} (first time only; cached in ${dir})\n`);
  mkdirSync(dir, { recursive: true });
  const tmp = `${cached}.tmp-${process.pid}`;
  const done = step("go build (3 to 10 minutes on 2 cores, longer while modules download)");
  const r = spawnSync(
    go,
    ["build", "-trimpath", "-tags", "osusergo,grpcnotrace", "-ldflags", `-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=${PULUMI_VERSION}`, "-o", tmp, PKG],
    { cwd: join(REPO_ROOT, "scripts", "engine"), stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, GOFLAGS: "-mod=readonly" } },
  );
  if (r.status !== 0) {
    rmSync(tmp, { force: true });
    throw new ToolchainError(`building the Pulumi CLI failed (exit ${r.status}); the output above says why. Check network access to the Go module proxy, or install Pulumi ${PULUMI_VERSION} on PATH instead.`);
  }
  renameSync(tmp, cached);
  done();
  const v = versionOf(cached);
  if (v !== PULUMI_VERSION) throw new ToolchainError(`the built CLI reports ${v ?? "nothing"}, expected ${PULUMI_VERSION}`);
  return dir;
}
