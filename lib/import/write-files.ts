/**
 * Writing the import's data files for review: never over an existing file unless forced (a
 * volunteer's reviewed file is worth more than a fresh guess), each path kept inside the
 * output folder.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import type { DataFile } from "./read-host";

export interface WriteResult {
  written: DataFile[];
  /** Already there and left as they are (--force replaces them). */
  kept: DataFile[];
}

export function writeDataFiles(outDir: string, files: readonly DataFile[], force: boolean): WriteResult {
  const res: WriteResult = { written: [], kept: [] };
  const root = resolve(outDir);
  for (const f of files) {
    const abs = resolve(root, f.path);
    const rel = relative(root, abs);
    if (rel.startsWith("..") || rel === "" || !/^(members|zones)\//.test(rel)) throw new Error(`refusing to write ${f.path}: outside ${root}/members or ${root}/zones`);
    if (existsSync(abs) && !force) {
      res.kept.push(f);
      continue;
    }
    mkdirSync(dirname(abs), { recursive: true });
    writeFileSync(join(root, rel), f.text);
    res.written.push(f);
  }
  return res;
}
