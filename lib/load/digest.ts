import { createHash, type Hash } from "node:crypto";
import { closeSync, constants, fstatSync, openSync, readdirSync, readFileSync, statSync, type Dirent } from "node:fs";
import { join } from "node:path";
import { MAX_FILE_BYTES } from "./yaml-file";

/**
 * One sha256 over everything the loader may read for `stack`: Pulumi.<stack>.yaml and every
 * entry under members/ and zones/ (names, folders, and each file's bytes; links followed as
 * the loader follows them). Two trees with the same digest load the same, so a result computed
 * from one whole load (lib/check/shard-index.ts) holds for the other. Reads each file once and
 * parses nothing: the read part of the parse floor (npm run bench -- data).
 */
export function dataDigest(root: string, stack: string): string {
  const h = createHash("sha256");
  file(h, root, `Pulumi.${stack}.yaml`);
  folder(h, root, "members");
  folder(h, root, "zones");
  return h.digest("hex");
}

function file(h: Hash, root: string, rel: string): void {
  // As the loader: one open (O_NONBLOCK: a FIFO is not waited on), then its own stat and bytes.
  let fd: number;
  try {
    fd = openSync(join(root, rel), constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    h.update(`${rel}\0${(e as NodeJS.ErrnoException).code ?? "unreadable"}\0`);
    return;
  }
  try {
    const st = fstatSync(fd);
    // What the loader refuses (not a regular file, over its size limit) never passes validation.
    if (!st.isFile() || st.size > MAX_FILE_BYTES) {
      h.update(`${rel}\0refused ${st.mode} ${st.size}\0`);
      return;
    }
    const bytes = readFileSync(fd);
    h.update(`${rel}\0${bytes.length}\0`);
    h.update(bytes);
  } finally {
    closeSync(fd);
  }
}

function folder(h: Hash, root: string, rel: string): void {
  let list: Dirent[];
  try {
    list = readdirSync(join(root, rel), { withFileTypes: true });
  } catch (e) {
    h.update(`${rel}/\0${(e as NodeJS.ErrnoException).code ?? "unreadable"}\0`);
    return;
  }
  h.update(`${rel}/\0`);
  for (const d of list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const sub = `${rel}/${d.name}`;
    const dir = d.isSymbolicLink() ? isDir(join(root, sub)) : d.isDirectory();
    if (dir) folder(h, root, sub);
    else file(h, root, sub);
  }
}

function isDir(abs: string): boolean {
  try {
    return statSync(abs).isDirectory();
  } catch {
    return false;
  }
}
