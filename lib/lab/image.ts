/**
 * The lab's base images: a minimal Debian 12 with cloud-init and OpenSSH, built here by
 * scripts/lab-image.sh (debootstrap, see LAB-NOTES "Booting a lab VPS") and cached outside the
 * checkout, at the path the lab inventory names. A rebuild is skipped while the recipe it was
 * built from (the script's own text) is unchanged and every file is there.
 */
import { createHash } from "node:crypto";
import { spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "../base/repo";
import { LabError, say, secs } from "../base/proc";
import type { Model } from "../model/types";

export interface LabImageSpec {
  name: string;
  /** The qcow2; its kernel and initrd sit beside it (bootFilesOf). */
  path: string;
  boot?: { kernel: string; initrd: string };
}

export interface BaseImage {
  name: string;
  path: string;
  /** Built by this run (false: the cached build was still valid). */
  built: boolean;
  /** Build time when built. */
  ms?: number;
}

/** Where scripts/lab-image.sh puts the kernel and initrd for an image at `path` (…/x.qcow2). */
export function bootFilesOf(path: string): { kernel: string; initrd: string; recipe: string } {
  const stem = path.replace(/\.qcow2$/, "");
  return { kernel: `${stem}.vmlinuz`, initrd: `${stem}.initrd`, recipe: `${stem}.recipe` };
}

/** The build script is the checkout's own, whatever data tree the lab applies. */
const SCRIPT = join(REPO_ROOT, "scripts", "lab-image.sh");

function recipeOf(): string {
  const script = readFileSync(SCRIPT);
  return `lab-image.sh sha256 ${createHash("sha256").update(script).digest("hex")}\n`;
}

/** Why the cached image at `path` cannot be used (undefined: it can). */
export function staleReason(path: string): string | undefined {
  const f = bootFilesOf(path);
  for (const p of [path, f.kernel, f.initrd]) if (!existsSync(p)) return `${p} is missing`;
  if (existsSync(`${path}.placeholder`)) return "it is the empty placeholder of an earlier lab";
  if (!existsSync(f.recipe)) return `${f.recipe} is missing (built by hand or interrupted)`;
  if (readFileSync(f.recipe, "utf8") !== recipeOf()) return "scripts/lab-image.sh changed since it was built";
  return undefined;
}

/** Runs scripts/lab-image.sh, its progress lines passed on; rejects with its last lines. */
function build(path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", [SCRIPT, path], { stdio: ["ignore", "inherit", "pipe"] });
    const tail: string[] = [];
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (d: string) => {
      process.stderr.write(d);
      tail.push(...d.split("\n").filter(Boolean));
      tail.splice(0, Math.max(0, tail.length - 30));
    });
    child.on("error", (e) => reject(new LabError(`cannot run scripts/lab-image.sh: ${e.message}`)));
    child.on("exit", (code) =>
      code === 0
        ? resolve()
        : reject(new LabError(`building the lab image ${path} failed (exit ${code}):\n${tail.join("\n")}`, "fix what the lines above say, then run npm run lab again (it retries the build)")),
    );
  });
}

/** The images a lab stack's VPS use (the inventory's, named by at least one VPS), as ensureLabImages takes them. */
export function usedImages(model: Pick<Model, "vps" | "inventory">): LabImageSpec[] {
  const used = new Set(model.vps.map((v) => v.image));
  return Object.entries(model.inventory.images)
    .filter(([n]) => used.has(n))
    .map(([name, img]) => ({ name, path: img.path, boot: img.boot }));
}

/**
 * Each image the lab's VPS use, built when its cache is stale. The lab inventory must name
 * the kernel and initrd where the build puts them, so guests boot what was built.
 */
export async function ensureLabImages(images: LabImageSpec[]): Promise<BaseImage[]> {
  const out: BaseImage[] = [];
  for (const img of images) {
    const f = bootFilesOf(img.path);
    if (!img.boot || img.boot.kernel !== f.kernel || img.boot.initrd !== f.initrd) {
      throw new LabError(
        `the lab inventory (Pulumi.lab.yaml, Pulumi.lab-multi.yaml): image ${img.name} must boot the kernel and initrd the lab builds beside ${img.path}`,
        `give it boot: { kernel: ${f.kernel}, initrd: ${f.initrd}, cmdline: "root=/dev/vda rw console=ttyS0 net.ifnames=0" }`,
      );
    }
    const stale = staleReason(img.path);
    if (!stale) {
      out.push({ name: img.name, path: img.path, built: false });
      continue;
    }
    say(`base image ${img.name}: building (${stale}) — debootstrap takes a few minutes; later runs reuse it`);
    const t0 = Date.now();
    rmSync(f.recipe, { force: true });
    await build(img.path);
    writeFileSync(f.recipe, recipeOf());
    const ms = Date.now() - t0;
    say(`base image ${img.name}: built in ${secs(ms)}`);
    out.push({ name: img.name, path: img.path, built: true, ms });
  }
  return out;
}
